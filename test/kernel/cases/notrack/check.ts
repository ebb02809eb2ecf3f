// Hand-computed expectations (48 bytes each). raw PREROUTING: 1 (CT --notrack, dport 53): #1;
// 2 (NOTRACK, sport 53): #2; policy: all 4 (CT and NOTRACK do not terminate the chain).
// nat: only #3 walks it (NEW); untracked packets never do: PREROUTING policy 1, MASQUERADE 1.
// filter FORWARD: 1 (UNTRACKED): #1 #2; 2 (NEW,ESTABLISHED): #3 #4; policy 0.
// conntrack: only the NTP entry (reply to 198.51.100.1:123), replied, not ASSURED (under 2 s).
// Egress: #1 on eth1 with its own source 192.0.2.50 (not masqueraded), #2 on eth0, #3 on eth1 from
// 198.51.100.1, #4 on eth0 to 192.0.2.50.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const p = (key: string) => Number(k.counters.get(key)?.packets ?? -1);
  expect([p('raw:PREROUTING:1'), p('raw:PREROUTING:2'), p('raw:PREROUTING:policy')]).toEqual([1, 1, 4]);
  expect([p('nat:PREROUTING:policy'), p('nat:POSTROUTING:1')]).toEqual([1, 1]);
  expect([p('filter:FORWARD:1'), p('filter:FORWARD:2'), p('filter:FORWARD:policy')]).toEqual([2, 2, 0]);
  expect(k.conntrack.map((e) => `${e.orig.src}:${e.orig.sport} ${e.reply.dst}:${e.reply.dport} ${e.flags.join(',')}`)).toEqual(['192.0.2.50:123 198.51.100.1:123 ']);
  expect(k.egress.map((e) => [e.iface, e.ip.subarray(12, 16).join('.'), e.ip.subarray(16, 20).join('.')])).toEqual([
    ['eth1', '192.0.2.50', '203.0.113.53'],
    ['eth0', '203.0.113.53', '192.0.2.50'],
    ['eth1', '198.51.100.1', '203.0.113.123'],
    ['eth0', '203.0.113.123', '192.0.2.50'],
  ]);
}
