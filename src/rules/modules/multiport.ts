// -m multiport (libxt_multiport.c revision 1 / xt_multiport.c): --sports/--dports/--ports lists with ranges.
import { MOD_MULTIPORT } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o, portsText } from './common.js';
import { parsePortRange } from '../util.js';
import { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP } from '../protocols.js';

export interface MultiportParams {
  /** Which ports: source, destination, or either. */
  dir: 'src' | 'dst' | 'any' | null;
  /** Up to 15 entries; a range counts twice (XT_MULTI_PORTS). */
  ports: [number, number][];
  invert: boolean;
}

export const multiport: MatchModule<MultiportParams> = {
  kind: 'match',
  name: 'multiport',
  id: MOD_MULTIPORT,
  // tcp, udp, udplite, dccp, sctp (the kernel checks the rule's -p)
  requiresProto: [IPPROTO_TCP, IPPROTO_UDP, 136, 33, IPPROTO_SCTP],
  options: [o('--source-ports', true, true, '--sports'), o('--sports', true, true), o('--destination-ports', true, true, '--dports'),
    o('--dports', true, true), o('--ports', true, true)],
  init: () => ({ dir: null, ports: [], invert: false }),
  parse(p, opt, args) {
    const dir = opt.name === '--sports' || opt.name === '--source-ports' ? 'src'
      : opt.name === '--dports' || opt.name === '--destination-ports' ? 'dst' : opt.name === '--ports' ? 'any' : null;
    if (!dir) return false;
    if (p.dir) return args.fail('multiport: only one of --sports, --dports, --ports allowed', opt.pos);
    const w = args.next(opt.name);
    let slots = 0;
    for (const part of w.split(',')) {
      // multiport needs both ends of a range (":80" and "80:" are errors, unlike tcp --dport).
      const empty = part.split(':').find((x) => x === '');
      if (empty !== undefined) return args.fail(`multiport: invalid port '' in '${w}'`);
      const r = parsePortRange(part);
      if (typeof r === 'string') return args.fail(`multiport: ${r}`);
      slots += r[0] === r[1] ? 1 : 2;
      p.ports.push(r);
    }
    if (slots > 15) return args.fail(`multiport: too many ports specified in '${w}' (15 at most, a range counts 2)`);
    p.dir = dir;
    p.invert = opt.invert;
    return true;
  },
  finalCheck(p, _rule, fail) {
    if (!p.dir) fail('multiport: one of --sports, --dports, --ports is required');
  },
  save(p) {
    const name = p.dir === 'src' ? '--sports' : p.dir === 'dst' ? '--dports' : '--ports';
    return `${p.invert ? ' !' : ''} ${name} ${p.ports.map(portsText).join(',')}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
multiport.lower = (p) => {
  const out = [p.dir === 'src' ? 1 : p.dir === 'dst' ? 2 : 3, p.invert ? 1 : 0, p.ports.length];
  for (const [lo, hi] of p.ports) out.push(lo, hi);
  return out; // assembly/modules/multiport.ts
};
