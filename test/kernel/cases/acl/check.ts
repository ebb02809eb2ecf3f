// Hand-computed expectations (packet numbers from capture.ts). Sizes: TCP SYN 40, UDP with 32 bytes
// 60, echo with 56 bytes 84, timestamp request with 12 bytes 40, fragments 20+512 = 532 and 20+496 = 516.
// FORWARD (16 packets: all but 14 and 15, with 17 counted as two fragments):
//   1 -f DROP: 17's second fragment -> 1, 516 (no conntrack user: no reassembly).
//   2 -i eth+ -o eth2 udp dport 69: #16 -> 1, 60.
//   3 -i eth1 -o eth2 -j SERVERS: #1-#9 and 17's first fragment -> 10; 6*40 + 2*60 + 84 + 532 = 976.
//   4 -i eth1 -o eth0 -g INSIDE: #10-#13 -> 4; 40+40+60+60 = 200.
//   5 -i eth1 -p udp ACCEPT: 0 (#12 falls off INSIDE, reached by goto: it goes to the policy).
//   6 ! -i eth0 tcp dport 9090: #5 (RETURNed from SERVERS) -> 1, 40.
//   policy DROP: #6 (RETURNed, no later match) and #12 -> 2, 100.
// SERVERS: 1 (-s /25 multiport 22,80,443,8000:8100): #1, #2 -> 2, 80. 2 (! -s /25 dport 80): #3 -> 1, 40.
//   3 (udp sport 1024:65535 dport 53): #7 and 17's first fragment -> 2, 592. 4 (tcp ! dport 1:1023
//   RETURN): #5, #6 -> 2, 80. 5 (echo-request): #9 -> 1, 84. 6 DROP: #4 and #8 -> 2, 100.
// INSIDE: 1 (-d 192.0.2.0/28 dport 22): #10. 2 (! -d /28 REJECT tcp-reset): #11. 3 (udp ! dports
//   500,4500 DROP): #13 (60). 4 (udp, no target): #12 (60).
// INPUT: 1 (eth1 echo-request): #14 (84). Policy DROP: #15 (40).
// OUTPUT policy: the router's echo reply (84) and the reset for #11 (40) -> 2, 124.
// Egress: eth2: #1 #2 #3 #5 #7 #9 #16 + 17's first fragment = 8; eth0: #10 = 1; eth1: echo reply and
//   the reset, both sent by the router's own stack = 2.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';
import { checksumProblem } from '../../lib/csum.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(k.replayer).toBe('tcpreplay');
  expect(c('filter:FORWARD:1')).toEqual([1, 516]);
  expect(c('filter:FORWARD:2')).toEqual([1, 60]);
  expect(c('filter:FORWARD:3')).toEqual([10, 976]);
  expect(c('filter:FORWARD:4')).toEqual([4, 200]);
  expect(c('filter:FORWARD:5')).toEqual([0, 0]);
  expect(c('filter:FORWARD:6')).toEqual([1, 40]);
  expect(c('filter:FORWARD:policy')).toEqual([2, 100]);
  expect(c('filter:SERVERS:1')).toEqual([2, 80]);
  expect(c('filter:SERVERS:2')).toEqual([1, 40]);
  expect(c('filter:SERVERS:3')).toEqual([2, 592]);
  expect(c('filter:SERVERS:4')).toEqual([2, 80]);
  expect(c('filter:SERVERS:5')).toEqual([1, 84]);
  expect(c('filter:SERVERS:6')).toEqual([2, 100]);
  expect(c('filter:INSIDE:1')).toEqual([1, 40]);
  expect(c('filter:INSIDE:2')).toEqual([1, 40]);
  expect(c('filter:INSIDE:3')).toEqual([1, 60]);
  expect(c('filter:INSIDE:4')).toEqual([1, 60]);
  expect(c('filter:INPUT:1')).toEqual([1, 84]);
  expect(c('filter:INPUT:policy')).toEqual([1, 40]);
  expect(c('filter:OUTPUT:policy')).toEqual([2, 124]);
  expect(k.conntrack).toEqual([]); // no conntrack user in the ruleset: nothing tracked
  const by = (i: string) => k.egress.filter((p) => p.iface === i);
  expect(by('eth2').length).toBe(8);
  expect(by('eth0').length).toBe(1);
  expect(by('eth1').map((p) => p.local)).toEqual([true, true]);
  expect(k.egress.filter((p) => p.local).length).toBe(2);
  // Every packet leaves with valid checksums, the router's reset included (TX offload is off).
  expect(k.egress.map((p) => checksumProblem(p.ip))).toEqual(k.egress.map(() => null));
}
