// The raw pcapng feed (src/replay/feed.ts replayPcapng: file bytes read straight into the core,
// EPB/SPB framed by assembly/api-pcapng.ts pcapngFrame, every other block read by the reader's own
// code) against the general path (readCapture + loadBatch, which test/pcap checks block by block):
// random pcapng files (several sections in either byte order, interfaces of four link types with
// names the host has and has not, every timestamp resolution kind, if_tsoffset, options, SPBs,
// blocks the reader skips, IDBs between packets), intact, cut at every kind of seam and corrupted
// in every way the reader reports, replayed with chunks and batches that cut blocks anywhere. Every
// packet's descriptor (timestamp, lengths, link type, host interface, ordinal, verdict, frame
// bytes), the counters, stats, drops, forwarded frames (--out), conntrack table, info and the
// error message must be the same. The pool (raw pcapng batches framed by the workers) prints what
// one worker prints.
import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { cleanup, cli, rng, tmp, masqRules, CLI, compiledRules } from './helpers.js';
import { buildFrame, LINKTYPE_OF, type LinkKind } from '../../src/pcap/craft.js';

afterAll(cleanup);

const dist = (m: string) => import(new URL(`../../dist/${m}`, import.meta.url).href);

// the ingress interface matters: rule 3 drops telnet arriving on eth0 only
const RULES = masqRules('-i eth0 -p tcp -m tcp --dport 23 -j DROP', '-i eth1 -p udp --dport 9 -j DROP');

// ---------------------------------------------------------------- a pcapng generator

interface Blk { off: number; len: number; type: number; le: boolean; ifaces: number }

const te = new TextEncoder();
const KINDS: LinkKind[] = ['ether', 'raw', 'ipv4', 'sll', 'sll2'];
const NAMES = ['eth0', 'eth1', 'wlan9', null];
// if_tsresol bytes whose unit is at least 1 µs, finer ones, and absurd ones (t below 2^53 there)
const COARSE = [6, 6, 3, 0, 1, 5, 0x80 | 0, 0x80 | 10, 0x80 | 19];
const FINE = [9, 9, 7, 8, 10, 12, 15, 0x80 | 20, 0x80 | 30, 0x80 | 32, 0x80 | 33, 0x80 | 40, 0x80 | 53];
const HUGE = [19, 20, 25, 40, 127, 0x80 | 60, 0x80 | 64, 0x80 | 70, 0x80 | 100, 0x80 | 127];

class NgBuilder {
  parts: Uint8Array[] = [];
  size = 0;
  blocks: Blk[] = [];
  le = true;
  nIf = 0;
  block(type: number, body: Uint8Array): Blk {
    const pad = (4 - (body.length & 3)) & 3;
    const len = 12 + body.length + pad;
    const b = new Uint8Array(len);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, this.le);
    dv.setUint32(4, len, this.le);
    b.set(body, 8);
    dv.setUint32(len - 4, len, this.le);
    const blk = { off: this.size, len, type, le: this.le, ifaces: this.nIf };
    this.blocks.push(blk);
    this.parts.push(b);
    this.size += len;
    return blk;
  }
  options(opts: [number, Uint8Array][], end: boolean): Uint8Array {
    const out: number[] = [];
    const u16 = (v: number) => { const x = new Uint8Array(2); new DataView(x.buffer).setUint16(0, v, this.le); out.push(...x); };
    for (const [code, v] of opts) {
      u16(code); u16(v.length); out.push(...v);
      while (out.length & 3) out.push(0);
    }
    if (end) { u16(0); u16(0); }
    return Uint8Array.from(out);
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

function cat(...a: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(a.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of a) { out.set(x, o); o += x.length; }
  return out;
}

/** A random pcapng file. `fine`: interfaces may be finer than 1 µs, and then the file's first
 * interface is (the --out precision is decided by the interfaces known when the first packets
 * are read: the reader's first batch, the raw feed's first packet; the same answer this way). */
function randomPcapng(seed: number, fine: boolean): { bytes: Uint8Array; blocks: Blk[]; packets: number } {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const g = new NgBuilder();
  let ifaces: { kind: LinkKind; U: bigint; snaplen: number; tsOff: bigint; huge: boolean }[] = [];
  let packets = 0;
  let first = true;
  const sections = 1 + Math.floor(r() * 3);
  for (let s = 0; s < sections; s++) {
    g.le = r() < 0.5;
    ifaces = [];
    g.nIf = 0;
    const shbOpts = r() < 0.5 ? g.options([[2, te.encode('x86_64')], [3, te.encode('Linux')], [4, te.encode('gen')]], r() < 0.5) : new Uint8Array(0);
    const head = new Uint8Array(16);
    const dv = new DataView(head.buffer);
    dv.setUint32(0, 0x1a2b3c4d, g.le);
    dv.setUint16(4, 1, g.le);
    dv.setUint16(6, 0, g.le);
    dv.setBigInt64(8, -1n, g.le);
    g.block(0x0a0d0d0a, cat(head, shbOpts));
    const nb = 20 + Math.floor(r() * 80);
    for (let i = 0; i < nb; i++) {
      const x = r();
      if (ifaces.length === 0 || x < 0.06) {
        const kind = pick(KINDS);
        let resol = fine ? (r() < 0.15 ? pick(HUGE) : pick(r() < 0.5 ? COARSE : FINE)) : pick(COARSE);
        if (first && fine) resol = 9;
        first = false;
        const k = resol & 0x7f;
        const U = resol & 0x80 ? 1n << BigInt(k) : 10n ** BigInt(k);
        const snaplen = pick([0, 65535, 262144, 96, 1 << 20]);
        const name = pick(NAMES);
        const tsOff = r() < 0.3 ? BigInt(Math.floor(r() * 2000) - 1000) : 0n;
        const opts: [number, Uint8Array][] = [];
        if (r() < 0.3) opts.push([1, te.encode('a comment')]);
        if (name) opts.push([2, te.encode(r() < 0.3 ? name + '\0' : name)]);
        if (resol !== 6 || r() < 0.5) opts.push([9, Uint8Array.of(resol)]);
        if (tsOff !== 0n || r() < 0.1) { const o = new Uint8Array(8); new DataView(o.buffer).setBigInt64(0, tsOff, g.le); opts.push([14, o]); }
        if (r() < 0.2) opts.push([0x7777, Uint8Array.of(1, 2, 3)]);
        const body = new Uint8Array(8);
        const bv = new DataView(body.buffer);
        bv.setUint16(0, LINKTYPE_OF[kind], g.le);
        bv.setUint32(4, snaplen, g.le);
        g.block(1, cat(body, g.options(opts, r() < 0.6)));
        g.nIf++;
        ifaces.push({ kind, U, snaplen, tsOff, huge: U > 1n << 53n });
      } else if (x < 0.85) {
        const spb = x > 0.75;
        const ifid = spb ? 0 : Math.floor(r() * ifaces.length);
        const f = ifaces[ifid];
        const flow = Math.floor(r() * 30);
        const dir = r();
        const spec = dir < 0.45
          ? { src: `192.0.2.${10 + flow}`, dst: '203.0.113.5', proto: 'udp' as const, sport: 20000 + flow, dport: 53, payload: Math.floor(r() * 200) }
          : dir < 0.8 ? { src: '203.0.113.5', dst: '198.51.100.1', proto: 'udp' as const, sport: 53, dport: 20000 + flow, payload: Math.floor(r() * 200) }
          : dir < 0.9 ? { src: '203.0.113.9', dst: '192.0.2.20', proto: 'tcp' as const, sport: 4000 + flow, dport: 23, flags: 'S' }
          : { src: '203.0.113.9', dst: '192.0.2.20', proto: 'udp' as const, sport: 4000, dport: 9, payload: 4 };
        const frame = buildFrame({ link: f.kind, ...spec });
        let cap = frame.length;
        if (r() < 0.1) cap = Math.floor(r() * frame.length);
        if (f.snaplen > 0 && cap > f.snaplen && !spb) cap = f.snaplen;
        const wl = frame.length + (r() < 0.05 ? 100 : 0);
        if (spb) {
          const body = new Uint8Array(4);
          new DataView(body.buffer).setUint32(0, wl, g.le);
          g.block(3, cat(body, frame.subarray(0, cap)));
        } else {
          let t: bigint;
          if (f.huge) t = BigInt(Math.floor(r() * 2 ** 53));
          else {
            const sec = BigInt(1700000000 + packets + Math.floor(r() * 3));
            const frac = BigInt(Math.floor(r() * 2 ** 53)) % f.U;
            t = (sec * f.U + frac) & ((1n << 64n) - 1n);
          }
          const body = new Uint8Array(20);
          const bv = new DataView(body.buffer);
          bv.setUint32(0, ifid, g.le);
          bv.setUint32(4, Number(t >> 32n), g.le);
          bv.setUint32(8, Number(t & 0xffffffffn), g.le);
          bv.setUint32(12, cap, g.le);
          bv.setUint32(16, wl, g.le);
          const padded = new Uint8Array((cap + 3) & ~3);
          padded.set(frame.subarray(0, cap));
          const opts = r() < 0.2 ? g.options([[2, Uint8Array.of(0, 0, 0, 1)], [1, te.encode('pkt')]], r() < 0.5) : new Uint8Array(0);
          g.block(6, cat(body, padded, opts));
        }
        packets++;
      } else {
        // blocks the reader skips: OPB, NRB, ISB, DSB, custom (both), unknown
        const type = pick([2, 4, 5, 10, 0xbad, 0x40000bad, 0x1234567]);
        const n = Math.floor(r() * 40);
        g.block(type, Uint8Array.from({ length: n }, () => Math.floor(r() * 256)));
      }
    }
  }
  return { bytes: g.bytes(), blocks: g.blocks, packets };
}

/** Damaged variants of a file: cuts at every kind of seam, and each corruption the reader reports. */
function damaged(bytes: Uint8Array, blocks: Blk[], seed: number): [string, Uint8Array][] {
  const r = rng(seed);
  const out: [string, Uint8Array][] = [];
  const pickBlk = (pred: (b: Blk) => boolean) => { const c = blocks.filter(pred).slice(1); return c.length ? c[Math.floor(r() * c.length)] : null; };
  const kinds: [string, (b: Blk) => boolean][] = [['epb', (b) => b.type === 6], ['spb', (b) => b.type === 3], ['idb', (b) => b.type === 1], ['shb', (b) => b.type === 0x0a0d0d0a], ['other', (b) => ![1, 3, 6, 0x0a0d0d0a].includes(b.type)]];
  for (const [k, pred] of kinds) {
    const b = pickBlk(pred);
    if (!b) continue;
    // cuts: at the block's start (a whole file before it), inside its header, its body, its trailer
    for (const at of [b.off, b.off + 2, b.off + 8, b.off + Math.floor(b.len / 2), b.off + b.len - 1]) out.push([`cut ${k} +${at - b.off}`, bytes.slice(0, at)]);
    const put = (name: string, off: number, v: number) => { const c = bytes.slice(); new DataView(c.buffer).setUint32(b.off + off, v, b.le); out.push([`${name} ${k}`, c]); };
    put('length 13', 4, 13);
    put('length 8', 4, 8);
    put('length 32 MiB', 4, 32 << 20);
    put('trailer', b.len - 4, b.len + 4);
    if (b.type === 6) {
      put('caplen over block', 20, b.len);
      put('caplen huge', 20, 0xfffffff0);
      put('undefined interface', 8, b.ifaces);
    }
    if (b.type === 0x0a0d0d0a) { put('byte-order magic', 8, 0x01020304); put('version', 12, 0x00000002); }
  }
  // a new section whose first packet is an SPB (no interface yet)
  const shb = pickBlk((b) => b.type === 0x0a0d0d0a);
  if (shb) {
    const c = bytes.slice();
    const spb = new Uint8Array(20);
    const sv = new DataView(spb.buffer);
    sv.setUint32(0, 3, shb.le); sv.setUint32(4, 20, shb.le); sv.setUint32(8, 4, shb.le); sv.setUint32(16, 20, shb.le);
    out.push(['spb before idb', cat(c.subarray(0, shb.off + shb.len), spb, c.subarray(shb.off + shb.len))]);
  }
  return out;
}

// ---------------------------------------------------------------- the two feeds

let rules: Awaited<ReturnType<typeof compiledRules>> | null = null;

async function engineRun(path: string, feed: Record<string, unknown>) {
  rules ??= await compiledRules(RULES);
  const { Engine, replayCapture, formatConntrack, compiled } = rules;
  const e = new Engine(compiled);
  const out: string[] = [];
  // every packet's descriptor as the core ran it (the frame by its bytes, not its address)
  const descs: string[] = [];
  let seen = 0;
  const onBatch = () => {
    const n = e.packets - seen;
    const mem = e.core.memory.buffer;
    const at = (e as unknown as { descAddr: number }).descAddr;
    const w = new Uint32Array(mem, at, n * 8);
    for (let i = 0; i < n; i++) {
      const d = w.subarray(i * 8, i * 8 + 8);
      const frame = new Uint8Array(mem, d[0], d[1]);
      descs.push(`${d[1]} ${d[2]} ${d[3]}.${d[4]} lt/if ${d[5].toString(16)} #${d[6]} res ${d[7].toString(16)} ${createHash('sha1').update(frame).digest('hex').slice(0, 12)}`);
    }
    seen = e.packets;
  };
  const r = await replayCapture(e, path, { hostNames: compiled.ifaceNames, onBatch,
    sink: () => (s: number, ns: number, f: Uint8Array, wl: number, lt: number) => out.push(`${s}.${ns} ${wl} ${lt} ${Buffer.from(f).toString('hex')}`),
    drops: (fmt: unknown) => { out.push(`drops format ${JSON.stringify(fmt)}`); return undefined; }, ...feed });
  return {
    packets: e.packets, lastTsSec: e.lastTsSec, lastTsNsec: e.lastTsNsec, counters: e.counters(), stats: e.stats(),
    drops: [...r.drops.entries()], error: r.captureError?.message ?? null, errorAt: [r.captureError?.byteOffset, r.captureError?.packet], info: r.info, out, descs,
    ct: formatConntrack(e.core.memory.buffer, e.ctAddr, e.lastJiffies(), compiled.hz),
  };
}

const FEEDS = [{}, { chunkBytes: 4096, batch: 7 }, { chunkBytes: 333, batch: 1 }, { chunkBytes: 64, batch: 3 }];

describe('raw pcapng feed (single worker) = readCapture + loadBatch', () => {
  it('the raw path is taken for pcapng files (the core frames them)', async () => {
    const d = tmp();
    const { bytes } = randomPcapng(1, true);
    writeFileSync(join(d, 'a.pcapng'), bytes);
    const { openPcapng } = await dist('replay/feed.js');
    expect(openPcapng(join(d, 'a.pcapng'))).not.toBeNull();
    expect(openPcapng('-')).toBeNull();
  });

  for (let seed = 1; seed <= 12; seed++) {
    it(`random file ${seed}: intact and every feed`, async () => {
      const d = tmp();
      const { bytes, packets } = randomPcapng(seed, seed % 2 === 0);
      writeFileSync(join(d, 'in.pcapng'), bytes);
      const general = await engineRun(join(d, 'in.pcapng'), { general: true });
      expect(general.error).toBeNull();
      expect(general.packets).toBe(packets);
      expect(general.descs.length).toBe(packets);
      for (const feed of FEEDS) expect(await engineRun(join(d, 'in.pcapng'), feed), JSON.stringify(feed)).toStrictEqual(general);
    }, 60000);
  }

  for (let seed = 100; seed <= 105; seed++) {
    it(`random file ${seed}: cut and corrupt variants give the reader's error after the same packets`, async () => {
      const d = tmp();
      const { bytes, blocks } = randomPcapng(seed, seed % 2 === 0);
      const variants = damaged(bytes, blocks, seed);
      expect(variants.length).toBeGreaterThan(20);
      let errors = 0;
      for (const [what, b] of variants) {
        writeFileSync(join(d, 'bad.pcapng'), b);
        const general = await engineRun(join(d, 'bad.pcapng'), { general: true });
        if (general.error) errors++;
        for (const feed of [FEEDS[0], FEEDS[2]]) expect(await engineRun(join(d, 'bad.pcapng'), feed), `${what} ${JSON.stringify(feed)}`).toStrictEqual(general);
      }
      expect(errors).toBeGreaterThan(variants.length / 2);
    }, 120000);
  }

  it('timestamps: every resolution kind split exactly (hand-computed)', async () => {
    // one interface per resolution, one EPB each; expected seconds/nanoseconds worked out by hand
    const cases: [number, bigint, number, number][] = [
      [6, 1700000000_123456n, 1700000000, 123456000],          // µs
      [9, 1700000000_987654321n, 1700000000, 987654321],       // ns
      [3, 1700000000_999n, 1700000000, 999000000],             // ms
      [12, 1700000_000000000123n, 1700000, 0],                 // ps: 123 ps is 0 ns (floor)
      [12, 1700000_000000123456n, 1700000, 123],               // 123456 ps = 123 ns
      [0x80 | 10, (1700000000n << 10n) | 512n, 1700000000, 500000000], // 2^-10 s: 512/1024 s
      [0x80 | 40, (5n << 40n) | (1n << 39n) | 1n, 5, 500000000], // 2^-40: half a second and 0.9 ps
      [0x80 | 64, 1n << 63n, 0, 500000000],                    // 2^-64: t / 2^64 = 0.5 s
      [25, 123456789012345n, 0, 0],                            // 10^-25: 1.2e-11 s
      [20, 9007199254740991n, 0, 90071],                       // 10^-20: 9.007e15 * 1e-20 s = 90071.99 ns
    ];
    const g = new NgBuilder();
    const head = new Uint8Array(16);
    new DataView(head.buffer).setUint32(0, 0x1a2b3c4d, true);
    new DataView(head.buffer).setUint16(4, 1, true);
    g.block(0x0a0d0d0a, head);
    for (const [resol] of cases) {
      const body = new Uint8Array(8);
      new DataView(body.buffer).setUint16(0, 1, true);
      g.block(1, cat(body, g.options([[9, Uint8Array.of(resol)]], true)));
    }
    const frame = buildFrame({ src: '192.0.2.10', dst: '203.0.113.5', proto: 'udp', sport: 1, dport: 53, payload: 2 });
    cases.forEach(([, t], i) => {
      const body = new Uint8Array(20);
      const bv = new DataView(body.buffer);
      bv.setUint32(0, i, true); bv.setUint32(4, Number(t >> 32n), true); bv.setUint32(8, Number(t & 0xffffffffn), true);
      bv.setUint32(12, frame.length, true); bv.setUint32(16, frame.length, true);
      const padded = new Uint8Array((frame.length + 3) & ~3);
      padded.set(frame);
      g.block(6, cat(body, padded));
    });
    const d = tmp();
    writeFileSync(join(d, 'ts.pcapng'), g.bytes());
    for (const feed of [{ general: true }, {}]) {
      const got = await engineRun(join(d, 'ts.pcapng'), feed);
      expect(got.descs.map((s) => s.split(' ')[2])).toStrictEqual(cases.map(([, , s, ns]) => `${s}.${ns}`));
    }
  });
});

describe('raw pcapng feed: the pool', () => {
  it('1, 2, 3 and 4 workers (small chunks: batches across seams, sections and IDBs) print the same', () => {
    const d = tmp();
    // several random files back to back are one file with several sections
    const parts = [3, 4, 6].map((s) => randomPcapng(s, true).bytes);
    writeFileSync(join(d, 'in.pcapng'), cat(...parts));
    writeFileSync(join(d, 'rules'), RULES);
    const run = (w: number, env: Record<string, string> = {}) => cli(['replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'in.pcapng'), '--workers', String(w), '--quiet',
      '--conntrack', join(d, `ct${w}`), '--out', join(d, `out${w}`), '--drops', join(d, `drops${w}.pcapng`)], 120000, env);
    const one = run(1);
    expect(one.status, one.stderr).toBe(0);
    // 100-byte chunks: most blocks are larger than a chunk (the next chunk grows to hold them)
    for (const [w, env] of [[2, {}], [3, { NFREPLAY_TEST_CHUNK_BYTES: '700' }], [4, { NFREPLAY_TEST_CHUNK_BYTES: '100' }]] as const) {
      const more = run(w, env);
      expect(more.status, more.stderr).toBe(0);
      expect(more.stdout).toBe(one.stdout);
      expect(readFileSync(join(d, `ct${w}`), 'utf8')).toBe(readFileSync(join(d, 'ct1'), 'utf8'));
      expect(Buffer.compare(readFileSync(join(d, `out${w}`)), readFileSync(join(d, 'out1')))).toBe(0);
      expect(Buffer.compare(readFileSync(join(d, `drops${w}.pcapng`)), readFileSync(join(d, 'drops1.pcapng')))).toBe(0);
    }
  }, 180000);

  it('a cut file: the same error and report from 1 and 2 workers', () => {
    const d = tmp();
    const { bytes, blocks } = randomPcapng(7, true);
    const epb = blocks.filter((b) => b.type === 6)[20];
    const before = blocks.filter((b) => (b.type === 6 || b.type === 3) && b.off < epb.off).length;
    writeFileSync(join(d, 'cut.pcapng'), bytes.subarray(0, epb.off + 10));
    writeFileSync(join(d, 'rules'), RULES);
    const run = (w: number, env: Record<string, string> = {}) => cli(['replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'cut.pcapng'), '--workers', String(w), '--quiet'], 120000, env);
    const one = run(1);
    expect(one.status).toBe(1);
    expect(one.stderr + one.stdout).toContain(`truncated block at byte ${epb.off} (packet ${before + 1})`);
    const two = run(2, { NFREPLAY_TEST_CHUNK_BYTES: '500' });
    expect(two.stdout).toBe(one.stdout);
    expect(two.stderr).toBe(one.stderr);
  }, 120000);
});

describe('raw pcapng feed: output precision', () => {
  it('--out precision from the interfaces defined before the first packet, 1 and 2 workers, file and stdin alike', () => {
    // IDB 0 (µs, eth1), an EPB on it, then IDB 1 (ns, eth0) and an EPB on that: when the first
    // packet is read only the µs interface exists, so --out is a microsecond pcap (magic
    // a1b2c3d4, written little-endian: d4 c3 b2 a1) and the ns packet's time is cut to µs.
    const g = new NgBuilder();
    const head = new Uint8Array(16);
    new DataView(head.buffer).setUint32(0, 0x1a2b3c4d, true);
    new DataView(head.buffer).setUint16(4, 1, true);
    g.block(0x0a0d0d0a, head);
    const idb = (name: string, resol: number) => {
      const body = new Uint8Array(8);
      new DataView(body.buffer).setUint16(0, 1, true);
      g.block(1, cat(body, g.options([[2, te.encode(name)], [9, Uint8Array.of(resol)]], true)));
    };
    const epb = (ifid: number, t: bigint) => {
      const frame = buildFrame({ src: '192.0.2.10', dst: '203.0.113.5', proto: 'udp', sport: 1000 + ifid, dport: 53, payload: 8 });
      const body = new Uint8Array(20);
      const bv = new DataView(body.buffer);
      bv.setUint32(0, ifid, true); bv.setUint32(4, Number(t >> 32n), true); bv.setUint32(8, Number(t & 0xffffffffn), true);
      bv.setUint32(12, frame.length, true); bv.setUint32(16, frame.length, true);
      const padded = new Uint8Array((frame.length + 3) & ~3);
      padded.set(frame);
      g.block(6, cat(body, padded));
    };
    idb('eth0', 6);
    epb(0, 1700000000_000001n);
    idb('eth0', 9);
    epb(1, 1700000000_000002345n);
    const d = tmp();
    writeFileSync(join(d, 'p.pcapng'), g.bytes());
    writeFileSync(join(d, 'rules'), RULES);
    for (const [w, stdin] of [[1, false], [2, false], [1, true], [2, true]] as const) {
      const args = [CLI, 'replay', '--rules', join(d, 'rules'), '--pcap', stdin ? '-' : join(d, 'p.pcapng'), '--workers', String(w), '--quiet', '--out', join(d, `o${w}.pcap`)];
      const r = spawnSync(process.execPath, args, { input: stdin ? readFileSync(join(d, 'p.pcapng')) : undefined, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const o = readFileSync(join(d, `o${w}.pcap`));
      expect(o.readUInt32LE(0)).toBe(0xa1b2c3d4);
      // two records: 1700000000.000001 and 1700000000.000002 (2345 ns cut to 2 µs)
      expect(o.length).toBeGreaterThan(24 + 32);
      expect([o.readUInt32LE(24), o.readUInt32LE(28)]).toStrictEqual([1700000000, 1]);
      const second = 24 + 16 + o.readUInt32LE(32);
      expect([o.readUInt32LE(second), o.readUInt32LE(second + 4)]).toStrictEqual([1700000000, 2]);
    }
  }, 60000);
});

describe('raw pcapng feed: stdin and named pipes', () => {
  it('stdin and a FIFO (1 worker reads them into the core, the pool spools them) = the file', () => {
    const d = tmp();
    const { bytes, blocks } = randomPcapng(9, true);
    writeFileSync(join(d, 'in.pcapng'), bytes);
    const epb = blocks.filter((b) => b.type === 6)[10];
    writeFileSync(join(d, 'cut.pcapng'), bytes.subarray(0, epb.off + epb.len - 3));
    writeFileSync(join(d, 'rules'), RULES);
    expect(spawnSync('mkfifo', [join(d, 'fifo')]).status).toBe(0);
    for (const f of ['in.pcapng', 'cut.pcapng']) {
      const args = (pcap: string, w: number) => [CLI, 'replay', '--rules', join(d, 'rules'), '--pcap', pcap, '--workers', String(w), '--quiet', '--out', join(d, `out-${w}`)];
      const file = cli(args(join(d, f), 1).slice(1));
      const fileOut = readFileSync(join(d, 'out-1'));
      expect(file.status, file.stderr).toBe(f === 'cut.pcapng' ? 1 : 0);
      for (const w of [1, 2]) {
        const s = spawnSync(process.execPath, args('-', w), { input: readFileSync(join(d, f)), encoding: 'utf8' });
        expect(s.stdout, `stdin ${f} ${w}`).toBe(file.stdout);
        expect(s.stderr.replaceAll('stdin', 'F')).toBe(file.stderr.replaceAll(join(d, f), 'F'));
        expect(Buffer.compare(readFileSync(join(d, `out-${w}`)), fileOut)).toBe(0);
        const writer = spawn('sh', ['-c', `cat "${join(d, f)}" > "${join(d, 'fifo')}"`], { stdio: 'ignore' });
        const p = spawnSync(process.execPath, args(join(d, 'fifo'), w), { encoding: 'utf8', timeout: 60000 });
        writer.kill();
        expect(p.stdout, `fifo ${f} ${w}`).toBe(file.stdout);
        expect(Buffer.compare(readFileSync(join(d, `out-${w}`)), fileOut)).toBe(0);
      }
    }
  }, 120000);
});
