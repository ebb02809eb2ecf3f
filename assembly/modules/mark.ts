// xt_mark.c and xt_connmark.c matches and the MARK / CONNMARK targets.
import { P_MARK, P_CT, V_CONTINUE } from '../../src/layout';
import { PKT, pu, pw } from './common';
import { ctMark, ctSetMark } from '../engine-deps';

/** mark params: [value, mask, invert]: ((skb->mark & mask) == value) ^ invert */
export function markMatch(p: i32): bool {
  return ((load<u32>(PKT, P_MARK) & pu(p, 1)) == pu(p, 0)) != (pw(p, 2) != 0);
}

/** connmark params: [value, mask, invert]; false without a ct */
export function connmarkMatch(p: i32): bool {
  const ct = load<u32>(PKT, P_CT);
  if (ct == 0) return false;
  return ((ctMark(ct) & pu(p, 1)) == pu(p, 0)) != (pw(p, 2) != 0);
}

/** MARK params: [value, mask]: skb->mark = (mark & ~mask) ^ value */
export function markTarget(p: i32): i32 {
  store<u32>(PKT, (load<u32>(PKT, P_MARK) & ~pu(p, 1)) ^ pu(p, 0), P_MARK);
  return V_CONTINUE;
}

/** CONNMARK params: [mode (0 set, 1 save, 2 restore), ctmark, ctmask, nfmask, shiftDir (0 left, 1 right), shiftBits] */
export function connmarkTarget(p: i32): i32 {
  const ct = load<u32>(PKT, P_CT);
  if (ct == 0) return V_CONTINUE;
  const mode = pw(p, 0);
  const ctmark = pu(p, 1), ctmask = pu(p, 2), nfmask = pu(p, 3);
  const right = pw(p, 4) != 0;
  const sh = pu(p, 5);
  if (mode == 0) {
    let nm = (ctMark(ct) & ~ctmask) ^ ctmark;
    nm = right ? nm >> sh : nm << sh;
    if (ctMark(ct) != nm) ctSetMark(ct, nm);
  } else if (mode == 1) {
    let t = load<u32>(PKT, P_MARK) & nfmask;
    t = right ? t >> sh : t << sh;
    const nm = (ctMark(ct) & ~ctmask) ^ t;
    if (ctMark(ct) != nm) ctSetMark(ct, nm);
  } else {
    let t = ctMark(ct) & ctmask;
    t = right ? t >> sh : t << sh;
    store<u32>(PKT, (load<u32>(PKT, P_MARK) & ~nfmask) ^ t, P_MARK);
  }
  return V_CONTINUE;
}
