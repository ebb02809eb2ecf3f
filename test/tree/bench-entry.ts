// AssemblyScript entry for bench/classify.mjs: classify + a first-match scan of the leaf over a
// compact key table (the same checks as keyMatches in src/compile/tree.ts), for a batch of
// packets, so trees and --linear are timed on the same work inside wasm.
export { reserve } from '../../assembly/mem';
import { classify, leavesMulti, isMulti } from '../../assembly/classify';
import { PKT, setImage, imgw } from '../../assembly/state';
import { P_SADDR, P_DADDR, P_PROTO, P_SPORT, P_DPORT, P_FRAGOFF, P_L4OK, P_IIF, P_OIF, MULTI_MAX, NODE_LEAF_HIT } from '../../src/layout';

let IMGA: usize = 0;
export function useImage(addr: usize): void { setImage(addr); IMGA = addr; }
const MLEAF: usize = memory.data(MULTI_MAX * 4, 16);
const MHEAD: usize = memory.data(MULTI_MAX * 4, 16);
const MCUR: usize = memory.data(MULTI_MAX * 4, 16);
const MEND: usize = memory.data(MULTI_MAX * 4, 16);

// key table: KW words per rule
const KW = 12;
const KF_SRC_INV: u32 = 1, KF_DST_INV: u32 = 2, KF_PROTO_INV: u32 = 4, KF_SPORT_INV: u32 = 8,
  KF_DPORT_INV: u32 = 16, KF_L4: u32 = 32, KF_FRAG: u32 = 64, KF_NOT_FRAG: u32 = 128;

// @ts-ignore: decorator
@inline function inR(v: u32, lo: u32, hi: u32): bool { return v >= lo && v <= hi; }

/** Packets: 20-byte records [saddr wire u32, daddr wire u32, proto u8, l4ok u8, iif u8, oif u8,
 * sport u16, dport u16, fragoff u16, pad]. Returns a checksum of the first matches. */
export function benchRun(pkts: usize, count: i32, base: i32, keys: usize): u32 {
  let sum: u32 = 0;
  for (let i = 0; i < count; i++) {
    const p = pkts + <usize>i * 20;
    store<u32>(PKT, load<u32>(p), P_SADDR);
    store<u32>(PKT, load<u32>(p, 4), P_DADDR);
    store<u8>(PKT, load<u8>(p, 8), P_PROTO);
    store<u8>(PKT, load<u8>(p, 9), P_L4OK);
    store<u8>(PKT, load<u8>(p, 10), P_IIF);
    store<u8>(PKT, load<u8>(p, 11), P_OIF);
    store<u16>(PKT, load<u16>(p, 12), P_SPORT);
    store<u16>(PKT, load<u16>(p, 14), P_DPORT);
    store<u16>(PKT, load<u16>(p, 16), P_FRAGOFF);
    const sa = bswap<u32>(load<u32>(p)), da = bswap<u32>(load<u32>(p, 4));
    const proto = <u32>load<u8>(p, 8), l4ok = load<u8>(p, 9) != 0;
    const iif = <u32>load<u8>(p, 10), oif = <u32>load<u8>(p, 11);
    const ib: u32 = <u32>1 << (iif >= 31 ? 31 : iif), ob: u32 = <u32>1 << (oif >= 31 ? 31 : oif);
    const sp = <u32>load<u16>(p, 12), dp = <u32>load<u16>(p, 14), frag = load<u16>(p, 16) != 0;
    let first = -1;
    if (!isMulti(base)) {
      // (the old loop's shape, its checks written out: ~6 ns less per packet than keyMatch here)
      const leaf = classify(base);
      const n = imgw(leaf + 1);
      if (imgw(leaf) == NODE_LEAF_HIT) first = imgw(leaf + 2); // decided by the structure
      else for (let j = 0; j < n; j++) {
        const r = imgw(leaf + 2 + j);
        const k = keys + <usize>(r * KW << 2);
        const f = load<u32>(k, 20);
        if ((f & KF_FRAG) && !frag) continue;
        if ((f & KF_NOT_FRAG) && frag) continue;
        if (inR(sa, load<u32>(k), load<u32>(k, 4)) == ((f & KF_SRC_INV) != 0)) continue;
        if (inR(da, load<u32>(k, 8), load<u32>(k, 12)) == ((f & KF_DST_INV) != 0)) continue;
        const kp = load<i32>(k, 16);
        if (kp >= 0 && ((<u32>kp == proto) == ((f & KF_PROTO_INV) != 0))) continue;
        if ((load<u32>(k, 40) & ib) == 0 || (load<u32>(k, 44) & ob) == 0) continue;
        if (f & KF_L4) {
          if (frag) continue;
          if (l4ok) {
            if (inR(sp, load<u32>(k, 24), load<u32>(k, 28)) == ((f & KF_SPORT_INV) != 0)) continue;
            if (inR(dp, load<u32>(k, 32), load<u32>(k, 36)) == ((f & KF_DPORT_INV) != 0)) continue;
          }
        }
        first = r;
        break;
      }
    } else {
      // the K leaves merged in rule order, as assembly/interp.ts walks them
      const k = leavesMulti(base, MLEAF);
      for (let i = 0; i < k; i++) {
        const l = load<i32>(MLEAF + (<usize>i << 2));
        const c = IMGA + (<usize>(l + 2) << 2);
        store<usize>(MCUR + (<usize>i << 2), c);
        store<usize>(MEND + (<usize>i << 2), c + (<usize>imgw(l + 1) << 2));
        store<i32>(MHEAD + (<usize>i << 2), imgw(l + 1) ? load<i32>(c) : i32.MAX_VALUE);
      }
      while (true) {
        let best = i32.MAX_VALUE, bi = 0;
        for (let i = 0; i < k; i++) { const v = load<i32>(MHEAD + (<usize>i << 2)); if (v < best) { best = v; bi = i; } }
        if (best == i32.MAX_VALUE) break;
        const o = <usize>bi << 2;
        const c = load<usize>(MCUR + o) + 4;
        store<usize>(MCUR + o, c);
        store<i32>(MHEAD + o, c < load<usize>(MEND + o) ? load<i32>(c) : i32.MAX_VALUE);
        const kk = keys + <usize>(best * KW << 2);
        const f = load<u32>(kk, 20);
        if ((f & KF_FRAG) && !frag) continue;
        if ((f & KF_NOT_FRAG) && frag) continue;
        if (inR(sa, load<u32>(kk), load<u32>(kk, 4)) == ((f & KF_SRC_INV) != 0)) continue;
        if (inR(da, load<u32>(kk, 8), load<u32>(kk, 12)) == ((f & KF_DST_INV) != 0)) continue;
        const kp = load<i32>(kk, 16);
        if (kp >= 0 && ((<u32>kp == proto) == ((f & KF_PROTO_INV) != 0))) continue;
        if ((load<u32>(kk, 40) & ib) == 0 || (load<u32>(kk, 44) & ob) == 0) continue;
        if (f & KF_L4) {
          if (frag) continue;
          if (l4ok) {
            if (inR(sp, load<u32>(kk, 24), load<u32>(kk, 28)) == ((f & KF_SPORT_INV) != 0)) continue;
            if (inR(dp, load<u32>(kk, 32), load<u32>(kk, 36)) == ((f & KF_DPORT_INV) != 0)) continue;
          }
        }
        first = best;
        break;
      }
    }
    sum += <u32>(first + 1);
  }
  return sum;
}

/** classify alone (no leaf scan) over the same packet records; returns a checksum of the leaves. */
export function benchClassify(pkts: usize, count: i32, base: i32): u32 {
  let sum: u32 = 0;
  for (let i = 0; i < count; i++) {
    const p = pkts + <usize>i * 20;
    store<u32>(PKT, load<u32>(p), P_SADDR);
    store<u32>(PKT, load<u32>(p, 4), P_DADDR);
    store<u8>(PKT, load<u8>(p, 8), P_PROTO);
    store<u8>(PKT, load<u8>(p, 9), P_L4OK);
    store<u8>(PKT, load<u8>(p, 10), P_IIF);
    store<u8>(PKT, load<u8>(p, 11), P_OIF);
    store<u16>(PKT, load<u16>(p, 12), P_SPORT);
    store<u16>(PKT, load<u16>(p, 14), P_DPORT);
    store<u16>(PKT, load<u16>(p, 16), P_FRAGOFF);
    if (!isMulti(base)) sum += <u32>classify(base);
    else { const k = leavesMulti(base, MLEAF); for (let i = 0; i < k; i++) sum += load<u32>(MLEAF + (<usize>i << 2)); }
  }
  return sum;
}
