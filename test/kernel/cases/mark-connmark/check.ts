// Hand-computed expectations (packet numbers from capture.ts). 11 packets; TCP 40 bytes (+50: 90,
// +80: 120); UDP 58 and 88.
// mangle PREROUTING: 1 (restore-mark) all 11. 2 (mark != 0 ACCEPT): every packet after its
//   connection's first, since the first saved a non-zero mark: S1 4, W1 2, U1 1 = 7. The 4 first
//   packets (#1 #6 #9 #11) go on: 3 (dport 22 -> 0x1): #1; 4 (dport 80 -> 0x2/0xff): #6; 5 (udp |=
//   0x10): #9; 6 (save-mark): all 4; policy: the same 4.
// nat PREROUTING: NEW #1 #6 #9 #11; rule 1 (tcp with mark 0x2 -> DNAT): #6; policy 3.
// filter FORWARD: 1 (connmark 0x1): S1's 5 packets (saved on its SYN, before FORWARD); 2 (mark
//   0x2/0xff): W1's 3; 3 (mark 0x10/0x10): U1's 2; policy DROP: #11.
// mangle FORWARD policy: 11 (it runs before filter's DROP). mangle POSTROUTING: 1 (connmark
//   0x10/0xff -> ctmark = (ctmark & ~0x100) ^ 0x100): U1's 2 packets (0x10 -> 0x110 -> 0x110, and
//   0x110 & 0xff is still 0x10 for the reply); policy: the 10 forwarded packets.
// nat POSTROUTING: MASQUERADE #1 #6 #9 -> 3; policy 0.
// conntrack: S1 ESTABLISHED mark 1, W1 ESTABLISHED mark 2 (reply from the proxy 203.0.113.80:8080),
//   U1 mark 0x110 = 272; X1 none (dropped before confirmation).
// Egress: eth1: S1 #1 #3 #4, W1 #6 #8, U1 #9 = 6; eth0: S1 #2 #5, W1 #7, U1 #10 = 4.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const p = (key: string) => Number(k.counters.get(key)?.packets ?? -1);
  expect([1, 2, 3, 4, 5, 6].map((n) => p(`mangle:PREROUTING:${n}`))).toEqual([11, 7, 1, 1, 1, 4]);
  expect(p('mangle:PREROUTING:policy')).toBe(4);
  expect([p('nat:PREROUTING:1'), p('nat:PREROUTING:policy')]).toEqual([1, 3]);
  expect([1, 2, 3].map((n) => p(`filter:FORWARD:${n}`))).toEqual([5, 3, 2]);
  expect(p('filter:FORWARD:policy')).toBe(1);
  expect(p('mangle:FORWARD:policy')).toBe(11);
  expect([p('mangle:POSTROUTING:1'), p('mangle:POSTROUTING:policy')]).toEqual([2, 10]);
  expect([p('nat:POSTROUTING:1'), p('nat:POSTROUTING:policy')]).toEqual([3, 0]);
  const ct = k.conntrack.map((e) => `${e.proto} ${e.state} ${e.orig.dport} ${e.reply.src}:${e.reply.sport} mark=${e.mark}`).sort();
  expect(ct).toEqual([
    'tcp ESTABLISHED 22 203.0.113.22:22 mark=1',
    'tcp ESTABLISHED 80 203.0.113.80:8080 mark=2',
    'udp  53 203.0.113.53:53 mark=272',
  ]);
  expect(k.egress.filter((e) => e.iface === 'eth1').length).toBe(6);
  expect(k.egress.filter((e) => e.iface === 'eth0').length).toBe(4);
}
