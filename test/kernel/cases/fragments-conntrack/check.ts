// Hand-computed expectations. Reassembled sizes: F1 20 + 1408 = 1428, F3 20 + 808 = 828; F2 never
// completes. raw PREROUTING rule (udp): 2 datagrams, 2256 bytes (reassembly precedes raw).
// filter FORWARD: 1 (-f DROP) 0; 2 (length 1000:65535) F1 only: 1, 1428; 3 (udp 53 NEW ACCEPT): 2, 2256.
// nat PREROUTING policy 2, 2256; POSTROUTING SNAT 2, 2256.
// conntrack: two UDP entries, UNREPLIED, replies to 198.51.100.1 (F2 has none: it never got past defrag).
// Egress on eth1, SNATed, re-fragmented to the largest fragment each arrived in (IPCB frag_max_size):
//   F1 arrived in fragments of at most 620 bytes -> 620, 620, 228 (offsets 0, 600, 1200);
//   F3 at most 428 -> 428, 420 (offsets 0, 408), in order although it arrived last fragment first.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';
import { checksumProblem } from '../../lib/csum.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('raw:PREROUTING:1')).toEqual([2, 2256]);
  expect(c('filter:FORWARD:1')).toEqual([0, 0]);
  expect(c('filter:FORWARD:2')).toEqual([1, 1428]);
  expect(c('filter:FORWARD:3')).toEqual([2, 2256]);
  expect(c('filter:FORWARD:policy')).toEqual([0, 0]);
  expect(c('nat:PREROUTING:policy')).toEqual([2, 2256]);
  expect(c('nat:POSTROUTING:1')).toEqual([2, 2256]);
  expect(k.conntrack.map((e) => `${e.orig.src}:${e.orig.sport} ${e.reply.dst} ${e.flags.join(',')}`).sort()).toEqual([
    '192.0.2.60:5000 198.51.100.1 UNREPLIED',
    '192.0.2.62:5002 198.51.100.1 UNREPLIED',
  ]);
  const frags = k.egress.map((e) => {
    const ip = e.ip;
    return [e.iface, (ip[4] << 8) | ip[5], (ip[2] << 8) | ip[3], (((ip[6] & 0x1f) << 8) | ip[7]) * 8, (ip[6] & 0x20) ? 1 : 0,
      Array.from(ip.subarray(12, 16)).join('.')];
  });
  expect(frags).toEqual([
    ['eth1', 0x1111, 620, 0, 1, '198.51.100.1'],
    ['eth1', 0x1111, 620, 600, 1, '198.51.100.1'],
    ['eth1', 0x1111, 228, 1200, 0, '198.51.100.1'],
    ['eth1', 0x3333, 428, 0, 1, '198.51.100.1'],
    ['eth1', 0x3333, 420, 408, 0, '198.51.100.1'],
  ]);
  expect(k.egress.map((e) => checksumProblem(e.ip))).toEqual(k.egress.map(() => null));
}
