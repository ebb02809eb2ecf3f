// Hand-computed expectations (net/ipv4/icmp.c icmp_echo/icmp_reply, ip_output.c).
// INPUT sees 4 echo requests, the big one reassembled by conntrack's defrag: 84 + 44 + 36 + 1400 =
//   1564 bytes (rule 2 and the policy).
// OUTPUT sees 4 echo replies of the same sizes: the one to 192.0.2.99 is dropped by rule 1 (36);
//   rule 2 and the policy count the other 3: 84 + 44 + 1400 = 1528 (the 1400-byte reply is one
//   datagram at LOCAL_OUT: ip_append_data's fragments are joined by __ip_make_skb and only
//   ip_fragment after POSTROUTING cuts them again).
// Egress, all on eth0 (back to the sender, the route to 192.0.2.0/24): the reply from 192.0.2.254,
//   the reply from 198.51.100.1 (the address pinged, not the out interface's), then the big reply
//   in two fragments of (1000 - 20) & ~7 = 976 data bytes: 996 (MF, offset 0) and 424 (offset 976).
//   TTL 64, no DF (the ICMP socket's pmtudisc is IP_PMTUDISC_DONT), echo id/seq kept.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';
import { checksumProblem } from '../../lib/csum.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('filter:INPUT:2')).toEqual([4, 1564]);
  expect(c('filter:INPUT:policy')).toEqual([4, 1564]);
  expect(c('filter:OUTPUT:1')).toEqual([1, 36]);
  expect(c('filter:OUTPUT:2')).toEqual([3, 1528]);
  expect(c('filter:OUTPUT:policy')).toEqual([3, 1528]);
  const ip = (e: { ip: Uint8Array }) => e.ip;
  const eg = k.egress.map(ip);
  expect(k.egress.map((e) => e.iface)).toEqual(['eth0', 'eth0', 'eth0', 'eth0']);
  expect(k.egress.every((e) => e.local)).toBe(true);
  expect(eg.map((p) => [(p[2] << 8) | p[3], p[8], p.subarray(12, 16).join('.'), p[6] & 0x40, (((p[6] & 0x1f) << 8) | p[7]) * 8, (p[6] & 0x20) !== 0])).toEqual([
    [84, 64, '192.0.2.254', 0, 0, false],
    [44, 64, '198.51.100.1', 0, 0, false],
    [996, 64, '192.0.2.254', 0, 0, true],
    [424, 64, '192.0.2.254', 0, 976, false],
  ]);
  // echo reply type 0, the request's id and sequence
  expect([eg[0][20], (eg[0][24] << 8) | eg[0][25], (eg[0][26] << 8) | eg[0][27]]).toEqual([0, 0x4242, 1]);
  expect([eg[1][20], (eg[1][24] << 8) | eg[1][25], (eg[1][26] << 8) | eg[1][27]]).toEqual([0, 0x4243, 2]);
  // both fragments of the big reply share one IP id
  expect((eg[2][4] << 8) | eg[2][5]).toBe((eg[3][4] << 8) | eg[3][5]);
  expect(eg.map((p) => checksumProblem(p))).toEqual(eg.map(() => null));
}
