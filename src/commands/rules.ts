// `nfreplay rules check FILE` and `nfreplay rules print FILE [--counters]`.
import { readFileSync } from 'node:fs';
import type { Command } from '../commands.js';
import { parseRuleset, type UnsupportedMode } from '../rules/parse.js';
import { printRuleset, printRule } from '../rules/print.js';
import { ParseError } from '../rules/errors.js';
import { unsupportedMatch } from '../rules/modules/index.js';
import type { Ruleset } from '../rules/model.js';

const MODES: UnsupportedMode[] = ['error', 'assume-match', 'assume-nomatch', 'skip-rule'];

interface Parsed { file: string; counters: boolean; unsupported: UnsupportedMode }

function parseArgs(args: string[], allowCounters: boolean): Parsed | string {
  let file: string | undefined;
  let counters = false;
  let unsupported: UnsupportedMode = 'error';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--counters' && allowCounters) counters = true;
    else if (a.startsWith('--unsupported=') || a === '--unsupported') {
      const v = a === '--unsupported' ? args[++i] : a.slice('--unsupported='.length);
      if (!MODES.includes(v as UnsupportedMode)) return `bad --unsupported value '${v ?? ''}' (${MODES.join(', ')})`;
      unsupported = v as UnsupportedMode;
    } else if (a === '-' || !a.startsWith('-')) {
      if (file !== undefined) return `unexpected argument '${a}'`;
      file = a;
    } else return `unknown option '${a}'`;
  }
  if (file === undefined) return 'missing FILE (use - for standard input)';
  return { file, counters, unsupported };
}

function load(p: Parsed): Ruleset | number {
  let text: string;
  const name = p.file === '-' ? '<stdin>' : p.file;
  try {
    text = readFileSync(p.file === '-' ? 0 : p.file, 'utf8');
  } catch (e) {
    process.stderr.write(`${name}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}\n`);
    return 2;
  }
  try {
    return parseRuleset(text, name, { unsupported: p.unsupported });
  } catch (e) {
    if (e instanceof ParseError) {
      process.stderr.write(`${e.format()}\n`);
      return 2;
    }
    throw e;
  }
}

export function summarize(rs: Ruleset): string {
  const lines: string[] = [];
  const modules = new Map<string, number>();
  let total = 0;
  let chains = 0;
  for (const t of rs.tables) {
    const n = t.chains.reduce((a, c) => a + c.rules.length, 0);
    const user = t.chains.filter((c) => !c.builtin).length;
    total += n;
    chains += t.chains.length;
    lines.push(`  ${t.name.padEnd(9)} ${String(t.chains.length).padStart(6)} chains (${user} user) ${String(n).padStart(8)} rules`);
    for (const c of t.chains) {
      for (const r of c.rules) {
        for (const m of r.matches) {
          const name = m.module === unsupportedMatch.name ? `${(m.params as { name: string }).name} (unsupported)` : m.module;
          const key = `-m ${name}`;
          modules.set(key, (modules.get(key) ?? 0) + 1);
        }
        if (r.target?.kind === 'module') {
          const name = r.target.module === 'unsupported' ? `${(r.target.params as { name: string }).name} (unsupported)` : r.target.module;
          modules.set(`-j ${name}`, (modules.get(`-j ${name}`) ?? 0) + 1);
        }
      }
    }
  }
  const out = [`${rs.file}: ${rs.tables.length} tables, ${chains} chains, ${total} rules`, 'tables:', ...lines];
  if (modules.size) {
    out.push('modules used (times):');
    for (const [k, v] of [...modules].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) out.push(`  ${k.padEnd(28)} ${v}`);
  }
  if (rs.approximated.length) {
    out.push(`approximated rules (${rs.approximated.length}):`);
    for (const r of rs.approximated) out.push(`  ${rs.file}:${r.pos.line}: ${r.approximation!.mode} ${r.approximation!.module}: ${printRule(r)}`);
  }
  return `${out.join('\n')}\n`;
}

export const rulesCheck: Command = {
  name: 'rules check',
  summary: 'parse and validate an iptables-save/-restore file, print a summary',
  help: `usage: nfreplay rules check FILE [--unsupported=error|assume-match|assume-nomatch|skip-rule]

Parses FILE (iptables-save output or iptables-restore input; - reads standard input) the way
iptables-restore would and prints tables, chains, rules per table and the modules used.
Errors go to stderr as file:line:column: message, with exit code 2 and nothing on stdout.
--unsupported says how to treat a match or target nfreplay does not implement (default: error);
the approximated rules are listed.

example:
  nfreplay rules check pcaps/rulesets/kube-proxy-3-endpoints.rules
  iptables-save | nfreplay rules check - --unsupported=assume-nomatch`,
  async run(args) {
    const p = parseArgs(args, false);
    if (typeof p === 'string') {
      process.stderr.write(`nfreplay rules check: ${p}\n`);
      return 2;
    }
    const rs = load(p);
    if (typeof rs === 'number') return rs;
    process.stdout.write(summarize(rs));
    return 0;
  },
};

export const rulesPrint: Command = {
  name: 'rules print',
  summary: 'print a ruleset in the canonical iptables-save form',
  help: `usage: nfreplay rules print FILE [--counters] [--unsupported=MODE]

Prints FILE exactly as iptables-legacy-save would print it after iptables-legacy-restore loaded it
into a fresh network namespace: rule fields in print_rule4 order, /32 suffixes, -m tcp made
explicit, marks as --set-xmark, probabilities with 11 decimals, builtin chains first and user
chains sorted, tables in the kernel's order (the reverse of their first appearance).
--counters prints the iptables-save -c form ([packets:bytes] before each rule, chain counters).
- reads standard input. Errors as for 'rules check'.

example:
  nfreplay rules print pcaps/rulesets/nat-router.rules
  nfreplay rules print --counters dump.txt | diff - <(iptables-save -c | grep -v '^#')`,
  async run(args) {
    const p = parseArgs(args, true);
    if (typeof p === 'string') {
      process.stderr.write(`nfreplay rules print: ${p}\n`);
      return 2;
    }
    const rs = load(p);
    if (typeof rs === 'number') return rs;
    process.stdout.write(printRuleset(rs, { counters: p.counters }));
    for (const r of rs.approximated) {
      process.stderr.write(`${rs.file}:${r.pos.line}: approximated (${r.approximation!.mode}) ${r.approximation!.module}: ${printRule(r)}\n`);
    }
    return 0;
  },
};
