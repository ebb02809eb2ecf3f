// Exports of the engine: image setup, processBatch, counters and stats. Owned by the engine work.
import { DESC_SIZE, DESC_RESULT, DESC_FRAME, DESC_CAPLEN, DESC_WIRELEN, DESC_TS_SEC, DESC_TS_NSEC,
  DESC_LINKTYPE, DESC_IFINDEX, DESC_ORDINAL, ST_SIZE, ST_NRES, ST_REJECT_REPLIES, ST_CSUM_BAD, ST_DROP_INVALID_CT, RES_DROP_RULE, RES_DROP_POLICY, P_CSUM_OK } from '../src/layout';
import { setImage, setCounters, PKT } from './state';
import { setStateBase } from './modules/index';
import { setRecentBase } from './modules/recent';
import { processPacket, rejectSent, setOutRecords, setBatchIndex, resetOutRecords, dropInvalid } from './hooks';
export { setOutRecords };
import { REJECT_COUNTS } from './modules/targets';
import { poolAfterPacket } from './api-pool';

/** The pool's worker runs a shard's batch in one processBatch call when this is exported. */
export function poolHookInstalled(): i32 { return 1; }

const STATS: usize = memory.data(ST_SIZE * 8, 16);

/** Record where the image, counters, per-rule state slots and recent tables live. */
export function engineSetup(image: usize, counters: usize, state: usize, recent: usize): void {
  setImage(image);
  setCounters(counters);
  setStateBase(state);
  setRecentBase(recent);
}

/** The walk cache of established packets (walkcache.ts): 1 on (the default), 0 off. Outputs are
 *  the same either way; tests compare them. */
export { setWalkCache, walkCacheHits } from './walkcache';

/** Address of the stats region: u64 per RES_* code, then ST_* extras. */
export function statsAddr(): usize { return STATS; }

/** Run `n` packets whose descriptors start at `descs`; writes each DESC_RESULT, updates stats. */
export function processBatch(descs: usize, n: u32): void {
  resetOutRecords();
  for (let i: u32 = 0; i < n; i++) {
    const d = descs + <usize>i * DESC_SIZE;
    setBatchIndex(i);
    const res = processPacket(d);
    store<u32>(d, res, DESC_RESULT);
    const code = res & 0xff;
    const idx: u32 = code < <u32>ST_NRES ? code : 0;
    const a = STATS + (<usize>idx << 3);
    store<u64>(a, load<u64>(a) + 1);
    if ((code == RES_DROP_RULE || code == RES_DROP_POLICY) && dropInvalid) {
      const b = STATS + (<usize>ST_DROP_INVALID_CT << 3);
      store<u64>(b, load<u64>(b) + 1);
    }
    if (load<u8>(PKT, P_CSUM_OK) == 2) {
      const b = STATS + (<usize>ST_CSUM_BAD << 3);
      store<u64>(b, load<u64>(b) + 1);
    }
    poolAfterPacket(i, d);
  }
  store<u64>(STATS + (<usize>ST_REJECT_REPLIES << 3), rejectSent);
}

/** Fill `n` descriptors from column arrays the host copied in (one memcpy per column, no
 * per-packet JS): offsets are relative to `data`; linktype/ifindex are u16 columns. */
export function buildDescs(descs: usize, n: u32, data: usize, offset: usize, caplen: usize, wirelen: usize,
  tsSec: usize, tsNsec: usize, linktype: usize, ifindex: usize, ordinal: usize): void {
  for (let i: u32 = 0; i < n; i++) {
    const d = descs + <usize>i * DESC_SIZE;
    const k = <usize>i << 2, h = <usize>i << 1;
    store<u32>(d, <u32>data + load<u32>(offset + k), DESC_FRAME);
    store<u32>(d, load<u32>(caplen + k), DESC_CAPLEN);
    store<u32>(d, load<u32>(wirelen + k), DESC_WIRELEN);
    store<u32>(d, load<u32>(tsSec + k), DESC_TS_SEC);
    store<u32>(d, load<u32>(tsNsec + k), DESC_TS_NSEC);
    store<u16>(d, load<u16>(linktype + h), DESC_LINKTYPE);
    store<u16>(d, load<u16>(ifindex + h), DESC_IFINDEX);
    store<u32>(d, load<u32>(ordinal + k), DESC_ORDINAL);
    store<u32>(d, 0, DESC_RESULT);
  }
}

// ---------------------------------------------------------------- classic pcap framing
// The replay reads a classic pcap file's bytes straight into the core (src/replay/feed.ts) and
// the core walks the record headers itself: one pass from file bytes to descriptors, no
// per-packet JS. Same fields as the reader (src/pcap/reader.ts parsePcap): linktype from the file
// header, interface 0 (the host's ingress: 0xFFFF), ordinals counted from `ordinal`.

let frameNext: usize = 0;
let frameBad: u32 = 0;

/** The descriptor `d` of the pcap record at `rec` (caplen `cl` already read): frame, lengths,
 * timestamp (`mul` turns the file's unit into ns), `lw` = LINKTYPE | IFINDEX << 16, ordinal. */
// @ts-ignore: decorator
@inline export function recordDesc(d: usize, rec: usize, cl: u32, be: bool, mul: u32, lw: u32, ord: u32): void {
  let sec = load<u32>(rec), frac = load<u32>(rec, 4), wl = load<u32>(rec, 12);
  if (be) { sec = bswap<u32>(sec); frac = bswap<u32>(frac); wl = bswap<u32>(wl); }
  store<u32>(d, <u32>rec + 16, DESC_FRAME);
  store<u32>(d, cl, DESC_CAPLEN);
  store<u32>(d, wl, DESC_WIRELEN);
  store<u32>(d, sec, DESC_TS_SEC);
  store<u32>(d, frac * mul, DESC_TS_NSEC);
  store<u32>(d, lw, DESC_LINKTYPE);
  store<u32>(d, ord, DESC_ORDINAL);
  store<u32>(d, 0, DESC_RESULT);
}

/** Frame the classic pcap records in [pos, end) into descriptors at `descs`, at most `max`.
 * `flags`: bit 0 = big-endian file, bit 1 = nanosecond timestamps. Stops at the first record that
 * is incomplete, or whose caplen exceeds `maxCaplen` (then frameStatus() = 1). Returns the number
 * of descriptors written; frameNext() is the address of the first record not framed. */
export function pcapFrame(pos: usize, end: usize, descs: usize, max: u32, flags: u32, linktype: u32, maxCaplen: u32, ordinal: u32): u32 {
  const be = (flags & 1) != 0;
  const mul: u32 = (flags & 2) != 0 ? 1 : 1000;
  let n: u32 = 0;
  frameBad = 0;
  while (n < max && <u64>pos + 16 <= <u64>end) {
    let cl = load<u32>(pos, 8);
    if (be) cl = bswap<u32>(cl);
    if (cl > maxCaplen) { frameBad = 1; break; }
    if (<u64>pos + 16 + <u64>cl > <u64>end) break;
    recordDesc(descs + <usize>n * DESC_SIZE, pos, cl, be, mul, (linktype & 0xffff) | 0xffff0000, ordinal + n);
    pos += 16 + <usize>cl;
    n++;
  }
  frameNext = pos;
  return n;
}

/** After pcapFrame: where the next record starts. */
export function frameNextAddr(): usize { return frameNext; }

/** After pcapFrame: 1 when it stopped at a record whose caplen is over the limit. */
export function frameStatus(): u32 { return frameBad; }

/** Address of the REJECT reply counts (u64 per --reject-with kind, 16 slots). */
export function rejectCountsAddr(): usize { return REJECT_COUNTS; }
