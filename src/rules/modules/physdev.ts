// -m physdev (libxt_physdev.c / xt_physdev.c): parsed and printed; nfreplay models no bridge, so the
// engine treats every packet as not bridged.
import { MOD_PHYSDEV } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o, inv } from './common.js';

export interface PhysdevParams {
  in: { name: string; invert: boolean } | null;
  out: { name: string; invert: boolean } | null;
  isIn: { invert: boolean } | null;
  isOut: { invert: boolean } | null;
  isBridged: { invert: boolean } | null;
}

export const physdev: MatchModule<PhysdevParams> = {
  kind: 'match',
  name: 'physdev',
  id: MOD_PHYSDEV,
  options: [o('--physdev-in', true, true), o('--physdev-out', true, true), o('--physdev-is-in', false, true),
    o('--physdev-is-out', false, true), o('--physdev-is-bridged', false, true)],
  init: () => ({ in: null, out: null, isIn: null, isOut: null, isBridged: null }),
  parse(p, opt, args) {
    switch (opt.name) {
      case '--physdev-in':
      case '--physdev-out': {
        const w = args.next(opt.name);
        if (w.length > 15) return args.fail(`physdev: interface name '${w}' must be shorter than IFNAMSIZ (15)`);
        p[opt.name === '--physdev-in' ? 'in' : 'out'] = { name: w, invert: opt.invert };
        return true;
      }
      case '--physdev-is-in': p.isIn = { invert: opt.invert }; return true;
      case '--physdev-is-out': p.isOut = { invert: opt.invert }; return true;
      case '--physdev-is-bridged': p.isBridged = { invert: opt.invert }; return true;
    }
    return false;
  },
  finalCheck(p, _rule, fail) {
    if (!p.in && !p.out && !p.isIn && !p.isOut && !p.isBridged) fail('physdev: at least one option is required');
  },
  hooks(p) {
    // xt_physdev checkentry: --physdev-out / --physdev-is-out without a (non-inverted) --physdev-is-bridged are
    // refused when OUTPUT reaches the rule (measured: FORWARD and POSTROUTING are accepted).
    if ((p.out || p.isOut) && (!p.isBridged || p.isBridged.invert)) return ['PREROUTING', 'INPUT', 'FORWARD', 'POSTROUTING'];
    return undefined;
  },
  save(p) {
    // libxt_physdev save order (measured): is-in, in, is-out, out, is-bridged.
    let s = '';
    if (p.isIn) s += `${inv(p.isIn.invert)} --physdev-is-in`;
    if (p.in) s += `${inv(p.in.invert)} --physdev-in ${p.in.name}`;
    if (p.isOut) s += `${inv(p.isOut.invert)} --physdev-is-out`;
    if (p.out) s += `${inv(p.out.invert)} --physdev-out ${p.out.name}`;
    if (p.isBridged) s += `${inv(p.isBridged.invert)} --physdev-is-bridged`;
    return s;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
physdev.lower = (p) => {
  // [bitmask, invert] of XT_PHYSDEV_OP_IN 1, OUT 2, BRIDGED 4, ISIN 8, ISOUT 16
  let m = 0, inv = 0;
  const f = (x: { invert: boolean } | null, bit: number) => { if (x) { m |= bit; if (x.invert) inv |= bit; } };
  f(p.in, 1); f(p.out, 2); f(p.isBridged, 4); f(p.isIn, 8); f(p.isOut, 16);
  return [m, inv];
};
