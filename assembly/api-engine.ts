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

/** Address of the REJECT reply counts (u64 per --reject-with kind, 16 slots). */
export function rejectCountsAddr(): usize { return REJECT_COUNTS; }
