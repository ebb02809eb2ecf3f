// Hand-computed expectations (packet numbers from capture.ts). Sizes: UDP 28 + payload (68, 108, 48,
// 40); echo 20+8+56 = 84; ICMP errors 20 + 8 + quote (20 + 8) = 56.
// FORWARD: 1 (icmp RELATED): #6, #12 -> 2, 112. 2 (ESTABLISHED): #2 #3 #4 #8 #9 #10 -> 6,
//   108+68+108+84+84+84 = 536. 3 (eth0->eth1 udp): #1 #5 #11 -> 3, 156. 4 (echo-request): #7 -> 1, 84.
//   Policy 0.
// INPUT: #13 is INVALID (its quoted tuple matches no entry), addressed to the router: rule 1 and the
//   policy -> 1, 56 each.
// nat PREROUTING policy: the NEW packets #1 #5 #7 #11 -> 4, 240 (RELATED ICMP errors are translated
//   from the entry, not by walking nat; INVALID ones have no entry). nat POSTROUTING SNAT: the same 4.
//   nat INPUT: 0.
// conntrack: U1 udp, replied but not ASSURED (a UDP entry is ASSURED only when still active 2 s after
//   creation: nf_conntrack_proto_udp.c, stream_ts; this replay lasts well under 2 s); U2 and T1 udp
//   UNREPLIED (an ICMP error is not a reply); I1 icmp id 4660, replied.
// Egress: eth1: #1 #3 #5 #7 #9 #11 = 6; eth0: #2 #4 #6 #8 #10 #12 = 6, the errors rewritten for the
//   inside client: outer destination and quoted source 192.0.2.30 / 192.0.2.32.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';
import { checksumProblem } from '../../lib/csum.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('filter:FORWARD:1')).toEqual([2, 112]);
  expect(c('filter:FORWARD:2')).toEqual([6, 536]);
  expect(c('filter:FORWARD:3')).toEqual([3, 156]);
  expect(c('filter:FORWARD:4')).toEqual([1, 84]);
  expect(c('filter:FORWARD:policy')).toEqual([0, 0]);
  expect(c('filter:INPUT:1')).toEqual([1, 56]);
  expect(c('filter:INPUT:policy')).toEqual([1, 56]);
  expect(c('nat:PREROUTING:policy')).toEqual([4, 240]);
  expect(c('nat:POSTROUTING:1')).toEqual([4, 240]);
  expect(c('nat:POSTROUTING:policy')).toEqual([0, 0]);
  expect(c('nat:INPUT:policy')).toEqual([0, 0]);
  const ct = k.conntrack.map((e) => `${e.proto} ${e.orig.src}>${e.orig.dst} ${e.orig.sport ?? e.orig.id} ${e.reply.src}>${e.reply.dst} ${e.flags.join(',')}`).sort();
  expect(ct).toEqual([
    'icmp 192.0.2.31>203.0.113.10 4660 203.0.113.10>198.51.100.1 ',
    'udp 192.0.2.30>203.0.113.53 33000 203.0.113.53>198.51.100.1 ',
    'udp 192.0.2.30>203.0.113.54 33001 203.0.113.54>198.51.100.1 UNREPLIED',
    'udp 192.0.2.32>203.0.113.99 33002 203.0.113.99>198.51.100.1 UNREPLIED',
  ]);
  const by = (i: string) => k.egress.filter((p) => p.iface === i);
  expect(by('eth1').length).toBe(6);
  expect(by('eth0').length).toBe(6);
  const errs = by('eth0').filter((p) => p.ip[9] === 1 && p.ip[20] !== 0);
  const ip4 = (b: Uint8Array, o: number) => Array.from(b.subarray(o, o + 4)).join('.');
  expect(errs.map((p) => [p.ip[20], ip4(p.ip, 16), ip4(p.ip, 28 + 12)])).toEqual([
    [3, '192.0.2.30', '192.0.2.30'],
    [11, '192.0.2.32', '192.0.2.32'],
  ]);
  expect(k.egress.map((p) => checksumProblem(p.ip))).toEqual(k.egress.map(() => null));
}
