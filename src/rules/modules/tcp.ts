// -m tcp (libxt_tcp.c / xt_tcpudp.c): --sport --dport (ranges), --tcp-flags, --syn, --tcp-option.
import { MOD_TCP } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o, readPortRange, portsText, inv } from './common.js';
import { parseUint } from '../util.js';
import { IPPROTO_TCP } from '../protocols.js';

export interface TcpParams {
  sport: [number, number] | null;
  sportInv: boolean;
  dport: [number, number] | null;
  dportInv: boolean;
  /** --tcp-flags mask / comparison (FIN 1 SYN 2 RST 4 PSH 8 ACK 16 URG 32); mask 0 = no test. */
  flagsMask: number;
  flagsCmp: number;
  flagsInv: boolean;
  /** --tcp-option number, 0 = none. */
  option: number;
  optionInv: boolean;
}

/** tcp_flag_names in libxt_tcp.c, in print order. */
const FLAGS: [string, number][] = [
  ['FIN', 0x01], ['SYN', 0x02], ['RST', 0x04], ['PSH', 0x08], ['ACK', 0x10], ['URG', 0x20], ['ALL', 0x3f], ['NONE', 0],
];

function parseFlags(s: string, fail: (m: string) => never): number {
  let v = 0;
  for (const f of s.split(',')) {
    const e = FLAGS.find(([n]) => n.toLowerCase() === f.toLowerCase());
    if (!e) fail(`unknown TCP flag '${f}'`);
    v |= e[1];
  }
  return v;
}

export function flagsText(flags: number): string {
  const names: string[] = [];
  let f = flags;
  while (f) {
    const e = FLAGS.find(([, b]) => (f & b) !== 0)!;
    names.push(e[0]);
    f &= ~e[1];
  }
  return names.length ? names.join(',') : 'NONE';
}

export const tcp: MatchModule<TcpParams> = {
  kind: 'match',
  name: 'tcp',
  id: MOD_TCP,
  requiresProto: [IPPROTO_TCP],
  options: [o('--source-port', true, true, '--sport'), o('--sport', true, true), o('--destination-port', true, true, '--dport'),
    o('--dport', true, true), o('--tcp-flags', true, true), o('--syn', false, true), o('--tcp-option', true, true)],
  init: () => ({ sport: null, sportInv: false, dport: null, dportInv: false, flagsMask: 0, flagsCmp: 0, flagsInv: false, option: 0, optionInv: false }),
  parse(p, opt, args) {
    switch (opt.name) {
      case '--source-port':
      case '--sport':
        if (p.sport) return args.fail(`tcp: only one --sport allowed`, opt.pos);
        p.sport = readPortRange(args, opt.name);
        p.sportInv = opt.invert;
        return true;
      case '--destination-port':
      case '--dport':
        if (p.dport) return args.fail(`tcp: only one --dport allowed`, opt.pos);
        p.dport = readPortRange(args, opt.name);
        p.dportInv = opt.invert;
        return true;
      case '--syn':
      case '--tcp-flags': {
        if (p.flagsMask || p.flagsInv) return args.fail(`tcp: only one of --syn or --tcp-flags allowed`, opt.pos);
        if (opt.name === '--syn') {
          p.flagsMask = 0x17; // FIN,SYN,RST,ACK
          p.flagsCmp = 0x02;
        } else {
          const m = args.next('--tcp-flags mask');
          p.flagsMask = parseFlags(m, (msg) => args.fail(msg));
          const c = args.next('--tcp-flags comparison');
          p.flagsCmp = parseFlags(c, (msg) => args.fail(msg));
        }
        p.flagsInv = opt.invert;
        return true;
      }
      case '--tcp-option': {
        const w = args.next('--tcp-option');
        const v = parseUint(w, 255);
        if (v === undefined || v === 0) return args.fail(`bad TCP option number '${w}'`);
        p.option = v;
        p.optionInv = opt.invert;
        return true;
      }
    }
    return false;
  },
  save(p) {
    let s = '';
    if (p.sport && !(p.sport[0] === 0 && p.sport[1] === 0xffff)) s += `${inv(p.sportInv)} --sport ${portsText(p.sport)}`;
    if (p.dport && !(p.dport[0] === 0 && p.dport[1] === 0xffff)) s += `${inv(p.dportInv)} --dport ${portsText(p.dport)}`;
    if (p.option || p.optionInv) s += `${inv(p.optionInv)} --tcp-option ${p.option}`;
    if (p.flagsMask || p.flagsInv) s += `${inv(p.flagsInv)} --tcp-flags ${flagsText(p.flagsMask)} ${flagsText(p.flagsCmp)}`;
    return s;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
tcp.lower = (p) => [ // (no spreads: an iterator per port range was most of the compile's garbage)
  p.sport ? p.sport[0] : 0, p.sport ? p.sport[1] : 65535, p.dport ? p.dport[0] : 0, p.dport ? p.dport[1] : 65535,
  p.flagsMask, p.flagsCmp, p.option,
  (p.sportInv ? 1 : 0) | (p.dportInv ? 2 : 0) | (p.flagsInv ? 4 : 0) | (p.optionInv ? 8 : 0),
]; // assembly/modules/tcpudp.ts tcpMatch
