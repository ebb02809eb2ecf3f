// Walk a chain's decision structure (built by src/compile/tree.ts, format in src/layout.ts) for
// the packet in PKT and return the word offset of its NODE_LEAF: the rules that can still match,
// in order. Child pointers are relative to the block's first word (`base`). No allocation: the
// packet's fields are read once into locals (addresses byte-swapped to host order so that range
// splits compare numerically), then one load per node.
import {
  NODE_LEAF, NODE_ROOT, NODE_HASH, NODE_IFACE, NODE_SPLIT_SADDR, HASH_COL_SADDR, HASH_COL_DADDR, HASH_COL_PORTS, HASH_HDR,
  IFBIT_NONE, P_SADDR, P_DADDR, P_PROTO, P_SPORT, P_DPORT, P_FRAGOFF, P_L4OK, P_IIF, P_OIF,
  NODE_MULTI, NODE_LEAF_HIT, HASH_COL_PROTO, MULTI_MAX,
} from '../src/layout';
import { PKT, imgw } from './state';

/** Interface bit of a P_IIF/P_OIF value (IF_NONE = 255 and indices >= 31 share bit 31). */
// @ts-ignore: decorator
@inline function ifBit(idx: u32): i32 {
  return idx >= <u32>IFBIT_NONE ? IFBIT_NONE : <i32>idx;
}

/** Same mix as hashKey in src/compile/tree.ts (murmur-style multiply, lowbias32 finaliser). */
// @ts-ignore: decorator
@inline function hashKey(a: u32, b: u32, c: u32): u32 {
  let h: u32 = (a * 0x9e3779b1) ^ (b * 0x85ebca77) ^ (c * 0xc2b2ae3d);
  h ^= h >> 16; h *= 0x7feb352d; h ^= h >> 15; h *= 0x846ca68b; h ^= h >> 16;
  return h;
}

/** Protocols whose ports dissect fills (tcp, udp, sctp): the only ones the tree cuts ports for. */
// @ts-ignore: decorator
@inline function portProto(p: u32): bool {
  return p == 6 || p == 17 || p == 132;
}

/** The packet's split fields (saddr, daddr, proto, sport, dport as u32, host order). */
const FIELDS: usize = memory.data(32, 16);

/** The first node of the walk in the block at `base`: the block itself, or for NODE_ROOT the root
 * the packet's fragment state picks. */
// @ts-ignore: decorator
@inline function startNode(base: i32): i32 {
  let n = base;
  const proto = <u32>load<u8>(PKT, P_PROTO);
  if (imgw(n) == NODE_ROOT) {
    // non-first fragments: no ports, L4 rules cannot match (their own root); a first fragment
    // without its tcp/udp/sctp header, or a TCP fragment at offset 1: L4 matches hotdrop whatever
    // the ports say (the every-rule leaf)
    const fragoff = <u32>load<u16>(PKT, P_FRAGOFF);
    if (fragoff != 0) n = base + imgw(base + (fragoff == 1 && proto == 6 ? 3 : 2));
    else if (load<u8>(PKT, P_L4OK) == 0 && portProto(proto)) n = base + imgw(base + 3);
    else n = base + imgw(base + 1);
  }
  return n;
}

/** Word offset of the packet's leaf in the block at word offset `base`. */
export function classify(base: i32): i32 {
  return walkFrom(base, startNode(base));
}

/** The walk from node `n` of the block at `base` to its leaf. */
// @ts-ignore: decorator
@inline function walkFrom(base: i32, n: i32): i32 {
  const proto = <u32>load<u8>(PKT, P_PROTO);
  const sa = bswap<u32>(load<u32>(PKT, P_SADDR));
  const da = bswap<u32>(load<u32>(PKT, P_DADDR));
  const sp = <u32>load<u16>(PKT, P_SPORT);
  const dp = <u32>load<u16>(PKT, P_DPORT);
  // The split fields in NODE_SPLIT_* order, so that a split node reads its field by index and
  // picks its child by index: no switch and no branch on the comparison, whose outcome is a coin
  // toss per level (mispredictions were most of the walk on 17-level ACL trees).
  store<u32>(FIELDS, sa, 0);
  store<u32>(FIELDS, da, 4);
  store<u32>(FIELDS, proto, 8);
  store<u32>(FIELDS, sp, 12);
  store<u32>(FIELDS, dp, 16);
  while (true) {
    const k = imgw(n);
    if (k >= NODE_SPLIT_SADDR) {
      const v = load<u32>(FIELDS + (<usize>(k - NODE_SPLIT_SADDR) << 2));
      n = base + imgw(n + 2 + <i32>(v >= <u32>imgw(n + 1)));
      continue;
    }
    if (k == NODE_LEAF || k == NODE_LEAF_HIT) return n;
    if (k == NODE_HASH) {
      const cols = imgw(n + 1);
      const a: u32 = cols & HASH_COL_SADDR ? sa : 0;
      const b: u32 = cols & HASH_COL_DADDR ? da : 0;
      const pm = <u32>imgw(n + 2);
      let c: u32 = cols & HASH_COL_PORTS ? ((sp << 16) | dp) & pm : 0;
      if (cols & HASH_COL_PROTO) c |= (pm & 0xffff) != 0 ? proto << 16 : proto;
      const size = <u32>imgw(n + 3);
      const ncols = imgw(n + 5);
      const stride = imgw(n + 6);
      let idx = <u32>((<u64>hashKey(a, b, c) * <u64>size) >> 32); // hashSlot in tree.ts
      let next = base + imgw(n + 4);
      while (true) {
        const e = n + HASH_HDR + <i32>idx * stride;
        const child = imgw(e + ncols);
        if (child == 0) break;
        let w = e;
        let ok = true;
        if (cols & HASH_COL_SADDR) { ok = <u32>imgw(w) == a; w++; }
        if (ok && (cols & HASH_COL_DADDR)) { ok = <u32>imgw(w) == b; w++; }
        if (ok && (cols & HASH_COL_PORTS)) { ok = <u32>imgw(w) == c; }
        if (ok) { next = base + child; break; }
        if (++idx == size) idx = 0;
      }
      n = next;
      continue;
    }
    if (k == NODE_IFACE) {
      const dev = imgw(n + 1) == 0 ? <u32>load<u8>(PKT, P_IIF) : <u32>load<u8>(PKT, P_OIF);
      n = base + imgw(n + 2 + ifBit(dev));
      continue;
    }
    unreachable();
  }
  return n;
}

/** A NODE_MULTI block at word offset `base` (partitioned chain, src/compile/tree.ts buildChain):
 * the leaf of each of its K structures, as word offsets, at `out` (K i32); returns K. The rule
 * sets of the structures are disjoint; the chain's candidates are the leaves merged in rule
 * order (assembly/interp.ts). */
export function leavesMulti(base: i32, out: usize): i32 {
  const k = imgw(base + 1);
  for (let i = 0; i < k; i++) {
    const b = base + imgw(base + 2 + i);
    store<i32>(MBASE + (<usize>i << 2), b);
    store<i32>(out + (<usize>i << 2), startNode(b));
  }
  storeFields();
  // The K walks in lockstep through their split nodes (one step of each per round): they are
  // independent chains of loads, so a miss in one structure overlaps the steps of the others
  // (ClassBench ACL 100,000: the 1,265-rule 'src' structure cost ~50 ns walked after the
  // 98,734-rule 'dst' one). Other nodes (hash, interface) finish that walk on its own.
  let live = k;
  while (live > 0) {
    live = 0;
    for (let i = 0; i < k; i++) {
      const o = out + (<usize>i << 2);
      const n = load<i32>(o);
      const kind = imgw(n);
      if (kind >= NODE_SPLIT_SADDR) {
        const v = load<u32>(FIELDS + (<usize>(kind - NODE_SPLIT_SADDR) << 2));
        store<i32>(o, load<i32>(MBASE + (<usize>i << 2)) + imgw(n + 2 + <i32>(v >= <u32>imgw(n + 1))));
        live++;
      } else if (kind != NODE_LEAF && kind != NODE_LEAF_HIT) {
        store<i32>(o, walkFrom(load<i32>(MBASE + (<usize>i << 2)), n));
      }
    }
  }
  return k;
}

/** The block base of each structure of the NODE_MULTI block being walked. */
const MBASE: usize = memory.data(MULTI_MAX * 4, 16);

/** FIELDS for the packet in PKT (as walkFrom stores them). */
// @ts-ignore: decorator
@inline function storeFields(): void {
  store<u32>(FIELDS, bswap<u32>(load<u32>(PKT, P_SADDR)), 0);
  store<u32>(FIELDS, bswap<u32>(load<u32>(PKT, P_DADDR)), 4);
  store<u32>(FIELDS, <u32>load<u8>(PKT, P_PROTO), 8);
  store<u32>(FIELDS, <u32>load<u16>(PKT, P_SPORT), 12);
  store<u32>(FIELDS, <u32>load<u16>(PKT, P_DPORT), 16);
}

/** Is the block at word offset `base` a partitioned one? */
// @ts-ignore: decorator
@inline export function isMulti(base: i32): bool {
  return imgw(base) == NODE_MULTI;
}
