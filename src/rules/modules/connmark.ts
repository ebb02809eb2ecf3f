// -m connmark (libxt_connmark.c / xt_connmark.c): --mark value[/mask] on ct->mark; false without a ct.
import { MOD_CONNMARK } from '../../layout.js';
import { markMatch } from './mark.js';

export type { MarkParams as ConnmarkParams } from './mark.js';
export const connmark = markMatch('connmark', MOD_CONNMARK, true);

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
connmark.lower = (p) => [p.mark | 0, p.mask | 0, p.invert ? 1 : 0]; // assembly/modules/mark.ts connmarkMatch
