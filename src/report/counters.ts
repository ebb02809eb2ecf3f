// Counters of a replay attached to the model: the ruleset with our counters in place of the
// input's, ready for the rules printer (`iptables-save -c` form).
import type { Ruleset, Chain } from '../rules/model.js';
import type { CompiledImage } from '../compile/image.js';

export interface CounterSet { packets: bigint[]; bytes: bigint[] }

export function withCounters(rs: Ruleset, c: CompiledImage, k: CounterSet): Ruleset {
  const byChain = new Map<Chain, number>(c.chains.map((ch) => [ch.model, ch.id]));
  return {
    ...rs,
    tables: rs.tables.map((t) => ({
      ...t,
      chains: t.chains.map((ch) => {
        const info = c.chains[byChain.get(ch)!];
        return {
          ...ch,
          counters: ch.builtin ? { packets: k.packets[info.counter], bytes: k.bytes[info.counter] } : { packets: 0n, bytes: 0n },
          rules: ch.rules.map((r, i) => ({ ...r, counters: { packets: k.packets[info.rules[i]], bytes: k.bytes[info.rules[i]] } })),
        };
      }),
    })),
  };
}
