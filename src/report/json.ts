// The --json report: one versioned object (schema in ./SCHEMA.md).
import type { ReplayOutcome } from '../commands/replay.js';
import type { CounterSet } from './counters.js';
import type { EngineStats } from '../replay/engine.js';
import { RES_LABELS } from './verdicts.js';
import { matchText, targetText } from '../replay/rules-adapter.js';
import { fairness, fairnessJson, type ServiceFairness } from './fairness.js';

export const JSON_SCHEMA_VERSION = 1;

/** `fair`: the fairness the caller already computed for the text report (else computed here). */
export function buildJson(r: ReplayOutcome, k: CounterSet, st: EngineStats, fair?: ServiceFairness[]): unknown {
  const { compiled, api } = r;
  const n = (x: bigint) => Number(x);
  const totals: Record<string, number> = { packets: r.engine.packets };
  for (const [code, l] of Object.entries(RES_LABELS)) totals[l.key] = n(st.res[Number(code)] ?? 0n);
  totals.rejectReplies = n(st.rejectReplies);
  totals.badChecksums = n(st.badChecksums ?? 0n);
  totals.droppedInvalid = n(st.droppedInvalid ?? 0n);
  const tables: unknown[] = [];
  for (const t of r.rs.tables) {
    const chains = compiled.chains.filter((c) => c.table === t.name).map((c) => ({
      name: c.name,
      policy: c.policy,
      packets: c.builtin ? n(k.packets[c.counter]) : null,
      bytes: c.builtin ? n(k.bytes[c.counter]) : null,
      structure: c.structure,
      rules: c.rules.map((idx) => {
        const rule = compiled.rules[idx].model;
        return {
          num: rule.num,
          line: rule.pos.line,
          text: api.printRule(rule),
          matches: matchText(api, rule).trim(),
          target: rule.target ? (rule.target.kind === 'verdict' ? rule.target.verdict : rule.target.kind === 'jump' ? rule.target.chain : rule.target.module) : null,
          targetOptions: targetText(api, rule).trim(),
          packets: n(k.packets[idx]),
          bytes: n(k.bytes[idx]),
        };
      }),
    }));
    tables.push({ name: t.name, chains });
  }
  const drops = [...r.drops.entries()].sort((a, b) => b[1] - a[1]).map(([key, count]) => key >= 0
    ? { kind: 'rule', table: compiled.rules[key].model.table, chain: compiled.rules[key].model.chain, num: compiled.rules[key].model.num, packets: count }
    : { kind: 'policy', table: compiled.chains[-1 - key].table, chain: compiled.chains[-1 - key].name, packets: count });
  return {
    nfreplay: JSON_SCHEMA_VERSION,
    input: { rules: r.rs.file, conntrack: compiled.conntrack, hz: compiled.hz, interfaces: compiled.ifaceNames },
    totals,
    conntrack: st.ct ?? null,
    captureError: r.captureError ? r.captureError.message : null,
    tables,
    drops,
    fairness: fairnessJson(fair ?? fairness(compiled, k)),
    ...((r as { partial?: boolean }).partial ? { partial: true } : {}),
  };
}
