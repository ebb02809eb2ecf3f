// Deterministic flow sharding for the pool (DESIGN.md, "Parallel replay").
//
// A packet's flow key is a symmetric hash of its captured 5-tuple, computed by every worker for
// every packet of a batch (assembly/api-pool.ts poolSelect); its shard is `key % nShards` unless
// the override table says otherwise. Random draws are keyed by (seed, packet ordinal, rule id) in the core, so a flow
// gives the same answers in any shard. What still couples flows is conntrack/NAT state: each
// shard logs, per packet, the tuples through which it could meet another flow (see poolRun);
// `Dependencies` joins flows that share a tuple (union-find over flow keys), and `plan` moves
// every group split across shards into one shard. The pool replays the shards whose set of flows
// changed and repeats until nothing moves. Merging only ever joins flows, so it ends.
//
// State that is ordered across all flows (statistic --mode nth, limit, hashlimit, quota,
// connlimit, recent lists, --persistent NAT) cannot be split: `orderedState` finds it in the
// ruleset and the pool then replays everything in one shard (the sequential path), counted in
// the pool summary. A bounded conntrack table that could have filled up takes the same path.
import type { MessagePort } from 'node:worker_threads';
import type { Ruleset } from '../rules/model.js';
import { NAT_PERSISTENT } from '../layout.js';
import type { CtSummary } from './engine.js';
import { wireAddr } from '../compile/wire.js';
import type { ResetPlan } from './core.js';

export interface WorkerData {
  /** The core with its globals exported (core.ts resettableCoreModule), and how to reset it. */
  module: WebAssembly.Module;
  plan: ResetPlan;
  /** Identifies the replay: a worker keeps its core across the passes of one replay. */
  run: number;
  compiled: { image: Int32Array; nCounters: number; nState: number; recentBytes: number; conntrack: boolean; ctMax: number };
  /** MTU per host interface index (the --out frames leave fragmented to it). */
  ifaceMtus: number[];
  /** A byte per rule id: 1 when its target is REJECT (its ICMP errors are rate limited per destination). */
  rejectRules: Uint8Array;
}

export interface ShardTask {
  port: MessagePort;
  /** The replay's data (the image in a SharedArrayBuffer, the compiled module: no copies). */
  data: WorkerData;
  shard: number;
  nShards: number;
  wantOut: boolean;
  /** Collect the dropped packets (--drops: drops.ts DropRecords). */
  wantDrops: boolean;
  /** Log the masked source address of NEW packets (P_SADDR encoding), or null. */
  recentMask: number | null;
  /** Log dependencies at all (see needsDependencyLog); also: compute tuple hashes. */
  log: boolean;
  /** The override table of this pass (overrideTable): flows moved to another shard. */
  override: Uint32Array;
}

/** One batch, sent to every shard: `n` whole classic pcap records at `off` (`len` bytes) of a
 * SharedArrayBuffer, the first with ordinal `ord` (the worker's core frames them: pcapFrame
 * `flags`, `linktype`); or, for inputs read with readCapture, `n` descriptors (DESC_FRAME
 * relative to the frames) followed by `bytes` bytes of frames, at the start of the buffer. */
export type BatchMsg =
  | { t: 'raw'; seq: number; sab: SharedArrayBuffer; off: number; len: number; n: number; ord: number; flags: number; linktype: number }
  | { t: 'descs'; seq: number; sab: SharedArrayBuffer; n: number; bytes: number };

export interface ShardResult {
  shard: number;
  packets: number;
  counters: { packets: bigint[]; bytes: bigint[] };
  /** Every stats slot of the shard's core (Engine.statSlots: RES_* codes and ST_* extras). */
  stats: bigint[];
  /** The engine's conntrack summary of this shard (EngineStats.ct), if any. */
  ctStats: CtSummary | null;
  /** [rule key (rule index, or -(chain id + 1) for a policy), packets, first ordinal]. */
  drops: [number, number, number][];
  /** Dependency records: (flow key, tuple hash lo, tuple hash hi) triples. */
  log: Uint32Array;
  /** Live confirmed conntrack entries, CT_SIZE bytes each (null without conntrack). */
  ct: ArrayBuffer | null;
  /** High-water mark of the shard's conntrack table (entries ever in use). */
  ctHwm: number;
  /** Forwarded packets (see worker.ts for the record layout), in ordinal order. */
  fwd: ArrayBuffer[];
  /** Dropped packets (drops.ts DropRecords layout), in ordinal order; empty without --drops. */
  drec: ArrayBuffer[];
}

/** Why a ruleset needs the sequential path (null: flows can be sharded). */
export function orderedState(rs: Ruleset): string | null {
  // `--reap` removes the least recently used entry of the list if it is expired — any address's,
  // so it couples flows. That is harmless only when every check of the list uses one --seconds
  // window and no --hitcount (an expired entry then never changes a later answer), as kube-proxy's.
  const lists = new Map<string, { reap: boolean; seconds: Set<number>; hitcount: boolean; where: string }>();
  for (const t of rs.tables) for (const ch of t.chains) for (const r of ch.rules) for (const m of r.matches) {
    if (m.module !== 'recent') continue;
    const p = m.params as { name: string; cmd: string | null; reap: boolean; seconds: number; hitcount: number };
    const l = lists.get(p.name) ?? { reap: false, seconds: new Set<number>(), hitcount: false, where: `${r.pos.file}:${r.pos.line}` };
    lists.set(p.name, l);
    if (p.reap) l.reap = true;
    if (p.cmd === 'rcheck' || p.cmd === 'update') { l.seconds.add(p.seconds); if (p.hitcount) l.hitcount = true; }
  }
  for (const [name, l] of lists) {
    if (l.reap && (l.seconds.size > 1 || l.seconds.has(0) || l.hitcount)) return `recent --reap on list ${name} with mixed --seconds or --hitcount (${l.where})`;
  }
  for (const t of rs.tables) {
    for (const ch of t.chains) {
      for (const r of ch.rules) {
        const where = `${r.pos.file}:${r.pos.line}`;
        for (const m of r.matches) {
          const p = m.params as { mode?: string } | null;
          if (m.module === 'statistic' && p?.mode === 'nth') return `statistic --mode nth (${where})`;
          if (['limit', 'hashlimit', 'quota', 'connlimit'].includes(m.module)) return `${m.module} (${where})`;
          if (m.module === 'recent' && (t.name !== 'nat' || (m.params as { side?: string }).side !== 'source')) {
            return `recent outside the nat table or with --rdest (${where})`;
          }
        }
        const tg = r.target;
        if (tg?.kind === 'module' && (tg.module === 'SNAT' || tg.module === 'DNAT')) {
          const f = (tg.params as { range?: { flags?: number } } | null)?.range?.flags ?? 0;
          if (f & NAT_PERSISTENT) return `${tg.module} --persistent (${where})`;
        }
      }
    }
  }
  return null;
}

// Kinds of dependency records (assembly/api-pool.ts)
const K_REPLY = 2;
const K_FAMILY = 3;
const K_RECENT = 5;
const K_JOIN = 6;
const K_FRAG = 7;

/** nat-table `recent --rsource` lists (kube-proxy session affinity) are keyed by the source
 * address of NEW packets (only they walk the nat table; SNAT comes after): the AND of all the
 * lists' masks in P_SADDR encoding, or null when the ruleset has no recent match. Flows whose NEW
 * packets share a masked source are joined; more than RECENT_LIST_TOT such addresses could make
 * a list evict (least recently used first, an order across all flows): the sequential path. */
export function recentMask(rs: Ruleset): number | null {
  let mask: number | null = null;
  for (const t of rs.tables) for (const ch of t.chains) for (const r of ch.rules) for (const m of r.matches) {
    if (m.module !== 'recent') continue;
    const host = ((m.params as { mask?: number }).mask ?? 0xffffffff) >>> 0;
    mask = ((mask ?? 0xffffffff) & host) >>> 0;
  }
  if (mask === null) return null;
  // host-order u32 -> the 4 wire bytes loaded as a little-endian u32
  return wireAddr(mask) >>> 0;
}

/** Can flows meet at all? Only through NAT (a reply tuple that is not the original inverted, so a
 * connection's packets have different flow keys; port choices that avoid other connections'
 * tuples) or nat-table recent lists. Without them every packet of a connection carries its flow's
 * key and the pool needs no dependency log. */
export function needsDependencyLog(rs: Ruleset): boolean {
  for (const t of rs.tables) for (const ch of t.chains) for (const r of ch.rules) {
    const tg = r.target;
    if (tg?.kind === 'module' && ['DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'NETMAP'].includes(tg.module)) return true;
    if (r.matches.some((m) => m.module === 'recent')) return true;
  }
  return false;
}

/** Reassembly queues the core has (assembly/dissect.ts DQ_N, shared by all flows): with more
 * fragmented datagrams than that, a queue could be missing in a single replay (ordered state). */
export const DEFRAG_QUEUES = 64;

/** xt_recent's ip_list_tot as the core has it (assembly/modules/recent.ts RECENT_LIST_TOT). */
export const RECENT_LIST_TOT = 100;

/** A map from numbers split over 64 Maps by the key's low bits. */
class SplitMap<V = number> {
  private maps = Array.from({ length: 64 }, () => new Map<number, V>());
  get(k: number): V | undefined { return this.maps[k & 63].get(k); }
  set(k: number, v: V): void { this.maps[k & 63].set(k, v); }
}

/** Union-find over flow keys, joined by shared tuple hashes. */
export class Dependencies {
  private parent = new Map<number, number>();
  private members = new Map<number, number[]>();
  /** exact tuple hash -> flow key * 16 + kind of the first record (split in 64 maps: one V8 Map
   * holds at most 2^24 entries, a big capture has more tuples) */
  private owner = new SplitMap();
  /** NATed reply tuple hash -> its family hash */
  private replyFamily = new SplitMap();
  private families = new SplitMap<{ hot: boolean; flows: number[] }>();
  clashes = 0;
  hotFamilies = 0;
  /** Distinct masked sources of NEW packets seen (K_RECENT records). */
  recentSources = new Set<number>();
  /** Distinct fragmented datagrams seen (K_FRAG records). */
  fragDatagrams = new Set<number>();

  find(x: number): number {
    let p = this.parent.get(x);
    if (p === undefined) return x;
    let r = x;
    while (p !== undefined && p !== r) { r = p; p = this.parent.get(r); }
    // path compression
    let y = x;
    while (y !== r) { const n = this.parent.get(y)!; this.parent.set(y, r); y = n; }
    return r;
  }

  union(a: number, b: number): void {
    let ra = this.find(a), rb = this.find(b);
    if (ra === rb) return;
    let ma = this.members.get(ra) ?? [ra], mb = this.members.get(rb) ?? [rb];
    if (ma.length < mb.length) { [ra, rb] = [rb, ra]; [ma, mb] = [mb, ma]; }
    this.parent.set(rb, ra);
    for (const m of mb) ma.push(m);
    this.members.set(ra, ma);
    this.members.delete(rb);
  }

  /** Add a shard's log. Flows that share an exact tuple are joined. When two connections created
   * the same tuple in different flows (a NAT clash resolved differently than a single replay
   * would), the reply tuple's family (the tuple without the NAT-chosen ports: every tuple the
   * port search could have tried) becomes hot: all flows with a NATed reply in that family are
   * joined, now and in later passes, so a chain of clashes is not discovered one pass at a time.
   * Only NAT choice against NAT choice counts as a clash; any other shared tuple just joins. */
  add(log: Uint32Array): void {
    let lastReply = -1;
    let lastClash = false;
    for (let i = 0; i + 2 < log.length; i += 3) {
      const key = log[i];
      const hi = log[i + 2];
      const kind = hi >>> 20;
      const h = (hi & 0xfffff) * 0x100000000 + log[i + 1];
      if (kind === K_FAMILY) {
        let f = this.families.get(h);
        if (!f) { f = { hot: false, flows: [] }; this.families.set(h, f); }
        if (f.hot) this.union(f.flows[0], key);
        if (f.flows[f.flows.length - 1] !== key) f.flows.push(key);
        if (lastReply >= 0) this.replyFamily.set(lastReply, h);
        if (lastClash) this.heat(h);
        lastReply = -1;
        lastClash = false;
        continue;
      }
      if (kind === K_FRAG) { this.fragDatagrams.add(h); continue; }
      if (kind === K_JOIN) { this.union(key, h); continue; }
      if (kind === K_RECENT) this.recentSources.add(h);
      const o = this.owner.get(h);
      let clash = false;
      if (o === undefined) this.owner.set(h, key * 16 + kind);
      else {
        const of = Math.floor(o / 16), ok = o % 16;
        if (of !== key) {
          this.union(of, key);
          // two NAT choices of the same tuple: a clash the single replay resolved by trying other
          // ports. (A NATed reply tuple meeting an un-NATed original tuple is nearly always a reply
          // that landed in another shard and started a connection of its own: joined, not heated.)
          if (ok === K_REPLY && kind === K_REPLY) {
            clash = true;
            this.clashes++;
            if (ok === K_REPLY) { const fam = this.replyFamily.get(h); if (fam !== undefined) this.heat(fam); }
          }
        }
      }
      if (kind === K_REPLY) { lastReply = h; lastClash = clash; }
    }
  }

  private heat(fam: number): void {
    const f = this.families.get(fam);
    if (!f || f.hot) return;   // a hot family joins newcomers as they come (add)
    f.hot = true;
    this.hotFamilies++;
    for (const k of f.flows) this.union(f.flows[0], k);
  }

  /** Groups with more than one flow key. */
  groups(): number[][] {
    return [...this.members.values()].filter((g) => g.length > 1);
  }
}

/** The shard of a flow key under an override map. */
export function shardOf(key: number, n: number, ovr: Map<number, number>): number {
  return ovr.get(key) ?? key % n;
}

/** Move every group split across shards into one shard (its smallest key's current shard).
 * Updates `ovr`; returns the set of shards whose flows changed. */
export function plan(dep: Dependencies, n: number, ovr: Map<number, number>): Set<number> {
  const changed = new Set<number>();
  for (const g of dep.groups()) {
    let min = g[0];
    for (const k of g) if (k < min) min = k;
    const target = shardOf(min, n, ovr);
    for (const k of g) {
      const s = shardOf(k, n, ovr);
      if (s !== target) { changed.add(s); changed.add(target); ovr.set(k, target); }
    }
  }
  return changed;
}

/** The override map as the core's open-addressing table. */
export function overrideTable(ovr: Map<number, number>): Uint32Array {
  if (ovr.size === 0) return new Uint32Array(0);
  let size = 16;
  while (size < ovr.size * 2) size *= 2;
  const t = new Uint32Array(size * 2);
  const mask = size - 1;
  for (const [k, s] of ovr) {
    let i = k & mask;
    while (t[i * 2] !== 0) i = (i + 1) & mask;
    t[i * 2] = k;
    t[i * 2 + 1] = s;
  }
  return t;
}
