// Per-table lookup structures the parser keeps while reading (chains by name, jump references), so that
// kube-proxy-sized dumps (100k chains, 300k rules) parse in linear time. Not part of the model.
import type { Chain, Rule, Table } from './model.js';

interface TableIndex {
  byName: Map<string, Chain>;
  /** First rule jumping to each chain (for -X errors), and how many do. */
  refs: Map<string, { first: Rule; count: number }>;
  /** The chain findChain returned last (still in byName). */
  last: Chain | null;
}

const indexes = new WeakMap<Table, TableIndex>();

function index(t: Table): TableIndex {
  let ix = indexes.get(t);
  if (!ix) {
    ix = { byName: new Map(t.chains.map((c) => [c.name, c])), refs: new Map(), last: null };
    for (const c of t.chains) for (const r of c.rules) noteRule(t, r, ix);
    indexes.set(t, ix);
  }
  return ix;
}

function noteRule(_t: Table, r: Rule, ix: TableIndex): void {
  if (r.target?.kind !== 'jump') return;
  const e = ix.refs.get(r.target.chain);
  if (e) e.count++;
  else ix.refs.set(r.target.chain, { first: r, count: 1 });
}

export function findChain(t: Table, name: string): Chain | undefined {
  const ix = index(t);
  // Rules come grouped by chain: the chain found last is most often the one asked for again.
  if (ix.last !== null && ix.last.name === name) return ix.last;
  const c = ix.byName.get(name);
  if (c) ix.last = c;
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
}

/** Record a rule appended to a chain of `t` (jump references). */
export function noteRuleAdded(t: Table, r: Rule): void {
  noteRule(t, r, index(t));
}

export function firstReference(t: Table, name: string): Rule | undefined {
  return index(t).refs.get(name)?.first;
}

/** Forget everything about `t` (the table was flushed and rebuilt). */
export function resetIndex(t: Table): void {
  indexes.delete(t);
}
