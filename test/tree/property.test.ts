// Property tests of the decision structures: for random ClassBench-style rule sets and packets
// biased to rule boundaries, the leaf the structure picks holds every rule that can match (checked
// with the plain reference checker keyMatches), in rule order — so the first match through the
// structure is the first match of a linear scan. A leaf may end at a final rule (RuleKey.final)
// covering its region, so "every" means every rule up to the first final one that matches.
// Seeds are printed on failure.
import { describe, it, expect } from 'vitest';
import { buildTree, buildChain, classifyJs, candidatesJs, leavesJs, keyMatches, linearTree, hashSlot, type RuleKey, type KeyPacket, type TreeOpts } from '../../src/compile/tree.js';
import { genRules, genKube, genPackets, genTuples, rng, type SetKind } from '../../src/compile/tree-gen.js';
import { NODE_LEAF, NODE_MULTI, NODE_LEAF_HIT } from '../../src/layout.js';

/** Check every packet; returns a failure description or null. Rule indices are offset by 100
 * (as the image's rule table would be) to catch confusions of position and index. */
/** Packets that reached a NODE_LEAF_HIT in check() (the tests below make sure some did). */
let hits = 0;
function check(keys: RuleKey[], pkts: KeyPacket[], opts: TreeOpts, chain = false): string | null {
  const idx = keys.map((_, i) => 100 + i);
  const { words } = chain ? buildChain(keys, idx, opts) : buildTree(keys, idx, opts);
  for (let p = 0; p < pkts.length; p++) {
    const pk = pkts[p];
    // the leaves (one, or one per structure of a partitioned chain), each in rule order, their
    // rule sets disjoint; the candidates are their union in rule order (the core merges them)
    const leaves = chain ? leavesJs(words, 0, pk) : [classifyJs(words, 0, pk)];
    const cand = new Set<number>();
    for (const leaf of leaves) {
      if (words[leaf] !== NODE_LEAF && words[leaf] !== NODE_LEAF_HIT) return `packet ${p}: not a leaf`;
      // a decided leaf: its first rule must match this packet for real (the core skips its checks)
      if (words[leaf] === NODE_LEAF_HIT) {
        const first = words[leaf + 2] - 100;
        if (keyMatches(keys[first], pk) !== true) return `packet ${p} ${JSON.stringify(pk)}: NODE_LEAF_HIT but rule ${first} ${JSON.stringify(keys[first])} does not match`;
        hits++;
      }
      let prev = -1;
      for (let j = 0; j < words[leaf + 1]; j++) {
        const ri = words[leaf + 2 + j];
        if (ri <= prev) return `packet ${p}: leaf not in rule order`;
        if (cand.has(ri - 100)) return `packet ${p}: rule ${ri - 100} in two leaves`;
        prev = ri;
        cand.add(ri - 100);
      }
    }
    const order = chain ? candidatesJs(words, 0, pk) : [...cand].map((i) => i + 100);
    // every rule that matches must be there, up to the first final rule that matches (the walk
    // of the chain ends there: a leaf may stop at a final rule covering its region)
    let firstLinear = -1, firstTree = -1;
    for (let i = 0; i < keys.length; i++) {
      const mk = keyMatches(keys[i], pk);
      const m = mk !== false;
      if (m && !cand.has(i)) return `packet ${p} ${JSON.stringify(pk)}: rule ${i} ${JSON.stringify(keys[i])} matches but is not in its leaf`;
      if (m && firstLinear < 0) firstLinear = i;
      if (mk === true && keys[i].final) break;
    }
    for (let j = 0; j < order.length && firstTree < 0; j++) { const i = order[j] - 100; if (keyMatches(keys[i], pk) !== false) firstTree = i; }
    if (firstTree !== firstLinear) return `packet ${p}: first match ${firstTree} != linear ${firstLinear}`;
  }
  return null;
}

function run(label: string, keys: RuleKey[], pkts: KeyPacket[], opts: TreeOpts = {}, chain = false): void {
  const err = check(keys, pkts, opts, chain);
  if (err) throw new Error(`${label}: ${err}`);
}

describe('decision structure = linear scan (random ClassBench-style sets)', () => {
  const base = Number(process.env.TREE_SEED ?? 20261125);
  const kinds: SetKind[] = ['acl', 'fw', 'ipc'];
  it('small and medium sets, many packets each', () => {
    let cases = 0;
    for (let s = 0; s < 60; s++) {
      const seed = base + s;
      const kind = kinds[s % 3];
      const n = [10, 30, 100, 300, 1000][s % 5];
      const keys = genRules(kind, n, seed, { negate: 0.05, frag: 0.03 });
      const pkts = genPackets(keys, 400, seed);
      run(`seed ${seed} (${kind}, ${n} rules; rerun with TREE_SEED=${base})`, keys, pkts, { binth: [1, 4, 8, 16][s % 4] });
      cases += pkts.length;
    }
    expect(cases).toBe(24000);
  });

  it('bounds: tiny replication budget, zero deadline, depth 2, no hash', () => {
    for (let s = 0; s < 12; s++) {
      const seed = base + 1000 + s;
      const keys = genRules(kinds[s % 3], 500, seed);
      const pkts = genPackets(keys, 300, seed);
      const opts: TreeOpts[] = [{ maxReplication: 1 }, { maxBuildMs: 0 }, { maxDepth: 2 }, { hash: false }];
      run(`seed ${seed} opts ${JSON.stringify(opts[s % 4])}`, keys, pkts, opts[s % 4]);
    }
  });

  it('kube-proxy KUBE-SERVICES shape: one hash probe, leaf = the service rule + NODEPORTS', () => {
    const { keys, vips } = genKube(2000, base);
    const { words, stats } = buildTree(keys, keys.map((_, i) => i));
    expect(stats.hashNodes).toBeGreaterThan(0);
    const pkts: KeyPacket[] = vips.slice(0, 500).map((v) => ({ saddr: 0x0a000001, daddr: v.vip, proto: v.proto, sport: 40000, dport: v.port, iif: 0, oif: 255, fragoff: 0, l4ok: true }));
    for (let i = 0; i < pkts.length; i++) {
      const leaf = classifyJs(words, 0, pkts[i]);
      // by the shape: the rule with this VIP, port and protocol (the protocol is in the key with
      // the port: HASH_COL_PROTO), then the last (wildcard) rule; the first is decided by the
      // probe (NODE_LEAF_HIT: genKube's service rules are exact, -d VIP/32 -p P --dport N)
      const want = vips.flatMap((w, j) => (w.vip === vips[i].vip && w.port === vips[i].port && w.proto === vips[i].proto ? [j] : []));
      want.push(keys.length - 1);
      expect([...words.slice(leaf, leaf + 2 + want.length)]).toEqual([NODE_LEAF_HIT, want.length, ...want]);
    }
    const h0 = hits;
    run(`kube seed ${base}`, keys, genPackets(keys, 3000, base));
    expect(hits).toBeGreaterThan(h0);
  });

  it('exact tuples on every column combination (hash nodes), with non-exact rules mixed in', () => {
    const combos: ('saddr' | 'daddr' | 'sport' | 'dport')[][] = [['saddr'], ['daddr'], ['sport'], ['dport'], ['saddr', 'sport'], ['daddr', 'dport'], ['saddr', 'daddr', 'sport', 'dport']];
    combos.forEach((c, i) => {
      const seed = base + 3000 + i;
      const keys = genTuples(500, seed, c, 0.03);
      const { stats } = buildTree(keys, keys.map((_, j) => j));
      expect(stats.hashNodes, c.join('+')).toBeGreaterThan(0);
      run(`seed ${seed} tuples ${c.join('+')}`, keys, genPackets(keys, 1500, seed));
    });
  });

  it('interfaces: many -i/-o classes including "no device"', () => {
    for (let s = 0; s < 6; s++) {
      const seed = base + 2000 + s;
      const keys = genRules('fw', 400, seed, { nIf: 12, negate: 0.1 });
      run(`seed ${seed} (fw, 12 interfaces)`, keys, genPackets(keys, 500, seed, { nIf: 12 }));
    }
  });

  it('partitioned chains (NODE_MULTI, forced): merged leaves = linear scan', () => {
    let cases = 0, multi = 0;
    for (let s = 0; s < 36; s++) {
      const seed = base + 4000 + s;
      const kind = kinds[s % 3];
      const n = [30, 100, 300, 1000][s % 4];
      const keys = genRules(kind, n, seed, { negate: 0.05, frag: 0.03 });
      const { words } = buildChain(keys, keys.map((_, i) => i), { multi: 'force' });
      if (words[0] === NODE_MULTI) multi++;
      const pkts = genPackets(keys, 400, seed);
      run(`seed ${seed} (${kind}, ${n} rules, partitioned; rerun with TREE_SEED=${base})`, keys, pkts, { multi: 'force', binth: [1, 4, 8][s % 3] }, true);
      cases += pkts.length;
    }
    expect(cases).toBe(14400);
    expect(multi).toBeGreaterThan(30); // ClassBench sets have rules in at least two groups
  });

  it('partitioned chains under bounds, and by default at 3,000 FW rules (30 % wild in daddr)', () => {
    for (let s = 0; s < 8; s++) {
      const seed = base + 5000 + s;
      const keys = genRules(kinds[s % 3], 500, seed);
      const opts: TreeOpts[] = [{ maxReplication: 1 }, { maxBuildMs: 0 }, { maxDepth: 2 }, { hash: false }];
      run(`seed ${seed} partitioned, opts ${JSON.stringify(opts[s % 4])}`, keys, genPackets(keys, 300, seed), { ...opts[s % 4], multi: 'force' }, true);
    }
    const seed = base + 5100;
    const keys = genRules('fw', 3000, seed, { negate: 0.05, frag: 0.03 });
    const { words, stats } = buildChain(keys, keys.map((_, i) => i));
    expect(words[0]).toBe(NODE_MULTI);
    expect(stats.kind).toBe('multi');
    expect(stats.trees?.map((t) => t.group)).toEqual(['dst', 'src', 'wild']); // negations (5 %) make more than a handful wild in both
    expect(stats.trees?.reduce((a, t) => a + t.rules, 0)).toBe(3000);
    run(`seed ${seed} (fw, 3000 rules, default)`, keys, genPackets(keys, 2000, seed), {}, true);
  });

  it('kube-proxy shape stays one hash (its one wild rule is copied into the entries)', () => {
    const { keys } = genKube(5000, base);
    const { words, stats } = buildChain(keys, keys.map((_, i) => i));
    expect(words[0]).not.toBe(NODE_MULTI);
    expect(stats.hashNodes).toBeGreaterThan(0);
  });

  it('decided leaves (NODE_LEAF_HIT) were reached on the ClassBench sets above', () => {
    expect(hits).toBeGreaterThan(1000);
  });

  it('hashSlot = floor(h * size / 2^32) exactly (the core multiplies in u64)', () => {
    const r = rng(base);
    for (let i = 0; i < 20000; i++) {
      const h = Math.floor(r() * 4294967296), size = 1 + Math.floor(r() * (i & 1 ? 200 : 2 ** 26));
      expect(hashSlot(h, size)).toBe(Number((BigInt(h) * BigInt(size)) >> 32n));
    }
    expect(hashSlot(0xffffffff, 7)).toBe(6);
  });

  it('linearTree is one leaf of every rule in order', () => {
    expect(linearTree(3, [7, 8, 9]).words).toEqual([NODE_LEAF, 3, 7, 8, 9]);
    expect(linearTree(0).words).toEqual([NODE_LEAF, 0]);
  });
});
