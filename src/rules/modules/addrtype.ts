// -m addrtype (libxt_addrtype.c revision 1 / xt_addrtype.c): --src-type, --dst-type, --limit-iface-in/out.
import { MOD_ADDRTYPE } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o, inv } from './common.js';

/** rtn_names in order; bit i = 1 << i (RTN_UNSPEC..RTN_XRESOLVE). */
export const ADDR_TYPES = ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE',
  'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE'];

export interface AddrtypeParams {
  /** Bit (1 << RTN_x) sets; 0 = no test. */
  src: number;
  srcInv: boolean;
  dst: number;
  dstInv: boolean;
  limitIfaceIn: boolean;
  limitIfaceOut: boolean;
}

function types(v: number): string {
  return ADDR_TYPES.filter((_, i) => (v & (1 << i)) !== 0).join(',');
}

export const addrtype: MatchModule<AddrtypeParams> = {
  kind: 'match',
  name: 'addrtype',
  id: MOD_ADDRTYPE,
  options: [o('--src-type', true, true), o('--dst-type', true, true), o('--limit-iface-in', false), o('--limit-iface-out', false)],
  init: () => ({ src: 0, srcInv: false, dst: 0, dstInv: false, limitIfaceIn: false, limitIfaceOut: false }),
  parse(p, opt, args) {
    if (opt.name === '--src-type' || opt.name === '--dst-type') {
      const w = args.next(opt.name);
      let v = 0;
      for (const part of w.split(',')) {
        const i = ADDR_TYPES.indexOf(part.toUpperCase());
        if (i < 0) return args.fail(`addrtype: unknown address type '${part}'`);
        v |= 1 << i;
      }
      if (opt.name === '--src-type') { p.src = v; p.srcInv = opt.invert; } else { p.dst = v; p.dstInv = opt.invert; }
      return true;
    }
    if (opt.name === '--limit-iface-in') { p.limitIfaceIn = true; return true; }
    if (opt.name === '--limit-iface-out') { p.limitIfaceOut = true; return true; }
    return false;
  },
  finalCheck(p, _rule, fail) {
    if (!p.src && !p.dst) fail('addrtype: you must specify --src-type or --dst-type');
    if (p.limitIfaceIn && p.limitIfaceOut) fail('addrtype: you can\'t specify both --limit-iface-in and --limit-iface-out');
  },
  hooks(p) {
    if (p.limitIfaceIn) return ['PREROUTING', 'INPUT', 'FORWARD'];
    if (p.limitIfaceOut) return ['POSTROUTING', 'OUTPUT', 'FORWARD'];
    return undefined;
  },
  save(p) {
    let s = '';
    if (p.src) s += `${inv(p.srcInv)} --src-type ${types(p.src)}`;
    if (p.dst) s += `${inv(p.dstInv)} --dst-type ${types(p.dst)}`;
    if (p.limitIfaceIn) s += ' --limit-iface-in';
    if (p.limitIfaceOut) s += ' --limit-iface-out';
    return s;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
addrtype.lower = (p) => [p.src, p.dst,
  (p.srcInv ? 1 : 0) | (p.dstInv ? 2 : 0) | (p.limitIfaceIn ? 4 : 0) | (p.limitIfaceOut ? 8 : 0)]; // assembly/modules/addrtype.ts
