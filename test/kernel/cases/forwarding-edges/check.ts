// Hand-computed expectations (net/ipv4/ip_forward.c, route.c). Sizes: 48, 40, 1400, 1400, 48.
// raw PREROUTING (-i eth0): all 5, 2936 bytes (routing comes after it).
// #1: TTL <= 1 -> ICMP time exceeded, dropped in ip_forward before the FORWARD hook.
// #3: DF and 1400 > MTU 1000 -> ICMP fragmentation needed (next-hop MTU 1000), dropped before FORWARD.
// #5: no route -> ICMP net unreachable from routing (ip_error), never forwarded.
// mangle FORWARD (-o eth1): #2 and #4 -> 2, 1440 (whole: fragmentation happens after POSTROUTING).
// filter FORWARD (ttl-eq 1): #2, whose TTL ip_forward already decremented from 2 -> 1, 40.
// filter OUTPUT policy: the three ICMP errors: 20 + 8 + 48 = 76 (#1), the quote cut at 576 in all
//   (#3), 76 (#5) -> 3, 728; from 192.0.2.254 (the address towards the client).
// Egress: eth1: #2 (TTL 1), #4 in two fragments of 996 (976 data) and 424 (404) bytes; eth0: the errors.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';
import { checksumProblem } from '../../lib/csum.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('raw:PREROUTING:1')).toEqual([5, 2936]);
  expect(c('mangle:FORWARD:1')).toEqual([2, 1440]);
  expect(c('filter:FORWARD:1')).toEqual([1, 40]);
  expect(c('filter:FORWARD:policy')).toEqual([2, 1440]);
  expect(c('filter:OUTPUT:policy')).toEqual([3, 728]);
  const out = k.egress.filter((e) => e.iface === 'eth1').map((e) => [(e.ip[2] << 8) | e.ip[3], e.ip[8], (((e.ip[6] & 0x1f) << 8) | e.ip[7]) * 8]);
  expect(out).toEqual([[40, 1, 0], [996, 63, 0], [424, 63, 976]]);
  const back = k.egress.filter((e) => e.iface === 'eth0');
  expect(back.map((e) => [e.local, e.ip.subarray(12, 16).join('.'), e.ip[20], e.ip[21], (e.ip[2] << 8) | e.ip[3]])).toEqual([
    [true, '192.0.2.254', 11, 0, 76],
    [true, '192.0.2.254', 3, 4, 576],
    [true, '192.0.2.254', 3, 0, 76],
  ]);
  expect((back[1].ip[26] << 8) | back[1].ip[27]).toBe(1000); // next-hop MTU
  expect(k.egress.map((e) => checksumProblem(e.ip))).toEqual(k.egress.map(() => null));
}
