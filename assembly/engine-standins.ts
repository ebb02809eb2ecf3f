// Minimal stand-ins for the CONNTRACK engineer's functions, used by ./engine-deps until the real
// ones land. Stateless only: no tracking, no NAT. Kept small on purpose.
import {
  DESC_FRAME, DESC_CAPLEN, DESC_TS_SEC, DESC_TS_NSEC, DESC_LINKTYPE, DESC_IFINDEX, DESC_ORDINAL,
  P_FRAME, P_CAPLEN, P_L3, P_L4, P_L4LEN, P_IPLEN, P_SADDR, P_DADDR, P_PROTO, P_TOS, P_TTL, P_IHL,
  P_FRAGOFF, P_MF, P_L4OK, P_SPORT, P_DPORT, P_ICMP_TYPE, P_ICMP_CODE, P_TCPFLAGS, P_PKTTYPE,
  P_IIF, P_OIF, P_HOOK, P_CTINFO, P_MARK, P_CT, P_CTDIR, P_LOCALGEN, P_DRAWS, P_ORDINAL, P_NOW_LO,
  P_JIFFIES, P_IN_L3, P_CSUM_OK, IF_NONE, CTINFO_NONE, CTINFO_INVALID,
  RES_NONE, RES_NOT_IP, RES_MALFORMED, RES_DROP_MARTIAN, RES_DROP_NOROUTE,
  LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2,
  H_HOST, H_SYSCTL, H_HZ, H_SEED_LO, H_SEED_HI, HOST_NIFS, HOST_NADDRS, HOST_ADDRS, HOST_NROUTES,
  HOST_ROUTES, HOST_INGRESS, AD_ADDR, AD_MASK, AD_BCAST, AD_SIZE, RT_DST, RT_MASK, RT_IF, RT_TYPE,
  RT_SIZE, SYS_IP_FORWARD, HOOK_INPUT, HOOK_FORWARD, V_ACCEPT,
} from '../src/layout';
import { PKT, imgw } from './state';

// @ts-ignore: decorator
@inline function bswap16(v: u32): u32 { return ((v & 0xff) << 8) | ((v >> 8) & 0xff); }

export function dissect(desc: usize): i32 {
  const frame = <usize>load<u32>(desc, DESC_FRAME);
  const caplen = load<u32>(desc, DESC_CAPLEN);
  const lt = <i32>load<u16>(desc, DESC_LINKTYPE);
  store<u32>(PKT, <u32>frame, P_FRAME);
  store<u32>(PKT, caplen, P_CAPLEN);
  let ifx = <u32>load<u16>(desc, DESC_IFINDEX);
  if (ifx == 0xffff) ifx = <u32>imgw(imgw(H_HOST) + HOST_INGRESS);
  store<u8>(PKT, <u8>ifx, P_IIF);
  store<u8>(PKT, IF_NONE, P_OIF);
  store<u8>(PKT, 0, P_HOOK);
  store<u8>(PKT, CTINFO_NONE, P_CTINFO);
  store<u32>(PKT, 0, P_MARK);
  store<u32>(PKT, 0, P_CT);
  store<u8>(PKT, 0, P_CTDIR);
  store<u8>(PKT, 0, P_LOCALGEN);
  store<u16>(PKT, 0, P_DRAWS);
  store<u32>(PKT, load<u32>(desc, DESC_ORDINAL), P_ORDINAL);
  const ns = <u64>load<u32>(desc, DESC_TS_SEC) * 1000000000 + <u64>load<u32>(desc, DESC_TS_NSEC);
  store<u64>(PKT, ns, P_NOW_LO);
  store<u64>(PKT, ns * <u64>imgw(H_HZ) / 1000000000, P_JIFFIES);
  store<u32>(PKT, 0, P_IN_L3);
  store<u8>(PKT, 0, P_CSUM_OK);
  store<u8>(PKT, 0, P_PKTTYPE);
  let off: u32 = 0;
  let etype: u32 = 0x0800;
  if (lt == LINKTYPE_ETHERNET) {
    if (caplen < 14) return RES_NOT_IP;
    if ((load<u8>(frame) & 1) != 0) store<u8>(PKT, load<u32>(frame) == 0xffffffff ? 1 : 2, P_PKTTYPE);
    etype = bswap16(load<u16>(frame + 12));
    off = 14;
    while ((etype == 0x8100 || etype == 0x88a8) && off + 4 <= caplen) {
      etype = bswap16(load<u16>(frame + off + 2));
      off += 4;
    }
  } else if (lt == LINKTYPE_LINUX_SLL) {
    if (caplen < 16) return RES_NOT_IP;
    const pt = bswap16(load<u16>(frame));
    store<u8>(PKT, <u8>(pt <= 3 ? pt : 0), P_PKTTYPE);
    etype = bswap16(load<u16>(frame + 14));
    off = 16;
  } else if (lt == LINKTYPE_LINUX_SLL2) {
    if (caplen < 20) return RES_NOT_IP;
    etype = bswap16(load<u16>(frame));
    const pt = <u32>load<u8>(frame + 10);
    store<u8>(PKT, <u8>(pt <= 3 ? pt : 0), P_PKTTYPE);
    off = 20;
  } else if (lt != LINKTYPE_RAW && lt != LINKTYPE_IPV4) {
    return RES_NOT_IP;
  }
  if (etype != 0x0800) return RES_NOT_IP;
  if (off + 20 > caplen) return RES_MALFORMED;
  const l3 = frame + off;
  const vihl = <u32>load<u8>(l3);
  if ((vihl >> 4) != 4) return (lt == LINKTYPE_RAW) ? RES_NOT_IP : RES_MALFORMED;
  const ihl = (vihl & 15) << 2;
  const iplen = bswap16(load<u16>(l3 + 2));
  if (ihl < 20 || iplen < ihl) return RES_MALFORMED;
  store<u32>(PKT, <u32>l3, P_L3);
  store<u32>(PKT, iplen, P_IPLEN);
  store<u8>(PKT, <u8>ihl, P_IHL);
  store<u8>(PKT, load<u8>(l3 + 1), P_TOS);
  store<u8>(PKT, load<u8>(l3 + 8), P_TTL);
  const proto = <u32>load<u8>(l3 + 9);
  store<u8>(PKT, <u8>proto, P_PROTO);
  const fo = bswap16(load<u16>(l3 + 6));
  store<u16>(PKT, <u16>(fo & 0x1fff), P_FRAGOFF);
  store<u8>(PKT, <u8>((fo >> 13) & 1), P_MF);
  store<u32>(PKT, load<u32>(l3 + 12), P_SADDR);
  store<u32>(PKT, load<u32>(l3 + 16), P_DADDR);
  const d = load<u32>(l3 + 16) & 0xff;
  if (d >= 224 && d < 240) store<u8>(PKT, 2, P_PKTTYPE);
  const l4 = l3 + ihl;
  let l4len: i32 = <i32>(off + min(iplen, caplen - off)) - <i32>(off + ihl);
  if (l4len < 0) l4len = 0;
  store<u32>(PKT, <u32>l4, P_L4);
  store<u32>(PKT, <u32>l4len, P_L4LEN);
  store<u16>(PKT, 0, P_SPORT); store<u16>(PKT, 0, P_DPORT);
  store<u8>(PKT, 0, P_TCPFLAGS); store<u8>(PKT, 0, P_ICMP_TYPE); store<u8>(PKT, 0, P_ICMP_CODE);
  let ok: u8 = 0;
  if ((fo & 0x1fff) == 0) {
    if (proto == 6 && l4len >= 20) {
      ok = 1;
      store<u16>(PKT, <u16>bswap16(load<u16>(l4)), P_SPORT);
      store<u16>(PKT, <u16>bswap16(load<u16>(l4 + 2)), P_DPORT);
      store<u8>(PKT, load<u8>(l4 + 13), P_TCPFLAGS);
    } else if ((proto == 17 || proto == 132) && l4len >= 8) {
      ok = 1;
      store<u16>(PKT, <u16>bswap16(load<u16>(l4)), P_SPORT);
      store<u16>(PKT, <u16>bswap16(load<u16>(l4 + 2)), P_DPORT);
    } else if (proto == 1 && l4len >= 4) {
      ok = 1;
      store<u8>(PKT, load<u8>(l4), P_ICMP_TYPE);
      store<u8>(PKT, load<u8>(l4 + 1), P_ICMP_CODE);
    }
  }
  store<u8>(PKT, ok, P_L4OK);
  return RES_NONE;
}

export function ctIn(): i32 { store<u8>(PKT, CTINFO_INVALID, P_CTINFO); return V_ACCEPT; }
export function ctConfirm(): i32 { return V_ACCEPT; }
export function ctAbort(): void {}
export function ctStatus(ct: u32): u32 { return 0; }
export function ctMark(ct: u32): u32 { return 0; }
export function ctSetMark(ct: u32, v: u32): void {}
export function ctProto(ct: u32): u8 { return 0; }
export function ctAddr(ct: u32, dir: i32, which: i32): u32 { return 0; }
export function ctPort(ct: u32, dir: i32, which: i32): u16 { return 0; }
export function ctExpiresSec(ct: u32): u32 { return 0; }
export function natNeeded(manip: i32): bool { return false; }
export function natSetup(manip: i32, flags: u32, minIp: u32, maxIp: u32, minPort: u16, maxPort: u16): i32 { return V_ACCEPT; }
export function natMasquerade(flags: u32, minPort: u16, maxPort: u16): i32 { return V_ACCEPT; }
export function natRedirect(flags: u32, minPort: u16, maxPort: u16): i32 { return V_ACCEPT; }
export function natNullBinding(manip: i32): void {}
export function natManip(manip: i32): i32 { return V_ACCEPT; }

/** Local, 127/8 and subnet-broadcast destinations go to INPUT; else longest-prefix route. */
export function routeInput(): i32 {
  const host = imgw(H_HOST);
  const s = load<u32>(PKT, P_SADDR);
  const d = load<u32>(PKT, P_DADDR);
  const na = imgw(host + HOST_NADDRS);
  const ab = host + imgw(host + HOST_ADDRS);
  for (let i = 0; i < na; i++) {
    if (<u32>imgw(ab + i * AD_SIZE + AD_ADDR) == s) return -RES_DROP_MARTIAN;
  }
  if ((d & 0xff) == 127 || d == 0xffffffff) return HOOK_INPUT;
  for (let i = 0; i < na; i++) {
    const a = <u32>imgw(ab + i * AD_SIZE + AD_ADDR);
    if (a == d || (<u32>imgw(ab + i * AD_SIZE + AD_BCAST) == d && <u32>imgw(ab + i * AD_SIZE + AD_MASK) != 0xffffffff)) return HOOK_INPUT;
  }
  if ((d & 0xf0) == 0xe0) return HOOK_INPUT;
  if (imgw(imgw(H_SYSCTL) + SYS_IP_FORWARD) == 0) return -RES_DROP_NOROUTE;
  const nr = imgw(host + HOST_NROUTES);
  const rb = host + imgw(host + HOST_ROUTES);
  for (let i = 0; i < nr; i++) {
    const r = rb + i * RT_SIZE;
    if ((d & <u32>imgw(r + RT_MASK)) == <u32>imgw(r + RT_DST)) {
      if (imgw(r + RT_TYPE) != 1) return -RES_DROP_NOROUTE;
      store<u8>(PKT, <u8>imgw(r + RT_IF), P_OIF);
      return HOOK_FORWARD;
    }
  }
  return -RES_DROP_NOROUTE;
}

/** RTN_* of addr as inet_dev_addr_type sees it (dev < 0: any device). */
export function addrType(addr: u32, dev: i32): i32 {
  if (addr == 0 || addr == 0xffffffff) return 3;
  if ((addr & 0xf0) == 0xe0) return 5;
  if ((addr & 0xff) == 127) return 2;
  const host = imgw(H_HOST);
  const na = imgw(host + HOST_NADDRS);
  const ab = host + imgw(host + HOST_ADDRS);
  for (let i = 0; i < na; i++) {
    const a = ab + i * AD_SIZE;
    if (dev >= 0 && imgw(a + 3) != dev) continue;
    if (<u32>imgw(a + AD_ADDR) == addr) return 2;
    if (<u32>imgw(a + AD_BCAST) == addr && <u32>imgw(a + AD_MASK) != 0xffffffff) return 3;
  }
  return 1;
}

export function draw(key: u32): u32 {
  const n = load<u16>(PKT, P_DRAWS);
  store<u16>(PKT, n + 1, P_DRAWS);
  let z: u64 = (<u64>imgw(H_SEED_HI) << 32) | <u64><u32>imgw(H_SEED_LO);
  z ^= <u64>load<u32>(PKT, P_ORDINAL) * 0x9E3779B97F4A7C15;
  z ^= (<u64>key << 16 | <u64>n) * 0xBF58476D1CE4E5B9;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
  z ^= z >> 31;
  return <u32>(z >> 32);
}
