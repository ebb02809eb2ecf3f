// NAT as net/netfilter/nf_nat_core.c + nf_nat_proto.c (IPv4): nf_nat_setup_info with
// get_unique_tuple (keep the tuple when free, find_appropriate_src, find_best_ips_proto,
// nf_nat_l4proto_unique_tuple with port classes and random offsets), the null binding,
// MASQUERADE/REDIRECT, and the packet rewrite for both directions with incremental checksums
// (RFC 1624) and ICMP error translation.
import {
  P_L3, P_L4, P_L4LEN, P_IPLEN, P_IHL, P_SADDR, P_DADDR, P_PROTO, P_SPORT, P_DPORT, P_CTINFO, P_CT,
  P_CTDIR, P_OIF, P_IIF, P_LOCALGEN, P_HOOK, IF_NONE, HOOK_OUTPUT,
  CTINFO_NEW, CTINFO_RELATED, CTINFO_RELATED_REPLY, IPS_CONFIRMED, IPS_SRC_NAT, IPS_DST_NAT,
  IPS_SRC_NAT_DONE, IPS_DST_NAT_DONE, IPS_DYING, MANIP_SRC, MANIP_DST, NAT_MAP_IPS,
  NAT_PROTO_SPECIFIED, NAT_PROTO_RANDOM, NAT_PERSISTENT, NAT_PROTO_RANDOM_FULLY, V_ACCEPT, V_DROP,
  H_FLAGS, IMGF_TRUST_CSUM, IMGF_NAT,
} from '../src/layout';
import {
  CT_STATUS, CT_PROTO, CT_TCPSTATE, CT_O_SRC, CT_O_DST, CT_O_SPORT, CT_O_DPORT, CT_R_SRC, CT_R_DST, CT_R_SPORT,
  CT_R_DPORT, TCS_SYN_SENT,
} from '../src/layout-ct';
import { PKT, imgw } from './state';
import { entryAddr, tupleTaken, tupleTakenHarder, bysrcInsert, bysrcNext, bysrcCursor, isExpired } from './conntrack';
import { ifAddr, ifFirstAddr, routeNexthop } from './host';
import { draw, NAT_DRAW_KEY } from './rng';
import { csumReplace4, csumReplace2, csumReplace4and2, csumCompute, csumVerify, sctpCrc } from './csum';
import { bswap16 } from './dissect';
import { P_JIFFIES } from '../src/layout';

const IPS_NAT_MASK: u32 = IPS_SRC_NAT | IPS_DST_NAT;
const RANDOM_ALL: i32 = NAT_PROTO_RANDOM | NAT_PROTO_RANDOM_FULLY;

// The tuple being worked on (addresses in P_SADDR encoding, ports host order; ICMP: sport = id,
// dport = type << 8 | code)
let tS: u32 = 0, tD: u32 = 0, tSp: u32 = 0, tDp: u32 = 0, tP: u32 = 0;
// The range
let rFlags: i32 = 0, rMinIp: u32 = 0, rMaxIp: u32 = 0, rMinPort: u32 = 0, rMaxPort: u32 = 0;

// @ts-ignore: decorator
@inline function hostIp(a: u32): u32 { return bswap<u32>(a); }
// @ts-ignore: decorator
@inline function hasPorts(p: u32): bool { return p == 6 || p == 17 || p == 136 || p == 132 || p == 33; }

function icmpInv(t: u32): i32 {
  switch (t) {
    case 8: return 0; case 0: return 8; case 13: return 14; case 14: return 13;
    case 15: return 16; case 16: return 15; case 17: return 18; case 18: return 17;
  }
  return -1;
}

/** Is the reply tuple of candidate (tS,tD,tSp,tDp) taken by another ct (nf_nat_used_tuple)? */
function usedTuple(ct: u32): bool {
  if (tP == 1) {
    const inv = icmpInv(tDp >> 8);
    const rdp = inv < 0 ? tDp : ((<u32>inv << 8) | (tDp & 0xff));
    return tupleTaken(tD, tS, tSp, rdp, 1, ct);
  }
  if (hasPorts(tP)) return tupleTaken(tD, tS, tDp, tSp, tP, ct);
  return tupleTaken(tD, tS, 0, 0, tP, ct);
}

/** nf_nat_used_tuple_harder: in the last NF_NAT_HARDER_THRESH (32) attempts for a TCP connection
 *  in SYN_SENT, a colliding SNATed TIME_WAIT connection whose sequence space is behind is evicted. */
function usedTupleHarder(ct: u32, attemptsLeft: u32): bool {
  if (attemptsLeft > 32 || tP != 6 || load<u8>(entryAddr(ct), CT_TCPSTATE) != <u8>TCS_SYN_SENT) return usedTuple(ct);
  return tupleTakenHarder(tD, tS, tDp, tSp, ct);
}

function l4InRange(manip: i32): bool {
  if (tP == 1) return tSp >= rMinPort && tSp <= rMaxPort;
  if (hasPorts(tP)) {
    const p = manip == MANIP_SRC ? tSp : tDp;
    return p >= rMinPort && p <= rMaxPort;
  }
  return true;
}

/** nf_nat_inet_in_range + port check, on the source of the tuple (SRC manip). */
function inRange(): bool {
  if ((rFlags & NAT_MAP_IPS) != 0) {
    const a = hostIp(tS);
    if (a < hostIp(rMinIp) || a > hostIp(rMaxIp)) return false;
  }
  if ((rFlags & NAT_PROTO_SPECIFIED) == 0) return true;
  return l4InRange(MANIP_SRC);
}

// @ts-ignore: decorator
@inline function rol32(x: u32, k: u32): u32 { return (x << k) | (x >> (32 - k)); }

/** jhash2(k, 4, initval) for k = {a, 0, 0, 0} (an IPv4 address in a union nf_inet_addr). */
function jhashAddr(a0: u32, initval: u32): u32 {
  let a: u32 = 0xdeadbeef + (4 << 2) + initval;
  let b = a;
  let c = a;
  // one round of __jhash_mix over k[0..2]
  a += a0; b += 0; c += 0;
  a -= c; a ^= rol32(c, 4); c += b;
  b -= a; b ^= rol32(a, 6); a += c;
  c -= b; c ^= rol32(b, 8); b += a;
  a -= c; a ^= rol32(c, 16); c += b;
  b -= a; b ^= rol32(a, 19); a += c;
  c -= b; c ^= rol32(b, 4); b += a;
  // tail: k[3] = 0, then __jhash_final
  a += 0;
  c ^= b; c -= rol32(b, 14);
  a ^= c; a -= rol32(c, 11);
  b ^= a; b -= rol32(a, 25);
  c ^= b; c -= rol32(b, 16);
  a ^= c; a -= rol32(c, 4);
  b ^= a; b -= rol32(a, 14);
  c ^= b; c -= rol32(b, 24);
  return c;
}

/** find_best_ips_proto: one address, or a hash pick over the range (same client + destination ->
 *  same address; --persistent leaves the destination out). */
function bestIp(manip: i32): void {
  if ((rFlags & NAT_MAP_IPS) == 0) return;
  if (rMinIp == rMaxIp) {
    if (manip == MANIP_SRC) tS = rMinIp; else tD = rMinIp;
    return;
  }
  const j = jhashAddr(tS, (rFlags & NAT_PERSISTENT) != 0 ? 0 : tD);
  const minip = hostIp(rMinIp);
  const dist = hostIp(rMaxIp) - minip + 1;
  const pick = bswap<u32>(minip + <u32>((<u64>j * <u64>dist) >> 32));
  if (manip == MANIP_SRC) tS = pick; else tD = pick;
}

/** nf_nat_l4proto_unique_tuple. */
function uniquePort(manip: i32, ct: u32): void {
  let min: u32 = 0;
  let rangeSize: u32 = 0;
  const isIcmp = tP == 1;
  if (isIcmp) {
    if ((rFlags & NAT_PROTO_SPECIFIED) == 0) { min = 0; rangeSize = 65536; }
    else { min = rMinPort; rangeSize = rMaxPort - rMinPort + 1; }
  } else if (hasPorts(tP)) {
    if ((rFlags & NAT_PROTO_SPECIFIED) == 0) {
      if (manip == MANIP_DST) return; // DNAT without a port range never changes the port
      const cur = manip == MANIP_SRC ? tSp : tDp;
      if (cur < 1024) {
        // loose convention: < 512 is credential passing
        if (cur < 512) { min = 1; rangeSize = 511; } else { min = 600; rangeSize = 1023 - 600 + 1; }
      } else { min = 1024; rangeSize = 65535 - 1024 + 1; }
    } else {
      min = rMinPort;
      rangeSize = rMaxPort - rMinPort + 1;
    }
  } else {
    return;
  }
  if (rangeSize == 0) return; // max < min: nothing to try (the targets' parsers reject it)
  let off: u32 = 0; // u16 in the kernel
  if ((rFlags & RANDOM_ALL) != 0 || manip != MANIP_DST) off = draw(NAT_DRAW_KEY) & 0xffff;
  let attempts = rangeSize > 128 ? <u32>128 : rangeSize;
  while (true) {
    for (let i: u32 = 0; i < attempts; i++) {
      const port = min + off % rangeSize;
      if (isIcmp || manip == MANIP_SRC) tSp = port & 0xffff; else tDp = port & 0xffff;
      if (!usedTupleHarder(ct, attempts - i)) return;
      off = (off + 1) & 0xffff;
    }
    if (attempts >= rangeSize || attempts < 16) return; // give up: the clash is resolved at confirm
    attempts >>= 1;
    off = draw(NAT_DRAW_KEY) & 0xffff;
  }
}

/** find_appropriate_src: an existing SRC mapping of the same (source, port, proto) in range. */
function appropriateSrc(ct: u32): bool {
  const now = load<u64>(PKT, P_JIFFIES);
  const oS = tS, oSp = tSp, oD = tD, oDp = tDp;
  let cur: u32 = 0;
  while (true) {
    const x = bysrcNext(cur, oS, oSp, tP);
    if (x == 0) return false;
    cur = bysrcCursor; // resume after the node found
    if (x == ct) continue;
    const e = entryAddr(x);
    if ((load<u32>(e, CT_STATUS) & IPS_DYING) != 0 || isExpired(e, now)) continue;
    if (<u32>load<u8>(e, CT_PROTO) != tP || load<u32>(e, CT_O_SRC) != oS || <u32>load<u16>(e, CT_O_SPORT) != oSp) continue;
    // copy the source part from the (inverted) reply tuple, keep our destination
    tS = load<u32>(e, CT_R_DST);
    tSp = tP == 1 ? <u32>load<u16>(e, CT_R_SPORT) : <u32>load<u16>(e, CT_R_DPORT);
    tD = oD; tDp = oDp;
    if (inRange()) return true;
    tS = oS; tSp = oSp;
  }
  return false;
}

/** get_unique_tuple on (tS,tD,tSp,tDp,tP) in place. */
function uniqueTuple(manip: i32, ct: u32): void {
  const oS = tS, oD = tD, oSp = tSp, oDp = tDp;
  if (manip == MANIP_SRC && (rFlags & RANDOM_ALL) == 0) {
    if (inRange()) {
      if (!usedTuple(ct)) return; // the original tuple is fine
    } else if (appropriateSrc(ct)) {
      if (!usedTuple(ct)) return;
    }
  }
  tS = oS; tD = oD; tSp = oSp; tDp = oDp;
  bestIp(manip);
  if ((rFlags & RANDOM_ALL) == 0) {
    if ((rFlags & NAT_PROTO_SPECIFIED) != 0) {
      if (l4InRange(manip) && (rMinPort == rMaxPort || !usedTuple(ct))) return;
    } else if (!usedTuple(ct)) {
      return;
    }
  }
  uniquePort(manip, ct);
}

/** Is the nat table to be walked for this manip (nf_nat_inet_fn + nf_nat_ipv4_fn)? */
export function natNeeded(manip: i32): bool {
  const ct = load<u32>(PKT, P_CT);
  if (ct == 0) return false;
  // without a nat table (iptable_nat not loaded) there are no NAT hooks: no null bindings either
  if ((imgw(H_FLAGS) & IMGF_NAT) == 0) return false;
  const ci = <i32>load<u8>(PKT, P_CTINFO);
  if (ci != CTINFO_NEW) {
    if (ci != CTINFO_RELATED && ci != CTINFO_RELATED_REPLY) return false;
    if (load<u8>(PKT, P_PROTO) == 1) return false; // ICMP errors are translated, not NATed
  }
  const done = manip == MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE;
  return (load<u32>(entryAddr(ct), CT_STATUS) & done) == 0;
}

/** nf_nat_setup_info for the packet's ct. Ports host order; addresses in P_SADDR encoding. */
export function natSetup(manip: i32, flags: i32, minIp: u32, maxIp: u32, minPort: u16, maxPort: u16): i32 {
  const ct = load<u32>(PKT, P_CT);
  if (ct == 0) return V_ACCEPT;
  const e = entryAddr(ct);
  const st = load<u32>(e, CT_STATUS);
  if ((st & IPS_CONFIRMED) != 0) return V_ACCEPT;
  const done = manip == MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE;
  if ((st & done) != 0) return V_ACCEPT;
  rFlags = flags; rMinIp = minIp; rMaxIp = maxIp; rMinPort = <u32>minPort; rMaxPort = <u32>maxPort;
  // curr = invert(reply tuple)
  tP = <u32>load<u8>(e, CT_PROTO);
  tS = load<u32>(e, CT_R_DST);
  tD = load<u32>(e, CT_R_SRC);
  if (tP == 1) {
    tSp = <u32>load<u16>(e, CT_R_SPORT);
    const rd = <u32>load<u16>(e, CT_R_DPORT);
    const inv = icmpInv(rd >> 8);
    tDp = inv < 0 ? rd : ((<u32>inv << 8) | (rd & 0xff));
  } else {
    tSp = <u32>load<u16>(e, CT_R_DPORT);
    tDp = <u32>load<u16>(e, CT_R_SPORT);
  }
  const cS = tS, cD = tD, cSp = tSp, cDp = tDp;
  uniqueTuple(manip, ct);
  let ns = st | done;
  if (tS != cS || tD != cD || tSp != cSp || tDp != cDp) {
    // reply := invert(new)
    store<u32>(e, tD, CT_R_SRC);
    store<u32>(e, tS, CT_R_DST);
    if (tP == 1) {
      store<u16>(e, <u16>tSp, CT_R_SPORT);
      const inv = icmpInv(tDp >> 8);
      store<u16>(e, <u16>(inv < 0 ? tDp : ((<u32>inv << 8) | (tDp & 0xff))), CT_R_DPORT);
    } else {
      store<u16>(e, <u16>tDp, CT_R_SPORT);
      store<u16>(e, <u16>tSp, CT_R_DPORT);
    }
    ns |= manip == MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
  }
  store<u32>(e, ns, CT_STATUS);
  if (manip == MANIP_SRC) bysrcInsert(ct);
  return V_ACCEPT;
}

/** nf_nat_alloc_null_binding: map to the current address, ports left to the protocol. */
export function natNullBinding(manip: i32): i32 {
  const ct = load<u32>(PKT, P_CT);
  if (ct == 0) return V_ACCEPT;
  const e = entryAddr(ct);
  const ip = manip == MANIP_SRC ? load<u32>(e, CT_R_DST) : load<u32>(e, CT_R_SRC);
  return natSetup(manip, NAT_MAP_IPS, ip, ip, 0, 0);
}

/** MASQUERADE: SNAT to the out interface's address (preferring the next hop's subnet). */
export function natMasquerade(flags: i32, minPort: u16, maxPort: u16): i32 {
  const ct = load<u32>(PKT, P_CT);
  if (ct == 0) return V_ACCEPT;
  if (load<u32>(entryAddr(ct), CT_O_SRC) == 0) return V_ACCEPT; // 0.0.0.0: not masqueraded
  const oif = <i32>load<u8>(PKT, P_OIF);
  let nh = routeNexthop();
  if (nh == 0) nh = load<u32>(PKT, P_DADDR);
  const a = ifAddr(oif == IF_NONE ? -1 : oif, nh);
  if (a == 0) return V_DROP; // "ate my IP address"
  return natSetup(MANIP_SRC, flags | NAT_MAP_IPS, a, a, minPort, maxPort);
}

/** REDIRECT: DNAT to the in interface's first address, or 127.0.0.1 for local packets. */
export function natRedirect(flags: i32, minPort: u16, maxPort: u16): i32 {
  let a: u32 = 0;
  if (load<u8>(PKT, P_LOCALGEN) != 0 || <i32>load<u8>(PKT, P_HOOK) == HOOK_OUTPUT) {
    a = 0x0100007f; // 127.0.0.1
  } else {
    const iif = <i32>load<u8>(PKT, P_IIF);
    if (iif != IF_NONE) a = ifFirstAddr(iif);
  }
  if (a == 0) return V_DROP;
  return natSetup(MANIP_DST, flags | NAT_MAP_IPS, a, a, minPort, maxPort);
}

/** Rewrite the IPv4 packet at `iph` (captured up to `end`) for `manip` to address `addr` and
 *  port/id `port` (host order): L4 first (pseudo-header and port checksums), then the IP header. */
function manipPkt(iph: usize, end: usize, manip: i32, addr: u32, port: u32, l4proto: u32): void {
  const ihl = <usize>((<u32>load<u8>(iph) & 15) << 2);
  const l4 = iph + ihl;
  const addrOff: usize = manip == MANIP_SRC ? 12 : 16;
  const oldIp = load<u32>(iph + addrOff);
  const nonFirst = (bswap16(<u32>load<u16>(iph + 6)) & 0x1fff) != 0;
  const newPortW = bswap16(port);
  if (!nonFirst) {
    if (l4proto == 6) {
      if (l4 + 4 <= end) {
        const pp = l4 + (manip == MANIP_SRC ? 0 : 2);
        const oldPort = <u32>load<u16>(pp);
        store<u16>(pp, <u16>newPortW);
        if (l4 + 20 <= end) csumReplace4and2(l4 + 16, oldIp, addr, oldPort, newPortW);
      }
    } else if (l4proto == 17 || l4proto == 136) {
      if (l4 + 8 <= end) {
        const pp = l4 + (manip == MANIP_SRC ? 0 : 2);
        const oldPort = <u32>load<u16>(pp);
        if (l4proto == 136 || load<u16>(l4 + 6) != 0) {
          csumReplace4and2(l4 + 6, oldIp, addr, oldPort, newPortW);
          if (load<u16>(l4 + 6) == 0) store<u16>(l4 + 6, 0xffff); // CSUM_MANGLED_0
        }
        store<u16>(pp, <u16>newPortW);
      }
    } else if (l4proto == 1) {
      if (l4 + 8 <= end) {
        const t = <u32>load<u8>(l4);
        if (t == 0 || t == 8 || t == 13 || t == 14 || t == 15 || t == 16 || t == 17 || t == 18) {
          const oldId = <u32>load<u16>(l4 + 4);
          csumReplace2(l4 + 2, oldId, newPortW);
          store<u16>(l4 + 4, <u16>newPortW);
        }
      }
    } else if (l4proto == 132 || l4proto == 33) {
      if (l4 + 4 <= end) store<u16>(l4 + (manip == MANIP_SRC ? 0 : 2), <u16>newPortW);
      if (l4proto == 132) {
        // sctp_manip_pkt: the CRC32c is recomputed over the whole packet (when captured whole)
        const len = <usize>bswap16(<u32>load<u16>(iph + 2)) - ihl;
        if (len >= 12 && l4 + len <= end) store<u32>(l4 + 8, sctpCrc(l4, <u32>len));
      }
    }
  }
  csumReplace4(iph + 10, oldIp, addr);
  store<u32>(iph + addrOff, addr);
}

// @ts-ignore: decorator
@inline function capEnd(): usize {
  return <usize>load<u32>(PKT, P_L3) + <usize>load<u8>(PKT, P_IHL) + <usize>load<u32>(PKT, P_L4LEN);
}

/** nf_nat_icmp_reply_translation: rewrite the quoted packet and the outer header of a RELATED
 *  ICMP error. False = drop. */
function icmpReply(manip: i32, ct: u32, dir: i32): bool {
  const e = entryAddr(ct);
  const l4 = <usize>load<u32>(PKT, P_L4);
  const icmpLen = load<u32>(PKT, P_IPLEN) - <u32>load<u8>(PKT, P_IHL);
  const full = load<u32>(PKT, P_L4LEN) >= icmpLen;
  if (full && (imgw(H_FLAGS) & IMGF_TRUST_CSUM) == 0 && !csumVerify(l4, icmpLen, 0)) return false;
  const st = load<u32>(e, CT_STATUS);
  if (load<u8>(l4) == 5 && (st & IPS_NAT_MASK) != 0) return false; // redirects on NATed connections
  let statusbit: u32 = manip == MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
  if (dir == 1) statusbit ^= IPS_NAT_MASK;
  if ((st & statusbit) == 0) return true;
  // tuple[!dir], not inverted, for the inner packet with the opposite manip
  const o = dir == 0 ? 1 : 0;
  const tbt = e + <usize>(o == 0 ? CT_O_SRC : CT_R_SRC); // src, dst, sport, dport
  const tsrc = load<u32>(tbt);
  const tdst = load<u32>(tbt, 4);
  const tsp = <u32>load<u16>(tbt, 8);
  const tdp = <u32>load<u16>(tbt, 10);
  const proto = <u32>load<u8>(e, CT_PROTO);
  const inner = l4 + 8;
  const end = capEnd();
  if (inner + 20 <= end) {
    const im = manip == MANIP_SRC ? MANIP_DST : MANIP_SRC;
    const port = proto == 1 ? tsp : (im == MANIP_SRC ? tsp : tdp);
    manipPkt(inner, end, im, im == MANIP_SRC ? tsrc : tdst, port, <u32>load<u8>(inner + 9));
  }
  if (full) {
    store<u16>(l4 + 2, 0);
    store<u16>(l4 + 2, csumCompute(l4, icmpLen, 0));
  }
  // outer: like the reply to an incoming packet: target = invert(tuple[!dir]), protocol ICMP
  const l3 = <usize>load<u32>(PKT, P_L3);
  const a = manip == MANIP_SRC ? tdst : tsrc;
  manipPkt(l3, end, manip, a, 0, 0);
  store<u32>(PKT, load<u32>(l3 + 12), P_SADDR);
  store<u32>(PKT, load<u32>(l3 + 16), P_DADDR);
  return true;
}

/** nf_nat_packet at a NAT hook: rewrite per the ct (either direction). V_ACCEPT or V_DROP. */
export function natManip(manip: i32): i32 {
  const ct = load<u32>(PKT, P_CT);
  if (ct == 0) return V_ACCEPT;
  const dir = <i32>load<u8>(PKT, P_CTDIR);
  const ci = <i32>load<u8>(PKT, P_CTINFO);
  const proto = <u32>load<u8>(PKT, P_PROTO);
  if ((ci == CTINFO_RELATED || ci == CTINFO_RELATED_REPLY) && proto == 1) {
    return icmpReply(manip, ct, dir) ? V_ACCEPT : V_DROP;
  }
  const e = entryAddr(ct);
  let statusbit: u32 = manip == MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
  if (dir == 1) statusbit ^= IPS_NAT_MASK;
  if ((load<u32>(e, CT_STATUS) & statusbit) == 0) return V_ACCEPT;
  // target = invert(tuple[!dir])
  const o = dir == 0 ? 1 : 0;
  const tbo = e + <usize>(o == 0 ? CT_O_SRC : CT_R_SRC); // src, dst, sport, dport
  const osrc = load<u32>(tbo);
  const odst = load<u32>(tbo, 4);
  const osp = <u32>load<u16>(tbo, 8);
  const odp = <u32>load<u16>(tbo, 10);
  const l3 = <usize>load<u32>(PKT, P_L3);
  // gre_manip_pkt needs 8 bytes of GRE header (skb_ensure_writable fails otherwise: NF_DROP)
  if (proto == 47 && load<u32>(PKT, P_IPLEN) - <u32>load<u8>(PKT, P_IHL) < 8) return V_DROP;
  let addr: u32, port: u32;
  if (manip == MANIP_SRC) { addr = odst; port = proto == 1 ? osp : odp; }
  else { addr = osrc; port = proto == 1 ? osp : osp; }
  manipPkt(l3, capEnd(), manip, addr, port, proto);
  if (manip == MANIP_SRC) {
    store<u32>(PKT, addr, P_SADDR);
    if (hasPorts(proto) || proto == 1) store<u16>(PKT, <u16>port, P_SPORT);
  } else {
    store<u32>(PKT, addr, P_DADDR);
    if (hasPorts(proto)) store<u16>(PKT, <u16>port, P_DPORT);
    else if (proto == 1) store<u16>(PKT, <u16>port, P_SPORT);
  }
  return V_ACCEPT;
}
