// Stateful filtering through the real conntrack: the NAT router's FORWARD chain without the SNAT
// (ESTABLISHED,RELATED first, then LAN -> WAN, DROP policy). Host: eth0 192.0.2.1/24 (LAN, index
// 0), eth1 198.51.100.1/24 (WAN, index 1), default route via eth1. All packets are 40-byte TCP.
import { describe, it, expect } from 'vitest';
import { ruleset, run } from './helpers.js';
import { CTS_ESTABLISHED, CTS_RELATED, RES_FORWARDED, RES_DROP_POLICY } from '../../src/layout.js';

const ctstate = (mask: number) => ({ module: 'conntrack', params: { state: { mask, invert: false }, proto: null, origSrc: null, origDst: null, replSrc: null, replDst: null, origSrcPort: null, origDstPort: null, replSrcPort: null, replDstPort: null, status: null, expire: null, dir: null } });

describe('stateful forward filter', () => {
  it('replies are ESTABLISHED, unsolicited inbound is dropped by the policy', () => {
    const rs = ruleset({
      filter: {
        FORWARD: {
          policy: 'DROP',
          rules: [{ m: [ctstate(CTS_ESTABLISHED | CTS_RELATED)], j: 'ACCEPT' }, { i: 'eth0', o: 'eth1', j: 'ACCEPT' }],
        },
      },
    });
    const C = '192.0.2.10', S = '203.0.113.5';
    const r = run(rs, [
      { src: C, dst: S, sport: 40000, dport: 80, flags: 'S', seq: 1000, iif: 0 },              // NEW: rule 2
      { src: S, dst: C, sport: 80, dport: 40000, flags: 'SA', seq: 5000, ack: 1001, iif: 1 },  // reply: ESTABLISHED, rule 1
      { src: C, dst: S, sport: 40000, dport: 80, flags: 'A', seq: 1001, ack: 5001, iif: 0 },   // ESTABLISHED, rule 1
      { src: '203.0.113.9', dst: C, sport: 1234, dport: 22, flags: 'S', seq: 1, iif: 1 },     // NEW from WAN: policy
    ]);
    expect(r.cnt('filter/FORWARD#1')).toEqual([2, 80]);
    expect(r.cnt('filter/FORWARD#2')).toEqual([1, 40]);
    expect(r.cnt('filter/FORWARD')).toEqual([1, 40]);
    expect(Array.from(r.results, (x) => x & 0xff)).toEqual([RES_FORWARDED, RES_FORWARDED, RES_FORWARDED, RES_DROP_POLICY]);
  });
});
