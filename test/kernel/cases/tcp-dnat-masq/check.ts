// Hand-computed expectations (packet numbers from capture.ts). TCP without payload 40 bytes; with
// 100: 140; 300: 340; 50: 90; 10: 50. L1 (#1-#12) = 1180 bytes, L2 (#13-#19) = 350 bytes.
// nat PREROUTING DNAT: #1 and #13 -> 2, 80. #2 (retransmitted SYN) is NEW too, but its entry already
//   has its NAT binding, so the nat chains are not walked again. Policy 0.
// nat POSTROUTING MASQUERADE: #1, #13 -> 2, 80.
// filter FORWARD: 1 (--ctstate DNAT --ctorigdst, no target): every packet with a conntrack entry:
//   all but #17 -> 18, 1480. 2 (INVALID DROP): #17 -> 1, 50 (out of window: tcp_in_window fails with
//   be_liberal 0). 3 (RELATED,ESTABLISHED): all but #1, #2, #13 (NEW) and #17 -> 15, 1360.
//   4 (NEW to 203.0.113.10:8443 after DNAT): #1, #2, #13 -> 3, 120. Policy 0.
// conntrack: L1 TIME_WAIT, L2 CLOSE (after the RST), both ASSURED, reply tuples to 203.0.113.254.
// Egress: eth1 (to the server): L1 #1 #2 #4 #5 #7 #9 #10 #12, L2 #13 #15 #16 #19 = 12;
//   eth0 (to the client): L1 #3 #6 #8 #11, L2 #14 #18 = 6.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('nat:PREROUTING:1')).toEqual([2, 80]);
  expect(c('nat:PREROUTING:policy')).toEqual([0, 0]);
  expect(c('nat:POSTROUTING:1')).toEqual([2, 80]);
  expect(c('filter:FORWARD:1')).toEqual([18, 1480]);
  expect(c('filter:FORWARD:2')).toEqual([1, 50]);
  expect(c('filter:FORWARD:3')).toEqual([15, 1360]);
  expect(c('filter:FORWARD:4')).toEqual([3, 120]);
  expect(c('filter:FORWARD:policy')).toEqual([0, 0]);
  const ct = k.conntrack.map((e) => `${e.state} ${e.orig.src}:${e.orig.sport}>${e.orig.dst}:${e.orig.dport} ${e.reply.src}:${e.reply.sport}>${e.reply.dst}:${e.reply.dport} ${e.flags.join(',')}`).sort();
  expect(ct).toEqual([
    'CLOSE 198.51.100.20:40100>198.51.100.80:443 203.0.113.10:8443>203.0.113.254:40100 ASSURED',
    'TIME_WAIT 198.51.100.20:40000>198.51.100.80:443 203.0.113.10:8443>203.0.113.254:40000 ASSURED',
  ]);
  expect(k.egress.filter((p) => p.iface === 'eth1').length).toBe(12);
  expect(k.egress.filter((p) => p.iface === 'eth0').length).toBe(6);
  expect(k.egress.some((p) => p.local)).toBe(false);
}
