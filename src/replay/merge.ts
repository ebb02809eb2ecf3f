// Merging the shards' results on the main thread: counters and verdict totals summed; drops per
// rule/policy summed and ordered by first occurrence in the capture (as a single worker meets
// them); conntrack entries of all shards gathered into one table image that the conntrack
// formatter reads exactly as it reads a core's memory (it orders rows by content, so the dump does
// not depend on the shard an entry lived in); forwarded packets re-ordered by ordinal.
import { CTT_ENTRIES, CTT_HWM, CT_SIZE } from '../layout-ct.js';
import type { CounterSet } from '../report/counters.js';
import type { ShardResult } from './shard.js';
import { PcapWriter } from '../pcap/writer.js';
import { CT_SUMMARY_PER_TABLE, type CtSummary } from './engine.js';
import type { OutputFormat } from './drops.js';

export interface Merged {
  counters: CounterSet;
  /** Every stats slot summed over shards (statsFromSlots reads them as the engine does). */
  stats: bigint[];
  /** Counts summed over shards; per-table fields (CT_SUMMARY_PER_TABLE) kept. */
  ct: CtSummary | undefined;
  drops: Map<number, number>;
  packets: number;
}

/** Sum per-shard results: all counters, all stats slots, all count fields of the conntrack
 * summary (generic: a slot or field added to the engine is summed without a change here).
 * `drops` entries are [key, count, firstOrdinal]. */
export function mergeResults(rs: ShardResult[], nCounters: number): Merged {
  const packets = new Array<bigint>(nCounters).fill(0n), bytes = new Array<bigint>(nCounters).fill(0n);
  const stats: bigint[] = [];
  let n = 0;
  let ct: CtSummary | undefined;
  const drops = new Map<number, { count: number; first: number }>();
  for (const r of rs) {
    for (let i = 0; i < nCounters; i++) { packets[i] += r.counters.packets[i]; bytes[i] += r.counters.bytes[i]; }
    r.stats.forEach((v, i) => { stats[i] = (stats[i] ?? 0n) + v; });
    if (r.ctStats) ct = ct ? mergeCtSummary(ct, r.ctStats) : { ...r.ctStats };
    n += r.packets;
    for (const [k, c, first] of r.drops) {
      const d = drops.get(k);
      if (d) { d.count += c; d.first = Math.min(d.first, first); } else drops.set(k, { count: c, first });
    }
  }
  const ordered = new Map<number, number>();
  for (const [k, d] of [...drops.entries()].sort((a, b) => a[1].first - b[1].first)) ordered.set(k, d.count);
  return { counters: { packets, bytes }, stats, ct, drops: ordered, packets: n };
}

/** Two shards' conntrack summaries: per-table fields must agree, every other field is summed. */
export function mergeCtSummary(a: CtSummary, b: CtSummary): CtSummary {
  const out = { ...a } as Record<string, number>;
  const bb = b as unknown as Record<string, number>;
  for (const k of Object.keys(bb)) {
    if ((CT_SUMMARY_PER_TABLE as readonly string[]).includes(k)) {
      if (out[k] !== bb[k]) throw new Error(`conntrack summary: ${k} differs between shards (${out[k]} vs ${bb[k]})`);
    } else out[k] = (out[k] ?? 0) + bb[k];
  }
  return out as unknown as CtSummary;
}

/** Where the merged conntrack table's header sits in the buffer from mergeConntrack. */
export const MERGED_CT_TABLE = 64;

/** One buffer holding a table header (CTT_ENTRIES, CTT_HWM) and every shard's live entries. */
export function mergeConntrack(rs: ShardResult[]): ArrayBuffer {
  let total = 0;
  for (const r of rs) if (r.ct) total += r.ct.byteLength;
  const entries = 256;
  const buf = new ArrayBuffer(entries + total);
  const u8 = new Uint8Array(buf);
  let at = entries;
  for (const r of rs) if (r.ct) { u8.set(new Uint8Array(r.ct), at); at += r.ct.byteLength; }
  const dv = new DataView(buf);
  dv.setUint32(MERGED_CT_TABLE + CTT_ENTRIES, entries, true);
  dv.setUint32(MERGED_CT_TABLE + CTT_HWM, total / CT_SIZE, true);
  return buf;
}

/** Write the packets that left the host, of all shards, in capture order: forwarded frames and the
 * host's own packets (REJECT replies, ICMP errors, echo replies), each record carrying the ordinal
 * of the captured packet it belongs to (outframes.ts forEachLeavingFrame); the stable sort keeps a
 * packet's frames (fragments, then what the host sent because of it) in the order the single
 * worker writes them. */
export function writeForwarded(rs: ShardResult[], path: string, fmt: OutputFormat): void {
  const recs = recordsByOrdinal(rs.flatMap((r) => r.fwd), 24, 20);
  const w = new PcapWriter(path, { linktype: fmt.linktype, nanosecond: fmt.nanosecond });
  try {
    for (const { buf, at } of recs) {
      const dv = new DataView(buf);
      const cl = dv.getUint32(at + 20, true);
      w.writePacket(dv.getUint32(at + 4, true), dv.getUint32(at + 8, true), new Uint8Array(buf, at + 24, cl), dv.getUint32(at + 12, true));
    }
  } catch (e) {
    w.abort();
    throw e;
  }
  w.close();
}

/** The records in the shards' buffers, in capture order. A record is `head` bytes of u32 fields, the
 * first its packet's ordinal and the one at byte `lenAt` the length of the frame that follows
 * (padded to 4 bytes); the sort is stable, so the records of one packet (its fragments, then what
 * the host sent because of it) keep the order a worker wrote them in. */
export function recordsByOrdinal(buffers: ArrayBuffer[], head: number, lenAt: number): { ord: number; buf: ArrayBuffer; at: number }[] {
  const recs: { ord: number; buf: ArrayBuffer; at: number }[] = [];
  for (const b of buffers) {
    const dv = new DataView(b);
    for (let p = 0; p < b.byteLength;) {
      recs.push({ ord: dv.getUint32(p, true), buf: b, at: p });
      p += head + ((dv.getUint32(p + lenAt, true) + 3) & ~3);
    }
  }
  recs.sort((a, b) => a.ord - b.ord);
  return recs;
}
