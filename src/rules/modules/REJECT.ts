// -j REJECT (libipt_REJECT.c / ipt_REJECT.c): filter table, INPUT/FORWARD/OUTPUT; --reject-with TYPE.
import { MOD_REJECT } from '../../layout.js';
import type { TargetModule } from './types.js';
import { o } from './common.js';
import { IPPROTO_TCP } from '../protocols.js';

/** reject_table: canonical name, alias. Index = the kernel's enum ipt_reject_with value. */
export const REJECT_TYPES: [string, string][] = [
  ['icmp-net-unreachable', 'net-unreach'], ['icmp-host-unreachable', 'host-unreach'],
  ['icmp-proto-unreachable', 'proto-unreach'], ['icmp-port-unreachable', 'port-unreach'],
  ['icmp-echo-reply', 'echoreply'], ['icmp-net-prohibited', 'net-prohib'], ['icmp-host-prohibited', 'host-prohib'],
  ['tcp-reset', 'tcp-rst'], ['icmp-admin-prohibited', 'admin-prohib'],
];
export const REJECT_TCP_RESET = 7;

export interface RejectParams { with: number }

export const REJECT: TargetModule<RejectParams> = {
  kind: 'target',
  name: 'REJECT',
  id: MOD_REJECT,
  terminal: true,
  tables: ['filter'],
  chains: ['INPUT', 'FORWARD', 'OUTPUT'],
  options: [o('--reject-with', true)],
  init: () => ({ with: 3 }),
  parse(p, opt, args) {
    if (opt.name !== '--reject-with') return false;
    const w = args.next('--reject-with');
    // libipt_REJECT: strncasecmp against name and alias with the argument's length: the first prefix match wins.
    const l = w.toLowerCase();
    const i = REJECT_TYPES.findIndex(([n, a]) => n.startsWith(l) || a.startsWith(l)); // '' = the first, as iptables
    if (i < 0 || i === 4) return args.fail(`REJECT: unknown reject type '${w}'`);
    p.with = i;
    return true;
  },
  finalCheck(p, rule, fail) {
    if (p.with === REJECT_TCP_RESET && (!rule.proto || rule.proto.proto !== IPPROTO_TCP || rule.proto.invert)) {
      fail('REJECT: --reject-with tcp-reset is only valid with -p tcp');
    }
  },
  save(p) {
    return ` --reject-with ${REJECT_TYPES[p.with][0]}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
REJECT.lower = (p) => [p.with]; // ipt_REJECT's enum order: assembly/modules/reject.ts
