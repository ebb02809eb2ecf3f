// Per-table lookup structures the parser keeps while reading (chains by name), so that kube-proxy-sized
// dumps (100k chains, 300k rules) parse in linear time. Not part of the model.
import type { Chain, Rule, Table } from './model.js';

interface TableIndex {
  byName: Map<string, Chain>;
  /** The chains findChain returned last and the one before (both still in byName). */
  last: Chain | null;
  last2: Chain | null;
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
    ix = { byName: new Map(t.chains.map((c) => [c.name, c])), last: null, last2: null };
    indexes.set(t, ix);
  }
  lastTable = t;
  lastIndex = ix;
  return ix;
}

export function findChain(t: Table, name: string): Chain | undefined {
  const ix = index(t);
  // Rules come grouped by chain: the chain found last is most often the one asked for again; the one before
  // is the jump target of the previous rule (kube-proxy: -A KUBE-SEP-X ... -j KUBE-MARK-MASQ, line after line).
  const a = ix.last;
  if (a !== null && a.name === name) return a;
  const b = ix.last2;
  if (b !== null && b.name === name) {
    ix.last = b;
    ix.last2 = a;
    return b;
  }
  const c = ix.byName.get(name);
  if (c) {
    ix.last2 = a;
    ix.last = c;
  }
  return c;
}

export function addChain(t: Table, c: Chain): void {
  t.chains.push(c);
  index(t).byName.set(c.name, c);
}

export function removeChain(t: Table, c: Chain): void {
  const i = t.chains.indexOf(c);
  if (i >= 0) t.chains.splice(i, 1);
  const ix = index(t);
  ix.byName.delete(c.name);
  if (ix.last === c) ix.last = null;
  if (ix.last2 === c) ix.last2 = null;
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
