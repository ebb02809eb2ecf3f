// A capture larger than 2 GiB (the readFileSync limit) and past 2^31 offsets, read in chunks.
// Opt-in (reads 2.3 GiB, ~10 s of both cores): NFREPLAY_BIG_TESTS=1 npx vitest run test/pcap/big.test.ts
// The file is sparse: after the header, 150M all-zero 16-byte records (ts 0, caplen 0, wirelen 0:
// valid empty packets), then one real packet, then a record cut short.
import { describe, it, expect, afterAll } from 'vitest';
import { openSync, writeSync, ftruncateSync, closeSync } from 'node:fs';
import { buildFrame } from '../../src/pcap/craft.js';
import { readCapture, CaptureError } from '../../src/pcap/reader.js';
import { tempDir, Bytes } from './helpers.js';

const t = tempDir();
afterAll(() => t.cleanup());

describe.skipIf(!process.env.NFREPLAY_BIG_TESTS)('captures over 2 GiB', () => {
  it('reads every record, the packet past 2 GiB, and reports the cut at its 64-bit offset', async () => {
    const K = 150_000_000; // 2.4e9 bytes of empty records
    const path = t.file('big.pcap');
    const fd = openSync(path, 'w');
    writeSync(fd, new Bytes(true).u32(0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(1).build());
    const at = 24 + K * 16;
    ftruncateSync(fd, at);
    const f = buildFrame({ proto: 'udp', payload: 10 });
    const rec = new Bytes(true).u32(1700000000).u32(5).u32(f.length).u32(f.length).bytes(f).build();
    writeSync(fd, rec, 0, rec.length, at);
    writeSync(fd, new Uint8Array(10).fill(1), 0, 10, at + rec.length); // a record header cut after 10 bytes
    closeSync(fd);

    let n = 0;
    let last: { ordinal: number; sec: number; len: number } | null = null;
    let err: CaptureError | null = null;
    try {
      for await (const b of readCapture(path, { reuseBuffers: true, batchPackets: 65536 })) {
        n += b.count;
        const i = b.count - 1;
        if (b.caplen[i] > 0) last = { ordinal: b.ordinal[i], sec: b.tsSec[i], len: b.caplen[i] };
      }
    } catch (e) {
      err = e as CaptureError;
    }
    expect(n).toBe(K + 1);
    expect(last).toEqual({ ordinal: K, sec: 1700000000, len: f.length });
    expect(err?.message).toBe(`${path}: truncated packet record at byte ${at + rec.length} (packet ${K + 2})`);
  }, 300_000);
});
