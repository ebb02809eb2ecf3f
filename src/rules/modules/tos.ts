// -m tos (libxt_tos.c revision 1 / xt_dscp.c tos_mt): --tos value[/mask] or a symbolic name (mask 0x3f);
// matches ((tos & mask) == value) ^ invert.
import { MOD_TOS } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o, inv } from './common.js';
import { parseUint } from '../util.js';

const NAMES: [string, number][] = [
  ['Minimize-Delay', 0x10], ['Maximize-Throughput', 0x08], ['Maximize-Reliability', 0x04], ['Minimize-Cost', 0x02], ['Normal-Service', 0x00],
];

export interface TosParams { value: number; mask: number; invert: boolean; set: boolean }

export const tos: MatchModule<TosParams> = {
  kind: 'match',
  name: 'tos',
  id: MOD_TOS,
  options: [o('--tos', true, true)],
  init: () => ({ value: 0, mask: 0xff, invert: false, set: false }),
  parse(p, opt, args) {
    if (opt.name !== '--tos') return false;
    const w = args.next('--tos');
    const named = NAMES.find(([n]) => n.toLowerCase() === w.toLowerCase());
    let value: number | undefined;
    let mask: number | undefined = 0xff;
    if (named) { value = named[1]; mask = 0x3f; } else {
      const [a, b, extra] = w.split('/');
      value = parseUint(a, 255);
      if (b !== undefined) mask = parseUint(b, 255);
      if (extra !== undefined) value = undefined;
    }
    if (value === undefined || mask === undefined) return args.fail(`tos: bad --tos value '${w}'`);
    Object.assign(p, { value, mask, invert: opt.invert, set: true });
    return true;
  },
  finalCheck(p, _rule, fail) {
    if (!p.set) fail("tos: option '--tos' must be specified");
  },
  save(p) {
    const h = (v: number) => `0x${v.toString(16).padStart(2, '0')}`;
    return `${inv(p.invert)} --tos ${h(p.value)}/${h(p.mask)}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
tos.lower = (p) => [p.value, p.mask, p.invert ? 1 : 0];
