// -m limit (libxt_limit.c / xt_limit.c): token bucket; --limit N[/second|minute|hour|day] (default 3/hour),
// --limit-burst N (default 5). avg is stored as XT_LIMIT_SCALE * seconds / N, as the kernel keeps it.
import { MOD_LIMIT } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o } from './common.js';
import { parseUint } from '../util.js';

export const XT_LIMIT_SCALE = 10000;
export const XT_LIMIT_BURST = 5;

/** HZ * CREDITS_PER_JIFFY of xt_limit.c: 32000 for both HZ=250 (CPJ 128) and HZ=1000 (CPJ 32). */
export const HZ_CREDITS = 32000;

/** xt_limit.c user2credits in u32 arithmetic (divides first when multiplying would overflow, then wraps). */
export function user2credits(user: number): number {
  if (user > Math.floor(0xffffffff / HZ_CREDITS)) return Number((BigInt(Math.floor(user / XT_LIMIT_SCALE)) * BigInt(HZ_CREDITS)) & 0xffffffffn);
  return Math.floor((user * HZ_CREDITS) / XT_LIMIT_SCALE);
}

export interface LimitParams {
  /** Period between tokens in 1/XT_LIMIT_SCALE seconds. */
  avg: number;
  burst: number;
}

const UNITS: [string, number][] = [['second', 1], ['minute', 60], ['hour', 3600], ['day', 86400]];
const RATES: [string, number][] = [['day', XT_LIMIT_SCALE * 86400], ['hour', XT_LIMIT_SCALE * 3600], ['min', XT_LIMIT_SCALE * 60], ['sec', XT_LIMIT_SCALE]];

export function rateText(period: number): string {
  let i = 1;
  for (; i < RATES.length; i++) {
    const m = RATES[i][1];
    if (period > m || Math.floor(m / period) < m % period) break;
  }
  return `${Math.floor(RATES[i - 1][1] / period)}/${RATES[i - 1][0]}`;
}

export const limit: MatchModule<LimitParams> = {
  kind: 'match',
  name: 'limit',
  id: MOD_LIMIT,
  options: [o('--limit', true), o('--limit-burst', true)],
  init: () => ({ avg: (XT_LIMIT_SCALE * 3600) / 3, burst: XT_LIMIT_BURST }),
  parse(p, opt, args) {
    if (opt.name === '--limit') {
      const w = args.next('--limit');
      const slash = w.indexOf('/');
      let mult = 1;
      if (slash >= 0) {
        const u = w.slice(slash + 1).toLowerCase();
        const e = u.length ? UNITS.find(([n]) => n.startsWith(u)) : undefined;
        if (!e) return args.fail(`limit: bad rate '${w}'`);
        mult = e[1];
      }
      const m = /^[0-9]+/.exec(w); // atoi
      const r = m ? Number(m[0]) : 0;
      if (!r) return args.fail(`limit: bad rate '${w}'`);
      const avg = Math.floor((XT_LIMIT_SCALE * mult) / r);
      if (avg === 0) return args.fail(`limit: rate too fast '${w}'`);
      p.avg = avg;
      return true;
    }
    if (opt.name === '--limit-burst') {
      const w = args.next('--limit-burst');
      const v = parseUint(w, 10000);
      if (v === undefined) return args.fail(`limit: bad --limit-burst '${w}'`);
      p.burst = v;
      return true;
    }
    return false;
  },
  finalCheck(p, _rule, fail) {
    // xt_limit's checkentry: user2credits(avg * burst) < user2credits(avg) is refused, all in u32 arithmetic
    // (1/day burst 5 and 3/hour burst 10000 are refused, 2/day burst 10000 passes: measured).
    const wrapped = Number((BigInt(p.avg) * BigInt(p.burst)) & 0xffffffffn);
    if (p.burst === 0 || user2credits(wrapped) < user2credits(p.avg)) fail(`limit: overflow, try lower: ${p.avg}/${p.burst}`);
  },
  save(p) {
    return ` --limit ${rateText(p.avg)}${p.burst !== XT_LIMIT_BURST ? ` --limit-burst ${p.burst}` : ''}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
limit.lower = (p, ctx) => [p.avg, p.burst, ctx.stateSlot()]; // assembly/modules/limit.ts
