// Hand-computed expectations. 7 packets of 40 bytes.
// MASQUERADE --to-ports 40000-40001 (nf_nat_core.c get_unique_tuple / nf_nat_l4proto_unique_tuple):
//   #1 keeps 40000 (in range, unused). #2 would clash with #1's reply tuple: a random start in the
//   two-port range, both tried, 40001 is the free one. #3: both ports taken, the search gives up and
//   leaves a clashing tuple; confirmation then finds the reply tuple taken and, TCP not allowing clash
//   resolution, drops the packet (conntrack -S insert_failed) after every chain has seen it.
// nat PREROUTING policy: #1 #2 #3 (NEW). nat POSTROUTING MASQUERADE: #1 #2 #3 -> 3; policy 0.
// filter FORWARD: NEW #1 #2 #3 -> 3; ESTABLISHED #4-#7 -> 4; policy 7.
// conntrack: C1 and C2 ESTABLISHED (replies to 198.51.100.1:40000 and :40001), no C3.
// Egress: eth1: #1 #2 #6 #7 (#2 and #7 with source port 40001); eth0: #4 #5 un-NATed.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const p = (key: string) => Number(k.counters.get(key)?.packets ?? -1);
  expect(p('nat:PREROUTING:policy')).toBe(3);
  expect([p('nat:POSTROUTING:1'), p('nat:POSTROUTING:policy')]).toEqual([3, 0]);
  expect([p('filter:FORWARD:1'), p('filter:FORWARD:2'), p('filter:FORWARD:policy')]).toEqual([3, 4, 7]);
  const ct = k.conntrack.map((e) => `${e.state} ${e.orig.src}:${e.orig.sport} ${e.reply.dst}:${e.reply.dport}`).sort();
  expect(ct).toEqual([
    'ESTABLISHED 192.0.2.50:40000 198.51.100.1:40000',
    'ESTABLISHED 192.0.2.51:40000 198.51.100.1:40001',
  ]);
  expect(k.conntrackStats).toMatch(/insert_failed=1\b/);
  const out = k.egress.filter((e) => e.iface === 'eth1').map((e) => (e.ip[20] << 8) | e.ip[21]);
  expect(out).toEqual([40000, 40001, 40000, 40001]);
  expect(k.egress.filter((e) => e.iface === 'eth0').map((e) => Array.from(e.ip.subarray(16, 20)).join('.'))).toEqual(['192.0.2.50', '192.0.2.51']);
}
