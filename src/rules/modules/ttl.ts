// -m ttl (libipt_ttl.c / ipt_ttl.c): --ttl-eq N (invertible), --ttl-lt N, --ttl-gt N.
import { MOD_TTL } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o } from './common.js';
import { parseUint } from '../util.js';

export interface TtlParams { mode: 'eq' | 'ne' | 'lt' | 'gt' | null; ttl: number }

export const ttl: MatchModule<TtlParams> = {
  kind: 'match',
  name: 'ttl',
  id: MOD_TTL,
  options: [o('--ttl-eq', true, true), o('--ttl-lt', true), o('--ttl-gt', true)],
  init: () => ({ mode: null, ttl: 0 }),
  parse(p, opt, args) {
    if (opt.name !== '--ttl-eq' && opt.name !== '--ttl-lt' && opt.name !== '--ttl-gt') return false;
    if (p.mode) return args.fail('ttl: only one of --ttl-eq, --ttl-lt, --ttl-gt allowed', opt.pos);
    const w = args.next(opt.name);
    const v = parseUint(w, 255);
    if (v === undefined) return args.fail(`ttl: bad TTL value '${w}'`);
    p.ttl = v;
    p.mode = opt.name === '--ttl-eq' ? (opt.invert ? 'ne' : 'eq') : opt.name === '--ttl-lt' ? 'lt' : 'gt';
    return true;
  },
  finalCheck(p, _rule, fail) {
    if (!p.mode) fail('ttl: one of --ttl-eq, --ttl-lt, --ttl-gt must be specified');
  },
  save(p) {
    const s = p.mode === 'eq' ? ' --ttl-eq' : p.mode === 'ne' ? ' ! --ttl-eq' : p.mode === 'lt' ? ' --ttl-lt' : ' --ttl-gt';
    return `${s} ${p.ttl}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
ttl.lower = (p) => [['eq', 'ne', 'lt', 'gt'].indexOf(p.mode ?? 'eq'), p.ttl];
