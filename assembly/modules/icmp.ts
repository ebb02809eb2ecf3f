// xt_tcpudp.c icmp_match: (type == 0xFF || (type == T && code in [c0, c1])) ^ invert.
import { P_FRAGOFF, P_L4OK, P_ICMP_TYPE, P_ICMP_CODE } from '../../src/layout';
import { PKT, pu, pw, setHotdrop } from './common';

/** params: [type (0xFF any), codeMin, codeMax, invert] */
export function icmpMatch(p: i32): bool {
  if (load<u16>(PKT, P_FRAGOFF) != 0) return false;
  if (load<u8>(PKT, P_L4OK) == 0) { setHotdrop(); return false; }
  const t = pu(p, 0);
  const ty = <u32>load<u8>(PKT, P_ICMP_TYPE);
  const co = <u32>load<u8>(PKT, P_ICMP_CODE);
  const m = t == 0xff || (ty == t && co >= pu(p, 1) && co <= pu(p, 2));
  return m != (pw(p, 3) != 0);
}
