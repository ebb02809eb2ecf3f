// Hand-computed expectations (nf_nat_redirect.c: the new destination is the first address of the
// input device's ifa_list, the primary 192.0.2.254; the port is --to-ports or unchanged).
// nat PREROUTING: 1 (53 -> 5353): #1 #3 -> 2, 96; 2 (123): #2 -> 1, 48. nat INPUT policy 3.
// filter INPUT: 1 (192.0.2.254:5353): #1 #3; 2 (192.0.2.254:123): #2; policy 3, 144. FORWARD: 0.
// Nothing listens: the router answers each with an ICMP port unreachable quoting the datagram as it
// arrived at the socket layer (20 + 8 + 48 = 76 bytes): filter OUTPUT policy 3, 228.
// conntrack: three UDP entries, UNREPLIED, reply source 192.0.2.254 port 5353 / 123 / 5353.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('nat:PREROUTING:1')).toEqual([2, 96]);
  expect(c('nat:PREROUTING:2')).toEqual([1, 48]);
  expect(c('nat:INPUT:policy')).toEqual([3, 144]);
  expect(c('filter:INPUT:1')).toEqual([2, 96]);
  expect(c('filter:INPUT:2')).toEqual([1, 48]);
  expect(c('filter:INPUT:policy')).toEqual([3, 144]);
  expect(c('filter:FORWARD:policy')).toEqual([0, 0]);
  expect(c('filter:OUTPUT:policy')).toEqual([3, 228]);
  const ct = k.conntrack.map((e) => `${e.orig.src}:${e.orig.sport}>${e.orig.dst}:${e.orig.dport} ${e.reply.src}:${e.reply.sport} ${e.flags.join(',')}`).sort();
  expect(ct).toEqual([
    '192.0.2.7:1111>203.0.113.53:53 192.0.2.254:5353 UNREPLIED',
    '192.0.2.8:2222>203.0.113.123:123 192.0.2.254:123 UNREPLIED',
    '192.0.2.9:3333>192.0.2.253:53 192.0.2.254:5353 UNREPLIED',
  ]);
  expect(k.egress.length).toBe(3);
  expect(k.egress.every((e) => e.local && e.iface === 'eth0' && e.ip[9] === 1)).toBe(true);
}
