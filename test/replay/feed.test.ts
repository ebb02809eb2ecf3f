// The raw classic-pcap feed (src/replay/feed.ts: file bytes read straight into the core, records
// framed by the core's pcapFrame) against the general path (readCapture + loadBatch, which the
// pcap tests check against pcap-parser): same counters, stats, drops in the same order, same last
// timestamp, same conntrack table, same errors — for both byte orders and timestamp units, and
// with chunks and batches small enough that records straddle chunk ends and one record is larger
// than a chunk. The pool's chunker (PcapChunks) is checked against the reader the same way, and
// the worker's core reset (core.ts resetCore) against a fresh instance, byte for byte.
import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { cleanup, cli, rng, tmp, masqRules, compiledRules } from './helpers.js';
import { PcapWriter } from '../../src/pcap/writer.js';
import { buildFrame } from '../../src/pcap/craft.js';
import { readAllPackets } from '../../src/pcap/reader.js';

afterAll(cleanup);

const dist = (m: string) => import(new URL(`../../dist/${m}`, import.meta.url).href);

const RULES = masqRules('-p tcp -m tcp --dport 23 -j DROP');

/** UDP flows out through MASQUERADE with replies, some telnet SYNs (dropped by rule 3), others
 * dropped by the policy; payloads of random length (so records straddle any chunk end), and one
 * 6000-byte frame (larger than the 4 KiB test chunks). Returns the packet count. */
function capture(path: string, opts: { nanosecond?: boolean; bigEndian?: boolean }, n = 1500): number {
  const r = rng(11);
  const w = new PcapWriter(path, { linktype: 1, ...opts });
  let k = 0;
  const t = () => { k++; return [1700000000 + Math.floor(k / 1000), (k % 1000) * 997_003 + (opts.nanosecond ? 17 : 0)] as const; };
  for (let i = 0; i < n; i++) {
    const sport = 20000 + Math.floor(r() * 500);
    const [s, ns] = t();
    w.writePacket(s, ns, buildFrame({ src: `192.0.2.${10 + (i % 40)}`, dst: '203.0.113.5', proto: 'udp', sport, dport: 53, payload: Math.floor(r() * 300) }));
    const [s2, ns2] = t();
    w.writePacket(s2, ns2, buildFrame({ src: '203.0.113.5', dst: '198.51.100.1', proto: 'udp', sport: 53, dport: sport, payload: Math.floor(r() * 300) }));
    if (i % 7 === 0) { const [s3, ns3] = t(); w.writePacket(s3, ns3, buildFrame({ src: '203.0.113.9', dst: '192.0.2.20', proto: 'tcp', sport: 4000 + i, dport: 23, flags: 'S' })); }
    if (i % 11 === 0) { const [s4, ns4] = t(); w.writePacket(s4, ns4, buildFrame({ src: '203.0.113.9', dst: '192.0.2.20', proto: 'udp', sport: 4000, dport: 9, payload: 4 })); }
    if (i === 700) { const [s5, ns5] = t(); w.writePacket(s5, ns5, buildFrame({ src: '192.0.2.10', dst: '203.0.113.5', proto: 'udp', sport: 999, dport: 53, payload: 6000 - 42 })); }
  }
  w.close();
  return k;
}

async function engineRun(path: string, feed: Record<string, unknown>) {
  const { Engine, replayCapture, formatConntrack, compiled } = await compiledRules(RULES);
  const e = new Engine(compiled);
  const out: string[] = [];
  const r = await replayCapture(e, path, { hostNames: compiled.ifaceNames, sink: () => (s: number, ns: number, f: Uint8Array, wl: number) => out.push(`${s}.${ns} ${wl} ${Buffer.from(f).toString('hex')}`), ...feed });
  return {
    packets: e.packets, lastTsSec: e.lastTsSec, lastTsNsec: e.lastTsNsec, counters: e.counters(), stats: e.stats(),
    drops: [...r.drops.entries()], error: r.captureError?.message ?? null, info: r.info, out,
    ct: formatConntrack(e.core.memory.buffer, e.ctAddr, e.lastJiffies(), compiled.hz),
  };
}

describe('raw classic pcap feed (single worker)', () => {
  for (const opts of [{}, { nanosecond: true }, { bigEndian: true }, { bigEndian: true, nanosecond: true }]) {
    it(`same outcome as the general reader: ${JSON.stringify(opts)}`, async () => {
      const d = tmp();
      const n = capture(join(d, 'in.pcap'), opts);
      const general = await engineRun(join(d, 'in.pcap'), { general: true });
      expect(general.packets).toBe(n);
      expect(general.drops.length).toBe(2); // rule 3 (telnet) and the FORWARD policy
      expect(general.out.length).toBeGreaterThan(n / 2);
      for (const feed of [{}, { chunkBytes: 4096, batch: 7 }, { chunkBytes: 1000, batch: 1 }]) {
        expect(await engineRun(join(d, 'in.pcap'), feed), JSON.stringify(feed)).toStrictEqual(general);
      }
    }, 60000);
  }

  it('a record larger than the data area (5 MiB, snaplen 8 MiB) between small ones', async () => {
    const d = tmp();
    const w = new PcapWriter(join(d, 'big.pcap'), { linktype: 1, snaplen: 8 << 20 });
    const small = buildFrame({ src: '192.0.2.10', dst: '203.0.113.5', proto: 'udp', sport: 1000, dport: 53, payload: 20 });
    for (let i = 0; i < 50; i++) w.writePacket(1700000000, i * 1000, small);
    const big = new Uint8Array(5 << 20).fill(0x5a); // not IP: counted and passed over
    w.writePacket(1700000000, 50_000, big);
    for (let i = 51; i < 100; i++) w.writePacket(1700000000, i * 1000, small);
    w.close();
    const general = await engineRun(join(d, 'big.pcap'), { general: true });
    expect(general.packets).toBe(100);
    expect(general.error).toBeNull();
    for (const feed of [{}, { chunkBytes: 1 << 20, batch: 16 }, { chunkBytes: 4096 }]) {
      expect(await engineRun(join(d, 'big.pcap'), feed), JSON.stringify(feed)).toStrictEqual(general);
    }
  }, 60000);

  it('damaged files: the same error and the packets before it, as the reader', async () => {
    const d = tmp();
    capture(join(d, 'in.pcap'), {}, 200);
    const b = readFileSync(join(d, 'in.pcap'));
    // cut inside the last record; and a record whose caplen is absurd (the 101st record's header)
    writeFileSync(join(d, 'cut.pcap'), b.subarray(0, b.length - 5));
    const bad = Buffer.from(b);
    let at = 24;
    for (let i = 0; i < 100; i++) at += 16 + bad.readUInt32LE(at + 8);
    bad.writeUInt32LE(0x7fffffff, at + 8);
    writeFileSync(join(d, 'bad.pcap'), bad);
    for (const f of ['cut.pcap', 'bad.pcap']) {
      const general = await engineRun(join(d, f), { general: true });
      expect(general.error).toMatch(f === 'cut.pcap' ? /truncated packet record at byte \d+ \(packet \d+\)/ : new RegExp(`caplen 2147483647 exceeds .* at byte ${at} \\(packet 101\\)`));
      for (const feed of [{}, { chunkBytes: 4096, batch: 7 }]) expect(await engineRun(join(d, f), feed)).toStrictEqual(general);
    }
  }, 60000);
});

describe('pool chunker', () => {
  it('batches of whole records, ordinals and timestamps as the reader has them, across chunk seams', async () => {
    const { openClassicPcap, PcapChunks } = await dist('replay/feed.js');
    const d = tmp();
    for (const opts of [{}, { bigEndian: true, nanosecond: true }]) {
      capture(join(d, 'in.pcap'), opts, 300);
      const ref = await readAllPackets(join(d, 'in.pcap'));
      for (const chunk of [4096, 1 << 20]) {
        const c = new PcapChunks(openClassicPcap(join(d, 'in.pcap'), 'in'), 50, chunk);
        const got: { ord: number; frame: string; caplen: number }[] = [];
        const last: number[][] = [];
        for (let x = c.next(undefined); x; x = c.next(undefined)) {
          for (const b of x.batches) {
            expect(b.n).toBeLessThanOrEqual(50);
            // walk the batch's records as a worker's core would
            const dv = new DataView(x.sab, b.off, b.len);
            let p = 0;
            for (let i = 0; i < b.n; i++) {
              const cl = dv.getUint32(p + 8, !opts.bigEndian);
              got.push({ ord: b.ord + i, caplen: cl, frame: Buffer.from(new Uint8Array(x.sab, b.off + p + 16, cl)).toString('hex') });
              p += 16 + cl;
            }
            expect(p).toBe(b.len);
            last.push([b.tsSec, b.tsNsec]);
          }
        }
        c.close();
        expect(got.map((g) => g.ord)).toStrictEqual(ref.packets.map((p) => p.ordinal));
        expect(got.map((g) => g.frame)).toStrictEqual(ref.packets.map((p) => Buffer.from(p.frame).toString('hex')));
        const lp = ref.packets[ref.packets.length - 1];
        expect(last[last.length - 1]).toStrictEqual([lp.tsSec, lp.tsNsec]);
      }
    }
  }, 60000);

  it('the pool with 4 KiB chunks prints what one worker prints (raw batches across seams)', () => {
    const d = tmp();
    capture(join(d, 'in.pcap'), { nanosecond: true });
    writeFileSync(join(d, 'rules'), RULES);
    const run = (w: number, env: Record<string, string> = {}) => cli(['replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'in.pcap'), '--workers', String(w), '--quiet',
      '--conntrack', join(d, `ct${w}`), '--out', join(d, `out${w}`)], 120000, env);
    const one = run(1), three = run(3, { NFREPLAY_TEST_CHUNK_BYTES: '4096' });
    expect(one.status, one.stderr).toBe(0);
    expect(three.status, three.stderr).toBe(0);
    expect(three.stdout).toBe(one.stdout);
    expect(readFileSync(join(d, 'ct3'), 'utf8')).toBe(readFileSync(join(d, 'ct1'), 'utf8'));
    expect(Buffer.compare(readFileSync(join(d, 'out3')), readFileSync(join(d, 'out1')))).toBe(0);
  }, 120000);
});

describe('worker core reset', () => {
  it('a reset core set up and run again is byte for byte a fresh one that ran once', async () => {
    const { resettableCoreModule, instantiateCore, resetCore } = await dist('replay/core.js');
    const { Engine, replayCapture, compiled } = await compiledRules(RULES);
    const d = tmp();
    capture(join(d, 'a.pcap'), {}, 400);
    capture(join(d, 'b.pcap'), { nanosecond: true }, 300);
    const { module, plan } = resettableCoreModule();
    expect(plan.globals.length).toBeGreaterThan(20);
    const state = (core: Record<string, unknown> & { memory: WebAssembly.Memory; reservedTop(): number }) => ({
      globals: plan.globals.map((g: { name: string }) => (core[g.name] as WebAssembly.Global).value),
      mem: Buffer.from(new Uint8Array(core.memory.buffer, 0, core.reservedTop() >>> 0)),
    });
    // A: runs a.pcap, is reset, runs b.pcap; B: fresh, runs b.pcap
    const a = instantiateCore(module);
    await replayCapture(new Engine(compiled, a), join(d, 'a.pcap'), { hostNames: compiled.ifaceNames });
    resetCore(a, plan);
    const ea = new Engine(compiled, a);
    await replayCapture(ea, join(d, 'b.pcap'), { hostNames: compiled.ifaceNames });
    const b = instantiateCore(module);
    const eb = new Engine(compiled, b);
    await replayCapture(eb, join(d, 'b.pcap'), { hostNames: compiled.ifaceNames });
    expect(ea.counters()).toStrictEqual(eb.counters());
    const sa = state(a), sb = state(b);
    expect(sa.globals).toStrictEqual(sb.globals);
    expect(sa.mem.length).toBe(sb.mem.length);
    expect(Buffer.compare(sa.mem, sb.mem)).toBe(0);
  }, 60000);
});
