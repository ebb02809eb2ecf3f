// -j REDIRECT (libxt_REDIRECT.c / xt_REDIRECT.c): nat table, PREROUTING and OUTPUT; --to-ports p[-p], --random.
import { MOD_REDIRECT } from '../../layout.js';
import type { TargetModule } from './types.js';
import { o } from './common.js';
import { type NatRange, emptyRange, readPorts, portsText, flagsText, portProtoOk, NAT_PROTO_RANDOM, NAT_PROTO_SPECIFIED } from './nat.js';

export interface RedirectParams { range: NatRange }

export const REDIRECT: TargetModule<RedirectParams> = {
  kind: 'target',
  name: 'REDIRECT',
  id: MOD_REDIRECT,
  terminal: true,
  needsConntrack: true,
  tables: ['nat'],
  chains: ['PREROUTING', 'OUTPUT'],
  options: [o('--to-ports', true), o('--random', false)],
  init: () => ({ range: emptyRange() }),
  parse(p, opt, args) {
    switch (opt.name) {
      case '--to-ports': readPorts(p.range, args.next('--to-ports'), args, 'REDIRECT --to-ports'); return true;
      case '--random': p.range.flags |= NAT_PROTO_RANDOM; return true;
    }
    return false;
  },
  finalCheck(p, rule, fail) {
    if (p.range.flags & NAT_PROTO_SPECIFIED && !portProtoOk(rule)) fail('REDIRECT: need TCP, UDP, SCTP or DCCP with port specification');
  },
  save(p) {
    const ports = p.range.flags & NAT_PROTO_SPECIFIED ? ` --to-ports ${portsText(p.range)}` : '';
    return `${ports}${flagsText(p.range.flags, ['random'])}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
REDIRECT.lower = (p) => [p.range.flags, p.range.minPort, p.range.maxPort];
