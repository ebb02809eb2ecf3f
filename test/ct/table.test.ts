// The conntrack table's hash chains (bucket heads, tagged links, deletion from the middle of a
// chain, expired entries met during a walk) against the same packets on a table whose buckets
// almost never collide: entry indices are handed out the same way whatever the bucket count, so
// every packet must get the same ct index, direction and ctinfo from both. And the bucket prefetch
// reads descriptors past a batch's end: garbage there must not trap nor change a result.
import { describe, it, expect } from 'vitest';
import * as L from '../../src/layout.js';
import { makeCore, put, P, ct, ctinfo, type Core } from './harness.js';
import { Engine } from '../../src/replay/engine.js';
import { compile } from '../../src/compile/image.js';
import { lowerHost, defaultHost } from '../../src/host/index.js';
import { parseRuleset } from '../../src/rules/parse.js';
import { buildFrame } from '../../src/pcap/craft.js';
import type { PacketBatch } from '../../src/pcap/reader.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

interface Got { ct: number; dir: number; info: number }
function step(c: Core, spec: Parameters<typeof put>[1], t: number): Got {
  expect(put(c, spec, { t })).toBe(L.RES_NONE);
  c.x.ctIn();
  const k = ct(c);
  const dir = P.u8(c, L.P_CTDIR);
  if (k && dir === 0) c.x.ctConfirm();
  return { ct: k, dir, info: ctinfo(c) };
}

describe('conntrack table chains', () => {
  it('a 32-bucket table gives the same answers as a 131072-bucket one (UDP and ICMP flows, expiry)', () => {
    // capacity 16 -> 32 buckets: 12 flows (24 nodes) share chains; capacity 65536 -> 131072
    // buckets. At most 12 flows are ever live, so the small table never fills (no early drop).
    const small = makeCore({ capacity: 16 });
    const big = makeCore({ capacity: 65536 });
    const r = rng(7);
    let t = 1000;
    for (let i = 0; i < 4000; i++) {
      t += r() < 0.05 ? 20 + r() * 30 : r() * 0.5;   // now and then long enough for flows to expire
      const f = Math.floor(r() * 12);
      const reply = r() < 0.4;
      const cli = `192.0.2.${10 + (f % 4)}`, srv = `203.0.113.${1 + (f % 3)}`;
      const spec = f < 9
        ? { proto: 'udp' as const, src: reply ? srv : cli, dst: reply ? cli : srv, sport: reply ? 53 : 30000 + f, dport: reply ? 30000 + f : 53 }
        : { proto: 'icmp' as const, src: reply ? srv : cli, dst: reply ? cli : srv, icmpType: reply ? 0 : 8, icmpId: 100 + f, icmpSeq: i & 0xffff };
      const a = step(small, spec, t);
      const b = step(big, spec, t);
      expect(a, `packet ${i}`).toEqual(b);
    }
    expect(small.x.ctCount()).toBe(big.x.ctCount());
  });
});

describe('bucket prefetch', () => {
  it('descriptors past the batch end holding garbage frame addresses neither trap nor change results', () => {
    const rules = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n';
    const rs = parseRuleset(rules, 'mem');
    const frames = Array.from({ length: 3 }, (_, i) => buildFrame({ proto: 'udp', src: '192.0.2.7', dst: '198.51.100.9', sport: 4000 + i, dport: 53 }));
    const batch = (): PacketBatch => {
      const data = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
      const offset = new Uint32Array(frames.length), caplen = new Uint32Array(frames.length);
      let at = 0;
      frames.forEach((f, i) => { data.set(f, at); offset[i] = at; caplen[i] = f.length; at += f.length; });
      const n = frames.length;
      return { count: n, data, offset, caplen, wirelen: caplen.slice(), tsSec: new Uint32Array(n).fill(1000), tsNsec: new Uint32Array(n),
        linktype: new Uint16Array(n).fill(1), ifaceId: new Uint16Array(n), ordinal: Uint32Array.from({ length: n }, (_, i) => i) } as unknown as PacketBatch;
    };
    const clean = new Engine(compile(rs, { host: lowerHost(defaultHost()), seed: 1 }));
    clean.runBatch(batch(), null);
    const want = Array.from(clean.lastResults(3));
    const e = new Engine(compile(rs, { host: lowerHost(defaultHost()), seed: 1 }));
    e.runBatch(batch(), null); // reserves the descriptor area
    // garbage in every descriptor after the first three: frame addresses at and past the end of memory
    const descAddr = (e as unknown as { descAddr: number }).descAddr;
    const dv = new DataView(e.core.memory.buffer);
    const end = e.core.memory.buffer.byteLength;
    const bad = [0xffffffff, end - 1, end - 20, end - 64, 0xfffffff0, 0];
    for (let i = 3; i < 64; i++) {
      const d = descAddr + i * L.DESC_SIZE;
      dv.setUint32(d + L.DESC_FRAME, bad[i % bad.length], true);
      dv.setUint32(d + L.DESC_CAPLEN, 1500, true);
      dv.setUint16(d + L.DESC_LINKTYPE, i % 2 ? 1 : 228, true);
    }
    const f = new Engine(compile(rs, { host: lowerHost(defaultHost()), seed: 1 }));
    expect(() => e.runBatch(batch(), null)).not.toThrow();
    // the second run of the same three packets: the same flows, now ESTABLISHED-by-repeat; compare
    // with a third engine that ran the batch twice without garbage
    f.runBatch(batch(), null);
    f.runBatch(batch(), null);
    expect(Array.from(e.lastResults(3))).toEqual(Array.from(f.lastResults(3)));
    expect(want.every((r) => (r & 0xff) === L.RES_FORWARDED)).toBe(true);
  });
});
