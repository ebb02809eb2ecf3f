// -j DNAT (libxt_NAT.c / xt_nat.c): nat table, PREROUTING and OUTPUT; --to-destination ip[-ip][:port[-port]],
// --random, --persistent (iptables 1.8.9 has no --random-fully for DNAT).
import { MOD_DNAT } from '../../layout.js';
import type { TargetModule } from './types.js';
import { o } from './common.js';
import { type NatRange, emptyRange, readNatSpec, natSpecText, flagsText, portProtoOk, NAT_PROTO_RANDOM, NAT_PERSISTENT, NAT_PROTO_SPECIFIED } from './nat.js';

export interface DnatParams { range: NatRange; given: boolean }

export const DNAT: TargetModule<DnatParams> = {
  kind: 'target',
  name: 'DNAT',
  id: MOD_DNAT,
  terminal: true,
  needsConntrack: true,
  tables: ['nat'],
  chains: ['PREROUTING', 'OUTPUT'],
  options: [o('--to-destination', true), o('--random', false), o('--persistent', false)],
  init: () => ({ range: emptyRange(), given: false }),
  parse(p, opt, args) {
    switch (opt.name) {
      case '--to-destination':
        if (p.given) return args.fail('DNAT: multiple --to-destination not supported', opt.pos);
        readNatSpec(p.range, args, '--to-destination');
        p.given = true;
        return true;
      case '--random': p.range.flags |= NAT_PROTO_RANDOM; return true;
      case '--persistent': p.range.flags |= NAT_PERSISTENT; return true;
    }
    return false;
  },
  finalCheck(p, rule, fail) {
    if (!p.given) fail('DNAT: --to-destination is required');
    if (p.range.flags & NAT_PROTO_SPECIFIED && !portProtoOk(rule)) fail('DNAT: need TCP, UDP, SCTP or DCCP with port specification');
  },
  save(p) {
    return ` --to-destination ${natSpecText(p.range)}${flagsText(p.range.flags, ['random', 'persistent'])}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
import { wireAddr } from '../../compile/wire.js';
DNAT.lower = (p) => [p.range.flags, wireAddr(p.range.minIp), wireAddr(p.range.maxIp), p.range.minPort, p.range.maxPort];
