// -m icmp (libipt_icmp.c / ip_tables.c icmp_match): --icmp-type NAME | TYPE[/CODE] | any.
import { MOD_ICMP } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o, inv } from './common.js';
import { parseUint } from '../util.js';
import { IPPROTO_ICMP } from '../protocols.js';

export interface IcmpParams {
  /** 0xFF = any type. */
  type: number;
  codeMin: number;
  codeMax: number;
  invert: boolean;
  set: boolean;
}

/** xtables' icmp_codes: name, type, code range. Names match by case-insensitive unique prefix. */
const CODES: [string, number, number, number][] = [
  ['any', 0xff, 0, 0xff], ['echo-reply', 0, 0, 0xff], ['pong', 0, 0, 0xff],
  ['destination-unreachable', 3, 0, 0xff], ['network-unreachable', 3, 0, 0], ['host-unreachable', 3, 1, 1],
  ['protocol-unreachable', 3, 2, 2], ['port-unreachable', 3, 3, 3], ['fragmentation-needed', 3, 4, 4],
  ['source-route-failed', 3, 5, 5], ['network-unknown', 3, 6, 6], ['host-unknown', 3, 7, 7],
  ['network-prohibited', 3, 9, 9], ['host-prohibited', 3, 10, 10], ['TOS-network-unreachable', 3, 11, 11],
  ['TOS-host-unreachable', 3, 12, 12], ['communication-prohibited', 3, 13, 13],
  ['host-precedence-violation', 3, 14, 14], ['precedence-cutoff', 3, 15, 15], ['source-quench', 4, 0, 0xff],
  ['redirect', 5, 0, 0xff], ['network-redirect', 5, 0, 0], ['host-redirect', 5, 1, 1],
  ['TOS-network-redirect', 5, 2, 2], ['TOS-host-redirect', 5, 3, 3], ['echo-request', 8, 0, 0xff],
  ['ping', 8, 0, 0xff], ['router-advertisement', 9, 0, 0xff], ['router-solicitation', 10, 0, 0xff],
  ['time-exceeded', 11, 0, 0xff], ['ttl-exceeded', 11, 0, 0xff], ['ttl-zero-during-transit', 11, 0, 0],
  ['ttl-zero-during-reassembly', 11, 1, 1], ['parameter-problem', 12, 0, 0xff], ['ip-header-bad', 12, 0, 0],
  ['required-option-missing', 12, 1, 1], ['timestamp-request', 13, 0, 0xff], ['timestamp-reply', 14, 0, 0xff],
  ['address-mask-request', 17, 0, 0xff], ['address-mask-reply', 18, 0, 0xff],
];

export const icmp: MatchModule<IcmpParams> = {
  kind: 'match',
  name: 'icmp',
  id: MOD_ICMP,
  requiresProto: [IPPROTO_ICMP],
  options: [o('--icmp-type', true, true)],
  init: () => ({ type: 0, codeMin: 0, codeMax: 0xff, invert: false, set: false }),
  parse(p, opt, args) {
    if (opt.name !== '--icmp-type') return false;
    if (p.set) return args.fail('icmp: only one --icmp-type allowed', opt.pos);
    const w = args.next('--icmp-type');
    p.set = true;
    p.invert = opt.invert;
    if (/^[0-9]/.test(w)) {
      const [t, c, extra] = w.split('/');
      const tv = parseUint(t, 255);
      const cv = c === undefined ? undefined : parseUint(c, 255);
      if (tv === undefined || (c !== undefined && cv === undefined) || extra !== undefined) return args.fail(`invalid ICMP type '${w}'`);
      p.type = tv;
      if (cv !== undefined) p.codeMin = p.codeMax = cv;
      return true;
    }
    const hits = CODES.filter(([n]) => n.toLowerCase().startsWith(w.toLowerCase()));
    const exact = hits.find(([n]) => n.toLowerCase() === w.toLowerCase());
    const pick = exact ?? (hits.length === 1 ? hits[0] : undefined);
    if (!pick) return args.fail(hits.length > 1 ? `ambiguous ICMP type '${w}'` : `invalid ICMP type '${w}'`);
    [, p.type, p.codeMin, p.codeMax] = pick;
    return true;
  },
  finalCheck(p, _rule, fail) {
    if (!p.set) fail("icmp: option '--icmp-type' must be specified");
  },
  save(p) {
    if (p.type === 0xff) return `${inv(p.invert)} --icmp-type any`;
    const code = p.codeMin !== 0 || p.codeMax !== 0xff ? `/${p.codeMin}` : '';
    return `${inv(p.invert)} --icmp-type ${p.type}${code}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
icmp.lower = (p) => (p.set ? [p.type, p.codeMin, p.codeMax, p.invert ? 1 : 0] : [0xff, 0, 0xff, p.invert ? 1 : 0]);
