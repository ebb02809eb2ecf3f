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
  RES_DROP_NAT, RES_DROP_INVALID,
} from '../src/layout';
import { PKT, imgw } from './state';
import { runTable, dropBy } from './interp';
import { buildReject, ICMP_TIME_EXCEEDED } from './modules/reject';
import { lastRejectWith } from './modules/targets';
import {
  dissect, ctIn, ctConfirm, ctAbort, natNeeded, natNullBinding, natManip, routeInput,
} from './engine-deps';

/** Result word for a drop by the interpreter: RES_DROP_RULE (extra = rule + 1) or RES_DROP_POLICY. */
function dropRes(): u32 {
  if (dropBy >= 0) return RES_DROP_RULE | (<u32>(dropBy + 1) << 16);
  return RES_DROP_POLICY | (<u32>(-dropBy) << 16);
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
  const r = dissect(desc);
  if (r != RES_NONE) return <u32>r;
  const track = (imgw(H_FLAGS) & IMGF_CONNTRACK) != 0;
  let v = tbl(HOOK_PREROUTING, TABLE_RAW);
  if (v != V_ACCEPT) return fail(v, track);
  if (track && ctIn() != V_ACCEPT) { ctAbort(); return RES_DROP_INVALID; }
  v = tbl(HOOK_PREROUTING, TABLE_MANGLE);
  if (v != V_ACCEPT) return fail(v, track);
  if (track) {
    v = natHook(HOOK_PREROUTING, MANIP_DST);
    if (v != V_ACCEPT) return fail(v, track);
  }
  const route = routeInput();
  if (route < 0) {
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
    return RES_LOCAL;
  }
  // ip_forward(): only PACKET_HOST frames, TTL check, then decrement (checksum as ip_decrease_ttl).
  if (load<u8>(PKT, P_PKTTYPE) != 0) { if (track) ctAbort(); return RES_DROP_NOROUTE; }
  const ttl = <u32>load<u8>(PKT, P_TTL);
  if (ttl <= 1) {
    // icmp_send(ICMP_TIME_EXCEEDED) from ip_forward: the error walks OUTPUT/POSTROUTING like a REJECT's
    if (buildReject(ICMP_TIME_EXCEEDED, false, track)) rejectReply(track);
    if (track) ctAbort();
    return RES_DROP_TTL;
  }
  const l3 = <usize>load<u32>(PKT, P_L3);
  let c = <u32>load<u16>(l3 + 10) + 0x0001;   // check += htons(0x0100) on a little-endian load
  c = c + (c >= 0xffff ? 1 : 0);
  store<u16>(l3 + 10, <u16>c);
  store<u8>(l3 + 8, <u8>(ttl - 1));
  store<u8>(PKT, <u8>(ttl - 1), P_TTL);
  v = tbl(HOOK_FORWARD, TABLE_MANGLE);
  if (v == V_ACCEPT) v = tbl(HOOK_FORWARD, TABLE_FILTER);
  if (v == V_ACCEPT) v = tbl(HOOK_FORWARD, TABLE_SECURITY);
  if (v == V_ACCEPT) v = tbl(HOOK_POSTROUTING, TABLE_MANGLE);
  if (v == V_ACCEPT && track) v = natHook(HOOK_POSTROUTING, MANIP_SRC);
  if (v != V_ACCEPT) return fail(v, track);
  if (track && ctConfirm() != V_ACCEPT) return RES_DROP_INVALID;
  return RES_FORWARDED | (<u32>load<u8>(PKT, P_OIF) << 8);
}

function fail(v: i32, track: bool): u32 {
  if (v == V_REJECT) {
    const res = dropRes();
    const local = load<u8>(PKT, P_OIF) == IF_NONE;
    if (buildReject(lastRejectWith, local, track)) rejectReply(track);
    if (track) ctAbort();
    return res;
  }
  if (track) ctAbort();
  if (v == V_DROP) return dropRes();
  return RES_DROP_NAT;
}

/** Replies the host sent (REJECT, ICMP time exceeded) that left it (after OUTPUT and POSTROUTING). */
export let rejectSent: u64 = 0;

/** The REJECT reply in PKT through OUTPUT and POSTROUTING (no conntrack lookup: it carries the
 *  rejected packet's ct; NAT per natNeeded; never confirmed). */
function rejectReply(track: bool): void {
  let v = tbl(HOOK_OUTPUT, TABLE_RAW);
  if (v == V_ACCEPT) v = tbl(HOOK_OUTPUT, TABLE_MANGLE);
  if (v == V_ACCEPT && track) v = natHook(HOOK_OUTPUT, MANIP_DST);
  if (v == V_ACCEPT) v = tbl(HOOK_OUTPUT, TABLE_FILTER);
  if (v == V_ACCEPT) v = tbl(HOOK_OUTPUT, TABLE_SECURITY);
  if (v == V_ACCEPT) v = tbl(HOOK_POSTROUTING, TABLE_MANGLE);
  if (v == V_ACCEPT && track) v = natHook(HOOK_POSTROUTING, MANIP_SRC);
  if (v == V_ACCEPT) rejectSent++;
}
