// Hand-derived (net/ipv4/icmp.c icmp_send: icmp_route_lookup fails -> nothing sent;
// net/ipv4/netfilter/nf_reject_ipv4.c nf_send_reset: ip_route_me_harder fails -> nothing sent;
// a blackhole route is an error for output lookups, fib_props[RTN_BLACKHOLE].error = -EINVAL).
// All 6 packets reach INPUT (rp_filter is 0 in a new namespace: no source validation) and are
// REJECTed: rule 1 3 x 38, rule 2 3 x 40. Only 192.0.2.40 gets replies: OUTPUT 2 packets, the port
// unreachable 20 + 8 + 38 = 66 and the RST 40 -> 106; egress: those two, on eth0.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('filter:INPUT:1')).toEqual([3, 114]);
  expect(c('filter:INPUT:2')).toEqual([3, 120]);
  expect(c('filter:OUTPUT:policy')).toEqual([2, 106]);
  expect(k.egress.map((e) => [e.iface, e.local, e.ip.subarray(16, 20).join('.'), e.ip[9]])).toEqual([
    ['eth0', true, '192.0.2.40', 1],
    ['eth0', true, '192.0.2.40', 6],
  ]);
}
