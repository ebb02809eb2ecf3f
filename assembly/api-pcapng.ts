// pcapng framing in the core: the replay reads a pcapng file's bytes straight into core memory
// (src/replay/feed.ts) and this walks the blocks: EPB and SPB become descriptors, the blocks the
// reader skips (OPB, NRB, ISB, DSB, custom, unknown) are skipped here after the same length
// checks, and anything else (SHB, IDB, a block that is bad, cut or too short, a packet on an
// undefined interface) stops the walk: the host parses that one block with the reader's code
// (src/pcap/reader.ts PcapngBlocks: same state, errors and offsets), rewrites the interface table
// (NGI_* in src/layout.ts) and resumes. Fields as the reader's epb/spb + loadBatch give them.
import { DESC_SIZE, DESC_RESULT, DESC_FRAME, DESC_CAPLEN, DESC_WIRELEN, DESC_TS_SEC, DESC_TS_NSEC,
  DESC_LINKTYPE, DESC_ORDINAL, NGI_LW, NGI_SNAPLEN, NGI_MODE, NGI_K, NGI_UNITS, NGI_A, NGI_OFFSET, NGI_SIZE,
  PCAPNG_MAX_BLOCK, PCAPNG_MAX_CAPLEN } from '../src/layout';
import { poolSelect } from './api-pool';

let ngNext: usize = 0;
let ngSec: u32 = 0;
let ngNsec: u32 = 0;

// @ts-ignore: decorator
@inline function rd(a: usize, off: usize, be: bool): u32 {
  const v = load<u32>(a + off);
  return be ? bswap<u32>(v) : v;
}

/** The timestamp of `t` units on interface entry `e` into ngSec/ngNsec (see NGI_MODE). */
// @ts-ignore: decorator
@inline function ngTime(e: usize, t: u64): void {
  const mode = load<u32>(e, NGI_MODE);
  let sec: u64 = 0;
  let nsec: u64 = 0;
  if (mode == 0) {
    const u = load<u64>(e, NGI_UNITS);
    sec = t / u;
    nsec = (t - sec * u) * load<u64>(e, NGI_A);
  } else if (mode == 1) {
    const u = load<u64>(e, NGI_UNITS);
    let rem = t;
    if (u != 0) { sec = t / u; rem = t - sec * u; }
    nsec = rem / load<u64>(e, NGI_A);
  } else if (mode == 2) {
    const k = <u64>load<u32>(e, NGI_K);
    let rem = t;
    if (k < 64) { sec = t >> k; rem = t & ((<u64>1 << k) - 1); }
    if (k <= 34) nsec = (rem * 1000000000) >> k;   // rem < 2^k: the product < 2^64
    else {
      // (rem * 10^9) >> k with a 96-bit product: high part = rh * 10^9 + (rl * 10^9 >> 32)
      const hi = (rem >> 32) * 1000000000 + (((rem & 0xffffffff) * 1000000000) >> 32);
      nsec = k - 32 < 64 ? hi >> (k - 32) : 0;
    }
  }
  ngSec = <u32>(sec + <u64>load<i64>(e, NGI_OFFSET));
  ngNsec = <u32>nsec;
}

/** Frame the pcapng blocks in [pos, end) of a section in byte order `be` (1 = big-endian) into
 * descriptors at `descs`, at most `max`, with the section's `nIf` interfaces at `table`
 * (NGI_SIZE each) and ordinals from `ordinal`. Returns the number of descriptors written;
 * pcapngNextAddr() is the first block not consumed: the end, or where `max` was reached, or a
 * block the host must read (see the header). */
export function pcapngFrame(pos: usize, end: usize, descs: usize, max: u32, be: u32, table: usize, nIf: u32, ordinal: u32): u32 {
  return walk(pos, end, descs, max, be != 0, table, nIf, ordinal, false, 0, 0, 0, 0, 0, 0, 0, 0, false);
}

const SCRATCH: usize = memory.data(DESC_SIZE, 16);
let ngKept: u32 = 0;

/** The pool's worker (src/replay/worker.ts): frame the `n` packets of a batch (whole blocks
 * checked by the main thread: src/replay/feed.ts PcapngChunks) as pcapngFrame does, and keep this
 * shard's as api-pool.ts poolSelect does, packet by packet (each descriptor is written once, to
 * a scratch slot, and copied out when kept). Returns the packets framed (= `n`); pcapngKept() is
 * the number kept at `out`. */
export function pcapngFrameSelect(pos: usize, end: usize, n: u32, be: u32, table: usize, nIf: u32, ordinal: u32,
  nShards: u32, me: u32, ovr: usize, ovrMask: u32, out: usize, keys: usize, hashes: usize, srcs: usize, hash: u32): u32 {
  ngKept = 0;
  return walk(pos, end, SCRATCH, n, be != 0, table, nIf, ordinal, true, nShards, me, ovr, ovrMask, out, keys, hashes, srcs, hash != 0);
}

/** After pcapngFrameSelect: the packets kept. */
export function pcapngKept(): u32 { return ngKept; }

// @ts-ignore: decorator
@inline function walk(pos: usize, end: usize, descs: usize, max: u32, b: bool, table: usize, nIf: u32, ordinal: u32,
  select: bool, nShards: u32, me: u32, ovr: usize, ovrMask: u32, out: usize, keys: usize, hashes: usize, srcs: usize, hash: bool): u32 {
  let n: u32 = 0;
  while (n < max && <u64>pos + 12 <= <u64>end) {
    const raw = load<u32>(pos);
    if (raw == 0x0a0d0d0a) break;                     // SHB (the same bytes in either order)
    const type = b ? bswap<u32>(raw) : raw;
    const len = rd(pos, 4, b);
    // (the pool's batches were checked block by block by the main thread: select skips the checks)
    if (!select) {
      if (len < 12 || (len & 3) != 0 || len > <u32>PCAPNG_MAX_BLOCK) break;
      if (<u64>pos + <u64>len > <u64>end) break;
      if (rd(pos, <usize>len - 4, b) != len) break;
    }
    if (type == 6) {
      // EPB: interface id, ts high, ts low, caplen, wirelen, frame
      const ifid = rd(pos, 8, b);
      const cl = rd(pos, 20, b);
      const e = table + <usize>ifid * NGI_SIZE;
      if (!select) {
        if (len < 32 || ifid >= nIf) break;
        if (<u64>32 + ((<u64>cl + 3) & ~(<u64>3)) > <u64>len) break;
        if (cl > <u32>PCAPNG_MAX_CAPLEN && cl > load<u32>(e, NGI_SNAPLEN)) break;
      }
      const d = select ? descs : descs + <usize>n * DESC_SIZE;
      store<u32>(d, <u32>pos + 28, DESC_FRAME);
      store<u32>(d, cl, DESC_CAPLEN);
      store<u32>(d, rd(pos, 24, b), DESC_WIRELEN);
      store<u32>(d, load<u32>(e, NGI_LW), DESC_LINKTYPE);   // LINKTYPE and IFINDEX
      store<u32>(d, ordinal + n, DESC_ORDINAL);
      store<u32>(d, 0, DESC_RESULT);
      // the timestamp (a 64-bit division) only for the packets this core runs: keying does not read it
      let td = d;
      if (select) {
        const j = ngKept;
        keep(d, nShards, me, ovr, ovrMask, out, keys, hashes, srcs, hash);
        td = ngKept != j ? out + <usize>j * DESC_SIZE : 0;
      }
      if (td) {
        ngTime(e, (<u64>rd(pos, 12, b) << 32) | <u64>rd(pos, 16, b));
        store<u32>(td, ngSec, DESC_TS_SEC);
        store<u32>(td, ngNsec, DESC_TS_NSEC);
      }
      n++;
    } else if (type == 3) {
      // SPB: original length, frame; interface 0, no timestamp; caplen = min(wirelen, the
      // block's room, the snaplen when set)
      if (len < 16 || nIf == 0) break;
      const wl = rd(pos, 8, b);
      let cl = wl < len - 16 ? wl : len - 16;
      const snap = load<u32>(table, NGI_SNAPLEN);
      if (snap > 0 && cl > snap) cl = snap;
      const d = select ? descs : descs + <usize>n * DESC_SIZE;
      store<u32>(d, <u32>pos + 12, DESC_FRAME);
      store<u32>(d, cl, DESC_CAPLEN);
      store<u32>(d, wl, DESC_WIRELEN);
      store<u32>(d, 0, DESC_TS_SEC);
      store<u32>(d, 0, DESC_TS_NSEC);
      store<u32>(d, load<u32>(table, NGI_LW), DESC_LINKTYPE);
      store<u32>(d, ordinal + n, DESC_ORDINAL);
      store<u32>(d, 0, DESC_RESULT);
      if (select) keep(d, nShards, me, ovr, ovrMask, out, keys, hashes, srcs, hash);
      n++;
    } else if (type == 1) break;                       // IDB: the host reads it
    pos += <usize>len;                                 // EPB, SPB, or a block the reader skips
  }
  ngNext = pos;
  return n;
}

/** poolSelect of the one descriptor at `d`: kept at the next slot of `out` when it is this shard's. */
// @ts-ignore: decorator
@inline function keep(d: usize, nShards: u32, me: u32, ovr: usize, ovrMask: u32, out: usize, keys: usize, hashes: usize, srcs: usize, hash: bool): void {
  const j = ngKept;
  ngKept = j + poolSelect(d, 1, nShards, me, ovr, ovrMask, out + <usize>j * DESC_SIZE, keys + (<usize>j << 2), hashes + (<usize>j << 3), srcs + (<usize>j << 2), hash ? 1 : 0);
}

/** After pcapngFrame: the address of the first block not consumed. */
export function pcapngNextAddr(): usize { return ngNext; }
