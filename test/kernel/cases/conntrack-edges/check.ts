// Hand-computed expectations. TCP 40 bytes (#8: 60), UDP 48.
// FORWARD: 1 (INVALID DROP): #11 (SYN-ACK without a connection: sNO -> sIV), #12 (bad TCP checksum),
//   #14 (bad UDP checksum) -> 3, 128. 2 (NEW): #1, #7 (a SYN in TIME_WAIT kills the old entry; the
//   lookup is repeated and a new one made), #8 (tcp_loose: a mid-stream segment makes a new entry),
//   #13 (UDP checksum 0 is "no checksum", fine) -> 4, 188. 3 (ESTABLISHED): #2-#6, #9, #10 -> 7, 280.
//   4 (RELATED): 0. Policy: the 11 not dropped, 468.
// nat: PREROUTING policy 4 (the NEW ones; INVALID packets skip nat); MASQUERADE 4.
// conntrack: T1's new entry SYN_SENT (UNREPLIED), T2 ESTABLISHED and ASSURED (a valid answer to a
//   picked-up connection, then the client's next packet: tcp_packet sets ASSURED once the reply was
//   seen and the state stays ESTABLISHED), T5 udp UNREPLIED. Nothing for T3, T4, T6.
// Egress: eth1: #1 #3 #4 #6 #7 #8 #10 #13 = 8; eth0: #2 #5 #9 = 3.
import { expect } from 'vitest';
import type { KernelResult } from '../../lib/harness.js';

export function check(k: KernelResult): void {
  const c = (key: string) => { const v = k.counters.get(key); return v ? [Number(v.packets), Number(v.bytes)] : undefined; };
  expect(c('filter:FORWARD:1')).toEqual([3, 128]);
  expect(c('filter:FORWARD:2')).toEqual([4, 188]);
  expect(c('filter:FORWARD:3')).toEqual([7, 280]);
  expect(c('filter:FORWARD:4')).toEqual([0, 0]);
  expect(c('filter:FORWARD:policy')).toEqual([11, 468]);
  expect(c('nat:PREROUTING:policy')).toEqual([4, 188]);
  expect(c('nat:POSTROUTING:1')).toEqual([4, 188]);
  const ct = k.conntrack.map((e) => `${e.proto} ${e.state} ${e.orig.src}:${e.orig.sport} ${e.flags.join(',')}`).sort();
  expect(ct).toEqual([
    'tcp ESTABLISHED 192.0.2.31:41001 ASSURED',
    'tcp SYN_SENT 192.0.2.30:41000 UNREPLIED',
    'udp  192.0.2.34:5000 UNREPLIED',
  ]);
  expect(k.egress.filter((e) => e.iface === 'eth1').length).toBe(8);
  expect(k.egress.filter((e) => e.iface === 'eth0').length).toBe(3);
}
