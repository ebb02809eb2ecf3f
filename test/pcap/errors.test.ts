// Truncated and corrupt captures: the exact byte offset and packet number, and every packet before
// the damage is still delivered (by the buffer parser and by the streaming reader at any chunk
// size, from a file and from stdin). Offsets below are computed by hand from the layouts:
// classic pcap = 24-byte header, then 16-byte record headers; pcapng blocks as in helpers.ts.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { spawnSync, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseCaptureBuffer, readCapture, CaptureError } from '../../src/pcap/reader.js';
import { tempDir, classicPcap, shb, idb, epb, concat } from './helpers.js';

const t = tempDir();
afterAll(() => t.cleanup());

const frame = (n: number, v: number) => new Uint8Array(n).fill(v);
// records at 24 (16+50 -> 90), 90 (16+60 -> 166), 166 (16+70 -> 252)
const good = classicPcap(true, false, 1, [
  { sec: 1, frac: 0, frame: frame(50, 1) },
  { sec: 2, frac: 0, frame: frame(60, 2) },
  { sec: 3, frac: 0, frame: frame(70, 3) },
]);
// SHB 28 bytes (0..28), IDB 20 (28..48), EPBs of 32 + 52 (50 padded) = 84: 48, 132, 216; end 300
const ngParts = (le: boolean) => [shb(le), idb(le, 1, 0), epb(le, 0, 0, 1, frame(50, 1)), epb(le, 0, 0, 2, frame(50, 2)), epb(le, 0, 0, 3, frame(50, 3))];
const ng = (le = true) => concat(...ngParts(le));

function patch32(b: Uint8Array, at: number, v: number, le = true): Uint8Array {
  const c = Uint8Array.from(b);
  new DataView(c.buffer).setUint32(at, v, le);
  return c;
}

interface Outcome { packets: number[]; error: string | null; byteOffset?: number; packet?: number }

async function streamed(path: string, chunkBytes?: number): Promise<Outcome> {
  const packets: number[] = [];
  try {
    for await (const b of readCapture(path, { chunkBytes })) for (let i = 0; i < b.count; i++) packets.push(b.data[b.offset[i]]);
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    return { packets, error: e.message, byteOffset: e.byteOffset, packet: e.packet };
  }
  return { packets, error: null };
}

const cases: { name: string; file: () => Uint8Array; packets: number[]; error: string | null }[] = [
  { name: 'complete classic pcap', file: () => good, packets: [1, 2, 3], error: null },
  { name: 'cut in the last packet data', file: () => good.subarray(0, 200), packets: [1, 2], error: 'truncated packet record at byte 166 (packet 3)' },
  { name: 'cut in the last record header', file: () => good.subarray(0, 170), packets: [1, 2], error: 'truncated packet record at byte 166 (packet 3)' },
  { name: 'cut exactly between records', file: () => good.subarray(0, 166), packets: [1, 2], error: null },
  { name: 'cut in the file header', file: () => good.subarray(0, 10), packets: [], error: 'truncated file header at byte 0 (packet 1)' },
  { name: 'empty file', file: () => new Uint8Array(0), packets: [], error: 'empty capture file at byte 0 (packet 1)' },
  { name: 'bad magic', file: () => patch32(good, 0, 0x12345678, false), packets: [], error: 'not a pcap or pcapng file (magic 0x12345678) at byte 0 (packet 1)' },
  { name: 'bad version', file: () => patch32(good, 4, 0x00040003), packets: [], error: 'unsupported pcap version 3.4 at byte 0 (packet 1)' },
  { name: 'absurd caplen', file: () => patch32(good, 90 + 8, 0x7fffffff), packets: [1], error: 'packet record caplen 2147483647 exceeds the 262144-byte limit (corrupt file) at byte 90 (packet 2)' },
  { name: 'complete pcapng', file: () => ng(), packets: [1, 2, 3], error: null },
  { name: 'pcapng cut in the last block', file: () => ng().subarray(0, 250), packets: [1, 2], error: 'truncated block at byte 216 (packet 3)' },
  { name: 'big-endian pcapng cut in the last block', file: () => ng(false).subarray(0, 299), packets: [1, 2], error: 'truncated block at byte 216 (packet 3)' },
  { name: 'pcapng cut in a block header', file: () => ng().subarray(0, 140), packets: [1], error: 'truncated block at byte 132 (packet 2)' },
  { name: 'pcapng trailing length mismatch', file: () => patch32(ng(), 132 + 80, 88), packets: [1], error: 'pcapng block length mismatch (84 vs trailing 88) at byte 132 (packet 2)' },
  { name: 'pcapng length not a multiple of 4', file: () => patch32(ng(), 132 + 4, 83), packets: [1], error: 'bad pcapng block length 83 (block type 0x6) at byte 132 (packet 2)' },
  { name: 'pcapng packet on an undefined interface', file: () => patch32(ng(), 216 + 8, 5), packets: [1, 2], error: 'packet on undefined pcapng interface 5 at byte 216 (packet 3)' },
  { name: 'pcapng caplen beyond its block', file: () => patch32(ng(), 132 + 20, 60), packets: [1], error: 'pcapng packet caplen 60 exceeds its block (84 bytes) at byte 132 (packet 2)' },
  { name: 'pcapng bad byte-order magic', file: () => patch32(ng(), 8, 0x11223344), packets: [], error: 'bad pcapng byte-order magic 0x44332211 at byte 0 (packet 1)' },
  { name: 'pcapng packet before any interface', file: () => concat(shb(true), epb(true, 0, 0, 1, frame(4, 1))), packets: [], error: 'packet on undefined pcapng interface 0 at byte 28 (packet 1)' },
];

describe('corrupt and truncated input', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const file = c.file();
      const r = parseCaptureBuffer(file, 'x.pcap');
      expect(Array.from(r.batch.offset).map((o) => file[o])).toEqual(c.packets);
      expect(r.error ? r.error.message : null).toBe(c.error ? `x.pcap: ${c.error}` : null);
      const path = t.file('x.pcap');
      writeFileSync(path, file);
      for (const chunk of [undefined, 7, 64]) {
        const s = await streamed(path, chunk);
        expect(s.packets, `chunk ${chunk}`).toEqual(c.packets);
        expect(s.error, `chunk ${chunk}`).toBe(c.error ? `${path}: ${c.error}` : null);
        if (c.error) expect(s.packet).toBe(c.packets.length + 1);
      }
    });
  }

  it('stops at an absurd caplen without reading the rest of the file', async () => {
    // 1 MiB of garbage after the corrupt record: the error must come from the first small chunk
    const file = concat(patch32(good, 90 + 8, 0x7fffffff), new Uint8Array(1 << 20));
    const path = t.file('absurd.pcap');
    writeFileSync(path, file);
    const s = await streamed(path, 128);
    expect(s.byteOffset).toBe(90);
    expect(s.packets).toEqual([1]);
  });
});

describe('stdin', () => {
  // The reader is compiled on its own with tsc and run in a child node reading '-'.
  let js = '';
  beforeAll(() => {
    const out = t.file('compiled');
    execFileSync(join(process.cwd(), 'node_modules/.bin/tsc'), ['--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--outDir', out, 'src/pcap/reader.ts'], { cwd: process.cwd() });
    writeFileSync(join(out, 'package.json'), '{"type":"module"}');
    js = join(out, 'reader.js');
  });

  const run = (input: Uint8Array) => {
    const script = `import { readCapture } from ${JSON.stringify(js)};
      let n = 0; const first = [];
      try { for await (const b of readCapture('-', { chunkBytes: 100 })) for (let i = 0; i < b.count; i++) { n++; first.push(b.data[b.offset[i]]); } }
      catch (e) { console.log('ERR ' + e.message); }
      console.log(n + ' ' + first.join(','));`;
    return spawnSync(process.execPath, ['--input-type=module', '-e', script], { input, encoding: 'utf8', timeout: 30_000 });
  };

  it("reads a capture piped to '-'", () => {
    const r = run(ng());
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('3 1,2,3');
  });

  it("reports a capture cut on stdin with the byte offset, after the packets before it", () => {
    const r = run(good.subarray(0, 200));
    expect(r.stdout.trim().split('\n')).toEqual(['ERR stdin: truncated packet record at byte 166 (packet 3)', '2 1,2']);
  });
});

describe('unreadable files', () => {
  it('a missing file is a CaptureError naming the file', async () => {
    const s = await streamed(t.file('nope.pcap'));
    expect(s.error).toBe(`${t.file('nope.pcap')}: cannot read capture: no such file`);
    expect(s.byteOffset).toBe(-1);
  });
  it('a directory is a CaptureError too', async () => {
    const s = await streamed(t.dir);
    expect(s.error).toBe(`${t.dir}: cannot read capture: is a directory`);
  });
});
