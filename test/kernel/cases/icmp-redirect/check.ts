// Hand-computed expectations (net/ipv4/route.c __mkroute_input, ip_rt_send_redirect;
// ip_forward.c; icmp.c __icmp_send; nf_nat_proto.c nf_nat_icmp_reply_translation).
//
// Who qualifies (IPSKB_DOREDIRECT): in and out device eth0 (send_redirects on), the source reachable
// through eth0 without a gateway (fib_validate_source > 0): A and C, whatever the destination on eth0
// (B on-link: gateway = B; R via 192.0.2.254: gateway = 192.0.2.254), and F (its packets to
// 192.0.2.99 are DNATed to B before routing). Not D (its route back has a gateway), not A's
// packets to E (out by eth1).
//
// The limiter per source (HZ 250: ip_rt_redirect_load 5 jiffies = 20 ms; the n-th redirect needs more
// than 20 ms << (n - 1) since the previous; none after 9), times in ms:
//   A:   0 #1 | 3, 6 (AR) no (<= 0+40) | 100 #2 | 125 no (<= 180) | 250 #3 | 460 #4 (big) | 700 no (<= 780)
//        | 830 #5 (AR) | 1300 no (<= 1470) | 1520 #6 | 2850 #7 (AR) | 5460 #8 | 10000 no (<= 10580)
//        | 10630 #9 | 10700 no (9 sent) | 10800 no.   (A's packets to E at 60 and 5000 do not qualify.)
//   C:  30 #1 | 33 no (<= 70) | 120 #2 | 260 #3, the ICMP error: counted by the peer, but icmp_send
//        sends no error about an error | 300 no (<= 260+160) | 470 #4 | 500 no.
//   F: 510 #1 | 600 #2 (> 510+40) | 620 no (<= 600+80).
// So icmp_send builds 9 (A) + 3 (C: #1 #2 #4) + 2 (F) = 14 redirects: raw OUTPUT counts them all.
// The first packet of a connection is NEW: its redirect leaves ip_forward before POSTROUTING, so the
// connection's SRC manip is not done and the nat OUTPUT hook drops it (A #1 at 0, C #1 at 30, F #1
// at 510); F's #2 belongs to a DNATed connection: dropped there too; the other redirects belong to
// confirmed connections with both null bindings done. 10 reach filter OUTPUT and the wire: 9 of
// 20 + 8 + 48 = 76 bytes and one of 20 + 8 + 128 = 156 (for `big`, which FORWARD then drops: the
// redirect was sent before FORWARD) -> 840; raw OUTPUT: + 4 x 76 -> 14, 1144.
// filter OUTPUT -d A: A's 8 that get through: 7 x 76 + 156 = 688.
// Packets: 31 = 29 of 48 bytes + big 128 + the ICMP error 56 -> raw PREROUTING 31, 1576.
// FORWARD: ctstate NEW = every UDP packet (no reply was ever seen: ctinfo IP_CT_NEW), all but the
// INVALID ICMP error -> 30, 29 x 48 + 128 = 1520 (nat sees only the 6 first packets of AB, AR, CB,
// DB, AE, FD: the DNAT rule 1, 48, the PREROUTING policy 5, 240, POSTROUTING 6, 288); length 128
// drops big; policy: 30, 1448.
// Conntrack: 6 UDP entries, unreplied.
// Egress eth0: 28 forwarded packets (all but big and the 2 to E) and the 10 redirects, each right
// before the packet it is about: from 192.0.2.1 (the address towards the source), TTL 64, TOS 0xc0,
// type 5 code 1, the gateway, and the packet quoted after ip_forward's TTL decrement.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';
import { checksumProblem } from '../../lib/csum.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('raw:PREROUTING:policy')).toEqual([31, 1576]);
  expect(c('raw:OUTPUT:1')).toEqual([14, 1144]);
  expect(c('raw:OUTPUT:policy')).toEqual([14, 1144]);
  expect(c('nat:PREROUTING:1')).toEqual([1, 48]);
  expect(c('nat:PREROUTING:policy')).toEqual([5, 240]);
  expect(c('nat:POSTROUTING:policy')).toEqual([6, 288]);
  expect(c('nat:OUTPUT:policy')).toEqual([0, 0]);
  expect(c('filter:FORWARD:1')).toEqual([30, 1520]);
  expect(c('filter:FORWARD:2')).toEqual([1, 128]);
  expect(c('filter:FORWARD:policy')).toEqual([30, 1448]);
  expect(c('filter:OUTPUT:1')).toEqual([10, 840]);
  expect(c('filter:OUTPUT:2')).toEqual([8, 688]);
  expect(c('filter:OUTPUT:policy')).toEqual([10, 840]);
  expect(k.conntrack.length).toBe(6);
  const eth0 = k.egress.filter((e) => e.iface === 'eth0');
  expect(eth0.length).toBe(38);
  expect(k.egress.filter((e) => e.iface === 'eth1').length).toBe(2);
  const ip = (b: Uint8Array, o: number) => b.subarray(o, o + 4).join('.');
  // [quoted packet's IP id, redirect's destination, gateway, length]
  const redirects = eth0.filter((e) => e.local).map((e) => {
    expect([ip(e.ip, 12), e.ip[8], e.ip[1], e.ip[9], e.ip[20], e.ip[21]]).toEqual(['192.0.2.1', 64, 0xc0, 1, 5, 1]);
    return [(e.ip[32] << 8) | e.ip[33], ip(e.ip, 16), ip(e.ip, 24), (e.ip[2] << 8) | e.ip[3]];
  });
  const B = '192.0.2.20', G = '192.0.2.254', A = '192.0.2.10', C = '192.0.2.30';
  expect(redirects).toEqual([
    [8, A, B, 76], [9, C, B, 76], [11, A, B, 76], [15, A, B, 156], [16, C, B, 76],
    [22, A, G, 76], [24, A, B, 76], [25, A, G, 76], [27, A, B, 76], [29, A, B, 76],
  ]);
  // each redirect right before the forwarded packet it quotes (big excepted: dropped), and the quote
  // carries the TTL as forwarded
  for (let i = 0; i < eth0.length; i++) {
    const e = eth0[i];
    if (!e.local) continue;
    const id = (e.ip[32] << 8) | e.ip[33];
    if (id !== 15) {
      const next = eth0[i + 1];
      expect([next.local, (next.ip[4] << 8) | next.ip[5]]).toEqual([false, id]);
      expect(e.ip[28 + 8]).toBe(next.ip[8]);
    }
  }
  expect(k.egress.map((e) => checksumProblem(e.ip))).toEqual(k.egress.map(() => null));
}
