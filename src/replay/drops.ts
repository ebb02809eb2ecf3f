// --drops F: every packet the replay dropped, in capture order, with what dropped it.
//
//   F ending in .pcapng: one EPB per dropped packet with an opt_comment (Wireshark: frame.comment)
//     `frame 17: filter FORWARD rule 3: -A FORWARD -s 203.0.113.0/24 -j DROP`. Interfaces: one IDB
//     per (link type, host interface) met, named after the host interface the packet arrived on
//     (none for the host's default ingress), so `--pcap F.pcapng` replays them on the same ones.
//   otherwise: classic pcap, plus F.jsonl: one JSON object per dropped packet, same order
//     {"frame":17,"time":"1700000000.000001","verdict":"droppedByRule","code":4,"table":"filter",
//      "chain":"FORWARD","rule":3,"text":"-A FORWARD -s 203.0.113.0/24 -j DROP"}
//
// Drops: every RES_DROP_* code and RES_MALFORMED (layout.ts). RES_FRAG_QUEUED (a fragment held for
// reassembly) is not a drop; when conntrack reassembled a datagram and a chain dropped it, the
// verdict belongs to the fragment that completed it (as --out writes a forwarded reassembled
// datagram at that fragment's place): that fragment's frame is written, marked `reassembled`.
//
// Bytes: the frame as the core holds it after the packet was processed. The core rewrites frames
// in place (TTL decrement on forward, NAT manip), so a packet dropped in FORWARD is written with
// its DNAT applied and TTL decremented, as `-j NFLOG` just before the dropping rule would see it
// (with the captured link-layer header); a reassembled datagram was rewritten in the core's
// reassembly buffer, so its completing fragment is written as captured. No copy is made per packet.
//
// Cost: nothing without --drops; with it, a batch's descriptors are looked at only when the core's
// stats slots (per RES_* code) say the batch dropped something.
import { RES_DROP_RULE, RES_DROP_POLICY, RES_DROP_INVALID, RES_DROP_MARTIAN, RES_DROP_NOROUTE, RES_MALFORMED, RES_DROP_NAT,
  RES_DROP_TTL, RES_DROP_FRAG, RES_DROP_MTU, RES_DROP_OTHERHOST, ST_NRES, DESC_SIZE, DESC_RESULT, DESC_FRAME, DESC_CAPLEN,
  DESC_WIRELEN, DESC_TS_SEC, DESC_TS_NSEC, DESC_LINKTYPE, DESC_IFINDEX, DESC_ORDINAL } from '../layout.js';
import type { CompiledImage } from '../compile/image.js';
import type { CaptureInfo } from '../pcap/reader.js';
import { PcapWriter, PcapngWriter, AtomicTextWriter } from '../pcap/writer.js';
import { RES_LABELS } from '../report/verdicts.js';
import type { RulesApi } from './rules-adapter.js';
import { l2Length } from './outframes.js';
import { recordsByOrdinal } from './merge.js';

/** The verdicts that are drops. */
export const DROP_CODES: readonly number[] = [RES_DROP_RULE, RES_DROP_POLICY, RES_DROP_INVALID, RES_DROP_MARTIAN, RES_DROP_NOROUTE,
  RES_MALFORMED, RES_DROP_NAT, RES_DROP_TTL, RES_DROP_FRAG, RES_DROP_MTU, RES_DROP_OTHERHOST];
const IS_DROP = new Uint8Array(256);
for (const c of DROP_CODES) IS_DROP[c] = 1;

export function isDrop(result: number): boolean {
  return IS_DROP[result & 0xff] === 1;
}

/** One dropped packet (frame valid during the call only). */
export type DropSink = (ordinal: number, tsSec: number, tsNsec: number, frame: Uint8Array, wirelen: number, linktype: number, ifindex: number, result: number) => void;

/** Finds the dropped packets of the batches a core runs, looking at a batch's descriptors only
 * when the core's stats slots say it dropped something (one per core: the slots accumulate). */
export class DropScanner {
  private seen = 0n;

  /** The drops among the `n` descriptors at `descs` that the core at `statsAddr` just ran;
   * returns how many. */
  scan(mem: ArrayBuffer, statsAddr: number, descs: number, n: number, sink: DropSink): number {
    const st = new BigUint64Array(mem, statsAddr, ST_NRES);
    let total = 0n;
    for (const c of DROP_CODES) total += st[c];
    if (total === this.seen) return 0;
    this.seen = total;
    const dv = new DataView(mem);
    const u8 = new Uint8Array(mem);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const d = descs + i * DESC_SIZE;
      const res = dv.getUint32(d + DESC_RESULT, true);
      if (IS_DROP[res & 0xff] !== 1) continue;
      const f = dv.getUint32(d + DESC_FRAME, true);
      sink(dv.getUint32(d + DESC_ORDINAL, true), dv.getUint32(d + DESC_TS_SEC, true), dv.getUint32(d + DESC_TS_NSEC, true),
        u8.subarray(f, f + dv.getUint32(d + DESC_CAPLEN, true)), dv.getUint32(d + DESC_WIRELEN, true),
        dv.getUint16(d + DESC_LINKTYPE, true), dv.getUint16(d + DESC_IFINDEX, true), res);
      k++;
    }
    return k;
  }
}

// ---------------------------------------------------------------- records between threads
// A pool worker packs its drops (ordinal, tsSec, tsNsec, wirelen, linktype | ifindex << 16,
// result, caplen: u32 each, then the frame padded to 4); the main thread merges them by ordinal.
const REC = 28;

export class DropRecords {
  private parts: { ord: number; s: number; ns: number; wl: number; lt: number; ifx: number; res: number; f: Uint8Array }[] = [];
  private bytes = 0;
  readonly buffers: ArrayBuffer[] = [];

  readonly sink: DropSink = (ord, s, ns, frame, wl, lt, ifx, res) => {
    this.parts.push({ ord, s, ns, wl, lt, ifx, res, f: frame.slice() });
    this.bytes += REC + ((frame.length + 3) & ~3);
  };

  /** Pack what the sink received since the last flush into one buffer. */
  flush(): void {
    if (!this.parts.length) return;
    const out = new ArrayBuffer(this.bytes);
    const dv = new DataView(out);
    const u8 = new Uint8Array(out);
    let p = 0;
    for (const x of this.parts) {
      dv.setUint32(p, x.ord, true);
      dv.setUint32(p + 4, x.s, true);
      dv.setUint32(p + 8, x.ns, true);
      dv.setUint32(p + 12, x.wl, true);
      dv.setUint32(p + 16, (x.lt | (x.ifx << 16)) >>> 0, true);
      dv.setUint32(p + 20, x.res, true);
      dv.setUint32(p + 24, x.f.length, true);
      u8.set(x.f, p + REC);
      p += REC + ((x.f.length + 3) & ~3);
    }
    this.buffers.push(out);
    this.parts = [];
    this.bytes = 0;
  }
}

/** Every record of the shards' buffers to `sink` in ordinal order (each dropped packet has its own
 * ordinal: the order is the capture's whatever the sharding). */
export function replayDropRecords(buffers: ArrayBuffer[][], sink: DropSink): void {
  for (const { buf, at } of recordsByOrdinal(buffers.flat(), REC, 24)) {
    const dv = new DataView(buf);
    const lw = dv.getUint32(at + 16, true);
    sink(dv.getUint32(at, true), dv.getUint32(at + 4, true), dv.getUint32(at + 8, true),
      new Uint8Array(buf, at + REC, dv.getUint32(at + 24, true)), dv.getUint32(at + 12, true), lw & 0xffff, lw >>> 16, dv.getUint32(at + 20, true));
  }
}

// ---------------------------------------------------------------- output format
/** Link type and timestamp precision of the output files (--out, --drops). */
export interface OutputFormat {
  linktype: number;
  nanosecond: boolean;
}

/** The format of the capture's outputs, decided when its first batch is read (the single worker
 * and the pool read the same first batch: the same decision): the capture's link type (the first
 * packet's when known: a classic pcap holds one) and its timestamp precision (classic pcap: the
 * magic; pcapng: nanoseconds when an interface known by then has if_tsresol finer than µs, as
 * PcapWriter.fromInfo decides). */
export function outputFormat(info: CaptureInfo | null, firstLinktype?: number): OutputFormat {
  const nanosecond = info ? (info.format === 'pcap' ? info.nanosecond : info.interfaces.some((i) => i.tsResolNs < 1000)) : true;
  const linktype = firstLinktype ?? (info && info.linktype >= 0 ? info.linktype : 1);
  return { linktype, nanosecond };
}

/** Seconds with the output's precision, as `tcpdump -tt` prints them. */
export function timeText(tsSec: number, tsNsec: number, nanosecond: boolean): string {
  return nanosecond ? `${tsSec}.${String(tsNsec).padStart(9, '0')}` : `${tsSec}.${String(Math.floor(tsNsec / 1000)).padStart(6, '0')}`;
}

// ---------------------------------------------------------------- the writer
const REASONS: Record<number, string> = {
  [RES_DROP_INVALID]: 'conntrack INVALID (dropped by conntrack)',
  [RES_DROP_MARTIAN]: 'routing: martian source',
  [RES_DROP_NOROUTE]: 'routing: no route',
  [RES_MALFORMED]: 'malformed IPv4 header (ip_rcv)',
  [RES_DROP_NAT]: 'NAT: no mapping',
  [RES_DROP_TTL]: 'TTL exceeded on forward',
  [RES_DROP_FRAG]: 'fragment dropped by reassembly',
  [RES_DROP_MTU]: 'DF set and longer than the out MTU',
  [RES_DROP_OTHERHOST]: 'not for this host (PACKET_OTHERHOST)',
};

export interface DropsContext {
  compiled: CompiledImage;
  api: RulesApi;
}

/** What dropped a packet, for the comment and the JSON line. */
interface Why {
  verdict: string;
  code: number;
  table?: string;
  chain?: string;
  rule?: number;
  text?: string;
  policy?: string;
}

/** The side file's name for a classic pcap drops file. */
export function dropsSideFile(path: string): string | null {
  return isPcapng(path) ? null : `${path}.jsonl`;
}

function isPcapng(path: string): boolean {
  return /\.pcapng$/i.test(path);
}

/** Writes the --drops file(s): created when the output format is known (the first batch), both
 * written to temporary names and renamed by close(). */
export class DropsWriter {
  private readonly ng: PcapngWriter | null = null;
  private readonly pcap: PcapWriter | null = null;
  private readonly side: AtomicTextWriter | null = null;
  private readonly ifaces = new Map<number, number>();
  private readonly rules = new Map<number, Why>();
  private readonly nano: boolean;
  packets = 0;

  constructor(readonly path: string, private readonly ctx: DropsContext, fmt: OutputFormat) {
    this.nano = fmt.nanosecond;
    if (isPcapng(path)) {
      this.ng = new PcapngWriter(path, { nanosecond: fmt.nanosecond, comment: 'nfreplay --drops: the packets the replay dropped, each with what dropped it' });
    } else {
      this.pcap = new PcapWriter(path, { linktype: fmt.linktype, nanosecond: fmt.nanosecond });
      try { this.side = new AtomicTextWriter(dropsSideFile(path)!); } catch (e) { this.pcap.abort(); throw e; }
    }
  }

  private why(result: number): Why {
    const code = result & 0xff;
    const extra = result >>> 16;
    const verdict = RES_LABELS[code]?.key ?? `code${code}`;
    if (code === RES_DROP_RULE) {
      let w = this.rules.get(extra);
      if (!w) {
        const r = this.ctx.compiled.rules[extra - 1].model;
        w = { verdict, code, table: r.table, chain: r.chain, rule: r.num, text: this.ctx.api.printRule(r) };
        this.rules.set(extra, w);
      }
      return w;
    }
    if (code === RES_DROP_POLICY) {
      const ch = this.ctx.compiled.chains[extra - 1];
      return { verdict, code, table: ch.table, chain: ch.name, policy: ch.policy ?? 'DROP' };
    }
    return { verdict, code };
  }

  /** Was this dropped frame a fragment that completed a datagram conntrack reassembled? With
   * conntrack every fragment that gets past ip_rcv's checks (RES_MALFORMED, RES_DROP_OTHERHOST) is
   * held (not a drop), dropped by reassembly (RES_DROP_FRAG) or completes its datagram. */
  private reassembled(frame: Uint8Array, linktype: number, code: number): boolean {
    if (!this.ctx.compiled.conntrack || code === RES_DROP_FRAG || code === RES_MALFORMED || code === RES_DROP_OTHERHOST) return false;
    const l2 = l2Length(frame, linktype);
    if (frame.length < l2 + 20 || (frame[l2] >> 4) !== 4) return false;
    return ((frame[l2 + 6] & 0x3f) | frame[l2 + 7]) !== 0;
  }

  readonly write: DropSink = (ord, s, ns, frame, wl, lt, ifx, res) => {
    const w = this.why(res);
    const reasm = this.reassembled(frame, lt, w.code);
    const frameNo = ord + 1;
    if (this.ng) {
      const key = lt | (ifx << 16);
      let id = this.ifaces.get(key);
      if (id === undefined) {
        const name = this.ctx.compiled.ifaceNames[ifx];
        id = this.ng.addInterface({ linktype: lt, name: ifx !== 0xffff ? name : undefined });
        this.ifaces.set(key, id);
      }
      let c: string;
      if (w.code === RES_DROP_RULE) c = `${w.table} ${w.chain} rule ${w.rule}: ${w.text}`;
      else if (w.code === RES_DROP_POLICY) c = `${w.table} ${w.chain} policy ${w.policy}`;
      else c = REASONS[w.code] ?? w.verdict;
      this.ng.writePacket(id, s, ns, frame, wl, `frame ${frameNo}: ${c}${reasm ? ' (reassembled datagram; this fragment completed it)' : ''}`);
    } else {
      this.pcap!.writePacket(s, ns, frame, wl);
      const o: Record<string, unknown> = { frame: frameNo, time: timeText(s, ns, this.nano), verdict: w.verdict, code: w.code };
      if (w.table !== undefined) { o.table = w.table; o.chain = w.chain; }
      if (w.rule !== undefined) { o.rule = w.rule; o.text = w.text; }
      if (w.policy !== undefined) o.policy = w.policy;
      if (reasm) o.reassembled = true;
      this.side!.write(`${JSON.stringify(o)}\n`);
    }
    this.packets++;
  };

  /** Both files renamed to their names (the side file first). */
  close(): void {
    if (this.ng) { this.ng.close(); return; }
    try { this.side!.close(); } catch (e) { this.pcap!.abort(); throw e; }
    this.pcap!.close();
  }

  abort(): void {
    this.ng?.abort();
    this.pcap?.abort();
    this.side?.abort();
  }
}
