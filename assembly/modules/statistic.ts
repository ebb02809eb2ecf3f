// xt_statistic.c: random (draw & 0x7FFFFFFF) < probability; nth with a per-rule counter.
import { PKT, pu, pw, slotAddr } from './common';
import { draw } from '../engine-deps';

/** params: [mode (0 random, 1 nth), invert, probability, every (n-1), count0 ((n-1)-packet), slot]
 *  slot words: [initialised, count] */
export function statisticMatch(p: i32, ruleId: i32): bool {
  let ret = pw(p, 1) != 0;
  if (pw(p, 0) == 0) {
    if ((draw(<u32>ruleId) & 0x7fffffff) < pu(p, 2)) ret = !ret;
  } else {
    const s = slotAddr(pw(p, 5));
    let c = load<u32>(s, 4);
    if (load<u32>(s) == 0) { c = pu(p, 4); store<u32>(s, 1); }
    const nv = c == pu(p, 3) ? 0 : c + 1;
    store<u32>(s, nv, 4);
    if (nv == 0) ret = !ret;
  }
  return ret;
}
