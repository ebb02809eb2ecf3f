// -j SNAT (libxt_NAT.c / xt_nat.c): nat table, POSTROUTING and INPUT; --to-source ip[-ip][:port[-port]],
// --random, --random-fully, --persistent.
import { MOD_SNAT } from '../../layout.js';
import type { TargetModule } from './types.js';
import { o } from './common.js';
import { type NatRange, emptyRange, readNatSpec, natSpecText, flagsText, portProtoOk, NAT_PROTO_RANDOM, NAT_PERSISTENT,
  NAT_PROTO_RANDOM_FULLY, NAT_PROTO_SPECIFIED } from './nat.js';

export interface SnatParams { range: NatRange; given: boolean }

export const SNAT: TargetModule<SnatParams> = {
  kind: 'target',
  name: 'SNAT',
  id: MOD_SNAT,
  terminal: true,
  needsConntrack: true,
  tables: ['nat'],
  chains: ['POSTROUTING', 'INPUT'],
  options: [o('--to-source', true), o('--random', false), o('--random-fully', false), o('--persistent', false)],
  init: () => ({ range: emptyRange(), given: false }),
  parse(p, opt, args) {
    switch (opt.name) {
      case '--to-source':
        if (p.given) return args.fail('SNAT: multiple --to-source not supported', opt.pos);
        readNatSpec(p.range, args, '--to-source');
        p.given = true;
        return true;
      case '--random': p.range.flags |= NAT_PROTO_RANDOM; return true;
      case '--random-fully': p.range.flags |= NAT_PROTO_RANDOM_FULLY; return true;
      case '--persistent': p.range.flags |= NAT_PERSISTENT; return true;
    }
    return false;
  },
  finalCheck(p, rule, fail) {
    if (!p.given) fail('SNAT: --to-source is required');
    if (p.range.flags & NAT_PROTO_SPECIFIED && !portProtoOk(rule)) fail('SNAT: need TCP, UDP, SCTP or DCCP with port specification');
  },
  save(p) {
    return ` --to-source ${natSpecText(p.range)}${flagsText(p.range.flags, ['random', 'random-fully', 'persistent'])}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
import { wireAddr } from '../../compile/wire.js';
SNAT.lower = (p) => [p.range.flags, wireAddr(p.range.minIp), wireAddr(p.range.maxIp), p.range.minPort, p.range.maxPort];
