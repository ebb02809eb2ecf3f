// Hand-computed expectations. Sizes: #1-#3 40, #4 50, #5 60, #6 40, #7 48, #8 40.
// be_liberal 1: #4 passes window tracking (ESTABLISHED). tcp_loose 0: #5 cannot start a connection
// (tcp_new refuses to pick up) -> INVALID. checksum 0: #6 and #7 are not verified -> NEW. #8 is
// INVALID whatever the settings (a SYN-ACK cannot open a connection).
// FORWARD: 1 (INVALID DROP): #5 #8 -> 2, 100. 2 (NEW): #1 #6 #7 -> 3, 128. 3 (ESTABLISHED): #2 #3 #4
//   -> 3, 130. Policy: 6, 258.   nat PREROUTING policy 3, MASQUERADE 3 (128 bytes).
// conntrack: #1's connection ESTABLISHED ASSURED; #6 SYN_SENT UNREPLIED; #7 udp UNREPLIED.
// Egress: eth1 #1 #3 #4 #6 #7, eth0 #2. #6 and #7 leave with checksums still wrong: NAT adjusts them
// incrementally, it does not recompute them.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';
import { checksumProblem } from '../../lib/csum.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('filter:FORWARD:1')).toEqual([2, 100]);
  expect(c('filter:FORWARD:2')).toEqual([3, 128]);
  expect(c('filter:FORWARD:3')).toEqual([3, 130]);
  expect(c('filter:FORWARD:policy')).toEqual([6, 258]);
  expect(c('nat:PREROUTING:policy')).toEqual([3, 128]);
  expect(c('nat:POSTROUTING:1')).toEqual([3, 128]);
  const ct = k.conntrack.map((e) => `${e.proto} ${e.state} ${e.orig.src}:${e.orig.sport} ${e.flags.join(',')}`).sort();
  expect(ct).toEqual([
    'tcp ESTABLISHED 192.0.2.40:42000 ASSURED',
    'tcp SYN_SENT 192.0.2.42:42002 UNREPLIED',
    'udp  192.0.2.43:5002 UNREPLIED',
  ]);
  const out = k.egress.filter((e) => e.iface === 'eth1');
  expect(out.length).toBe(5);
  expect(k.egress.filter((e) => e.iface === 'eth0').length).toBe(1);
  expect(out.map((e) => checksumProblem(e.ip))).toEqual([null, null, null, 'tcp', 'udp']);
}
