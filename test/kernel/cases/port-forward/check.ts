// Hand-computed expectations. 12 packets: E 9 (S, SA, A, PA+200, PA+500, A, FA, FA, A), F 1, G 2.
// TCP without payload: 40 bytes; +200: 240; +500: 540.
// nat PREROUTING: DNAT rule: E's SYN (1, 40). Policy: F's and G's SYNs (2, 80).
// filter FORWARD: 1 ESTABLISHED: E's 8 later packets (SA 40, A 40, PA 240, PA 540, A 40, FA 40, FA 40,
//   A 40 = 1020 bytes) and G's SYN-ACK (40) -> 9, 1060.
//   2 -d 192.0.2.1 --dport 80: E's SYN after DNAT and G's SYN (2, 80). Policy 0.
// nat POSTROUTING: SNAT rule: E's and G's SYNs (2, 80); policy 0.
// F goes to INPUT: nat INPUT policy (1, 40), filter INPUT policy (1, 40). The router answers it with a
//   RST (40 bytes): filter OUTPUT policy (1, 40). nat OUTPUT/POSTROUTING do not see that RST: it is the
//   reply direction of F's conntrack entry (nat chains see only a connection's first packet).
// conntrack: E TIME_WAIT (reply 192.0.2.1:80 -> 192.0.2.254:41000), G SYN_RECV (reply to
//   192.0.2.254:41002). F has NO entry: when the only reply a connection ever saw is a RST, the kernel
//   deletes the entry at once (nf_conntrack_proto_tcp.c, tcp_packet: "If only reply is a RST, we can
//   consider ourselves not to have an established connection ... delete the conntrack immediately").
// Egress: eth0 = E's client side after DNAT+SNAT (S, A, PA, A, FA, A) + G's SYN = 7;
//   eth1 = E's server side (SA, PA, FA) + G's SA + the RST for F = 5.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('nat:PREROUTING:1')).toEqual([1, 40]);
  expect(c('nat:PREROUTING:policy')).toEqual([2, 80]);
  expect(c('filter:FORWARD:1')).toEqual([9, 1060]);
  expect(c('filter:FORWARD:2')).toEqual([2, 80]);
  expect(c('filter:FORWARD:policy')).toEqual([0, 0]);
  expect(c('nat:POSTROUTING:1')).toEqual([2, 80]);
  expect(c('nat:POSTROUTING:policy')).toEqual([0, 0]);
  expect(c('nat:INPUT:policy')).toEqual([1, 40]);
  expect(c('filter:INPUT:policy')).toEqual([1, 40]);
  expect(c('filter:OUTPUT:policy')).toEqual([1, 40]);
  expect(c('nat:OUTPUT:policy')).toEqual([0, 0]);
  const ct = k.conntrack.map((e) => `${e.proto} ${e.state} ${e.orig.src}:${e.orig.sport}>${e.orig.dst}:${e.orig.dport} ${e.reply.src}:${e.reply.sport}>${e.reply.dst}:${e.reply.dport}`).sort();
  expect(ct).toEqual([
    'tcp SYN_RECV 203.0.113.52:41002>192.0.2.1:80 192.0.2.1:80>192.0.2.254:41002',
    'tcp TIME_WAIT 203.0.113.50:41000>198.51.100.1:80 192.0.2.1:80>192.0.2.254:41000',
  ]);
  expect(k.egress.filter((p) => p.iface === 'eth0').length).toBe(7);
  expect(k.egress.filter((p) => p.iface === 'eth1').length).toBe(5);
  // The RST the router sends for F: from 198.51.100.1:22 to 203.0.113.51:41001, flags RST+ACK.
  const rst = k.egress.find((p) => p.ip[9] === 6 && (p.ip[33] & 0x04));
  expect(rst && Buffer.from(rst.ip.subarray(12, 24)).toString('hex')).toBe('c6336401cb0071330016a029');
}
