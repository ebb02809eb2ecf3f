// assembly/classify.ts against the JS walk of the same block: compiles test/tree/classify-entry.ts
// (classify + memory helpers only) with asc, places a block at a nonzero word offset of a tiny
// image, writes packets into PKT with the core's encodings (addresses as wire bytes, ports host
// order) and checks that classify returns the same leaf as classifyJs for every packet.
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildTree, buildChain, classifyJs, leavesJs, type KeyPacket, type RuleKey } from '../../src/compile/tree.js';
import { genRules, genKube, genPackets, genTuples } from '../../src/compile/tree-gen.js';
import { P_SADDR, P_DADDR, P_PROTO, P_SPORT, P_DPORT, P_FRAGOFF, P_L4OK, P_IIF, P_OIF } from '../../src/layout.js';

interface Core {
  memory: WebAssembly.Memory;
  classify(base: number): number;
  leavesMulti(base: number, out: number): number;
  reserve(bytes: number): number;
  pktAddr(): number;
  useImage(addr: number): void;
}

let core: Core;
beforeAll(() => {
  const root = resolve(__dirname, '../..');
  const dir = mkdtempSync(join(tmpdir(), 'nfreplay-classify-'));
  try {
    execFileSync(join(root, 'node_modules/.bin/asc'), ['test/tree/classify-entry.ts', '--runtime', 'stub', '-O3', '--noAssert',
      '--outFile', join(dir, 'c.wasm')], { cwd: root, stdio: 'pipe' });
    const mod = new WebAssembly.Module(readFileSync(join(dir, 'c.wasm')));
    core = new WebAssembly.Instance(mod, { env: { abort() { throw new Error('abort'); } } }).exports as unknown as Core;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

function setPacket(p: KeyPacket): void {
  const v = new DataView(core.memory.buffer, core.pktAddr());
  v.setUint32(P_SADDR, p.saddr, false); // wire order: big-endian bytes
  v.setUint32(P_DADDR, p.daddr, false);
  v.setUint8(P_PROTO, p.proto);
  v.setUint16(P_SPORT, p.sport, true); // host order
  v.setUint16(P_DPORT, p.dport, true);
  v.setUint16(P_FRAGOFF, p.fragoff, true);
  v.setUint8(P_L4OK, p.l4ok ? 1 : 0);
  v.setUint8(P_IIF, p.iif);
  v.setUint8(P_OIF, p.oif);
}

/** Place `words` at word offset `pad` of a fresh image; returns mismatches. */
const seen = { hash: 0, iface: 0, split: 0 };
function compare(keys: RuleKey[], pkts: KeyPacket[], pad: number): string[] {
  const { words, stats } = buildTree(keys, keys.map((_, i) => i), { binth: 4 });
  seen.hash += stats.hashNodes; seen.iface += stats.ifaceNodes; seen.split += stats.nodes - stats.hashNodes - stats.ifaceNodes;
  const addr = core.reserve((words.length + pad) * 4);
  const img = new Int32Array(core.memory.buffer, addr, words.length + pad);
  img.fill(-7, 0, pad);
  img.set(words, pad);
  core.useImage(addr);
  const bad: string[] = [];
  for (let i = 0; i < pkts.length && bad.length < 5; i++) {
    setPacket(pkts[i]);
    const got = core.classify(pad), want = pad + classifyJs(words, 0, pkts[i]);
    if (got !== want) bad.push(`packet ${i} ${JSON.stringify(pkts[i])}: wasm ${got} js ${want}`);
  }
  return bad;
}

describe('assembly classify = classifyJs', () => {
  it('ClassBench-style ACL/FW/IPC sets (split, iface and hash nodes), fragments, truncated L4', () => {
    for (let s = 0; s < 9; s++) {
      const seed = 7100 + s;
      const keys = genRules((['acl', 'fw', 'ipc'] as const)[s % 3], 600, seed, { nIf: 6, negate: 0.05, frag: 0.03 });
      expect(compare(keys, genPackets(keys, 2000, seed, { nIf: 6 }), 3 + s), `seed ${seed}`).toEqual([]);
    }

  });
  it('kube-proxy shape (hash on daddr+dport) at a large offset', () => {
    const { keys } = genKube(5000, 7200);
    expect(compare(keys, genPackets(keys, 5000, 7200), 12345)).toEqual([]);
  });
  it('per-interface firewall (interface dispatch nodes)', () => {
    const keys = genRules('fw', 400, 7400, { nIf: 8, ifProb: 0.95 });
    expect(compare(keys, genPackets(keys, 3000, 7401, { nIf: 8 }), 5)).toEqual([]);
  });
  it('mixed: kube-shaped exact rules with an ACL tail (hash nodes inside trees)', () => {
    const keys = [...genKube(300, 7300).keys, ...genRules('ipc', 300, 7301, { nIf: 6 })];
    expect(compare(keys, genPackets(keys, 3000, 7302, { nIf: 6 }), 77)).toEqual([]);
  });
  it('hash nodes on every column combination (saddr, daddr, sport, dport)', () => {
    const combos: ('saddr' | 'daddr' | 'sport' | 'dport')[][] = [['saddr'], ['sport'], ['saddr', 'sport'], ['daddr', 'sport', 'dport'], ['saddr', 'daddr', 'dport'], ['saddr', 'daddr', 'sport', 'dport']];
    combos.forEach((c, i) => {
      const keys = genTuples(400, 7500 + i, c);
      expect(compare(keys, genPackets(keys, 2000, 7500 + i), 11 + i), c.join('+')).toEqual([]);
    });
  });
  it('every node kind was walked above', () => {
    expect(seen.hash).toBeGreaterThan(0);
    expect(seen.iface).toBeGreaterThan(0);
    expect(seen.split).toBeGreaterThan(0);
  });
  it('partitioned blocks (NODE_MULTI): every structure\'s leaf, self-relative structures at any offset', () => {
    for (let s = 0; s < 6; s++) {
      const seed = 7600 + s;
      const keys = genRules((['acl', 'fw', 'ipc'] as const)[s % 3], 700, seed, { nIf: 6, negate: 0.05, frag: 0.03 });
      const { words, stats } = buildChain(keys, keys.map((_, i) => i), { multi: 'force', binth: 4 });
      expect(stats.kind, `seed ${seed}`).toBe('multi');
      const pad = 101 + s;
      const addr = core.reserve((words.length + pad) * 4);
      const img = new Int32Array(core.memory.buffer, addr, words.length + pad);
      img.set(words, pad);
      core.useImage(addr);
      const out = core.reserve(8 * 4);
      const pkts = genPackets(keys, 2000, seed, { nIf: 6 });
      for (let i = 0; i < pkts.length; i++) {
        setPacket(pkts[i]);
        const k = core.leavesMulti(pad, out);
        const got = [...new Int32Array(core.memory.buffer, out, k)];
        expect(got, `seed ${seed} packet ${i}`).toEqual(leavesJs(words, 0, pkts[i]).map((l) => l + pad));
      }
    }
  });
  it('a lone leaf block (linear) returns its own offset', () => {
    const keys = genRules('acl', 5, 1);
    expect(compare(keys, genPackets(keys, 10, 1), 9)).toEqual([]);
  });
});
