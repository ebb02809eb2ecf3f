// Hand-computed expectations. 600 SYNs to svc-a, 320 to svc-b, each a new connection (40 bytes).
// nat: PREROUTING -> KUBE-SERVICES 920; KUBE-SERVICES 1: 600, 2: 320, 3 (dst-type LOCAL): 0.
//   Every client is outside 198.19.0.0/16: the SVC chains' first rule (-> KUBE-MARK-MASQ) counts all
//   their connections; KUBE-MARK-MASQ 920; KUBE-POSTROUTING 1 (RETURN unmarked): 0, 2 and 3: 920.
//   svc-a: the three endpoint rules split 600: rule 2 ~ Bin(600, 1/3), rules 3+4 the rest, half each.
//   svc-b (affinity): each client's first connection misses the three rcheck rules and picks at
//   random (rules 5-7 sum to 40 = number of clients); its 7 later ones hit exactly the rcheck rule of
//   the endpoint it picked (rules 2-4 sum to 40*7 = 280), so every client sticks to one endpoint.
// filter FORWARD: 1 (NEW -> KUBE-PROXY-FIREWALL) 920, 2 (-> KUBE-FORWARD) 920; KUBE-FORWARD 2 (mark
//   0x4000 set by KUBE-MARK-MASQ, cleared only at POSTROUTING) accepts all 920; FORWARD 3, 4: 0.
// conntrack: 920 entries, SYN_SENT, UNREPLIED, replies to 198.18.255.1 (MASQUERADE, eth1's address).
// Egress: 920 SYNs on eth1, each to the endpoint its connection's DNAT picked.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';
import { chiSquareP } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const p = (key: string) => Number(k.counters.get(key)?.packets ?? -1);
  const A = 'nat:KUBE-SVC-DAKOCTDC5UCOR7ZP';
  const B = 'nat:KUBE-SVC-G4RDBLL5YDRMFUB4';
  expect(p('nat:PREROUTING:1')).toBe(920);
  expect([p('nat:KUBE-SERVICES:1'), p('nat:KUBE-SERVICES:2'), p('nat:KUBE-SERVICES:3')]).toEqual([600, 320, 0]);
  expect(p(`${A}:1`)).toBe(600);
  expect(p(`${B}:1`)).toBe(320);
  expect(p('nat:KUBE-MARK-MASQ:1')).toBe(920);
  expect([p('nat:KUBE-POSTROUTING:1'), p('nat:KUBE-POSTROUTING:2'), p('nat:KUBE-POSTROUTING:3')]).toEqual([0, 920, 920]);
  // svc-a: what reached each endpoint; sums fixed, split close to 1/3 each (goodness of fit vs 200/200/200).
  const a = [p(`${A}:2`), p(`${A}:3`), p(`${A}:4`)];
  expect(a[0] + a[1] + a[2]).toBe(600);
  expect(p(`${A}:3`) + p(`${A}:4`)).toBe(600 - a[0]);
  expect(chiSquareP(a, [200, 200, 200])).toBeGreaterThan(0.001);
  const sepA = ['MLQY3IAZVQIKMIXU', 'NCZYQDP2VNPFKLGL', 'GWHIK2RFCQAA3SN3'].map((h) => p(`nat:KUBE-SEP-${h}:2`));
  expect(sepA).toEqual(a);
  // svc-b: affinity.
  const rcheck = [p(`${B}:2`), p(`${B}:3`), p(`${B}:4`)];
  const first = [p(`${B}:5`), p(`${B}:6`), p(`${B}:7`)];
  expect(rcheck.reduce((x, y) => x + y)).toBe(280);
  expect(first.reduce((x, y) => x + y)).toBe(40);
  for (let i = 0; i < 3; i++) expect(rcheck[i]).toBe(first[i] * 7); // every client sticks to its endpoint
  expect(p('filter:FORWARD:1')).toBe(920);
  expect(p('filter:FORWARD:2')).toBe(920);
  expect(p('filter:KUBE-FORWARD:2')).toBe(920);
  expect([p('filter:FORWARD:3'), p('filter:FORWARD:4')]).toEqual([0, 0]);
  expect(k.conntrack.length).toBe(920);
  expect(new Set(k.conntrack.map((e) => `${e.state} ${e.reply.dst} ${e.flags.join(',')}`))).toEqual(new Set(['SYN_SENT 198.18.255.1 UNREPLIED']));
  const eg = k.egress.filter((e) => e.iface === 'eth1');
  expect(eg.length).toBe(920);
  // Egress destinations agree with the counters: svc-a's endpoints got a[i] SYNs each.
  const dst = (e: { ip: Uint8Array }) => Array.from(e.ip.subarray(16, 20)).join('.');
  expect(['198.19.1.1', '198.19.2.1', '198.19.3.1'].map((d) => eg.filter((e) => dst(e) === d).length)).toEqual(a);
}
