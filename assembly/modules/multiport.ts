// xt_multiport.c (revision 1): returns true ^ invert on the first hit, else invert.
import { P_FRAGOFF, P_L4OK, P_SPORT, P_DPORT } from '../../src/layout';
import { PKT, pu, pw, setHotdrop } from './common';

/** params: [flags (1 source, 2 destination, 3 either), invert, nranges, lo0, hi0, lo1, hi1, ...] */
export function multiportMatch(p: i32): bool {
  if (load<u16>(PKT, P_FRAGOFF) != 0) return false;
  if (load<u8>(PKT, P_L4OK) == 0) { setHotdrop(); return false; }
  const f = pw(p, 0);
  const inv = pw(p, 1) != 0;
  const n = pw(p, 2);
  const sp = <u32>load<u16>(PKT, P_SPORT);
  const dp = <u32>load<u16>(PKT, P_DPORT);
  for (let i = 0; i < n; i++) {
    const lo = pu(p, 3 + 2 * i), hi = pu(p, 4 + 2 * i);
    if (((f & 1) != 0 && sp >= lo && sp <= hi) || ((f & 2) != 0 && dp >= lo && dp <= hi)) return !inv;
  }
  return inv;
}
