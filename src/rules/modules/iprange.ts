// -m iprange (libxt_iprange.c revision 1 / xt_iprange.c): --src-range a[-b], --dst-range a[-b].
import { MOD_IPRANGE } from '../../layout.js';
import type { ArgReader, MatchModule } from './types.js';
import { o, inv } from './common.js';
import { parseIpv4, ipv4ToString } from '../util.js';

export interface IpRange { min: number; max: number; invert: boolean }
export interface IprangeParams {
  src: IpRange | null;
  dst: IpRange | null;
}

function readRange(args: ArgReader, opt: string, invert: boolean): IpRange {
  const w = args.next(opt);
  const [a, b, extra] = w.split('-');
  const min = parseIpv4(a);
  const max = b === undefined ? min : parseIpv4(b);
  if (min === undefined || max === undefined || extra !== undefined) return args.fail(`iprange: bad range '${w}'`);
  return { min, max, invert };
}

export const iprange: MatchModule<IprangeParams> = {
  kind: 'match',
  name: 'iprange',
  id: MOD_IPRANGE,
  options: [o('--src-range', true, true), o('--dst-range', true, true)],
  init: () => ({ src: null, dst: null }),
  parse(p, opt, args) {
    if (opt.name === '--src-range') { p.src = readRange(args, opt.name, opt.invert); return true; }
    if (opt.name === '--dst-range') { p.dst = readRange(args, opt.name, opt.invert); return true; }
    return false;
  },
  finalCheck(p, _rule, fail) {
    if (!p.src && !p.dst) fail('iprange: you must specify --src-range or --dst-range');
  },
  save(p) {
    let s = '';
    if (p.src) s += `${inv(p.src.invert)} --src-range ${ipv4ToString(p.src.min)}-${ipv4ToString(p.src.max)}`;
    if (p.dst) s += `${inv(p.dst.invert)} --dst-range ${ipv4ToString(p.dst.min)}-${ipv4ToString(p.dst.max)}`;
    return s;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
iprange.lower = (p) => [
  (p.src ? 1 | (p.src.invert ? 0x10 : 0) : 0) | (p.dst ? 2 | (p.dst.invert ? 0x20 : 0) : 0),
  p.src?.min ?? 0, p.src?.max ?? 0, p.dst?.min ?? 0, p.dst?.max ?? 0,
].map((x) => x | 0); // host order: assembly/modules/misc.ts iprangeMatch
