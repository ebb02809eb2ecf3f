// -j MARK (libxt_MARK.c revision 2 / xt_mark.c mark_tg): skb->mark = (skb->mark & ~mask) ^ mark.
// --set-mark v[/m] -> v/(v|m) (no m: 0xffffffff), --set-xmark v[/m] verbatim, --and-mark v -> 0/~v,
// --or-mark v -> v/v, --xor-mark v -> v/0. iptables-save always prints --set-xmark.
import { MOD_MARK_T } from '../../layout.js';
import type { ArgReader, ModuleOption, TargetModule } from './types.js';
import { o, readValMask, hex } from './common.js';
import { parseUint } from '../util.js';

export interface XMark { mark: number; mask: number; set: boolean }

/** Parse one of the mark-setting options into (mark, mask); false when the option is not one of them. */
export function parseXMark(p: XMark, opt: ModuleOption, args: ArgReader, who: string): boolean {
  const one = () => {
    const w = args.next(opt.name);
    const v = parseUint(w);
    if (v === undefined) return args.fail(`${who}: bad value '${w}' for ${opt.name}`);
    return v;
  };
  let mark: number;
  let mask: number;
  switch (opt.name) {
    case '--set-xmark': { const v = readValMask(args, opt.name); mark = v.value; mask = v.mask; break; }
    case '--set-mark': { const v = readValMask(args, opt.name); mark = v.value; mask = v.hasMask ? (v.value | v.mask) >>> 0 : 0xffffffff; break; }
    case '--and-mark': mark = 0; mask = ~one() >>> 0; break;
    case '--or-mark': mark = mask = one(); break;
    case '--xor-mark': mark = one(); mask = 0; break;
    default: return false;
  }
  if (p.set) return args.fail(`${who}: only one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark may be given`, opt.pos);
  p.mark = mark >>> 0;
  p.mask = mask >>> 0;
  p.set = true;
  return true;
}

export const MARK_OPTIONS = ['--set-xmark', '--set-mark', '--and-mark', '--or-mark', '--xor-mark'].map((n) => o(n, true));

export type MarkTargetParams = XMark;

export const MARK: TargetModule<MarkTargetParams> = {
  kind: 'target',
  name: 'MARK',
  id: MOD_MARK_T,
  terminal: false,
  options: MARK_OPTIONS,
  init: () => ({ mark: 0, mask: 0, set: false }),
  parse: (p, opt, args) => parseXMark(p, opt, args, 'MARK'),
  finalCheck(p, _rule, fail) {
    if (!p.set) fail('MARK: one of --set-xmark, --set-mark, --and-mark, --or-mark or --xor-mark is required');
  },
  save(p) {
    return ` --set-xmark ${hex(p.mark)}/${hex(p.mask)}`;
  },
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
MARK.lower = (p) => [p.mark | 0, p.mask | 0]; // skb->mark = (mark & ~mask) ^ value
