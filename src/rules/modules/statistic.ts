// -m statistic (libxt_statistic.c / xt_statistic.c). random: matches when
// (random_u32 & 0x7FFFFFFF) < probability, probability stored as lround(p * 2^31); nth: every/packet counter.
import { MOD_STATISTIC } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o } from './common.js';
import { parseUint } from '../util.js';

export interface StatisticParams {
  mode: 'random' | 'nth' | null;
  /** The kernel's u32: lround(p * 0x80000000). */
  probability: number;
  /** nth: the kernel's `every` (the option's value - 1) and `packet`. */
  every: number;
  packet: number;
  invert: boolean;
  seen: { probability: boolean; every: boolean; packet: boolean };
}

/** printf("%.11f", u32 / 2^31) exactly (glibc rounds the exact binary value half to even). */
export function probabilityText(u32: number): string {
  const den = 1n << 31n;
  const scaled = BigInt(u32) * 100000000000n; // * 10^11
  let q = scaled / den;
  const r = scaled % den;
  if (r * 2n > den || (r * 2n === den && (q & 1n) === 1n)) q += 1n;
  const s = q.toString().padStart(12, '0');
  return `${s.slice(0, -11)}.${s.slice(-11)}`;
}

export const statistic: MatchModule<StatisticParams> = {
  kind: 'match',
  name: 'statistic',
  id: MOD_STATISTIC,
  options: [o('--mode', true), o('--probability', true, true), o('--every', true, true), o('--packet', true)],
  init: () => ({ mode: null, probability: 0, every: 0, packet: 0, invert: false, seen: { probability: false, every: false, packet: false } }),
  parse(p, opt, args) {
    switch (opt.name) {
      case '--mode': {
        const w = args.next('--mode');
        if (w !== 'random' && w !== 'nth') return args.fail(`statistic: bad mode '${w}' (random or nth)`);
        p.mode = w as 'random' | 'nth';
        return true;
      }
      case '--probability': {
        const w = args.next('--probability');
        const v = /^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(w) ? Number(w) : NaN;
        if (!(v >= 0 && v <= 1)) return args.fail(`statistic: --probability must be between 0 and 1, got '${w}'`);
        p.probability = Math.round(v * 0x80000000); // lround: half away from zero; v >= 0
        p.invert = p.invert || opt.invert;
        p.seen.probability = true;
        return true;
      }
      case '--every': {
        const w = args.next('--every');
        const v = parseUint(w);
        if (v === undefined || v === 0) return args.fail(`statistic: bad --every value '${w}'`);
        p.every = v - 1;
        p.invert = p.invert || opt.invert;
        p.seen.every = true;
        return true;
      }
      case '--packet': {
        const w = args.next('--packet');
        const v = parseUint(w);
        if (v === undefined) return args.fail(`statistic: bad --packet value '${w}'`);
        p.packet = v;
        p.seen.packet = true;
        return true;
      }
    }
    return false;
  },
  finalCheck(p, _rule, fail) {
    if (!p.mode) fail("statistic: option '--mode' must be specified");
    if (p.mode === 'random' && (p.seen.every || p.seen.packet)) fail('statistic: --every and --packet need --mode nth');
    if (p.mode === 'nth' && p.seen.probability) fail('statistic: --probability needs --mode random');
    if (p.mode === 'nth' && !p.seen.every) fail("statistic: option '--every' must be specified with --mode nth");
    if (p.mode === 'nth' && p.seen.every !== p.seen.packet) fail(`statistic: option "--every" also requires "--packet"`);
    if (p.mode === 'nth' && p.packet > p.every) fail('statistic: --packet can not be larger than --every');
  },
  save(p) {
    const bang = p.invert ? ' !' : '';
    if (p.mode === 'random') return ` --mode random${bang} --probability ${probabilityText(p.probability)}`;
    return ` --mode nth${bang} --every ${p.every + 1} --packet ${p.packet}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
statistic.lower = (p, ctx) => (p.mode === 'nth'
  ? [1, p.invert ? 1 : 0, 0, p.every, (p.every - p.packet) >>> 0, ctx.stateSlot()]
  : [0, p.invert ? 1 : 0, p.probability >>> 0, 0, 0, 0]); // assembly/modules/statistic.ts
