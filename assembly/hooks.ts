// The per-packet pipeline in the kernel's order (netfilter-semantics.md §1):
// dissect → PREROUTING: raw → ctIn → mangle → nat DST (first packet of a ct) → natManip(DST)
// → routing → INPUT: mangle, filter, security, nat SRC, natManip(SRC), confirm → RES_LOCAL
//            FORWARD: (ip_forward: TTL <= 1 dropped, TTL decremented) mangle, filter, security
//            → POSTROUTING: mangle, nat SRC, natManip(SRC), confirm → RES_FORWARDED.
// Conntrack/NAT steps only when the image has IMGF_CONNTRACK (the kernel tracks on demand).
// Note: the kernel decrements the TTL in ip_forward() BEFORE the FORWARD hook (after its
// `ttl <= 1` check), so FORWARD/POSTROUTING rules (-m ttl, recent --rttl) see the new TTL.
import {
  H_FLAGS, IMGF_CONNTRACK, HOOK_PREROUTING, HOOK_INPUT, HOOK_FORWARD, HOOK_OUTPUT, HOOK_POSTROUTING, IF_NONE,
  TABLE_RAW, TABLE_MANGLE, TABLE_NAT, TABLE_FILTER, TABLE_SECURITY, MANIP_SRC, MANIP_DST,
  P_HOOK, P_CT, P_TTL, P_L3, P_OIF, P_PKTTYPE, V_ACCEPT, V_DROP, V_REJECT,
  RES_NONE, RES_LOCAL, RES_FORWARDED, RES_DROP_RULE, RES_DROP_POLICY, RES_DROP_TTL, RES_DROP_NOROUTE,
  RES_DROP_NAT, RES_DROP_INVALID, RES_DROP_MTU, DESC_SIZE,
  SYS_IP_FORWARD, P_DADDR, P_SADDR, P_IPLEN, RES_FRAG_QUEUED, RES_DROP_FRAG, RESF_REASSEMBLED, P_CTINFO, CTINFO_INVALID,
  CTINFO_ESTABLISHED, CTINFO_ESTABLISHED_REPLY, P_CTDIR, P_IIF, P_SIZE, IMGF_NAT,
  IPS_SRC_NAT, IPS_DST_NAT, IPS_SRC_NAT_DONE, IPS_DST_NAT_DONE,
} from '../src/layout';
import { PKT, imgw } from './state';
import { runTable, dropBy } from './interp';
import {
  buildReject, buildEchoReply, ICMP_TIME_EXCEEDED, ICMP_OWN, setIcmpError, ipErrorAllow, redirectAllow,
  emitReply, resetEmit, // --out: the packets the host emits
} from './modules/reject';
import { lastRejectWith } from './modules/targets';
import {
  dissect, defrag, defragMaxSize, defragDf, ctIn, ctConfirm, ctAbort, natNeeded, natNullBinding, natManip, routeInput,
} from './engine-deps';
import { DEFRAG_HELD, DEFRAG_DROP, DEFRAG_DONE } from './dissect';
import { ctPrefetch, entryAddr } from './conntrack';
import { CT_ROUTE, CT_STATUS } from '../src/layout-ct';
import { ifMtu, mainRouteType, sysctl, routeRedirect, setRouteRedirect, forwardNexthop } from './host';

/** Result word for a drop by the interpreter: RES_DROP_RULE (extra = rule + 1) or RES_DROP_POLICY. */
function dropRes(): u32 {
  if (dropBy >= 0) return RES_DROP_RULE | (<u32>(dropBy + 1) << 16);
  return RES_DROP_POLICY | (<u32>(-dropBy) << 16);
}

/** routeInput for the packet, remembered per connection direction (CT_ROUTE) for ESTABLISHED
 *  packets: after PREROUTING's NAT their addresses are the ct's tuple, so the route (and rp_filter's
 *  answer) can change only with the ingress device, kept beside it. RELATED packets (ICMP errors)
 *  carry other addresses and are routed. Only MASQUERADE reads routeNexthop(), on a NEW packet.
 *  The memo word: valid 1 | iif << 8 | route << 16 | out device << 24, the device's bit 7 being
 *  IPSKB_DOREDIRECT (a function of the same addresses, devices and the image, as the route). */
function routeCt(track: bool): i32 {
  if (track) {
    const ci = load<u8>(PKT, P_CTINFO);
    const ct = load<u32>(PKT, P_CT);
    if ((ci == CTINFO_ESTABLISHED || ci == CTINFO_ESTABLISHED_REPLY) && ct != 0) {
      const a = entryAddr(ct) + CT_ROUTE + (<usize>load<u8>(PKT, P_CTDIR) << 2);
      const iif = <u32>load<u8>(PKT, P_IIF);
      const w = load<u32>(a);
      if ((w & 0xffff) == (1 | (iif << 8))) {
        const r = <i32>(<i8>(w >> 16));
        setRouteRedirect(w >= 0x80000000);
        if (r == HOOK_FORWARD) store<u8>(PKT, <u8>((w >> 24) & 0x7f), P_OIF);
        return r;
      }
      const r = routeInput();
      store<u32>(a, 1 | (iif << 8) | ((<u32>r & 0xff) << 16)
        | (r == HOOK_FORWARD ? (<u32>load<u8>(PKT, P_OIF) << 24) | (routeRedirect() ? 0x80000000 : 0) : 0));
      return r;
    }
  }
  return routeInput();
}

// @ts-ignore: decorator
@inline function tbl(hook: i32, table: i32): i32 {
  store<u8>(PKT, <u8>hook, P_HOOK);
  return runTable(hook, table);
}

/** nf_nat_inet_fn for one NAT hook: walk the nat chain on a ct's first packet, null binding if
 * nothing was set up, then rewrite. Returns V_ACCEPT or a drop verdict (dropBy set if by rule). */
function natHook(hook: i32, manip: i32): i32 {
  if (load<u32>(PKT, P_CT) == 0) return V_ACCEPT;
  if (natNeeded(manip)) {
    const v = tbl(hook, TABLE_NAT);
    if (v != V_ACCEPT) return v;
    if (natNeeded(manip) && natNullBinding(manip) != V_ACCEPT) return -1;
  }
  return natManip(manip) == V_ACCEPT ? V_ACCEPT : -1;
}

/** One packet, descriptor at `desc`. Returns the DESC_RESULT word. */
export function processPacket(desc: usize): u32 {
  // every 8th packet: load the conntrack buckets the next 8 will look up, together (cache only)
  if ((batchIndex & 7) == 0) ctPrefetch(batchIndex == 0 ? desc : desc + 8 * DESC_SIZE, batchIndex == 0 ? 16 : 8);
  const r = dissect(desc);
  if (r != RES_NONE) return <u32>r;
  const track = (imgw(H_FLAGS) & IMGF_CONNTRACK) != 0;
  // nf_defrag_ipv4 (priority -400) when conntrack is active: fragments are held until the datagram
  // is complete; the completing fragment carries the whole datagram through the tables.
  let reasm = false;
  if (track) {
    const d = defrag();
    if (d == DEFRAG_HELD) return RES_FRAG_QUEUED;
    if (d == DEFRAG_DROP) return RES_DROP_FRAG;
    reasm = d == DEFRAG_DONE;
  }
  let v = tbl(HOOK_PREROUTING, TABLE_RAW);
  if (v != V_ACCEPT) return fail(v, track);
  if (track && ctIn() != V_ACCEPT) { ctAbort(); return RES_DROP_INVALID; }
  v = tbl(HOOK_PREROUTING, TABLE_MANGLE);
  if (v != V_ACCEPT) return fail(v, track);
  if (track) {
    v = natHook(HOOK_PREROUTING, MANIP_DST);
    if (v != V_ACCEPT) return fail(v, track);
  }
  const route = routeCt(track);
  if (route < 0) {
    if (-route == RES_DROP_NOROUTE) routeError(track);
    if (track) ctAbort();
    return <u32>(-route);
  }
  if (route == HOOK_INPUT) {
    v = tbl(HOOK_INPUT, TABLE_MANGLE);
    if (v == V_ACCEPT) v = tbl(HOOK_INPUT, TABLE_FILTER);
    if (v == V_ACCEPT) v = tbl(HOOK_INPUT, TABLE_SECURITY);
    if (v == V_ACCEPT && track) v = natHook(HOOK_INPUT, MANIP_SRC);
    if (v != V_ACCEPT) return fail(v, track);
    if (track && ctConfirm() != V_ACCEPT) return RES_DROP_INVALID;
    // the host's ICMP stack answers an echo request (icmp_echo): the reply walks OUTPUT/POSTROUTING
    if (buildEchoReply()) hostReply(track, true);
    return RES_LOCAL;
  }
  // ip_forward(): only PACKET_HOST frames, TTL check, then decrement (checksum as ip_decrease_ttl).
  if (load<u8>(PKT, P_PKTTYPE) != 0) { if (track) ctAbort(); return RES_DROP_NOROUTE; }
  const ttl = <u32>load<u8>(PKT, P_TTL);
  if (ttl <= 1) {
    // icmp_send(ICMP_TIME_EXCEEDED) from ip_forward: the error walks OUTPUT/POSTROUTING like a REJECT's
    if (buildReject(ICMP_TIME_EXCEEDED, false, track)) hostReply(track, false);
    if (track) ctAbort();
    return RES_DROP_TTL;
  }
  const l3 = <usize>load<u32>(PKT, P_L3);
  // ip_exceeds_mtu: DF set and longer than the out device's MTU -> ICMP fragmentation needed, drop
  const mtu = <u32>ifMtu(<i32>load<u8>(PKT, P_OIF));
  if (load<u32>(PKT, P_IPLEN) > mtu && (load<u8>(l3 + 6) & 0x40) != 0) {
    setIcmpError(3, 4, mtu);
    if (buildReject(ICMP_OWN, false, track)) hostReply(track, false);
    if (track) ctAbort();
    return RES_DROP_MTU;
  }
  let c = <u32>load<u16>(l3 + 10) + 0x0001;   // check += htons(0x0100) on a little-endian load
  c = c + (c >= 0xffff ? 1 : 0);
  store<u16>(l3 + 10, <u16>c);
  store<u8>(l3 + 8, <u8>(ttl - 1));
  store<u8>(PKT, <u8>(ttl - 1), P_TTL);
  // IPSKB_DOREDIRECT (the route's): ip_rt_send_redirect, before the FORWARD hook; the packet goes on
  if (routeRedirect()) sendRedirect(track);
  v = tbl(HOOK_FORWARD, TABLE_MANGLE);
  if (v == V_ACCEPT) v = tbl(HOOK_FORWARD, TABLE_FILTER);
  if (v == V_ACCEPT) v = tbl(HOOK_FORWARD, TABLE_SECURITY);
  if (v == V_ACCEPT) v = tbl(HOOK_POSTROUTING, TABLE_MANGLE);
  if (v == V_ACCEPT && track) v = natHook(HOOK_POSTROUTING, MANIP_SRC);
  if (v != V_ACCEPT) return fail(v, track);
  if (track && ctConfirm() != V_ACCEPT) return RES_DROP_INVALID;
  // a reassembled datagram is not the frame the descriptor points at: flag it (RESF_REASSEMBLED) and
  // keep a copy of it, as it leaves, in the out-record area for --out writers
  if (reasm) saveReassembled();
  return RES_FORWARDED | (<u32>load<u8>(PKT, P_OIF) << 8) | (reasm ? RESF_REASSEMBLED : 0);
}

/** Out records of the current batch (reserved by the host; 0 = none): u32 count, u32 bytes used,
 *  u32 lost, pad; then per record [u32 descriptor index, u32 length, u32 frag_max_size, u32 df]
 *  and the datagram, padded to 4 bytes. */
let OUTREC: usize = 0;
let OUTREC_BYTES: u32 = 0;
export let batchIndex: u32 = 0;
export function setOutRecords(addr: usize, bytes: u32): void { OUTREC = addr; OUTREC_BYTES = bytes; }
export function setBatchIndex(i: u32): void { batchIndex = i; }
export function resetOutRecords(): void { resetEmit(); if (OUTREC != 0) { store<u32>(OUTREC, 0); store<u32>(OUTREC, 16, 4); store<u32>(OUTREC, 0, 8); } }

function saveReassembled(): void {
  if (OUTREC == 0) return;
  const len = load<u32>(PKT, P_IPLEN);
  const used = load<u32>(OUTREC, 4);
  const need = 16 + ((len + 3) & ~3);
  if (used + need > OUTREC_BYTES) { store<u32>(OUTREC, load<u32>(OUTREC, 8) + 1, 8); return; }
  const r = OUTREC + used;
  store<u32>(r, batchIndex);
  store<u32>(r, len, 4);
  store<u32>(r, defragMaxSize(), 8);
  store<u32>(r, defragDf() ? 1 : 0, 12);
  memory.copy(r + 16, <usize>load<u32>(PKT, P_L3), len);
  store<u32>(OUTREC, load<u32>(OUTREC) + 1);
  store<u32>(OUTREC, used + need, 4);
}

/** The last drop was of a packet conntrack had found INVALID (for the report's totals). */
export let dropInvalid: bool = false;

function fail(v: i32, track: bool): u32 {
  dropInvalid = load<u8>(PKT, P_CTINFO) == CTINFO_INVALID;
  if (v == V_REJECT) {
    const res = dropRes();
    const local = load<u8>(PKT, P_OIF) == IF_NONE;
    if (buildReject(lastRejectWith, local, track)) hostReply(track, false);
    if (track) ctAbort();
    return res;
  }
  if (track) ctAbort();
  if (v == V_DROP) return dropRes();
  return RES_DROP_NAT;
}

/** ip_error for a packet routing could not deliver (forwarding on): ICMP net unreachable (no
 *  route), host unreachable (unreachable route), filtered (prohibit); none for blackhole routes or
 *  when forwarding is off. Rate limited per source by ip_error's limiter and icmp_send's. */
function routeError(track: bool): void {
  if (sysctl(SYS_IP_FORWARD) == 0) return;
  const t = mainRouteType(load<u32>(PKT, P_DADDR));
  let code: u32 = 0;
  if (t < 0) code = 0;                 // ENETUNREACH
  else if (t == 7) code = 1;           // RTN_UNREACHABLE: EHOSTUNREACH
  else if (t == 8) code = 13;          // RTN_PROHIBIT: EACCES -> ICMP_PKT_FILTERED
  else return;                         // blackhole (EINVAL) or anything else: silent
  if (!ipErrorAllow(load<u32>(PKT, P_SADDR))) return;
  setIcmpError(3, code, 0);
  if (buildReject(ICMP_OWN, false, track)) hostReply(track, false);
}

/** Packets the host sent (REJECT replies, the stack's ICMP errors and redirects, echo replies) that
 *  left it (after OUTPUT and POSTROUTING). */
export let rejectSent: u64 = 0;

/** The packet record of the forwarded packet while its redirect walks OUTPUT/POSTROUTING. */
const SAVED_PKT: usize = memory.data(P_SIZE, 16);
/** The packet consulted a source's inet_peer record for a redirect (pool dependency log). */
let redirectPeer: bool = false;
/** Whether the last packet(s) consulted the redirect limiter since the last call; clears it. */
// @ts-ignore: decorator
@inline export function redirectPeerTaken(): bool { const r = redirectPeer; redirectPeer = false; return r; }

/** ip_rt_send_redirect for PKT (forwarded out of the device it came in on, its TTL decremented):
 *  the source's limiter, then icmp_send(ICMP_REDIRECT, ICMP_REDIR_HOST, rt_nexthop) — quoting the
 *  packet as it is now (TTL - 1) — through OUTPUT/POSTROUTING. The forwarded packet then goes on to
 *  FORWARD unchanged: buildReject/hostReply rewrite the packet record (PKT), which is kept aside
 *  and put back (the reply is built in its own buffer; the frame is only read). */
function sendRedirect(track: bool): void {
  redirectPeer = true;
  if (!redirectAllow(load<u32>(PKT, P_SADDR))) return;
  memory.copy(SAVED_PKT, PKT, P_SIZE);
  setIcmpError(5, 1, bswap<u32>(forwardNexthop(load<u32>(PKT, P_DADDR))));
  if (buildReject(ICMP_OWN, false, track)) hostReply(track, false, true);
  memory.copy(PKT, SAVED_PKT, P_SIZE);
}

/** nf_nat_icmp_reply_translation refuses (NF_DROP at the first nat hook, nat OUTPUT) a redirect
 *  whose connection has not both NAT manips done or has any address translated: sent from
 *  ip_forward, before POSTROUTING, a connection's first packet's redirect always goes there. */
function redirectNatDrop(): bool {
  if ((imgw(H_FLAGS) & IMGF_NAT) == 0) return false;
  const ct = load<u32>(PKT, P_CT);
  if (ct == 0) return false;
  const st = load<u32>(entryAddr(ct), CT_STATUS);
  return (st & (IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE)) != (IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE) || (st & (IPS_SRC_NAT | IPS_DST_NAT)) != 0;
}

/** A packet the host sends (PKT) through OUTPUT (raw, [conntrack], mangle, nat DST, filter,
 *  security) and POSTROUTING (mangle, nat SRC, [confirm]). `own`: a packet of its own (echo reply,
 *  P_LOCALGEN), looked up and confirmed by conntrack; otherwise a REJECT/ICMP error, which carries
 *  the offending packet's ct (no lookup; NAT per natNeeded; never confirmed). `redirect`: an ICMP
 *  redirect (redirectNatDrop at the nat hooks). */
function hostReply(track: bool, own: bool, redirect: bool = false): void {
  const ct = track && own;
  let v = tbl(HOOK_OUTPUT, TABLE_RAW);
  if (v == V_ACCEPT && ct && ctIn() != V_ACCEPT) { ctAbort(); return; }
  if (v == V_ACCEPT) v = tbl(HOOK_OUTPUT, TABLE_MANGLE);
  if (v == V_ACCEPT && redirect && track && redirectNatDrop()) return;
  if (v == V_ACCEPT && track) v = natHook(HOOK_OUTPUT, MANIP_DST);
  if (v == V_ACCEPT) v = tbl(HOOK_OUTPUT, TABLE_FILTER);
  if (v == V_ACCEPT) v = tbl(HOOK_OUTPUT, TABLE_SECURITY);
  if (v == V_ACCEPT) v = tbl(HOOK_POSTROUTING, TABLE_MANGLE);
  if (v == V_ACCEPT && track) v = natHook(HOOK_POSTROUTING, MANIP_SRC);
  if (v != V_ACCEPT) { if (ct) ctAbort(); return; }
  if (ct && ctConfirm() != V_ACCEPT) return;
  rejectSent++;
  emitReply(batchIndex);
}
