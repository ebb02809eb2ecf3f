// Checks iptables-restore and the kernel make when a table is committed: loops in the chain graph that a
// builtin chain can reach (mark_source_chains), and targets/matches reached from a hook they do not allow
// (xt_check_target/xt_check_match hook masks: DNAT only from PREROUTING/OUTPUT, MASQUERADE only from
// POSTROUTING, ...). A user chain no builtin chain reaches is not checked, as in the kernel.
import type { Chain, Rule, SourcePos, Table } from './model.js';
import { ParseError } from './errors.js';
import { findMatch, findTarget, unsupportedMatch, unsupportedTarget } from './modules/index.js';
import { findChain, firstReference, removeChain } from './chains.js';

/** For each chain, the builtin hooks (chain names) from which it is reached. Throws on a reachable loop. */
export function reachingHooks(table: Table): Map<string, Set<string>> {
  const masks = reachingHookMasks(table);
  const roots = table.chains.filter((c) => c.builtin).map((c) => c.name);
  const out = new Map<string, Set<string>>();
  for (const [name, m] of masks) out.set(name, new Set(roots.filter((_, i) => m & (1 << i))));
  return out;
}

/** Bit i set = reached from the i-th builtin chain of `table.chains`. Iterative DFS with colours per hook:
 *  an edge to a chain on the current path closes a loop (mark_source_chains); finished chains are not re-walked. */
function reachingHookMasks(table: Table): Map<string, number> {
  const byName = new Map<string, Chain>(table.chains.map((c) => [c.name, c]));
  const mask = new Map<string, number>();
  for (const c of table.chains) mask.set(c.name, 0);
  const roots = table.chains.filter((c) => c.builtin);
  roots.forEach((root, bit) => {
    const colour = new Map<string, number>(); // 1 = on the path, 2 = done
    const path: Chain[] = [];
    const next: number[] = [];
    const enter = (c: Chain) => {
      colour.set(c.name, 1);
      mask.set(c.name, mask.get(c.name)! | (1 << bit));
      path.push(c);
      next.push(0);
    };
    enter(root);
    while (path.length) {
      const c = path[path.length - 1];
      const i = next[next.length - 1]++;
      if (i >= c.rules.length) {
        colour.set(c.name, 2);
        path.pop();
        next.pop();
        continue;
      }
      const t = c.rules[i].target;
      if (t?.kind !== 'jump') continue;
      const col = colour.get(t.chain);
      if (col === 1) {
        const names = path.map((x) => x.name);
        const cycle = [...names.slice(names.indexOf(t.chain)), t.chain].join(' -> ');
        throw new ParseError(t.pos, t.chain, `loop in the chain graph: ${cycle} (reached from ${root.name})`);
      }
      if (col === 2) continue;
      const n = byName.get(t.chain);
      if (n) enter(n);
    }
  });
  return mask;
}

export function validateTable(table: Table, _file: string): void {
  const masks = reachingHookMasks(table);
  const roots = table.chains.filter((c) => c.builtin).map((c) => c.name);
  const cache = new Map<number, string[]>();
  for (const c of table.chains) {
    const m = masks.get(c.name)!;
    if (m === 0) continue;
    let from = cache.get(m);
    if (!from) cache.set(m, (from = roots.filter((_, i) => m & (1 << i))));
    for (const r of c.rules) checkRuleHooks(r, c, from);
  }
}
function checkRuleHooks(r: Rule, c: Chain, from: string[]): void {
  const via = c.builtin ? '' : ` (chain '${c.name}' is reached from ${from.join('/')})`;
  for (const m of r.matches) {
    if (m.module === unsupportedMatch.name) continue;
    const mod = findMatch(m.module);
    const ok = mod?.hooks?.(m.params);
    if (!ok) continue;
    const bad = from.filter((h) => !ok.includes(h));
    if (bad.length) throw new ParseError(m.pos, m.module, `match '${m.module}' with these options is not usable from ${bad.join('/')}, only from ${ok.join('/')}${via}`);
  }
  const t = r.target;
  if (t?.kind === 'module' && t.module !== unsupportedTarget.name) {
    const mod = findTarget(t.module);
    const ok = mod?.chains;
    if (!ok) return;
    const bad = from.filter((h) => !ok.includes(h));
    if (bad.length) throw new ParseError(t.pos, t.module, `target '${t.module}' used from ${bad.join('/')}, but only usable from ${ok.join('/')}${via}`);
  }
}

/** `-X CHAIN` in restore input: the chain must be a user chain, empty and not referenced. */
export function deleteChain(table: Table, name: string, pos: SourcePos, _file: string): void {
  const c = findChain(table, name);
  if (!c) throw new ParseError(pos, name, `-X: no chain '${name}' in table '${table.name}'`);
  if (c.builtin) throw new ParseError(pos, name, `-X: can't delete builtin chain '${name}'`);
  if (c.rules.length) throw new ParseError(pos, name, `-X: chain '${name}' is not empty (${c.rules.length} rules)`);
  const r = firstReference(table, name);
  if (r) throw new ParseError(pos, name, `-X: chain '${name}' is still referenced by rule ${r.num} of '${r.chain}' (line ${r.pos.line})`);
  removeChain(table, c);
}
