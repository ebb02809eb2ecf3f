// nfreplay compile --rules R --stats: what the compiler makes of a ruleset — per chain its rules,
// decision-structure kind, depth, leaves, largest leaf, replication, bytes and build time; the
// image's total size.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import type { Command } from '../commands.js';
import { compile } from '../compile/image.js';
import { lowerHost, defaultHost, loadHostFile } from '../host/index.js';
import { loadRulesApi } from '../replay/rules-adapter.js';
import { errorText } from './replay.js';

const HELP = `nfreplay compile --rules R [--stats] [--linear] [--host H] [--unsupported MODE]
Compile a ruleset to the core's image and print per chain its decision structure.

Example:
  nfreplay compile --rules pcaps/k8s/service3/rules.txt --stats
`;

export const compileCommand: Command = {
  name: 'compile',
  summary: 'compile a ruleset and print per-chain structure statistics',
  help: HELP,
  async run(argv) {
    let v;
    try {
      v = parseArgs({ args: argv, options: { rules: { type: 'string' }, stats: { type: 'boolean' }, linear: { type: 'boolean' }, host: { type: 'string' }, unsupported: { type: 'string' } } }).values;
    } catch (e) {
      process.stderr.write(`nfreplay compile: ${(e as Error).message}\n`);
      return 2;
    }
    if (!v.rules) { process.stderr.write('nfreplay compile: --rules is required\n'); return 2; }
    try {
      const api = await loadRulesApi();
      const rs = api.parseRuleset(readFileSync(v.rules === '-' ? 0 : v.rules, 'utf8'), v.rules === '-' ? 'stdin' : v.rules, v.unsupported ? { unsupported: v.unsupported } : undefined);
      const t0 = performance.now();
      const c = compile(rs, { host: lowerHost(v.host ? loadHostFile(v.host) : defaultHost()), linear: v.linear });
      const ms = performance.now() - t0;
      const out: string[] = [];
      out.push(`${'table'.padEnd(8)} ${'chain'.padEnd(28)} ${'rules'.padStart(7)} ${'kind'.padEnd(9)} ${'depth'.padStart(5)} ${'leaves'.padStart(7)} ${'maxleaf'.padStart(7)} ${'repl'.padStart(6)} ${'bytes'.padStart(10)} ${'ms'.padStart(8)}`);
      for (const ch of c.chains) {
        const s = ch.treeStats;
        const kind = s ? s.kind : 'linear';
        out.push(`${ch.table.padEnd(8)} ${ch.name.padEnd(28)} ${String(ch.rules.length).padStart(7)} ${kind.padEnd(9)} ${String(s?.depth ?? 0).padStart(5)} ${String(s?.leaves ?? 1).padStart(7)} ${String(s?.largestLeaf ?? ch.rules.length).padStart(7)} ${(s?.replication ?? 1).toFixed(2).padStart(6)} ${String(ch.structureWords * 4).padStart(10)} ${(s?.buildMs ?? 0).toFixed(2).padStart(8)}`);
        // a partitioned chain (NODE_MULTI): one line per structure, its rule group and kind
        for (const [i, t] of (s?.trees ?? []).entries()) out.push(`${''.padEnd(8)} ${`  tree ${i + 1}/${s!.trees!.length} ${t.group}`.padEnd(28)} ${String(t.rules).padStart(7)} ${t.kind.padEnd(9)} ${String(t.depth).padStart(5)} ${String(t.leaves).padStart(7)} ${String(t.largestLeaf).padStart(7)} ${t.replication.toFixed(2).padStart(6)} ${String(t.bytes).padStart(10)} ${t.buildMs.toFixed(2).padStart(8)}`);
      }
      out.push('', `image: ${c.image.byteLength} bytes (${c.chains.length} chains, ${c.rules.length} rules, ${c.nCounters} counters), conntrack ${c.conntrack ? 'on' : 'off'}, compiled in ${ms.toFixed(1)} ms`);
      process.stdout.write(`${out.join('\n')}\n`);
      return 0;
    } catch (e) {
      process.stderr.write(`${errorText(e, 'compile')}\n`);
      return 2;
    }
  },
};
