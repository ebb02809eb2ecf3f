// Reassembly as ip_defrag (net/ipv4/ip_fragment.c, inet_fragment.c): held fragments, duplicates,
// overlaps, ipfrag_time, the reassembled header (offset-0 fragment's, DF only if all had DF).
import { describe, it, expect } from 'vitest';
import * as L from '../../src/layout.js';
import { buildIPv4, fragmentIPv4 } from '../../src/pcap/craft.js';
import { makeCore, put, P, ct, ctinfo, checksumsOk, type Core } from './harness.js';

const DEFRAG_PASS = 0, DEFRAG_HELD = 1, DEFRAG_DONE = 2, DEFRAG_DROP = 3;

// a UDP datagram of 20 + 8 + 100 bytes split into 3 fragments of 40, 40 and 28 data bytes
const whole = buildIPv4({ src: '192.0.2.50', dst: '203.0.113.9', proto: 'udp', sport: 5000, dport: 53, id: 0x1234, payload: 100 });
const frags = fragmentIPv4(whole, 40);

function feed(c: Core, f: Uint8Array, t = 1000): number {
  expect(put(c, f, { linktype: L.LINKTYPE_RAW, t })).toBe(L.RES_NONE);
  return c.x.defrag();
}

describe('defrag', () => {
  it('three fragments in order: held, held, then the whole datagram', () => {
    expect(frags.map((f) => f.length)).toEqual([60, 60, 48]);
    const c = makeCore();
    expect(feed(c, frags[0])).toBe(DEFRAG_HELD);
    expect(feed(c, frags[1])).toBe(DEFRAG_HELD);
    expect(feed(c, frags[2], 1000.5)).toBe(DEFRAG_DONE);
    // PKT now describes the 128-byte datagram: not a fragment, ports present
    expect(P.u32(c, L.P_IPLEN)).toBe(128);
    expect(P.u16(c, L.P_FRAGOFF)).toBe(0);
    expect(P.u8(c, L.P_MF)).toBe(0);
    expect(P.u8(c, L.P_L4OK)).toBe(1);
    expect(P.u16(c, L.P_SPORT)).toBe(5000);
    expect(P.u64(c, L.P_NOW_LO)).toBe(1000500000000n);
    // the bytes are the original datagram's (same header fields, same UDP data and checksum)
    const b = c.u8().slice(P.u32(c, L.P_L3), P.u32(c, L.P_L3) + 128);
    expect(Array.from(b.subarray(20))).toEqual(Array.from(whole.subarray(20)));
    expect(checksumsOk(b, 0)).toEqual({ ip: true, l4: true });
    expect(c.x.defragMaxSize()).toBe(60);      // largest fragment, IP header included
    // and conntrack tracks the datagram
    c.x.ctIn();
    expect(ctinfo(c)).toBe(L.CTINFO_NEW);
    expect(ct(c)).not.toBe(0);
  });

  it('any arrival order; unfragmented packets pass', () => {
    const c = makeCore();
    expect(feed(c, frags[2])).toBe(DEFRAG_HELD);
    expect(feed(c, frags[0])).toBe(DEFRAG_HELD);
    expect(feed(c, frags[1])).toBe(DEFRAG_DONE);
    expect(P.u32(c, L.P_IPLEN)).toBe(128);
    expect(feed(c, whole)).toBe(DEFRAG_PASS);
  });

  it('a duplicate is dropped and the queue kept; an overlap drops the queue', () => {
    const c = makeCore();
    expect(feed(c, frags[0])).toBe(DEFRAG_HELD);
    expect(feed(c, frags[0])).toBe(DEFRAG_DROP);  // inside what is queued
    expect(feed(c, frags[1])).toBe(DEFRAG_HELD);
    expect(feed(c, frags[2])).toBe(DEFRAG_DONE);
    // overlap: data 0..40 queued, then a fragment covering 32..72 (offset 32 = 4 units)
    const d = makeCore();
    expect(feed(d, frags[0])).toBe(DEFRAG_HELD);
    const over = fragmentIPv4(whole, 32)[1]; // data 32..64, MF: starts inside 0..40, ends past it
    expect(feed(d, over)).toBe(DEFRAG_DROP);
    // the queue is gone: the other fragments do not complete anything
    expect(feed(d, frags[1])).toBe(DEFRAG_HELD);
    expect(feed(d, frags[2])).toBe(DEFRAG_HELD);
    // a fragment inside a run built from two consecutive fragments is a duplicate
    const e = makeCore();
    expect(feed(e, frags[0])).toBe(DEFRAG_HELD);
    expect(feed(e, frags[1])).toBe(DEFRAG_HELD);
    expect(feed(e, over)).toBe(DEFRAG_DROP);
    expect(feed(e, frags[2])).toBe(DEFRAG_DONE);
  });

  it('a queue expires 30 s after its first fragment (ipfrag_time)', () => {
    const c = makeCore();
    expect(feed(c, frags[0], 1000)).toBe(DEFRAG_HELD);
    expect(feed(c, frags[1], 1029)).toBe(DEFRAG_HELD);
    expect(feed(c, frags[2], 1031)).toBe(DEFRAG_HELD); // a new queue with only the last fragment
  });

  it('DF on the datagram only when every fragment had it', () => {
    const withDf = fragmentIPv4(buildIPv4({ src: '192.0.2.50', dst: '203.0.113.9', proto: 'udp', id: 7, df: true, payload: 100 }), 40);
    const c = makeCore();
    withDf.slice(0, 2).forEach((f) => expect(feed(c, f)).toBe(DEFRAG_HELD));
    expect(feed(c, withDf[2])).toBe(DEFRAG_DONE);
    const b = c.u8();
    const l3 = P.u32(c, L.P_L3);
    expect(b[l3 + 6]).toBe(0x40);
    expect(c.x.defragDf()).toBe(1);
    const d = makeCore();
    expect(feed(d, frags[0])).toBe(DEFRAG_HELD);
    expect(feed(d, frags[1])).toBe(DEFRAG_HELD);
    expect(feed(d, frags[2])).toBe(DEFRAG_DONE);
    expect(d.u8()[P.u32(d, L.P_L3) + 6]).toBe(0);
  });
});
