// -m pkttype (libxt_pkttype.c / xt_pkttype.c): --pkt-type unicast|broadcast|multicast|host|otherhost...
import { MOD_PKTTYPE } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o, inv } from './common.js';

/** supported_types of libxt_pkttype.c (PACKET_* values), first name wins when printing. */
const TYPES: [string, number][] = [['unicast', 0], ['broadcast', 1], ['multicast', 2], ['host', 0], ['otherhost', 3], ['outgoing', 4], ['loopback', 5]];

export interface PkttypeParams { type: number; invert: boolean; set: boolean }

export const pkttype: MatchModule<PkttypeParams> = {
  kind: 'match',
  name: 'pkttype',
  id: MOD_PKTTYPE,
  options: [o('--pkt-type', true, true)],
  init: () => ({ type: 0, invert: false, set: false }),
  parse(p, opt, args) {
    if (opt.name !== '--pkt-type') return false;
    const w = args.next('--pkt-type');
    const e = TYPES.find(([n]) => n === w.toLowerCase());
    if (!e) return args.fail(`pkttype: bad packet type '${w}'`);
    Object.assign(p, { type: e[1], invert: opt.invert, set: true });
    return true;
  },
  finalCheck(p, _rule, fail) {
    if (!p.set) fail("pkttype: option '--pkt-type' must be specified");
  },
  save(p) {
    const name = TYPES.find(([, v]) => v === p.type)?.[0] ?? String(p.type);
    return `${inv(p.invert)} --pkt-type ${name}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
pkttype.lower = (p) => [p.type, p.invert ? 1 : 0];
