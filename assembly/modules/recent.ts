// xt_recent.c: lists shared by --name, ip_list_tot = 100 entries each (insert evicts the LRU
// head), a ring of stamps per entry, times in jiffies from capture timestamps.
// Region layout (reserved by the host, zeroed): per table at its byte offset (image directory
// H_RECENT: [byteOffset, stampsMask] per table id): header 16 bytes [entries u32, pad, seq u64],
// then RECENT_LIST_TOT entries of (24 + 8 * (stampsMask + 1)) bytes:
// [addr u32, ttl u8, live u8, nstamps u16, index u16, pad 6, lruSeq u64, stamps u64...].
import { P_SADDR, P_DADDR, P_TTL, P_OIF, P_LOCALGEN, P_JIFFIES, H_RECENT, H_HZ, IF_NONE } from '../../src/layout';
import { PKT, pu, pw, setHotdrop } from './common';
import { imgw } from '../state';

export const RECENT_LIST_TOT: i32 = 100;
export let RECENT_BASE: usize = 0;
export function setRecentBase(a: usize): void { RECENT_BASE = a; }

const CHECK = 1, SET = 2, UPDATE = 4, REMOVE = 8, TTL = 16, REAP = 32;

// @ts-ignore: decorator
@inline function after(a: u64, b: u64): bool { return <i64>(b - a) < 0; }

/** params: [tableId, checkSet, seconds, hitcount, side (0 source, 1 dest), mask (P_SADDR encoding), invert] */
export function recentMatch(p: i32): bool {
  const dir = imgw(H_RECENT) + pw(p, 0) * 2;
  const t = RECENT_BASE + <usize>imgw(dir);
  const smask = <u32>imgw(dir + 1);
  const esz = <usize>24 + (<usize>(smask + 1) << 3);
  const cs = pw(p, 1);
  const seconds = <u64>pu(p, 2);
  const hitcount = pu(p, 3);
  const addr = (pw(p, 4) != 0 ? load<u32>(PKT, P_DADDR) : load<u32>(PKT, P_SADDR)) & pu(p, 5);
  let ret = pw(p, 6) != 0;
  let ttl = <u32>load<u8>(PKT, P_TTL);
  // "use TTL as seen before forwarding": our P_TTL is already decremented when there is an out device
  if (load<u8>(PKT, P_OIF) != IF_NONE && load<u8>(PKT, P_LOCALGEN) == 0) ttl = (ttl + 1) & 0xff;
  const now = load<u64>(PKT, P_JIFFIES);
  const want = (cs & TTL) != 0 ? ttl : 0;
  const ents = t + 16;
  let e: usize = 0;
  for (let i = 0; i < RECENT_LIST_TOT; i++) {
    const x = ents + <usize>i * esz;
    if (load<u8>(x, 5) == 0 || load<u32>(x) != addr) continue;
    const et = <u32>load<u8>(x, 4);
    if (want == 0 || et == 0 || et == want) { e = x; break; }
  }
  if (e == 0) {
    if ((cs & SET) == 0) return ret;
    e = entryInit(t, esz, addr, ttl, now);
    return !ret;
  }
  if (cs & SET) ret = !ret;
  else if (cs & REMOVE) { store<u8>(e, 0, 5); store<u32>(t, load<u32>(t) - 1); return !ret; }
  else if (cs & (CHECK | UPDATE)) {
    const time = now - seconds * <u64><u32>imgw(H_HZ);
    const ns = <i32>load<u16>(e, 6);
    let hits: u32 = 0;
    for (let i = 0; i < ns; i++) {
      const st = load<u64>(e + 24 + (<usize>i << 3));
      if (seconds != 0 && after(time, st)) continue;
      hits++;
      if (hitcount == 0 || hits >= hitcount) { ret = !ret; break; }
    }
    if (cs & REAP) reap(t, esz, time, e, (cs & UPDATE) != 0 && ret);
  }
  if ((cs & SET) != 0 || ((cs & UPDATE) != 0 && ret)) {
    let idx = <u32>load<u16>(e, 8) & smask;
    store<u64>(e + 24 + (<usize>idx << 3), now);
    idx++;
    store<u16>(e, <u16>idx, 8);
    if (idx > <u32>load<u16>(e, 6)) store<u16>(e, <u16>idx, 6);
    touch(t, e);
    store<u8>(e, <u8>ttl, 4);
  }
  return ret;
}

// @ts-ignore: decorator
@inline function touch(t: usize, e: usize): void {
  const s = load<u64>(t, 8) + 1;
  store<u64>(t, s, 8);
  store<u64>(e, s, 16);
}

function lruHead(t: usize, esz: usize): usize {
  let best: usize = 0;
  let bs: u64 = 0xffffffffffffffff;
  for (let i = 0; i < RECENT_LIST_TOT; i++) {
    const x = t + 16 + <usize>i * esz;
    if (load<u8>(x, 5) != 0 && load<u64>(x, 16) < bs) { bs = load<u64>(x, 16); best = x; }
  }
  return best;
}

function entryInit(t: usize, esz: usize, addr: u32, ttl: u32, now: u64): usize {
  if (load<u32>(t) >= <u32>RECENT_LIST_TOT) {
    const h = lruHead(t, esz);
    store<u8>(h, 0, 5);
    store<u32>(t, load<u32>(t) - 1);
  }
  let e: usize = 0;
  for (let i = 0; i < RECENT_LIST_TOT; i++) {
    const x = t + 16 + <usize>i * esz;
    if (load<u8>(x, 5) == 0) { e = x; break; }
  }
  if (e == 0) { setHotdrop(); return 0; }
  store<u32>(e, addr);
  store<u8>(e, <u8>ttl, 4);
  store<u8>(e, 1, 5);
  store<u16>(e, 1, 6);
  store<u16>(e, 1, 8);
  store<u64>(e + 24, now);
  touch(t, e);
  store<u32>(t, load<u32>(t) + 1);
  return e;
}

/** recent_entry_reap: only the LRU head, if its newest stamp is older than the window. */
function reap(t: usize, esz: usize, time: u64, working: usize, update: bool): void {
  const h = lruHead(t, esz);
  if (h == 0 || (h == working && update)) return;
  const idx = <usize>((<u32>load<u16>(h, 8) - 1) & 0xffff);
  if (after(time, load<u64>(h + 24 + (idx << 3)))) {
    store<u8>(h, 0, 5);
    store<u32>(t, load<u32>(t) - 1);
  }
}
