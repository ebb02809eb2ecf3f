// ipt_do_table over the image (netfilter-semantics.md §2, net/ipv4/netfilter/ip_tables.c).
// A chain is entered through its decision structure (CH_TREE), which yields a leaf: the ordered
// candidate rules (partitioned chains: K leaves merged in rule order). The walk keeps (chain, leaf,
// position); -j pushes that triple, -g does not, RETURN (explicit, or falling off a user chain)
// pops it and resumes after the calling rule; with an empty stack it goes to the hook's builtin
// chain policy (the underflow entry), whose counter ticks.
// Counters tick after the base match and all matches matched, before the target runs.
import {
  H_CHAINS, H_RULES, H_HOOKS, NUM_TABLES, CH_SIZE, CH_POLICY, CH_POLICY_COUNTER, CH_TREE, CH_NRULES, NODE_LEAF,
  NODE_MULTI, MULTI_MAX, NODE_LEAF_HIT,
  R_SIZE, R_FLAGS, R_SRC, R_SMSK, R_DST, R_DMSK, R_PROTO, R_IIF, R_OIF, R_TARGET, R_TARGET_ARG,
  R_TPARAMS, R_NMATCH, R_MATCHES, R_COUNTER, RF_SRC, RF_SRC_INV, RF_DST, RF_DST_INV, RF_PROTO,
  RF_PROTO_INV, RF_FRAG, RF_FRAG_INV, RF_IIF, RF_IIF_INV, RF_OIF, RF_OIF_INV, RF_IIF_EXT, RF_OIF_EXT,
  T_NONE, T_ACCEPT, T_DROP, T_RETURN, T_JUMP, T_GOTO, T_MODULE,
  P_SADDR, P_DADDR, P_PROTO, P_FRAGOFF, P_IIF, P_OIF, P_IPLEN, IF_NONE,
  V_ACCEPT, V_DROP, V_CONTINUE, V_REJECT,
  P_CT, P_CTDIR, P_CTINFO, P_LOCALGEN, P_MARK, P_L4OK, CTINFO_ESTABLISHED, CTINFO_ESTABLISHED_REPLY,
} from '../src/layout';
import { CT_SEQ, CT_STATUS, CT_MARK } from '../src/layout-ct';
import { PKT, IMG, imgw } from './state';
import { count } from './counters';
import { classify, leavesMulti } from './classify';
import { matchOne, targetOne, clearHotdrop, hotdrop } from './modules/index';
import { entryAddr } from './conntrack';
import {
  wcActive, wcHit, ruleFirstBadMatch, ruleTargetOk, ruleFirstHdrMatch, failsAt, globalSlotOf, WC_FAIL_SKIP, slotOf, WC_MAXC, WS_CT, WS_SEQ, WS_KEY, WS_STATUS, WS_CTMARK, WS_MARK, WS_DEV,
  WS_MARK_OUT, WS_N, WS_CNT,
} from './walkcache';

/** Maximum jump depth. The kernel sizes its stack by the number of user chains and rejects loops
 * at load time; we keep a fixed stack and DROP on overflow (the kernel's behaviour when full). */
const STACK_MAX: i32 = 1024;
const STACK: usize = memory.data(STACK_MAX * 12, 16);

/** Why the last runTable returned V_DROP/V_REJECT: rule index (>= 0) or -1 - chain id (policy). */
export let dropBy: i32 = 0;

/** Cursors of the current chain's leaves when its block is partitioned (NODE_MULTI, see
 * src/compile/tree.ts buildChain): per structure the rule index at the head of its leaf
 * (i32.MAX_VALUE once exhausted), the byte address of that entry and the end of the leaf. The
 * candidates are taken smallest index first, i.e. the leaves merged in rule order. Only the
 * current chain has cursors: a stack frame of a partitioned chain keeps the calling rule's index,
 * and the return classifies the chain again (the fields the structures test, addresses, protocol,
 * ports and devices, do not change during a table walk) and skips to the rules after it. */
const MLEAF: usize = memory.data(MULTI_MAX * 4, 16);
const MHEAD: usize = memory.data(MULTI_MAX * 4, 16);
const MCUR: usize = memory.data(MULTI_MAX * 4, 16);
const MEND: usize = memory.data(MULTI_MAX * 4, 16);

/** Set the cursors for the NODE_MULTI block `node`, after rule index `after` (-1: at the start);
 * returns K. */
function enterMulti(node: i32, after: i32): i32 {
  const k = leavesMulti(node, MLEAF);
  for (let i = 0; i < k; i++) {
    const o = <usize>i << 2;
    const la = IMG + (<usize>load<i32>(MLEAF + o) << 2);
    let c = la + 8;
    const e = c + (<usize>load<i32>(la, 4) << 2);
    while (c < e && load<i32>(c) <= after) c += 4;
    store<usize>(MCUR + o, c);
    store<usize>(MEND + o, e);
    store<i32>(MHEAD + o, c < e ? load<i32>(c) : i32.MAX_VALUE);
  }
  return k;
}

/** The next candidate of a partitioned chain (the smallest head), or -1 at the end. */
// @ts-ignore: decorator
@inline function nextMulti(k: i32): i32 {
  let best = i32.MAX_VALUE;
  let bi = 0;
  for (let i = 0; i < k; i++) {
    const v = load<i32>(MHEAD + (<usize>i << 2));
    if (v < best) { best = v; bi = i; }
  }
  if (best == i32.MAX_VALUE) return -1;
  const o = <usize>bi << 2;
  const c = load<usize>(MCUR + o) + 4;
  store<usize>(MCUR + o, c);
  store<i32>(MHEAD + o, c < load<usize>(MEND + o) ? load<i32>(c) : i32.MAX_VALUE);
  return best;
}

// @ts-ignore: decorator
@inline function ifBit(idx: u32): u32 {
  // IF_NONE ("no device") and indices >= 31 share bit 31 (IFBIT_NONE), as the compiler's masks
  return idx >= 31 ? (<u32>1 << 31) : (<u32>1 << idx);
}

/** Bit `dev` (IF_NONE = 255 = no device) of the 256-bit interface map at image word `at`. */
// @ts-ignore: decorator
@inline function map256(at: i32, dev: u32): bool {
  return ((<u32>imgw(at + <i32>(dev >> 5)) >> (dev & 31)) & 1) != 0;
}

/** ip_packet_match: -s/-d/-p/-f/-i/-o. `ra` = byte address of the rule's words (constant offsets). */
// @ts-ignore: decorator
@inline function baseMatch(ra: usize): bool {
  const f = load<i32>(ra, R_FLAGS << 2);
  if (f == 0) return true;
  if (f & RF_SRC) {
    if (((load<u32>(PKT, P_SADDR) & load<u32>(ra, R_SMSK << 2)) != load<u32>(ra, R_SRC << 2)) != ((f & RF_SRC_INV) != 0)) return false;
  }
  if (f & RF_DST) {
    if (((load<u32>(PKT, P_DADDR) & load<u32>(ra, R_DMSK << 2)) != load<u32>(ra, R_DST << 2)) != ((f & RF_DST_INV) != 0)) return false;
  }
  if (f & RF_IIF) {
    const dev = <u32>load<u8>(PKT, P_IIF);
    const w = load<i32>(ra, R_IIF << 2);
    const hit = (f & RF_IIF_EXT) != 0 ? map256(w, dev) : ((<u32>w) & ifBit(dev)) != 0;
    if (hit == ((f & RF_IIF_INV) != 0)) return false;
  }
  if (f & RF_OIF) {
    const dev = <u32>load<u8>(PKT, P_OIF);
    const w = load<i32>(ra, R_OIF << 2);
    const hit = (f & RF_OIF_EXT) != 0 ? map256(w, dev) : ((<u32>w) & ifBit(dev)) != 0;
    if (hit == ((f & RF_OIF_INV) != 0)) return false;
  }
  if (f & RF_PROTO) {
    if ((<i32>load<u8>(PKT, P_PROTO) != load<i32>(ra, R_PROTO << 2)) != ((f & RF_PROTO_INV) != 0)) return false;
  }
  if (f & RF_FRAG) {
    // NF_INVF(IPT_INV_FRAG, (flags & IPT_F_FRAG) && !isfrag)
    const notFrag = load<u16>(PKT, P_FRAGOFF) == 0;
    if (notFrag != ((f & RF_FRAG_INV) != 0)) return false;
  }
  return true;
}

// The walk cache's recording (walkcache.ts): the counters ticked so far, whether every match
// evaluated and target run was flow-invariant, and whether the walk read no header field (nor
// of the ct more than a global slot keys on).
const REC: usize = memory.data(WC_MAXC * 4, 16);
let recN: u32 = 0;
let recOk = true;
let recGlobal = true;

/** count(), and in a recording walk (R = u16) the counter's index recorded. */
// @ts-ignore: decorator
@inline function tick<R>(idx: i32, bytes: u32): void {
  count(idx, bytes);
  if (sizeof<R>() == 2) {
    if (recN < WC_MAXC) store<i32>(REC + (<usize>recN << 2), idx);
    recN++;
  }
}

/** Walk the table's builtin chain for `hook` (chain id `entry`). Returns V_ACCEPT, V_DROP or
 * V_REJECT (a drop with a reply); dropBy says which rule or policy. */
export function runChain(entry: i32): i32 {
  return walk<u8>(entry);
}

/** runChain's walk; R = u16: the walk cache's recording walk (tick() records counters, and a rule
 * that is not flow-invariant clears recOk once its base match passed), R = u8: a plain walk.
 * Image words are read through byte addresses hoisted into locals (image base, rule table, the
 * current leaf) so that every field is a load with a constant offset. */
function walk<R>(entry: i32): i32 {
  const img = IMG;
  const chainsA = img + (<usize>imgw(H_CHAINS) << 2);
  const rulesA = img + (<usize>imgw(H_RULES) << 2);
  const bytes = load<u32>(PKT, P_IPLEN);
  let chain = entry;
  // The chain's candidates: one leaf (`leaf`, `pos` = next entry) when its block is a lone leaf or
  // a tree; when it is partitioned, `multi` = K and the cursors above.
  let leaf = 0;
  let leafA: usize = 0;
  let nLeaf = 0;
  let pos = 0;
  let multi = 0;
  // the leaf is a NODE_LEAF_HIT: its first rule matches (no base match, no matches to run)
  let hit = false;
  // enter `chain`: find its leaves, positioned after rule index `after`
  let enter = true;
  let after = -1;
  let sp = 0;
  clearHotdrop();
  while (true) {
    if (enter) {
      enter = false;
      const node = load<i32>(chainsA + <usize>chain * (CH_SIZE << 2), CH_TREE << 2);
      const kind = imgw(node);
      if (sizeof<R>() == 2) { if (kind != NODE_LEAF) recGlobal = false; } // a tree reads header fields
      if (kind == NODE_MULTI) {
        multi = enterMulti(node, after);
      } else {
        multi = 0;
        leaf = kind == NODE_LEAF ? node : classify(node);
        leafA = img + (<usize>leaf << 2);
        nLeaf = load<i32>(leafA, 4);
        hit = load<i32>(leafA) == NODE_LEAF_HIT;
        pos = 0;
      }
    }
    let r = -1;
    let decided = false;
    if (multi == 0) {
      if (pos < nLeaf) { r = load<i32>(leafA + (<usize>pos << 2), 8); decided = hit && pos == 0; pos++; }
    } else {
      r = nextMulti(multi);
    }
    if (r < 0) {
      // End of the chain: builtin -> policy; user -> implicit RETURN (its counter ticks).
      const cba = chainsA + <usize>chain * (CH_SIZE << 2);
      tick<R>(load<i32>(cba, CH_POLICY_COUNTER << 2), bytes);
      const pol = load<i32>(cba, CH_POLICY << 2);
      if (pol >= 0) {
        if (pol == V_DROP) dropBy = -1 - chain;
        return pol;
      }
      if (sp == 0) return underflow<R>(entry, bytes);
      sp--;
      const s = STACK + <usize>sp * 12;
      chain = load<i32>(s); leaf = load<i32>(s, 4);
      if (leaf < 0) { after = load<i32>(s, 8); enter = true; continue; }
      multi = 0; pos = load<i32>(s, 8);
      leafA = img + (<usize>leaf << 2);
      nLeaf = load<i32>(leafA, 4);
      hit = false; // pos > 0: the decided first rule is behind
      continue;
    }
    const ra = rulesA + <usize>r * (R_SIZE << 2);
    if (sizeof<R>() == 2) { if (!decided && load<i32>(ra, R_FLAGS << 2) != 0) recGlobal = false; }
    if (!decided && !baseMatch(ra)) continue;
    const nm = decided ? 0 : load<i32>(ra, R_NMATCH << 2);
    if (nm != 0) {
      let m = load<i32>(ra, R_MATCHES << 2);
      let ok = true;
      let i = 0;
      for (; i < nm; i++) {
        const ma = img + (<usize>m << 2);
        const n = load<i32>(ma, 4);
        if (!matchOne(load<i32>(ma), m + 2, n, r)) { ok = false; break; }
        m += 2 + n;
      }
      // recording: matches 0..i were evaluated (all nm when they matched)
      if (sizeof<R>() == 2) {
        const last = ok ? nm - 1 : i;
        if (ruleFirstBadMatch(r) <= last) recOk = false;
        if (ruleFirstHdrMatch(r) <= last) recGlobal = false;
      }
      if (!ok) {
        if (hotdrop) { dropBy = r; return V_DROP; }
        continue;
      }
    }
    tick<R>(load<i32>(ra, R_COUNTER << 2), bytes);
    if (sizeof<R>() == 2) { if (!ruleTargetOk(r)) recOk = false; }
    const t = load<i32>(ra, R_TARGET << 2);
    if (t == T_NONE) continue;
    if (t == T_ACCEPT) return V_ACCEPT;
    if (t == T_DROP) { dropBy = r; return V_DROP; }
    if (t == T_JUMP || t == T_GOTO) {
      const to = load<i32>(ra, R_TARGET_ARG << 2);
      if (t == T_JUMP) {
        if (sp >= STACK_MAX) { dropBy = r; return V_DROP; }
        const ta = chainsA + <usize>to * (CH_SIZE << 2);
        if (load<i32>(ta, CH_NRULES << 2) == 0) {
          // an empty user chain (kube-proxy has several): its end, an implicit RETURN, is counted
          // and the walk goes on after the jump, as the push, enter and pop would
          tick<R>(load<i32>(ta, CH_POLICY_COUNTER << 2), bytes);
          continue;
        }
        // resume point: the next leaf position, or for a partitioned chain the rule's index
        const s = STACK + <usize>sp * 12;
        store<i32>(s, chain); store<i32>(s, multi ? -1 : leaf, 4); store<i32>(s, multi ? r : pos, 8);
        sp++;
      }
      chain = to;
      after = -1; enter = true;
      continue;
    }
    if (t == T_RETURN) {
      if (sp == 0) return underflow<R>(entry, bytes);
      sp--;
      const s = STACK + <usize>sp * 12;
      chain = load<i32>(s); leaf = load<i32>(s, 4);
      if (leaf < 0) { after = load<i32>(s, 8); enter = true; continue; }
      multi = 0; pos = load<i32>(s, 8);
      leafA = img + (<usize>leaf << 2);
      nLeaf = load<i32>(leafA, 4);
      hit = false; // pos > 0: the decided first rule is behind
      continue;
    }
    // T_MODULE: params block [modId, nWords, params...]
    const tp = load<i32>(ra, R_TPARAMS << 2);
    const ta = img + (<usize>tp << 2);
    const v = targetOne(load<i32>(ta), tp + 2, load<i32>(ta, 4), r);
    if (v == V_CONTINUE) continue;
    if (v == V_DROP || v == V_REJECT) dropBy = r;
    return v;
  }
  return V_ACCEPT;
}

/** RETURN with an empty stack: the builtin chain's underflow (policy) entry, counted. */
function underflow<R>(entry: i32, bytes: u32): i32 {
  const cb = imgw(H_CHAINS) + entry * CH_SIZE;
  tick<R>(imgw(cb + CH_POLICY_COUNTER), bytes);
  const pol = imgw(cb + CH_POLICY);
  if (pol == V_DROP) dropBy = -1 - entry;
  return pol;
}

/** Run table `table` at hook `hook`: V_ACCEPT when the table has no chain there. */
// @ts-ignore: decorator
@inline export function runTable(hook: i32, table: i32): i32 {
  const c = imgw(imgw(H_HOOKS) + hook * NUM_TABLES + table);
  if (c < 0) return V_ACCEPT;
  if (wcActive) return runCached(c);
  return walk<u8>(c);
}

/** Replay slot `s`: its counters (+1 packet, + this packet's bytes), its skb mark; ACCEPT. */
function replay(s: usize): i32 {
  const bytes = load<u32>(PKT, P_IPLEN);
  const n = load<u32>(s, WS_N);
  for (let k: u32 = 0; k < n; k++) count(load<i32>(s + (<usize>k << 2), WS_CNT), bytes);
  store<u32>(PKT, load<u32>(s, WS_MARK_OUT), P_MARK);
  wcHit();
  return V_ACCEPT;
}

/** Slot `s` takes the recorded walk's effects: counters and the skb mark it left. */
function fillEffects(s: usize): void {
  for (let k: u32 = 0; k < recN; k++) store<i32>(s + (<usize>k << 2), load<i32>(REC + (<usize>k << 2)), WS_CNT);
  store<u32>(s, recN, WS_N);
  store<u32>(s, load<u32>(PKT, P_MARK), WS_MARK_OUT);
}

/** runChain through the walk cache (walkcache.ts). A global slot with the packet's snapshot
 * (chain, ctinfo, direction, ct or none, ct status, ct mark, skb mark) or, for an ESTABLISHED
 * packet, its (ct, direction, chain) slot with the same snapshot (+ seq, devices, hook, L4OK):
 * the walk's counters and skb mark are replayed and the packet accepted. Otherwise the chain is
 * walked, recording, and an ACCEPT of flow-invariant rules is kept: in a global slot when the walk
 * read nothing else, else (ESTABLISHED) in the ct's. Packets the host emits walk as usual. */
function runCached(entry: i32): i32 {
  if (load<u8>(PKT, P_LOCALGEN) != 0) return walk<u8>(entry);
  const fa = failsAt(entry);
  const f = load<u32>(fa);
  if (f >= WC_FAIL_SKIP) {
    store<u32>(fa, f + 1);
    if ((f & 63) != 0) return walk<u8>(entry);
  }
  const ct = load<u32>(PKT, P_CT);
  const dev = load<u32>(PKT, P_IIF); // iif, oif, hook, ctinfo (P_IIF + 0..3)
  const ci = dev >> 24;
  const dir = <u32>load<u8>(PKT, P_CTDIR);
  let st: u32 = 0;
  let cm: u32 = 0;
  let e: usize = 0;
  if (ct != 0) {
    e = entryAddr(ct);
    st = load<u32>(e, CT_STATUS);
    cm = load<u32>(e, CT_MARK);
  }
  const mark = load<u32>(PKT, P_MARK);
  const gk = (<u32>entry << 8) | (ci << 2) | (dir << 1) | (ct != 0 ? 1 : 0);
  const g = globalSlotOf(gk, st, cm, mark);
  if (load<u32>(g, WS_CT) != 0 && load<u32>(g, WS_KEY) == gk && load<u32>(g, WS_STATUS) == st &&
    load<u32>(g, WS_CTMARK) == cm && load<u32>(g, WS_MARK) == mark) {
    if (f != 0) store<u32>(fa, 0);
    return replay(g);
  }
  const est = ct != 0 && (ci == <u32>CTINFO_ESTABLISHED || ci == <u32>CTINFO_ESTABLISHED_REPLY);
  let s: usize = 0;
  let key: u32 = 0;
  let seq: u32 = 0;
  if (est) {
    s = slotOf(ct, dir, entry);
    key = (<u32>entry << 2) | (dir << 1) | <u32>load<u8>(PKT, P_L4OK);
    seq = load<u32>(e, CT_SEQ);
    if (load<u32>(s, WS_CT) == ct && load<u32>(s, WS_SEQ) == seq && load<u32>(s, WS_KEY) == key &&
      load<u32>(s, WS_STATUS) == st && load<u32>(s, WS_CTMARK) == cm && load<u32>(s, WS_MARK) == mark &&
      load<u32>(s, WS_DEV) == dev) {
      if (f != 0) store<u32>(fa, 0);
      return replay(s);
    }
  }
  recN = 0; recOk = true; recGlobal = true;
  const v = walk<u16>(entry);
  if (v == V_ACCEPT && recOk && recN <= WC_MAXC && (recGlobal || est)) {
    if (f != 0) store<u32>(fa, 0);
    if (recGlobal) {
      fillEffects(g);
      store<u32>(g, gk, WS_KEY);
      store<u32>(g, st, WS_STATUS);
      store<u32>(g, cm, WS_CTMARK);
      store<u32>(g, mark, WS_MARK);
      store<u32>(g, 1, WS_CT);
    } else {
      fillEffects(s);
      store<u32>(s, seq, WS_SEQ);
      store<u32>(s, key, WS_KEY);
      store<u32>(s, st, WS_STATUS);
      store<u32>(s, cm, WS_CTMARK);
      store<u32>(s, mark, WS_MARK);
      store<u32>(s, dev, WS_DEV);
      store<u32>(s, ct, WS_CT);
    }
  } else {
    store<u32>(fa, f + 1);
  }
  return v;
}
