// xt_limit.c: token bucket on capture time (jiffies), full at rule load.
import { P_JIFFIES, H_HZ } from '../../src/layout';
import { PKT, pu, pw, slotAddr } from './common';
import { imgw } from '../state';

const XT_LIMIT_SCALE: u64 = 10000;

/** CREDITS_PER_JIFFY = POW2_BELOW32(0xFFFFFFFF / (HZ*86400)) */
function creditsPerJiffy(hz: u32): u64 {
  let v = <u32>(<u64>0xffffffff / (<u64>hz * 86400));
  let r: u32 = 1;
  while (r <= v >> 1) r <<= 1;
  return v == 0 ? 1 : <u64>r;
}

function user2credits(user: u32, hz: u64, cpj: u64): u64 {
  if (<u64>user > <u64>0xffffffff / (hz * cpj)) return (<u64>user / XT_LIMIT_SCALE) * hz * cpj;
  return (<u64>user * hz * cpj) / XT_LIMIT_SCALE;
}

/** params: [avg (XT_LIMIT_SCALE units per period), burst, slot]; slot: [initialised, credit, prev lo, prev hi] */
export function limitMatch(p: i32): bool {
  const hz = <u64><u32>imgw(H_HZ);
  const cpj = creditsPerJiffy(<u32>hz);
  const avg = pu(p, 0), burst = pu(p, 1);
  const cost = user2credits(avg, hz, cpj);
  const cap = user2credits(avg * burst, hz, cpj);
  const s = slotAddr(pw(p, 2));
  const now = load<u64>(PKT, P_JIFFIES);
  let credit: u64;
  if (load<u32>(s) == 0) { store<u32>(s, 1); credit = cap; }
  else {
    // priv->credit is a u32: the sum wraps before the cap test, as in xt_limit.c
    credit = <u64><u32>(<u64>load<u32>(s, 4) + (now - load<u64>(s, 8)) * cpj);
    if (credit > cap) credit = cap;
  }
  store<u64>(s, now, 8);
  let ok = false;
  if (credit >= cost) { credit -= cost; ok = true; }
  store<u32>(s, <u32>credit, 4);
  return ok;
}
