// Per-chain decision structures (issue 4): from a chain's rules to a structure that takes a packet
// to the ordered list of rules that can still match it (a NODE_LEAF), walked by
// assembly/classify.ts. The interpreter re-checks every candidate fully, so a leaf may hold rules
// that do not match (a superset), never miss one that does, and always keeps rule order.
//
// Why this algorithm. netfilter needs *every* rule that can match, in order (LOG, MARK, jumps that
// RETURN and residual matches such as statistic or conntrack mean the first key match is not
// the end). One structure gives one leaf per packet; a chain whose rules fall into address-
// wildness families is partitioned into several structures whose leaves the core merges in rule
// order (EffiCuts-style, NODE_MULTI: see buildChain). Within one structure, the ideas of the
// classifiers that merge sub-classifiers at run time are kept in the choice made at each node:
//  - Exact-match hash nodes (TupleMerge / Tuple Space Search): when most of a node's rules are
//    exact on the same tuple of fields (kube-proxy's KUBE-SERVICES: `-d VIP/32 -p tcp --dport N`;
//    KUBE-NODEPORTS: `--dport N`), one hash probe on (saddr?, daddr?, sport?/dport?) selects a
//    child holding that tuple's rules merged in order with the few non-exact rules containing the
//    tuple; a miss goes to the default child (the non-exact rules only). The per-packet cost does
//    not grow with the number of services. Taken only when the wildcard rules that would be
//    copied into every entry are few (≤ 8 per entry on average) — EffiCuts' lesson that wild rules
//    must not be replicated across many fine cuts.
//  - Otherwise binary range splits (HyperSplit, Qi et al. 2009) on the rule endpoints of one field
//    at a time, chosen to minimise the larger child plus twice the copies the cut makes, refusing
//    a cut that copies more than half the node's rules; -i/-o get the same binary cuts over
//    classes of interfaces (NODE_IFACE maps each interface bit to a child). Binary endpoint
//    splits replicate far less than HiCuts' equal-size cuts on wildcard-heavy firewall sets;
//    candidates are quartiles of a sample of endpoints, so a node costs O(m).
//  - Bounds instead of blow-ups: nodes are built best first (the pending node with the most rules
//    next) under a replication budget (total rules over all leaves ≤ maxReplication × n), a depth
//    limit and a build deadline; when one is reached the remaining nodes become leaves (a
//    shallower structure with longer leaves: slower, still exact). Identical leaves are stored
//    once; hash entries hold small leaves in place.
//  - Redundancy removal: a leaf ends at the first rule whose key is the whole rule, whose target
//    ends the chain walk (RuleKey.final) and which covers the leaf's whole region — no packet
//    there gets past it (this is what keeps leaves short on ACL/firewall sets with a default rule).
//  - Matches with side effects (statistic, recent, limit) run before a later port test fails, so
//    ruleKey only takes port tests that precede them.
//  - Decided leaves: when a leaf's first rule is exact (its key is the whole rule, RuleKey.exact)
//    and covers the leaf's region, the leaf says so (NODE_LEAF_HIT) and the core runs that rule's
//    counter and target without checking it. A hash key with one port also holds the protocol
//    (HASH_COL_PROTO), so kube-proxy's service entries are decided by the probe: the hit touches
//    the hash entry (with its leaf in place) and the rule's record, not its match parameters.
//
// Cuts use only fields that cannot change during one table walk: saddr, daddr, proto, sport,
// dport, iif, oif (not mark: MARK targets change it mid-walk). Non-first fragments have no ports
// and L4 matches (tcp, udp, sctp, icmp, multiport) never match them, so the block has a separate
// root for them; a first fragment whose L4 header is missing makes an L4 match hotdrop whatever
// its ports say, and so does a tcp match on a TCP fragment at offset 1: those few packets get a
// leaf of every rule.
//
// Block format (node kinds in src/layout.ts): a lone NODE_LEAF (--linear and chains of at most
// `binth` rules), NODE_MULTI (partitioned: K such blocks), or NODE_ROOT first. Every child pointer is a word offset relative to the first
// word of the block, so the block is position independent: the compiler appends the words
// anywhere in the image and stores the block's word offset in CH_TREE; classify(base) adds base.

import type { Rule, IfaceMatch, Match } from '../rules/model.js';
import {
  NODE_LEAF, NODE_ROOT, NODE_HASH, NODE_IFACE, NODE_SPLIT_SADDR, HASH_COL_SADDR, HASH_COL_DADDR,
  HASH_COL_PORTS, HASH_HDR, IFBIT_NONE, IF_NONE, NODE_MULTI, MULTI_MAX, NODE_LEAF_HIT, HASH_COL_PROTO,
} from '../layout.js';
import { wireAddr } from './wire.js';

/** Inclusive unsigned range (addresses in host order, i.e. 10.0.0.1 = 0x0a000001). */
export interface Range { lo: number; hi: number }

/**
 * The classifiable part of one rule. A packet that matches the rule matches its key (the key may
 * be wider, e.g. the hull of a multiport list). Inverted fields are exact here (the reference
 * checker uses them) and wildcards for the tree.
 */
export interface RuleKey {
  src: Range; srcInv: boolean;
  dst: Range; dstInv: boolean;
  /** IP protocol, null = any. */
  proto: number | null; protoInv: boolean;
  sport: Range; sportInv: boolean;
  dport: Range; dportInv: boolean;
  /** Interface bits (bit i = host interface i, bit 31 = no device) for which -i passes, `!` applied. */
  iif: number;
  oif: number;
  /** The rule has an L4 match (tcp, udp, sctp, icmp, multiport...): never matches a non-first
   * fragment; hotdrops on a first fragment without the L4 header. Ports are only meaningful then. */
  l4: boolean;
  /** 0: no -f; 1: `-f` (non-first fragments only); 2: `! -f` (first/unfragmented only). */
  frag: 0 | 1 | 2;
  /** The key is the whole rule (no other match) and its target ends the walk of this chain
   * (ACCEPT, DROP, RETURN, REJECT, -g): no later rule of the chain is reached by a packet it
   * matches, so a leaf whose region the key covers may end with it. */
  final: boolean;
  /** The key is the whole rule (whatever its target): a leaf whose region it covers may say that
   * its first rule matches without checking it (NODE_LEAF_HIT). */
  exact?: boolean;
}

export const FULL32: Range = { lo: 0, hi: 0xffffffff };
export const FULL16: Range = { lo: 0, hi: 0xffff };
export const ALL_IFACES = 0xffffffff;
/** Protocols whose ports the core fills in P_SPORT/P_DPORT: only their rules are cut on ports. */
export const PORT_PROTOS: readonly number[] = [6, 17, 132];

/** A key that matches every packet. */
export function wildKey(): RuleKey {
  return {
    src: { ...FULL32 }, srcInv: false, dst: { ...FULL32 }, dstInv: false, proto: null, protoInv: false,
    sport: { ...FULL16 }, sportInv: false, dport: { ...FULL16 }, dportInv: false,
    iif: ALL_IFACES, oif: ALL_IFACES, l4: false, frag: 0, final: false, exact: false,
  };
}

/** Interface bit of a P_IIF/P_OIF value (IF_NONE and out-of-mask indices share bit 31). */
export function ifBit(idx: number): number {
  return idx === IF_NONE || idx >= IFBIT_NONE ? IFBIT_NONE : idx;
}

const L4_MODULES = new Set(['tcp', 'udp', 'sctp', 'icmp', 'multiport', 'udplite', 'dccp']);
/** Matches whose evaluation changes state (statistic nth counters and random draws, recent lists,
 * limit/hashlimit/quota/connlimit buckets). */
const SIDE_EFFECT_MODULES = new Set(['statistic', 'recent', 'limit', 'hashlimit', 'quota', 'connlimit', 'connbytes']);

/** A port constraint as the rules engineer's module params may spell it (tolerant on purpose). */
function portParam(v: unknown, invFlag: unknown): { r: Range; inv: boolean } | null {
  if (v == null) return null;
  let lo: number | undefined, hi: number | undefined, inv = invFlag === true;
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number') { lo = v[0]; hi = v[1]; }
  else if (typeof v === 'number') { lo = hi = v; }
  else if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const a = o.min ?? o.lo ?? o.from ?? o.first, b = o.max ?? o.hi ?? o.to ?? o.last;
    if (typeof a === 'number') { lo = a; hi = typeof b === 'number' ? b : a; }
    if (o.invert === true || o.inv === true) inv = true;
  }
  if (lo === undefined || hi === undefined) return null;
  return { r: { lo, hi }, inv };
}

interface PortAcc { r: Range | null; inv: boolean; invCount: number; pos: boolean; posCount: number }
function addPort(acc: PortAcc, c: { r: Range; inv: boolean } | null): void {
  if (!c) return;
  if (c.inv) { acc.invCount++; if (!acc.pos) { acc.r = c.r; acc.inv = true; } return; }
  // non-inverted constraints intersect (several -m tcp blocks all have to match)
  acc.posCount++;
  if (!acc.pos) { acc.r = { ...c.r }; acc.inv = false; acc.pos = true; return; }
  const lo = Math.max(acc.r!.lo, c.r.lo), hi = Math.min(acc.r!.hi, c.r.hi);
  if (lo <= hi) acc.r = { lo, hi }; // empty: keep the wider one (a superset is always safe)
}
function finishPort(acc: PortAcc): { r: Range; inv: boolean } {
  if (acc.pos) return { r: acc.r!, inv: false };
  if (acc.invCount === 1) return { r: acc.r!, inv: true };
  return { r: { ...FULL16 }, inv: false }; // none, or several negations: wildcard (superset)
}

/** Ports listed by a multiport match, as ranges, or null when not readable. */
function multiportRanges(v: unknown): Range[] | null {
  if (!Array.isArray(v)) return null;
  const out: Range[] = [];
  for (const e of v) {
    const p = portParam(e, false);
    if (!p) return null;
    out.push(p.r);
  }
  return out.length ? out : null;
}

/**
 * The key of a rule. `ifaceMask(m)` must return the interface bits whose name passes the
 * non-inverted test `-i m.name` (bit 31 = no device; `+` alone includes it); it is always called
 * with invert false and the inversion is applied here.
 */
export function ruleKey(rule: Rule, ifaceMask: (m: IfaceMatch) => number): RuleKey {
  const k = wildKey();
  const addr = (a: { addr: number; prefix: number } | null): Range => {
    if (!a || a.prefix === 0) return { ...FULL32 };
    const mask = a.prefix >= 32 ? 0xffffffff : (~(0xffffffff >>> a.prefix)) >>> 0;
    const lo = (a.addr & mask) >>> 0;
    return { lo, hi: (lo | (~mask >>> 0)) >>> 0 };
  };
  if (rule.src) { k.src = addr(rule.src); k.srcInv = rule.src.invert && rule.src.prefix > 0 ? true : false; if (rule.src.invert && rule.src.prefix === 0) { k.src = { lo: 1, hi: 0 }; } }
  if (rule.dst) { k.dst = addr(rule.dst); k.dstInv = rule.dst.invert && rule.dst.prefix > 0 ? true : false; if (rule.dst.invert && rule.dst.prefix === 0) { k.dst = { lo: 1, hi: 0 }; } }
  if (rule.proto && rule.proto.proto !== 0) { k.proto = rule.proto.proto; k.protoInv = rule.proto.invert; }
  // Bit 31 stands for "no device" and for interface indices >= 31 alike (the image's masks have
  // 32 bits): a negated test always keeps it (superset), and a key is exact (final) only when the
  // name's mask does not use it.
  let ifExact = true;
  const ifKey = (i: IfaceMatch): number => {
    const m = ifaceMask({ name: i.name, invert: false }) >>> 0;
    if (m & 0x80000000) ifExact = false;
    return (i.invert ? ~m | 0x80000000 : m) >>> 0;
  };
  if (rule.inIface) k.iif = ifKey(rule.inIface);
  if (rule.outIface) k.oif = ifKey(rule.outIface);
  if (rule.frag) k.frag = rule.frag.invert ? 2 : 1;
  const sp: PortAcc = { r: null, inv: false, invCount: 0, pos: false, posCount: 0 };
  const dp: PortAcc = { r: null, inv: false, invCount: 0, pos: false, posCount: 0 };
  for (const m of rule.matches as Match[]) {
    // Matches run in order: once one with a side effect has run (an nth counter, a random draw,
    // a recent list, a token bucket), the rule must be walked even when a later port test fails,
    // so later L4 matches add nothing to the key.
    if (SIDE_EFFECT_MODULES.has(m.module)) break;
    if (!L4_MODULES.has(m.module)) continue;
    k.l4 = true;
    const p = (m.params ?? {}) as Record<string, unknown>;
    if (m.module === 'multiport') {
      // --dports/--sports list: the hull of the list is a superset; --ports (either side) and
      // negated lists are wildcards. Param names tolerated: sports/dports/ports, source/dest.
      const inv = p.invert === true || p.inv === true;
      const d = multiportRanges(p.dports ?? p.destinationPorts ?? (p.dir === 'dst' || p.flags === 'dst' ? p.ports : undefined));
      const s = multiportRanges(p.sports ?? p.sourcePorts ?? (p.dir === 'src' || p.flags === 'src' ? p.ports : undefined));
      if (!inv && d) addPort(dp, { r: { lo: Math.min(...d.map((x) => x.lo)), hi: Math.max(...d.map((x) => x.hi)) }, inv: false });
      if (!inv && s) addPort(sp, { r: { lo: Math.min(...s.map((x) => x.lo)), hi: Math.max(...s.map((x) => x.hi)) }, inv: false });
      continue;
    }
    if (m.module === 'icmp') continue;
    addPort(sp, portParam(p.sport ?? p.sourcePort ?? p.spts, p.sportInvert ?? p.invSport ?? p.sportInv));
    addPort(dp, portParam(p.dport ?? p.destinationPort ?? p.dpts, p.dportInvert ?? p.invDport ?? p.dportInv));
  }
  const s = finishPort(sp), d = finishPort(dp);
  k.sport = s.r; k.sportInv = s.inv; k.dport = d.r; k.dportInv = d.inv;
  k.exact = ifExact && isExact(rule, sp, dp);
  k.final = k.exact && isFinalTarget(rule);
  return k;
}

/** Terminal targets within a chain: the walk of this chain never goes past them. */
const FINAL_TARGETS = new Set(['REJECT']);
/** A target that ends the walk of the chain. */
function isFinalTarget(rule: Rule): boolean {
  const t = rule.target;
  if (!t) return false;
  return !(t.kind === 'jump' ? !t.goto : t.kind === 'module' && !FINAL_TARGETS.has(t.module));
}
/** Only port options (and comments) besides the base match, at most one constraint per port side:
 * then the key decides the rule exactly. */
function isExact(rule: Rule, sp: PortAcc, dp: PortAcc): boolean {
  if (rule.approximation) return false;
  if (sp.invCount + sp.posCount > 1 || dp.invCount + dp.posCount > 1) return false;
  for (const m of rule.matches as Match[]) {
    if (m.module === 'comment') continue;
    if (m.module !== 'tcp' && m.module !== 'udp') return false;
    const p = (m.params ?? {}) as Record<string, unknown>;
    for (const name in p) { // (Object.entries' own enumerable keys, without an array per rule)
      if (!Object.prototype.hasOwnProperty.call(p, name)) continue;
      const v = p[name];
      if (name === 'sport' || name === 'dport' || name === 'sportInv' || name === 'dportInv') continue;
      if (v === 0 || v === false || v === null || v === undefined) continue; // tcp flags/option unset
      return false;
    }
  }
  return true;
}

/** Would `key` let a packet through (the plain JS reference checker the tests compare with)?
 * Returns 'hotdrop' for an L4 rule on a first fragment without its L4 header. */
export interface KeyPacket {
  saddr: number; daddr: number; proto: number; sport: number; dport: number;
  iif: number; oif: number; fragoff: number; l4ok: boolean;
}
export function keyMatches(k: RuleKey, p: KeyPacket): boolean | 'hotdrop' {
  const inR = (v: number, r: Range): boolean => v >= r.lo && v <= r.hi;
  if (k.frag === 1 && p.fragoff === 0) return false;
  if (k.frag === 2 && p.fragoff !== 0) return false;
  if (inR(p.saddr, k.src) === k.srcInv) return false;
  if (inR(p.daddr, k.dst) === k.dstInv) return false;
  if (k.proto !== null && (p.proto === k.proto) === k.protoInv) return false;
  if (((k.iif >>> ifBit(p.iif)) & 1) === 0) return false;
  if (((k.oif >>> ifBit(p.oif)) & 1) === 0) return false;
  if (!k.l4) return true;
  if (p.fragoff === 1 && p.proto === 6) return 'hotdrop'; // tcp_mt: "evil TCP offset=1 frag"
  if (p.fragoff !== 0) return false;
  if (!p.l4ok) return 'hotdrop';
  if (inR(p.sport, k.sport) === k.sportInv) return false;
  if (inR(p.dport, k.dport) === k.dportInv) return false;
  return true;
}

/** Rules a node may hold before it is cut (HiCuts' binth): a chain of at most this many rules is one leaf. */
export const DEFAULT_BINTH = 8;

export interface TreeOpts {
  /** Stop cutting at this many rules (default 8). */
  binth?: number;
  /** Total rules over all leaves of a root ≤ maxReplication × n + 1024 (default 8; 16 from
   * 50,000 rules: there the leaves are budget-bound — ClassBench ACL at 100,000 rules, bench
   * packets: leaf 141 rules on average at 8 (80 checked to the first match), 92 at 12 (55), 68 at
   * 16 (41) for 8.1 MB and 0.8 s warm / 1.3 s cold of build CPU). */
  maxReplication?: number;
  /** Build deadline for the whole block in wall ms (default 10 s + n / 10 ms: a safety net only,
   * since hitting it makes the structure depend on the machine's load — on this shared 2-core
   * machine a 10,000-rule ACL took 2.5 s wall for 0.6 s of CPU). */
  maxBuildMs?: number;
  /** Maximum depth (default 48). */
  maxDepth?: number;
  /** Use exact-match hash nodes (default true). */
  hash?: boolean;
  /** buildChain: partition the chain into several structures (NODE_MULTI) when that pays
   * (default true; false = always one structure). 'force' partitions whenever there are two
   * non-empty groups (tests). */
  multi?: boolean | 'force';
  /** Mark decided leaves (NODE_LEAF_HIT; default true; NFREPLAY_TREE_HIT=off for compiles that do
   * not pass options: benchmarks of the core with and without them). */
  hit?: boolean;
  /** Store the nodes in depth-first order (default true; see relayout). */
  relayout?: boolean;
  /** Load factor of a hash node's tables (default 0.5: short probes). 0.75 above 16,384 keys
   * saved a third of the memory but cost more than it saved: at 100,000 kube-proxy rules the walk
   * alone took 39-40 ns at 0.75 against 28 ns at 0.5 (bench:classify, same run) — linear probing
   * reads ~2.5 entries per hit and ~8.5 per miss at 0.75, each probe a likely cache miss once the
   * table (4.6 MB at 0.75, 6.7 MB at 0.5) is out of the caches. */
  hashLoad?: number;
}

export interface TreeStats {
  kind: 'linear' | 'tree' | 'hash' | 'hash+tree' | 'multi';
  rules: number;
  depth: number;
  nodes: number;
  hashNodes: number;
  ifaceNodes: number;
  leaves: number;
  largestLeaf: number;
  /** Rules stored in all (distinct) leaves / rules. */
  replication: number;
  /** Leaf entries left out because a final rule covering the leaf's region precedes them. */
  truncated: number;
  words: number;
  bytes: number;
  buildMs: number;
  /** A bound turned nodes into leaves early. */
  budgetHit: boolean;
  deadlineHit: boolean;
  /** Leaves whose first rule the structure decides (NODE_LEAF_HIT). */
  hitLeaves?: number;
  /** kind 'multi': the partition's structures, in NODE_MULTI order (with `group` set). */
  trees?: TreeStats[];
  /** A partition's structure: which rules it holds ('dst' specific in daddr, 'src' specific in
   * saddr only, 'wild' in both). */
  group?: string;
}

/** The --linear structure: one leaf with all n rules (indices 0..n-1 relative to the chain's first). */
export function linearTree(n: number, ruleIndex?: number[]): { words: number[]; stats: TreeStats } {
  const words = [NODE_LEAF, n];
  for (let i = 0; i < n; i++) words.push(ruleIndex ? ruleIndex[i] : i);
  return {
    words,
    stats: {
      kind: 'linear', rules: n, depth: 0, nodes: 1, hashNodes: 0, ifaceNodes: 0, leaves: 1, largestLeaf: n,
      replication: n ? 1 : 0, truncated: 0, words: words.length, bytes: words.length * 4, buildMs: 0,
      budgetHit: false, deadlineHit: false,
    },
  };
}

// Range fields of the builder: 0 saddr, 1 daddr, 2 proto, 3 sport, 4 dport; 5 iif, 6 oif.
const NF = 5;
const ROW = 16; // words per rule in Builder.row
const FULL_HI = [0xffffffff, 0xffffffff, 255, 0xffff, 0xffff];
/** A node's lower bounds at a root: all zeros, but held as doubles like every bound array below
 * (addresses above 2^31 are not small integers): a root array of small integers changed its
 * elements kind when a child's bound crossed 2^31, and the optimised builder code that had seen
 * one kind deoptimised (and V8 recompiled tryHash/trySplit, 30-70 ms each) during the first build. */
const ZERO_LO: number[] = [0.5, 0.5, 0.5, 0.5, 0.5].map(() => 0.5);
for (let f = 0; f < NF; f++) ZERO_LO[f] = 0;
const HASH_FIELDS = [0, 1, 3, 4]; // bit j of a tuple = HASH_FIELDS[j]
const HASH_MIN_RULES = 16;
const ZEROS: number[] = new Array<number>(1024).fill(0);
const HASH_MIN_KEYS = 4;
const HASH_MAX_EXTRA = 8; // average wildcard rules copied into each hash entry
const INLINE_MAX = 4;  // hash entries hold leaves of up to this many rules in place
const SAMPLE = 16;     // rules whose endpoints propose thresholds
const EXACT_M = 64;    // above this many rules, thresholds are scored on a sample first
// (16 and 64 rather than 32 and 128: ClassBench ACL 10,000 rules built in ~54 ms of CPU instead
// of ~68 ms warm, rules checked to first match 11.4 -> 11.5; 100,000: 53.2 -> 54.7)

interface Item {
  rules: Int32Array;
  lo: number[];
  hi: number[];
  ifr: number[]; // interface bits that can reach the node, per iface field
  depth: number;
  slot: number; // word to patch with the node's offset
  ports: boolean; // ports may be cut at this root
  leaf?: boolean; // emit as a leaf whatever its size
  /** A hash attempt failed at an ancestor of this size: retry only once the node has halved. */
  hashFailedAt?: number;
}

/** Shared hash of NODE_HASH keys (assembly/classify.ts computes the same). */
export function hashKey(a: number, b: number, c: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77) ^ Math.imul(c, 0xc2b2ae3d);
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d); h ^= h >>> 15; h = Math.imul(h, 0x846ca68b); h ^= h >>> 16;
  return h >>> 0;
}

/** Slot of hash h in a table of `size` entries: floor(h * size / 2^32) (Lemire's fastrange; the
 * core computes it with one u64 multiply). Exact in doubles: h = hi·2^16 + lo. */
export function hashSlot(h: number, size: number): number {
  return Math.floor(((h >>> 16) * size + Math.floor(((h & 0xffff) * size) / 65536)) / 65536);
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

class Builder {
  words: number[] = [];
  readonly lo: Uint32Array[] = [];
  readonly hi: Uint32Array[] = [];
  readonly ifm: Uint32Array[] = [];
  final: Uint8Array;
  /** The row is the whole rule (RuleKey.exact with the same conditions as final). */
  exact: Uint8Array;
  /** TreeOpts.hit */
  readonly useHit: boolean;
  readonly leafCache = new Map<number, number[]>();
  /** Pending nodes, largest first (best-first: the budget goes to the biggest would-be leaves). */
  readonly queue = new Heap();
  stats = { hitLeaves: 0, truncated: 0, depth: 0, nodes: 0, hashNodes: 0, ifaceNodes: 0, leaves: 0, largestLeaf: 0, leafWords: 0, splits: 0, budgetHit: false, deadlineHit: false };
  frontier = 0;
  budget = 0;
  readonly binth: number;
  readonly maxDepth: number;
  readonly useHash: boolean;
  readonly hashLoad: number;
  readonly deadline: number;
  ticks = 0;
  expired = false;
  readonly cand = new Float64Array(2 * SAMPLE + 4);
  readonly ts = new Float64Array(3);
  readonly cntE = new Int32Array(16);
  exBuf: Uint8Array;
  readonly nL = new Int32Array(3);
  readonly nR = new Int32Array(3);
  /** The same columns as one 64-byte row per rule (lo/hi of field f at 2f, 2f+1; -i/-o masks at
   * 10, 11): the hot loops visit a node's rules in index order, which is random in memory for
   * deep nodes; a row is one cache line where the columns were up to twelve (at 100,000 rules the
   * columns' misses were most of the build). */
  readonly row: Uint32Array;
  /** Some rule tests -i (0) / -o (1): else interface dispatch is never worth trying. */
  readonly ifUsed = [false, false];
  /** Partition scratch (a node never holds more than n rules). */
  readonly sL: Int32Array;
  readonly sR: Int32Array;
  /** Split choice: minimise the larger child + dupWeight × copies, and refuse a cut that copies
   * more than maxDup × m rules (HyperSplit-style local bound; the global budget is the backstop).
   * Copies weigh double: under the replication budget a copy made high in the tree is paid again
   * in every leaf below it, and measured on ClassBench ACL sets (bench packets, rules checked
   * until the first match) 2 beat 0.5 and 1 at 1,000–100,000 rules (10,000: 12.3 -> 11.4 checks,
   * 100,000: 89 -> 80) with less replication; 4 and 8 were no better. */
  readonly dupWeight = 2;
  readonly maxDup = 0.5;

  constructor(keys: RuleKey[], readonly ruleIndex: number[], readonly n: number, readonly opts: TreeOpts, t0: number) {
    this.binth = Math.max(1, opts.binth ?? DEFAULT_BINTH);
    this.maxDepth = opts.maxDepth ?? 48;
    this.useHash = opts.hash ?? true;
    this.useHit = opts.hit ?? (typeof process === 'undefined' || process.env.NFREPLAY_TREE_HIT !== 'off');
    this.hashLoad = opts.hashLoad === undefined ? 0 : Math.min(0.9, Math.max(0.1, opts.hashLoad));
    this.deadline = t0 + (opts.maxBuildMs ?? 10000 + n / 10);
    for (let f = 0; f < NF; f++) { this.lo.push(new Uint32Array(n)); this.hi.push(new Uint32Array(n)); }
    this.ifm.push(new Uint32Array(n), new Uint32Array(n));
    this.final = new Uint8Array(n);
    this.exact = new Uint8Array(n);
    this.exBuf = new Uint8Array(n);
    this.sL = new Int32Array(n); this.sR = new Int32Array(n);
    this.row = new Uint32Array(n * ROW);
    keys.forEach((k, i) => {
      const set = (f: number, r: Range, inv: boolean): void => {
        const wild = inv || r.lo > r.hi;
        this.lo[f][i] = wild ? 0 : r.lo; this.hi[f][i] = wild ? FULL_HI[f] : r.hi;
      };
      set(0, k.src, k.srcInv);
      set(1, k.dst, k.dstInv);
      set(2, k.proto === null ? { lo: 0, hi: 255 } : { lo: k.proto, hi: k.proto }, k.protoInv);
      const cut = k.l4 && k.proto !== null && !k.protoInv && PORT_PROTOS.includes(k.proto);
      set(3, k.sport, k.sportInv || !cut);
      set(4, k.dport, k.dportInv || !cut);
      this.ifm[0][i] = k.iif >>> 0; this.ifm[1][i] = k.oif >>> 0;
      if (this.ifm[0][i] !== ALL_IFACES) this.ifUsed[0] = true;
      if (this.ifm[1][i] !== ALL_IFACES) this.ifUsed[1] = true;
      const o = i * ROW;
      for (let f = 0; f < NF; f++) { this.row[o + 2 * f] = this.lo[f][i]; this.row[o + 2 * f + 1] = this.hi[f][i]; }
      this.row[o + 10] = this.ifm[0][i]; this.row[o + 11] = this.ifm[1][i];
      // the columns are the exact key only without negations and with cut ports
      const plain = !k.srcInv && !k.dstInv && !k.protoInv && !k.sportInv && !k.dportInv
        && k.src.lo <= k.src.hi && k.dst.lo <= k.dst.hi && (!k.l4 || cut);
      this.final[i] = k.final && plain ? 1 : 0;
      this.exact[i] = (k.exact ?? k.final) && plain ? 1 : 0;
    });
  }

  /** Rule lists live in big shared buffers: a small typed array of its own costs more to make
   * (an off-heap backing store each) than the whole split that fills it. */
  private arena = new Int32Array(0);
  private arenaTop = 0;
  alloc(k: number): Int32Array {
    if (this.arenaTop + k > this.arena.length) { this.arena = new Int32Array(Math.max(1 << 18, k)); this.arenaTop = 0; }
    const a = this.arena.subarray(this.arenaTop, this.arenaTop + k);
    this.arenaTop += k;
    return a;
  }
  copy(src: ArrayLike<number>): Int32Array {
    const a = this.alloc(src.length);
    for (let i = 0; i < src.length; i++) a[i] = src[i];
    return a;
  }

  /** Enqueue a root over `rules` whose offset goes to words[slot]. */
  addRoot(rules: number[], slot: number, ports: boolean): void {
    this.budget += (this.opts.maxReplication ?? (this.n >= 50_000 ? 16 : 8)) * rules.length + 1024;
    this.frontier += rules.length;
    this.queue.push({
      rules: Int32Array.from(rules), lo: ZERO_LO.slice(), hi: FULL_HI.slice(), ifr: [ALL_IFACES, ALL_IFACES],
      depth: 0, slot, ports, leaf: false, hashFailedAt: undefined,
    });
  }

  run(): void {
    for (let it = this.queue.pop(); it; it = this.queue.pop()) this.node(it);
  }

  private timeUp(): boolean {
    if (this.expired) return true;
    if ((++this.ticks & 63) === 0 && performance.now() > this.deadline) { this.expired = true; this.stats.deadlineHit = true; }
    return this.expired;
  }

  /** Does rule r's (final) key cover the node's whole region? Then no packet here gets past it. */
  private covers(it: Item, r: number): boolean {
    const R = this.row, o = r * ROW;
    for (let f = 0; f < NF; f++) if (R[o + 2 * f] > it.lo[f] || R[o + 2 * f + 1] < it.hi[f]) return false;
    return ((R[o + 10] & it.ifr[0]) >>> 0) === (it.ifr[0] >>> 0) && ((R[o + 11] & it.ifr[1]) >>> 0) === (it.ifr[1] >>> 0);
  }

  /** The node's rules, ended at the first final rule covering its region (redundancy removal). */
  private trimmed(it: Item): Int32Array {
    const r = it.rules;
    if (it.leaf) return r;
    for (let i = 0; i < r.length - 1; i++) {
      if (this.final[r[i]] && this.covers(it, r[i])) { this.stats.truncated += r.length - i - 1; return r.subarray(0, i + 1); }
    }
    return r;
  }

  /** trimmed() for a hash entry's rules: the node's region with the T fields set to the key. */
  private trimmedPoint(it: Item, fs: number[], v: number[], r: ArrayLike<number>): ArrayLike<number> {
    for (let i = 0; i < r.length - 1; i++) {
      const x = r[i];
      if (!this.final[x] || !this.coversPoint(it, fs, v, x)) continue;
      this.stats.truncated += r.length - i - 1;
      return Array.prototype.slice.call(r, 0, i + 1) as number[];
    }
    return r;
  }

  /** covers() for a hash entry: the node's region with the fields fs set to the values v. */
  private coversPoint(it: Item, fs: number[], v: number[], x: number): boolean {
    if (((this.ifm[0][x] & it.ifr[0]) >>> 0) !== (it.ifr[0] >>> 0) || ((this.ifm[1][x] & it.ifr[1]) >>> 0) !== (it.ifr[1] >>> 0)) return false;
    for (let f = 0; f < NF; f++) {
      const j = fs.indexOf(f);
      const lo = j < 0 ? it.lo[f] : v[j], hi = j < 0 ? it.hi[f] : v[j];
      if (this.lo[f][x] > lo || this.hi[f][x] < hi) return false;
    }
    return true;
  }

  private leaf(it: Item): void {
    const r = this.trimmed(it);
    // the first rule matches every packet here: the core need not check it (NODE_LEAF_HIT)
    const kind = this.useHit && !it.leaf && r.length && this.exact[r[0]] && this.covers(it, r[0]) ? NODE_LEAF_HIT : NODE_LEAF;
    // identical leaves are stored once: a numeric digest of the list, then a word compare
    // (the loops over the list are in helpers: a loop here made V8 compile leaf() on-stack during
    // the first long leaf, before the code after the loop had run; that code then deoptimised at
    // every later entry, ~370 times per ClassBench ACL 10,000-rule build)
    const key = leafDigest(r);
    let off: number | undefined;
    const seen = it.leaf ? undefined : this.leafCache.get(key);
    if (seen) {
      for (const o of seen) {
        if (this.words[o + 1] !== r.length || this.words[o] !== kind) continue;
        if (sameList(this.words, o + 2, this.ruleIndex, r)) { off = o; break; }
      }
    }
    if (off === undefined) {
      off = this.words.length;
      pushLeaf(this.words, kind, this.ruleIndex, r);
      if (kind === NODE_LEAF_HIT) this.stats.hitLeaves++;
      if (!it.leaf) { if (seen) seen.push(off); else this.leafCache.set(key, [off]); }
      if (it.leaf) return void (this.words[it.slot] = off); // the truncated-L4 leaf: not in the tree's stats
      this.stats.leaves++;
      this.stats.leafWords += r.length;
      if (r.length > this.stats.largestLeaf) this.stats.largestLeaf = r.length;
    }
    this.words[it.slot] = off;
    if (it.depth > this.stats.depth) this.stats.depth = it.depth;
  }

  private child(parent: Item, rules: Int32Array, slot: number, lo: number[], hi: number[], ifr: number[]): void {
    this.queue.push({ rules, lo, hi, ifr, depth: parent.depth + 1, slot, ports: parent.ports, leaf: false, hashFailedAt: parent.hashFailedAt });
  }

  private node(it: Item): void {
    const m = it.rules.length;
    // Once one cut has been refused by the budget, the rest become leaves: nodes come largest
    // first, so later cuts almost never fit either (ClassBench ACL 10,000 rules: 5,500 of 12,100
    // scored cuts were refused after the first refusal, one accepted) and scoring them was ~20%
    // of the build.
    if (it.leaf || m <= this.binth || it.depth >= this.maxDepth || this.timeUp() || this.frontier >= this.budget || this.stats.budgetHit) { this.leaf(it); return; }
    if (this.useHash && m >= HASH_MIN_RULES && (it.hashFailedAt === undefined || 4 * m <= it.hashFailedAt)) {
      if (this.tryHash(it)) return;
      it.hashFailedAt = m;
    }
    if (this.trySplit(it)) return;
    this.leaf(it);
  }

  /** Accept a cut that turns m rules into children totalling `sum`? (replication budget) */
  private afford(m: number, sum: number): boolean {
    // (the flag is stored at every call: a store first reached when the budget ran out, mid-build,
    // had no type feedback and deoptimised trySplit, into which this is inlined)
    const over = this.frontier + sum - m > this.budget;
    this.stats.budgetHit = this.stats.budgetHit || over;
    if (over) return false;
    this.frontier += sum - m;
    return true;
  }

  private tryHash(it: Item): boolean {
    const rules = it.rules, m = rules.length;
    // exactness of each rule on the hashable fields still open at this node
    // (an array literal: the same array map at every call, for the optimised code)
    const open = [it.lo[0] !== it.hi[0], it.lo[1] !== it.hi[1], it.ports && it.lo[3] !== it.hi[3], it.ports && it.lo[4] !== it.hi[4]];
    // quick look at a sample: is some field exact in about half of the rules (a tuple needs half: see bestT below; 45% on the sample leaves room for sampling error)?
    {
      const st = m > 64 ? m / 64 : 1;
      let ok = false;
      for (let j = 0; j < 4 && !ok; j++) {
        if (!open[j]) continue;
        const RW = this.row, fo = 2 * HASH_FIELDS[j];
        let c = 0, t = 0;
        for (let x = 0; x < m; x += st, t++) { const o = rules[x | 0] * ROW + fo; c += +(RW[o] === RW[o + 1]); }
        ok = c * 20 >= t * 9;
      }
      if (!ok) return false;
    }
    // One pass: each rule's exactness bits on the open fields, and the count of rules covering
    // the node's range on every open field — wildcards of whatever tuple is chosen below (copied
    // into every entry): more than HASH_MAX_EXTRA of them and no tuple can pass (on ACL sets the
    // quick look passes at almost every node and this is where it fails, early).
    const cntE = this.cntE.fill(0);
    const ex = this.exBuf; // exactness bits of the node's i-th rule (scratch, reused)
    {
      let w = 0;
      const RW = this.row;
      const o0 = open[0], o1 = open[1], o2 = open[2], o3 = open[3];
      const L0 = it.lo[0], H0 = it.hi[0], L1 = it.lo[1], H1 = it.hi[1];
      const L3 = it.lo[3], H3 = it.hi[3], L4 = it.lo[4], H4 = it.hi[4];
      for (let i = 0; i < m; i++) {
        const o = rules[i] * ROW;
        const sl = RW[o], sh = RW[o + 1], dl = RW[o + 2], dh = RW[o + 3];
        const pl = RW[o + 6], ph = RW[o + 7], ql = RW[o + 8], qh = RW[o + 9];
        let e = 0, full = true;
        if (o0) { if (sl === sh) e |= 1; if (sl > L0 || sh < H0) full = false; }
        if (o1) { if (dl === dh) e |= 2; if (dl > L1 || dh < H1) full = false; }
        if (o2) { if (pl === ph) e |= 4; if (pl > L3 || ph < H3) full = false; }
        if (o3) { if (ql === qh) e |= 8; if (ql > L4 || qh < H4) full = false; }
        if (full && ++w > HASH_MAX_EXTRA) return false;
        ex[i] = e; cntE[e]++;
      }
    }
    let bestT = 0, bestC = 0;
    for (let T = 1; T < 16; T++) {
      let c = 0;
      for (let e = 0; e < 16; e++) if ((e & T) === T) c += cntE[e];
      if (c < HASH_MIN_RULES || c * 2 < m) continue;
      if (c > bestC || (c === bestC && popcount(T) > popcount(bestT))) { bestC = c; bestT = T; }
    }
    if (!bestT) return false;
    return this.hashNode(it, bestT, bestC);
  }

  /** The rest of tryHash once a tuple T is chosen (exactness bits in exBuf). A method of its own:
   * it runs at a few nodes (3 on ClassBench ACL 10,000 rules) while the gate above runs at most
   * of them, and one function holding both took V8 30-70 ms to optimise, during the first build. */
  private hashNode(it: Item, T: number, bestC: number): boolean {
    const rules = it.rules, m = rules.length;
    const ex = this.exBuf;
    const fs = HASH_FIELDS.filter((_, j) => T & (1 << j));
    // One port in the tuple: the protocol goes into the same key word (HASH_COL_PROTO), so tcp and
    // udp rules of one port are separate entries and an entry's first rule can be decided by the
    // probe (NODE_LEAF_HIT; kube-proxy's `-d VIP -p tcp --dport P`). A rule exact on a port is
    // exact on a port protocol (the builder's ports are wild otherwise). kf: the key's fields.
    const foldProto = ((T & 4) !== 0) !== ((T & 8) !== 0);
    const kf = foldProto ? [...fs, 2] : fs;
    // the non-exact rules: wildcards on T go to every entry (few allowed), partial ones to the
    // entries they contain; cheap rejections first
    const wild: number[] = [], partial: number[] = [];
    for (let i = 0; i < m; i++) {
      if ((ex[i] & T) === T) continue;
      const r = rules[i];
      let full = true;
      for (const f of fs) if (this.lo[f][r] > it.lo[f] || this.hi[f][r] < it.hi[f]) { full = false; break; }
      (full ? wild : partial).push(r);
    }
    if (wild.length > HASH_MAX_EXTRA) return false;
    if (bestC * partial.length > 8_000_000) return false;
    // group the exact rules by their tuple, in rule order
    const groups = new Map<string | number, { v: number[]; rules: number[] }>();
    const rest: number[] = [];
    for (let i = 0; i < m; i++) {
      const r = rules[i];
      if ((ex[i] & T) !== T) { rest.push(r); continue; }
      // numeric key while the tuple fits a double exactly (daddr+dport+protocol: 50 bits, the
      // protocol as its index in PORT_PROTOS), else a string
      let k: number | string = 0, bits = 0;
      for (const f of kf) {
        const w = f >= 3 ? 16 : f === 2 ? 2 : 32;
        if (bits + w > 53) { k = kf.map((x) => this.lo[x][r]).join(','); break; }
        const v = this.lo[f][r];
        k = (k as number) * (w === 16 ? 65536 : w === 2 ? 4 : 4294967296) + (f === 2 ? (v === 6 ? 0 : v === 17 ? 1 : 2) : v); bits += w;
      }
      let g = groups.get(k);
      if (!g) {
        // values as doubles whatever their size (one elements kind: see ZERO_LO)
        const v = ZERO_LO.slice(0, kf.length);
        for (let j = 0; j < kf.length; j++) v[j] = this.lo[kf[j]][r];
        g = { v, rules: [] }; groups.set(k, g);
      }
      g.rules.push(r);
    }
    const D = groups.size;
    if (D < HASH_MIN_KEYS) return false;
    if (D * partial.length > 1_000_000) return false;
    const gl = [...groups.values()];
    const NONE: number[] = [];
    const extra: number[][] = gl.map(() => NONE);
    let extraSum = 0;
    if (partial.length) {
      for (let g = 0; g < gl.length; g++) {
        const v = gl[g].v;
        for (const r of partial) {
          let inside = true;
          for (let j = 0; j < kf.length; j++) { const f = kf[j]; if (v[j] < this.lo[f][r] || v[j] > this.hi[f][r]) { inside = false; break; } }
          if (inside) { if (extra[g] === NONE) extra[g] = []; extra[g].push(r); }
        }
        extraSum += extra[g].length;
        if (extraSum + D * wild.length > HASH_MAX_EXTRA * D) return false;
      }
    }
    if (extraSum + D * wild.length > HASH_MAX_EXTRA * D) return false;
    let sum = rest.length;
    const childRules: ArrayLike<number>[] = gl.map((g, i) => {
      const a = g.rules;
      const out = wild.length || extra[i].length ? mergeSorted(a, extra[i].length ? mergeSorted(wild, extra[i]) : wild) : a;
      sum += out.length;
      return out;
    });
    if (!this.afford(m, sum)) return false;
    // emit [NODE_HASH, cols, portMask, size, default, ncols, stride, entries...]; entries whose
    // child is a leaf of at most INLINE_MAX rules hold it in place (one cache miss less per packet)
    let cols = 0, portMask = 0;
    if (T & 1) cols |= HASH_COL_SADDR;
    if (T & 2) cols |= HASH_COL_DADDR;
    if (T & 4) { cols |= HASH_COL_PORTS; portMask |= 0xffff0000; }
    if (T & 8) { cols |= HASH_COL_PORTS; portMask |= 0x0000ffff; }
    const ncols = popcount(cols);
    if (foldProto) cols |= HASH_COL_PROTO;
    // any table size (not a power of two): the slot is hashSlot(h, size), so the load factor stays
    // near hashLoad instead of jumping between 0.37 and 0.75
    const size = Math.max(4, Math.ceil(D / (this.hashLoad || 0.5)));
    const inl = gl.map((g, i) => (childRules[i].length <= Math.min(INLINE_MAX, this.binth) ? this.trimmedPoint(it, kf, g.v, childRules[i]) : null));
    let maxInline = 0;
    for (const x of inl) if (x && x.length > maxInline) maxInline = x.length;
    const stride = ncols + 1 + (maxInline ? 2 + maxInline : 0);
    const at = this.words.length;
    this.words[it.slot] = at;
    this.words.push(NODE_HASH, cols, portMask | 0, size, 0, ncols, stride);
    const tbl = at + HASH_HDR;
    // zeros in chunks (a push per word was the kube-proxy build's hottest line)
    for (let left = size * stride; left > 0; left -= ZEROS.length) {
      if (left >= ZEROS.length) Array.prototype.push.apply(this.words, ZEROS);
      else for (let i = 0; i < left; i++) this.words.push(0);
    }
    this.stats.nodes++; this.stats.hashNodes++;
    this.child(it, this.copy(rest), at + 4, it.lo, it.hi, it.ifr);
    const j0 = kf.indexOf(0), j1 = kf.indexOf(1), j2 = kf.indexOf(2), j3 = kf.indexOf(3), j4 = kf.indexOf(4);
    gl.forEach((g, i) => {
      const v = g.v;
      const a = j0 >= 0 ? v[j0] : 0;
      const b = j1 >= 0 ? v[j1] : 0;
      let c = (cols & HASH_COL_PORTS) ? ((((j3 >= 0 ? v[j3] : 0) << 16) | (j4 >= 0 ? v[j4] : 0)) & portMask) >>> 0 : 0;
      if (foldProto) c = (c | (portMask & 0xffff ? v[j2] << 16 : v[j2])) >>> 0;
      let idx = hashSlot(hashKey(a, b, c), size);
      while (this.words[tbl + idx * stride + ncols] !== 0) if (++idx === size) idx = 0;
      const e = tbl + idx * stride;
      let w = 0;
      if (cols & HASH_COL_SADDR) this.words[e + w++] = a | 0;
      if (cols & HASH_COL_DADDR) this.words[e + w++] = b | 0;
      if (cols & HASH_COL_PORTS) this.words[e + w++] = c | 0;
      const x = inl[i];
      if (x) {
        const l = e + ncols + 1;
        this.words[e + ncols] = l;
        const hit = this.useHit && x.length > 0 && this.exact[x[0]] && this.coversPoint(it, kf, g.v, x[0]);
        if (hit) this.stats.hitLeaves++;
        this.words[l] = hit ? NODE_LEAF_HIT : NODE_LEAF; this.words[l + 1] = x.length;
        for (let j = 0; j < x.length; j++) this.words[l + 2 + j] = this.ruleIndex[x[j]];
        this.stats.leaves++; this.stats.leafWords += x.length;
        if (x.length > this.stats.largestLeaf) this.stats.largestLeaf = x.length;
        if (it.depth + 1 > this.stats.depth) this.stats.depth = it.depth + 1;
        return;
      }
      this.words[e + ncols] = -1; // occupied; patched with the child offset
      const lo = it.lo.slice(), hi = it.hi.slice();
      for (let j = 0; j < kf.length; j++) { lo[kf[j]] = g.v[j]; hi[kf[j]] = g.v[j]; }
      this.child(it, this.copy(childRules[i]), e + ncols, lo, hi, it.ifr);
    });
    return true;
  }

  /** Best range cut of the node by the score below, its counts taken over every st-th rule. */
  cutF = -1; cutT = 0.5; cutScore = Infinity; // (cutT a double from the start: see ZERO_LO)
  private rangeCut(it: Item, st: number): void {
    const rules = it.rules, m = rules.length;
    this.cutF = -1; this.cutT = 0; this.cutScore = Infinity;
    const step = m > SAMPLE ? m / SAMPLE : 1;
    const cand = this.cand;
    for (let f = 0; f < NF; f++) {
      if ((f === 3 || f === 4) && !it.ports) continue;
      const RL = it.lo[f], RH = it.hi[f];
      if (RL === RH) continue;
      const RW = this.row, fo = 2 * f;
      let nc = 0;
      for (let s = 0; s < m; s += step) {
        const o = rules[s | 0] * ROW + fo;
        const l = RW[o], h = RW[o + 1];
        if (l > RL && l <= RH) cand[nc++] = l;
        if (h < RH && h >= RL) cand[nc++] = h + 1;
      }
      if (!nc) continue;
      // median and quartiles of the sampled endpoints (at most 2 × 17 of them: an insertion sort
      // beat three quickselects by ~35 % at this size, and typed-array sort costs more than the
      // whole rest of a node; order statistics, so the same values whatever the method)
      const q2 = nc >> 1, q1 = nc >> 2, q3 = (3 * nc) >> 2;
      sortSmall(cand, nc);
      const t0 = cand[q2], t1 = cand[q1], t2 = cand[q3];
      const ts = this.ts, nL = this.nL, nR = this.nR;
      ts[0] = t0; ts[1] = t1; ts[2] = t2;
      let l0 = 0, l1 = 0, l2 = 0, r0 = 0, r1 = 0, r2 = 0, cnt = 0;
      for (let x = 0; x < m; x += st, cnt++) {
        const o = rules[x | 0] * ROW + fo, l = RW[o], h = RW[o + 1];
        // branch-free: the outcomes are coin tosses
        l0 += +(l < t0); r0 += +(h >= t0);
        l1 += +(l < t1); r1 += +(h >= t1);
        l2 += +(l < t2); r2 += +(h >= t2);
      }
      nL[0] = l0; nL[1] = l1; nL[2] = l2; nR[0] = r0; nR[1] = r1; nR[2] = r2;
      const k = m / cnt;
      for (let c = 0; c < 3; c++) {
        if (nL[c] === 0 || nR[c] === 0) continue;
        const eL = nL[c] * k, eR = nR[c] * k, mx = Math.max(eL, eR);
        if (mx >= m) continue;
        const dup = eL + eR - m;
        if (dup > this.maxDup * m) continue;
        const score = mx + this.dupWeight * dup;
        if (score < this.cutScore) { this.cutScore = score; this.cutF = f; this.cutT = ts[c]; }
      }
    }
  }

  /** The best interface cut of the node scoring below bestScore, or null. */
  private ifaceCut(it: Item, st: number, bestScore: number): { g: number; classes: number[]; sum: number } | null {
    // interface dispatch: classes of interface bits that the node's rules cannot tell apart
    let ifBest: { g: number; classes: number[]; sum: number } | null = null;
    const rules = it.rules, m = rules.length;
    for (let g = 0; g < 2; g++) {
      const R = it.ifr[g] >>> 0;
      if (!this.ifUsed[g] || popcount(R) <= 1) continue;
      const M = this.ifm[g];
      // rules that accept every interface left here do not tell interfaces apart; with few
      // per-interface rules, either side keeps more than 3/4 of the node: not worth it
      // (counted on a sample of EXACT_M rules: this gate ran a full pass over every node's rules
      // for each interface field and was the builder's hottest loop on ACL sets)
      let np = 0, ns = 0;
      const RW = this.row, go = 10 + g;
      for (let x = 0; x < m; x += st, ns++) if (((RW[rules[x | 0] * ROW + go] & R) >>> 0) !== R) np++;
      if (np * 4 < ns) continue;
      const partial: number[] = [];
      for (let i = 0; i < m; i++) if (((M[rules[i]] & R) >>> 0) !== R) partial.push(rules[i]);
      const sa = new Int32Array(32), sb = new Int32Array(32);
      for (const r of partial) {
        let bits = (M[r] & R) >>> 0;
        while (bits) {
          const b = 31 - Math.clz32(bits); bits = (bits & ~(1 << b)) >>> 0;
          sa[b] = Math.imul(sa[b] ^ (r + 1), 0x9e3779b1) + 1; sb[b] = Math.imul(sb[b] + r + 7, 0x85ebca77) ^ (sb[b] >>> 13);
        }
      }
      // signature of a bit = the partial rules accepting it (two 32-bit mixes in one exact double;
      // a collision would only merge two classes, which still yields correct supersets)
      const cls = new Map<number, number>();
      for (let b = 0; b < 32; b++) if ((R >>> b) & 1) { const k = (sa[b] >>> 0) + (sb[b] & 0x1fffff) * 4294967296; cls.set(k, (cls.get(k) ?? 0) | (1 << b)); }
      // (class masks as signed 32-bit integers: small integers for V8 whatever bit 31; the cut
      // below makes them unsigned)
      if (cls.size < 2) continue;
      // binary cuts of the interface classes (as HyperSplit cuts a range): one class against the
      // rest, and a balanced half, scored like range splits
      const classes = [...cls.values()];
      const full = m - partial.length;
      const cnt = classes.map((cm) => { let c = 0; for (const r of partial) if (M[r] & cm) c++; return c; });
      const options: number[] = classes.slice();
      // class indices by count, descending, ties in index order (a stable sort; by hand, ≤ 32
      // classes: Array.prototype.sort with a comparator deoptimised this method)
      const order: number[] = [];
      for (let i = 0; i < classes.length; i++) {
        let j = order.length;
        order.push(i);
        while (j > 0 && cnt[order[j - 1]] < cnt[i]) { order[j] = order[j - 1]; j--; }
        order[j] = i;
      }
      let half = 0, acc = 0;
      for (const i of order) { if (acc * 2 >= partial.length) break; half |= classes[i]; acc += cnt[i]; }
      options.push(half | 0);
      for (const left of options) {
        const right = (R & ~left) >>> 0;
        if (!left || !right) continue;
        let nL = full, nR = full;
        for (const r of partial) { if (M[r] & left) nL++; if (M[r] & right) nR++; }
        const mx = Math.max(nL, nR), dup = nL + nR - m;
        if (mx >= m || dup > this.maxDup * m) continue;
        const score = mx + this.dupWeight * dup;
        if (score < bestScore) { bestScore = score; ifBest = { g, classes: [left >>> 0, right], sum: nL + nR }; }
      }
    }
    return ifBest;
  }

  private emitIface(it: Item, ifBest: { g: number; classes: number[]; sum: number }): boolean {
    const rules = it.rules, m = rules.length;
    if (!this.afford(m, ifBest.sum)) return false;
    const M = this.ifm[ifBest.g];
    const kids = ifBest.classes.map((cm) => { const out: number[] = []; for (let i = 0; i < m; i++) if (M[rules[i]] & cm) out.push(rules[i]); return this.copy(out); });
    const at = this.words.length;
    this.words[it.slot] = at;
    this.words.push(NODE_IFACE, ifBest.g);
    for (let b = 0; b < 32; b++) this.words.push(0);
    this.stats.nodes++; this.stats.ifaceNodes++;
    ifBest.classes.forEach((cm, c) => {
      const slot = at + 2 + (31 - Math.clz32(cm));
      const ifr = it.ifr.slice(); ifr[ifBest!.g] = cm;
      this.child(it, kids[c], slot, it.lo, it.hi, ifr);
      for (let b = 0; b < 32; b++) if ((cm >>> b) & 1) this.words[at + 2 + b] = -1 - slot; // alias, resolved below
    });
    this.aliases.push(at);
    return true;
  }

  private trySplit(it: Item): boolean {
    const rules = it.rules, m = rules.length;
    // Candidates: quartiles of a sample of the node's endpoints, per field. Above EXACT_M rules
    // they are scored on a sample of EXACT_M rules and the winner is checked exactly by the
    // partition itself (scoring three candidates per field exactly cost 3 passes over the node;
    // the partition is one).
    const st = m > EXACT_M ? m / EXACT_M : 1;
    this.rangeCut(it, st);
    let best = this.cutF, bestScore = this.cutScore, bestT = this.cutT;
    // interface dispatch (its own methods: a deoptimisation there, on firewall sets with -i/-o,
    // made V8 throw away and recompile the whole of trySplit)
    const ifBest = this.ifUsed[0] || this.ifUsed[1] ? this.ifaceCut(it, st, bestScore) : null;
    if (ifBest) return this.emitIface(it, ifBest);
    if (best < 0) return false;
    const RW = this.row, fo = 2 * best;
    const sL = this.sL, sR = this.sR;
    let a = 0, b = 0;
    for (let i = 0; i < m; i++) {
      const r = rules[i], o = r * ROW + fo;
      // branch-free partition (which side a rule goes to is a coin toss)
      sL[a] = r; a += +(RW[o] < bestT);
      sR[b] = r; b += +(RW[o + 1] >= bestT);
    }
    // the sampled estimate can be wrong: the exact counts must still make progress, else the
    // candidates are scored again exactly (rare)
    if (a === 0 || b === 0 || a >= m || b >= m || a + b - m > this.maxDup * m) {
      if (st === 1) return false;
      this.rangeCut(it, 1);
      if (this.cutF < 0) return false;
      const RX = this.row, fx = 2 * this.cutF, tx = this.cutT;
      best = this.cutF; bestT = tx; a = 0; b = 0;
      for (let i = 0; i < m; i++) {
        const r = rules[i], o = r * ROW + fx;
        sL[a] = r; a += +(RX[o] < tx);
        sR[b] = r; b += +(RX[o + 1] >= tx);
      }
    }
    if (!this.afford(m, a + b)) return false;
    const left = this.alloc(a), right = this.alloc(b);
    left.set(sL.subarray(0, a)); right.set(sR.subarray(0, b));
    const at = this.words.length;
    this.words[it.slot] = at;
    this.words.push(NODE_SPLIT_SADDR + best, bestT | 0, 0, 0);
    this.stats.nodes++;
    const llo = it.lo, lhi = it.hi.slice(), rlo = it.lo.slice(), rhi = it.hi;
    lhi[best] = bestT - 1; rlo[best] = bestT;
    this.child(it, left, at + 2, llo, lhi, it.ifr);
    this.child(it, right, at + 3, rlo, rhi, it.ifr);
    return true;
  }

  /** NODE_IFACE nodes whose bit slots still hold aliases (-1 - slot of the class's first bit). */
  aliases: number[] = [];
  resolveAliases(): void {
    for (const at of this.aliases) {
      for (let b = 0; b < 32; b++) {
        const w = this.words[at + 2 + b];
        if (w < 0) this.words[at + 2 + b] = this.words[-1 - w];
      }
      // bits no packet can bring here: any child will do
      const any = this.words.slice(at + 2, at + 34).find((w) => w > 0) ?? 0;
      for (let b = 0; b < 32; b++) if (this.words[at + 2 + b] === 0) this.words[at + 2 + b] = any;
    }
  }
}

/**
 * The same block with its nodes in depth-first order: nodes are built best first (largest
 * pending node next), which stores a deep node far from its parent; in depth-first order a node's
 * first child follows it, often in the same cache line, and a subtree's nodes are close together.
 * Shared leaves stay shared (stored where first reached).
 */
function relayout(w: number[]): number[] {
  // (sized once: the moved nodes never take more words than the block; pushes to a growing array
  // and a Map of offsets were a tenth of the ACL 10,000-rule build)
  const out: number[] = new Array<number>(w.length).fill(0);
  let top = 0;
  const moved = new Int32Array(w.length).fill(-1); // old offset -> new offset
  // explicit stack of [old node offset, new slot to patch]
  const stack: number[] = [0, -1];
  while (stack.length) {
    const slot = stack.pop()!, at = stack.pop()!;
    const seen = moved[at];
    if (seen >= 0) { out[slot] = seen; continue; }
    const k = w[at], n = top;
    moved[at] = n;
    if (slot >= 0) out[slot] = n;
    let size: number;
    const kids: number[] = []; // word indices within the node holding child offsets
    if (k === NODE_LEAF || k === NODE_LEAF_HIT) size = 2 + w[at + 1];
    else if (k === NODE_ROOT) { size = 4; kids.push(1, 2, 3); }
    else if (k >= NODE_SPLIT_SADDR) { size = 4; kids.push(2, 3); }
    else if (k === NODE_IFACE) { size = 34; for (let b = 0; b < 32; b++) kids.push(2 + b); }
    else if (k === NODE_HASH) {
      const tsize = w[at + 3], ncols = w[at + 5], stride = w[at + 6];
      size = HASH_HDR + tsize * stride;
      kids.push(4);
      for (let e = 0; e < tsize; e++) {
        const c = HASH_HDR + e * stride + ncols, ch = w[at + c];
        if (ch === 0) continue;
        if (ch > at && ch < at + size) continue; // inline leaf: moves with the node, patched below
        kids.push(c);
      }
    } else throw new Error(`relayout: node kind ${k} at ${at}`);
    for (let i = 0; i < size; i++) out[top++] = w[at + i];
    if (k === NODE_HASH) {
      // inline leaves are inside the node: same relative place
      const tsize = w[at + 3], ncols = w[at + 5], stride = w[at + 6];
      for (let e = 0; e < tsize; e++) {
        const c = HASH_HDR + e * stride + ncols, ch = w[at + c];
        if (ch > at && ch < at + size) out[n + c] = ch - at + n;
      }
    }
    // children pushed last-first so that the first child is laid out right after this node
    for (let i = kids.length - 1; i >= 0; i--) stack.push(w[at + kids[i]], n + kids[i]);
  }
  out.length = top;
  return out;
}

/** Numeric digest of a leaf's rule list (small integer key; equal ones are compared by words). */
function leafDigest(r: Int32Array): number {
  let h1 = r.length, h2 = 0x9e3779b9;
  for (let i = 0; i < r.length; i++) { h1 = Math.imul(h1 ^ r[i], 0x85ebca6b) + 1; h2 = Math.imul(h2 + r[i], 0xc2b2ae35) ^ (h2 >>> 15); }
  return (h1 ^ Math.imul(h2, 31)) & 0x3fffffff;
}
/** words[at..] holds the image indices of the rules r? */
function sameList(words: number[], at: number, ruleIndex: number[], r: Int32Array): boolean {
  for (let i = 0; i < r.length; i++) if (words[at + i] !== ruleIndex[r[i]]) return false;
  return true;
}
function pushLeaf(words: number[], kind: number, ruleIndex: number[], r: Int32Array): void {
  words.push(kind, r.length);
  for (let i = 0; i < r.length; i++) words.push(ruleIndex[r[i]]);
}

function objectArray<T>(): T[] {
  const a = [null as unknown as T];
  a.pop();
  return a;
}

/** Max-heap of pending nodes by rule count; ties in insertion order (deterministic output). */
class Heap {
  /** (starts as an array of objects: a fresh `[]` holds small integers until the first push, and
   * that push deoptimised the builder code it was inlined into, once per build) */
  private a: Item[] = objectArray<Item>();
  private seq: number[] = [];
  /** rules.length of a[i], kept beside it: comparing through the items was a pointer chase per
   * comparison (the heap's compare was the build's hottest line at 10,000 rules). */
  private key: number[] = [];
  private n = 0;
  private before(i: number, j: number): boolean {
    const x = this.key[i], y = this.key[j];
    return x > y || (x === y && this.seq[i] < this.seq[j]);
  }
  private swap(i: number, j: number): void {
    const t = this.a[i]; this.a[i] = this.a[j]; this.a[j] = t;
    const u = this.seq[i]; this.seq[i] = this.seq[j]; this.seq[j] = u;
    const k = this.key[i]; this.key[i] = this.key[j]; this.key[j] = k;
  }
  push(it: Item): void {
    let i = this.a.length;
    this.a.push(it); this.seq.push(this.n++); this.key.push(it.rules.length);
    while (i > 0) { const p = (i - 1) >> 1; if (!this.before(i, p)) break; this.swap(i, p); i = p; }
  }
  pop(): Item | undefined {
    if (!this.a.length) return undefined;
    const top = this.a[0];
    const last = this.a.length - 1;
    this.swap(0, last); this.a.pop(); this.seq.pop(); this.key.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let b = i;
      if (l < this.a.length && this.before(l, b)) b = l;
      if (r < this.a.length && this.before(r, b)) b = r;
      if (b === i) break;
      this.swap(i, b); i = b;
    }
    return top;
  }
}

/** Sorts a[0..n) ascending (insertion sort: n is at most a few dozen). */
function sortSmall(a: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const x = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > x) { a[j + 1] = a[j]; j--; }
    a[j + 1] = x;
  }
}

function mergeSorted(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  let i = 0, j = 0;
  while (i < a.length && j < b.length) out.push(a[i] <= b[j] ? a[i++] : b[j++]);
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}

/**
 * Build a chain's decision structure. `keys[i]` is the key of the chain's i-th rule and
 * `ruleIndex[i]` its index in the image rule table (ascending); leaves hold those indices.
 */
export function buildTree(keys: RuleKey[], ruleIndex: number[], opts: TreeOpts = {}): { words: number[]; stats: TreeStats } {
  const t0 = performance.now();
  const n = keys.length;
  const binth = Math.max(1, opts.binth ?? DEFAULT_BINTH);
  if (n <= binth) {
    const lt = linearTree(n, ruleIndex);
    lt.stats.buildMs = performance.now() - t0;
    return lt;
  }
  const b = new Builder(keys, ruleIndex, n, opts, t0);
  b.words.push(NODE_ROOT, 0, 0, 0);
  const main: number[] = [], frag: number[] = [], all: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    if (k.frag !== 1) main.push(i);
    if (!k.l4 && k.frag !== 2) frag.push(i);
    all.push(i);
  }
  b.addRoot(main, 1, true);
  b.addRoot(frag, 2, false);
  // Every rule, in one leaf, for the rare packets whose L4 matches act whatever the ports: a first
  // fragment without its L4 header (tcp/udp/sctp matches hotdrop) and a TCP fragment at offset 1
  // (tcp_mt hotdrops it, "evil TCP offset=1 frag"). Truncated captures and attacks only.
  b.budget += n;
  b.queue.push({ rules: Int32Array.from(all), lo: ZERO_LO.slice(), hi: FULL_HI.slice(), ifr: [ALL_IFACES, ALL_IFACES], depth: 0, slot: 3, ports: false, leaf: true, hashFailedAt: undefined });
  b.run();
  b.resolveAliases();
  // (not for a lone hash node: its entries hold their leaves, nothing to bring closer)
  if ((opts.relayout ?? true) && b.stats.nodes > b.stats.hashNodes) b.words = relayout(b.words);
  const s = b.stats;
  const kind: TreeStats['kind'] = s.hashNodes ? (s.nodes > s.hashNodes ? 'hash+tree' : 'hash') : 'tree';
  return {
    words: b.words,
    stats: {
      kind, rules: n, depth: s.depth, nodes: s.nodes, hashNodes: s.hashNodes, ifaceNodes: s.ifaceNodes, leaves: s.leaves,
      largestLeaf: s.largestLeaf, replication: n ? s.leafWords / n : 0, truncated: s.truncated, hitLeaves: s.hitLeaves, words: b.words.length,
      bytes: b.words.length * 4, buildMs: performance.now() - t0, budgetHit: s.budgetHit,
      deadlineHit: s.deadlineHit,
    },
  };
}

/** Partitioning pays from this many rules when the smaller groups hold at least 1/20 of them
 * (ClassBench FW, JS walk of the bench's packets, rules checked to the first match: 1,000 rules
 * 18.4 -> 8.5, 3,000 41 -> 7.5, 10,000 123 -> 7.1, for 6-13 more nodes walked; 500: 10.2 -> 8.2,
 * not worth a second walk), and from MULTI_MIN_RULES_FEW rules whatever their share (ClassBench
 * ACL, where 1.3 % of the rules are wild in daddr: 10,000 rules 11.5 -> 9.3 checks for 1.3 more
 * nodes, no gain; 30,000 32 -> 9.2; 100,000 41 -> 7.6). */
export const MULTI_MIN_RULES = 1000;
const MULTI_MIN_RULES_FEW = 16384;
const MINOR_BINTH = 2;
/** An address field is "wild" for the partition when it spans at least 2^24 addresses (a prefix
 * shorter than /8, or negated). Measured on ClassBench ACL 100,000 (JS walk, bench packets): a
 * threshold of /8 gives 7.6 rules checked to the first match and 26 nodes walked over the three
 * structures; /16 18 checks (the /8../15 rules in the wild groups replicate there); /24 39. */
const WILD_SPAN = 0x1000000;

/**
 * A chain's structure: one (buildTree) or, when it pays, several over a partition of the rules
 * (NODE_MULTI), EffiCuts-style (Vamanan, Voskuilen and Vijaykumar, SIGCOMM 2010).
 *
 * Why. One structure with one leaf per packet must list in each leaf every rule whose box meets
 * the leaf's region; a few rules wild in the destination crossing the many rules wild in the
 * source force replication that grows with the product of the two families, and the replication
 * budget then stops the cutting with long leaves (ClassBench ACL 100,000: budget-bound at 17.7×,
 * leaves of 68 rules, 41 checked per packet, 0.72–0.84 µs). EffiCuts' remedy: separate the rules
 * by which fields are wild and build one structure per group, so that no structure cuts a field
 * its rules are wild in. Here the groups are by address wildness only (the fields that carry the
 * ClassBench/firewall families; ports and protocol are few distinct values that cut cheaply):
 * 'dst' (daddr specific), 'src' (daddr wild, saddr specific), 'wild' (both wild). On the same
 * 100,000 rules: replication 3.7 without hitting the budget, 5.8 + 5.7 + 1 candidates per packet,
 * 7.6 checked to the first match. Each structure is still a HyperSplit/TupleMerge hybrid
 * (buildTree). TupleMerge (Daly and Torng, ANCS 2017) also partitions, into tuple-space tables
 * probed in priority order with early exit; it was not chosen because its early exit needs a
 * terminal first match, which netfilter does not have (LOG, jumps that RETURN, counters and
 * residual matches make the walk go on), and because the existing builder gives each group a
 * hash node where the group is exact.
 *
 * How the core merges: classify each structure, then walk the K leaves' rule indices merged in
 * ascending order (assembly/interp.ts), so first-match order, counters, jumps and RETURN are those
 * of one leaf holding the union (the groups are disjoint). The cost is K walks instead of one,
 * so partitioning is only used where the checks it saves are measured to outweigh them (see
 * MULTI_MIN_RULES) and when the smaller groups hold more rules than a hash entry copies anyway
 * (kube-proxy's KUBE-SERVICES: one wild rule at the end, which the hash node copies into every
 * entry: one structure).
 */
export function buildChain(keys: RuleKey[], ruleIndex: number[], opts: TreeOpts = {}): { words: number[]; stats: TreeStats } {
  const n = keys.length;
  // NFREPLAY_TREE_MULTI=force|off: the same choice for compiles that do not pass options (the
  // engine's end-to-end tests of partitioned chains on small rulesets)
  const env = typeof process !== 'undefined' ? process.env.NFREPLAY_TREE_MULTI : undefined;
  if (opts.multi === undefined && (env === 'force' || env === 'off')) opts = { ...opts, multi: env === 'force' ? 'force' : false };
  const force = opts.multi === 'force';
  if (opts.multi === false || (!force && n < MULTI_MIN_RULES)) return buildTree(keys, ruleIndex, opts);
  // the core merges the leaves by rule index: that is chain order only if the indices ascend
  for (let i = 1; i < n; i++) if (ruleIndex[i] <= ruleIndex[i - 1]) return buildTree(keys, ruleIndex, opts);
  const t0 = performance.now();
  const wild = (r: Range, inv: boolean): boolean => inv || r.lo > r.hi || r.hi - r.lo >= WILD_SPAN;
  const names = ['dst', 'src', 'wild'];
  const parts: number[][] = [[], [], []];
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    parts[!wild(k.dst, k.dstInv) ? 0 : !wild(k.src, k.srcInv) ? 1 : 2].push(i);
  }
  // A handful of rules wild in both (a default rule) join the 'src' group rather than make a
  // structure of their own (a lone leaf: one more leaf to merge for every packet)
  if (parts[2].length <= 4 && parts[1].length > 0) {
    parts[1] = mergeSorted(parts[1], parts[2]);
    parts[2] = [];
    names[1] = 'src+wild';
  }
  const used = parts.map((p, g) => ({ p, g })).filter((x) => x.p.length > 0);
  const minor = n - Math.max(...parts.map((p) => p.length));
  if (used.length < 2 || (!force && (minor <= HASH_MAX_EXTRA || (n < MULTI_MIN_RULES_FEW && minor * 20 < n)))) return buildTree(keys, ruleIndex, opts);
  const K = used.length;
  if (K > MULTI_MAX) throw new Error('buildChain: too many groups');
  const words: number[] = [NODE_MULTI, K];
  for (let i = 0; i < K; i++) words.push(0);
  const trees: TreeStats[] = [];
  // The smaller groups' structures cut down to leaves of MINOR_BINTH rules: every candidate they
  // add is merged in and checked, and they are small (ClassBench ACL 100,000, JS walk: 1,265
  // rules in the 'src' group, 5.7 -> 1.8 of its rules per packet, 7.6 -> 5.4 checked to the first
  // match, for 1.6 more nodes walked and 17 KB).
  const largest = used.reduce((a, x) => (x.p.length > a.p.length ? x : a), used[0]);
  for (let i = 0; i < K; i++) {
    const { p, g } = used[i];
    const o = used[i] === largest ? opts : { ...opts, binth: Math.min(opts.binth ?? DEFAULT_BINTH, MINOR_BINTH) };
    const t = buildTree(p.map((j) => keys[j]), p.map((j) => ruleIndex[j]), o);
    words[2 + i] = words.length;
    for (let j = 0; j < t.words.length; j++) words.push(t.words[j]);
    t.stats.group = names[g];
    trees.push(t.stats);
  }
  let depth = 0, nodes = 0, hashNodes = 0, ifaceNodes = 0, leaves = 0, largestLeaf = 0, leafRules = 0, truncated = 0;
  for (const t of trees) {
    depth = Math.max(depth, t.depth); nodes += t.nodes; hashNodes += t.hashNodes; ifaceNodes += t.ifaceNodes;
    leaves += t.leaves; largestLeaf = Math.max(largestLeaf, t.largestLeaf); leafRules += t.replication * t.rules;
    truncated += t.truncated;
  }
  return {
    words,
    stats: {
      kind: 'multi', rules: n, depth, nodes, hashNodes, ifaceNodes, leaves, largestLeaf,
      replication: n ? leafRules / n : 0, truncated, words: words.length, bytes: words.length * 4,
      buildMs: performance.now() - t0, budgetHit: trees.some((t) => t.budgetHit),
      deadlineHit: trees.some((t) => t.deadlineHit), trees,
    },
  };
}

/** The leaves of a chain's block for a packet (JS walk): one for a tree or a lone leaf, K for
 * NODE_MULTI (word offsets relative to `words`' start). */
export function leavesJs(words: ArrayLike<number>, base: number, p: KeyPacket): number[] {
  if (words[base] === NODE_LEAF) return [base];
  if (words[base] !== NODE_MULTI) return [classifyJs(words, base, p)];
  const out: number[] = [];
  for (let i = 0; i < words[base + 1]; i++) {
    const b = base + words[base + 2 + i];
    out.push(words[b] === NODE_LEAF ? b : classifyJs(words, b, p));
  }
  return out;
}

/** The chain's candidate rules for a packet in the order the core walks them: the leaves' rule
 * indices merged in ascending order. */
export function candidatesJs(words: ArrayLike<number>, base: number, p: KeyPacket): number[] {
  const out: number[] = [];
  for (const l of leavesJs(words, base, p)) for (let j = 0; j < words[l + 1]; j++) out.push(words[l + 2 + j]);
  return out.sort((a, b) => a - b);
}

/** Host-order u32 of a P_SADDR-encoded address (wire bytes loaded little-endian): the byte swap
 * is its own inverse, so this is wire.ts's wireAddr, unsigned. */
export function wireToHost(w: number): number {
  return wireAddr(w) >>> 0;
}

/**
 * The same walk as assembly/classify.ts, in JS (tests, benchmarks, --stats checks): the word
 * offset (relative to `words`' start + base) of the packet's leaf. Addresses in host order.
 */
export function classifyJs(words: ArrayLike<number>, base: number, p: KeyPacket): number {
  let n = base;
  if (words[n] === NODE_ROOT) {
    if (p.fragoff !== 0) n = base + words[base + (p.fragoff === 1 && p.proto === 6 ? 3 : 2)];
    else if (!p.l4ok && PORT_PROTOS.includes(p.proto)) n = base + words[base + 3];
    else n = base + words[base + 1];
  }
  const vals = [p.saddr >>> 0, p.daddr >>> 0, p.proto, p.sport, p.dport];
  for (;;) {
    const k = words[n];
    if (k === NODE_LEAF || k === NODE_LEAF_HIT) return n;
    if (k >= NODE_SPLIT_SADDR) {
      n = base + (vals[k - NODE_SPLIT_SADDR] < (words[n + 1] >>> 0) ? words[n + 2] : words[n + 3]);
    } else if (k === NODE_IFACE) {
      n = base + words[n + 2 + ifBit(words[n + 1] === 0 ? p.iif : p.oif)];
    } else if (k === NODE_HASH) {
      const cols = words[n + 1], pm = words[n + 2], size = words[n + 3], ncols = words[n + 5], stride = words[n + 6];
      const a = cols & HASH_COL_SADDR ? vals[0] : 0, b = cols & HASH_COL_DADDR ? vals[1] : 0;
      let c = cols & HASH_COL_PORTS ? (((p.sport << 16) | p.dport) & pm) >>> 0 : 0;
      if (cols & HASH_COL_PROTO) c = (c | (pm & 0xffff ? p.proto << 16 : p.proto)) >>> 0;
      let idx = hashSlot(hashKey(a, b, c), size);
      let next = base + words[n + 4];
      for (;;) {
        const e = n + HASH_HDR + idx * stride;
        const child = words[e + ncols];
        if (child === 0) break;
        let w = 0, ok = true;
        if (cols & HASH_COL_SADDR) ok = (words[e + w++] >>> 0) === a;
        if (ok && cols & HASH_COL_DADDR) ok = (words[e + w++] >>> 0) === b;
        if (ok && cols & HASH_COL_PORTS) ok = (words[e + w++] >>> 0) === c;
        if (ok) { next = base + child; break; }
        if (++idx === size) idx = 0;
      }
      n = next;
    } else {
      throw new Error(`classifyJs: bad node kind ${k} at ${n}`);
    }
  }
}
