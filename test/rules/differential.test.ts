// Generated rules of every module against the real tools: each rule is loaded with iptables-legacy-restore into
// a throwaway network namespace and dumped with iptables-legacy-save; nfreplay must accept exactly the rules the
// tools accept and print exactly the line they print. Needs root and iptables-legacy; skips with a reason if not.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { parseRuleset } from '../../src/rules/parse.js';
import { printRule } from '../../src/rules/print.js';
import { ruleGenerator } from './gen-rules.js';

const SEED = Number(process.env.NFR_DIFF_SEED ?? 20261125);
const N = Number(process.env.NFR_DIFF_N ?? 250);
const NS = `nfr-rules-t${process.pid}`;

function unavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('iptables-legacy-restore', ['--version']).status !== 0) return 'iptables-legacy-restore not installed';
  if (spawnSync('ip', ['netns', 'add', NS]).status !== 0) return 'cannot create a network namespace';
  return null;
}
const reason = unavailable();
afterAll(() => { if (!reason) spawnSync('ip', ['netns', 'del', NS]); });

describe('rules against iptables-legacy-restore/-save', () => {
  it.skipIf(reason !== null)(`${N} generated rules: same acceptance, same printed line (seed ${SEED})${reason ? ` — skipped: ${reason}` : ''}`, () => {
    const next = ruleGenerator(SEED);
    const bad: string[] = [];
    let accepted = 0;
    for (let i = 0; i < N; i++) {
      const { table, line } = next();
      const text = `*${table}\n${line}\nCOMMIT\n`;
      const res = spawnSync('ip', ['netns', 'exec', NS, 'iptables-legacy-restore'], { input: text, encoding: 'utf8', timeout: 10_000 });
      let real: string | null = null;
      if (res.status === 0) {
        const out = spawnSync('ip', ['netns', 'exec', NS, 'iptables-legacy-save', '-t', table], { encoding: 'utf8', timeout: 10_000 }).stdout;
        real = out.split('\n').filter((x) => x.startsWith('-A ')).join('\n');
      }
      let mine: string | null = null;
      let err = '';
      try {
        mine = parseRuleset(text, 'gen').tables[0].chains.flatMap((c) => c.rules).map(printRule).join('\n');
      } catch (e) {
        err = (e as Error).message;
      }
      if (real !== null) accepted++;
      if (real !== mine && !(real === null && mine === null)) {
        bad.push(`${line}\n  iptables: ${real ?? res.stderr.split('\n').filter(Boolean)[0]}\n  nfreplay: ${mine ?? err}`);
      }
    }
    expect(bad, `seed ${SEED}`).toEqual([]);
    expect(accepted).toBeGreaterThan(N / 2);
  });
});
