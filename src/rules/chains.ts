// Per-table lookup structures the parser keeps while reading (chains by name), so that kube-proxy-sized
// dumps (100k chains, 300k rules) parse in linear time. Not part of the model.
import type { Chain, Rule, SourcePos, Table, Target } from './model.js';
import { findTarget, KNOWN_UNSUPPORTED_TARGETS } from './modules/index.js';

/** A name -j may mean as a verdict or a target extension (ACCEPT, DNAT, ...). */
function isTargetName(name: string): boolean {
  return name === 'ACCEPT' || name === 'DROP' || name === 'RETURN' || findTarget(name) !== undefined || KNOWN_UNSUPPORTED_TARGETS.has(name);
}

interface TableIndex {
  /** Chain name -> its declaration serial (the chain's position in t.chains until a chain is removed). */
  byName: Map<string, number>;
  /** Chains by serial; null = removed (-X). Serials are not reused, so removing a chain moves no other. */
  bySerial: (Chain | null)[];
  /** By serial: the name the chain was indexed under. */
  keys: string[];
  /** The chains findChain returned last and the one before (both still in byName), and their serials. */
  last: Chain | null;
  last2: Chain | null;
  lastS: number;
  last2S: number;
  /** The serial after the chain findAppendChain found last: iptables-save prints the rules chain by chain in
   *  the order the chains are declared, so the next `-A` chain is most often that one. */
  cursor: number;
  /** Names of the table's chains that are also target names (isTargetName): usually none. */
  shadow: Set<string>;
}

const indexes = new WeakMap<Table, TableIndex>();

/** The table asked for last and its index: the parser asks for the same table ~400,000 times in a row
 *  (a WeakMap lookup per findChain was ~10 % of the parse of a 10,000-Service dump). */
let lastTable: Table | null = null;
let lastIndex: TableIndex | null = null;

function index(t: Table): TableIndex {
  if (t === lastTable) return lastIndex!;
  let ix = indexes.get(t);
  if (!ix) {
    const byName = new Map<string, number>();
    for (let i = 0; i < t.chains.length; i++) byName.set(t.chains[i].name, i);
    ix = { byName, bySerial: t.chains.slice(), keys: t.chains.map((c) => c.name), last: null, last2: null, lastS: -1, last2S: -1, cursor: 0, shadow: new Set() };
    for (const c of t.chains) if (isTargetName(c.name)) ix.shadow.add(c.name);
    indexes.set(t, ix);
  }
  lastTable = t;
  lastIndex = ix;
  return ix;
}

/** The serial (in the table's index) of the chain findChain / findAppendChain / findJumpChain returned last. */
let foundSerial = -1;

/** Remember c (serial s) as the chain found last (the one found before it becomes the one before). */
function found(ix: TableIndex, c: Chain, s: number): Chain {
  ix.last2 = ix.last;
  ix.last2S = ix.lastS;
  ix.last = c;
  ix.lastS = s;
  foundSerial = s;
  return c;
}

/** Swap the last two (findChain found the one before again). */
function foundAgain(ix: TableIndex): Chain {
  const b = ix.last2!;
  const bs = ix.last2S;
  ix.last2 = ix.last;
  ix.last2S = ix.lastS;
  ix.last = b;
  ix.lastS = bs;
  foundSerial = bs;
  return b;
}

export function findChain(t: Table, name: string): Chain | undefined {
  const ix = index(t);
  // Rules come grouped by chain: the chain found last is most often the one asked for again; the one before
  // is the jump target of the previous rule (kube-proxy: -A KUBE-SEP-X ... -j KUBE-MARK-MASQ, line after line).
  const a = ix.last;
  if (a !== null && a.name === name) { foundSerial = ix.lastS; return a; }
  const b = ix.last2;
  if (b !== null && b.name === name) return foundAgain(ix);
  const s = ix.byName.get(name);
  if (s === undefined) return undefined;
  return found(ix, ix.bySerial[s]!, s);
}

/** `-A name`: findChain, but a chain that is neither of the last two is first looked for right after the
 *  chain the previous `-A` named (in declaration order), before the lookup among all the table's names:
 *  in iptables-save's text (kube-proxy: 61,000 chains) that is where it is. Same answer as findChain. */
export function findAppendChain(t: Table, name: string): Chain | undefined {
  const ix = index(t);
  const a = ix.last;
  if (a !== null && a.name === name) { foundSerial = ix.lastS; return a; }
  const b = ix.last2;
  if (b !== null && b.name === name) return foundAgain(ix);
  const bs = ix.bySerial;
  let k = ix.cursor;
  while (k < bs.length && bs[k] === null) k++;
  if (k < bs.length && bs[k]!.name === name) {
    ix.cursor = k + 1;
    return found(ix, bs[k]!, k);
  }
  const s = ix.byName.get(name);
  if (s === undefined) return undefined;
  ix.cursor = s + 1;
  return found(ix, bs[s]!, s);
}

/** `-j name`: the chain `name` of `t`, as findChain; a target name (-j DNAT, -j ACCEPT) no chain of the table
 *  has is answered without a lookup among the table's (kube-proxy: 61,000) chain names. */
export function findJumpChain(t: Table, name: string): Chain | undefined {
  if (isTargetName(name) && !index(t).shadow.has(name)) return undefined;
  return findChain(t, name);
}

export function addChain(t: Table, c: Chain): void {
  const ix = index(t);
  t.chains.push(c);
  ix.byName.set(c.name, ix.bySerial.length);
  ix.bySerial.push(c);
  ix.keys.push(c.name);
  if (isTargetName(c.name)) ix.shadow.add(c.name);
}

/** addChain unless the table has a chain of that name (then false, and nothing added). One lookup. */
export function addNewChain(t: Table, c: Chain): boolean {
  const ix = index(t);
  const n = ix.byName.size;
  const s = ix.bySerial.length;
  ix.byName.set(c.name, s);
  if (ix.byName.size === n) {
    // the name was there: put the serial of the chain that has it back
    ix.byName.set(c.name, ix.bySerial.findIndex((x) => x !== null && x.name === c.name));
    return false;
  }
  t.chains.push(c);
  ix.bySerial.push(c);
  ix.keys.push(c.name);
  if (isTargetName(c.name)) ix.shadow.add(c.name);
  return true;
}

export function removeChain(t: Table, c: Chain): void {
  const i = t.chains.indexOf(c);
  if (i >= 0) t.chains.splice(i, 1);
  const ix = index(t);
  const s = ix.byName.get(c.name);
  if (s !== undefined && ix.bySerial[s] === c) ix.bySerial[s] = null;
  ix.byName.delete(c.name);
  ix.shadow.delete(c.name);
  if (ix.last === c) ix.last = null;
  if (ix.last2 === c) ix.last2 = null;
}

/** A jump/goto target as the parser makes it: the model's { kind: 'jump', chain, goto, pos } (the same own
 *  properties in the same order: JSON, spreads, Object.keys and toEqual see a plain target), and, in private
 *  fields nothing but jumpPosition reads, the chain it resolved to and that chain's serial in the parser's
 *  index. Validate and compile then find the target chain's position without a lookup among the table's names
 *  (kube-proxy: 61,000), after checking the reference still holds. */
export class JumpTarget {
  readonly kind = 'jump' as const;
  chain: string;
  goto: boolean;
  pos: SourcePos;
  readonly #ref: Chain;
  readonly #serial: number;
  constructor(chain: Chain, goto: boolean, pos: SourcePos) {
    this.chain = chain.name; // the declared name's string: equal text, and lookups by it compare pointers
    this.goto = goto;
    this.pos = pos;
    this.#ref = chain;
    this.#serial = foundSerial;
  }
  /** The position in `chains` of the chain this target names, when the chain it resolved to is at its serial
   *  there under that name; else -1 (look it up by name). */
  static position(t: Target, chains: Chain[]): number {
    if (!(t instanceof JumpTarget)) return -1;
    const c = t.#ref;
    const s = t.#serial;
    return s >= 0 && s < chains.length && chains[s] === c && c.name === t.chain ? s : -1;
  }
}

/** name -> position in t.chains for every chain of `t`, when the parser's index of `t` has it (no chain was
 *  removed since it was built, so serials are positions), else undefined. For validate's walk over the table
 *  right after the parse (no second map of all the names). */
export function chainPositions(t: Table): Map<string, number> | undefined {
  const ix = indexes.get(t);
  if (!ix || ix.bySerial.length !== t.chains.length || ix.byName.size !== t.chains.length) return undefined;
  return ix.byName;
}

/** chainPositions for a model that may have been changed since it was parsed (the compiler): also checks that
 *  t.chains holds the very chains the index has, in its order, under the names they had (one pass, pointer
 *  compares), else undefined. */
export function chainPositionsChecked(t: Table): Map<string, number> | undefined {
  const ix = indexes.get(t);
  const cs = t.chains;
  if (!ix || ix.bySerial.length !== cs.length || ix.byName.size !== cs.length) return undefined;
  const bs = ix.bySerial;
  const keys = ix.keys;
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i];
    if (bs[i] !== c || keys[i] !== c.name) return undefined;
  }
  return ix.byName;
}

/** The first rule of `t` (by line, then chain order) jumping to chain `name`: for -X errors, which are rare, so
 *  found by a scan rather than kept for every jump while parsing. */
export function firstReference(t: Table, name: string): Rule | undefined {
  let first: Rule | undefined;
  for (const c of t.chains) {
    for (const r of c.rules) {
      if (r.target?.kind === 'jump' && r.target.chain === name && (!first || r.pos.line < first.pos.line)) first = r;
    }
  }
  return first;
}

/** Forget everything about `t` (the table was flushed and rebuilt). */
export function resetIndex(t: Table): void {
  indexes.delete(t);
  if (lastTable === t) { lastTable = null; lastIndex = null; }
}
