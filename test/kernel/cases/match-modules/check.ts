// Hand-computed expectations. P1..P11 bytes: 40 40 40 100 58 88 84 84 76 40 40 (690 in all).
// Every FORWARD rule has no target: all 11 packets are evaluated by every rule, in order.
//  1 nth --every 3 --packet 1 (kernel: count starts at 1, matches when it wraps from 2 to 0):
//    evaluations 2, 5, 8, 11 -> P2 P5 P8 P11 = 4, 222.
//  2 limit 1/hour burst 3: P1-P3 = 3, 120.
//  3 length 41:100: P4 P5 P6 P7 P8 P9 = 6, 490.
//  4 ttl-lt 10 in FORWARD, after ip_forward decremented TTL: P5 (5 -> 4), P7 (10 -> 9) = 2, 142.
//  5 tos 0x10: P4 = 1, 100.   6 dscp 0x2e (TOS 0xb8): P6 = 1, 88.
//  7 iprange 192.0.2.10-15: P1 P3 P4 P5 P10 P11 = 6, 318.   8 pkttype unicast: all 11, 690.
//  9 SYN without ACK: P1 P10 P11 = 3, 120.   10 echo-reply: P8 = 1, 84.
// 11 ctdir REPLY: P2 P6 P8 = 3, 212.
// 12 ctstatus SEEN_REPLY (set in PREROUTING by the first reply itself): P2 P3 P4 P6 P8 = 5, 352.
// 13 ctstate NEW ctproto 17: P5 P9 = 2, 134.   14 state ESTABLISHED: as 12 = 5, 352.
// 15 recent --set: all 11, 690.
// 16 recent --rcheck --hitcount 3 (the source's stamps, this packet's included by rule 15):
//    192.0.2.12 sends P1 P3 P4 P10 P11 -> its 3rd, 4th, 5th: P4 P10 P11 = 3, 180.
// 17 udp multiport --ports 53,123: P5 P6 P9 = 3, 222.   18 udp --sport 1024:65535: P5 = 1, 58.
// 19 ttl-eq 9 (after the decrement): P7 = 1, 84.    Policy: 11, 690.
// mangle PREROUTING (before the decrement): ttl-lt 10: P5 = 1, 58; ttl-eq 10: P7 = 1, 84.
// conntrack: TCP 40000 ESTABLISHED, 40001 and 40002 SYN_SENT; UDP 5000 replied, 123 UNREPLIED; ICMP.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  const want: [number, number][] = [[4, 222], [3, 120], [6, 490], [2, 142], [1, 100], [1, 88], [6, 318], [11, 690],
    [3, 120], [1, 84], [3, 212], [5, 352], [2, 134], [5, 352], [11, 690], [3, 180], [3, 222], [1, 58], [1, 84]];
  expect(want.map((_, i) => c(`filter:FORWARD:${i + 1}`))).toEqual(want);
  expect(c('filter:FORWARD:policy')).toEqual([11, 690]);
  expect(c('mangle:PREROUTING:1')).toEqual([1, 58]);
  expect(c('mangle:PREROUTING:2')).toEqual([1, 84]);
  const ct = k.conntrack.map((e) => `${e.proto} ${e.state} ${e.orig.sport ?? e.orig.id} ${e.flags.join(',')}`).sort();
  expect(ct).toEqual(['icmp  9 ', 'tcp ESTABLISHED 40000 ASSURED', 'tcp SYN_SENT 40001 UNREPLIED', 'tcp SYN_SENT 40002 UNREPLIED', 'udp  123 UNREPLIED', 'udp  5000 ']);
  expect(k.egress.length).toBe(11);
}
