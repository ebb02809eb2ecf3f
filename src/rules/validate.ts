// Checks iptables-restore and the kernel make when a table is committed: loops in the chain graph that a
// builtin chain can reach (mark_source_chains), and targets/matches reached from a hook they do not allow
// (xt_check_target/xt_check_match hook masks: DNAT only from PREROUTING/OUTPUT, MASQUERADE only from
// POSTROUTING, ...). A user chain no builtin chain reaches is not checked, as in the kernel.
import type { Chain, Rule, SourcePos, Table } from './model.js';
import { ParseError } from './errors.js';
import { findMatch, findTarget, unsupportedMatch, unsupportedTarget } from './modules/index.js';

/** For each chain, the builtin hooks (chain names) from which it is reached. Throws on a reachable loop. */
export function reachingHooks(table: Table): Map<string, Set<string>> {
  const byName = new Map<string, Chain>(table.chains.map((c) => [c.name, c]));
  const hooks = new Map<string, Set<string>>(table.chains.map((c) => [c.name, new Set<string>()]));
  for (const root of table.chains.filter((c) => c.builtin)) {
    // Depth-first walk from this hook with an explicit stack, tracking the chains on the current path.
    const onPath: string[] = [];
    const visit = (c: Chain): void => {
      onPath.push(c.name);
      hooks.get(c.name)!.add(root.name);
      for (const r of c.rules) {
        if (r.target?.kind !== 'jump') continue;
        const to = r.target.chain;
        if (onPath.includes(to)) {
          const cycle = [...onPath.slice(onPath.indexOf(to)), to].join(' -> ');
          throw new ParseError(r.target.pos, to, `loop in the chain graph: ${cycle} (reached from ${root.name})`);
        }
        const next = byName.get(to);
        if (next && !hooks.get(to)!.has(root.name)) visit(next);
        else if (next && hooks.get(to)!.has(root.name)) {
          // Already explored from this hook along another path; a loop through it would have been found then,
          // unless it closes through the current path, which a re-walk detects.
          if (reaches(next, onPath, byName)) visit(next);
        }
      }
      onPath.pop();
    };
    visit(root);
  }
  return hooks;
}

/** Does `from` reach any chain on `path` (used to catch loops through an already-visited chain)? */
function reaches(from: Chain, path: string[], byName: Map<string, Chain>): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const c = stack.pop()!;
    if (seen.has(c.name)) continue;
    seen.add(c.name);
    for (const r of c.rules) {
      if (r.target?.kind !== 'jump') continue;
      if (path.includes(r.target.chain)) return true;
      const n = byName.get(r.target.chain);
      if (n) stack.push(n);
    }
  }
  return false;
}

export function validateTable(table: Table, _file: string): void {
  const hooks = reachingHooks(table);
  for (const c of table.chains) {
    const from = [...hooks.get(c.name)!];
    if (from.length === 0) continue;
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
  const c = table.chains.find((x) => x.name === name);
  if (!c) throw new ParseError(pos, name, `-X: no chain '${name}' in table '${table.name}'`);
  if (c.builtin) throw new ParseError(pos, name, `-X: can't delete builtin chain '${name}'`);
  if (c.rules.length) throw new ParseError(pos, name, `-X: chain '${name}' is not empty (${c.rules.length} rules)`);
  for (const o of table.chains) {
    for (const r of o.rules) {
      if (r.target?.kind === 'jump' && r.target.chain === name) {
        throw new ParseError(pos, name, `-X: chain '${name}' is still referenced by rule ${r.num} of '${o.name}' (line ${r.pos.line})`);
      }
    }
  }
  table.chains = table.chains.filter((x) => x !== c);
}
