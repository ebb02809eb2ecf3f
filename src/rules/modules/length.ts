// -m length (libxt_length.c / xt_length.c): --length min[:max] on the IP total length (min > max is kept, as
// iptables does; it never matches).
import { MOD_LENGTH } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o, inv } from './common.js';
import { parseUint } from '../util.js';

export interface LengthParams { min: number; max: number; invert: boolean; set: boolean }

export const length: MatchModule<LengthParams> = {
  kind: 'match',
  name: 'length',
  id: MOD_LENGTH,
  options: [o('--length', true, true)],
  init: () => ({ min: 0, max: 0xffff, invert: false, set: false }),
  parse(p, opt, args) {
    if (opt.name !== '--length') return false;
    const w = args.next('--length');
    const [a, b, extra] = w.split(':');
    const min = a === '' ? 0 : parseUint(a, 0xffff);
    const max = b === undefined ? min : b === '' ? 0xffff : parseUint(b, 0xffff);
    if (min === undefined || max === undefined || extra !== undefined) return args.fail(`length: bad --length value '${w}'`);
    Object.assign(p, { min, max, invert: opt.invert, set: true });
    return true;
  },
  finalCheck(p, _rule, fail) {
    if (!p.set) fail("length: option '--length' must be specified");
  },
  save(p) {
    return `${inv(p.invert)} --length ${p.min === p.max ? p.min : `${p.min}:${p.max}`}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
length.lower = (p) => [p.min, p.max, p.invert ? 1 : 0];
