// The reply REJECT makes the host send (ipt_REJECT.c: nf_send_unreach / nf_send_reset), walked
// through the tables a locally generated packet meets: OUTPUT (raw, mangle, nat DST, filter,
// security) and POSTROUTING (mangle, nat SRC). Measured on this machine's kernel (iptables-legacy,
// netns, conntrack active): the reply carries the rejected packet's ct (nf_ct_attach) as RELATED
// (RELATED_REPLY), so conntrack at OUTPUT leaves it alone; an ICMP error never walks nat; a TCP RST
// skips nat OUTPUT (DST already set at PREROUTING) but walks nat POSTROUTING (SRC not yet set).
// ICMP errors (and echo replies) of the types in icmp_ratemask (0x1818: 3, 4, 11, 12), except
// fragmentation needed (icmpv4_mask_allow: PMTU discovery is never limited), pass two limiters, as
// net/ipv4/icmp.c (6.12+) applies them: first the per-netns global bucket (icmpv4_global_allow ->
// icmp_global_allow: icmp_msgs_per_sec, icmp_msgs_burst; skipped when the offending packet came in
// on loopback), before the route lookup; then, after it, the per-destination inet_peer bucket
// (icmpv4_xrlim_allow -> inet_peer_xrlim_allow: icmp_ratelimit, burst 6 of it, a new peer starts
// full; skipped when the reply leaves on loopback), and when that allows, icmp_global_consume takes
// a random 0, 1 or 2 credits. Types outside the mask are limited by neither. Redirects (type 5, not
// in the default mask) have their own limiter first (redirectAllow); TCP resets are not ICMP.
import {
  P_L3, P_IPLEN, P_SADDR, P_DADDR, P_PROTO, P_TOS, P_TTL, P_IHL, P_FRAGOFF, P_MF, P_L4, P_L4LEN, P_L4OK,
  P_SPORT, P_DPORT, P_ICMP_TYPE, P_ICMP_CODE, P_TCPFLAGS, P_PKTTYPE, P_IIF, P_OIF, P_MARK, P_CT,
  P_CTINFO, P_CTDIR, P_LOCALGEN, P_IN_L3, P_CSUM_OK, P_JIFFIES, IF_NONE, CTINFO_NONE, CTINFO_INVALID,
  CTINFO_RELATED, CTINFO_RELATED_REPLY, H_HZ, HOST_IFS,
  IF_FLAGS, SYS_ICMP_MSGS_PER_SEC, SYS_ICMP_MSGS_BURST, SYS_ICMP_RATELIMIT, SYS_ICMP_RATEMASK,
  EM_COUNT, EM_USED, EM_CAP, EM_DATA, EMR_INDEX, EMR_LEN, EMR_OIF, EMR_SIZE,
} from '../../src/layout';
import { PKT } from './common';
import { imgw } from '../state';
import { ifAddr } from '../engine-deps';
import { mainRouteType, mainRouteDev, isLoopbackDev, ifMtu, sysctl } from '../host';
import { draw } from '../rng';
import { reserve } from '../mem';
import { csumCompute } from '../csum';

export const REJECT_TCP_RESET = 7;
/** Scratch frame for the reply: 20 IP + 8 ICMP + up to 548 quoted bytes. */
const REPLY: usize = memory.data(640, 16);

// per-destination ICMP rate limit (inet_peer): direct-mapped, [addr u32, pad u32, tokens u64, last u64]
const PEERS = 4096;
const PEER: usize = memory.data(PEERS * 24, 16);

// @ts-ignore: decorator
@inline function sw16(v: u32): u16 { return <u16>(((v & 0xff) << 8) | ((v >> 8) & 0xff)); }

/** The inet_peer token bucket on `addr`'s record (rate_tokens/rate_last, shared by icmp_send's
 *  inet_peer_xrlim_allow and ip_error): add the jiffies since the last call, cap at `burst`, take
 *  `cost` if there. A new peer starts 60 s back, i.e. full. */
function peerAllow(addr: u32, cost: u64, burst: u64): bool {
  const now = load<u64>(PKT, P_JIFFIES);
  const h = ((addr * 0x9e3779b1) >> 20) & (PEERS - 1);
  const p = PEER + <usize>h * 24;
  let token: u64, last: u64;
  if (load<u32>(p, 4) == 0 || load<u32>(p) != addr) {
    store<u32>(p, addr); store<u32>(p, 1, 4);   // n_redirects 0 (redirectAllow)
    token = 0; last = now - 60 * <u64><u32>imgw(H_HZ);
  } else { token = load<u64>(p, 8); last = load<u64>(p, 16); }
  token += now - last;
  if (token > burst) token = burst;
  let ok = false;
  if (token >= cost) { token -= cost; ok = true; }
  store<u64>(p, token, 8); store<u64>(p, now, 16);
  return ok;
}

/** inet_peer_xrlim_allow: icmp_ratelimit (ms, as msecs_to_jiffies rounds: up) per message, burst
 *  6 of it (XRLIM_BURST_FACTOR). */
function xrlimAllow(dst: u32): bool {
  const hz = <u64><u32>imgw(H_HZ);
  const t = (<u64><u32>sysctl(SYS_ICMP_RATELIMIT) * hz + 999) / 1000;
  return peerAllow(dst, t, 6 * t);
}

// ---- The per-netns global ICMP limiter (icmp_global_allow / icmp_global_consume) ----
// net->ipv4.icmp_global_credit and _stamp: both 0 in a new netns. A stamp of 0 is so far behind any
// real jiffies value that the first check sees the full second (delta = min(now - stamp, HZ) = HZ),
// so the first error refills the bucket to icmp_msgs_burst: modelled by gStamped = false.
let gCredit: i32 = 0;
let gStamp: u32 = 0;
let gStamped = false;
let gTaken = false;
/** Key of the global limiter's draws (get_random_u32_below(3) in icmp_global_consume): above every
 *  rule id, distinct from rng.ts NAT_DRAW_KEY (0xfffff000). */
const ICMP_GLOBAL_DRAW_KEY: u32 = 0xfffff001;

/** Whether a packet consulted the global limiter since the last call (the pool logs it: that state
 *  couples every such packet of the capture); clears it. */
// @ts-ignore: decorator
@inline export function icmpGlobalTaken(): bool { const r = gTaken; gTaken = false; return r; }

/** icmpv4_mask_allow: true when ICMP `type`/`code` is limited by neither limiter. */
// @ts-ignore: decorator
@inline function maskAllow(type: u32, code: u32): bool {
  if (type > 18) return true;                      // > NR_ICMP_TYPES
  if (type == 3 && code == 4) return true;         // ICMP_FRAG_NEEDED: never limit PMTU discovery
  return ((<u32>1 << type) & <u32>sysctl(SYS_ICMP_RATEMASK)) == 0;
}

/** icmp_global_allow: credit left, or (at least HZ/50 jiffies after the last refill) a refill of
 *  msgs_per_sec * delta / HZ credits capped at msgs_burst. Jiffies are u32 in the kernel. */
function globalAllow(): bool {
  gTaken = true;
  if (gCredit > 0) return true;
  const now = <u32>load<u64>(PKT, P_JIFFIES);
  const hz = <u32>imgw(H_HZ);
  let delta = gStamped ? now - gStamp : hz;
  if (delta > hz) delta = hz;
  if (delta < hz / 50) return false;
  const incr = <i64>((<u64><u32>sysctl(SYS_ICMP_MSGS_PER_SEC) * <u64>delta) / <u64>hz);
  if (incr == 0) return false;
  gStamp = now; gStamped = true;
  const burst = <i64>sysctl(SYS_ICMP_MSGS_BURST);
  const c = <i64>gCredit + incr;
  gCredit = <i32>(c < burst ? c : burst);
  return true;
}

/** icmp_global_consume: get_random_u32_below(3) credits (the credit may go negative). */
function globalConsume(): void {
  gCredit -= <i32>((<u64>draw(ICMP_GLOBAL_DRAW_KEY) * 3) >> 32);
}

/** icmpv4_xrlim_allow with apply_ratelimit (the type is limited and icmpv4_global_allow let it
 *  through) for a message to `dst` leaving on `oif` whose route lookup succeeded: the per-peer
 *  bucket, then the global consume. Without apply_ratelimit the kernel allows it: callers skip it. */
function xrlimGlobal(dst: u32, oif: i32): bool {
  if (!isLoopbackDev(oif) && !xrlimAllow(dst)) return false;
  globalConsume();
  return true;
}

/** ICMP error kinds beyond ipt_REJECT's: the kernel's own errors (icmp_send from ip_forward,
 *  ip_error): type, code and the 32-bit "rest" word come from errType/errCode/errInfo. */
export const ICMP_TIME_EXCEEDED = 100;
export const ICMP_OWN = 101;
let errType: u32 = 3, errCode: u32 = 0, errInfo: u32 = 0;
export function setIcmpError(type: u32, code: u32, info: u32): void { errType = type; errCode = code; errInfo = info; }

/** ip_rt_send_redirect's limiter on the source's peer record (route.c): n_redirects (kept in the
 *  record's word 1 above the valid bit) and rate_last, which it shares with icmp_send's and
 *  ip_error's token buckets. After ip_rt_redirect_silence ((HZ/50) << 10 jiffies) without a
 *  redirected packet the count and the tokens restart; after ip_rt_redirect_number (9) redirects
 *  none is sent (each packet moves rate_last); otherwise the first is sent at once and the n-th
 *  only more than (HZ/50) << (n - 1) jiffies after the previous one. True: send the redirect.
 *  The caller sends it (icmp_send) or not, the peer counts it as sent either way. */
export function redirectAllow(src: u32): bool {
  const now = load<u64>(PKT, P_JIFFIES);
  const hz = <u64><u32>imgw(H_HZ);
  const h = ((src * 0x9e3779b1) >> 20) & (PEERS - 1);
  const p = PEER + <usize>h * 24;
  let w: u32, token: u64, last: u64;
  if (load<u32>(p, 4) == 0 || load<u32>(p) != src) {
    w = 1; token = 0; last = now - 60 * hz;       // inet_getpeer: a new peer
    store<u32>(p, src);
  } else { w = load<u32>(p, 4); token = load<u64>(p, 8); last = load<u64>(p, 16); }
  const load_ = hz / 50;
  let n = w >> 8;
  if (<i64>(now - (last + (load_ << 10))) > 0) { token = 0; n = 0; }   // time_after(jiffies, rate_last + silence)
  let ok = false;
  if (n >= 9) last = now;
  else if (n == 0 || <i64>(now - (last + (load_ << <u64>n))) > 0) { ok = true; last = now; n++; }
  store<u32>(p, 1 | (n << 8), 4); store<u64>(p, token, 8); store<u64>(p, last, 16);
  return ok;
}

/** ip_error's limiter on the same per-source peer record (ip_rt_error_cost HZ, burst 5 HZ). */
export function ipErrorAllow(src: u32): bool {
  const hz = <u64><u32>imgw(H_HZ);
  return peerAllow(src, hz, 5 * hz);
}

/** The host can route a reply to `dst`: a unicast (or local) route. With none, or a blackhole,
 * unreachable or prohibit route, the reply's route lookup fails (icmp_route_lookup in icmp_send and
 * icmp_reply, ip_route_me_harder in nf_send_reset) and nothing is sent. */
function routable(dst: u32): bool {
  const t = mainRouteType(dst);
  return t == 1 || t == 2;
}

/** Scratch for an echo reply (a whole datagram). */
const ECHO: usize = memory.data(65600, 16);

/** icmp_echo: PKT (an echo request delivered locally, accepted by INPUT) becomes the host's echo
 *  reply: same id, sequence and data, TTL 64, from the address pinged. Not for broadcast or
 *  multicast pings (icmp_echo_ignore_broadcasts = 1). Returns false when no reply is sent. */
export function buildEchoReply(): bool {
  if (load<u8>(PKT, P_PROTO) != 1 || load<u8>(PKT, P_L4OK) == 0) return false;
  if (load<u8>(PKT, P_ICMP_TYPE) != 8 || load<u8>(PKT, P_ICMP_CODE) != 0) return false;
  if (load<u8>(PKT, P_PKTTYPE) != 0 || load<u16>(PKT, P_FRAGOFF) != 0 || load<u8>(PKT, P_MF) != 0) return false;
  const d = load<u32>(PKT, P_DADDR);
  if ((d & 0xf0) == 0xe0 || d == 0xffffffff) return false;
  const l4 = <usize>load<u32>(PKT, P_L4);
  const dlen = load<u32>(PKT, P_IPLEN) - <u32>load<u8>(PKT, P_IHL);
  if (load<u32>(PKT, P_L4LEN) < dlen || dlen + 20 > 65535) return false;
  const osrc = load<u32>(PKT, P_SADDR);
  // icmp_reply: icmpv4_global_allow(ICMP_ECHOREPLY) (type 0 is outside the default mask), the route
  // lookup, icmpv4_xrlim_allow
  let apply = false;
  if (!maskAllow(0, 0)) { if (!globalAllow()) return false; apply = true; }
  if (!routable(osrc)) return false;
  if (apply && !xrlimGlobal(osrc, mainRouteDev(osrc))) return false;
  const r = ECHO;
  memory.fill(r, 0, 20);
  memory.copy(r + 20, l4, dlen);
  store<u8>(r + 20, 0); store<u8>(r + 21, 0);
  store<u16>(r + 22, 0);
  store<u16>(r + 22, csumCompute(r + 20, dlen, 0));
  const len = 20 + dlen;
  store<u8>(r, 0x45);
  store<u8>(r + 1, load<u8>(PKT, P_TOS));
  store<u16>(r + 2, sw16(len));
  store<u8>(r + 8, 64);
  store<u8>(r + 9, 1);
  store<u32>(r + 12, d); store<u32>(r + 16, osrc);
  store<u16>(r + 10, csumCompute(r, 20, 0));
  store<u32>(PKT, <u32>r, P_L3);
  store<u32>(PKT, len, P_IPLEN);
  store<u32>(PKT, d, P_SADDR);
  store<u32>(PKT, osrc, P_DADDR);
  store<u8>(PKT, 64, P_TTL);
  store<u8>(PKT, 20, P_IHL);
  store<u32>(PKT, <u32>(r + 20), P_L4);
  store<u32>(PKT, dlen, P_L4LEN);
  store<u8>(PKT, 0, P_ICMP_TYPE);
  store<u16>(PKT, 0, P_DPORT);              // ICMP tuple "dst port": type << 8 | code
  store<u8>(PKT, 0, P_CSUM_OK);
  store<u8>(PKT, IF_NONE, P_IIF);
  store<u8>(PKT, <u8>mainRouteDev(osrc), P_OIF);
  store<u32>(PKT, 0, P_MARK);
  store<u32>(PKT, 0, P_CT);
  store<u8>(PKT, CTINFO_NONE, P_CTINFO);
  store<u8>(PKT, 1, P_LOCALGEN);
  return true;
}

/** Turn PKT (the rejected packet, at INPUT or FORWARD) into the reply the kernel sends. Returns
 *  false when the kernel sends nothing (RST to a RST, non-first fragment, rate limited ICMP...). */
export function buildReject(kind: i32, wasLocal: bool, track: bool): bool {
  const l3 = <usize>load<u32>(PKT, P_L3);
  const osrc = load<u32>(PKT, P_SADDR), odst = load<u32>(PKT, P_DADDR);
  const oproto = <u32>load<u8>(PKT, P_PROTO);
  if (load<u16>(PKT, P_FRAGOFF) != 0) return false;
  const oif = mainRouteDev(osrc);
  const r = REPLY;
  let len: u32;
  if (kind == REJECT_TCP_RESET) {
    if (!routable(osrc)) return false;
    if (oproto != 6 || load<u8>(PKT, P_L4OK) == 0) return false;
    const oth = <usize>load<u32>(PKT, P_L4);
    const ofl = <u32>load<u8>(oth + 13);
    if ((ofl & 4) != 0) return false; // never answer a RST
    len = 40;
    memory.fill(r, 0, 40);
    const th = r + 20;
    store<u16>(th, load<u16>(oth + 2));       // sport = original dport
    store<u16>(th + 2, load<u16>(oth));       // dport = original sport
    if ((ofl & 0x10) != 0) {
      store<u32>(th + 4, load<u32>(oth + 8));  // seq = original ack
      store<u8>(th + 13, 0x04);
    } else {
      const doff = (<u32>load<u8>(oth + 12) >> 4) << 2;
      const iplen = load<u32>(PKT, P_IPLEN);
      const ihl = <u32>load<u8>(PKT, P_IHL);
      let ack = bswap<u32>(load<u32>(oth + 4)) + (iplen - ihl - doff) + (ofl & 1) + ((ofl >> 1) & 1);
      store<u32>(th + 8, bswap<u32>(ack));
      store<u8>(th + 13, 0x14);               // RST|ACK
    }
    store<u8>(th + 12, 0x50);
    store<u8>(r + 1, 0);                      // tos 0
    store<u8>(r + 6, 0x40);                   // nf_reject_iphdr_put: DF, id 0 (measured: the kernel's RSTs carry DF)
    store<u32>(r + 12, odst); store<u32>(r + 16, osrc);
    store<u8>(r + 9, 6);
  } else {
    if (load<u8>(PKT, P_PKTTYPE) != 0) return false;        // no errors for broadcast/multicast
    if (oproto == 1 && load<u8>(PKT, P_L4OK) != 0) {
      const t = <u32>load<u8>(PKT, P_ICMP_TYPE);
      // never an error for an error (icmp_pointers[].error), nor for an unknown type (> NR_ICMP_TYPES)
      if (t == 3 || t == 4 || t == 5 || t == 11 || t == 12 || t > 18) return false;
    }
    const type: u32 = kind == ICMP_OWN ? errType : kind == ICMP_TIME_EXCEEDED ? 11 : 3;
    const code: u32 = kind == ICMP_OWN ? errCode : kind == ICMP_TIME_EXCEEDED ? 0 : kind == 5 ? 9 : kind == 6 ? 10 : kind == 8 ? 13 : <u32>kind;
    // __icmp_send: the global limiter before the route lookup, unless skb_in->dev is loopback
    let apply = false;
    if (!maskAllow(type, code) && !isLoopbackDev(<i32>load<u8>(PKT, P_IIF))) {
      if (!globalAllow()) return false;
      apply = true;
    }
    if (!routable(osrc)) return false;
    if (apply && !xrlimGlobal(osrc, oif)) return false;
    const iplen = load<u32>(PKT, P_IPLEN);
    // "as much as we can without exceeding 576 bytes", within the route's MTU (the out device's)
    const room = <i32>min(<u32>ifMtu(oif), <u32>576) - 28;
    if (room <= 20) return false;
    const q = min(iplen, <u32>room);
    len = 28 + q;
    memory.copy(r + 28, l3, q);
    memory.fill(r, 0, 28);
    store<u8>(r + 20, <u8>type); store<u8>(r + 21, <u8>code);
    if (kind == ICMP_OWN) store<u32>(r + 24, bswap<u32>(errInfo));
    store<u16>(r + 22, csumCompute(r + 20, 8 + q, 0));
    store<u8>(r + 1, <u8>((load<u8>(PKT, P_TOS) & 0x1e) | 0xc0));
    const saddr = wasLocal ? odst : ifAddr(oif, osrc);
    store<u32>(r + 12, saddr); store<u32>(r + 16, osrc);
    store<u8>(r + 9, 1);
  }
  store<u8>(r, 0x45);
  store<u16>(r + 2, sw16(len));
  store<u8>(r + 8, 64);
  store<u16>(r + 10, csumCompute(r, 20, 0));
  if (kind == REJECT_TCP_RESET) {
    // TCP checksum over the pseudo header
    let s: u32 = 0;
    s += <u32>load<u16>(r + 12) + <u32>load<u16>(r + 14) + <u32>load<u16>(r + 16) + <u32>load<u16>(r + 18);
    s += <u32>sw16(6) + <u32>sw16(20);
    for (let i: u32 = 0; i < 20; i += 2) s += <u32>load<u16>(r + 20 + i);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    store<u16>(r + 36, <u16>(~s & 0xffff));
  }
  // the packet record now describes the reply
  const ct = load<u32>(PKT, P_CT);
  store<u32>(PKT, <u32>r, P_L3);
  store<u32>(PKT, len, P_IPLEN);
  store<u32>(PKT, load<u32>(r + 12), P_SADDR);
  store<u32>(PKT, load<u32>(r + 16), P_DADDR);
  store<u8>(PKT, load<u8>(r + 9), P_PROTO);
  store<u8>(PKT, load<u8>(r + 1), P_TOS);
  store<u8>(PKT, 64, P_TTL);
  store<u8>(PKT, 20, P_IHL);
  store<u16>(PKT, 0, P_FRAGOFF);
  store<u8>(PKT, 0, P_MF);
  store<u32>(PKT, <u32>(r + 20), P_L4);
  store<u32>(PKT, len - 20, P_L4LEN);
  store<u8>(PKT, 1, P_L4OK);
  store<u8>(PKT, 0, P_CSUM_OK);
  if (kind == REJECT_TCP_RESET) {
    store<u16>(PKT, sw16(<u32>load<u16>(r + 20)), P_SPORT);
    store<u16>(PKT, sw16(<u32>load<u16>(r + 22)), P_DPORT);
    store<u8>(PKT, load<u8>(r + 33), P_TCPFLAGS);
    store<u32>(PKT, 0, P_IN_L3);
  } else {
    store<u8>(PKT, load<u8>(r + 20), P_ICMP_TYPE);
    store<u8>(PKT, load<u8>(r + 21), P_ICMP_CODE);
    store<u16>(PKT, 0, P_SPORT);
    store<u16>(PKT, <u16>((<u32>load<u8>(r + 20) << 8) | <u32>load<u8>(r + 21)), P_DPORT);
    store<u8>(PKT, 0, P_TCPFLAGS);
    store<u32>(PKT, <u32>(r + 28), P_IN_L3);
  }
  store<u8>(PKT, 0, P_PKTTYPE);
  store<u8>(PKT, IF_NONE, P_IIF);
  store<u8>(PKT, <u8>oif, P_OIF);
  store<u32>(PKT, 0, P_MARK);
  store<u8>(PKT, 1, P_LOCALGEN);
  if (ct != 0) {
    // nf_ct_attach: RELATED in the other direction
    const dir = load<u8>(PKT, P_CTDIR);
    store<u8>(PKT, dir == 0 ? CTINFO_RELATED_REPLY : CTINFO_RELATED, P_CTINFO);
    store<u8>(PKT, dir == 0 ? 1 : 0, P_CTDIR);
  } else {
    store<u8>(PKT, track ? CTINFO_INVALID : CTINFO_NONE, P_CTINFO);
  }
  return true;
}

// ---- Emitted packets (--out) ----
// Every packet the host sends (REJECT replies, the stack's ICMP errors, echo replies) is copied, as
// it leaves (after OUTPUT/POSTROUTING, NAT applied), into a per-batch area that JS reads after the
// batch (src/replay/outframes.ts). The area is the core's own (reserve(), never freed): it starts
// at 64 KiB and doubles whenever a record does not fit (the used part is copied over), so nothing
// is lost and the memory is at most twice a batch's worst emission. At most one record per packet
// and each at most 65535 + EMR_SIZE bytes (an echo reply to a reassembled ping), so growth happens
// a handful of times per run, never per packet in steady state. Header layout: EM_* in layout.ts.
const EMIT_HDR: usize = memory.data(16, 16);

/** Address of the emission header (EM_COUNT, EM_USED, EM_CAP, EM_DATA). */
export function emitHeader(): usize { return EMIT_HDR; }

/** Forget the previous batch's emitted packets (called at the start of every batch). */
export function resetEmit(): void {
  store<u32>(EMIT_HDR, 0, EM_COUNT);
  store<u32>(EMIT_HDR, 0, EM_USED);
}

/** Record the packet in PKT (the host's own, about to leave) for descriptor index `idx`. */
export function emitReply(idx: u32): void {
  const len = load<u32>(PKT, P_IPLEN);
  const need = <u32>EMR_SIZE + ((len + 3) & ~3);
  const used = load<u32>(EMIT_HDR, EM_USED);
  let cap = load<u32>(EMIT_HDR, EM_CAP);
  if (used + need > cap) {
    let ncap: u32 = cap == 0 ? 65536 : cap << 1;
    while (ncap < used + need) ncap <<= 1;
    const nd = reserve(<usize>ncap);
    if (used != 0) memory.copy(nd, <usize>load<u32>(EMIT_HDR, EM_DATA), used);
    store<u32>(EMIT_HDR, <u32>nd, EM_DATA);
    store<u32>(EMIT_HDR, ncap, EM_CAP);
    cap = ncap;
  }
  const r = <usize>load<u32>(EMIT_HDR, EM_DATA) + used;
  store<u32>(r, idx, EMR_INDEX);
  store<u32>(r, len, EMR_LEN);
  store<u32>(r, <u32>load<u8>(PKT, P_OIF), EMR_OIF);
  store<u32>(r, 0, 12);
  memory.copy(r + EMR_SIZE, <usize>load<u32>(PKT, P_L3), len);
  store<u32>(EMIT_HDR, used + need, EM_USED);
  store<u32>(EMIT_HDR, load<u32>(EMIT_HDR, EM_COUNT) + 1, EM_COUNT);
}
