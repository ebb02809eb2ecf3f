// Checks iptables-restore and the kernel make when a table is committed: loops in the chain graph that a
// builtin chain can reach (mark_source_chains), and targets/matches reached from a hook they do not allow
// (xt_check_target/xt_check_match hook masks: DNAT only from PREROUTING/OUTPUT, MASQUERADE only from
// POSTROUTING, ...). A user chain no builtin chain reaches is not checked, as in the kernel.
import type { Chain, Rule, SourcePos, Table } from './model.js';
import { ParseError } from './errors.js';
import { findMatch, findTarget, MATCHES, TARGETS, unsupportedMatch, unsupportedTarget } from './modules/index.js';
import { chainPositions, findChain, firstReference, JumpTarget, removeChain } from './chains.js';

/** For each chain, the builtin hooks (chain names) from which it is reached. Throws on a reachable loop. */
export function reachingHooks(table: Table): Map<string, Set<string>> {
  const bits = hookBits(table);
  const roots = table.chains.filter((c) => c.builtin).map((c) => c.name);
  const out = new Map<string, Set<string>>();
  for (let i = 0; i < bits.length; i++) out.set(table.chains[i].name, new Set(roots.filter((_, b) => bits[i] & (1 << b))));
  return out;
}

/** Bit i set = reached from the i-th builtin chain of `table.chains`, by position in `table.chains`. One
 *  traversal for the whole table: iterative DFS from each builtin chain in turn with colours shared between
 *  them (an edge to a chain on the current path closes a loop: mark_source_chains). A chain finished from an
 *  earlier builtin chain has a loop-free subgraph, so it is not re-walked: the loop found, and the path
 *  printed, are those of a fresh walk per builtin chain. The reached graph is then a DAG: masks flow down it
 *  in reverse post-order. The jump edges are first read in one sequential pass
 *  over the model (chain order, rule order) into flat arrays; the walks then touch only those. */
function hookBits(table: Table, restricted?: number[]): Int32Array {
  const chains = table.chains;
  const n = chains.length;
  // name -> position: the parser's index of the table when it is current (no second map of 61,000 names), made
  // only if a jump's target is not found by its reference (JumpTarget.position)
  let idOf = chainPositions(table);
  // edges of chain c: edgeTo[edgeAt[c] .. edgeAt[c+1]), in rule order; edgeRule = the rule's index in c
  const edgeAt = new Int32Array(n + 1);
  let edgeTo = new Int32Array(1024);
  let edgeRule = new Int32Array(1024);
  let ne = 0;
  // the previous jump's target (kube-proxy: KUBE-MARK-MASQ every other rule; the same string object)
  let prevName = '';
  let prevId: number | undefined;
  for (let ci = 0; ci < n; ci++) {
    edgeAt[ci] = ne;
    const rules = chains[ci].rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i];
      const t = r.target;
      if (restricted !== undefined && hookLimited(r)) restricted.push(ci, i);
      if (t?.kind !== 'jump') continue;
      let ni: number | undefined = JumpTarget.position(t, chains);
      if (ni < 0) {
        if (t.chain === prevName) ni = prevId;
        else {
          if (!idOf) {
            idOf = new Map<string, number>();
            for (let k = 0; k < n; k++) idOf.set(chains[k].name, k);
          }
          ni = idOf.get(t.chain); prevName = t.chain; prevId = ni;
        }
      }
      if (ni === undefined) continue;
      if (ne === edgeTo.length) {
        const a = new Int32Array(ne * 2); a.set(edgeTo); edgeTo = a;
        const b = new Int32Array(ne * 2); b.set(edgeRule); edgeRule = b;
      }
      edgeTo[ne] = ni;
      edgeRule[ne] = i;
      ne++;
    }
  }
  edgeAt[n] = ne;
  const colour = new Uint8Array(n); // 1 = on the path, 2 = done
  const bits = new Int32Array(n);
  const order = new Int32Array(n); // post-order of the reached chains
  let nOrder = 0;
  const path = new Int32Array(n);
  const next = new Int32Array(n); // next edge to follow, per path entry
  let bit = 0;
  for (let r = 0; r < n; r++) {
    const root = chains[r];
    if (!root.builtin) continue;
    bits[r] |= 1 << bit;
    bit++;
    if (colour[r] === 2) continue;
    colour[r] = 1;
    path[0] = r;
    next[0] = edgeAt[r];
    let depth = 1;
    while (depth) {
      const ci = path[depth - 1];
      const e = next[depth - 1]++;
      if (e >= edgeAt[ci + 1]) {
        colour[ci] = 2;
        order[nOrder++] = ci;
        depth--;
        continue;
      }
      const ni = edgeTo[e];
      const col = colour[ni];
      if (col === 1) {
        const t = chains[ci].rules[edgeRule[e]].target as { chain: string; pos: SourcePos };
        const names: string[] = [];
        for (let k = 0; k < depth; k++) names.push(chains[path[k]].name);
        const cycle = [...names.slice(names.indexOf(t.chain)), t.chain].join(' -> ');
        throw new ParseError(t.pos, t.chain, `loop in the chain graph: ${cycle} (reached from ${root.name})`);
      }
      if (col === 2) continue;
      colour[ni] = 1;
      path[depth] = ni;
      next[depth] = edgeAt[ni];
      depth++;
    }
  }
  for (let k = nOrder - 1; k >= 0; k--) {
    const ci = order[k];
    const m = bits[ci];
    for (let e = edgeAt[ci]; e < edgeAt[ci + 1]; e++) bits[edgeTo[e]] |= m;
  }
  return bits;
}

/** Match and target modules whose use depends on the hooks (a `hooks` function, a `chains` list): only rules
 *  with one of them can fail checkRuleHooks. */
const HOOK_MATCHES = new Set(MATCHES.filter((m) => m.hooks).map((m) => m.name));
const HOOK_TARGETS = new Set(TARGETS.filter((t) => t.chains).map((t) => t.name));
function hookLimited(r: Rule): boolean {
  const t = r.target;
  if (t !== null && t.kind === 'module' && HOOK_TARGETS.has(t.module)) return true;
  const ms = r.matches;
  for (let k = 0; k < ms.length; k++) if (HOOK_MATCHES.has(ms[k].module)) return true;
  return false;
}

export function validateTable(table: Table, _file: string): void {
  // hookBits also lists the rules checkRuleHooks could refuse (chain, rule index; in table order), read in the
  // same pass over the rules: the check then reads only those (kube-proxy: the DNAT rules) a second time.
  const restricted: number[] = [];
  const masks = hookBits(table, restricted);
  const roots = table.chains.filter((c) => c.builtin).map((c) => c.name);
  const cache = new Map<number, string[]>();
  for (let k = 0; k < restricted.length; k += 2) {
    const ci = restricted[k];
    const c = table.chains[ci];
    const m = masks[ci];
    if (m === 0) continue;
    let from = cache.get(m);
    if (!from) cache.set(m, (from = roots.filter((_, i) => m & (1 << i))));
    checkRuleHooks(c.rules[restricted[k + 1]], c, from);
  }
}
/** The error message's tail naming the hooks a user chain is reached from (built only for an error). */
function via(c: Chain, from: string[]): string {
  return c.builtin ? '' : ` (chain '${c.name}' is reached from ${from.join('/')})`;
}
/** Every element of `a` is in `b` (the hooks check, without an array per rule when it passes). */
function allIn(a: string[], b: string[]): boolean {
  for (let i = 0; i < a.length; i++) if (!b.includes(a[i])) return false;
  return true;
}
function checkRuleHooks(r: Rule, c: Chain, from: string[]): void {
  for (const m of r.matches) {
    if (m.module === unsupportedMatch.name) continue;
    const mod = findMatch(m.module);
    const ok = mod?.hooks?.(m.params);
    if (!ok || allIn(from, ok)) continue;
    const bad = from.filter((h) => !ok.includes(h));
    if (bad.length) throw new ParseError(m.pos, m.module, `match '${m.module}' with these options is not usable from ${bad.join('/')}, only from ${ok.join('/')}${via(c, from)}`);
  }
  const t = r.target;
  if (t?.kind === 'module' && t.module !== unsupportedTarget.name) {
    const mod = findTarget(t.module);
    const ok = mod?.chains;
    if (!ok || allIn(from, ok)) return;
    const bad = from.filter((h) => !ok.includes(h));
    if (bad.length) throw new ParseError(t.pos, t.module, `target '${t.module}' used from ${bad.join('/')}, but only usable from ${ok.join('/')}${via(c, from)}`);
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
