// The conntrack table and nf_conntrack_in / confirm / destroy for IPv4, as net/netfilter/
// nf_conntrack_core.c with the UDP, ICMP and generic trackers (TCP in tcp.ts).
//
// Memory (layout in src/layout-ct.ts), as the kernel's: a bucket array of u32 chain heads and the
// entries, handed out in index order; each entry links its ORIGINAL, REPLY and (after SRC NAT)
// bysource nodes into the chains of their hashes, newest first. Expiry is lazy: an expired entry is
// deleted when a lookup meets it, and when the table is full by a sweep (at most once per second of
// capture time, the stand-in for the kernel's gc worker), then by early drop (the kernel's: the
// non-ASSURED connections of the first of 8 buckets from the new tuple's that has any).
import { walkCacheSetup, walkCacheClear } from './walkcache';
import {
  P_ORDINAL, P_L3, P_L4, P_L4LEN, P_IPLEN, P_IHL, P_SADDR, P_DADDR, P_PROTO, P_FRAGOFF, P_L4OK, P_SPORT,
  P_DPORT, P_ICMP_TYPE, P_CTINFO, P_CT, P_CTDIR, P_LOCALGEN, P_JIFFIES, P_IN_L3, P_IN_SADDR,
  P_IN_DADDR, P_IN_PROTO, P_IN_OK, P_IN_SPORT, P_IN_DPORT, P_CSUM_OK,
  CTINFO_NEW, CTINFO_ESTABLISHED, CTINFO_RELATED, CTINFO_ESTABLISHED_REPLY, CTINFO_RELATED_REPLY,
  CTINFO_INVALID, CTINFO_UNTRACKED, IPS_SEEN_REPLY, IPS_ASSURED, IPS_CONFIRMED, IPS_DYING,
  IPS_FIXED_TIMEOUT, IPS_SRC_NAT, IPS_DST_NAT, H_FLAGS, IMGF_TRUST_CSUM, SYS_CT_CHECKSUM,
  SYS_UDP_TIMEOUT, SYS_UDP_TIMEOUT_STREAM, SYS_ICMP_TIMEOUT, SYS_GENERIC_TIMEOUT, V_ACCEPT, V_DROP,
  SYS_GRE_TIMEOUT, SYS_GRE_TIMEOUT_STREAM, SYS_SCTP_TIMEOUT0,
  DESC_SIZE, DESC_FRAME, DESC_CAPLEN, DESC_LINKTYPE, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4,
} from '../src/layout';
import {
  CTT_CAPACITY, CTT_NBUCKETS, CTT_ENTRIES, CTT_FREE, CTT_BUCKETS, CTT_NFREE, CTT_USED,
  CTT_HWM, CTT_EARLYDROPS, CTT_FULLDROPS, CTT_CSUMBAD, CTT_INVALID, CTT_HDR,
  CT_STATUS, CT_MARK, CT_TIMEOUT, CT_PROTO, CT_TCPSTATE, CT_INUSE, CT_O_SRC, CT_O_DST, CT_O_SPORT,
  CT_O_DPORT, CT_R_SRC, CT_R_DST, CT_R_SPORT, CT_R_DPORT, CT_UDP_STREAM_TS, CT_NEXT_O, CT_NEXT_S,
  CT_HASHED, HASHED_TUPLES, HASHED_SRC, NODE_KIND_SRC, CT_SEQ, CT_SIZE, CT_SCTP_VTAG0, CT_SCTP_VTAG1, CT_SCTP_INIT0, CT_SCTP_INIT1, CT_SCTP_FLAGS,
  CT_SCTP_LASTDIR, SCS_NONE, SCS_CLOSED, SCS_COOKIE_WAIT, SCS_COOKIE_ECHOED, SCS_ESTABLISHED,
  SCS_SHUTDOWN_SENT, SCS_SHUTDOWN_RECD, SCS_SHUTDOWN_ACK_SENT, SCS_HEARTBEAT_SENT, SCS_MAX, CT_MAX_CAPACITY, CT_DEFAULT_MAX,
  ML_ORDINAL, ML_SRC, ML_DST, ML_SPORT, ML_DPORT, ML_SIZE, CT_SEEN0, SEEN_END, TCS_TIME_WAIT,
} from '../src/layout-ct';
import { PKT, IMG, imgw } from './state';
import { reserve } from './mem';
import { sysctl } from './host';
import { hz, be16, defragSetup } from './dissect';
import { csumVerifyQuick, pseudoSum, sctpCrc } from './csum';
import { tcpError, tcpPacket, TCP_R_INVALID, TCP_R_REPEAT, TCP_R_KILL } from './tcp';

let TB: usize = 0;        // table header
let ENT: usize = 0;       // entry 0
let FREEA: usize = 0;     // free-index stack
let BUCKETS: usize = 0;   // bucket 0 (u32 chain heads)
let BMASK: u32 = 0;       // nbuckets - 1
let CAP: u32 = 0;
let unconf: u32 = 0;      // entry index + 1 of the unconfirmed ct of the packet in flight
let pendingFree: u32 = 0; // entry index + 1 of a ct killed while the packet still refers to it
let seqNo: u32 = 0;
let swept: bool = false;
let lastSweep: u64 = 0;

// ---------------------------------------------------------------- setup and memory
/** Reserve the table for `capacity` connections (0 = the default, 262144); returns its address.
 *  Nothing is written but the header: reserve() hands out zeroed pages, and only the buckets and
 *  entries connections use are ever touched (entries in index order). */
export function ctSetup(capacity: u32): usize {
  let cap = capacity == 0 ? <u32>CT_DEFAULT_MAX : capacity;
  if (cap > <u32>CT_MAX_CAPACITY) cap = <u32>CT_MAX_CAPACITY;
  let nb: u32 = 16;
  while (nb < cap * 2) nb <<= 1;
  const bytes = <usize>CTT_HDR + <usize>cap * CT_SIZE + <usize>cap * 4 + <usize>nb * 4;
  TB = reserve(bytes);
  ENT = TB + CTT_HDR;     // reserve() is 64-byte aligned: so is every entry (CT_SIZE = 128)
  FREEA = ENT + <usize>cap * CT_SIZE;
  BUCKETS = FREEA + <usize>cap * 4;
  BMASK = nb - 1;
  CAP = cap;
  store<u32>(TB, cap, CTT_CAPACITY);
  store<u32>(TB, nb, CTT_NBUCKETS);
  store<u32>(TB, <u32>ENT, CTT_ENTRIES);
  store<u32>(TB, <u32>FREEA, CTT_FREE);
  store<u32>(TB, <u32>BUCKETS, CTT_BUCKETS);
  unconf = 0; pendingFree = 0; seqNo = 0; swept = false;
  defragSetup();
  walkCacheSetup();
  return TB;
}

/** Live connections (confirmed, not dying) + the unconfirmed one if any. */
export function ctCount(): u32 { return TB == 0 ? 0 : load<u32>(TB, CTT_USED); }
export function ctEntryBytes(): u32 { return <u32>CT_SIZE; }
/** Bytes per connection including its share of the buckets and the free list. */
export function ctBytesPerConn(): u32 {
  return TB == 0 ? 0 : <u32>(CT_SIZE + 4 + (<u64>(BMASK + 1) * 4) / CAP);
}
export function ctTable(): usize { return TB; }
/** Counters of the table header: 0 early drops, 1 packets dropped because the table was full,
 *  2 packets INVALID for a bad L4 checksum, 3 packets INVALID in all. */
export function ctStats(i: i32): u32 {
  if (TB == 0) return 0;
  switch (i) {
    case 0: return load<u32>(TB, CTT_EARLYDROPS);
    case 1: return load<u32>(TB, CTT_FULLDROPS);
    case 2: return load<u32>(TB, CTT_CSUMBAD);
    case 3: return load<u32>(TB, CTT_INVALID);
  }
  return 0;
}

// @ts-ignore: decorator
@inline export function entryAddr(ct: u32): usize { return ENT + <usize>(ct - 1) * CT_SIZE; }

// @ts-ignore: decorator
@inline function nowJ(): u64 { return load<u64>(PKT, P_JIFFIES); }
// @ts-ignore: decorator
@inline export function isExpired(e: usize, now: u64): bool { return <i64>(load<u64>(e, CT_TIMEOUT) - now) <= 0; }

/** Hash of a key (src, dst, sport | dport << 16, proto; bysource keys: src, 0, sport, 0x200 | proto):
 *  two independent 64-bit multiplies, then a multiply-xorshift finaliser (every input bit reaches
 *  the low bits the bucket index takes). */
// @ts-ignore: decorator
@inline function hashKey(w0: u32, w1: u32, w2: u32, w3: u32): u32 {
  let x = ((<u64>w0 | (<u64>w1 << 32)) * 0x9e3779b97f4a7c15) ^ (((<u64>w2 | (<u64>w3 << 32)) + 0x632be59bd9b4e019) * 0xc2b2ae3d27d4eb4f);
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93;
  x ^= x >> 32;
  return <u32>x;
}
// @ts-ignore: decorator
@inline function srcHash(src: u32, sport: u32, proto: u32): u32 { return hashKey(src, 0, sport, 0x200 | proto); }

// A link (a bucket head, a CT_NEXT_* word) is the node reference (bits 0..23) with, for the node it
// points to, LINK_MORE (bit 24: the node may have a successor; 0 = it has none) and the top 7 bits
// of its key's hash (LINK_TAG; the bucket index takes at most the low 23 bits). A walk for a key
// skips a node whose tag differs without reading its entry, and stops at a node without LINK_MORE:
// a miss in a chain of one reads the bucket only. LINK_MORE is exact when the link is written (a
// new head's link); a node only loses successors afterwards, so it can be stale 1, never stale 0.
const LINK_REF: u32 = 0xffffff;
const LINK_MORE: u32 = 0x1000000;
const LINK_TAG: u32 = 0xfe000000;

// @ts-ignore: decorator
@inline function bucketAt(h: u32): usize { return BUCKETS + (<usize>(h & BMASK) << 2); }
/** Address of the word holding the next node after node `ref` (its entry's CT_NEXT_O/R/S). */
// @ts-ignore: decorator
@inline function nextAt(ref: u32): usize { return entryAddr(ref >> 2) + CT_NEXT_O + (<usize>(ref & 3) << 2); }

/** Link node `ref` at the head of the chain of hash `h`. */
// @ts-ignore: decorator
@inline function chainAdd(h: u32, ref: u32): void {
  if ((ref & 2) == 0) freeValid = false; // bysource nodes are never what lookup() finds
  const b = bucketAt(h);
  const old = load<u32>(b);
  store<u32>(nextAt(ref), old);
  store<u32>(b, ref | (h & LINK_TAG) | (old != 0 ? LINK_MORE : 0));
}

/** Unlink node `ref` from the chain of hash `h`. */
function chainDel(h: u32, ref: u32): void {
  if ((ref & 2) == 0) freeValid = false;
  let p = bucketAt(h);
  while (true) {
    const r = load<u32>(p) & LINK_REF;
    if (r == 0) return;
    if (r == ref) { store<u32>(p, load<u32>(nextAt(r))); return; }
    p = nextAt(r);
  }
}

/** Link both tuples of ct `ct` (entry `e`) whose hashes are `ho` (ORIGINAL) and `hr` (REPLY). */
function hashTuplesAt(e: usize, ct: u32, ho: u32, hr: u32): void {
  chainAdd(ho, ct << 2);
  chainAdd(hr, (ct << 2) | 1);
  store<u8>(e, load<u8>(e, CT_HASHED) | HASHED_TUPLES, CT_HASHED);
}

/** Hash the ct under its original source for nf_nat_bysource lookups. */
export function bysrcInsert(ct: u32): void {
  const e = entryAddr(ct);
  if ((load<u8>(e, CT_HASHED) & HASHED_SRC) != 0) return;
  chainAdd(srcHash(load<u32>(e, CT_O_SRC), <u32>load<u16>(e, CT_O_SPORT), <u32>load<u8>(e, CT_PROTO)), (ct << 2) | NODE_KIND_SRC);
  store<u8>(e, load<u8>(e, CT_HASHED) | HASHED_SRC, CT_HASHED);
}

/** Next ct (after the node `cur` returned as bysrcCursor, 0 = start) hashed by source (src,
 *  sport, proto); 0 = none. `bysrcCursor` is left on the node found. The chain must not change
 *  between calls. */
export let bysrcCursor: u32 = 0;
export function bysrcNext(cur: u32, src: u32, sport: u32, proto: u32): u32 {
  const h = srcHash(src, sport, proto);
  const tag = h & LINK_TAG;
  let link = cur == 0 ? load<u32>(bucketAt(h)) : load<u32>(nextAt(cur));
  while (link != 0) {
    const ref = link & LINK_REF;
    if ((link & LINK_TAG) == tag && (ref & 3) == NODE_KIND_SRC) {
      const e = entryAddr(ref >> 2);
      if (<u32>load<u8>(e, CT_PROTO) == proto && load<u32>(e, CT_O_SRC) == src && <u32>load<u16>(e, CT_O_SPORT) == sport) {
        bysrcCursor = ref;
        return ref >> 2;
      }
    }
    if ((link & LINK_MORE) == 0) break;
    link = load<u32>(nextAt(ref));
  }
  return 0;
}

function freeEntry(ct: u32): void {
  const e = entryAddr(ct);
  if (load<u8>(e, CT_INUSE) == 0) return;
  store<u8>(e, 0, CT_INUSE);
  store<u32>(e, 0, CT_STATUS);
  const n = load<u32>(TB, CTT_NFREE);
  store<u32>(FREEA + <usize>n * 4, ct - 1);
  store<u32>(TB, n + 1, CTT_NFREE);
  store<u32>(TB, load<u32>(TB, CTT_USED) - 1, CTT_USED);
}

/** Remove a ct from the hash (nf_ct_delete); `now` frees it too. */
function killCt(ct: u32, now: bool): void {
  const e = entryAddr(ct);
  const hf = load<u8>(e, CT_HASHED);
  if ((hf & HASHED_TUPLES) != 0) {
    const p = <u32>load<u8>(e, CT_PROTO);
    chainDel(hashKey(load<u32>(e, CT_O_SRC), load<u32>(e, CT_O_DST), load<u32>(e, CT_O_SPORT), p), ct << 2);
    chainDel(hashKey(load<u32>(e, CT_R_SRC), load<u32>(e, CT_R_DST), load<u32>(e, CT_R_SPORT), p), (ct << 2) | 1);
  }
  if ((hf & HASHED_SRC) != 0) {
    chainDel(srcHash(load<u32>(e, CT_O_SRC), <u32>load<u16>(e, CT_O_SPORT), <u32>load<u8>(e, CT_PROTO)), (ct << 2) | NODE_KIND_SRC);
  }
  store<u8>(e, 0, CT_HASHED);
  store<u32>(e, load<u32>(e, CT_STATUS) | IPS_DYING, CT_STATUS);
  if (now) freeEntry(ct);
  else pendingFree = ct;
}

/** Is node `ref` (ORIGINAL or REPLY) the tuple (src, dst, w2 = sport | dport << 16, proto)? */
// @ts-ignore: decorator
@inline function nodeIs(ref: u32, src: u32, dst: u32, w2: u32, proto: u32): bool {
  const e = entryAddr(ref >> 2);
  const t = e + CT_O_SRC + <usize>(ref & 1) * (CT_R_SRC - CT_O_SRC);
  return (ref & 2) == 0 && load<u64>(t) == ((<u64>dst << 32) | <u64>src) && load<u32>(t, 8) == w2 &&
    <u32>load<u8>(e, CT_PROTO) == proto;
}

/** Lookup of a tuple (either direction). Returns ct (index + 1) or 0; `foundDir` = 0/1.
 *  Expired entries met on the way are deleted. */
export let foundDir: i32 = 0;
/** hashKey of the tuple of the last lookup() that returned 0 (for the insert that follows). */
let lastHash: u32 = 0;
/** hashKey of the original tuple of the unconfirmed ct (`unconf`). */
let unconfHash: u32 = 0;
export function lookup(src: u32, dst: u32, sport: u32, dport: u32, proto: u32): u32 {
  const w2 = sport | (dport << 16);
  const h = hashKey(src, dst, w2, proto);
  lastHash = h;
  const tag = h & LINK_TAG;
  let link = load<u32>(bucketAt(h));
  while (link != 0) {
    const ref = link & LINK_REF;
    if ((link & LINK_TAG) == tag && nodeIs(ref, src, dst, w2, proto)) {
      const ct = ref >> 2;
      if (isExpired(entryAddr(ct), nowJ())) {
        killCt(ct, true);
        link = load<u32>(bucketAt(h)); // the chain changed: walk it again
        continue;
      }
      foundDir = <i32>(ref & 1);
      lkHits++;
      return ct;
    }
    if ((link & LINK_MORE) == 0) break;
    link = load<u32>(nextAt(ref));
  }
  lkMisses++;
  return 0;
}

// ---------------------------------------------------------------- prefetch (cache only)
// A look at the frames of packets still to come: their original tuple's bucket, bysource bucket and
// lookup-cache set are loaded, many at once, so that the cache misses of several packets overlap
// instead of each packet waiting for its own (wasm has no prefetch instruction: a load whose
// result goes to a global does the same). Nothing but the caches changes: a frame this quick parse
// does not understand (VLAN tags, IP options, other protocols) is passed over, and every load stays
// inside memory.
// Skipped while 3 lookups in 4 or more find their connection and the table holds at most 4096
// (established traffic over a working set the caches hold already: 512 KiB of entries).
export let prefetchSink: u32 = 0;
let lkHits: u32 = 0, lkMisses: u32 = 0;
/** Touch what the packets of descriptors [from, from + n) will look up. */
export function ctPrefetch(from: usize, n: u32): void {
  if (TB == 0) return;
  const hits = lkHits, misses = lkMisses;
  lkHits = 0; lkMisses = 0;
  if (hits >= 3 * misses && hits != 0 && load<u32>(TB, CTT_USED) <= 4096) return;
  const memEnd = <usize>memory.size() << 16;
  let acc: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const d = from + <usize>i * DESC_SIZE;
    if (d + DESC_SIZE > memEnd) break;
    const frame = <usize>load<u32>(d, DESC_FRAME);
    // a descriptor past the batch's end holds anything: every read below is within frame + 64
    if (frame > memEnd - 64) continue;
    const lt = <u32>load<u16>(d, DESC_LINKTYPE);
    let off: usize = 0;
    if (lt == LINKTYPE_ETHERNET) {
      if (load<u16>(frame + 12) != 0x0008) continue; // ETH_P_IP, no VLAN tag
      off = 14;
    } else if (lt != LINKTYPE_RAW && lt != LINKTYPE_IPV4) continue;
    const l3 = frame + off;
    if (off + 24 > <usize>load<u32>(d, DESC_CAPLEN)) continue;
    if (load<u8>(l3) != 0x45) continue;
    const proto = <u32>load<u8>(l3 + 9);
    if (proto != 6 && proto != 17) continue;
    const src = load<u32>(l3 + 12);
    const dst = load<u32>(l3 + 16);
    const pw = load<u32>(l3 + 20);
    const sport = ((pw & 0xff) << 8) | ((pw >> 8) & 0xff);
    const dport = ((pw >> 8) & 0xff00) | (pw >> 24);
    const w2 = sport | (dport << 16);
    acc += load<u32>(bucketAt(hashKey(src, dst, w2, proto))) + load<u32>(bucketAt(srcHash(src, sport, proto)));
  }
  prefetchSink += acc;
}

/** nf_conntrack_tuple_taken: is `tuple` (a candidate reply tuple) used by a ct other than
 *  `ignore` (a reply-direction hit of a ct with the same original tuple does not count)? */
export function tupleTaken(src: u32, dst: u32, sport: u32, dport: u32, proto: u32, ignore: u32): bool {
  const w2 = sport | (dport << 16);
  const h = hashKey(src, dst, w2, proto);
  const now = nowJ();
  const ie = entryAddr(ignore);
  const tag = h & LINK_TAG;
  let link = load<u32>(bucketAt(h));
  let met = false;
  while (link != 0) {
    const ref = link & LINK_REF;
    if ((link & LINK_TAG) == tag && nodeIs(ref, src, dst, w2, proto)) {
      met = true;
      const ct = ref >> 2;
      const e = entryAddr(ct);
      if (isExpired(e, now)) {
        killCt(ct, true);
        link = load<u32>(bucketAt(h)); // the chain changed: walk it again
        continue;
      }
      if (!((ref & 1) == 1 && load<u32>(e, CT_O_SRC) == load<u32>(ie, CT_O_SRC) &&
          load<u32>(e, CT_O_DST) == load<u32>(ie, CT_O_DST) && load<u32>(e, CT_O_SPORT) == load<u32>(ie, CT_O_SPORT) &&
          load<u8>(e, CT_PROTO) == load<u8>(ie, CT_PROTO))) return true;
      // else a clashing entry with our original tuple: not taken
    }
    if ((link & LINK_MORE) == 0) break;
    link = load<u32>(nextAt(ref));
  }
  if (!met) {
    // no ORIGINAL/REPLY node holds the tuple: a lookup() of it now would miss (for ctConfirm)
    freeSrc = src; freeDst = dst; freeW2 = w2; freeProto = proto; freeHash = h; freeValid = true;
  }
  return false;
}
// The last tuple tupleTaken() found held by no node, and its hash. Valid until the table changes
// (an insert, a delete) or the next packet: ctConfirm then needs no lookup of that reply tuple.
let freeSrc: u32 = 0, freeDst: u32 = 0, freeW2: u32 = 0, freeProto: u32 = 0, freeHash: u32 = 0;
let freeValid: bool = false;

/** nf_nat_used_tuple_harder's last resort for TCP (the last 32 port attempts of a new connection
 *  in SYN_SENT): the reply tuple (src, dst, sport, dport) is free if unused, or if its owner is an
 *  SNATed connection in TIME_WAIT or later (not FIXED_TIMEOUT) whose original-direction sequence
 *  the new connection has passed; that owner is then evicted. False = still taken. */
export function tupleTakenHarder(src: u32, dst: u32, sport: u32, dport: u32, ignore: u32): bool {
  const ct = lookup(src, dst, sport, dport, 6);
  if (ct == 0) return false;
  if (foundDir == 0) return true;
  if (ct == ignore) return true;
  const e = entryAddr(ct);
  const st = load<u32>(e, CT_STATUS);
  if (<i32>load<u8>(e, CT_TCPSTATE) < TCS_TIME_WAIT) return true;
  if ((st & (IPS_FIXED_TIMEOUT | IPS_DYING)) != 0 || (st & IPS_SRC_NAT) == 0) return true;
  // nf_seq_has_advanced: seen[0].td_end of the new connection after the old one's
  const ie = entryAddr(ignore);
  if (<i32>(load<u32>(ie + CT_SEEN0 + SEEN_END) - load<u32>(e + CT_SEEN0 + SEEN_END)) <= 0) return true;
  killCt(ct, true);
  return false;
}

function sweepExpired(now: u64): void {
  const hwm = load<u32>(TB, CTT_HWM);
  for (let i: u32 = 0; i < hwm; i++) {
    const e = ENT + <usize>i * CT_SIZE;
    if (load<u8>(e, CT_INUSE) == 0) continue;
    if ((load<u32>(e, CT_STATUS) & (IPS_CONFIRMED | IPS_DYING)) != IPS_CONFIRMED) continue;
    if (isExpired(e, now)) killCt(i + 1, true);
  }
}

/** early_drop (nf_conntrack_core.c): from the new tuple's bucket, look at up to
 *  NF_CT_EVICTION_RANGE (8) buckets; in the first whose chain holds non-ASSURED confirmed
 *  connections, delete all of them (expired ones met are deleted too). */
function earlyDrop(h: u32): bool {
  const now = nowJ();
  let bk = h;
  for (let n = 0; n < 8; n++) {
    let drops = 0;
    const b = bucketAt(bk);
    let link = load<u32>(b);
    while (link != 0) {
      const ref = link & LINK_REF;
      const next = load<u32>(nextAt(ref));
      if ((ref & 2) == 0) {
        const ct = ref >> 2;
        const e = entryAddr(ct);
        const st = load<u32>(e, CT_STATUS);
        let kill = isExpired(e, now);
        if (!kill && (st & IPS_ASSURED) == 0 && (st & IPS_DYING) == 0 && (st & IPS_CONFIRMED) != 0) { kill = true; drops++; }
        if (kill) { killCt(ct, true); link = load<u32>(b); continue; } // the chain changed: walk it again
      }
      link = next;
    }
    if (drops > 0) {
      store<u32>(TB, load<u32>(TB, CTT_EARLYDROPS) + <u32>drops, CTT_EARLYDROPS);
      return true;
    }
    bk = (bk + 1) & BMASK;
  }
  return false;
}

/** Allocate an entry for a new connection whose original tuple hashes to `h`; 0 when full. */
function allocCt(h: u32): u32 {
  if (load<u32>(TB, CTT_USED) >= CAP) {
    const now = nowJ();
    if (!swept || <i64>(now - lastSweep) >= <i64>hz()) {
      sweepExpired(now);
      swept = true;
      lastSweep = now;
    }
    if (load<u32>(TB, CTT_USED) >= CAP && !earlyDrop(h)) {
      store<u32>(TB, load<u32>(TB, CTT_FULLDROPS) + 1, CTT_FULLDROPS);
      return 0;
    }
  }
  let idx: u32;
  const nf = load<u32>(TB, CTT_NFREE);
  if (nf > 0) {
    idx = load<u32>(FREEA + <usize>(nf - 1) * 4);
    store<u32>(TB, nf - 1, CTT_NFREE);
  } else {
    idx = load<u32>(TB, CTT_HWM);
    store<u32>(TB, idx + 1, CTT_HWM);
  }
  store<u32>(TB, load<u32>(TB, CTT_USED) + 1, CTT_USED);
  const e = ENT + <usize>idx * CT_SIZE;
  // clear the entry with v128 stores (memory.fill is a call out of the wasm code, ~30 ns, per new ct)
  const z = i64x2.splat(0);
  for (let o: usize = 0; o < <usize>CT_SIZE; o += 16) v128.store(e + o, z);
  store<u8>(e, 1, CT_INUSE);
  store<u32>(e, seqNo++, CT_SEQ);
  if (seqNo == 0) walkCacheClear(); // (index, seq) pairs repeat from here: the cache keys on them
  return idx + 1;
}

// ---------------------------------------------------------------- miss log (for the worker pool)
// Every conntrack lookup miss of a packet (the tuple looked up) with the packet's ordinal, records
// ML_* of src/layout-ct.ts, protocols in a parallel byte array. A shard that misses a tuple which is
// another shard's NAT reply tuple depends on it. Off until ctMissLogSetup().
let MISS: usize = 0;
let missCap: u32 = 0;
let missN: u32 = 0;
let missProtoAt: usize = 0;
/** Reserve a log of `capacity` records (setup time). Returns its address; protocols are kept in a
 *  parallel byte array at ctMissLogProtos(). */
export function ctMissLogSetup(capacity: u32): usize {
  MISS = reserve(<usize>capacity * ML_SIZE);
  missProtoAt = reserve(<usize>capacity);
  missCap = capacity;
  missN = 0;
  return MISS;
}
export function ctMissLogCount(): u32 { return missN; }
export function ctMissLogProtos(): usize { return missProtoAt; }
/** Records dropped because the log was full since the last reset (the caller must then fall
 *  back to a conservative merge). */
let missLost: u32 = 0;
export function ctMissLogLost(): u32 { return missLost; }
export function ctMissLogReset(): void { missN = 0; missLost = 0; }
function logMiss(src: u32, dst: u32, sport: u32, dport: u32, proto: u32): void {
  if (MISS == 0) return;
  if (missN >= missCap) { missLost++; return; }
  const r = MISS + <usize>missN * ML_SIZE;
  store<u32>(r, load<u32>(PKT, P_ORDINAL), ML_ORDINAL);
  store<u32>(r, src, ML_SRC);
  store<u32>(r, dst, ML_DST);
  store<u16>(r, <u16>sport, ML_SPORT);
  store<u16>(r, <u16>dport, ML_DPORT);
  store<u8>(missProtoAt + <usize>missN, <u8>proto);
  missN++;
}

// ---------------------------------------------------------------- ICMP helpers
/** nf_conntrack_icmp invmap: the reply type of an ICMP query type, or -1. */
// @ts-ignore: decorator
@inline function icmpInvType(t: u32): i32 {
  switch (t) {
    case 8: return 0;
    case 0: return 8;
    case 13: return 14;
    case 14: return 13;
    case 15: return 16;
    case 16: return 15;
    case 17: return 18;
    case 18: return 17;
  }
  return -1;
}
// @ts-ignore: decorator
@inline function isIcmpErr(t: u32): bool { return t == 3 || t == 4 || t == 5 || t == 11 || t == 12; }

// @ts-ignore: decorator
@inline function setInvalid(): i32 {
  store<u32>(TB, load<u32>(TB, CTT_INVALID) + 1, CTT_INVALID);
  store<u32>(PKT, 0, P_CT);
  store<u8>(PKT, CTINFO_INVALID, P_CTINFO);
  return V_ACCEPT;
}

/** Verify the L4 checksum when the sysctl asks (PREROUTING only). Returns true when bad. */
function csumBad(proto: u32, withPseudo: bool): bool {
  if (load<u8>(PKT, P_LOCALGEN) != 0) return false;
  if (sysctl(SYS_CT_CHECKSUM) == 0) return false;
  if ((imgw(H_FLAGS) & IMGF_TRUST_CSUM) != 0) return false;
  const len = load<u32>(PKT, P_IPLEN) - <u32>load<u8>(PKT, P_IHL);
  if (load<u32>(PKT, P_L4LEN) < len) return false; // not fully captured: cannot tell
  const l4 = <usize>load<u32>(PKT, P_L4);
  if (proto == 132) {
    // SCTP: CRC32c over the whole packet (sctp_error)
    const ok = len >= 12 && sctpCrc(l4, len) == load<u32>(l4 + 8);
    store<u8>(PKT, ok ? 1 : 2, P_CSUM_OK);
    if (!ok) store<u32>(TB, load<u32>(TB, CTT_CSUMBAD) + 1, CTT_CSUMBAD);
    return !ok;
  }
  const init: u64 = withPseudo ? pseudoSum(load<u32>(PKT, P_SADDR), load<u32>(PKT, P_DADDR), proto, len) : 0;
  // UDP-Lite: the checksum covers the first `coverage` bytes (0 = all), the pseudo-header the whole
  let cov = len;
  if (proto == 136) { const c = be16(l4 + 4); if (c != 0 && c <= len) cov = c; }
  const ok = csumVerifyQuick(l4, cov, init);
  store<u8>(PKT, ok ? 1 : 2, P_CSUM_OK);
  if (!ok) store<u32>(TB, load<u32>(TB, CTT_CSUMBAD) + 1, CTT_CSUMBAD);
  return !ok;
}

/** nf_conntrack_inet_error: an ICMP error about one of our connections is RELATED. */
function icmpError(): i32 {
  if (load<u32>(PKT, P_IN_L3) == 0 || load<u8>(PKT, P_IN_OK) == 0) return setInvalid();
  const ip = <u32>load<u8>(PKT, P_IN_PROTO);
  const s = load<u32>(PKT, P_IN_SADDR);
  const d = load<u32>(PKT, P_IN_DADDR);
  let sp = <u32>load<u16>(PKT, P_IN_SPORT);
  let dp = <u32>load<u16>(PKT, P_IN_DPORT);
  let ct: u32 = 0;
  let lsp: u32 = 0, ldp: u32 = 0;
  if (ip == 1) {
    const inv = icmpInvType(dp >> 8);
    if (inv < 0) return setInvalid();
    lsp = sp; ldp = (<u32>inv << 8) | (dp & 0xff);
  } else if (ip == 6 || ip == 17 || ip == 136 || ip == 132 || ip == 33) {
    lsp = dp; ldp = sp;
  }
  ct = lookup(d, s, lsp, ldp, ip);
  if (ct == 0) { logMiss(d, s, lsp, ldp, ip); return setInvalid(); }
  const dir = foundDir;
  const e = entryAddr(ct);
  // the error must be addressed to the sender of the quoted packet
  const dstOff = dir == 0 ? CT_O_DST : CT_R_DST;
  if (load<u32>(PKT, P_DADDR) != load<u32>(e + <usize>dstOff)) return setInvalid();
  store<u32>(PKT, ct, P_CT);
  store<u8>(PKT, <u8>dir, P_CTDIR);
  store<u8>(PKT, dir == 0 ? CTINFO_RELATED : CTINFO_RELATED_REPLY, P_CTINFO);
  return V_ACCEPT;
}

// @ts-ignore: decorator
@inline function refresh(e: usize, sec: u32): void {
  if ((load<u32>(e, CT_STATUS) & IPS_FIXED_TIMEOUT) == 0) store<u64>(e, nowJ() + <u64>sec * hz(), CT_TIMEOUT);
}

function housekeeping(): void {
  freeValid = false;
  if (pendingFree != 0) { freeEntry(pendingFree); pendingFree = 0; }
  if (unconf != 0) { killCt(unconf, true); unconf = 0; }
}

/** nf_conntrack_in at PREROUTING (or OUTPUT for P_LOCALGEN packets). Sets P_CT, P_CTDIR,
 *  P_CTINFO. Returns V_ACCEPT, or V_DROP when the table is full and early drop found nothing. */
export function ctIn(): i32 {
  if (load<u8>(PKT, P_CTINFO) == CTINFO_UNTRACKED) return V_ACCEPT;
  housekeeping();
  store<u32>(PKT, 0, P_CT);
  store<u8>(PKT, 0, P_CTDIR);
  const proto = <u32>load<u8>(PKT, P_PROTO);
  // conntrack sees reassembled datagrams; a fragment we cannot reassemble is not tracked
  if (load<u16>(PKT, P_FRAGOFF) != 0) return setInvalid();
  const src = load<u32>(PKT, P_SADDR);
  const dst = load<u32>(PKT, P_DADDR);
  let sport: u32 = 0;
  let dport: u32 = 0;
  if (proto == 1) {
    if (load<u8>(PKT, P_L4OK) == 0) return setInvalid();          // short packet
    if (csumBad(1, false)) return setInvalid();
    const t = <u32>load<u8>(PKT, P_ICMP_TYPE);
    if (t > 18) return setInvalid();
    if (isIcmpErr(t)) return icmpError();
    sport = <u32>load<u16>(PKT, P_SPORT);
    dport = <u32>load<u16>(PKT, P_DPORT);
  } else if (proto == 6 || proto == 17 || proto == 136 || proto == 132 || proto == 33) {
    if (load<u8>(PKT, P_L4OK) == 0) return setInvalid();
    sport = <u32>load<u16>(PKT, P_SPORT);
    dport = <u32>load<u16>(PKT, P_DPORT);
  }

  for (let attempt = 0; attempt < 2; attempt++) {
    let ct = lookup(src, dst, sport, dport, proto);
    let dir = 0;
    let ctinfo: i32 = CTINFO_NEW;
    let isNew = false;
    if (ct != 0) {
      dir = foundDir;
      const st = load<u32>(entryAddr(ct), CT_STATUS);
      ctinfo = dir == 1 ? CTINFO_ESTABLISHED_REPLY : (st & IPS_SEEN_REPLY) != 0 ? CTINFO_ESTABLISHED : CTINFO_NEW;
    } else {
      if (attempt == 0) logMiss(src, dst, sport, dport, proto);
      // init_conntrack: the reply tuple must exist (ICMP: a query type with a reply type)
      let rdport = sport;
      let rsport = dport;
      if (proto == 1) {
        const inv = icmpInvType(dport >> 8);
        if (inv < 0) return setInvalid();
        rsport = sport;                              // id is the same both ways
        rdport = (<u32>inv << 8) | (dport & 0xff);
      }
      const ho = lastHash; // lookup() just missed this tuple
      ct = allocCt(ho);
      if (ct == 0) { setInvalid(); return V_DROP; }
      const e = entryAddr(ct);
      store<u8>(e, <u8>proto, CT_PROTO);
      store<u32>(e, src, CT_O_SRC);
      store<u32>(e, dst, CT_O_DST);
      store<u16>(e, <u16>sport, CT_O_SPORT);
      store<u16>(e, <u16>dport, CT_O_DPORT);
      store<u32>(e, dst, CT_R_SRC);
      store<u32>(e, src, CT_R_DST);
      store<u16>(e, <u16>(proto == 1 ? rsport : dport), CT_R_SPORT);
      store<u16>(e, <u16>(proto == 1 ? rdport : sport), CT_R_DPORT);
      unconf = ct;
      unconfHash = ho;
      isNew = true;
    }
    const e = entryAddr(ct);
    // the L4 tracker
    let r = 1;
    if (proto == 6) {
      if (tcpError(csumBad(6, true))) r = TCP_R_INVALID;
      else r = tcpPacket(e, dir);
    } else if (proto == 17 || proto == 136) {
      r = udpPacket(e, proto);
    } else if (proto == 132) {
      r = csumBad(132, false) ? TCP_R_INVALID : sctpPacket(e, dir);
    } else if (proto == 1) {
      // only a query type can open a connection (an unsolicited echo reply is INVALID)
      const ot = <u32>load<u16>(e, CT_O_DPORT) >> 8;
      if (ot != 8 && ot != 13 && ot != 15 && ot != 17) r = TCP_R_INVALID;
      else refresh(e, <u32>sysctl(SYS_ICMP_TIMEOUT));
    } else if (proto == 47) {
      greConn(e);
    } else {
      refresh(e, <u32>sysctl(SYS_GENERIC_TIMEOUT));
    }
    if (r == TCP_R_REPEAT) {
      killCt(ct, true);
      continue;
    }
    if (r == TCP_R_INVALID) {
      if (isNew) { killCt(ct, true); unconf = 0; }
      return setInvalid();
    }
    store<u32>(PKT, ct, P_CT);
    store<u8>(PKT, <u8>dir, P_CTDIR);
    store<u8>(PKT, <u8>ctinfo, P_CTINFO);
    if (ctinfo == CTINFO_ESTABLISHED_REPLY) {
      store<u32>(e, load<u32>(e, CT_STATUS) | IPS_SEEN_REPLY, CT_STATUS);
    }
    if (r == TCP_R_KILL && !isNew) killCt(ct, false);
    return V_ACCEPT;
  }
  return setInvalid();
}

/** nf_conntrack_gre_packet for GRE version 0 (keys 0, as the kernel's tracker without PPTP):
 *  30 s until a reply was seen, then 180 s and ASSURED (nf_conntrack_gre_timeout{,_stream}). */
function greConn(e: usize): void {
  const st = load<u32>(e, CT_STATUS);
  if ((st & IPS_SEEN_REPLY) != 0) {
    refresh(e, <u32>sysctl(SYS_GRE_TIMEOUT_STREAM));
    store<u32>(e, load<u32>(e, CT_STATUS) | IPS_ASSURED, CT_STATUS);
  } else {
    refresh(e, <u32>sysctl(SYS_GRE_TIMEOUT));
  }
}

/** nf_conntrack_udp_packet (UDP, UDP-Lite). */
function udpPacket(e: usize, proto: u32): i32 {
  const l4 = <usize>load<u32>(PKT, P_L4);
  const udplen = load<u32>(PKT, P_IPLEN) - <u32>load<u8>(PKT, P_IHL);
  const hl = be16(l4 + 4);
  if (proto == 17) {
    if (hl > udplen || hl < 8) return TCP_R_INVALID;        // truncated / malformed
    if (load<u16>(l4 + 6) != 0 && csumBad(17, true)) return TCP_R_INVALID; // zero checksum is fine
  } else {
    // udplite_error: coverage 0 = the whole packet, else at least the header and at most the packet;
    // a zero checksum is not allowed
    if (hl != 0 && (hl < 8 || hl > udplen)) return TCP_R_INVALID;
    if (load<u16>(l4 + 6) == 0) return TCP_R_INVALID;
    if (csumBad(136, true)) return TCP_R_INVALID;
  }
  const st = load<u32>(e, CT_STATUS);
  const now = nowJ();
  if ((st & IPS_CONFIRMED) == 0) store<u64>(e, now + 2 * hz(), CT_UDP_STREAM_TS);
  if ((st & IPS_SEEN_REPLY) != 0) {
    // traffic both ways: a stream once it lasted more than 2 s
    let extra = <u32>sysctl(SYS_UDP_TIMEOUT);
    let stream = false;
    if (<i64>(load<u64>(e, CT_UDP_STREAM_TS) - now) < 0) {
      extra = <u32>sysctl(SYS_UDP_TIMEOUT_STREAM);
      stream = (st & IPS_ASSURED) == 0;
    }
    refresh(e, extra);
    if (stream) store<u32>(e, load<u32>(e, CT_STATUS) | IPS_ASSURED, CT_STATUS);
  } else {
    refresh(e, <u32>sysctl(SYS_UDP_TIMEOUT));
  }
  return 1;
}

/** __nf_conntrack_confirm at the end of INPUT/POSTROUTING: insert a new connection under both
 *  tuples. V_DROP when its tuples clash with an existing connection that cannot be merged. */
export function ctConfirm(): i32 {
  const ct = load<u32>(PKT, P_CT);
  if (ct == 0) return V_ACCEPT;
  const e = entryAddr(ct);
  const st = load<u32>(e, CT_STATUS);
  if ((st & IPS_CONFIRMED) != 0 || load<u8>(PKT, P_CTDIR) != 0) return V_ACCEPT;
  if (ct != unconf) return V_ACCEPT;
  const proto = <u32>load<u8>(e, CT_PROTO);
  // The original tuple missed at ctIn and nothing inserted tuples since (one packet in flight):
  // only the reply tuple (changed by NAT, or a NATed ct's original) can clash.
  const rs = load<u32>(e, CT_R_SRC), rd = load<u32>(e, CT_R_DST), rw2 = load<u32>(e, CT_R_SPORT);
  let other: u32 = 0;
  if (freeValid && rs == freeSrc && rd == freeDst && rw2 == freeW2 && proto == freeProto) {
    lastHash = freeHash; // NAT's tupleTaken just walked this tuple's chain: no node holds it
  } else {
    other = lookup(rs, rd, rw2 & 0xffff, rw2 >> 16, proto);
  }
  if (other != 0) {
    // nf_ct_resolve_clash: protocols that allow clashes (not TCP) merge into an identical entry
    const oe = entryAddr(other);
    const same = load<u32>(oe, CT_O_SRC) == load<u32>(e, CT_O_SRC) && load<u32>(oe, CT_O_DST) == load<u32>(e, CT_O_DST) &&
      load<u32>(oe, CT_O_SPORT) == load<u32>(e, CT_O_SPORT) && load<u32>(oe, CT_R_SRC) == load<u32>(e, CT_R_SRC) &&
      load<u32>(oe, CT_R_DST) == load<u32>(e, CT_R_DST) && load<u32>(oe, CT_R_SPORT) == load<u32>(e, CT_R_SPORT) &&
      (load<u32>(oe, CT_STATUS) & (IPS_SRC_NAT | IPS_DST_NAT)) == (st & (IPS_SRC_NAT | IPS_DST_NAT));
    killCt(ct, true);
    unconf = 0;
    if (proto != 6 && same) {
      store<u32>(PKT, other, P_CT);
      return V_ACCEPT;
    }
    store<u32>(PKT, 0, P_CT);
    return V_DROP;
  }
  store<u32>(e, st | IPS_CONFIRMED, CT_STATUS);
  hashTuplesAt(e, ct, unconfHash, lastHash); // lookup() of the reply tuple just missed
  unconf = 0;
  return V_ACCEPT;
}

/** The packet was dropped: free its unconfirmed ct (a retransmission walks the nat chains again). */
export function ctAbort(): void {
  if (unconf != 0) {
    if (load<u32>(PKT, P_CT) == unconf) store<u32>(PKT, 0, P_CT);
    killCt(unconf, true);
    unconf = 0;
  }
}

// ---------------------------------------------------------------- accessors (ct = P_CT value)
export function ctStatus(ct: u32): u32 { return load<u32>(entryAddr(ct), CT_STATUS); }
export function ctMark(ct: u32): u32 { return load<u32>(entryAddr(ct), CT_MARK); }
export function ctSetMark(ct: u32, v: u32): void { store<u32>(entryAddr(ct), v, CT_MARK); }
export function ctProto(ct: u32): u8 { return load<u8>(entryAddr(ct), CT_PROTO); }
export function ctAddr(ct: u32, dir: i32, which: i32): u32 {
  return load<u32>(entryAddr(ct) + <usize>(dir == 0 ? CT_O_SRC : CT_R_SRC) + <usize>(which << 2));
}
export function ctPort(ct: u32, dir: i32, which: i32): u16 {
  return load<u16>(entryAddr(ct) + <usize>(dir == 0 ? CT_O_SPORT : CT_R_SPORT) + <usize>(which << 1));
}
export function ctExpiresSec(ct: u32): u32 {
  const left = <i64>(load<u64>(entryAddr(ct), CT_TIMEOUT) - nowJ());
  return left <= 0 ? 0 : <u32>(<u64>left / hz());
}
export function ctTcpState(ct: u32): u8 { return load<u8>(entryAddr(ct), CT_TCPSTATE); }

/** Iteration for dumps: the first live confirmed ct with index + 1 > `after` (0 = none left). */
export function ctNext(after: u32): u32 {
  const hwm: u32 = TB == 0 ? 0 : load<u32>(TB, CTT_HWM);
  for (let i: u32 = after; i < hwm; i++) {
    const e = ENT + <usize>i * CT_SIZE;
    if (load<u8>(e, CT_INUSE) != 0 && (load<u32>(e, CT_STATUS) & (IPS_CONFIRMED | IPS_DYING)) == IPS_CONFIRMED) return i + 1;
  }
  return 0;
}
export function ctFirst(): u32 { return ctNext(0); }
export function ctEntry(ct: u32): usize { return entryAddr(ct); }
/** The unconfirmed ct of the packet in flight (0 = none). */
export function ctUnconfirmed(): u32 { return unconf; }

// ---------------------------------------------------------------- SCTP (nf_conntrack_proto_sctp.c)
// States by chunk type and direction, as the kernel's sctp_conntracks[2][11][] (6.x: an INIT only
// reaches CLOSED; the INIT_ACK reply moves to COOKIE_WAIT). Rows: init, init_ack, abort, shutdown,
// shutdown_ack, error, cookie_echo, cookie_ack, shutdown_complete, heartbeat, heartbeat_ack.
const qNO: u8 = <u8>SCS_NONE, qCL: u8 = <u8>SCS_CLOSED, qCW: u8 = <u8>SCS_COOKIE_WAIT,
  qCE: u8 = <u8>SCS_COOKIE_ECHOED, qES: u8 = <u8>SCS_ESTABLISHED, qSS: u8 = <u8>SCS_SHUTDOWN_SENT,
  qSR: u8 = <u8>SCS_SHUTDOWN_RECD, qSA: u8 = <u8>SCS_SHUTDOWN_ACK_SENT, qHS: u8 = <u8>SCS_HEARTBEAT_SENT,
  qIV: u8 = <u8>SCS_MAX;
const SCTP_CONNTRACKS: StaticArray<u8> = [
  // ORIGINAL    sNO  sCL  sCW  sCE  sES  sSS  sSR  sSA  sHS
  /* init     */ qCL, qCL, qCW, qCE, qES, qCL, qCL, qSA, qCW,
  /* init_ack */ qCL, qCL, qCW, qCE, qES, qSS, qSR, qSA, qCL,
  /* abort    */ qCL, qCL, qCL, qCL, qCL, qCL, qCL, qCL, qCL,
  /* shutdown */ qCL, qCL, qCW, qCE, qSS, qSS, qSR, qSA, qCL,
  /* shut_ack */ qSA, qCL, qCW, qCE, qES, qSA, qSA, qSA, qSA,
  /* error    */ qCL, qCL, qCW, qCE, qES, qSS, qSR, qSA, qCL, // no stale cookie here
  /* ck_echo  */ qCL, qCL, qCE, qCE, qES, qSS, qSR, qSA, qCL,
  /* ck_ack   */ qCL, qCL, qCW, qES, qES, qSS, qSR, qSA, qCL, // cannot come in this direction
  /* shut_cmp */ qCL, qCL, qCW, qCE, qES, qSS, qSR, qCL, qCL,
  /* hb       */ qHS, qCL, qCW, qCE, qES, qSS, qSR, qSA, qHS,
  /* hb_ack   */ qCL, qCL, qCW, qCE, qES, qSS, qSR, qSA, qHS,
  // REPLY       sNO  sCL  sCW  sCE  sES  sSS  sSR  sSA  sHS
  /* init     */ qIV, qCL, qCW, qCE, qES, qSS, qSR, qSA, qIV,
  /* init_ack */ qIV, qCW, qCW, qCE, qES, qSS, qSR, qSA, qIV,
  /* abort    */ qIV, qCL, qCL, qCL, qCL, qCL, qCL, qCL, qIV,
  /* shutdown */ qIV, qCL, qCW, qCE, qSR, qSS, qSR, qSA, qIV,
  /* shut_ack */ qIV, qCL, qCW, qCE, qES, qSA, qSA, qSA, qIV,
  /* error    */ qIV, qCL, qCW, qCL, qES, qSS, qSR, qSA, qIV,
  /* ck_echo  */ qIV, qCL, qCE, qCE, qES, qSS, qSR, qSA, qIV, // cannot come in this direction
  /* ck_ack   */ qIV, qCL, qCW, qES, qES, qSS, qSR, qSA, qIV,
  /* shut_cmp */ qIV, qCL, qCW, qCE, qES, qSS, qSR, qCL, qIV,
  /* hb       */ qIV, qCL, qCW, qCE, qES, qSS, qSR, qSA, qHS,
  /* hb_ack   */ qIV, qCL, qCW, qCE, qES, qSS, qSR, qSA, qES,
];
// chunk types
const C_DATA: u32 = 0, C_INIT: u32 = 1, C_INIT_ACK: u32 = 2, C_HEARTBEAT: u32 = 4, C_HEARTBEAT_ACK: u32 = 5,
  C_ABORT: u32 = 6, C_SHUTDOWN: u32 = 7, C_SHUTDOWN_ACK: u32 = 8, C_ERROR: u32 = 9, C_COOKIE_ECHO: u32 = 10,
  C_COOKIE_ACK: u32 = 11, C_SHUTDOWN_COMPLETE: u32 = 14;

/** sctp_new_state: the next state for a chunk (other chunks, DATA/SACK..., keep the state). */
function sctpNewState(dir: i32, cur: i32, type: u32): i32 {
  let i = -1;
  switch (type) {
    case C_INIT: i = 0; break;
    case C_INIT_ACK: i = 1; break;
    case C_ABORT: i = 2; break;
    case C_SHUTDOWN: i = 3; break;
    case C_SHUTDOWN_ACK: i = 4; break;
    case C_ERROR: i = 5; break;
    case C_COOKIE_ECHO: i = 6; break;
    case C_COOKIE_ACK: i = 7; break;
    case C_SHUTDOWN_COMPLETE: i = 8; break;
    case C_HEARTBEAT: i = 9; break;
    case C_HEARTBEAT_ACK: i = 10; break;
  }
  if (i < 0) return cur;
  return <i32>unchecked(SCTP_CONNTRACKS[dir * 99 + i * 9 + cur]);
}

/** Timeout (seconds) per state (sctp_timeouts[] from the sysctls; NONE uses CLOSED's). */
function sctpTimeout(st: i32): u32 {
  const i = st < SCS_CLOSED || st > SCS_HEARTBEAT_SENT ? SCS_CLOSED : st;
  return <u32>sysctl(SYS_SCTP_TIMEOUT0 + i - 1);
}

// chunk walk state
const SCTP_MAP: usize = memory.data(32, 16); // 256-bit map of the chunk types present
let scL3: usize = 0;
let scEnd: u32 = 0;   // skb->len (IP total length), offsets from the IP header
let scCap: u32 = 0;   // captured bytes from the IP header

// @ts-ignore: decorator
@inline function mapHas(t: u32): bool { return (load<u32>(SCTP_MAP + ((<usize>t >> 5) << 2)) & (1 << (t & 31))) != 0; }

/** do_basic_checks: chunk lengths, INIT/INIT_ACK/SHUTDOWN_COMPLETE alone, COOKIE_* first.
 *  Fills SCTP_MAP. True when the packet is bad. */
function sctpBasicChecks(dataoff: u32): bool {
  memory.fill(SCTP_MAP, 0, 32);
  let flag = false;
  let count: u32 = 0;
  let off = dataoff + 12;
  while (off < scEnd && off + 4 <= scCap) {
    const type = <u32>load<u8>(scL3 + off);
    const len = be16(scL3 + off + 2);
    if (type == C_INIT || type == C_INIT_ACK || type == C_SHUTDOWN_COMPLETE) flag = true;
    if (((type == C_COOKIE_ACK || type == C_COOKIE_ECHO || flag) && count != 0) || len == 0) return true;
    const w = SCTP_MAP + ((<usize>type >> 5) << 2);
    store<u32>(w, load<u32>(w) | (1 << (type & 31)));
    off += (len + 3) & ~(<u32>3);
    count++;
  }
  return count == 0;
}

/** sctp_new: the chunks of the first packet decide whether it can open a connection. */
function sctpNew(e: usize, dataoff: u32, vtag: u32): bool {
  store<u64>(e + CT_SCTP_VTAG0, 0);
  store<u64>(e + CT_SCTP_VTAG0 + 8, 0);
  store<u8>(e, <u8>SCS_NONE, CT_TCPSTATE);
  let off = dataoff + 12;
  while (off < scEnd && off + 4 <= scCap) {
    const type = <u32>load<u8>(scL3 + off);
    const ns = sctpNewState(0, SCS_NONE, type);
    if (ns == SCS_NONE || ns == SCS_MAX) return false;
    if (type == C_INIT) {
      if (vtag != 0) return false; // Sec 8.5.1 (A)
      if (off + 8 > scCap) return false;
      store<u32>(e, load<u32>(scL3 + off + 4), CT_SCTP_VTAG1);
    } else if (type == C_HEARTBEAT) {
      store<u32>(e, vtag, CT_SCTP_VTAG0);
    } else if (type == C_SHUTDOWN_ACK) {
      store<u32>(e, vtag, CT_SCTP_VTAG1); // OOTB shutdown ack: expect a shutdown complete or an abort
    }
    off += (be16(scL3 + off + 2) + 3) & ~(<u32>3);
  }
  return true;
}

/** nf_conntrack_sctp_packet. The CRC was checked by the caller. */
function sctpPacket(e: usize, dir: i32): i32 {
  scL3 = <usize>load<u32>(PKT, P_L3);
  const ihl = <u32>load<u8>(PKT, P_IHL);
  scEnd = load<u32>(PKT, P_IPLEN);
  scCap = ihl + load<u32>(PKT, P_L4LEN);
  if (scEnd < ihl + 12 || scCap < ihl + 12) return TCP_R_INVALID;
  const vtag = load<u32>(scL3 + ihl + 4);
  if (sctpBasicChecks(ihl)) return TCP_R_INVALID;
  const st = load<u32>(e, CT_STATUS);
  if ((st & IPS_CONFIRMED) == 0) {
    // an out-of-the-blue packet with these chunks is discarded (Sec 8.4)
    if (mapHas(C_ABORT) || mapHas(C_SHUTDOWN_COMPLETE) || mapHas(C_COOKIE_ACK)) return TCP_R_INVALID;
    if (!sctpNew(e, ihl, vtag)) return TCP_R_INVALID;
  }
  const myTag = dir == 0 ? CT_SCTP_VTAG0 : CT_SCTP_VTAG1;
  const peerTag = dir == 0 ? CT_SCTP_VTAG1 : CT_SCTP_VTAG0;
  // verification tag (Sec 8.5)
  if (!mapHas(C_INIT) && !mapHas(C_SHUTDOWN_COMPLETE) && !mapHas(C_COOKIE_ECHO) && !mapHas(C_ABORT) &&
      !mapHas(C_SHUTDOWN_ACK) && !mapHas(C_HEARTBEAT) && !mapHas(C_HEARTBEAT_ACK) &&
      vtag != load<u32>(e + <usize>myTag)) return TCP_R_INVALID;
  let ignore = false;
  let ns = SCS_NONE;
  let off = ihl + 12;
  while (off < scEnd && off + 4 <= scCap) {
    const type = <u32>load<u8>(scL3 + off);
    const flags = <u32>load<u8>(scL3 + off + 1);
    const clen = be16(scL3 + off + 2);
    const next = off + ((clen + 3) & ~(<u32>3));
    if (type == C_INIT) {
      if (vtag != 0) return TCP_R_INVALID;                                     // (A)
    } else if (type == C_ABORT || type == C_SHUTDOWN_COMPLETE) {
      // (B)/(C): own tag without the T flag, the peer's with it
      const want = (flags & 1) == 0 ? load<u32>(e + <usize>myTag) : load<u32>(e + <usize>peerTag);
      if (vtag != want) return TCP_R_INVALID;
    } else if (type == C_COOKIE_ECHO) {
      if (vtag != load<u32>(e + <usize>myTag)) return TCP_R_INVALID;           // (D)
    } else if (type == C_COOKIE_ACK) {
      store<u8>(e, 0, CT_SCTP_INIT0);
      store<u8>(e, 0, CT_SCTP_INIT1);
    } else if (type == C_HEARTBEAT) {
      const mt = load<u32>(e + <usize>myTag);
      if (mt == 0) {
        store<u32>(e + <usize>myTag, vtag);
      } else if (vtag != mt) {
        if (mapHas(C_DATA) || ignore) return TCP_R_INVALID;
        store<u8>(e, load<u8>(e, CT_SCTP_FLAGS) | 1, CT_SCTP_FLAGS);
        store<u8>(e, <u8>dir, CT_SCTP_LASTDIR);
        ignore = true;
        off = next;
        continue;
      } else if ((load<u8>(e, CT_SCTP_FLAGS) & 1) != 0) {
        store<u8>(e, load<u8>(e, CT_SCTP_FLAGS) & ~(<u8>1), CT_SCTP_FLAGS);
      }
    } else if (type == C_HEARTBEAT_ACK) {
      const mt = load<u32>(e + <usize>myTag);
      if (mt == 0) {
        store<u32>(e + <usize>myTag, vtag);
      } else if (vtag != mt) {
        if (mapHas(C_DATA) || ignore) return TCP_R_INVALID;
        if ((load<u8>(e, CT_SCTP_FLAGS) & 1) == 0 || <i32>load<u8>(e, CT_SCTP_LASTDIR) == dir) return TCP_R_INVALID;
        store<u8>(e, load<u8>(e, CT_SCTP_FLAGS) & ~(<u8>1), CT_SCTP_FLAGS);
        store<u32>(e + <usize>myTag, vtag);
        store<u32>(e + <usize>peerTag, 0);
      } else if ((load<u8>(e, CT_SCTP_FLAGS) & 1) != 0) {
        store<u8>(e, load<u8>(e, CT_SCTP_FLAGS) & ~(<u8>1), CT_SCTP_FLAGS);
      }
    }
    const os = <i32>load<u8>(e, CT_TCPSTATE);
    ns = sctpNewState(dir, os, type);
    if (ns == SCS_MAX) return TCP_R_INVALID;
    const myInit = dir == 0 ? CT_SCTP_INIT0 : CT_SCTP_INIT1;
    const peerInit = dir == 0 ? CT_SCTP_INIT1 : CT_SCTP_INIT0;
    if (type == C_INIT) {
      if (off + 8 > scCap) return TCP_R_INVALID;
      if (load<u8>(e + <usize>myInit) != 0 && load<u8>(e + <usize>peerInit) != 0) store<u8>(e + <usize>peerInit, 0);
      store<u8>(e + <usize>myInit, 1);
      store<u32>(e + <usize>peerTag, load<u32>(scL3 + off + 4));
      // an INIT retransmitted in CLOSED does not renew the timeout (port reuse)
      if (ns == SCS_CLOSED && os == SCS_CLOSED && (st & IPS_CONFIRMED) != 0) ignore = true;
    } else if (type == C_INIT_ACK) {
      if (off + 8 > scCap) return TCP_R_INVALID;
      const it = load<u32>(scL3 + off + 4);
      const pv = load<u32>(e + <usize>peerTag);
      if (load<u8>(e + <usize>peerInit) == 0 && pv != 0 && pv != it) return TCP_R_INVALID;
      if (load<u8>(e + <usize>myInit) != 0 && load<u8>(e + <usize>peerInit) != 0 && pv != it) return TCP_R_INVALID; // collision
      store<u32>(e + <usize>peerTag, it);
    }
    store<u8>(e, <u8>ns, CT_TCPSTATE);
    if (os != ns && ns == SCS_ESTABLISHED) store<u32>(e, load<u32>(e, CT_STATUS) | IPS_ASSURED, CT_STATUS);
    off = next;
  }
  if (ignore) return 1;
  refresh(e, sctpTimeout(ns));
  return 1;
}
