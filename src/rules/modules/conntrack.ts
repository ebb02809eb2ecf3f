// -m conntrack (libxt_conntrack.c revision 3 / xt_conntrack.c) and -m state (same library, xt_state.c).
import { MOD_CONNTRACK, MOD_STATE, CTS_INVALID, CTS_NEW, CTS_RELATED, CTS_ESTABLISHED, CTS_UNTRACKED, CTS_SNAT, CTS_DNAT,
  IPS_EXPECTED, IPS_SEEN_REPLY, IPS_ASSURED, IPS_CONFIRMED } from '../../layout.js';
import type { ArgReader, MatchModule } from './types.js';
import { o, inv } from './common.js';
import { parseAddrMask, parseDec, parsePortRange, ipv4ToString, maskToPrefix } from '../util.js';
import { parseProto } from '../protocols.js';

/** State names in the order iptables prints them. */
export const STATES: [string, number][] = [
  ['INVALID', CTS_INVALID], ['NEW', CTS_NEW], ['RELATED', CTS_RELATED], ['ESTABLISHED', CTS_ESTABLISHED],
  ['UNTRACKED', CTS_UNTRACKED], ['SNAT', CTS_SNAT], ['DNAT', CTS_DNAT],
];
const STATUS: [string, number][] = [
  ['EXPECTED', IPS_EXPECTED], ['SEEN_REPLY', IPS_SEEN_REPLY], ['ASSURED', IPS_ASSURED], ['CONFIRMED', IPS_CONFIRMED],
];

/** Address and mask as given (not masked: iptables-save prints them back unmasked). */
export interface CtAddr { addr: number; mask: number; invert: boolean }
export interface CtRange { min: number; max: number; invert: boolean }

export interface ConntrackParams {
  /** CTS_* bits. */
  state: { mask: number; invert: boolean } | null;
  proto: { proto: number; invert: boolean } | null;
  origSrc: CtAddr | null;
  origDst: CtAddr | null;
  replSrc: CtAddr | null;
  replDst: CtAddr | null;
  origSrcPort: CtRange | null;
  origDstPort: CtRange | null;
  replSrcPort: CtRange | null;
  replDstPort: CtRange | null;
  /** IPS_* bits. */
  status: { mask: number; invert: boolean } | null;
  /** Remaining lifetime in seconds. */
  expire: CtRange | null;
  /** --ctdir ORIGINAL | REPLY. */
  dir: 'ORIGINAL' | 'REPLY' | null;
}

function readBits(args: ArgReader, what: string, table: [string, number][], allowNone: boolean): number {
  const w = args.next(what);
  let v = 0;
  for (const part of w.split(',')) {
    if (allowNone && part.toUpperCase() === 'NONE') continue;
    const e = table.find(([n]) => n === part.toUpperCase());
    if (!e) return args.fail(`bad ${what} value '${part}'`);
    v |= e[1];
  }
  return v;
}

function bitsText(v: number, table: [string, number][], none: string): string {
  const names = table.filter(([, b]) => (v & b) !== 0).map(([n]) => n);
  return names.length ? names.join(',') : none;
}

function readAddr(args: ArgReader, opt: string, invert: boolean): CtAddr {
  const w = args.next(opt);
  const r = parseAddrMask(w, false, true); // kept as given (the kernel masks when comparing); inet_aton syntax
  if (typeof r === 'string') return args.fail(`${opt}: ${r}`);
  return { addr: r.addr, mask: r.mask, invert };
}

function addrText(a: CtAddr): string {
  const p = maskToPrefix(a.mask);
  const m = p === 32 ? '' : p >= 0 ? `/${p}` : `/${ipv4ToString(a.mask)}`;
  return `${ipv4ToString(a.addr)}${m}`;
}

function readRange(args: ArgReader, opt: string, invert: boolean, ports: boolean): CtRange {
  const w = args.next(opt);
  if (ports) {
    const r = parsePortRange(w, true);
    if (typeof r === 'string') return args.fail(`${opt}: ${r}`);
    return { min: r[0], max: r[1], invert };
  }
  const [a, b, extra] = w.split(':');
  const min = parseDec(a);
  const max = b === undefined ? min : parseDec(b);
  if (min === undefined || max === undefined || extra !== undefined || min > max) return args.fail(`bad ${opt} value '${w}'`);
  return { min, max, invert };
}

function rangeText(r: CtRange): string {
  return r.min === r.max ? `${r.min}` : `${r.min}:${r.max}`;
}

export const conntrack: MatchModule<ConntrackParams> = {
  kind: 'match',
  name: 'conntrack',
  id: MOD_CONNTRACK,
  needsConntrack: true,
  options: [o('--ctstate', true, true), o('--ctproto', true, true), o('--ctorigsrc', true, true), o('--ctorigdst', true, true),
    o('--ctreplsrc', true, true), o('--ctrepldst', true, true), o('--ctorigsrcport', true, true), o('--ctorigdstport', true, true),
    o('--ctreplsrcport', true, true), o('--ctrepldstport', true, true), o('--ctstatus', true, true), o('--ctexpire', true, true),
    o('--ctdir', true, false)],
  init: () => ({ state: null, proto: null, origSrc: null, origDst: null, replSrc: null, replDst: null, origSrcPort: null,
    origDstPort: null, replSrcPort: null, replDstPort: null, status: null, expire: null, dir: null }),
  parse(p, opt, args) {
    const i = opt.invert;
    switch (opt.name) {
      case '--ctstate': p.state = { mask: readBits(args, '--ctstate', STATES, false), invert: i }; return true;
      case '--ctproto': {
        const w = args.next('--ctproto');
        const n = parseProto(w);
        if (n === undefined) return args.fail(`unknown protocol '${w}'`);
        p.proto = { proto: n, invert: i };
        return true;
      }
      case '--ctorigsrc': p.origSrc = readAddr(args, opt.name, i); return true;
      case '--ctorigdst': p.origDst = readAddr(args, opt.name, i); return true;
      case '--ctreplsrc': p.replSrc = readAddr(args, opt.name, i); return true;
      case '--ctrepldst': p.replDst = readAddr(args, opt.name, i); return true;
      case '--ctorigsrcport': p.origSrcPort = readRange(args, opt.name, i, true); return true;
      case '--ctorigdstport': p.origDstPort = readRange(args, opt.name, i, true); return true;
      case '--ctreplsrcport': p.replSrcPort = readRange(args, opt.name, i, true); return true;
      case '--ctrepldstport': p.replDstPort = readRange(args, opt.name, i, true); return true;
      case '--ctstatus': p.status = { mask: readBits(args, '--ctstatus', STATUS, true), invert: i }; return true;
      case '--ctexpire': p.expire = readRange(args, opt.name, i, false); return true;
      case '--ctdir': {
        const w = args.next('--ctdir');
        const u = w.toUpperCase();
        if (u !== 'ORIGINAL' && u !== 'REPLY') return args.fail(`bad --ctdir value '${w}' (ORIGINAL or REPLY)`);
        p.dir = u as 'ORIGINAL' | 'REPLY';
        return true;
      }
    }
    return false;
  },
  finalCheck(p, _rule, fail) {
    if (!p.state && !p.proto && !p.origSrc && !p.origDst && !p.replSrc && !p.replDst && !p.origSrcPort && !p.origDstPort
      && !p.replSrcPort && !p.replDstPort && !p.status && !p.expire && !p.dir) fail('conntrack: at least one option is required');
  },
  save(p) {
    let s = '';
    if (p.state) s += `${inv(p.state.invert)} --ctstate ${bitsText(p.state.mask, STATES, '')}`;
    if (p.proto) s += `${inv(p.proto.invert)} --ctproto ${p.proto.proto}`;
    const a = (x: CtAddr | null, n: string) => { if (x) s += `${inv(x.invert)} ${n} ${addrText(x)}`; };
    a(p.origSrc, '--ctorigsrc'); a(p.origDst, '--ctorigdst'); a(p.replSrc, '--ctreplsrc'); a(p.replDst, '--ctrepldst');
    const r = (x: CtRange | null, n: string) => { if (x) s += `${inv(x.invert)} ${n} ${rangeText(x)}`; };
    r(p.origSrcPort, '--ctorigsrcport'); r(p.origDstPort, '--ctorigdstport');
    r(p.replSrcPort, '--ctreplsrcport'); r(p.replDstPort, '--ctrepldstport');
    if (p.status) s += `${inv(p.status.invert)} --ctstatus ${bitsText(p.status.mask, STATUS, 'NONE')}`;
    r(p.expire, '--ctexpire');
    if (p.dir) s += ` --ctdir ${p.dir}`;
    return s;
  },
};

export interface StateParams {
  /** CTS_* bits (INVALID, NEW, RELATED, ESTABLISHED, UNTRACKED only). */
  mask: number;
  invert: boolean;
  set: boolean;
}

export const state: MatchModule<StateParams> = {
  kind: 'match',
  name: 'state',
  id: MOD_STATE,
  needsConntrack: true,
  options: [o('--state', true, true)],
  init: () => ({ mask: 0, invert: false, set: false }),
  parse(p, opt, args) {
    if (opt.name !== '--state') return false;
    p.mask = readBits(args, '--state', STATES.slice(0, 5), false);
    p.invert = opt.invert;
    p.set = true;
    return true;
  },
  finalCheck(p, _rule, fail) {
    if (!p.set) fail("state: option '--state' must be specified");
  },
  save(p) {
    return `${inv(p.invert)} --state ${bitsText(p.mask, STATES, '')}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
import { wireAddr } from '../../compile/wire.js';
conntrack.lower = (p) => {
  // 24 words, see assembly/modules/conntrack.ts; XT_CONNTRACK_* bits
  const w = new Array(24).fill(0);
  let mf = 0, inv = 0;
  const flag = (x: { invert?: boolean } | null, bit: number) => {
    if (!x) return false;
    mf |= bit;
    if (x.invert) inv |= bit;
    return true;
  };
  if (flag(p.state, 1)) w[2] = p.state!.mask;
  if (flag(p.proto, 2)) w[3] = p.proto!.proto;
  const addr = (a: CtAddr | null, bit: number, k: number) => { if (flag(a, bit)) { w[k] = wireAddr(a!.addr & a!.mask); w[k + 1] = wireAddr(a!.mask); } };
  addr(p.origSrc, 4, 4); addr(p.origDst, 8, 6); addr(p.replSrc, 16, 8); addr(p.replDst, 32, 10);
  const port = (r: CtRange | null, bit: number, k: number) => { if (flag(r, bit)) { w[k] = r!.min; w[k + 1] = r!.max; } };
  port(p.origSrcPort, 256, 12); port(p.origDstPort, 512, 14); port(p.replSrcPort, 1024, 16); port(p.replDstPort, 2048, 18);
  if (flag(p.status, 64)) w[20] = p.status!.mask;
  if (flag(p.expire, 128)) { w[21] = p.expire!.min; w[22] = p.expire!.max; }
  if (p.dir) { mf |= 4096; if (p.dir === 'REPLY') inv |= 4096; }
  w[0] = mf; w[1] = inv;
  return w;
};
/** state: [mask]; an inverted --state is the complemented mask, as libxt_state stores it */
state.lower = (p) => [p.invert ? ~p.mask & 0x1f : p.mask];
