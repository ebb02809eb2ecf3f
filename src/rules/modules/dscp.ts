// -m dscp (libxt_dscp.c / xt_dscp.c): --dscp 0..63 or --dscp-class NAME; compares (tos >> 2).
import { MOD_DSCP } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o, inv } from './common.js';
import { parseUint } from '../util.js';

/** ds_classes of libxt_dscp_helper.c. */
const CLASSES: [string, number][] = [
  ['CS0', 0x00], ['CS1', 0x08], ['CS2', 0x10], ['CS3', 0x18], ['CS4', 0x20], ['CS5', 0x28], ['CS6', 0x30], ['CS7', 0x38],
  ['BE', 0x00], ['AF11', 0x0a], ['AF12', 0x0c], ['AF13', 0x0e], ['AF21', 0x12], ['AF22', 0x14], ['AF23', 0x16],
  ['AF31', 0x1a], ['AF32', 0x1c], ['AF33', 0x1e], ['AF41', 0x22], ['AF42', 0x24], ['AF43', 0x26], ['EF', 0x2e],
];

export interface DscpParams { dscp: number; invert: boolean; set: boolean }

export const dscp: MatchModule<DscpParams> = {
  kind: 'match',
  name: 'dscp',
  id: MOD_DSCP,
  options: [o('--dscp', true, true), o('--dscp-class', true, true)],
  init: () => ({ dscp: 0, invert: false, set: false }),
  parse(p, opt, args) {
    if (opt.name !== '--dscp' && opt.name !== '--dscp-class') return false;
    if (p.set) return args.fail('dscp: only one of --dscp and --dscp-class allowed', opt.pos);
    const w = args.next(opt.name);
    let v: number | undefined;
    if (opt.name === '--dscp') v = parseUint(w, 63);
    else v = CLASSES.find(([n]) => n === w.toUpperCase())?.[1];
    if (v === undefined) return args.fail(`dscp: bad ${opt.name} value '${w}'`);
    Object.assign(p, { dscp: v, invert: opt.invert, set: true });
    return true;
  },
  finalCheck(p, _rule, fail) {
    if (!p.set) fail('dscp: one of --dscp or --dscp-class must be specified');
  },
  save(p) {
    return `${inv(p.invert)} --dscp 0x${p.dscp.toString(16).padStart(2, '0')}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
dscp.lower = (p) => [p.dscp, p.invert ? 1 : 0];
