// -m mark (libxt_mark.c / xt_mark.c): --mark value[/mask]; matches (skb->mark & mask) == value.
import { MOD_MARK } from '../../layout.js';
import type { MatchModule } from './types.js';
import { o, readValMask, inv, hex } from './common.js';

export interface MarkParams {
  mark: number;
  mask: number;
  invert: boolean;
  set: boolean;
}

/** print_mark of libxt_mark.c: `0x%x/0x%x`, or `0x%x` when the mask is 0xffffffff. */
export function markText(mark: number, mask: number): string {
  return mask >>> 0 === 0xffffffff ? hex(mark) : `${hex(mark)}/${hex(mask)}`;
}

export function markMatch(name: string, id: number, ct: boolean): MatchModule<MarkParams> {
  return {
    kind: 'match',
    name,
    id,
    needsConntrack: ct,
    options: [o('--mark', true, true)],
    init: () => ({ mark: 0, mask: 0xffffffff, invert: false, set: false }),
    parse(p, opt, args) {
      if (opt.name !== '--mark') return false;
      const v = readValMask(args, '--mark');
      p.mark = v.value;
      p.mask = v.mask;
      p.invert = opt.invert;
      p.set = true;
      return true;
    },
    finalCheck(p, _rule, fail) {
      if (!p.set) fail(`${name}: option '--mark' must be specified`);
    },
    save(p) {
      return `${inv(p.invert)} --mark ${markText(p.mark, p.mask)}`;
    },
  };
}

export const mark = markMatch('mark', MOD_MARK, false);

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
mark.lower = (p) => [p.mark | 0, p.mask | 0, p.invert ? 1 : 0]; // assembly/modules/mark.ts markMatch
