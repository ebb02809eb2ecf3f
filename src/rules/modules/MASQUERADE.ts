// -j MASQUERADE (libxt_MASQUERADE.c / xt_MASQUERADE.c): nat table, POSTROUTING; --to-ports p[-p], --random, --random-fully.
import { MOD_MASQUERADE } from '../../layout.js';
import type { TargetModule } from './types.js';
import { o } from './common.js';
import { type NatRange, emptyRange, readPorts, portsText, flagsText, portProtoOk, NAT_PROTO_RANDOM, NAT_PROTO_RANDOM_FULLY,
  NAT_PROTO_SPECIFIED } from './nat.js';

export interface MasqueradeParams { range: NatRange }

export const MASQUERADE: TargetModule<MasqueradeParams> = {
  kind: 'target',
  name: 'MASQUERADE',
  id: MOD_MASQUERADE,
  terminal: true,
  needsConntrack: true,
  tables: ['nat'],
  chains: ['POSTROUTING'],
  options: [o('--to-ports', true), o('--random', false), o('--random-fully', false)],
  init: () => ({ range: emptyRange() }),
  parse(p, opt, args) {
    switch (opt.name) {
      case '--to-ports': readPorts(p.range, args.next('--to-ports'), args, 'MASQUERADE --to-ports'); return true;
      case '--random': p.range.flags |= NAT_PROTO_RANDOM; return true;
      case '--random-fully': p.range.flags |= NAT_PROTO_RANDOM_FULLY; return true;
    }
    return false;
  },
  finalCheck(p, rule, fail) {
    if (p.range.flags & NAT_PROTO_SPECIFIED && !portProtoOk(rule)) fail('MASQUERADE: need TCP, UDP, SCTP or DCCP with port specification');
  },
  save(p) {
    const ports = p.range.flags & NAT_PROTO_SPECIFIED ? ` --to-ports ${portsText(p.range)}` : '';
    return `${ports}${flagsText(p.range.flags, ['random', 'random-fully'])}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
MASQUERADE.lower = (p) => [p.range.flags, p.range.minPort, p.range.maxPort];
