// Verdict cache of established packets' table walks (an exact megaflow per connection direction).
//
// The walk of a builtin chain (interp.ts runChain) by an ESTABLISHED packet depends only on:
//  - the packet's addresses, protocol and ports (for a connection direction these are its tuple,
//    NAT-rewritten per the ct's status bits), fragment offset (0: conntrack sees whole datagrams)
//    and whether the L4 header is present (P_L4OK);
//  - its in/out devices, skb mark at the walk's start, ctinfo, and the ct's status, mark and tuples;
// as long as every match the walk evaluated and every target it ran is "flow-invariant": matches
// that read only the fields above (tcp ports without flags/options, udp,
// sctp, icmp, multiport, conntrack without --ctexpire, state, mark, connmark, comment, addrtype,
// iprange), targets jump/goto/return/accept/drop or MARK, CONNMARK --restore-mark, LOG/NFLOG/TRACE
// (counted only). No statistic/recent/limit/length/ttl/tos/... evaluated in the walk (a rule whose
// base match or an earlier match fails before such a match does not evaluate it).
// Such a walk's effects are the counters it ticked (+1 packet, + the packet's IP length), the skb
// mark it left and its verdict. When it ended in ACCEPT and ticked <= WC_MAXC counters, they are
// recorded in a slot keyed by (ct index, ct sequence number, chain, direction) with the snapshot
// (ctinfo, devices, hook, L4OK, status, ct mark, entry skb mark); a later packet of that ct and
// direction whose snapshot is the same replays the effects instead of walking.
// Off with setWalkCache(0) (tests compare both); active only once walkCacheSetup found an image.
import {
  H_MAGIC, IMG_MAGIC, H_NRULES, H_NCHAINS, H_RULES, R_SIZE, R_TARGET, R_TPARAMS, R_NMATCH, R_MATCHES, T_MODULE,
  MOD_TCP, MOD_UDP, MOD_SCTP, MOD_ICMP, MOD_MULTIPORT, MOD_CONNTRACK, MOD_STATE, MOD_MARK, MOD_CONNMARK,
  MOD_COMMENT, MOD_ADDRTYPE, MOD_IPRANGE, MOD_UNSUPPORTED, MOD_MARK_T, MOD_CONNMARK_T, MOD_LOG, MOD_NFLOG,
  MOD_TRACE,
} from '../src/layout';
import { IMG, imgw } from './state';
import { reserve } from './mem';

/** Slots (power of two), 128 bytes each (a walk through kube-proxy's FORWARD ticks 9 counters):
 *  1 MiB per core instance, touched only as used (a slot's second line only by walks that tick
 *  more than 7 counters). */
const WC_SLOTS: u32 = 8192;
/** Counters one slot can replay. */
export const WC_MAXC: u32 = 23;
const WS_SHIFT: usize = 7;
// slot layout (byte offsets)
export const WS_CT = 0;        // u32 ct index + 1 (0: empty)
export const WS_SEQ = 4;       // u32 the ct's CT_SEQ (an entry reused for another connection differs)
export const WS_KEY = 8;       // u32 chain << 2 | dir << 1 | P_L4OK
export const WS_STATUS = 12;   // u32 ct status at the walk's start
export const WS_CTMARK = 16;   // u32 ct mark
export const WS_MARK = 20;     // u32 skb mark at the walk's start
export const WS_DEV = 24;      // u32 the PKT word at P_IIF: iif, oif, hook, ctinfo
export const WS_MARK_OUT = 28; // u32 skb mark after the walk
export const WS_N = 32;        // u32 counters to tick
export const WS_CNT = 36;      // u32 counter indices [WC_MAXC]

let WC: usize = 0;
let RULEC: usize = 0;
/** Global slots (128 KiB): walks that read no header field and nothing of the ct but its ctinfo, direction,
 *  status and mark (kube-proxy's FORWARD and POSTROUTING walks), shared by all connections. */
const WG_SLOTS: u32 = 1024;
let WG: usize = 0;
/** Per chain: recordings in a row that could not be kept (a chain whose walks never can, e.g. a
 *  nat chain that DNATs, walks without the cache, retrying every 64th walk). */
let FAILS: usize = 0;
export const WC_FAIL_SKIP: u32 = 8;
let on: bool = true;
/** The cache is set up and switched on. */
export let wcActive: bool = false;
/** Walks replayed from the cache since setup (tests: the comparison is not vacuous). */
export let wcHits: u64 = 0;
export function walkCacheHits(): u64 { return wcHits; }
// @ts-ignore: decorator
@inline export function wcHit(): void { wcHits++; }

/** Match `id` with params at word p is flow-invariant (see above). */
function matchCacheable(id: i32, p: i32): bool {
  switch (id) {
    case MOD_TCP:
      // [spmin, spmax, dpmin, dpmax, flgMask, flgCmp, option, inv]: ports only
      return imgw(p + 4) == 0 && imgw(p + 6) == 0;
    case MOD_CONNTRACK:
      return (imgw(p) & 128) == 0; // --ctexpire reads the clock
    case MOD_UDP: case MOD_SCTP: case MOD_ICMP: case MOD_MULTIPORT: case MOD_STATE: case MOD_MARK:
    case MOD_CONNMARK: case MOD_COMMENT: case MOD_ADDRTYPE: case MOD_IPRANGE: case MOD_UNSUPPORTED:
      return true;
  }
  return false;
}

/** Match `id` reads nothing but the snapshot a global slot keys on (ctinfo, ct presence,
 *  direction, status, ct mark, skb mark). */
function matchGlobal(id: i32, p: i32): bool {
  switch (id) {
    case MOD_CONNTRACK:
      return (imgw(p) & ~(1 | 64 | 4096)) == 0; // --ctstate, --ctstatus, --ctdir only
    case MOD_STATE: case MOD_MARK: case MOD_CONNMARK: case MOD_COMMENT: case MOD_UNSUPPORTED:
      return true;
  }
  return false;
}

/** Rule r's target is flow-invariant (see above). */
function targetCacheable(r: i32): bool {
  const rw = imgw(H_RULES) + r * R_SIZE;
  if (imgw(rw + R_TARGET) != T_MODULE) return true;
  const tp = imgw(rw + R_TPARAMS);
  const t = imgw(tp);
  if (t == MOD_MARK_T || t == MOD_LOG || t == MOD_NFLOG || t == MOD_TRACE || t == MOD_UNSUPPORTED) return true;
  if (t == MOD_CONNMARK_T) return imgw(tp + 2) == 2; // --restore-mark: skb mark from the ct mark
  return false;
}

/** Rule r's record (u32): byte 0 the index of its first match that is not flow-invariant (255:
 *  none; a walk that evaluates it cannot be cached, one that stops at an earlier match can), byte
 *  1 nonzero when its target is not (a walk that runs it cannot be cached), byte 2 the index of
 *  its first match that is not global (matchGlobal; 255: none). */
function ruleRecord(r: i32): u32 {
  const rw = imgw(H_RULES) + r * R_SIZE;
  let m = imgw(rw + R_MATCHES);
  const nm = imgw(rw + R_NMATCH);
  let bad: u32 = 255;
  let hdr: u32 = 255;
  for (let i = 0; i < nm && i < 255; i++) {
    if (hdr == 255 && !matchGlobal(imgw(m), m + 2)) hdr = <u32>i;
    if (!matchCacheable(imgw(m), m + 2)) { bad = <u32>i; break; }
    m += 2 + imgw(m + 1);
  }
  if (nm > 255) { if (bad == 255) bad = 0; if (hdr == 255) hdr = 0; }
  if (hdr > bad) hdr = bad;
  return bad | (targetCacheable(r) ? 0 : 256) | (hdr << 16);
}

/** Reserve the slots and classify the image's rules (setup time, after engineSetup; called by
 *  ctSetup: the cache needs conntrack). Without an image the cache stays inactive. */
export function walkCacheSetup(): void {
  WC = 0; RULEC = 0; WG = 0; FAILS = 0; wcActive = false; wcHits = 0;
  if (IMG == 0 || imgw(H_MAGIC) != IMG_MAGIC) return;
  const nr = imgw(H_NRULES);
  RULEC = reserve((<usize>nr + 1) << 2);
  for (let r = 0; r < nr; r++) store<u32>(RULEC + (<usize>r << 2), ruleRecord(r));
  WC = reserve(<usize>WC_SLOTS << WS_SHIFT);
  WG = reserve(<usize>WG_SLOTS << WS_SHIFT);
  FAILS = reserve((<usize>imgw(H_NCHAINS) + 1) << 2);
  wcActive = on;
}

/** Switch the cache on (1, the default) or off (0); empties it. */
export function setWalkCache(v: i32): void {
  on = v != 0;
  wcActive = on && WC != 0;
  walkCacheClear();
}

/** Forget every slot (also when the ct sequence numbers wrap: a reused (index, seq) pair must
 *  never meet an old slot). */
export function walkCacheClear(): void {
  if (WC != 0) memory.fill(WC, 0, <usize>WC_SLOTS << WS_SHIFT);
  if (WG != 0) memory.fill(WG, 0, <usize>WG_SLOTS << WS_SHIFT);
  if (FAILS != 0) memory.fill(FAILS, 0, (<usize>imgw(H_NCHAINS) + 1) << 2);
}

/** Rule r's first match that is not flow-invariant (255: none). */
// @ts-ignore: decorator
@inline export function ruleFirstBadMatch(r: i32): i32 {
  return <i32>load<u8>(RULEC + (<usize>r << 2));
}
/** Rule r's target is flow-invariant. */
// @ts-ignore: decorator
@inline export function ruleTargetOk(r: i32): bool {
  return load<u8>(RULEC + (<usize>r << 2), 1) == 0;
}
/** Rule r's first match that is not global (255: none). */
// @ts-ignore: decorator
@inline export function ruleFirstHdrMatch(r: i32): i32 {
  return <i32>load<u8>(RULEC + (<usize>r << 2), 2);
}
/** Address of chain `c`'s failed-recordings count. */
// @ts-ignore: decorator
@inline export function failsAt(c: i32): usize {
  return FAILS + (<usize>c << 2);
}
/** The global slot of a (chain, ctinfo/dir/ct key, status, ct mark, skb mark) snapshot. */
// @ts-ignore: decorator
@inline export function globalSlotOf(key: u32, st: u32, cm: u32, mark: u32): usize {
  let h = (key * 0x9e3779b1) ^ (st * 0x85ebca77) ^ (cm * 0xc2b2ae3d) ^ (mark * 0x27d4eb2f);
  h ^= h >> 15; h *= 0x2c1b3c6d; h ^= h >> 12;
  return WG + (<usize>(h & (WG_SLOTS - 1)) << WS_SHIFT);
}

/** The slot of (ct, dir, chain): connections' slots are consecutive (entries are handed out in
 *  index order), a chain moves them by a fixed offset. */
// @ts-ignore: decorator
@inline export function slotOf(ct: u32, dir: u32, chain: i32): usize {
  const i = ((((ct - 1) << 1) | dir) ^ ((<u32>chain * 0x9e3779b1) >> 19)) & (WC_SLOTS - 1);
  return WC + (<usize>i << WS_SHIFT);
}
