// The core's checksum routines against the independent RFC 1071 routine of harness.ts, for every
// length 0..300 at several alignments (the SIMD path starts at 64 bytes).
import { describe, it, expect } from 'vitest';
import { makeCore, sum16 } from './harness.js';

describe('checksums', () => {
  it('csumCompute equals RFC 1071 over any length and alignment', () => {
    const c = makeCore();
    const base = c.x.reserve(512) >>> 0;
    let seed = 7;
    const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 24; };
    for (let len = 0; len <= 300; len++) {
      for (const align of [0, 1, 2, 3, 5]) {
        const bytes = new Uint8Array(len);
        for (let i = 0; i < len; i++) bytes[i] = rnd();
        c.u8().set(bytes, base + align);
        const got = (c.x.csumCompute as unknown as (a: number, l: number, i: bigint) => number)(base + align, len, 0n) & 0xffff;
        // the core returns the checksum field as loaded little-endian: swap to compare
        const want = ~sum16(bytes, 0, len) & 0xffff;
        expect(((got & 255) << 8) | (got >>> 8)).toBe(want);
      }
    }
  });
});
