// Model (src/rules/model.ts) -> image (Int32Array, layout H_*/CH_*/R_* in src/layout.ts).
//
// Image order: header (H_SIZE words), hook table (NUM_HOOKS * NUM_TABLES: chain id or -1), chain
// table, rule table, one block per chain (its decision structure, then the match and target params
// of its rules), recent directory, host section, sysctl section. Chain ids are in declaration order;
// rule indices and the chain blocks follow the walk order (chainOrder: a chain, then the chains it
// jumps to), so that the rules, params and counters one connection's walk reads are neighbours.
// Counters: one per rule (index = rule index), then one per chain (index = nrules + chain id): a
// builtin chain's policy or a user chain's implicit RETURN.
// Interfaces in -i/-o become a bitmask over the host model's interfaces (bit i = interface i,
// bit 31 = "no device" and interfaces beyond the 31st); a name the host model does not have
// matches no interface (so `-i nosuch` never matches and `! -i nosuch` always does).
import {
  IMG_MAGIC, IMG_VERSION, H_MAGIC, H_VERSION, H_FLAGS, H_NCHAINS, H_CHAINS, H_NRULES, H_RULES, H_HOOKS,
  H_HOST, H_SYSCTL, H_NCOUNTERS, H_NRECENT, H_NSTATE, H_SEED_LO, H_SEED_HI, H_HZ, H_CT_MAX, H_SIZE,
  H_RECENT, H_RECENT_BYTES, NUM_HOOKS, NUM_TABLES, CH_SIZE, CH_FIRST_RULE, CH_NRULES, CH_POLICY,
  CH_POLICY_COUNTER, CH_TREE, CH_TABLE, NODE_LEAF, R_SIZE, R_FLAGS, R_SRC, R_SMSK, R_DST, R_DMSK,
  R_PROTO, R_IIF, R_OIF, R_TARGET, R_TARGET_ARG, R_TPARAMS, R_NMATCH, R_MATCHES, R_COUNTER, R_ID,
  R_CHAIN, RF_SRC, RF_SRC_INV, RF_DST, RF_DST_INV, RF_PROTO, RF_PROTO_INV, RF_FRAG, RF_FRAG_INV,
  RF_IIF, RF_IIF_INV, RF_OIF, RF_OIF_INV, RF_APPROX, RF_IIF_EXT, RF_OIF_EXT, T_NONE, T_ACCEPT, T_DROP, T_RETURN, T_JUMP,
  T_GOTO, T_MODULE, V_ACCEPT, V_DROP, IMGF_CONNTRACK, IMGF_NAT, IMGF_LINEAR, IMGF_TRUST_CSUM,
  MOD_UNSUPPORTED, MOD_COMMENT, SYS_CT_MAX, IF_NAME0, IF_SIZE, IF_MTU, HOST_NIFS, HOST_IFS,
} from '../layout.js';
import type { Ruleset, Rule, Chain, TableName, IfaceMatch, Match } from '../rules/model.js';
import { TABLE_NAMES } from '../rules/model.js';
import { chainPositionsChecked, JumpTarget } from '../rules/chains.js';
import type { LowerCtx } from '../rules/modules/types.js';
import { knownModuleId, lowerModule, moduleId, needsConntrack } from './lower.js';
import { wireAddr, prefixMask } from './wire.js';
import { buildChain, linearTree, ruleKey, DEFAULT_BINTH, type TreeStats } from './tree.js';

/** The decision-structure builder (issue 4) over chain ch's rules (`rules`: the whole rule table): one tree,
 * or several over a partition of the rules (NODE_MULTI); word offsets in its block are relative to the
 * block start, so it is appended as is. */
function defaultTree(ch: ChainInfo, all: RuleInfo[], names: string[]) {
  // buildTree makes a chain of at most its default binth rules one leaf of them all (linearTree) whatever
  // the rules: such chains (~60,000 of 61,000 in a kube-proxy dump) skip their rule keys.
  if (ch.rules.length <= DEFAULT_BINTH) {
    const t = linearTree(ch.rules.length, ch.rules);
    return { words: t.words, kind: t.stats.kind, stats: t.stats };
  }
  const mask = (m: IfaceMatch) => ifaceMask(m, names);
  const keys = new Array<ReturnType<typeof ruleKey>>(ch.rules.length);
  for (let i = 0; i < ch.rules.length; i++) keys[i] = ruleKey(all[ch.rules[i]].model, mask);
  const t = buildChain(keys, ch.rules);
  return { words: t.words, kind: t.stats.kind, stats: t.stats };
}

export const HOOK_OF: Record<string, number> = { PREROUTING: 0, INPUT: 1, FORWARD: 2, OUTPUT: 3, POSTROUTING: 4 };

export interface CompileOptions {
  /** Lowered host model (src/host lowerHost output). */
  host: { host: number[]; sysctl: number[] };
  hz?: number;
  seed?: bigint | number;
  linear?: boolean;
  trustChecksums?: boolean;
  /** Conntrack capacity (default: the host's nf_conntrack_max). */
  ctMax?: number;
  /** Order of the rule indices (rule table, rule counters): 'model' (default) = the text's order, chain by
   *  chain in declaration order; 'walk' = chain by chain in the order a walk from the builtin chains first
   *  reaches them (a kube-proxy KUBE-SVC chain's rules beside those of its KUBE-SEP chains). R_ID keeps the
   *  model order either way. NB: the core keys random draws (statistic) by the rule index, not R_ID, so
   *  'walk' changes which endpoint a connection draws (not the distribution). */
  ruleOrder?: 'model' | 'walk';
  /** Builds a chain's decision structure; default: src/compile/tree.ts buildTree (unless linear). */
  buildTree?: ((chain: ChainInfo, rules: RuleInfo[], ifaceNames: string[]) => { words: number[]; kind: string; stats?: TreeStats } | null) | null;
}

export interface ChainInfo {
  id: number;
  table: TableName;
  name: string;
  builtin: boolean;
  policy: 'ACCEPT' | 'DROP' | null;
  /** Policy counter (builtin) or implicit RETURN counter (user chain). */
  counter: number;
  /** Rule indices, in chain order. */
  rules: number[];
  model: Chain;
  /** Decision-structure kind and size (words), and the builder's stats when a tree was built. */
  structure: string;
  structureWords: number;
  treeStats?: TreeStats;
}

export interface RuleInfo {
  index: number;
  chain: number;
  model: Rule;
}

export interface CompiledImage {
  image: Int32Array;
  chains: ChainInfo[];
  rules: RuleInfo[];
  nCounters: number;
  nState: number;
  recentBytes: number;
  recentNames: string[];
  conntrack: boolean;
  ifaceNames: string[];
  /** MTU per host interface index (IF_MTU). */
  ifaceMtus: number[];
  ctMax: number;
  hz: number;
}

const TABLE_ID: Record<TableName, number> = { raw: 0, mangle: 1, nat: 2, filter: 3, security: 4 };

/** Interface names from a lowered host section (IF_NAME0: 16 bytes, NUL padded). */
export function ifaceNamesFromHost(host: number[]): string[] {
  const n = host[HOST_NIFS];
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(16);
    for (let k = 0; k < 4; k++) b.writeInt32LE(host[host[HOST_IFS] + i * IF_SIZE + IF_NAME0 + k] | 0, k * 4);
    const z = b.indexOf(0);
    names.push(b.toString('latin1', 0, z < 0 ? 16 : z));
  }
  return names;
}

export { wireAddr, prefixMask };

/** -i/-o name -> bitmask over host interfaces (xtables_parse_interface semantics). */
export function ifaceMask(m: IfaceMatch, names: string[]): number {
  if (m.name === '+') return -1;
  let mask = 0;
  const wild = m.name.endsWith('+');
  const stem = wild ? m.name.slice(0, -1) : m.name;
  names.forEach((n, i) => {
    if (wild ? n.startsWith(stem) : n === stem) mask |= i < 31 ? 1 << i : 1 << 31;
  });
  return mask;
}

/** -i/-o name -> 256-bit map (8 words): bit i = interface i (i < 255), bit 255 = no device. */
export function ifaceMap256(m: IfaceMatch, names: string[]): number[] {
  const w = new Array(8).fill(0);
  const set = (i: number) => { w[i >> 5] |= 1 << (i & 31); };
  if (m.name === '+') return new Array(8).fill(-1);
  const wild = m.name.endsWith('+');
  const stem = wild ? m.name.slice(0, -1) : m.name;
  names.forEach((n, i) => { if (i < 255 && (wild ? n.startsWith(stem) : n === stem)) set(i); });
  return w;
}

/** A growable Int32 word buffer (large rule sets: no spreads of huge arrays, no boxed numbers). */
class Words {
  buf: Int32Array;
  length = 0;
  constructor(capacity = 1 << 16) { this.buf = new Int32Array(capacity); }
  private grow(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let c = this.buf.length;
    while (c < this.length + n) c *= 2;
    const b = new Int32Array(c);
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
  }
  /** Append n zero words; returns the offset of the first. */
  alloc(n: number): number {
    this.grow(n);
    const at = this.length;
    this.buf.fill(0, at, at + n);
    this.length += n;
    return at;
  }
  push2(a: number, b: number): void {
    if (this.length + 2 > this.buf.length) this.grow(2);
    this.buf[this.length++] = a | 0;
    this.buf[this.length++] = b | 0;
  }
  /** Append first, first + 1, ..., first + n - 1. */
  pushSeq(first: number, n: number): void {
    this.grow(n);
    for (let i = 0; i < n; i++) this.buf[this.length++] = first + i;
  }
  pushAll(xs: ArrayLike<number>): void {
    this.grow(xs.length);
    for (let i = 0; i < xs.length; i++) this.buf[this.length++] = xs[i] | 0;
  }
  /** Append words [from, to) of a buffer. */
  pushRange(b: Int32Array, from: number, to: number): void {
    this.grow(to - from);
    const buf = this.buf;
    let n = this.length;
    for (let i = from; i < to; i++) buf[n++] = b[i]; // (a few words per rule: no subarray object per call)
    this.length = n;
  }
  /** Append another buffer's words. */
  append(o: Words): void {
    this.grow(o.length);
    for (let i = 0; i < o.length; i++) this.buf[this.length++] = o.buf[i];
  }
  fillFrom(at: number, v: number, n: number): void { this.buf.fill(v, at, at + n); }
  set(i: number, v: number): void { this.buf[i] = v | 0; }
  get(i: number): number { return this.buf[i]; }
}

/** The RuleInfos of a chain's rule indices. */
function ruleInfos(rules: RuleInfo[], idx: number[]): RuleInfo[] {
  const out = new Array<RuleInfo>(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = rules[idx[i]];
  return out;
}

type Builder = NonNullable<CompileOptions['buildTree']>;

/** A table's chain ids by name: id = base + byName.get(name). `chains`: the table's chains when byName is the
 *  parser's (checked) map: a parsed jump's target is then found by its reference (JumpTarget.position). */
interface ChainIds {
  byName: Map<string, number>;
  base: number;
  chains: Chain[] | null;
}

/** linearTree(n).stats for the chains of at most DEFAULT_BINTH rules (~60,000 of 61,000 in a kube-proxy dump):
 *  one frozen object per n, shared, instead of a words array and a stats object per chain. */
const LINEAR_STATS: TreeStats[] = [];
for (let n = 0; n <= DEFAULT_BINTH; n++) LINEAR_STATS.push(Object.freeze(linearTree(n).stats));

/** A chain's record in the chain table and its decision structure (appended to W). */
function emitStructure(W: Words, chainAt: number, ch: ChainInfo, rules: RuleInfo[], builder: Builder | null | undefined, linear: boolean, ifaceNames: string[]): void {
  const cb = chainAt + ch.id * CH_SIZE; // (the record's other words: chainRecord)
  const n = ch.rules.length;
  if (builder === undefined && !linear && n <= DEFAULT_BINTH) {
    // defaultTree's linearTree (one leaf of all the rules), written in place
    W.set(cb + CH_TREE, W.length);
    ch.structure = 'linear';
    ch.structureWords = 2 + n;
    ch.treeStats = LINEAR_STATS[n];
    W.push2(NODE_LEAF, n);
    W.pushAll(ch.rules);
    return;
  }
  const built = linear || builder === null ? null
    : builder === undefined ? defaultTree(ch, rules, ifaceNames) : builder(ch, ruleInfos(rules, ch.rules), ifaceNames);
  W.set(cb + CH_TREE, W.length);
  if (built) {
    ch.structure = built.kind;
    ch.structureWords = built.words.length;
    ch.treeStats = built.stats;
    W.pushAll(built.words);
  } else {
    ch.structure = 'leaf';
    ch.structureWords = 2 + ch.rules.length;
    W.push2(NODE_LEAF, ch.rules.length); W.pushAll(ch.rules);
  }
}

/** A chain's record in the chain table but for CH_TREE (emitStructure's): in chain id order, one pass. */
function chainRecord(W: Words, chainAt: number, ch: ChainInfo): void {
  const cb = chainAt + ch.id * CH_SIZE;
  W.set(cb + CH_FIRST_RULE, ch.rules.length ? ch.rules[0] : 0);
  W.set(cb + CH_NRULES, ch.rules.length);
  W.set(cb + CH_POLICY, ch.policy === 'ACCEPT' ? V_ACCEPT : ch.policy === 'DROP' ? V_DROP : -1);
  W.set(cb + CH_POLICY_COUNTER, ch.counter);
  W.set(cb + CH_TABLE, TABLE_ID[ch.table]);
}

/** Lowers rules into the image: the LowerCtx the modules see (`rule` = the rule being lowered) and the
 *  per-rule step. */
class Lowering implements LowerCtx {
  nState = 0;
  readonly recentIds = new Map<string, number>();
  readonly recentStamps: number[] = [];
  private cur: Rule | null = null;
  private curChains: ChainIds | undefined = undefined;
  /** A rule's match words, reused. */
  private readonly ml = new Words(256);
  /** Params of all rules, in the order they were lowered: rule i's are P[pAt[i] .. pEnd[i]). */
  readonly P: Words;
  readonly pAt: Int32Array;
  readonly pEnd: Int32Array;

  constructor(private readonly W: Words, private readonly ruleAt: number, private readonly ifaceNames: string[],
    private readonly chainIdx: Map<TableName, ChainIds>, nRules: number,
    /** By rule index: the chain id a jump/goto rule targets (resolved beforehand), else -1. */
    private readonly jumpOf: Int32Array,
    /** By rule index: its index in model order (R_ID). */
    private readonly modelOf: Int32Array) {
    this.P = new Words(nRules * 12 + 1024);
    this.pAt = new Int32Array(nRules);
    this.pEnd = new Int32Array(nRules);
  }

  ifaceIndex(name: string): number {
    const i = this.ifaceNames.indexOf(name);
    if (i < 0) throw new Error(`unknown interface '${name}'`);
    return i;
  }
  recentId(name: string): number {
    let id = this.recentIds.get(name);
    if (id === undefined) { id = this.recentIds.size; this.recentIds.set(name, id); this.recentStamps.push(1); }
    return id;
  }
  stateSlot(): number { return this.nState++; }
  chainId(name: string): number {
    const ids = this.curChains;
    const p = ids?.byName.get(name);
    if (p === undefined) throw new Error(`unknown chain '${name}'`);
    return ids!.base + p;
  }
  get rule(): Rule { return this.cur!; }

  lowerRule(ri: RuleInfo): void {
    const W = this.W;
    const ml = this.ml;
    const ifaceNames = this.ifaceNames;
    const r = ri.model;
    this.cur = r;
    this.curChains = this.chainIdx.get(r.table);
    const rb = this.ruleAt + ri.index * R_SIZE;
    // The rule's params (interface maps, matches, target) go to P, at offsets relative to P for now:
    // placeOf() copies them beside the chain's structure and moves the offsets.
    const P = this.P;
    this.pAt[ri.index] = P.length;
    let f = 0;
    if (r.src) {
      f |= RF_SRC | (r.src.invert ? RF_SRC_INV : 0);
      const m = prefixMask(r.src.prefix);
      W.set(rb + R_SRC, wireAddr((r.src.addr & m) >>> 0));
      W.set(rb + R_SMSK, wireAddr(m));
    }
    if (r.dst) {
      f |= RF_DST | (r.dst.invert ? RF_DST_INV : 0);
      const m = prefixMask(r.dst.prefix);
      W.set(rb + R_DST, wireAddr((r.dst.addr & m) >>> 0));
      W.set(rb + R_DMSK, wireAddr(m));
    }
    if (r.proto && r.proto.proto !== 0) {
      f |= RF_PROTO | (r.proto.invert ? RF_PROTO_INV : 0);
      W.set(rb + R_PROTO, r.proto.proto);
    }
    if (r.frag) f |= RF_FRAG | (r.frag.invert ? RF_FRAG_INV : 0);
    if (r.inIface) {
      f |= RF_IIF | (r.inIface.invert ? RF_IIF_INV : 0);
      if (ifaceNames.length > 31) { f |= RF_IIF_EXT; W.set(rb + R_IIF, P.length); P.pushAll(ifaceMap256(r.inIface, ifaceNames)); }
      else W.set(rb + R_IIF, ifaceMask(r.inIface, ifaceNames));
    }
    if (r.outIface) {
      f |= RF_OIF | (r.outIface.invert ? RF_OIF_INV : 0);
      if (ifaceNames.length > 31) { f |= RF_OIF_EXT; W.set(rb + R_OIF, P.length); P.pushAll(ifaceMap256(r.outIface, ifaceNames)); }
      else W.set(rb + R_OIF, ifaceMask(r.outIface, ifaceNames));
    }
    // matches: [moduleId, nWords, params...]
    ml.length = 0;
    let nm = 0;
    for (const m of r.matches) {
      // comment/nfacct (MOD_COMMENT): always true, lowered to [] without side effects: not worth a call per packet
      if (knownModuleId(m.module, 'match') === MOD_COMMENT) continue;
      const words = lowerModule(m.module, 'match', m.params, this, m);
      const id = moduleId(m.module, 'match');
      ml.push2(id, words.length);
      ml.pushAll(words);
      nm++;
      if (m.module === 'recent') {
        const hc = (m.params as { hitcount?: number }).hitcount ?? 0;
        const id = this.recentIds.get((m.params as { name?: string }).name ?? 'DEFAULT');
        if (id !== undefined) this.recentStamps[id] = Math.max(this.recentStamps[id], hc);
      }
    }
    if (r.approximation) {
      f |= RF_APPROX;
      // skip-rule: the rule is never evaluated (never matches, never counts)
      if (r.approximation.mode === 'skip-rule') { ml.pushAll([MOD_UNSUPPORTED, 1, 0]); nm++; }
    }
    W.set(rb + R_FLAGS, f);
    W.set(rb + R_NMATCH, nm);
    W.set(rb + R_MATCHES, P.length);
    P.append(ml);
    const t = r.target;
    if (!t) W.set(rb + R_TARGET, T_NONE);
    else if (t.kind === 'verdict') W.set(rb + R_TARGET, t.verdict === 'ACCEPT' ? T_ACCEPT : t.verdict === 'DROP' ? T_DROP : T_RETURN);
    else if (t.kind === 'jump') {
      W.set(rb + R_TARGET, t.goto ? T_GOTO : T_JUMP);
      const to = this.jumpOf[ri.index];
      W.set(rb + R_TARGET_ARG, to >= 0 ? to : this.chainId(t.chain));
    } else {
      const words = lowerModule(t.module, 'target', t.params, this, null);
      const id = moduleId(t.module, 'target');
      W.set(rb + R_TARGET, T_MODULE);
      W.set(rb + R_TARGET_ARG, id);
      W.set(rb + R_TPARAMS, P.length);
      P.push2(id, words.length); P.pushAll(words);
    }
    W.set(rb + R_COUNTER, ri.index);
    W.set(rb + R_ID, this.modelOf[ri.index]);
    W.set(rb + R_CHAIN, ri.chain);
    this.pEnd[ri.index] = P.length;
  }

  /** Copies the params of rule `i` from P to the end of W, and moves its offsets (R_IIF/R_OIF maps,
   *  R_MATCHES, R_TPARAMS) by as much. */
  placeParams(i: number): void {
    const W = this.W;
    const from = this.pAt[i];
    const to = this.pEnd[i];
    const d = W.length - from;
    const rb = this.ruleAt + i * R_SIZE;
    const f = W.get(rb + R_FLAGS);
    if (f & RF_IIF_EXT) W.set(rb + R_IIF, W.get(rb + R_IIF) + d);
    if (f & RF_OIF_EXT) W.set(rb + R_OIF, W.get(rb + R_OIF) + d);
    W.set(rb + R_MATCHES, W.get(rb + R_MATCHES) + d);
    if (W.get(rb + R_TARGET) === T_MODULE) W.set(rb + R_TPARAMS, W.get(rb + R_TPARAMS) + d);
    W.pushRange(this.P.buf, from, to);
  }
}

/** The walk order of the chains: depth first from the builtin chains, a chain before the chains its rules
 *  jump to (in rule order), each once; then the chains no builtin chain reaches, in declaration order. Rule
 *  indices (rule records and counters) and the chains' blocks (structure, then the rules' params) are laid
 *  out in this order, so that a new connection's walk (kube-proxy: KUBE-SERVICES -> KUBE-SVC-X ->
 *  KUBE-SEP-Y) reads neighbouring memory rather than places megabytes apart in declaration order.
 *  jumpTo[firstAt[c] + i] = the chain rule i of chain c jumps to, or -1. */
function chainOrder(chains: ChainInfo[], jumpTo: Int32Array, firstAt: Int32Array): Int32Array {
  const n = chains.length;
  const order = new Int32Array(n);
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const next = new Int32Array(n); // per stack entry: the next model rule index to look at
  let k = 0;
  const walk = (root: number): void => {
    if (seen[root]) return;
    seen[root] = 1;
    order[k++] = root;
    stack[0] = root;
    next[0] = firstAt[root];
    let sp = 1;
    while (sp > 0) {
      const c = stack[sp - 1];
      const m = next[sp - 1]++;
      if (m >= firstAt[c + 1]) { sp--; continue; }
      const to = jumpTo[m];
      if (to < 0 || seen[to]) continue;
      seen[to] = 1;
      order[k++] = to;
      stack[sp] = to;
      next[sp] = firstAt[to];
      sp++;
    }
  };
  for (let c = 0; c < n; c++) if (chains[c].builtin) walk(c);
  for (let c = 0; c < n; c++) if (!seen[c]) walk(c);
  return order;
}

/** A ChainInfo per chain of t (ids from chains.length on); their ids into byName unless null. */
function addChainInfos(chains: ChainInfo[], t: Ruleset['tables'][number], byName: Map<string, number> | null): void {
  for (const c of t.chains) {
    const id = chains.length;
    if (byName !== null) byName.set(c.name, id);
    chains.push({ id, table: t.name, name: c.name, builtin: c.builtin, policy: c.policy, counter: 0, rules: [], model: c, structure: 'leaf', structureWords: 0 });
  }
}

function countRules(chains: ChainInfo[]): number {
  let n = 0;
  for (const ch of chains) n += ch.model.rules.length;
  return n;
}

function setCounters(chains: ChainInfo[], nRules: number): void {
  for (const ch of chains) ch.counter = nRules + ch.id;
}

function hookTable(W: Words, hookAt: number, chains: ChainInfo[]): void {
  for (const ch of chains) {
    if (!ch.builtin) continue;
    const h = HOOK_OF[ch.name];
    if (h !== undefined) W.set(hookAt + h * NUM_TABLES + TABLE_ID[ch.table], ch.id);
  }
}

/** jumpTo[m] = the chain id model rule m jumps to, or -1; firstAt[c] = the model index of chain c's first rule. */
function resolveJumps(chains: ChainInfo[], chainIdx: Map<TableName, ChainIds>, jumpTo: Int32Array, firstAt: Int32Array): void {
  let prevName = ''; // the previous jump's target and its id (kube-proxy: KUBE-MARK-MASQ every other rule)
  let prevTo = -1;
  for (let c = 0, m = 0; c < chains.length; c++) {
    firstAt[c] = m;
    const { byName, base, chains: tableChains } = chainIdx.get(chains[c].table)!;
    const rs = chains[c].model.rules;
    if (c > 0 && chains[c].table !== chains[c - 1].table) prevName = '';
    for (let i = 0; i < rs.length; i++, m++) {
      const t = rs[i].target;
      if (t === null || t.kind !== 'jump') { jumpTo[m] = -1; continue; }
      if (tableChains !== null) {
        const p = JumpTarget.position(t, tableChains);
        if (p >= 0) { jumpTo[m] = base + p; continue; }
      }
      if (t.chain !== prevName) { prevName = t.chain; const p = byName.get(t.chain); prevTo = p === undefined ? -1 : base + p; }
      jumpTo[m] = prevTo;
    }
  }
}

/** Rule indices: chain by chain (model order, or walk order), each chain's consecutive; the RuleInfos. */
function numberRules(chains: ChainInfo[], order: Int32Array, walk: boolean, rules: RuleInfo[], jumpTo: Int32Array, firstAt: Int32Array,
  jumpOf: Int32Array, modelOf: Int32Array): void {
  for (let k = 0, idx = 0; k < chains.length; k++) {
    const ch = chains[walk ? order[k] : k];
    const rs = ch.model.rules;
    const ids = ch.rules = new Array<number>(rs.length); // (exact size: no 17-slot array per 2-rule chain)
    for (let i = 0; i < rs.length; i++, idx++) {
      ids[i] = idx;
      rules[idx] = { index: idx, chain: ch.id, model: rs[i] };
      jumpOf[idx] = jumpTo[firstAt[ch.id] + i];
      modelOf[idx] = firstAt[ch.id] + i;
    }
  }
}

function anyConntrack(rules: RuleInfo[]): boolean {
  let conntrack = false;
  for (let i = 0; i < rules.length && !conntrack; i++) {
    const r = rules[i].model;
    for (let k = 0; k < r.matches.length; k++) if (needsConntrack(r.matches[k].module, 'match')) conntrack = true;
    if (r.target?.kind === 'module' && needsConntrack(r.target.module, 'target')) conntrack = true;
  }
  return conntrack;
}

function lowerAll(low: Lowering, chains: ChainInfo[], rules: RuleInfo[]): void {
  for (let c = 0; c < chains.length; c++) {
    const ids = chains[c].rules;
    for (let i = 0; i < ids.length; i++) low.lowerRule(rules[ids[i]]);
  }
}

function chainRecords(W: Words, chainAt: number, chains: ChainInfo[], linearFast: boolean, firstOf: Int32Array, countOf: Int32Array): void {
  for (let c = 0; c < chains.length; c++) {
    const ch = chains[c];
    chainRecord(W, chainAt, ch);
    const n = ch.rules.length;
    firstOf[c] = n ? ch.rules[0] : 0;
    countOf[c] = n;
    if (linearFast && n <= DEFAULT_BINTH) {
      ch.structure = 'linear';
      ch.structureWords = 2 + n;
      ch.treeStats = LINEAR_STATS[n];
    }
  }
}

function emitBlocks(W: Words, chainAt: number, chains: ChainInfo[], rules: RuleInfo[], order: Int32Array, firstOf: Int32Array,
  countOf: Int32Array, linearFast: boolean, builder: Builder | null | undefined, linear: boolean, ifaceNames: string[], low: Lowering): void {
  for (let k = 0; k < order.length; k++) {
    const id = order[k];
    const n = countOf[id];
    const first = firstOf[id];
    if (linearFast && n <= DEFAULT_BINTH) {
      W.set(chainAt + id * CH_SIZE + CH_TREE, W.length);
      W.push2(NODE_LEAF, n);
      W.pushSeq(first, n);
    } else {
      emitStructure(W, chainAt, chains[id], rules, builder, linear, ifaceNames);
    }
    for (let i = 0; i < n; i++) low.placeParams(first + i);
  }
}

export function compile(rs: Ruleset, opts: CompileOptions): CompiledImage {
  const ifaceNames = ifaceNamesFromHost(opts.host.host);
  const chains: ChainInfo[] = [];
  const rules: RuleInfo[] = [];
  // chain ids by name, one map per table (a jump resolves without building a `table/name` key): id = base +
  // byName.get(name). The parser's name -> position map of a table when the model still has exactly the chains
  // it indexed (src/rules/chains.ts chainPositionsChecked; base = the table's first id), else one built here.
  const chainIdx = new Map<TableName, ChainIds>();
  const distinctTables = new Set(rs.tables.map((t) => t.name)).size === rs.tables.length;
  for (const t of rs.tables) {
    const parsed = distinctTables ? chainPositionsChecked(t) : undefined;
    let ids = chainIdx.get(t.name);
    if (!ids) chainIdx.set(t.name, (ids = parsed ? { byName: parsed, base: chains.length, chains: t.chains } : { byName: new Map(), base: 0, chains: null }));
    addChainInfos(chains, t, parsed ? null : ids.byName);
  }
  // Rule indices (the rule table's order, and the rules' counters): model order (chain id, then position),
  // or with ruleOrder 'walk' the chains in walk order (chainOrder: a chain's rules, then those of the chains
  // it jumps to). jumpTo: by model order, the chain a rule jumps to or -1.
  // (Each loop over all chains or rules is a function of its own: the JIT optimises it once as a function,
  // where loops of one big compile() were compiled again on stack replacement, and deoptimised at the next loop
  // for want of type feedback, at every compile.)
  const nRules = countRules(chains);
  const jumpTo = new Int32Array(nRules);
  const firstAt = new Int32Array(chains.length + 1);
  resolveJumps(chains, chainIdx, jumpTo, firstAt);
  firstAt[chains.length] = nRules;
  const order = chainOrder(chains, jumpTo, firstAt);
  rules.length = nRules;
  const jumpOf = new Int32Array(nRules); // by rule index
  const modelOf = new Int32Array(nRules); // by rule index: the rule's index in model order (R_ID)
  numberRules(chains, order, opts.ruleOrder === 'walk', rules, jumpTo, firstAt, jumpOf, modelOf);
  setCounters(chains, rules.length);
  const nCounters = rules.length + chains.length;

  // conntrack on demand: any rule using a conntrack user (match or target), NAT targets included
  const conntrack = anyConntrack(rules);
  const hasNat = rs.tables.some((t) => t.name === 'nat');

  // Sized for the usual image (header, hooks, chains, rules, ~12 words of params and structure per rule)
  // so that a large rule set is not copied through ~7 doublings.
  const W = new Words(H_SIZE + NUM_HOOKS * NUM_TABLES + chains.length * (CH_SIZE + 4) + rules.length * (R_SIZE + 12) + opts.host.host.length + opts.host.sysctl.length + 1024);
  W.alloc(H_SIZE);
  const hookAt = W.alloc(NUM_HOOKS * NUM_TABLES);
  W.fillFrom(hookAt, -1, NUM_HOOKS * NUM_TABLES);
  hookTable(W, hookAt, chains);
  const chainAt = W.alloc(chains.length * CH_SIZE);
  const ruleAt = W.alloc(rules.length * R_SIZE);

  // Rules (their records), in rule order; their params aside, placed with their chain below. One call per
  // rule and per chain: functions the JIT optimises once, rather than loops of one huge function compiled
  // again on stack replacement at every compile.
  // (In model order, chain by chain, so that state slots and recent list ids are numbered as the rules
  // appear in the text.)
  const low = new Lowering(W, ruleAt, ifaceNames, chainIdx, rules.length, jumpOf, modelOf);
  lowerAll(low, chains, rules);
  const { recentIds, recentStamps, nState } = low;

  // Chain records, in id order; and for the walk below, each chain's first rule index and number of rules (a
  // chain's rule indices are consecutive). A chain of at most DEFAULT_BINTH rules with the default builder is
  // one linear leaf (defaultTree): its ChainInfo gets that here, in order, and the walk writes the leaf without
  // reading the ChainInfo (61,000 objects in walk order were a cache miss each).
  const builder = opts.buildTree; // undefined: defaultTree
  const linearFast = builder === undefined && !opts.linear;
  const firstOf = new Int32Array(chains.length);
  const countOf = new Int32Array(chains.length);
  chainRecords(W, chainAt, chains, linearFast, firstOf, countOf);
  // Chain blocks, in walk order: the chain's decision structure, then its rules' params.
  emitBlocks(W, chainAt, chains, rules, order, firstOf, countOf, linearFast, builder, !!opts.linear, ifaceNames, low);

  // recent directory: per table [byteOffset, stampsMask]; table = 16 + 100 * (24 + 8 * stamps)
  const recentDir = W.length;
  let recentBytes = 0;
  for (let i = 0; i < recentStamps.length; i++) {
    const hc = recentStamps[i];
    let stamps = 2;
    while (stamps < hc) stamps *= 2;
    stamps = Math.min(stamps, 65536); // roundup_pow_of_two(hitcount): the ring xt_recent allocates
    W.push2(recentBytes, stamps - 1);
    recentBytes += 16 + 100 * (24 + 8 * stamps);
  }

  const hostAt = W.length;
  W.pushAll(opts.host.host);
  const sysAt = W.length;
  W.pushAll(opts.host.sysctl);

  const seed = BigInt(opts.seed ?? 0) & 0xffffffffffffffffn;
  const hz = opts.hz ?? 250;
  const ctMax = opts.ctMax ?? (opts.host.sysctl[SYS_CT_MAX] || 262144);
  W.set(H_MAGIC, IMG_MAGIC);
  W.set(H_VERSION, IMG_VERSION);
  W.set(H_FLAGS, (conntrack ? IMGF_CONNTRACK : 0) | (conntrack && hasNat ? IMGF_NAT : 0) | (opts.linear ? IMGF_LINEAR : 0) | (opts.trustChecksums ? IMGF_TRUST_CSUM : 0));
  W.set(H_NCHAINS, chains.length);
  W.set(H_CHAINS, chainAt);
  W.set(H_NRULES, rules.length);
  W.set(H_RULES, ruleAt);
  W.set(H_HOOKS, hookAt);
  W.set(H_HOST, hostAt);
  W.set(H_SYSCTL, sysAt);
  W.set(H_NCOUNTERS, nCounters);
  W.set(H_NRECENT, recentStamps.length);
  W.set(H_NSTATE, nState);
  W.set(H_SEED_LO, Number(seed & 0xffffffffn) | 0);
  W.set(H_SEED_HI, Number(seed >> 32n) | 0);
  W.set(H_HZ, hz);
  W.set(H_CT_MAX, ctMax);
  W.set(H_RECENT, recentDir);
  W.set(H_RECENT_BYTES, recentBytes);
  return {
    image: W.buf.slice(0, W.length),
    chains, rules, nCounters, nState, recentBytes,
    recentNames: [...recentIds.keys()],
    conntrack, ifaceNames, ifaceMtus: ifaceNames.map((_, i) => opts.host.host[opts.host.host[HOST_IFS] + i * IF_SIZE + IF_MTU] || 65535), ctMax, hz,
  };
}

export type { Match };
