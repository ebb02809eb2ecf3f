// npm run bench:k8s — kube-proxy rule sets at scale (issue 7, "Benchmark (not a test)").
// For 100, 1,000, 5,000, 10,000 and 20,000 Services x 5 endpoints (10 % NodePort, `k8s synth`
// defaults otherwise), in one run: rule count, parse and compile time (decision trees and --linear),
// image bytes, peak RSS and wasm memory, the time of the reports `nfreplay replay` writes,
// single-worker replay packets per second for new connections
// (SYN-only traffic from `k8s traffic --syn-only`; also the same number of SYNs to only the first
// 100 Services, to tell rule-set size from working set) and for established traffic (ACKs of
// connections set up before the timed part), trees vs --linear and their ratio, and — as root with
// iptables-legacy-restore installed — the kernel's restore time for the same text in a fresh
// network namespace, as a ratio to our parse+compile. Not a test.
//
// Needs `npm run build` (uses dist/ and build/core.wasm directly, no CLI per measurement). Inputs
// (rules and SYN captures) are generated into bench/data/ (git-ignored) and reused by later runs.
// Each size is measured in its own child process (so that peak RSS is that size's), after a JIT
// warm-up on the 100-Service set; times are the best of N repetitions (wall clock, and process
// CPU time beside it: on a shared, loaded machine CPU time is the steadier one; it includes V8's
// helper threads, so on an idle one it can exceed wall time).
//
// Options: --quick (100 and 1,000 Services, small packet counts: a smoke run)
//          --sizes 100,1000   --endpoints 5   --new N (SYNs, default 100,000)
//          --est N (established packets, default 500,000)   --reps R (default 3; 2 at 20,000)
//          --no-kernel   --regen (rebuild the inputs in bench/data/)   --prepare (inputs only)
//          --rule-order walk (compile option ruleOrder: rule indices in walk order; see src/compile/image.ts)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PerformanceObserver, performance } from 'node:perf_hooks';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const dist = (p) => join(root, 'dist', p);
const DATA = join(here, 'data');
const HOST_JSON = join(root, 'pcaps/k8s/service3/host.json'); // node-0 / 192.0.2.10, pods via 192.0.2.20
const SEED = 1;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    endpoints: { type: 'string', default: '5' },
    new: { type: 'string' },
    est: { type: 'string' },
    reps: { type: 'string' },
    'no-kernel': { type: 'boolean', default: false },
    'rule-order': { type: 'string', default: 'model' }, // compile's ruleOrder: model | walk (rule indices in walk order)
    regen: { type: 'boolean', default: false },
    prepare: { type: 'boolean', default: false }, // only generate the inputs
    child: { type: 'string' }, // internal: measure one size, print JSON
  },
  strict: true,
});
const QUICK = args.quick;
const SIZES = (args.sizes ?? (QUICK ? '100,1000' : '100,1000,5000,10000,20000')).split(',').map(Number);
const EP = Number(args.endpoints);
const RULE_ORDER = args['rule-order'];
const NEW = Number(args.new ?? (QUICK ? 10000 : 100000));
const EST = Number(args.est ?? (QUICK ? 50000 : 500000));
const EST_CONNS = Math.min(4096, NEW);
const repsFor = (n) => Number(args.reps ?? (n >= 20000 ? 2 : 3));
// --linear SYN replay: a prefix of the capture small enough to finish in about a second even at
// 20,000 Services (each SYN walks the whole KUBE-SERVICES chain in --linear).
const linPackets = (n) => Math.min(NEW, Math.max(1000, Math.floor(2e8 / n)));

const rulesPath = (n) => join(DATA, `k8s-${n}x${EP}.rules`);
const synPath = (n) => join(DATA, `k8s-${n}x${EP}-syn-${NEW}.pcap`);

const mod = {
  synth: () => import(dist('k8s/synth.js')),
  manifests: () => import(dist('k8s/manifests.js')),
  proxier: () => import(dist('k8s/proxier.js')),
  traffic: () => import(dist('k8s/traffic.js')),
};

function writeAtomic(path, data) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** The rules `nfreplay k8s synth --services N --endpoints EP --nodeport-fraction 0.1 --seed 1` prints. */
async function ensureInputs(n) {
  mkdirSync(DATA, { recursive: true });
  const rp = rulesPath(n);
  if (args.regen || !existsSync(rp)) {
    const t0 = Date.now();
    const { synthObjects, SYNTH_CLUSTER } = await mod.synth();
    const { buildCluster } = await mod.manifests();
    const { generateRules } = await mod.proxier();
    const objs = synthObjects({ services: n, endpoints: EP, nodeportFraction: 0.1, nodes: 3, seed: SEED });
    const cluster = buildCluster(objs, { hostname: SYNTH_CLUSTER.hostname });
    const r = generateRules(cluster, {
      clusterCIDR: SYNTH_CLUSTER.clusterCIDR, masqueradeAll: false, masqueradeBit: 14, randomFully: false,
      localhostNodePorts: true, nodeIPs: [SYNTH_CLUSTER.nodeIP], nodePortAddresses: [], form: 'full',
    }, SYNTH_CLUSTER.hostname);
    writeAtomic(rp, r.text);
    process.stderr.write(`  generated ${rp} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  const sp = synPath(n);
  if (args.regen || !existsSync(sp)) {
    const t0 = Date.now();
    const { generateTraffic } = await mod.traffic();
    const tmp = `${sp}.tmp-${process.pid}.pcap`;
    // 500 outside clients (203.0.113.0/24, 198.51.100.0/24): masqueraded by the KUBE-SVC rule
    const s = generateTraffic(readFileSync(rp, 'utf8'), rp, tmp, { connections: NEW, synOnly: true, clients: 500, seed: SEED, nodeIPs: ['192.0.2.10'] });
    renameSync(tmp, sp);
    process.stderr.write(`  generated ${sp}: ${s.connections} SYNs to ${s.services} service targets (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
}

// ------------------------------------------------------------------------------------------
// Child: one size.

async function child(n) {
  const { parseRuleset } = await import(dist('rules/parse.js'));
  const { compile } = await import(dist('compile/image.js'));
  const { lowerHost, loadHostFile } = await import(dist('host/index.js'));
  const { Engine } = await import(dist('replay/engine.js'));
  const { parseCaptureBuffer } = await import(dist('pcap/reader.js'));
  const { buildFrame, tcpOptions } = await import(dist('pcap/craft.js'));
  const { PcapWriter } = await import(dist('pcap/writer.js'));
  const host = lowerHost(loadHostFile(HOST_JSON));
  const gc = globalThis.gc ?? (() => {});
  const log = (s) => process.stderr.write(`  [${n}] ${s}\n`);
  const R = repsFor(n);
  const out = { services: n, endpoints: EP, reps: R };

  /** Best of `reps` runs of fn (after `warm` untimed ones): wall and CPU milliseconds, last result. */
  const best = (reps, fn, warm = 0) => {
    let wall = Infinity, cpu = Infinity, res;
    for (let i = 0; i < warm + reps; i++) {
      gc();
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      res = fn(i);
      const w = Number(process.hrtime.bigint() - t0) / 1e6;
      const cu = process.cpuUsage(c0);
      if (i >= warm) { wall = Math.min(wall, w); cpu = Math.min(cpu, (cu.user + cu.system) / 1000); }
    }
    return { wall, cpu, res };
  };

  // JIT warm-up: parse, compile and replay the 100-Service set (or this one when it is smaller)
  {
    const wn = Math.min(n, 100);
    const t = readFileSync(rulesPath(wn), 'utf8');
    for (let i = 0; i < 3; i++) {
      const rs = parseRuleset(t, rulesPath(wn));
      compile(rs, { host, seed: SEED, ruleOrder: RULE_ORDER });
      const c = compile(rs, { host, seed: SEED, ruleOrder: RULE_ORDER, linear: true });
      if (i === 2) {
        const b = parseCaptureBuffer(readFileSync(synPath(wn)), synPath(wn)).batch;
        const e = new Engine(c);
        e.runBatch(slice(b, 0, Math.min(b.count, 5000)), null);
      }
    }
  }

  // ---- parse and compile ----
  const text = readFileSync(rulesPath(n), 'utf8');
  out.textBytes = Buffer.byteLength(text);
  out.lines = countLines(text);
  const p = best(R, () => parseRuleset(text, rulesPath(n)));
  const rs = p.res;
  out.parse = { wall: p.wall, cpu: p.cpu };
  log(`parse ${p.wall.toFixed(0)} ms`);
  const ct = best(R, () => compile(rs, { host, seed: SEED, ruleOrder: RULE_ORDER }));
  const tree = ct.res;
  out.compile = { wall: ct.wall, cpu: ct.cpu };
  log(`compile ${ct.wall.toFixed(0)} ms`);
  const cl = best(n >= 20000 ? 1 : R, () => compile(rs, { host, seed: SEED, ruleOrder: RULE_ORDER, linear: true }));
  const lin = cl.res;
  out.compileLinear = { wall: cl.wall, cpu: cl.cpu };
  out.rules = tree.rules.length;
  out.chains = tree.chains.length;
  out.imageBytes = tree.image.byteLength;
  out.imageBytesLinear = lin.image.byteLength;
  const ks = tree.chains.find((c) => c.table === 'nat' && c.name === 'KUBE-SERVICES');
  out.kubeServices = ks ? { rules: ks.rules.length, structure: ks.structure, words: ks.structureWords } : null;
  gc();
  out.rssAfterCompile = process.memoryUsage().rss;
  out.peakRssCompile = process.resourceUsage().maxRSS * 1024;

  // ---- new connections: SYNs, each on a fresh engine ----
  const syn = parseCaptureBuffer(readFileSync(synPath(n)), synPath(n)).batch;
  const runAll = (eng, b, from, to) => { for (let i = from; i < to; i += 16384) eng.runBatch(slice(b, i, Math.min(to, i + 16384)), null); };
  // Every repetition: a fresh engine, the first W SYNs untimed (warm-up of the engine's memory),
  // a full GC, then the timed SYNs. GC time inside the timed part is recorded.
  const W = Math.min(2000, Math.floor(syn.count / 10));
  const nt = await innerBest(tree, R, (e) => runAll(e, syn, 0, W), (e) => runAll(e, syn, W, syn.count), Engine);
  const st = nt.engine.stats();
  out.wasmMemory = nt.engine.core.memory.buffer.byteLength;
  out.newConn = { packets: syn.count - W, wall: nt.wall, cpu: nt.cpu, gc: nt.gc, faults: nt.faults, forwarded: Number(st.res[3]), sent: syn.count };
  // The reports `nfreplay replay` writes, on this engine's counters (once each: seconds at 20,000)
  {
    const { loadRulesApi, matchText, targetText } = await import(dist('replay/rules-adapter.js'));
    const { formatTables, formatTotals } = await import(dist('report/text.js'));
    const { fairness, formatFairness } = await import(dist('report/fairness.js'));
    const { withCounters } = await import(dist('report/counters.js'));
    const { buildJson } = await import(dist('report/json.js'));
    const { formatConntrack } = await import(dist('report/conntrack.js'));
    const api = await loadRulesApi();
    const e = nt.engine;
    const k = e.counters();
    const r = { rs, compiled: tree, engine: e, drops: new Map(), captureError: null, info: null, api };
    const one = (fn) => { const b = best(1, fn); return { wall: b.wall, cpu: b.cpu, bytes: typeof b.res === 'string' ? b.res.length : 0 }; };
    out.reports = {
      tables: one(() => formatTables(tree, k, { matchText: (x) => matchText(api, x), targetText: (x) => targetText(api, x) }) + formatTotals({ packets: e.packets, ...st })),
      fairness: one(() => formatFairness(fairness(tree, k))),
      saveCounters: one(() => api.printRuleset(withCounters(rs, tree, k), { counters: true })),
      json: one(() => JSON.stringify(buildJson(r, k, st), null, 1)),
      conntrack: one(() => formatConntrack(e.core.memory.buffer, e.ctAddr, e.lastJiffies(), tree.hz)),
    };
    log(`reports: text ${(out.reports.tables.wall + out.reports.fairness.wall).toFixed(0)} ms, json ${out.reports.json.wall.toFixed(0)} ms`);
  }
  nt.engine = null;
  log(`new connections (trees): ${(out.newConn.packets / (out.newConn.wall / 1e3)).toFixed(0)} pps`);
  // The same number of SYNs to the first 100 Services only (the 100-Service capture: the synthetic
  // clusters share their first Services, seed and all): the rule set is this size, the working set
  // of chains, rules and counters is the 100-Service one.
  if (n !== 100) {
    const syn100 = parseCaptureBuffer(readFileSync(synPath(100)), synPath(100)).batch;
    const w100 = await innerBest(tree, R, (e) => runAll(e, syn100, 0, W), (e) => runAll(e, syn100, W, syn100.count), Engine);
    out.newConn100 = { packets: syn100.count - W, wall: w100.wall, cpu: w100.cpu, gc: w100.gc, forwarded: Number(w100.engine.stats().res[3]), sent: syn100.count };
    w100.engine = null;
  }
  // --linear on the next SYNs only, and the trees on the same SYNs; counters must be identical
  const L = Math.min(linPackets(n), syn.count - W);
  const lr = L >= NEW / 2 ? R : Math.max(1, R - 1);
  const lt = await innerBest(lin, lr, (e) => runAll(e, syn, 0, W), (e) => runAll(e, syn, W, W + L), Engine);
  // (short at large sizes: a few tens of ms, so more repetitions)
  const tt = await innerBest(tree, L < NEW / 2 ? Math.max(R, 5) : R, (e) => runAll(e, syn, 0, W), (e) => runAll(e, syn, W, W + L), Engine);
  out.newLinear = { packets: L, reps: lr, wall: lt.wall, cpu: lt.cpu, gc: lt.gc, faults: lt.faults };
  out.newTreePrefix = { packets: L, wall: tt.wall, cpu: tt.cpu, gc: tt.gc, faults: tt.faults };
  out.warmSyns = W;
  out.sameCounters = sameCounters(lt.engine, tt.engine);
  lt.engine = tt.engine = null;
  log(`new connections (--linear, ${L} SYNs): ${(L / (out.newLinear.wall / 1e3)).toFixed(0)} pps; counters ${out.sameCounters ? 'identical' : 'DIFFER'}`);

  // ---- established: EST_CONNS connections set up (SYN, SYN-ACK, ACK; untimed), then EST ACKs ----
  const C = Math.min(EST_CONNS, syn.count);
  const conns = [];
  {
    const ts = new Map();
    for (let i = 0; i < C; i++) ts.set(`${syn.tsSec[i]}.${syn.tsNsec[i]}`, i);
    const e = new Engine(tree);
    const fwd = new Array(C).fill(null);
    for (let i = 0; i < C; i += 16384) {
      e.runBatch(slice(syn, i, Math.min(C, i + 16384)), null, (s, ns, f) => {
        const k = ts.get(`${s}.${ns}`);
        if (k !== undefined) fwd[k] = { ep: ip4(f, 30), eport: (f[36] << 8) | f[37], rdst: ip4(f, 26), rdport: (f[34] << 8) | f[35] };
      });
    }
    for (let i = 0; i < C; i++) {
      if (!fwd[i]) continue;
      const f = syn.data.subarray(syn.offset[i], syn.offset[i] + syn.caplen[i]);
      if (f[23] !== 6) continue; // TCP only
      conns.push({ client: ip4(f, 26), cport: (f[34] << 8) | f[35], vip: ip4(f, 30), vport: (f[36] << 8) | f[37], seq: ((f[38] << 24) | (f[39] << 16) | (f[40] << 8) | f[41]) >>> 0, ...fwd[i] });
    }
  }
  const hsPath = join(DATA, `k8s-est-hs-${process.pid}.pcap`);
  const dataPath = join(DATA, `k8s-est-data-${process.pid}.pcap`);
  let hs, data;
  try {
    const mss = tcpOptions({ mss: 1460 });
    const cli = (c, x) => buildFrame({ src: c.client, dst: c.vip, sport: c.cport, dport: c.vport, window: 64240, df: true, ...x });
    const pod = (c, x) => buildFrame({ src: c.ep, dst: c.rdst, sport: c.eport, dport: c.rdport, window: 65160, df: true, ...x });
    const S = (i) => (0x10000000 + i * 7919) >>> 0; // the endpoints' initial sequence numbers
    // right after the SYNs (an unreplied SYN_SENT entry lives 120 s)
    const t0 = syn.tsSec[C - 1] + 1;
    let w = new PcapWriter(hsPath, { linktype: 1 });
    let t = 0;
    conns.forEach((c, i) => w.writePacket(t0, (t++) * 1000, pod(c, { flags: 'SA', seq: S(i), ack: (c.seq + 1) >>> 0, tcpOptions: mss })));
    conns.forEach((c, i) => w.writePacket(t0, (t++) * 1000, cli(c, { flags: 'A', seq: (c.seq + 1) >>> 0, ack: (S(i) + 1) >>> 0 })));
    w.close();
    const frames = [];
    conns.forEach((c, i) => {
      frames.push(cli(c, { flags: 'A', seq: (c.seq + 1) >>> 0, ack: (S(i) + 1) >>> 0 }));
      frames.push(pod(c, { flags: 'A', seq: (S(i) + 1) >>> 0, ack: (c.seq + 1) >>> 0 }));
    });
    w = new PcapWriter(dataPath, { linktype: 1 });
    for (let k = 0; k < EST; k++) w.writePacket(t0 + 1 + Math.floor(k / 1e6), (k % 1e6) * 1000, frames[k % frames.length]);
    w.close();
    hs = parseCaptureBuffer(readFileSync(hsPath), hsPath).batch;
    data = parseCaptureBuffer(readFileSync(dataPath), dataPath).batch;
  } finally {
    rmSync(hsPath, { force: true });
    rmSync(dataPath, { force: true });
  }
  const setup = (e) => { runAll(e, syn, 0, C); runAll(e, hs, 0, hs.count); };
  const est = async (compiled, reps) => {
    let fwd = 0;
    const r = await innerBest(compiled, reps, setup, (e) => { const before = e.stats().res[3]; runAll(e, data, 0, data.count); fwd = Number(e.stats().res[3] - before); }, Engine);
    return { packets: data.count, wall: r.wall, cpu: r.cpu, gc: r.gc, faults: r.faults, forwarded: fwd, connections: conns.length };
  };
  out.est = await est(tree, R);
  log(`established (trees): ${(data.count / (out.est.wall / 1e3)).toFixed(0)} pps`);
  out.estLinear = await est(lin, Math.max(1, R - 1));
  log(`established (--linear): ${(data.count / (out.estLinear.wall / 1e3)).toFixed(0)} pps`);
  out.peakRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/** Best wall and CPU time (ms) of `run` on a fresh engine `reps` times (+1 warm-up repetition),
 *  after `pre` (untimed) on the same engine and a full GC; engine construction is not timed.
 *  gc = milliseconds of V8 garbage collection inside the fastest repetition's timed part. */
async function innerBest(compiled, reps, pre, run, Engine) {
  let wall = Infinity, cpu = Infinity, gcMs = 0, faults = 0, e = null;
  for (let r = 0; r < reps + 1; r++) {
    e = null;
    globalThis.gc?.();
    e = new Engine(compiled);
    pre(e);
    globalThis.gc?.();
    const f0 = process.resourceUsage().minorPageFault;
    const c0 = process.cpuUsage();
    const p0 = performance.now();
    const t0 = process.hrtime.bigint();
    run(e);
    const w = Number(process.hrtime.bigint() - t0) / 1e6;
    const p1 = performance.now();
    const cu = process.cpuUsage(c0);
    const f1 = process.resourceUsage().minorPageFault;
    await new Promise((res) => setImmediate(res));
    await new Promise((res) => setImmediate(res));
    const g = gcEntries.filter(([st]) => st >= p0 && st <= p1).reduce((a, [, d]) => a + d, 0);
    if (r > 0) {
      if (w < wall) { gcMs = g; faults = f1 - f0; }
      wall = Math.min(wall, w);
      cpu = Math.min(cpu, (cu.user + cu.system) / 1000);
    }
  }
  gcEntries.length = 0;
  return { wall, cpu, gc: gcMs, faults, engine: e };
}

const gcEntries = [];
new PerformanceObserver((list) => { for (const x of list.getEntries()) gcEntries.push([x.startTime, x.duration]); }).observe({ entryTypes: ['gc'] });

function sameCounters(a, b) {
  if (!a || !b) return false;
  const x = a.counters().packets, y = b.counters().packets;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function slice(b, from, to) {
  return {
    data: b.data, count: to - from, offset: b.offset.subarray(from, to), caplen: b.caplen.subarray(from, to),
    wirelen: b.wirelen.subarray(from, to), tsSec: b.tsSec.subarray(from, to), tsNsec: b.tsNsec.subarray(from, to),
    linktype: b.linktype.subarray(from, to), ifaceId: b.ifaceId.subarray(from, to), ordinal: b.ordinal.subarray(from, to), info: b.info,
  };
}
const ip4 = (f, o) => `${f[o]}.${f[o + 1]}.${f[o + 2]}.${f[o + 3]}`;
function countLines(t) { let n = 0; for (let i = t.indexOf('\n'); i >= 0; i = t.indexOf('\n', i + 1)) n++; return n; }

// ------------------------------------------------------------------------------------------
// Kernel: iptables-legacy-restore of the same text into a fresh namespace (one per repetition).

let nsName = null;
function cleanupNs() {
  if (nsName) { spawnSync('ip', ['netns', 'del', nsName], { stdio: 'ignore' }); nsName = null; }
}
function kernelAvailable() {
  if (args['no-kernel']) return 'disabled (--no-kernel)';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root';
  for (const b of ['iptables-legacy-restore', 'ip']) {
    if (spawnSync('sh', ['-c', `command -v ${b}`], { stdio: 'ignore' }).status !== 0) return `${b} not installed`;
  }
  if (!existsSync('/usr/bin/time')) return '/usr/bin/time not installed';
  return null;
}
function kernelRestore(n, reps) {
  let wall = Infinity, cpu = Infinity, lines = null, err = null;
  for (let r = 0; r < reps; r++) {
    nsName = `nfr-bench-${process.pid}`;
    const add = spawnSync('ip', ['netns', 'add', nsName], { encoding: 'utf8' });
    if (add.status !== 0) { err = `ip netns add: ${add.stderr.trim()}`; nsName = null; break; }
    try {
      const res = spawnSync('/usr/bin/time', ['-f', '%e %U %S', 'ip', 'netns', 'exec', nsName, 'iptables-legacy-restore', '-w', '60'],
        { input: readFileSync(rulesPath(n)), encoding: 'utf8', timeout: 180000, maxBuffer: 1 << 20 });
      if (res.status !== 0) { err = `iptables-legacy-restore: exit ${res.status} ${res.stderr.trim().split('\n').slice(-2).join(' ')}`; break; }
      const [e, u, s] = res.stderr.trim().split('\n').pop().split(' ').map(Number);
      wall = Math.min(wall, e * 1000);
      cpu = Math.min(cpu, (u + s) * 1000);
      if (r === reps - 1) {
        const save = spawnSync('ip', ['netns', 'exec', nsName, 'iptables-legacy-save'], { encoding: 'utf8', maxBuffer: 1 << 30 });
        lines = save.stdout.split('\n').filter((l) => l.startsWith('-A ')).length;
      }
    } finally { cleanupNs(); }
    if (wall > 20000) break; // slow enough: one repetition
  }
  return err ? { err } : { wall, cpu, reps, savedRules: lines };
}

// ------------------------------------------------------------------------------------------
// Parent: inputs, children, kernel, report.

async function main() {
  const started = Date.now();
  const la0 = loadavg();
  process.stderr.write(`bench:k8s: sizes ${SIZES.join(', ')} x ${EP} endpoints; inputs in ${DATA}\n`);
  for (const n of [...new Set([100, ...SIZES])].sort((a, b) => a - b)) await ensureInputs(n);
  if (args.prepare) return;
  const kernelWhy = kernelAvailable();
  process.on('exit', cleanupNs);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanupNs(); process.exit(130); });
  const rows = [];
  const loads = [];
  for (const n of SIZES) {
    loads.push(loadavg()[0]);
    process.stderr.write(`size ${n}: measuring (child process)\n`);
    const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', String(n), ...passArgs()],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    if (r.status !== 0) { process.stderr.write(`size ${n}: child failed (exit ${r.status} ${r.signal ?? ''})\n`); rows.push({ services: n, failed: true }); continue; }
    const row = JSON.parse(r.stdout.trim().split('\n').pop());
    if (!kernelWhy) {
      process.stderr.write(`size ${n}: iptables-legacy-restore in a fresh namespace\n`);
      row.kernel = kernelRestore(n, n >= 20000 ? 1 : 2);
    }
    rows.push(row);
  }
  loads.push(loadavg()[0]);
  writeAtomic(join(DATA, 'k8s-last.json'), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, loads, rows }, null, 1)}\n`);
  report(rows, kernelWhy, { la0, la1: loadavg(), loads, secs: (Date.now() - started) / 1000 });
}

function passArgs() {
  const a = ['--endpoints', String(EP), '--new', String(NEW), '--est', String(EST), '--rule-order', RULE_ORDER];
  if (args.reps) a.push('--reps', args.reps);
  return a;
}

const f0 = (x) => Math.round(x).toLocaleString('en-US');
const f1 = (x) => (x >= 100 ? f0(x) : x.toFixed(1));
const mb = (b) => `${(b / 1048576).toFixed(1)}`;
const kpps = (p, ms) => p / ms; // packets per ms = thousands per second
const fk = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} M` : `${x >= 100 ? x.toFixed(0) : x.toFixed(1)} k`);

function table(head, lines) {
  const w = head.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const fmt = (l) => l.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [fmt(head), w.map((x) => '-'.repeat(x)).join('  '), ...lines.map(fmt)].join('\n');
}

function report(rows, kernelWhy, meta) {
  const ok = rows.filter((r) => !r.failed);
  const by = (n) => ok.find((r) => r.services === n);
  const o = [];
  o.push(`nfreplay bench:k8s  ${new Date().toISOString()}  node ${process.version}  ${cpus().length} CPUs  load average at start ${meta.la0.map((x) => x.toFixed(1)).join(' ')}, per size ${meta.loads.map((x) => x.toFixed(1)).join(' / ')}  run ${meta.secs.toFixed(0)} s`);
  o.push(`Services x ${EP} endpoints (k8s synth, 10 % NodePort, seed ${SEED}; rules in the complete 'full' form; compile ruleOrder ${RULE_ORDER}); host ${HOST_JSON.replace(`${root}/`, '')}; times are the best of N (N in the table), wall ms with process CPU ms in brackets.`);
  o.push('');
  o.push('Parse and compile');
  o.push(table(['services', 'rules', 'text MB', 'N', 'parse ms', 'compile ms', 'parse+compile ms', '--linear compile ms', 'image MB (linear)', 'KUBE-SERVICES', 'RSS after compile MB', 'peak RSS MB (compile / whole)', 'wasm MB'],
    ok.map((r) => [r.services.toLocaleString('en-US'), f0(r.rules), mb(r.textBytes), r.reps, `${f0(r.parse.wall)} (${f0(r.parse.cpu)})`, `${f0(r.compile.wall)} (${f0(r.compile.cpu)})`,
      `${f0(r.parse.wall + r.compile.wall)} (${f0(r.parse.cpu + r.compile.cpu)})`, `${f0(r.compileLinear.wall)} (${f0(r.compileLinear.cpu)})`,
      `${mb(r.imageBytes)} (${mb(r.imageBytesLinear)})`, r.kubeServices ? `${r.kubeServices.rules} rules, ${r.kubeServices.structure}` : '-',
      mb(r.rssAfterCompile), `${mb(r.peakRssCompile)} / ${mb(r.peakRss)}`, mb(r.wasmMemory)])));
  o.push('');
  o.push(`Replay, single worker (batches in memory; time = copy into wasm + processBatch). Each repetition: a fresh engine, ${ok[0]?.warmSyns ?? '-'} SYNs untimed, a full GC, then the timed packets.`);
  o.push(`New connections: the other ${(NEW - (ok[0]?.warmSyns ?? 0)).toLocaleString('en-US')} of ${NEW.toLocaleString('en-US')} SYNs from 500 outside clients to the Services (k8s traffic --syn-only; DNAT + MASQUERADE); --linear on the next "linear SYNs" only (at large sizes a --linear SYN walks all of KUBE-SERVICES), with the trees timed again on the same SYNs for the ratio, and both engines' counters compared.`);
  o.push('"same, to 100 Services only": the trees with the same number of SYNs to the first 100 Services of this rule set (the 100-Service capture), i.e. this rule set with the 100-Service working set.');
  o.push(`Established: ${EST_CONNS} connections set up untimed (SYN, SYN-ACK, ACK), then ${EST.toLocaleString('en-US')} ACKs in both directions. "GC ms": V8 collection inside the fastest timed trees repetition.`);
  o.push(table(['services', 'new pps trees', 'same, to 100 Services only', 'linear SYNs', 'new pps trees (same SYNs)', 'new pps --linear', 'trees/linear (cpu)', 'counters', 'est pps trees', 'est pps --linear', 'trees/linear (cpu)', 'forwarded new / est', 'GC ms new / est'],
    ok.map((r) => {
      const nt = kpps(r.newConn.packets, r.newConn.wall), ntc = kpps(r.newConn.packets, r.newConn.cpu);
      const tp = kpps(r.newTreePrefix.packets, r.newTreePrefix.wall), lp = kpps(r.newLinear.packets, r.newLinear.wall);
      const tpc = kpps(r.newTreePrefix.packets, r.newTreePrefix.cpu), lpc = kpps(r.newLinear.packets, r.newLinear.cpu);
      const et = kpps(r.est.packets, r.est.wall), el = kpps(r.estLinear.packets, r.estLinear.wall);
      const etc = kpps(r.est.packets, r.est.cpu), elc = kpps(r.estLinear.packets, r.estLinear.cpu);
      const n100 = r.newConn100 ? `${fk(kpps(r.newConn100.packets, r.newConn100.wall))} (${fk(kpps(r.newConn100.packets, r.newConn100.cpu))})${r.newConn100.forwarded === r.newConn100.sent ? '' : ' !!fwd'}` : '-';
      return [r.services.toLocaleString('en-US'), `${fk(nt)} (${fk(ntc)})`, n100, f0(r.newLinear.packets), `${fk(tp)} (${fk(tpc)})`, `${fk(lp)} (${fk(lpc)})`,
        `${(tp / lp).toFixed(1)}× (${(tpc / lpc).toFixed(1)}×)`, r.sameCounters ? 'identical' : 'DIFFER',
        `${fk(et)} (${fk(etc)})`, `${fk(el)} (${fk(elc)})`, `${(et / el).toFixed(2)}× (${(etc / elc).toFixed(2)}×)`,
        `${f0(r.newConn.forwarded)}/${f0(r.newConn.sent)} / ${f0(r.est.forwarded)}/${f0(r.est.packets)}`, `${f0(r.newConn.gc)} / ${f0(r.est.gc)}`];
    })));
  o.push('(pps columns: wall-clock rate, with the rate per CPU-second in brackets)');
  o.push('');
  o.push('Reports `nfreplay replay` writes, on the counters of the new-connection run (one repetition each; wall ms, CPU ms in brackets, output MB): text = formatTables + formatTotals; fairness = fairness() + formatFairness (part of the text report); --json = buildJson (here computing fairness() itself; the CLI hands it the one the text report computed) + JSON.stringify.');
  o.push(table(['services', 'text', 'fairness', '--save-counters', '--json', '--conntrack', 'all reports / parse+compile (cpu)'],
    ok.filter((r) => r.reports).map((r) => {
      const x = r.reports, c = (v) => `${f0(v.wall)} (${f0(v.cpu)})${v.bytes ? `, ${(v.bytes / 1e6).toFixed(1)}` : ''}`;
      const all = ['tables', 'fairness', 'saveCounters', 'json', 'conntrack'].reduce((a, key) => a + x[key].cpu, 0);
      return [r.services.toLocaleString('en-US'), c(x.tables), c(x.fairness), c(x.saveCounters), c(x.json), c(x.conntrack), `${(all / (r.parse.cpu + r.compile.cpu)).toFixed(2)}×`];
    })));
  o.push('');
  if (kernelWhy) o.push(`Kernel iptables-legacy-restore: not measured (${kernelWhy}).`);
  else {
    o.push('Kernel: `ip netns exec nfr-bench-PID iptables-legacy-restore -w 60 < rules` into a freshly created namespace (deleted after), best of N (1 at 20,000), wall ms with user+sys CPU ms in brackets; ratio = kernel / our parse+compile (trees).');
    o.push(table(['services', 'N', 'iptables-legacy-restore ms', 'ours parse+compile ms', 'kernel / ours (cpu)', 'rules read back by iptables-legacy-save'],
      ok.map((r) => {
        const k = r.kernel;
        if (!k || k.err) return [r.services.toLocaleString('en-US'), '-', k?.err ?? '-', '', '', ''];
        const ours = r.parse.wall + r.compile.wall, oursc = r.parse.cpu + r.compile.cpu;
        return [r.services.toLocaleString('en-US'), k.reps, `${f0(k.wall)} (${f0(k.cpu)})`, `${f0(ours)} (${f0(oursc)})`, `${(k.wall / ours).toFixed(2)}× (${(k.cpu / oursc).toFixed(2)}×)`, `${f0(k.savedRules)} of ${f0(r.rules)}`];
      })));
  }
  o.push('');
  o.push('Targets (issue 7):');
  const t10 = by(10000), t100 = by(100);
  if (t10) {
    const pc = t10.parse.wall + t10.compile.wall, pcc = t10.parse.cpu + t10.compile.cpu;
    o.push(`  10,000 services parsed and compiled in <= 1 s: ${f0(pc)} ms wall (${f0(pcc)} ms CPU): ${pc <= 1000 ? 'met' : pcc <= 1000 ? 'met in CPU time, not in wall time' : 'NOT met'}`);
  } else o.push('  10,000 services parsed and compiled in <= 1 s: size not run');
  if (t10 && t100) {
    const cost = (r, k) => r[k].wall / r[k].packets, costc = (r, k) => r[k].cpu / r[k].packets;
    for (const [k, name] of [['newConn', 'new connections'], ['est', 'established']]) {
      const x = cost(t10, k) / cost(t100, k), xc = costc(t10, k) / costc(t100, k);
      o.push(`  replay at 10,000 services within 1.5× of the cost at 100 (${name}, trees): ${x.toFixed(2)}× wall (${xc.toFixed(2)}× CPU): ${x <= 1.5 ? 'met' : xc <= 1.5 ? 'met in CPU time, not in wall time' : 'NOT met'}`);
    }
  } else o.push('  replay at 10,000 within 1.5× of 100: sizes not run');
  if (t10) {
    const x = (t10.newTreePrefix.packets / t10.newTreePrefix.wall) / (t10.newLinear.packets / t10.newLinear.wall);
    const xc = (t10.newTreePrefix.packets / t10.newTreePrefix.cpu) / (t10.newLinear.packets / t10.newLinear.cpu);
    o.push(`  10,000-service new-connection rate >= 100× the --linear rate: ${x.toFixed(1)}× wall (${xc.toFixed(1)}× CPU): ${x >= 100 ? 'met' : xc >= 100 ? 'met in CPU time, not in wall time' : 'NOT met'}`);
  } else o.push('  10,000-service new-connection rate >= 100× --linear: size not run');
  for (const r of rows.filter((x) => x.failed)) o.push(`  !! ${r.services}: the child process failed`);
  process.stdout.write(`${o.join('\n')}\n`);
}

if (args.child) await child(Number(args.child));
else await main();
