// Hand-computed expectations. 4 packets: H 2 SYNs (40 bytes each), J 1 UDP (20+8+20 = 48), K 1 SYN.
// nat PREROUTING: DNAT rule: H twice (the router's RST kills the entry, so the retransmission is
//   NEW again) + K -> 3, 120. Policy: J -> 1, 48.
// nat INPUT policy: H's 2 SYNs + J -> 3, 128 (K never reaches INPUT: martian destination on eth1).
// filter INPUT: rule 1 (-d 127.0.0.1 --dport 8080, i.e. after DNAT): 2, 80; policy: J, 48.
// filter OUTPUT policy: 2 RSTs (40) + the ICMP port unreachable for J, quoting the whole datagram
//   (20 + 8 + 48 = 76) -> 3, 156. nat OUTPUT/POSTROUTING see none of them (reply direction / RELATED).
// conntrack: H none (a RST as the only reply deletes the entry), K none (dropped before confirm),
//   J one UDP entry, UNREPLIED (an ICMP error is not a reply).
// Egress: all on eth0: the 2 RSTs, un-DNATed to come from 198.51.100.1:80, and the ICMP error.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('nat:PREROUTING:1')).toEqual([3, 120]);
  expect(c('nat:PREROUTING:policy')).toEqual([1, 48]);
  expect(c('nat:INPUT:policy')).toEqual([3, 128]);
  expect(c('filter:INPUT:1')).toEqual([2, 80]);
  expect(c('filter:INPUT:policy')).toEqual([1, 48]);
  expect(c('filter:OUTPUT:policy')).toEqual([3, 156]);
  expect(c('nat:OUTPUT:policy')).toEqual([0, 0]);
  expect(c('nat:POSTROUTING:policy')).toEqual([0, 0]);
  expect(c('filter:FORWARD:policy')).toEqual([0, 0]);
  const ct = k.conntrack.map((e) => `${e.proto} ${e.orig.src}:${e.orig.sport}>${e.orig.dst}:${e.orig.dport} ${e.flags.join(',')}`);
  expect(ct).toEqual(['udp 203.0.113.61:5000>198.51.100.1:80 UNREPLIED']);
  expect(k.egress.map((p) => p.iface)).toEqual(['eth0', 'eth0', 'eth0']);
  const rsts = k.egress.filter((p) => p.ip[9] === 6);
  expect(rsts.map((p) => Buffer.from(p.ip.subarray(12, 24)).toString('hex'))).toEqual(
    Array(2).fill('c6336401cb00713c0050a410')); // 198.51.100.1:80 -> 203.0.113.60:42000
  const icmp = k.egress.find((p) => p.ip[9] === 1)!;
  expect([icmp.ip[20], icmp.ip[21]]).toEqual([3, 3]); // port unreachable
}
