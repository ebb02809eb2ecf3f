// npm run bench:classify — decision structures (issue 4) against --linear, in one run.
// Rule sets of 100, 1,000, 10,000 and 100,000 rules, kube-proxy-shaped (KUBE-SERVICES) and
// ClassBench-style ACL and FW; for each: build time, structure bytes, depth/leaves/replication, and the
// per-packet cost inside wasm of classify + first-match scan of the leaf (same packets, same
// checker) for the tree and for the single linear leaf, their ratio, and the issue's anchors.
// Not a test. Uses dist/ (tsc) and compiles test/tree/bench-entry.ts with asc.
// Options: --sizes 100,1000 --kinds kube,acl,fw --packets 20000 --maxrep 16 --hashload 0.5 --multi false
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({ options: {
  sizes: { type: 'string', default: '100,1000,10000,100000' },
  kinds: { type: 'string', default: 'kube,acl,fw' },
  packets: { type: 'string', default: '20000' },
  maxrep: { type: 'string' }, // buildTree's maxReplication (default: the builder's own)
  hashload: { type: 'string' }, // buildTree's hashLoad (default: the builder's own)
  multi: { type: 'string' }, // buildChain's multi: false (one structure per chain) or force
} });
const { buildChain, linearTree, candidatesJs, keyMatches } = await import(join(root, 'dist/compile/tree.js'));
const { genRules, genKube, genPackets, rng } = await import(join(root, 'dist/compile/tree-gen.js'));

// ---- wasm: classify + leaf scan ----
const dir = mkdtempSync(join(tmpdir(), 'nfreplay-bench-'));
let ex;
try {
  execFileSync(join(root, 'node_modules/.bin/asc'), ['test/tree/bench-entry.ts', '--runtime', 'stub', '-O3', '--noAssert',
    '--enable', 'simd', '--outFile', join(dir, 'b.wasm')], { cwd: root, stdio: 'pipe' });
  ex = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(join(dir, 'b.wasm'))), { env: { abort() { throw new Error('abort'); } } }).exports;
} finally { rmSync(dir, { recursive: true, force: true }); }

const KW = 12;
function keyTable(keys) {
  const t = new Uint32Array(keys.length * KW);
  keys.forEach((k, i) => {
    const o = i * KW;
    t[o] = k.src.lo; t[o + 1] = k.src.hi; t[o + 2] = k.dst.lo; t[o + 3] = k.dst.hi;
    t[o + 4] = k.proto === null ? 0xffffffff : k.proto;
    t[o + 5] = (k.srcInv ? 1 : 0) | (k.dstInv ? 2 : 0) | (k.protoInv ? 4 : 0) | (k.sportInv ? 8 : 0) | (k.dportInv ? 16 : 0)
      | (k.l4 ? 32 : 0) | (k.frag === 1 ? 64 : 0) | (k.frag === 2 ? 128 : 0);
    t[o + 6] = k.sport.lo; t[o + 7] = k.sport.hi; t[o + 8] = k.dport.lo; t[o + 9] = k.dport.hi;
    t[o + 10] = k.iif; t[o + 11] = k.oif;
  });
  return t;
}
function packetTable(pkts) {
  const b = new ArrayBuffer(pkts.length * 20), v = new DataView(b);
  pkts.forEach((p, i) => {
    const o = i * 20;
    v.setUint32(o, p.saddr, false); v.setUint32(o + 4, p.daddr, false);
    v.setUint8(o + 8, p.proto); v.setUint8(o + 9, p.l4ok ? 1 : 0); v.setUint8(o + 10, p.iif); v.setUint8(o + 11, p.oif);
    v.setUint16(o + 12, p.sport, true); v.setUint16(o + 14, p.dport, true); v.setUint16(o + 16, p.fragoff, true);
  });
  return new Uint8Array(b);
}
function place(bytes) {
  const a = ex.reserve(bytes.byteLength);
  new Uint8Array(ex.memory.buffer, a, bytes.byteLength).set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return a;
}
/** ns per packet of classify + scan (or classify alone) over `count` packets (best of `reps`), and the checksum. */
function time(imgAddr, keysAddr, pktAddr, count, reps, classifyOnly = false) {
  ex.useImage(imgAddr);
  let best = Infinity, sum = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    sum = (classifyOnly ? ex.benchClassify(pktAddr, count, 0) : ex.benchRun(pktAddr, count, 0, keysAddr)) >>> 0;
    const dt = Number(process.hrtime.bigint() - t0);
    best = Math.min(best, dt / count);
  }
  return { ns: best, sum };
}

// ---- rule sets ----
function kubeSet(n, seed) {
  const { keys, vips } = genKube(n, seed);
  const r = rng(seed + 1);
  const pkts = [];
  for (let i = 0; i < npk; i++) {
    if (r() < 0.9) {
      const v = vips[Math.floor(r() * vips.length)];
      pkts.push({ saddr: 0x0a800000 + Math.floor(r() * 65536), daddr: v.vip, proto: v.proto, sport: 32768 + Math.floor(r() * 28000), dport: v.port, iif: 0, oif: 255, fragoff: 0, l4ok: true });
    } else {
      pkts.push({ saddr: 0x0a800000 + Math.floor(r() * 65536), daddr: Math.floor(r() * 0xffffffff) >>> 0, proto: 6, sport: 40000, dport: Math.floor(r() * 65536), iif: 0, oif: 255, fragoff: 0, l4ok: true });
    }
  }
  return { keys, pkts };
}
function aclSet(n, seed, kind = 'acl') {
  const keys = genRules(kind, n, seed, { negate: 0, frag: 0 });
  // whole headers (no fragments, no truncated L4: those take the fragment / linear roots)
  return { keys, pkts: genPackets(keys, npk, seed, { frags: false, truncated: 0 }) };
}

const npk = Number(args.packets);
const sizes = args.sizes.split(',').map(Number);
const kinds = args.kinds.split(',');
const ANCHOR = {
  acl: { 1000: '≤150 ns (C++ TupleMerge/CutSplit 38–68 ns; JS linear ~800 ns)', 10000: '≤250 ns, ≥50× linear, ≤10× repl, ≤64 MiB, build ≤50 ms (C++ 52–125 ns; JS linear 5–8 µs)', 100000: '≤400 ns, build ≤2 s (C++ 52–134 ns)' },
  kube: { 10000: '≤60 ns (exact VIP:port), build ≤50 ms', 100000: '≤1.5× the 100-rule cost, build ≤2 s' },
};
const fmt = (x, d = 1) => (x >= 100 ? x.toFixed(0) : x.toFixed(d));
console.log(`nfreplay bench:classify  node ${process.version}  ${new Date().toISOString()}  packets/set ${npk}  load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log('tree/linear ns = wasm classify + first-match scan of the leaf over the same packets (best of 3); classify ns = the walk alone; build = wall (cpu) ms; rebuild = the same build again, wall (cpu)');
console.log(['set', 'rules', 'kind', 'build ms', 'rebuild ms', 'bytes', 'depth', 'leaves', 'max leaf', 'repl', 'classify ns', 'tree ns', 'linear ns', 'speedup', 'anchor'].join('\t'));
const base100 = {};
const warmLater = []; // sets built again once all are done (below)
for (const kind of kinds) {
  for (const n of sizes) {
    const { keys, pkts } = kind === 'kube' ? kubeSet(n, 4242 + n) : aclSet(n, 4242 + n, kind);
    const idx = keys.map((_, i) => i);
    const opts = { maxReplication: args.maxrep ? Number(args.maxrep) : undefined, hashLoad: args.hashload ? Number(args.hashload) : undefined,
      multi: args.multi === undefined ? undefined : args.multi === 'force' ? 'force' : args.multi !== 'false' };
    const c0 = process.cpuUsage();
    const built = buildChain(keys, idx, opts);
    const cpuMs = process.cpuUsage(c0).user / 1000;
    // the same build again in this process (JIT-compiled builder): the first build of a size pays
    // V8's warm-up, a long-running compile (or a second chain) does not; both are printed
    const c1 = process.cpuUsage();
    const again = buildChain(keys, idx, opts);
    const reCpuMs = process.cpuUsage(c1).user / 1000;
    if (n <= 10000) warmLater.push({ kind, n, keys, idx, opts });
    const lin = linearTree(n, idx);
    const kAddr = place(keyTable(keys));
    const pAddr = place(packetTable(pkts));
    const tAddr = place(Int32Array.from(built.words));
    const lAddr = place(Int32Array.from(lin.words));
    const tree = time(tAddr, kAddr, pAddr, pkts.length, 3);
    const walk = time(tAddr, kAddr, pAddr, pkts.length, 3, true);
    // linear on a subset at large sizes (same packets for the comparison below)
    const sub = Math.max(200, Math.min(pkts.length, Math.floor(4e7 / n)));
    const linear = time(lAddr, kAddr, pAddr, sub, sub < pkts.length ? 1 : 3);
    const treeSub = time(tAddr, kAddr, pAddr, sub, 1);
    if (treeSub.sum !== linear.sum) console.log(`!! first-match checksum differs for ${kind} ${n}: tree ${treeSub.sum} linear ${linear.sum}`);
    // spot check in JS too: the leaf's first key match = linear first key match
    for (let i = 0; i < 200; i++) {
      const p = pkts[i];
      let ft = -1; for (const r of candidatesJs(built.words, 0, p)) { if (keyMatches(keys[r], p) !== false) { ft = r; break; } }
      const fl = keys.findIndex((k) => keyMatches(k, p) !== false);
      if (ft !== fl) { console.log(`!! JS mismatch ${kind} ${n} packet ${i}`); break; }
    }
    if (n === 100) base100[kind] = tree.ns;
    const s = built.stats;
    let anchor = ANCHOR[kind]?.[n] ?? '';
    if (kind === 'kube' && n === 100000 && base100.kube) anchor += `  (measured ratio ${(tree.ns / base100.kube).toFixed(2)}×)`;
    const kindText = s.trees ? `multi ${s.trees.map((t) => `${t.group}:${t.rules}:${t.kind}`).join(',')}` : s.kind;
    console.log([kind, n, kindText + (s.budgetHit ? '!budget' : '') + (s.deadlineHit ? '!deadline' : ''), `${fmt(s.buildMs)} (${fmt(cpuMs)})`, `${fmt(again.stats.buildMs)} (${fmt(reCpuMs)})`, s.bytes, s.depth, s.leaves, s.largestLeaf,
      s.replication.toFixed(2), fmt(walk.ns), fmt(tree.ns), fmt(linear.ns), (linear.ns / tree.ns).toFixed(1) + '×', anchor].join('\t'));
  }
}
// Warm builds, after every set so that the builds above (first build, rebuild) run in the same
// process state as before: the best of 3 builds of each set up to 10,000 rules, V8 done
// compiling the builder. The first build and the rebuild still pay its tier-up (compiles on V8's
// second thread are in the cpu figure, user time of the whole process).
console.log('warm build = best of 3 more builds of the same set after all sets, wall (cpu) ms');
for (const { kind, n, keys, idx, opts } of warmLater) {
  let warm = null;
  for (let i = 0; i < 3; i++) {
    const c2 = process.cpuUsage();
    const w = buildChain(keys, idx, opts).stats.buildMs, c = process.cpuUsage(c2).user / 1000;
    if (!warm || w < warm.wall) warm = { wall: w, cpu: c };
  }
  console.log(['warm', kind, n, `${fmt(warm.wall)} (${fmt(warm.cpu)})`].join('\t'));
}
