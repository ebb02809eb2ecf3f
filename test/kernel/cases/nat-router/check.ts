// Hand-computed expectations for the kernel side.
// Packets: A = 8 TCP (SYN, SYN-ACK, ACK, PSH-ACK+100, ACK, FIN-ACK, FIN-ACK, ACK), B = 3, C = 2 SYNs,
// D = 2 UDP: 15 in all. Lengths: TCP without options or payload 40 bytes, with 100 bytes 140;
// UDP 20+8+30 = 58 and 20+8+60 = 88.
// filter FORWARD:
//   1 ESTABLISHED,RELATED: every packet after a connection's first: A 7 (40*6+140 = 380 bytes),
//     B 2 (80), D's answer 1 (88) -> 10 packets, 548 bytes.
//   2 -s 192.0.2.9: A's SYN (40) and D's query (58) -> 2, 98.
//   3 -d 203.0.113.3: B's SYN -> 1, 40.
//   policy DROP: C's SYN twice (the dropped SYN's conntrack entry is never confirmed, so the
//     retransmission is NEW again) -> 2, 80.          10 + 2 + 1 + 2 = 15 = all packets.
// nat: PREROUTING sees only NEW packets: A's SYN, B's SYN, C's two SYNs, D's query -> policy 5, 218.
//   POSTROUTING: the 3 NEW packets that got through FORWARD match the SNAT rule -> 3, 138; policy 0.
// conntrack: A TIME_WAIT, B ESTABLISHED (both ASSURED), D udp; all with reply dst 198.51.100.1.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('filter:FORWARD:1')).toEqual([10, 548]);
  expect(c('filter:FORWARD:2')).toEqual([2, 98]);
  expect(c('filter:FORWARD:3')).toEqual([1, 40]);
  expect(c('filter:FORWARD:policy')).toEqual([2, 80]);
  expect(c('nat:PREROUTING:policy')).toEqual([5, 218]);
  expect(c('nat:POSTROUTING:1')).toEqual([3, 138]);
  expect(c('nat:POSTROUTING:policy')).toEqual([0, 0]);
  expect(c('filter:INPUT:policy')).toEqual([0, 0]);
  expect(c('filter:OUTPUT:policy')).toEqual([0, 0]);
  const ct = k.conntrack.map((e) => `${e.proto} ${e.state} ${e.orig.src}:${e.orig.sport}>${e.orig.dst}:${e.orig.dport} ${e.reply.src}:${e.reply.sport}>${e.reply.dst}:${e.reply.dport}`).sort();
  expect(ct).toEqual([
    'tcp ESTABLISHED 192.0.2.20:40002>203.0.113.3:443 203.0.113.3:443>198.51.100.1:40002',
    'tcp TIME_WAIT 192.0.2.9:40001>203.0.113.10:80 203.0.113.10:80>198.51.100.1:40001',
    'udp  192.0.2.9:5353>203.0.113.53:53 203.0.113.53:53>198.51.100.1:5353',
  ]);
  // Egress: everything FORWARD accepted leaves (13 packets), SNATed on eth1 / un-SNATed on eth0.
  expect(k.egress.length).toBe(13);
  // eth1 gets the client side: A 5 (S, A, PA, FA, A), B 2, D 1 = 8; eth0 the server side: A 3, B 1, D 1 = 5.
  expect(k.egress.filter((p) => p.iface === 'eth1').length).toBe(8);
  expect(k.egress.filter((p) => p.iface === 'eth0').length).toBe(5);
}
