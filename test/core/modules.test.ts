// Match and target modules, each against a hand-worked expectation (netfilter-semantics.md §3 and
// the kernel files named there). Host: default (eth0 192.0.2.1/24 ingress, eth1 198.51.100.1/24).
// TCP packets without payload are 40 bytes.
import { describe, it, expect } from 'vitest';
import { rules, run } from './helpers.js';
import { declared } from './tables.js';
import { RES_LOCAL, RES_DROP_RULE, RES_DROP_POLICY, RES_FORWARDED } from '../../src/layout.js';

const L = '192.0.2.1', C = '192.0.2.10';
const codes = (r: { results: Uint32Array }) => Array.from(r.results, (x) => x & 0xff);

describe('modules', () => {
  it('statistic nth: matches evaluation i with i % every == packet', () => {
    const rs = rules(`*filter
      :INPUT ACCEPT [0:0]
      -A INPUT -m statistic --mode nth --every 3 --packet 1 -j DROP
      COMMIT`);
    const r = run(rs, Array.from({ length: 7 }, () => ({ src: C, dst: L })));
    // evaluations 0..6: 1 and 4 match
    expect(codes(r)).toEqual([RES_LOCAL, RES_DROP_RULE, RES_LOCAL, RES_LOCAL, RES_DROP_RULE, RES_LOCAL, RES_LOCAL]);
    expect(r.cnt('filter/INPUT#1')).toEqual([2, 80]);
  });

  it('statistic random: about p of the packets, reproducible per seed', () => {
    const rs = rules(`*filter
      :INPUT ACCEPT [0:0]
      -A INPUT -m statistic --mode random --probability 0.25 -j DROP
      COMMIT`);
    const pk = Array.from({ length: 4000 }, () => ({ src: C, dst: L }));
    const a = run(rs, pk, { seed: 1 }), b = run(rs, pk, { seed: 1 }), c = run(rs, pk, { seed: 2 });
    const n = a.cnt('filter/INPUT#1')[0];
    // binomial(4000, 0.25): mean 1000, sd 27.4; 5 sd either side
    expect(n).toBeGreaterThan(863);
    expect(n).toBeLessThan(1137);
    expect(Array.from(b.results)).toEqual(Array.from(a.results));
    expect(Array.from(c.results)).not.toEqual(Array.from(a.results));
  });

  it('limit: token bucket on capture time (1/sec, burst 2, HZ 250)', () => {
    const rs = rules(`*filter
      :INPUT DROP [0:0]
      -A INPUT -m limit --limit 1/sec --limit-burst 2 -j ACCEPT
      COMMIT`);
    // cost = 10000*250*128/10000 = 32000 credits, cap = 64000, refill 128 per jiffy (32000 per second).
    // t=0: 64000 -> 32000 match; t=0: -> 0 match; t=0: no; t=0.5 s: +16000 no; t=1.0: +16000 = 32000 match; t=1.0: no
    const t = [[0, 0], [0, 0], [0, 0], [0, 500000000], [1, 0], [1, 0]];
    const r = run(rs, t.map(([s, ns]) => ({ src: C, dst: L, t: s, tn: ns })));
    expect(codes(r)).toEqual([RES_LOCAL, RES_LOCAL, RES_DROP_POLICY, RES_DROP_POLICY, RES_LOCAL, RES_DROP_POLICY]);
  });

  it('recent: --set, --rcheck --seconds window, --reap of the LRU head', () => {
    const rs = rules(`*filter
      :INPUT DROP [0:0]
      -A INPUT -m recent --rcheck --seconds 10 --reap --name A --mask 255.255.255.255 --rsource -j ACCEPT
      -A INPUT -m recent --set --name A --mask 255.255.255.255 --rsource
      COMMIT`);
    // t=0: no entry -> rcheck no; set creates (match); policy DROP
    // t=5: stamp 0 within 10 s -> ACCEPT
    // t=20: stamp 0 older than now-10 s -> no hit; reap removes the entry; set re-creates; DROP
    // t=25: stamp 20 within the window -> ACCEPT
    const r = run(rs, [0, 5, 20, 25].map((t) => ({ src: C, dst: L, t })));
    expect(codes(r)).toEqual([RES_DROP_POLICY, RES_LOCAL, RES_DROP_POLICY, RES_LOCAL]);
    expect(r.cnt('filter/INPUT#1')).toEqual([2, 80]);
    expect(r.cnt('filter/INPUT#2')).toEqual([2, 80]);
  });

  it('recent --update stamps only on a true result; --hitcount', () => {
    const rs = rules(`*filter
      :INPUT ACCEPT [0:0]
      -A INPUT -m recent --update --seconds 60 --hitcount 3 --name B --mask 255.255.255.255 --rsource -j DROP
      -A INPUT -m recent --set --name B --mask 255.255.255.255 --rsource
      COMMIT`);
    // p0: no entry -> update no; set: entry [0].  p1: 1 hit < 3 -> no, not stamped; set: [0,1].
    // p2: 2 hits -> no; set: [0,1,2]. p3: 3 hits -> DROP and stamp (update). p4: 4 hits -> DROP.
    const r = run(rs, [0, 1, 2, 3, 4].map((t) => ({ src: C, dst: L, t })));
    expect(codes(r)).toEqual([RES_LOCAL, RES_LOCAL, RES_LOCAL, RES_DROP_RULE, RES_DROP_RULE]);
    expect(r.cnt('filter/INPUT#2')).toEqual([3, 120]);
  });

  it('MARK in mangle, mark match in filter', () => {
    const rs = rules(`${declared('mangle')}
      -A PREROUTING -s 192.0.2.10/32 -j MARK --or-mark 0x4000
      COMMIT
      *filter
      :INPUT DROP [0:0]
      -A INPUT -m mark --mark 0x4000/0x4000 -j ACCEPT
      COMMIT`);
    const r = run(rs, [{ src: C, dst: L }, { src: '192.0.2.11', dst: L }]);
    expect(codes(r)).toEqual([RES_LOCAL, RES_DROP_POLICY]);
  });

  it('addrtype --dst-type LOCAL from the host model', () => {
    const rs = rules(`*filter
      :INPUT DROP [0:0]
      :FORWARD DROP [0:0]
      -A INPUT -m addrtype --dst-type LOCAL -j ACCEPT
      -A FORWARD -m addrtype ! --dst-type LOCAL -j ACCEPT
      COMMIT`);
    const r = run(rs, [{ src: C, dst: L }, { src: C, dst: '203.0.113.5' }]);
    expect(codes(r)).toEqual([RES_LOCAL, RES_FORWARDED]);
  });

  it('L4 matches are false on non-first fragments; -f counts them; offset 1 hotdrops TCP', () => {
    const rs = rules(`*filter
      :INPUT ACCEPT [0:0]
      -A INPUT -p tcp -m tcp --dport 80 -j DROP
      -A INPUT -f
      COMMIT`);
    const r = run(rs, [
      { src: C, dst: L, dport: 80, mf: true, payload: 16 },     // first fragment: dport 80 -> DROP
      { src: C, dst: L, fragOffset: 16, proto: 6, payload: 8 },  // offset 2: no L4 match; -f counts
      { src: C, dst: L, fragOffset: 8, proto: 6, payload: 8 },   // offset 1: "evil" TCP fragment -> hotdrop
    ]);
    expect(codes(r)).toEqual([RES_DROP_RULE, RES_LOCAL, RES_DROP_RULE]);
    expect(r.cnt('filter/INPUT#1')[0]).toBe(1);
    expect(r.cnt('filter/INPUT#2')).toEqual([1, 48]); // craft keeps a 20-byte TCP header + 8 bytes: 20 + 28
  });

  it('the TTL is decremented before FORWARD (ip_forward), as measured on the kernel', () => {
    // kernel 6.18 in a netns, same rules, one 29-byte UDP datagram with TTL 64 forwarded:
    // [1:29] PREROUTING ttl-eq 64, [0:0] FORWARD ttl-eq 64, [1:29] FORWARD ttl-eq 63, [1:29] POSTROUTING ttl-eq 63
    const rs = rules(`${declared('mangle')}
      -A PREROUTING -p udp -m ttl --ttl-eq 64
      -A FORWARD -p udp -m ttl --ttl-eq 64
      -A FORWARD -p udp -m ttl --ttl-eq 63
      -A POSTROUTING -p udp -m ttl --ttl-eq 63
      COMMIT`);
    const r = run(rs, [{ src: C, dst: '203.0.113.5', proto: 'udp', ttl: 64, payload: 1 }]);
    expect(r.cnt('mangle/PREROUTING#1')).toEqual([1, 29]);
    expect(r.cnt('mangle/FORWARD#1')).toEqual([0, 0]);
    expect(r.cnt('mangle/FORWARD#2')).toEqual([1, 29]);
    expect(r.cnt('mangle/POSTROUTING#1')).toEqual([1, 29]);
  });
});
