// -j CT --notrack and -j NOTRACK (libxt_CT.c / xt_CT.c): raw table; the packet skips conntrack (UNTRACKED).
// -j CT without options (a template with nothing set: no effect) is accepted as iptables does. Other CT
// options (helpers, zones, timeouts, events) are refused with an error naming them.
import { MOD_CT } from '../../layout.js';
import type { TargetModule } from './types.js';
import { o } from './common.js';

export interface CtParams { notrack: boolean }

const OTHER = ['--helper', '--ctevents', '--expevents', '--zone', '--zone-orig', '--zone-reply', '--timeout'];

export const CT: TargetModule<CtParams> = {
  kind: 'target',
  name: 'CT',
  id: MOD_CT,
  terminal: false,
  tables: ['raw'],
  options: [o('--notrack', false), ...OTHER.map((n) => o(n, true))],
  init: () => ({ notrack: false }),
  parse(p, opt, args) {
    if (opt.name === '--notrack') { p.notrack = true; return true; }
    if (OTHER.includes(opt.name)) return args.fail(`CT: option '${opt.name}' is not supported (only --notrack)`, opt.pos);
    return false;
  },
  save: (p) => (p.notrack ? ' --notrack' : ''),
};

/** -j NOTRACK: the same as CT --notrack; iptables-save prints it as -j NOTRACK. */
export const NOTRACK: TargetModule<CtParams> = {
  kind: 'target',
  name: 'NOTRACK',
  id: MOD_CT,
  terminal: false,
  tables: ['raw'],
  options: [],
  init: () => ({ notrack: true }),
  parse: () => false,
  save: () => '',
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
CT.lower = (p) => [p.notrack ? 1 : 0];
NOTRACK.lower = () => [1];
