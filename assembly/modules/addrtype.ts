// xt_addrtype.c (revision 1): mask & (1 << inet_dev_addr_type(dev, addr)), per side, ANDed.
import { P_SADDR, P_DADDR, P_IIF, P_OIF, IF_NONE } from '../../src/layout';
import { PKT, pu, pw } from './common';
import { addrType } from '../engine-deps';

/** params: [srcMask, dstMask, flags (1 invert source, 2 invert dest, 4 limit-iface-in, 8 limit-iface-out)]
 *  masks are (1 << RTN_*) bits as XT_ADDRTYPE_* */
export function addrtypeMatch(p: i32): bool {
  const f = pw(p, 2);
  let dev: i32 = -1;
  if (f & 4) dev = <i32>load<u8>(PKT, P_IIF);
  else if (f & 8) dev = <i32>load<u8>(PKT, P_OIF);
  if (dev == IF_NONE) dev = -1;
  const sm = pu(p, 0), dm = pu(p, 1);
  if (sm != 0) {
    const m = (sm & (<u32>1 << <u32>addrType(load<u32>(PKT, P_SADDR), dev))) != 0;
    if (m == ((f & 1) != 0)) return false;
  }
  if (dm != 0) {
    const m = (dm & (<u32>1 << <u32>addrType(load<u32>(PKT, P_DADDR), dev))) != 0;
    if (m == ((f & 2) != 0)) return false;
  }
  return true;
}
