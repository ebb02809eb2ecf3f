// Frames as they leave the host, for --out: forwarded datagrams longer than the out device's MTU
// (without DF) leave fragmented (ip_do_fragment), and a datagram reassembled because conntrack is
// active leaves re-fragmented to the largest fragment it arrived in (IPCB(skb)->frag_max_size, as
// the reference measured) — in both cases the chains saw it whole.
// The packets the host itself sends (REJECT replies, the stack's ICMP errors, echo replies) leave
// right after the packet that caused them, with its timestamp: the core records them per batch
// (assembly/modules/reject.ts emitReply, EM_*/EMR_* in layout.ts) as they leave OUTPUT/POSTROUTING.
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, DESC_SIZE, DESC_RESULT, DESC_FRAME, DESC_CAPLEN,
  DESC_WIRELEN, DESC_TS_SEC, DESC_TS_NSEC, DESC_LINKTYPE, DESC_ORDINAL, RES_FORWARDED, RESF_REASSEMBLED,
  EM_COUNT, EM_DATA, EMR_INDEX, EMR_LEN, EMR_OIF, EMR_SIZE } from '../layout.js';

/** Bytes before the IPv4 header of a frame. */
export function l2Length(frame: Uint8Array, linktype: number): number {
  if (linktype === LINKTYPE_ETHERNET) {
    let off = 12;
    while (off + 4 <= frame.length) {
      const et = (frame[off] << 8) | frame[off + 1];
      if (et !== 0x8100 && et !== 0x88a8) break;
      off += 4;
    }
    return off + 2;
  }
  if (linktype === LINKTYPE_LINUX_SLL) return 16;
  if (linktype === LINKTYPE_LINUX_SLL2) return 20;
  return 0;
}

function ipChecksum(h: Uint8Array, ihl: number): void {
  h[10] = 0; h[11] = 0;
  let s = 0;
  for (let i = 0; i < ihl; i += 2) s += (h[i] << 8) | h[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  h[10] = c >> 8; h[11] = c & 0xff;
}

/** ip_do_fragment of an IPv4 datagram for a path MTU of `mtu` bytes: fragments of
 *  (mtu - ihl) & ~7 payload bytes, the original offset and MF kept, options not marked "copied"
 *  replaced by NOPs after the first fragment (ip_options_fragment), checksums recomputed. */
export function fragmentDatagram(ip: Uint8Array, mtu: number): Uint8Array[] {
  const ihl = (ip[0] & 15) * 4;
  const tot = (ip[2] << 8) | ip[3];
  if (tot <= mtu || ihl < 20 || tot > ip.length) return [ip];
  const per = (mtu - ihl) & ~7;
  if (per <= 0) return [ip];
  const fo = (ip[6] << 8) | ip[7];
  const baseOff = (fo & 0x1fff) * 8;
  const origMf = (fo & 0x2000) !== 0;
  const out: Uint8Array[] = [];
  let hdr = ip.slice(0, ihl);
  for (let pos = ihl; pos < tot;) {
    const len = Math.min(per, tot - pos);
    const last = pos + len >= tot;
    const f = new Uint8Array(ihl + len);
    f.set(hdr, 0);
    f.set(ip.subarray(pos, pos + len), ihl);
    const off = (baseOff + pos - ihl) / 8;
    const flags = (fo & 0x4000) | (last && !origMf ? 0 : 0x2000);
    f[6] = (flags | off) >> 8; f[7] = (flags | off) & 0xff;
    f[2] = (ihl + len) >> 8; f[3] = (ihl + len) & 0xff;
    ipChecksum(f, ihl);
    out.push(f);
    if (pos === ihl && ihl > 20) {
      // later fragments: options without the copied flag become NOPs
      hdr = hdr.slice();
      for (let i = 20; i < ihl;) {
        const t = hdr[i];
        if (t === 0) break;
        if (t === 1) { i++; continue; }
        const l = Math.max(2, hdr[i + 1] ?? 2);
        if ((t & 0x80) === 0) hdr.fill(1, i, Math.min(ihl, i + l));
        i += l;
      }
    }
    pos += len;
  }
  return out;
}

/** A datagram with a link-layer header prefixed. */
export function withL2(l2: Uint8Array, ip: Uint8Array): Uint8Array {
  if (l2.length === 0) return ip;
  const f = new Uint8Array(l2.length + ip.length);
  f.set(l2, 0);
  f.set(ip, l2.length);
  return f;
}

export interface OutRecord { ip: Uint8Array; fragMax: number; df: boolean }

/** The core's out records of the last batch (setOutRecords layout in assembly/hooks.ts), by
 *  descriptor index; datagrams are copied out. */
export function readOutRecords(mem: ArrayBuffer, addr: number): Map<number, OutRecord> {
  const m = new Map<number, OutRecord>();
  if (!addr) return m;
  const dv = new DataView(mem);
  const n = dv.getUint32(addr, true);
  let at = addr + 16;
  for (let k = 0; k < n; k++) {
    const idx = dv.getUint32(at, true);
    const len = dv.getUint32(at + 4, true);
    m.set(idx, { ip: new Uint8Array(mem, at + 16, len).slice(), fragMax: dv.getUint32(at + 8, true), df: dv.getUint32(at + 12, true) !== 0 });
    at += 16 + ((len + 3) & ~3);
  }
  return m;
}

/** The frames one forwarded packet leaves as: its frame (with the rewritten datagram) fragmented
 *  for `mtu`, or a reassembled datagram's record fragmented for min(mtu, frag_max_size). */
export function leavingFrames(frame: Uint8Array, linktype: number, mtu: number, rec?: OutRecord): Uint8Array[] {
  const l2n = l2Length(frame, linktype);
  const l2 = frame.subarray(0, l2n);
  if (rec) {
    const size = rec.fragMax > 0 ? Math.min(mtu, rec.fragMax) : mtu;
    return fragmentDatagram(rec.ip, size).map((ip) => withL2(l2, ip));
  }
  const ip = frame.subarray(l2n);
  if (ip.length < 20) return [frame];
  const tot = (ip[2] << 8) | ip[3];
  if (tot <= mtu || (ip[6] & 0x40) !== 0 || tot > ip.length) return [frame];
  return fragmentDatagram(ip, mtu).map((f) => withL2(l2, f));
}

/** One frame as it leaves (valid during the call only): the packet's ordinal and time, the frame,
 * its wire length (the captured wirelen for the packet's own frame, else the fragment's length)
 * and link type. */
export type LeavingSink = (ordinal: number, tsSec: number, tsNsec: number, frame: Uint8Array, wirelen: number, linktype: number) => void;

/** Address of a core's emission header (api-emit.ts emitArea), 0 for a core without one. */
export function emitAreaOf(core: object): number {
  const f = (core as { emitArea?: () => number }).emitArea;
  return typeof f === 'function' ? f() >>> 0 : 0;
}

/** How many packets the host emitted in the last batch (header at `emitAddr`, 0 = none). */
export function emittedCount(mem: ArrayBuffer, emitAddr: number): number {
  return emitAddr ? new DataView(mem).getUint32(emitAddr + EM_COUNT, true) : 0;
}

/** The link-layer header an emitted packet leaves with, from the frame of the packet that caused
 * it: Ethernet with the two MACs swapped (the reply goes back to the neighbour the packet came
 * from: its source MAC is the next hop, our interface's MAC was its destination) and its VLAN
 * tags kept; Linux cooked headers (SLL, SLL2) copied as they are, as forwarded frames keep them;
 * raw IPv4: none. */
export function emittedL2(frame: Uint8Array, linktype: number): Uint8Array {
  const l2 = frame.slice(0, l2Length(frame, linktype));
  if (linktype === LINKTYPE_ETHERNET && l2.length >= 12) {
    l2.set(frame.subarray(6, 12), 0);
    l2.set(frame.subarray(0, 6), 6);
  }
  return l2;
}

/** The frames one emitted datagram leaves as: with `l2` prefixed, fragmented for `mtu` when it is
 * longer and has no DF (an echo reply to a large ping: the ICMP socket never sets DF). */
export function emittedFrames(l2: Uint8Array, ip: Uint8Array, mtu: number): Uint8Array[] {
  const tot = (ip[2] << 8) | ip[3];
  const parts = tot > mtu && (ip[6] & 0x40) === 0 ? fragmentDatagram(ip, mtu) : [ip];
  return parts.map((p) => withL2(l2, p));
}

/** The --out frame loop over `n` descriptors at `descs` that processBatch has run (one batch:
 * out records by descriptor index at `outRecAddr`, 0 = none; emitted packets at `emitAddr`,
 * 0 = none): every forwarded packet's frames as they leave, and before them the packets the host
 * sent because of that packet (in its place when it was not forwarded), in descriptor order,
 * time/ordinal/linktype from the descriptors. The single-worker engine and the pool worker both
 * call it. */
export function forEachLeavingFrame(mem: ArrayBuffer, descs: number, n: number, outRecAddr: number, mtus: readonly number[], sink: LeavingSink, emitAddr = 0): void {
  const dv = new DataView(mem);
  const u8 = new Uint8Array(mem);
  let recs: Map<number, OutRecord> | null = null;
  // emitted records, in descriptor order
  let eLeft = emittedCount(mem, emitAddr);
  let eAt = eLeft ? dv.getUint32(emitAddr + EM_DATA, true) : 0;
  let eIdx = eLeft ? dv.getUint32(eAt + EMR_INDEX, true) : -1;
  for (let i = 0; i < n; i++) {
    const d = descs + i * DESC_SIZE;
    const res = dv.getUint32(d + DESC_RESULT, true);
    // the host's packets first: a forwarded packet's ICMP redirect leaves before it (ip_forward
    // sends it before the FORWARD hook); every other emission has no forwarded packet beside it
    while (eIdx === i) {
      const len = dv.getUint32(eAt + EMR_LEN, true);
      const oif = dv.getUint32(eAt + EMR_OIF, true);
      const ip = u8.subarray(eAt + EMR_SIZE, eAt + EMR_SIZE + len);
      const f = dv.getUint32(d + DESC_FRAME, true);
      const lt = dv.getUint16(d + DESC_LINKTYPE, true);
      const l2 = emittedL2(u8.subarray(f, f + dv.getUint32(d + DESC_CAPLEN, true)), lt);
      const ord = dv.getUint32(d + DESC_ORDINAL, true), s = dv.getUint32(d + DESC_TS_SEC, true), ns = dv.getUint32(d + DESC_TS_NSEC, true);
      for (const x of emittedFrames(l2, ip, mtus[oif] ?? 65535)) sink(ord, s, ns, x, x.length, lt);
      eAt += EMR_SIZE + ((len + 3) & ~3);
      eIdx = --eLeft > 0 ? dv.getUint32(eAt + EMR_INDEX, true) : -1;
    }
    if ((res & 0xff) === RES_FORWARDED) {
      let rec: OutRecord | undefined;
      let lost = false;
      if ((res & RESF_REASSEMBLED) !== 0) {
        recs ??= readOutRecords(mem, outRecAddr);
        rec = recs.get(i);
        lost = !rec; // the out-record area was full
      }
      if (!lost) {
        const f = dv.getUint32(d + DESC_FRAME, true);
        const frame = u8.subarray(f, f + dv.getUint32(d + DESC_CAPLEN, true));
        const lt = dv.getUint16(d + DESC_LINKTYPE, true);
        const ord = dv.getUint32(d + DESC_ORDINAL, true), s = dv.getUint32(d + DESC_TS_SEC, true), ns = dv.getUint32(d + DESC_TS_NSEC, true);
        const wl = dv.getUint32(d + DESC_WIRELEN, true);
        for (const x of leavingFrames(frame, lt, mtus[(res >>> 8) & 0xff] ?? 65535, rec)) sink(ord, s, ns, x, x === frame ? wl : x.length, lt);
      }
    }
  }
}
