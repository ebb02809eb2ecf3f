// Small header matches: iprange, length, ttl, pkttype, dscp, tos, physdev (non-bridged), comment.
import { P_SADDR, P_DADDR, P_IPLEN, P_TTL, P_TOS, P_PKTTYPE, P_DADDR as _D } from '../../src/layout';
import { PKT, pu, pw } from './common';

// @ts-ignore: decorator
@inline function hostOrder(a: u32): u32 { return bswap<u32>(a); }

/** iprange params: [flags (1 src, 2 dst, 0x10 src inv, 0x20 dst inv), srcMin, srcMax, dstMin, dstMax] (host order) */
export function iprangeMatch(p: i32): bool {
  const f = pw(p, 0);
  if (f & 1) {
    const s = hostOrder(load<u32>(PKT, P_SADDR));
    const out = s < pu(p, 1) || s > pu(p, 2);
    if (out != ((f & 0x10) != 0)) return false;
  }
  if (f & 2) {
    const d = hostOrder(load<u32>(PKT, P_DADDR));
    const out = d < pu(p, 3) || d > pu(p, 4);
    if (out != ((f & 0x20) != 0)) return false;
  }
  return true;
}

/** length params: [min, max, invert] on the IP total length */
export function lengthMatch(p: i32): bool {
  const l = load<u32>(PKT, P_IPLEN);
  return (l >= pu(p, 0) && l <= pu(p, 1)) != (pw(p, 2) != 0);
}

/** ttl params: [mode (0 eq, 1 ne, 2 lt, 3 gt), value] */
export function ttlMatch(p: i32): bool {
  const t = <u32>load<u8>(PKT, P_TTL);
  const v = pu(p, 1);
  const m = pw(p, 0);
  if (m == 0) return t == v;
  if (m == 1) return t != v;
  if (m == 2) return t < v;
  return t > v;
}

/** pkttype params: [type (0 host, 1 broadcast, 2 multicast, 3 otherhost), invert] */
export function pkttypeMatch(p: i32): bool {
  return (<u32>load<u8>(PKT, P_PKTTYPE) == pu(p, 0)) != (pw(p, 1) != 0);
}

/** dscp params: [dscp, invert]: ((tos >> 2) == dscp) ^ invert */
export function dscpMatch(p: i32): bool {
  return ((<u32>load<u8>(PKT, P_TOS) >> 2) == pu(p, 0)) != (pw(p, 1) != 0);
}

/** tos params: [value, mask, invert]: ((tos & mask) == value) ^ invert */
export function tosMatch(p: i32): bool {
  return ((<u32>load<u8>(PKT, P_TOS) & pu(p, 1)) == pu(p, 0)) != (pw(p, 2) != 0);
}

/** physdev params: [bitmask, invert] (XT_PHYSDEV_OP_*). Not a bridged packet: matches iff every
 *  option given is inverted (xt_physdev.c, "!nf_bridge_info_exists"). */
export function physdevMatch(p: i32): bool {
  return (pu(p, 0) & ~pu(p, 1) & 0x1f) == 0;
}
