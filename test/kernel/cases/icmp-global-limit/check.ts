// Hand-computed expectations (HZ 250 on the kernel measured; nfreplay's image default too).
// icmp_global_allow with icmp_msgs_burst 0, icmp_msgs_per_sec 10 (net/ipv4/icmp.c, 6.12+): the credit
// starts at 0 and can never become positive (a refill sets it to min(credit + incr, 0) = 0 for any
// credit >= -incr, and icmp_global_consume takes 0..2 after each allowed error), so a limited error
// is allowed exactly when it refills: delta = min(now - stamp, HZ) >= HZ/50 (5 jiffies) and
// incr = 10 * delta / HZ >= 1, i.e. delta >= 25 jiffies (100 ms); then stamp = now. The random draws
// never matter. A new netns has stamp 0: the first error sees delta = HZ and is sent.
//   G1 @0:      #0 rej -> refill (first): SENT, stamp 0; #1 rej, #5 ttl: 1 ms later, refused;
//               #2 rst: RST (not ICMP); #3 ping: echo reply (type 0 outside icmp_ratemask 0x1818);
//               #4 big: frag needed (never limited: icmpv4_mask_allow).
//   G2 @30:     #6 rej, #7 ttl: delta 7 or 8 jiffies -> incr 0 -> refused; #8 echo reply; #9 RST.
//   G3 @200:    #10 ttl: delta 50 -> incr 2 -> time exceeded SENT, stamp 200; #11 rej refused;
//               #12 big: frag needed.
//   G4 @230:    #13 rej: delta 7 or 8 -> refused.
//   G5 @400:    #14 rej: delta 50 -> SENT; #15 refused.
//   G6 @1500:   #16 rej: delta min(275, 250) = 250 -> incr 10 -> SENT; #17 refused.
// Limited errors sent: #0, #14, #16 (port unreachable) and #10 (time exceeded); without the global
// limit all 9 rej and 2 ttl packets would be answered.
// Sizes: every small datagram is 48 bytes (20 + 8 + 20 payload; SYNs 40); port unreachable and
// time exceeded quote all 48: 76 bytes; frag needed quotes 576 - 28 = 548 of the 1100: 576 bytes;
// echo replies 48, RSTs 40.
// FORWARD rule 1 (udp 9): #0 #1 #6 #11 #13 #14 #15 #16 #17 = 9 x 48 = 432; rule 2 (tcp 23): #2 #9
// = 2 x 40 = 80; policy 0 (ttl and big packets are dropped before FORWARD).
// INPUT policy: the two pings, 96. OUTPUT rule 1 (icmp type 3): 3 x 76 + 2 x 576 = 1380; rule 2
// (type 11): 76; policy: 2 RSTs + 2 echo replies = 80 + 96 = 176.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('filter:FORWARD:1')).toEqual([9, 432]);
  expect(c('filter:FORWARD:2')).toEqual([2, 80]);
  expect(c('filter:FORWARD:policy')).toEqual([0, 0]);
  expect(c('filter:INPUT:policy')).toEqual([2, 96]);
  expect(c('filter:OUTPUT:1')).toEqual([5, 1380]);
  expect(c('filter:OUTPUT:2')).toEqual([1, 76]);
  expect(c('filter:OUTPUT:policy')).toEqual([4, 176]);
  // what left on eth0, in order: destination's last byte (source 192.0.2.(10 + packet #)) and kind
  const kind = (ip: Uint8Array) => (ip[9] === 6 ? 'rst' : `icmp ${ip[20]}/${ip[21]}`);
  expect(k.egress.map((e) => [e.iface, ip4last(e.ip), kind(e.ip)])).toEqual([
    ['eth0', 10, 'icmp 3/3'], ['eth0', 12, 'rst'], ['eth0', 13, 'icmp 0/0'], ['eth0', 14, 'icmp 3/4'],
    ['eth0', 18, 'icmp 0/0'], ['eth0', 19, 'rst'],
    ['eth0', 20, 'icmp 11/0'], ['eth0', 22, 'icmp 3/4'],
    ['eth0', 24, 'icmp 3/3'],
    ['eth0', 26, 'icmp 3/3'],
  ]);
}

function ip4last(ip: Uint8Array): number { return ip[19]; }
