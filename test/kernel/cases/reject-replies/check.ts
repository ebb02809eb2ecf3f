// Hand-computed expectations. Sizes: #1 58, #2 84, #3 40, #4 60, #5 828, #6 38.
// FORWARD: rule 1 (udp 7): #1; 2 (icmp): #2; 3 (tcp 23): #3 #4; 4 (-d 203.0.113.66): #5; policy: #6.
// OUTPUT policy: one reply per rejected packet, 5:
//   #1 -> ICMP 3/3, quoting all of #1: 20 + 8 + 58 = 86 bytes; #2 -> ICMP 3/10 (host prohibited),
//   20 + 8 + 84 = 112; #3 -> RST+ACK, seq 0, ack 1001 (SYN counts 1): 40; #4 -> RST (no ACK flag),
//   seq 7000 (the segment's ack), 40; #5 -> ICMP 3/0, quote cut to 576 - 20 - 8 = 548 bytes: 576.
//   86 + 112 + 40 + 40 + 576 = 854 bytes.
// ICMP errors (icmp_send): TOS = (original TOS & 0x1e) | 0xc0 (IPTOS_PREC_INTERNETCONTROL), TTL 64,
//   source = the router's address on the interface towards the client (192.0.2.254).
// Resets (nf_send_reset): source = the original destination, TTL 64 (ip_default_ttl), DF, id 0,
//   TOS copied.
// Egress: eth1: #6 only; eth0: the 5 replies, all marked local (TTL 64 = ip_default_ttl).
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';
import { checksumProblem } from '../../lib/csum.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('filter:FORWARD:1')).toEqual([1, 58]);
  expect(c('filter:FORWARD:2')).toEqual([1, 84]);
  expect(c('filter:FORWARD:3')).toEqual([2, 100]);
  expect(c('filter:FORWARD:4')).toEqual([1, 828]);
  expect(c('filter:FORWARD:policy')).toEqual([1, 38]);
  expect(c('filter:OUTPUT:policy')).toEqual([5, 854]);
  expect(k.egress.filter((e) => e.iface === 'eth1').length).toBe(1);
  const back = k.egress.filter((e) => e.iface === 'eth0');
  expect(back.every((e) => e.local)).toBe(true);
  const ip4 = (b: Uint8Array, o: number) => Array.from(b.subarray(o, o + 4)).join('.');
  const u16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
  const u32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  const summary = back.map((e) => {
    const ip = e.ip;
    const head = [u16(ip, 2), `tos=${ip[1].toString(16)}`, `ttl=${ip[8]}`, ip4(ip, 12), ip4(ip, 16)];
    if (ip[9] === 1) return [...head, `icmp ${ip[20]}/${ip[21]}`, `quotes id ${u16(ip, 28 + 4)}`];
    return [...head, `id=${u16(ip, 4)}`, `df=${(ip[6] & 0x40) ? 1 : 0}`, `flags=${ip[33].toString(16)}`, `seq=${u32(ip, 24)}`, `ack=${u32(ip, 28)}`];
  });
  expect(summary).toEqual([
    [86, 'tos=d0', 'ttl=64', '192.0.2.254', '192.0.2.70', 'icmp 3/3', 'quotes id 101'],
    [112, 'tos=c0', 'ttl=64', '192.0.2.254', '192.0.2.70', 'icmp 3/10', 'quotes id 102'],
    [40, 'tos=0', 'ttl=64', '203.0.113.7', '192.0.2.70', 'id=0', 'df=1', 'flags=14', 'seq=0', 'ack=1001'],
    [40, 'tos=0', 'ttl=64', '203.0.113.7', '192.0.2.70', 'id=0', 'df=1', 'flags=4', 'seq=7000', 'ack=0'],
    [576, 'tos=c0', 'ttl=64', '192.0.2.254', '192.0.2.70', 'icmp 3/0', 'quotes id 105'],
  ]);
  expect(k.egress.map((e) => checksumProblem(e.ip))).toEqual(k.egress.map(() => null));
}
