// Minimal pcap / pcapng reading and writing for the kernel harness. Deliberately separate from
// src/pcap (a second implementation: the harness must not trust the code under test to read the
// kernel's captures).

export interface CapPacket {
  /** Seconds since the epoch (float). */
  ts: number;
  data: Uint8Array;
  /** Interface name (pcapng IDB name, or SLL2 ifindex resolved by the caller), when known. */
  iface?: string;
  /** SLL/SLL2 ifindex when present. */
  ifindex?: number;
  /** SLL/SLL2 packet type (4 = outgoing). */
  pktType?: number;
}

export interface Capture {
  linktype: number;
  packets: CapPacket[];
}

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_LINUX_SLL2 = 276;

export function readCapture(buf: Uint8Array): Capture {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 4) throw new Error('capture: file too short');
  const magicBE = dv.getUint32(0, false);
  if (magicBE === 0x0a0d0d0a) return readPcapng(buf, dv);
  let le: boolean;
  let nano: boolean;
  if (magicBE === 0xa1b2c3d4) { le = false; nano = false; }
  else if (magicBE === 0xd4c3b2a1) { le = true; nano = false; }
  else if (magicBE === 0xa1b23c4d) { le = false; nano = true; }
  else if (magicBE === 0x4d3cb2a1) { le = true; nano = true; }
  else throw new Error(`capture: unknown magic 0x${magicBE.toString(16)}`);
  const linktype = dv.getUint32(20, le) & 0x0fffffff;
  const packets: CapPacket[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const incl = dv.getUint32(off + 8, le);
    off += 16;
    if (off + incl > buf.length) break; // truncated last record (tcpdump killed): ignore
    const data = buf.subarray(off, off + incl);
    off += incl;
    packets.push(withLinkInfo({ ts: sec + frac / (nano ? 1e9 : 1e6), data }, linktype));
  }
  return { linktype, packets };
}

function readPcapng(buf: Uint8Array, dv: DataView): Capture {
  let le = true;
  let off = 0;
  const ifaces: { linktype: number; name?: string; tsres: number }[] = [];
  const packets: CapPacket[] = [];
  let linktype = -1;
  while (off + 12 <= buf.length) {
    const type = dv.getUint32(off, le);
    if (type === 0x0a0d0d0a) {
      le = dv.getUint32(off + 8, true) === 0x1a2b3c4d;
      ifaces.length = 0;
    }
    const len = dv.getUint32(off + 4, le);
    if (len < 12 || off + len > buf.length) break;
    if (type === 1) { // IDB
      const lt = dv.getUint16(off + 8, le);
      let name: string | undefined;
      let tsres = 1e-6;
      let o = off + 16;
      while (o + 4 <= off + len - 4) {
        const code = dv.getUint16(o, le);
        const olen = dv.getUint16(o + 2, le);
        if (code === 0) break;
        const val = buf.subarray(o + 4, o + 4 + olen);
        if (code === 2) name = new TextDecoder().decode(val).replace(/\0+$/, '');
        if (code === 9) {
          const v = val[0];
          tsres = v & 0x80 ? 2 ** -(v & 0x7f) : 10 ** -(v & 0x7f);
        }
        o += 4 + ((olen + 3) & ~3);
      }
      ifaces.push({ linktype: lt, name, tsres });
      if (linktype === -1) linktype = lt;
    } else if (type === 6) { // EPB
      const ifid = dv.getUint32(off + 8, le);
      const ts = dv.getUint32(off + 12, le) * 2 ** 32 + dv.getUint32(off + 16, le);
      const cap = dv.getUint32(off + 20, le);
      const data = buf.subarray(off + 28, off + 28 + cap);
      const ifc = ifaces[ifid];
      if (!ifc) throw new Error(`pcapng: packet on undeclared interface ${ifid}`);
      packets.push(withLinkInfo({ ts: ts * ifc.tsres, data, iface: ifc.name }, ifc.linktype));
    } else if (type === 3) { // SPB
      const ifc = ifaces[0];
      const orig = dv.getUint32(off + 8, le);
      const data = buf.subarray(off + 12, off + 12 + Math.min(orig, len - 16));
      packets.push(withLinkInfo({ ts: 0, data, iface: ifc?.name }, ifc?.linktype ?? 1));
    }
    off += len;
  }
  return { linktype, packets };
}

function withLinkInfo(p: CapPacket, linktype: number): CapPacket & { linktype?: number } {
  if (linktype === LINKTYPE_LINUX_SLL2 && p.data.length >= 20) {
    p.ifindex = (p.data[4] << 24 | p.data[5] << 16 | p.data[6] << 8 | p.data[7]) >>> 0;
    p.pktType = p.data[10];
  } else if (linktype === LINKTYPE_LINUX_SLL && p.data.length >= 16) {
    p.pktType = p.data[0] << 8 | p.data[1];
  }
  (p as CapPacket & { linktype?: number }).linktype = linktype;
  return p;
}

/** The IPv4 datagram inside a frame of the given link type (trimmed to its total length), or null. */
export function ipDatagram(data: Uint8Array, linktype: number): Uint8Array | null {
  let off: number;
  let etype: number;
  switch (linktype) {
    case LINKTYPE_ETHERNET:
      if (data.length < 14) return null;
      etype = data[12] << 8 | data[13];
      off = 14;
      if (etype === 0x8100 && data.length >= 18) { etype = data[16] << 8 | data[17]; off = 18; }
      break;
    case LINKTYPE_RAW: case LINKTYPE_IPV4:
      etype = 0x0800; off = 0; break;
    case LINKTYPE_LINUX_SLL:
      if (data.length < 16) return null;
      etype = data[14] << 8 | data[15]; off = 16; break;
    case LINKTYPE_LINUX_SLL2:
      if (data.length < 20) return null;
      etype = data[0] << 8 | data[1]; off = 20; break;
    default:
      throw new Error(`capture: unsupported link type ${linktype}`);
  }
  if (etype !== 0x0800 || data.length < off + 20 || data[off] >> 4 !== 4) return null;
  const total = data[off + 2] << 8 | data[off + 3];
  return data.subarray(off, Math.min(data.length, off + total));
}

/** Classic pcap, microsecond, little-endian. */
export function writePcap(packets: { ts: number; data: Uint8Array }[], linktype = LINKTYPE_ETHERNET): Uint8Array {
  const size = 24 + packets.reduce((s, p) => s + 16 + p.data.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 262144, true);
  dv.setUint32(20, linktype, true);
  let off = 24;
  for (const p of packets) {
    const sec = Math.floor(p.ts);
    const usec = Math.round((p.ts - sec) * 1e6);
    dv.setUint32(off, sec, true);
    dv.setUint32(off + 4, usec, true);
    dv.setUint32(off + 8, p.data.length, true);
    dv.setUint32(off + 12, p.data.length, true);
    out.set(p.data, off + 16);
    off += 16 + p.data.length;
  }
  return out;
}

/** pcapng with one Ethernet IDB per named interface (if_name set), microsecond timestamps. */
export function writePcapng(ifaces: string[], packets: { ts: number; data: Uint8Array; iface: string }[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array) => {
    const len = 12 + body.length;
    const b = new Uint8Array(len);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, true);
    dv.setUint32(4, len, true);
    b.set(body, 8);
    dv.setUint32(len - 4, len, true);
    chunks.push(b);
  };
  const shb = new Uint8Array(16);
  const sdv = new DataView(shb.buffer);
  sdv.setUint32(0, 0x1a2b3c4d, true);
  sdv.setUint16(4, 1, true);
  sdv.setUint16(6, 0, true);
  sdv.setInt32(8, -1, true);
  sdv.setInt32(12, -1, true);
  block(0x0a0d0d0a, shb);
  for (const name of ifaces) {
    const nb = new TextEncoder().encode(name);
    const optLen = 4 + ((nb.length + 3) & ~3) + 4;
    const body = new Uint8Array(8 + optLen);
    const dv = new DataView(body.buffer);
    dv.setUint16(0, LINKTYPE_ETHERNET, true);
    dv.setUint32(4, 262144, true);
    dv.setUint16(8, 2, true);
    dv.setUint16(10, nb.length, true);
    body.set(nb, 12);
    block(1, body);
  }
  for (const p of packets) {
    const ifid = ifaces.indexOf(p.iface);
    if (ifid < 0) throw new Error(`pcapng: unknown interface ${p.iface}`);
    const padded = (p.data.length + 3) & ~3;
    const body = new Uint8Array(20 + padded);
    const dv = new DataView(body.buffer);
    const us = BigInt(Math.round(p.ts * 1e6));
    dv.setUint32(0, ifid, true);
    dv.setUint32(4, Number(us >> 32n), true);
    dv.setUint32(8, Number(us & 0xffffffffn), true);
    dv.setUint32(12, p.data.length, true);
    dv.setUint32(16, p.data.length, true);
    body.set(p.data, 20);
    block(6, body);
  }
  const total = chunks.reduce((s, c) => s + c.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}
