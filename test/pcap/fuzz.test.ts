// Robustness: randomly damaged pcap and pcapng files (bytes flipped, cut short, lengths scrambled)
// never crash the reader: either packets and no error, or the packets before a CaptureError; every
// frame lies inside the file; the streaming reader (small chunks) agrees with the buffer parser.
import { describe, it, expect, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { buildFrame } from '../../src/pcap/craft.js';
import { parseCaptureBuffer, readCapture, unpackBatch, CaptureError } from '../../src/pcap/reader.js';
import { tempDir, classicPcap, shb, idb, epb, spb, block, utf8, concat } from './helpers.js';
import { mulberry32 } from '../../src/util/random.js';

const t = tempDir();
afterAll(() => t.cleanup());


const frames = Array.from({ length: 6 }, (_, i) => buildFrame({ proto: 'udp', payload: i * 13 }));
const seeds: [string, Uint8Array][] = [
  ['pcap', classicPcap(true, false, 1, frames.map((f, i) => ({ sec: i, frac: i, frame: f })))],
  ['pcap-be-ns', classicPcap(false, true, 1, frames.map((f, i) => ({ sec: i, frac: i, frame: f })))],
  ['pcapng', concat(shb(true), idb(true, 1, 0, [[2, utf8('eth0')]]), ...frames.slice(0, 3).map((f) => epb(true, 0, 0, 1, f, f.length, [[1, utf8('c')]])), block(true, 99, new Uint8Array(4)), spb(true, frames[3].length, frames[3]), shb(false), idb(false, 101, 0), epb(false, 0, 1, 2, frames[4].subarray(14)))],
];

function summary(file: Uint8Array, r: ReturnType<typeof parseCaptureBuffer>): string[] {
  const out = unpackBatch(r.batch).map((p) => {
    const start = r.batch.offset[p.ordinal];
    expect(start + p.caplen).toBeLessThanOrEqual(file.length);
    return `${p.ordinal} ${p.tsSec} ${p.tsNsec} ${p.ifaceId} ${Buffer.from(p.frame).toString('hex')}`;
  });
  if (r.error) out.push(r.error.message.replace(/^\S+: /, ''));
  return out;
}

async function streamSummary(path: string, chunkBytes: number): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const b of readCapture(path, { chunkBytes })) for (const p of unpackBatch(b)) out.push(`${p.ordinal} ${p.tsSec} ${p.tsNsec} ${p.ifaceId} ${Buffer.from(p.frame).toString('hex')}`);
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    out.push(e.message.replace(/^\S+: /, ''));
  }
  return out;
}

describe('damaged captures', () => {
  for (const [name, seed] of seeds) {
    it(`${name}: 150 random mutations`, async () => {
      const rnd = mulberry32(name.length * 7919);
      const path = t.file(`${name}.bin`);
      for (let k = 0; k < 150; k++) {
        let f = Uint8Array.from(seed);
        const kind = k % 3;
        if (kind === 0) for (let j = 0; j < 1 + Math.floor(rnd() * 4); j++) f[Math.floor(rnd() * f.length)] = Math.floor(rnd() * 256);
        else if (kind === 1) f = f.subarray(0, Math.floor(rnd() * f.length));
        else {
          // overwrite an aligned 32-bit word (lengths, ids) with a plausible or absurd value
          const at = Math.floor((rnd() * f.length) / 4) * 4;
          const v = rnd() < 0.5 ? Math.floor(rnd() * 300) : Math.floor(rnd() * 0xffffffff);
          new DataView(f.buffer).setUint32(Math.min(at, f.length - 4), v, rnd() < 0.5);
        }
        const r = parseCaptureBuffer(f, 'f');
        const want = summary(f, r);
        writeFileSync(path, f);
        expect(await streamSummary(path, 1 + (k % 17)), `mutation ${k}`).toEqual(want);
      }
    });
  }
});
