// Exports for the worker pool (src/replay/pool.ts, worker.ts). Owned by the pool work.
//
// poolSelect (worker, src/replay/worker.ts): every worker gets the whole batch (raw capture bytes,
// framed in its core: api-engine.ts pcapFrame), keys every packet — its flow key is a symmetric
// hash of the captured 5-tuple, so both directions of an unNATed flow meet (see flowKey; ICMP
// errors use their inner header, so they meet the connection they are about) — and keeps the
// packets of its shard: an override table's entry when the main thread merged the flow with
// others, else key % nShards. Keying is repeated in every worker, in parallel; the main thread
// does no per-packet work but the record framing.
// poolRun (worker): runs the section through processBatch (one call; its poolAfterPacket hook
// logs) and logs, per packet, the
// conntrack tuples through which it could depend on another flow: the captured tuple of a NEW
// packet (a miss), the reply tuple of a NATed connection it created, the tuple of an INVALID
// packet that found no conntrack entry (and an ICMP error's inner tuple both ways), and the
// original source (ip, port, proto) of a SNATed connection (nf_nat_bysource reuse). The main
// thread joins flows that share a tuple into one shard and replays those shards again.
import {
  DESC_SIZE, DESC_RESULT, DESC_FRAME, DESC_CAPLEN, DESC_WIRELEN, DESC_TS_SEC, DESC_TS_NSEC, DESC_ORDINAL, DESC_LINKTYPE, LINKTYPE_ETHERNET, RES_NONE, RES_NOT_IP, RES_MALFORMED, P_SADDR, P_DADDR, P_PROTO, P_SPORT, P_DPORT,
  P_L4OK, P_FRAGOFF, P_ICMP_TYPE, P_IN_L3, P_IN_SADDR, P_IN_DADDR, P_IN_PROTO, P_IN_OK, P_IN_SPORT,
  P_IN_DPORT, P_CTINFO, P_CT, P_MF, P_L3, RES_FRAG_QUEUED, RES_DROP_FRAG, RES_DROP_TTL, RES_DROP_NOROUTE,
  RES_DROP_MTU, RES_DROP_RULE, CTINFO_NEW, CTINFO_INVALID, IPS_CONFIRMED, IPS_SRC_NAT, IPS_DST_NAT,
} from '../src/layout';
import { CT_STATUS, CT_PROTO, CT_R_SRC, CT_R_DST, CT_R_SPORT, CT_R_DPORT, CT_O_SRC, CT_O_SPORT, CT_O_DST, CT_O_DPORT } from '../src/layout-ct';
import { PKT } from './state';
import { dissect } from './dissect';
import { processBatch, recordDesc } from './api-engine';
import { ctEntry } from './conntrack';
import { reserve } from './mem';
import { redirectPeerTaken } from './hooks';
import { icmpGlobalTaken } from './modules/reject';

// @ts-ignore: decorator
@inline function mix(x: u32): u32 {
  x ^= x >>> 16; x *= 0x7feb352d; x ^= x >>> 15; x *= 0x846ca68b; x ^= x >>> 16;
  return x;
}

// @ts-ignore: decorator
@inline function isIcmpError(t: u32): bool {
  return t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
}

let hLo: u32 = 0;
let hHi: u32 = 0;

/** 52-bit hash of a directional tuple into hLo/hHi (hHi < 2^20), never 0. */
// @ts-ignore: decorator
@inline function tupleHash(src: u32, dst: u32, sport: u32, dport: u32, proto: u32): void {
  const ports = (sport & 0xffff) | (dport << 16);
  let a = mix(src ^ 0x9e3779b9);
  a = mix(a ^ dst);
  a = mix(a ^ ports);
  a = mix(a ^ proto);
  let b = mix(dst ^ 0x85ebca6b ^ proto);
  b = mix(b ^ src);
  b = mix(b ^ ports);
  hLo = a;
  hHi = (b & 0xfffff) | (a == 0 ? 1 : 0);
}

/** Symmetric flow key (never 0) of endpoints (a, pa) and (b, pb). When one port is >= 1024 and
 * the two differ, the key is the higher port alone (with the protocol): that is the client's
 * ephemeral port, which NAT usually keeps, so the original direction and the reply after DNAT
 * and/or SNAT (different addresses, same client port) land in the same shard without a second
 * pass. Otherwise (ICMP, well-known port pairs) the whole tuple. Any symmetric function is correct
 * here (the dependency passes catch the rest); this one only saves passes. */
// @ts-ignore: decorator
@inline function flowKey(a: u32, pa: u32, b: u32, pb: u32, proto: u32): u32 {
  const hi = pa > pb ? pa : pb;
  if (hi >= 1024 && pa != pb) {
    const h = mix(mix(hi ^ 0x165667b1) ^ proto);
    return h == 0 ? 1 : h;
  }
  if (a > b || (a == b && pa > pb)) { const t = a; a = b; b = t; const u = pa; pa = pb; pb = u; }
  let h = mix(a ^ 0x27d4eb2f);
  h = mix(h ^ b);
  h = mix(h ^ ((pa & 0xffff) | (pb << 16)));
  h = mix(h ^ proto);
  return h == 0 ? 1 : h;
}

/** Flow key of the packet in PKT (dissect done). */
function pktFlowKey(): u32 {
  const proto = <u32>load<u8>(PKT, P_PROTO);
  const l4 = load<u8>(PKT, P_L4OK) != 0 && load<u16>(PKT, P_FRAGOFF) == 0;
  if (proto == 1 && l4) {
    const t = <u32>load<u8>(PKT, P_ICMP_TYPE);
    if (isIcmpError(t) && load<u32>(PKT, P_IN_L3) != 0) {
      const ip = <u32>load<u8>(PKT, P_IN_PROTO);
      const ok = load<u8>(PKT, P_IN_OK) != 0;
      let sp: u32 = ok ? <u32>load<u16>(PKT, P_IN_SPORT) : 0;
      let dp: u32 = ok ? <u32>load<u16>(PKT, P_IN_DPORT) : 0;
      if (ip == 1) dp = 0;   // echo: the id alone (request and reply types differ)
      return flowKey(load<u32>(PKT, P_IN_SADDR), sp, load<u32>(PKT, P_IN_DADDR), ip == 1 ? sp : dp, ip);
    }
    const id = <u32>load<u16>(PKT, P_SPORT);
    return flowKey(load<u32>(PKT, P_SADDR), id, load<u32>(PKT, P_DADDR), id, 1);
  }
  const sp: u32 = l4 ? <u32>load<u16>(PKT, P_SPORT) : 0;
  const dp: u32 = l4 ? <u32>load<u16>(PKT, P_DPORT) : 0;
  return flowKey(load<u32>(PKT, P_SADDR), sp, load<u32>(PKT, P_DADDR), dp, proto);
}

/** Hash of the captured tuple of the packet in PKT into hLo/hHi (ports 0 without L4). */
function pktTupleHash(): void {
  const l4 = load<u8>(PKT, P_L4OK) != 0 && load<u16>(PKT, P_FRAGOFF) == 0;
  tupleHash(load<u32>(PKT, P_SADDR), load<u32>(PKT, P_DADDR), l4 ? <u32>load<u16>(PKT, P_SPORT) : 0,
    l4 ? <u32>load<u16>(PKT, P_DPORT) : 0, <u32>load<u8>(PKT, P_PROTO));
}

/** Override table lookup: pairs (key, shard), open addressing, key 0 = empty. */
// @ts-ignore: decorator
@inline function overrideShard(ovr: usize, mask: u32, key: u32): i32 {
  if (mask == 0) return -1;
  let i = key & mask;
  while (true) {
    const k = load<u32>(ovr + (<usize>i << 3));
    if (k == 0) return -1;
    if (k == key) return <i32>load<u32>(ovr + (<usize>i << 3), 4);
    i = (i + 1) & mask;
  }
}

// Result of keyPacket: the packet's flow key, whether it is usable IPv4, a fragment, its source;
// its captured tuple hash in hLo/hHi (0 when not usable).
let kKey: u32 = 0;
let kUsable = false;
let kFrag = false;
let kSrc: u32 = 0;

/** Fast path of keyPacket: Ethernet + IPv4 without options, unfragmented TCP/UDP, whole header
 * present (frame `f`, `caplen`, `linktype`). It computes exactly what the dissect path computes
 * for such a packet (same fields, same hashes), only without the rest of dissect's work. Returns
 * false (nothing set but the reset) for any other packet. */
// @ts-ignore: decorator
@inline function fastKey(f: usize, caplen: u32, linktype: u32, hash: bool): bool {
  kKey = 0; kUsable = false; kFrag = false; kSrc = 0;
  if (linktype != LINKTYPE_ETHERNET || caplen < 14 + 20 + 4) return false;
  const pr = <u32>load<u8>(f, 14 + 9);
  // ethertype 0x0800 (bytes 08 00), version 4 / ihl 5, no MF / offset
  if (load<u16>(f, 12) != 0x0008 || load<u8>(f, 14) != 0x45 || (load<u16>(f, 14 + 6) & 0xff3f) != 0 || (pr != 6 && pr != 17)) return false;
  const sa = load<u32>(f, 14 + 12);
  const da = load<u32>(f, 14 + 16);
  const ps = load<u32>(f, 14 + 20);
  const sp = ((ps & 0xff) << 8) | ((ps >>> 8) & 0xff);
  const dp = ((ps >>> 8) & 0xff00) | (ps >>> 24);
  kUsable = true;
  kKey = flowKey(sa, sp, da, dp, pr);
  kSrc = sa;
  if (hash) tupleHash(sa, da, sp, dp, pr); else { hLo = 0; hHi = 0; }
  return true;
}

/** Flow key, source and (with `hash`) tuple hash of the packet of descriptor `d`. */
function keyPacket(d: usize, hash: bool): void {
  if (fastKey(<usize>load<u32>(d, DESC_FRAME), load<u32>(d, DESC_CAPLEN), <u32>load<u16>(d, DESC_LINKTYPE), hash)) return;
  const r = dissect(d);
  if (r != RES_NONE) { hLo = 0; hHi = 0; return; }
  kUsable = true;
  if (load<u8>(PKT, P_MF) != 0 || load<u16>(PKT, P_FRAGOFF) != 0) {
    kFrag = true;
    const l3 = <usize>load<u32>(PKT, P_L3);
    kKey = fragKey(load<u32>(PKT, P_SADDR), load<u32>(PKT, P_DADDR), <u32>load<u8>(PKT, P_PROTO), <u32>load<u16>(l3, 4));
  } else kKey = pktFlowKey();
  kSrc = load<u32>(PKT, P_SADDR);
  if (hash) pktTupleHash(); else { hLo = 0; hHi = 0; }
}

// @ts-ignore: decorator
@inline function keyShard(nShards: u32, ovr: usize, ovrMask: u32): u32 {
  if (!kUsable) return 0;
  const o = overrideShard(ovr, ovrMask, kKey);
  if (o >= 0) return <u32>o;
  // key % nShards (a division costs more than the rest of the fast path; 2, 4, 8 shards: a mask)
  return (nShards & (nShards - 1)) == 0 ? kKey & (nShards - 1) : kKey % nShards;
}

/** Worker, once per batch: key every packet of `n` descriptors (the whole batch, framed in this
 * core: every worker keys every packet, in parallel, instead of the main thread keying them all)
 * and keep those of shard `me`: their descriptors compacted to `out` (frames stay where they
 * are), their flow keys, tuple hashes (bit 31 of the high word: a fragment) and sources at `keys`,
 * `hashes`, `srcs`. Packets that are not usable IPv4 go to shard 0 with key 0. Tuple hashes only
 * with `hash` (the dependency log reads them; else 0, only the fragment bit). Returns the count. */
export function poolSelect(descs: usize, n: u32, nShards: u32, me: u32, ovr: usize, ovrMask: u32,
  out: usize, keys: usize, hashes: usize, srcs: usize, hash: u32): u32 {
  let j: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const d = descs + <usize>i * DESC_SIZE;
    keyPacket(d, hash != 0);
    if (keyShard(nShards, ovr, ovrMask) != me) continue;
    const o = out + <usize>j * DESC_SIZE;
    store<u64>(o, load<u64>(d)); store<u64>(o, load<u64>(d, 8), 8);
    store<u64>(o, load<u64>(d, 16), 16); store<u64>(o, load<u64>(d, 24), 24);
    storeKey(j, keys, srcs, hashes);
    j++;
  }
  return j;
}

/** Packet `j` of a shard's section: the key, source and tuple hash keyPacket just computed. */
// @ts-ignore: decorator
@inline function storeKey(j: u32, keys: usize, srcs: usize, hashes: usize): void {
  store<u32>(keys + (<usize>j << 2), kKey);
  store<u32>(srcs + (<usize>j << 2), kSrc);
  store<u32>(hashes + (<usize>j << 3), hLo);
  store<u32>(hashes + (<usize>j << 3), hHi | (kFrag ? 0x80000000 : 0), 4);
}

/** Worker, once per batch of classic pcap records (whole records, checked by the main thread:
 * src/replay/feed.ts PcapChunks): frame the `n` records from `pos` as api-engine.ts pcapFrame
 * does (`flags`, `linktype`, ordinals from `ordinal`), key each and keep this shard's, as
 * poolSelect — in one pass: a packet's descriptor is written where it would be kept. */
export function poolFrameSelect(pos: usize, n: u32, flags: u32, linktype: u32, ordinal: u32, nShards: u32, me: u32,
  ovr: usize, ovrMask: u32, out: usize, keys: usize, hashes: usize, srcs: usize, hash: u32): u32 {
  const be = (flags & 1) != 0;
  const mul: u32 = (flags & 2) != 0 ? 1 : 1000;
  const lw = (linktype & 0xffff) | 0xffff0000; // LINKTYPE, IFINDEX = 0xFFFF (the host's ingress)
  let j: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    let cl = load<u32>(pos, 8);
    if (be) cl = bswap<u32>(cl);
    const rec = pos;
    pos += 16 + <usize>cl;
    // most packets are keyed from the frame alone: another shard's are skipped without a descriptor
    const fast = fastKey(rec + 16, cl, linktype & 0xffff, hash != 0);
    if (fast && keyShard(nShards, ovr, ovrMask) != me) continue;
    const d = out + <usize>j * DESC_SIZE;
    recordDesc(d, rec, cl, be, mul, lw, ordinal + i);
    if (!fast) {
      keyPacket(d, hash != 0);
      if (keyShard(nShards, ovr, ovrMask) != me) continue;
    }
    storeKey(j, keys, srcs, hashes);
    j++;
  }
  return j;
}

/** Worker: make the DESC_FRAME of `n` descriptors absolute (add `base`). */
export function poolRebase(descs: usize, n: u32, base: usize): void {
  for (let i: u32 = 0; i < n; i++) {
    const d = descs + <usize>i * DESC_SIZE;
    store<u32>(d, load<u32>(d, DESC_FRAME) + <u32>base, DESC_FRAME);
  }
}

let logPtr: usize = 0;

// @ts-ignore: decorator
@inline function isReject(rule: u32): bool {
  return rule < rejectN && load<u8>(rejectMap + <usize>rule) != 0;
}

// Kinds of log records (bits 20..23 of the hash's high word)
const K_MISS: u32 = 0;     // a packet's captured tuple that found no entry (or a dropped NEW)
const K_ORIG: u32 = 1;     // the original tuple of a connection this packet created
const K_REPLY: u32 = 2;    // the reply tuple of a NATed connection this packet created
const K_FAMILY: u32 = 3;   // that reply tuple without the NAT-chosen port(s): the tuples a clash could try
const K_BYSRC: u32 = 4;    // the original source of a SNATed connection (nf_nat_bysource)
const K_RECENT: u32 = 5;   // the (masked) source address of a NEW packet: its `recent` key in the nat table
const K_JOIN: u32 = 6;     // hash lo = the flow key of the datagram a fragment group completed: join them
const K_FRAG: u32 = 7;     // hash lo = a fragmented datagram's key (counted: reassembly queues are shared)
const K_ICMP: u32 = 8;     // hash lo = the ICMP rate-limit peer slot of the source an error would go to

let fragOn = false;
let rejectMap: usize = 0;
let rejectN: u32 = 0;

/** Rules whose target is REJECT: a byte per rule id (1 = REJECT) at `addr`. */
export function poolSetRejectRules(addr: usize, n: u32): void {
  rejectMap = addr;
  rejectN = n;
}

/** A fragment's key: all fragments of one datagram (saddr, daddr, proto, IP id) meet in one shard,
 * where conntrack's defrag reassembles them; the datagram's flow joins them after pass 1. */
// @ts-ignore: decorator
@inline function fragKey(s: u32, d: u32, proto: u32, id: u32): u32 {
  let h = mix(s ^ 0x3c6ef372);
  h = mix(h ^ d);
  h = mix(h ^ (id | (proto << 16) | 0x1000000));
  return h == 0 ? 1 : h;
}

let recentOn = false;
let recentMask: u32 = 0;
let logOn = true;

/** What poolRun logs: bit 0 = conntrack/NAT/recent dependencies (off for rulesets without NAT and
 * recent: then every packet of a connection has its flow's key and flows cannot meet); bit 1 =
 * fragments (conntrack active: defrag reassembles them). ICMP error sources are always logged. */
export function poolSetLog(flags: u32): void {
  logOn = (flags & 1) != 0;
  fragOn = (flags & 2) != 0;
}

/** Log the source address of every NEW packet (nat-table `recent --rsource` lists are keyed by
 * it), masked with `mask` (P_SADDR encoding). */
export function poolSetRecent(on: u32, mask: u32): void {
  recentOn = on != 0;
  recentMask = mask;
}

// A direct-mapped cache of records already logged: repeats (every dropped NEW packet of a scan,
// every retransmission) carry no new information and are skipped.
const DEDUP_SLOTS: u32 = 1 << 16;
let dedup: usize = 0;

// @ts-ignore: decorator
@inline function logRec(key: u32, kind: u32): void {
  const w2 = hHi | (kind << 20);
  const slot = dedup + <usize>((mix(hLo ^ key) ^ w2) & (DEDUP_SLOTS - 1)) * 12;
  if (load<u32>(slot) == key && load<u32>(slot, 4) == hLo && load<u32>(slot, 8) == w2) return;
  store<u32>(slot, key);
  store<u32>(slot, hLo, 4);
  store<u32>(slot, w2, 8);
  store<u32>(logPtr, key);
  store<u32>(logPtr, hLo, 4);
  store<u32>(logPtr, w2, 8);
  logPtr += 12;
}

/** The dependency records of the packet just run (descriptor `d`, index `i` in the arrays). */
function logPacket(i: u32, d: usize, keys: usize, hashes: usize, srcs: usize): void {
  const redirected = redirectPeerTaken(); // ip_rt_send_redirect consulted the source's peer record
  const global = icmpGlobalTaken();       // icmp_global_allow: one per-netns bucket for all of them
  const code = load<u32>(d, DESC_RESULT) & 0xff;
  if (code == RES_NOT_IP || code == RES_MALFORMED) return;
  const key = load<u32>(keys + (<usize>i << 2));
  if (key == 0) return;
  // the global ICMP limiter's state couples every packet that consults it: one fixed slot (above
  // the 4096 peer slots below) joins all their flows into one shard, replayed in capture order
  if (global) { hLo = 0x10000 | 4096; hHi = 0; logRec(key, K_ICMP); }
  // packets the host answers with an ICMP error (REJECT, TTL exceeded, no route, frag needed):
  // the per-destination rate limit (assembly/modules/reject.ts, a direct-mapped peer table of 4096
  // slots) couples every source that maps to the same slot
  if (redirected || global || code == RES_DROP_TTL || code == RES_DROP_NOROUTE || code == RES_DROP_MTU ||
      (code == RES_DROP_RULE && rejectN != 0 && isReject((load<u32>(d, DESC_RESULT) >>> 16) - 1))) {
    const src = load<u32>(srcs + (<usize>i << 2));
    hLo = (((src * 0x9e3779b1) >> 20) & 4095) | 0x10000;
    hHi = 0;
    logRec(key, K_ICMP);
  }
  if (fragOn && (load<u32>(hashes + (<usize>i << 3), 4) & 0x80000000) != 0) {
    // a fragment: count its datagram; when it completed one, join the datagram's flow
    hLo = key; hHi = 0;
    logRec(key, K_FRAG);
    if (code != RES_FRAG_QUEUED && code != RES_DROP_FRAG && load<u16>(PKT, P_FRAGOFF) == 0 && load<u8>(PKT, P_MF) == 0) {
      hLo = pktFlowKey(); hHi = 0;
      logRec(key, K_JOIN);
    }
  }
  if (!logOn) return;
  const ctinfo = <i32>load<u8>(PKT, P_CTINFO);
  const ct = load<u32>(PKT, P_CT);
  if (ctinfo == CTINFO_NEW) {
    if (recentOn) {
      tupleHash(load<u32>(srcs + (<usize>i << 2)) & recentMask, 0, 0, 0, 0x800);
      logRec(key, K_RECENT);
    }
    hLo = load<u32>(hashes + (<usize>i << 3));
    hHi = load<u32>(hashes + (<usize>i << 3), 4) & 0xfffff;
    let st: u32 = 0;
    let e: usize = 0;
    if (ct != 0) { e = ctEntry(ct); st = load<u32>(e, CT_STATUS); }
    if ((st & IPS_CONFIRMED) == 0) { logRec(key, K_MISS); return; }
    const proto = <u32>load<u8>(e, CT_PROTO);
    // the original tuple from the entry (for a reassembled datagram it is not the last fragment's)
    tupleHash(load<u32>(e, CT_O_SRC), load<u32>(e, CT_O_DST), <u32>load<u16>(e, CT_O_SPORT), <u32>load<u16>(e, CT_O_DPORT), proto);
    logRec(key, K_ORIG);
    if ((st & (IPS_SRC_NAT | IPS_DST_NAT)) != 0) {
      const rs = load<u32>(e, CT_R_SRC), rd = load<u32>(e, CT_R_DST);
      const rsp = <u32>load<u16>(e, CT_R_SPORT), rdp = <u32>load<u16>(e, CT_R_DPORT);
      tupleHash(rs, rd, rsp, rdp, proto);
      logRec(key, K_REPLY);
      tupleHash(rs, rd, (st & IPS_DST_NAT) != 0 ? 0 : rsp, (st & IPS_SRC_NAT) != 0 ? 0 : rdp, proto | 0x200);
      logRec(key, K_FAMILY);
    }
    if ((st & IPS_SRC_NAT) != 0) {
      // nf_nat_bysource: a later SNAT of the same original source reuses this mapping
      tupleHash(load<u32>(e, CT_O_SRC), 0, <u32>load<u16>(e, CT_O_SPORT), 0, proto | 0x100);
      logRec(key, K_BYSRC);
    }
  } else if (ctinfo == CTINFO_INVALID && ct == 0) {
    hLo = load<u32>(hashes + (<usize>i << 3));
    hHi = load<u32>(hashes + (<usize>i << 3), 4) & 0xfffff;
    logRec(key, K_MISS);
    if (load<u8>(PKT, P_PROTO) == 1 && load<u32>(PKT, P_IN_L3) != 0 && load<u8>(PKT, P_IN_OK) != 0) {
      const s = load<u32>(PKT, P_IN_SADDR), t = load<u32>(PKT, P_IN_DADDR);
      const sp = <u32>load<u16>(PKT, P_IN_SPORT), dp = <u32>load<u16>(PKT, P_IN_DPORT);
      const ip = <u32>load<u8>(PKT, P_IN_PROTO);
      tupleHash(s, t, sp, dp, ip);
      logRec(key, K_MISS);
      if (ip == 1) tupleHash(t, s, sp, 0, ip); else tupleHash(t, s, dp, sp, ip);
      logRec(key, K_MISS);
    }
  }
}

// The engine's processBatch may call poolAfterPacket(i, d) after each packet (see
// /work/notes/core-contract-changes.md): then a batch runs in one processBatch call (its per-batch
// state, such as out records, stays whole) and is logged as it goes.
let armed = false;
let hKeys: usize = 0;
let hHashes: usize = 0;
let hSrcs: usize = 0;

/** Hook for the engine's processBatch: log packet `i` (descriptor `d`) when the pool armed it. */
export function poolAfterPacket(i: u32, d: usize): void {
  if (armed) logPacket(i, d, hKeys, hHashes, hSrcs);
}

/** Run `n` compact descriptors (from poolSelect) in one processBatch (which calls
 * poolAfterPacket after each packet) and log the dependency records (flow key, tuple hash lo,
 * hi | kind << 20: 12 bytes each, at most 9 per packet) at `log`. Returns the number of records. */
export function poolRun(descs: usize, n: u32, keys: usize, hashes: usize, srcs: usize, log: usize): u32 {
  if (dedup == 0) dedup = reserve(<usize>DEDUP_SLOTS * 12);
  logPtr = log;
  armed = true; hKeys = keys; hHashes = hashes; hSrcs = srcs;
  processBatch(descs, n);
  armed = false;
  return <u32>((logPtr - log) / 12);
}
