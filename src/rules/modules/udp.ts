// -m udp (libxt_udp.c / xt_tcpudp.c): --sport --dport with ranges.
import { MOD_UDP } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o, readPortRange, portsText, inv } from './common.js';
import { IPPROTO_UDP } from '../protocols.js';

export interface PortsParams {
  sport: [number, number] | null;
  sportInv: boolean;
  dport: [number, number] | null;
  dportInv: boolean;
}

/** x6: udp's port parsing (decimal, truncated to 16 bits, min > max kept); sctp parses like tcp. */
export function portsModule(name: string, id: number, proto: number, x6: boolean): MatchModule<PortsParams> {
  return {
    kind: 'match',
    name,
    id,
    requiresProto: [proto],
    options: [o('--source-port', true, true, '--sport'), o('--sport', true, true), o('--destination-port', true, true, '--dport'), o('--dport', true, true)],
    init: () => ({ sport: null, sportInv: false, dport: null, dportInv: false }),
    parse(p, opt, args) {
      if (opt.name === '--sport' || opt.name === '--source-port') {
        if (p.sport) return args.fail(`${name}: only one --sport allowed`, opt.pos);
        p.sport = readPortRange(args, opt.name, x6);
        p.sportInv = opt.invert;
        return true;
      }
      if (opt.name === '--dport' || opt.name === '--destination-port') {
        if (p.dport) return args.fail(`${name}: only one --dport allowed`, opt.pos);
        p.dport = readPortRange(args, opt.name, x6);
        p.dportInv = opt.invert;
        return true;
      }
      return false;
    },
    save(p) {
      let s = '';
      if (p.sport && !(p.sport[0] === 0 && p.sport[1] === 0xffff)) s += `${inv(p.sportInv)} --sport ${portsText(p.sport)}`;
      if (p.dport && !(p.dport[0] === 0 && p.dport[1] === 0xffff)) s += `${inv(p.dportInv)} --dport ${portsText(p.dport)}`;
      return s;
    },
  };
}

export const udp = portsModule('udp', MOD_UDP, IPPROTO_UDP, true);

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
/** udp / sctp: [spmin, spmax, dpmin, dpmax, invflags] (assembly/modules/tcpudp.ts udpMatch) */
export function lowerPorts(p: PortsParams): number[] {
  return [p.sport ? p.sport[0] : 0, p.sport ? p.sport[1] : 65535, p.dport ? p.dport[0] : 0, p.dport ? p.dport[1] : 65535,
    (p.sportInv ? 1 : 0) | (p.dportInv ? 2 : 0)];
}
udp.lower = lowerPorts;
