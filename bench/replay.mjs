// npm run bench:replay — end-to-end replay rate of `nfreplay replay` with 1 and 2 workers on a
// generated capture (≥5M packets, kept in bench/data/, git-ignored), in the same run as
// `tcpdump -r F -w /dev/null` and pcap-parser reading the same file; printed as ratios.
// Not a test. Needs `npm run build`. Options: --packets N (default 5000000), --flows N (default
// 100000), --nat (add a MASQUERADE + port-forward so replies cross shards), --regen, --reps N
// (rounds of the end-to-end runs and tcpdump, default 3: each row is the best wall of N, with
// that run's CPU-s), --compare DIR (also run DIR/bin/nfreplay.js, e.g. a git worktree of another
// commit built with `npm run build`, in the same rounds: before/after on the same machine load).
//
// Traffic: UDP request/response flows, 14+20+8+18 = 60-byte frames, flows interleaved 1000 at a
// time, replies from the server (with --nat: to a DNATed address, replies to the MASQUERADE
// address, so every reply needs its connection's NAT entry); IPv4 header checksums right, UDP checksum 0 (none). Ruleset:
// a stateful filter (ESTABLISHED first, 200 non-matching ACL rules, then the service port), so
// every packet meets conntrack and the rule walk.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, openSync, writeSync, closeSync, statSync, writeFileSync, renameSync, createReadStream } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { loadavg, cpus } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: a } = parseArgs({ options: {
  packets: { type: 'string', default: '5000000' }, flows: { type: 'string', default: '100000' },
  nat: { type: 'boolean', default: false }, regen: { type: 'boolean', default: false },
  reps: { type: 'string', default: '3' }, compare: { type: 'string' },
} });
const REPS = Math.max(1, Number(a.reps));
const N = Number(a.packets), FLOWS = Number(a.flows), PER = Math.max(2, Math.floor(N / FLOWS)), W = 1000;
const data = join(root, 'bench/data');
const pcap = join(data, `replay-${N}-${FLOWS}${a.nat ? '-nat' : ''}.pcap`);

function gen() {
  const FR = 60, REC = 16 + FR, CH = 65536;
  const fd = openSync(`${pcap}.tmp`, 'w');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0); hdr.writeUInt16LE(2, 4); hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16); hdr.writeUInt32LE(1, 20);
  writeSync(fd, hdr);
  const buf = Buffer.alloc(CH * REC);
  const tpl = Buffer.alloc(FR);
  Buffer.from('020000000002020000000001', 'hex').copy(tpl, 0); tpl.writeUInt16BE(0x0800, 12);
  tpl[14] = 0x45; tpl.writeUInt16BE(FR - 14, 16); tpl[22] = 64; tpl[23] = 17; tpl.writeUInt16BE(FR - 34, 38);
  let p = 0;
  for (let i = 0; i < N; i++) {
    const blk = Math.floor(i / (W * PER)), j = i % (W * PER);
    const f = (blk * W + (j % W)) % FLOWS, k = Math.floor(j / W);
    const cl = [203, 0, 113, 1 + (f % 250)], sv = [198, 51, 100, 2 + (Math.floor(f / 250) % 200)];
    // --nat: every request goes to 198.51.100.2 (DNAT to .3, MASQUERADE to 198.51.100.1, client
    // port kept); replies come from .3 to 198.51.100.1 at the client's port, as on the wire
    const up0 = k % 2 === 0;
    const natS = up0 ? cl : [198, 51, 100, 3], natD = up0 ? [198, 51, 100, 2] : [198, 51, 100, 1];
    const cport = 1024 + (Math.floor(f / 50000) * 7 + f) % 60000;
    const up = k % 2 === 0;
    const o = p * REC;
    const us = i; // 1 µs apart
    buf.writeUInt32LE(1700000000 + Math.floor(us / 1e6), o); buf.writeUInt32LE(us % 1e6, o + 4);
    buf.writeUInt32LE(FR, o + 8); buf.writeUInt32LE(FR, o + 12);
    const fo = o + 16;
    tpl.copy(buf, fo);
    buf.writeUInt16BE(i & 0xffff, fo + 18);
    const s = a.nat ? natS : up ? cl : sv, d = a.nat ? natD : up ? sv : cl;
    for (let b = 0; b < 4; b++) { buf[fo + 26 + b] = s[b]; buf[fo + 30 + b] = d[b]; }
    buf.writeUInt16BE(up ? cport : 53, fo + 34); buf.writeUInt16BE(up ? 53 : cport, fo + 36);
    let sum = 0;
    for (let b = 0; b < 20; b += 2) sum += (buf[fo + 14 + b] << 8) | buf[fo + 15 + b];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    buf.writeUInt16BE(~sum & 0xffff, fo + 24);
    if (++p === CH) { writeSync(fd, buf); p = 0; }
  }
  if (p) writeSync(fd, buf.subarray(0, p * REC));
  closeSync(fd);
  renameSync(`${pcap}.tmp`, pcap);
}

const acl = Array.from({ length: 200 }, (_, i) => `-A FORWARD -s 10.${i >> 4}.${i & 15}.0/24 -p tcp -m tcp --dport ${1000 + i} -j DROP`).join('\n');
const rules = `${a.nat ? `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 198.51.100.2/32 -p udp -m udp --dport 53 -j DNAT --to-destination 198.51.100.3:53
-A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
` : ''}*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
${acl}
-A FORWARD -p udp -m udp --dport 53 -j ACCEPT
COMMIT
`;
const rulesPath = join(data, a.nat ? 'replay-nat.rules' : 'replay.rules');
writeFileSync(rulesPath, rules);

if (a.regen || !existsSync(pcap)) {
  const t = Date.now();
  process.stderr.write(`generating ${pcap} (${N} packets, ${FLOWS} flows)...\n`);
  gen();
  process.stderr.write(`  ${((Date.now() - t) / 1000).toFixed(1)} s, ${(statSync(pcap).size / 1e6).toFixed(0)} MB\n`);
}

const secs = (f) => { const t = process.hrtime.bigint(); const r = f(); return [Number(process.hrtime.bigint() - t) / 1e9, r]; };
const results = {};
/** CPU seconds (user + sys) of children, from /usr/bin/time when present. */
const hasTime = existsSync('/usr/bin/time');
const cpu = {};
function timed(cmd, args, label) {
  const full = hasTime ? ['/usr/bin/time', ['-f', 'CPU %U %S', cmd, ...args]] : [cmd, args];
  const [s, r] = secs(() => spawnSync(full[0], full[1], { encoding: 'utf8', maxBuffer: 64 << 20 }));
  const m = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr ?? '');
  if (m) cpu[label] = Number(m[1]) + Number(m[2]);
  return [s, r];
}

// pcap-parser reading the file
{
  const require = createRequire(import.meta.url);
  const pp = require('pcap-parser');
  const t = process.hrtime.bigint();
  const n = await new Promise((res, rej) => {
    let c = 0;
    const p = pp.parse(createReadStream(pcap, { highWaterMark: 4 << 20 }));
    p.on('packet', () => { c++; });
    p.on('end', () => res(c));
    p.on('error', rej);
  });
  if (n !== N) throw new Error(`pcap-parser read ${n} packets, expected ${N}`);
  results['pcap-parser'] = N / (Number(process.hrtime.bigint() - t) / 1e9);
}
// our reader alone
{
  const { readCapture } = await import(join(root, 'dist/pcap/reader.js'));
  const t = process.hrtime.bigint();
  let n = 0;
  for await (const b of readCapture(pcap)) n += b.count;
  if (n !== N) throw new Error(`reader read ${n} packets`);
  results['nfreplay reader'] = N / (Number(process.hrtime.bigint() - t) / 1e9);
}
// the pool's main thread alone: classic pcap records into shared buffers (the caplen walk)
{
  const { openClassicPcap, PcapChunks } = await import(join(root, 'dist/replay/feed.js'));
  const t = process.hrtime.bigint();
  const c = new PcapChunks(openClassicPcap(pcap, pcap), 16384);
  let n = 0, sab;
  for (let x = c.next(sab); x; x = c.next(sab)) { sab = x.sab; for (const b of x.batches) n += b.n; }
  c.close();
  if (n !== N) throw new Error(`chunker read ${n} packets`);
  results['nfreplay raw chunker'] = N / (Number(process.hrtime.bigint() - t) / 1e9);
}
// end to end, and tcpdump: REPS rounds, each running every command once (so a change of the
// machine's load hits all of them alike); the best wall time of each is reported with its CPU
const hasTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const runs = [];
if (hasTcpdump) runs.push({ label: 'tcpdump', cmd: 'tcpdump', args: ['-r', pcap, '-w', '/dev/null'] });
const builds = [[root, '']];
if (a.compare) builds.push([a.compare, ` (${a.compare})`]);
for (const [dir, tag] of builds) {
  for (const w of [1, 2]) {
    runs.push({ label: `replay ${w} worker${w > 1 ? 's' : ''}${tag}`, w, tag, cmd: process.execPath,
      args: [join(dir, 'bin/nfreplay.js'), 'replay', '--rules', rulesPath, '--pcap', pcap, '--workers', String(w)] });
  }
}
const outs = {};
const walls = {};
const loads = [loadavg()[0]];
for (let rep = 0; rep < REPS; rep++) {
  for (const r of runs) {
    const [s, p] = timed(r.cmd, r.args, r.label);
    p.stderr = (p.stderr ?? '').replace(/CPU [\d.]+ [\d.]+\s*$/, '');
    if (p.status !== 0) throw new Error(`${r.label} failed: ${p.stderr}`);
    (walls[r.label] ??= []).push([s, cpu[r.label]]);
    if (r.w) outs[r.label] = p.stdout;
    if (rep === 0 && r.w && p.stderr.trim()) process.stderr.write(`  [${r.label}] ${p.stderr.trim()}\n`);
  }
  loads.push(loadavg()[0]);
}
for (const [label, l] of Object.entries(walls)) {
  const best = l.reduce((x, y) => (y[0] < x[0] ? y : x));
  results[label] = N / best[0];
  cpu[label] = best[1];
}
// 1 and 2 workers of one build print the same report (builds may differ, e.g. in bytes per connection)
const same = builds.every(([, tag]) => outs[`replay 1 worker${tag}`] === outs[`replay 2 workers${tag}`]);

const M = (x) => `${(x / 1e6).toFixed(2)} Mpps`;
console.log(`nfreplay bench:replay — ${N} packets, ${FLOWS} flows${a.nat ? ', NAT' : ''}, ${new Date().toISOString()}`);
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load (1 min) before and after each round: ${loads.map((x) => x.toFixed(2)).join(' ')}`);
console.log(`end-to-end rows: best wall of ${REPS} rounds (and that run's CPU-s)`);
console.log(`rates (wall clock; and per CPU-second, user+sys of all threads, where measured):`);
for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(22)} ${M(v)}${cpu[k] ? `   ${M(N / cpu[k])} per CPU-s (${cpu[k].toFixed(2)} CPU-s)` : ''}`);
const r1 = results['replay 1 worker'], r2 = results['replay 2 workers'];
console.log(`ratios:`);
console.log(`  2 workers / 1 worker          ${(r2 / r1).toFixed(2)}x   (target >= 1.8)`);
if (results.tcpdump) console.log(`  1 worker / tcpdump -r         ${(r1 / results.tcpdump * 100).toFixed(1)}%   (target >= 40%)`);
if (results.tcpdump) console.log(`  pcap-parser / tcpdump -r      ${(results['pcap-parser'] / results.tcpdump * 100).toFixed(1)}%`);
console.log(`  1 worker / pcap-parser        ${(r1 / results['pcap-parser']).toFixed(2)}x`);
if (cpu['replay 1 worker'] && cpu['replay 2 workers']) console.log(`  CPU-s 2 workers / 1 worker     ${(cpu['replay 2 workers'] / cpu['replay 1 worker']).toFixed(2)}x   (the pool's extra work; 2 workers can at best be ${(2 * cpu['replay 1 worker'] / cpu['replay 2 workers']).toFixed(2)}x faster on 2 idle cores)`);
console.log(`reports of 1 and 2 workers identical (each build): ${same ? 'yes' : 'NO'}`);
if (a.compare) {
  const c1 = results[`replay 1 worker (${a.compare})`], c2 = results[`replay 2 workers (${a.compare})`];
  console.log(`compared with ${a.compare}: 1 worker ${(r1 / c1).toFixed(2)}x, 2 workers ${(r2 / c2).toFixed(2)}x as fast; its 2/1 ratio ${(c2 / c1).toFixed(2)}x`);
}
