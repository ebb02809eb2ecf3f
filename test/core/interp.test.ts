// Interpreter semantics (netfilter-semantics.md §2) on hand-built models. Expected counters are
// worked out by hand in the comments: every TCP packet below is 40 bytes (20 IP + 20 TCP, no
// payload), every UDP packet 28 bytes (20 + 8). Host: the default model (eth0 192.0.2.1/24 ingress,
// eth1 198.51.100.1/24, default route via eth1), so dst 192.0.2.1 is local and 203.0.113.5 forwarded.
import { describe, it, expect } from 'vitest';
import { ruleset, run } from './helpers.js';
import { verifyIPv4, ipv4Offset } from '../../src/pcap/checksum.js';
import { RES_LOCAL, RES_FORWARDED, RES_DROP_POLICY, RES_DROP_RULE, RES_DROP_TTL } from '../../src/layout.js';

const tcpDport = (d: number) => ({ module: 'tcp', params: { sport: null, sportInv: false, dport: [d, d], dportInv: false, flagsMask: 0, flagsCmp: 0, flagsInv: false, option: 0, optionInv: false } });
const LOCAL = '192.0.2.1', FAR = '203.0.113.5';

describe('interpreter', () => {
  it('first match, rule counters and the policy counter', () => {
    const rs = ruleset({ filter: { INPUT: { policy: 'DROP', rules: [{ p: 6, m: [tcpDport(22)], j: 'ACCEPT' }] } } });
    const pk = [22, 22, 80, 22, 80].map((dport) => ({ src: '192.0.2.10', dst: LOCAL, dport, flags: 'S' }));
    const r = run(rs, pk);
    // three packets to port 22 accepted by rule 1 (3 x 40 bytes), two fall to the DROP policy
    expect(r.cnt('filter/INPUT#1')).toEqual([3, 120]);
    expect(r.cnt('filter/INPUT')).toEqual([2, 80]);
    expect(Array.from(r.results, (x) => x & 0xff)).toEqual([RES_LOCAL, RES_LOCAL, RES_DROP_POLICY, RES_LOCAL, RES_DROP_POLICY]);
  });

  it('jump, goto, RETURN, implicit RETURN and underflow to the policy', () => {
    const rs = ruleset({
      filter: {
        FORWARD: { policy: 'DROP', rules: [{ j: 'A' }, { s: '192.0.2.20/32', j: 'ACCEPT' }, { g: 'B' }] },
        A: { rules: [{ s: '192.0.2.10/32', j: 'RETURN' }, { p: 17, j: 'DROP' }, {}] },
        B: { rules: [{ s: '192.0.2.30/32', j: 'ACCEPT' }] },
      },
    });
    const r = run(rs, [
      { src: '192.0.2.10', dst: FAR },               // P1: F1 → A1 RETURN → F2 no → F3 goto B → B ends (B ret) → stack empty → policy DROP
      { src: '192.0.2.20', dst: FAR },               // P2: F1 → A3, A ret → F2 ACCEPT
      { src: '192.0.2.20', dst: FAR, proto: 'udp' },  // P3: F1 → A2 DROP (28 bytes)
      { src: '192.0.2.30', dst: FAR },               // P4: F1 → A3, A ret → F3 goto B → B1 ACCEPT
    ]);
    expect(r.cnt('filter/FORWARD#1')).toEqual([4, 148]);
    expect(r.cnt('filter/FORWARD#2')).toEqual([1, 40]);
    expect(r.cnt('filter/FORWARD#3')).toEqual([2, 80]);
    expect(r.cnt('filter/A#1')).toEqual([1, 40]);
    expect(r.cnt('filter/A#2')).toEqual([1, 28]);
    expect(r.cnt('filter/A#3')).toEqual([2, 80]);
    expect(r.cnt('filter/A')).toEqual([2, 80]);      // implicit RETURN of A (never printed)
    expect(r.cnt('filter/B#1')).toEqual([1, 40]);
    expect(r.cnt('filter/B')).toEqual([1, 40]);
    expect(r.cnt('filter/FORWARD')).toEqual([1, 40]);
    const codes = Array.from(r.results, (x) => x & 0xff);
    expect(codes).toEqual([RES_DROP_POLICY, RES_FORWARDED, RES_DROP_RULE, RES_FORWARDED]);
    // the rule drop names A#2 (rule index + 1 in bits 16..)
    const a2 = r.compiled.chains.find((c) => c.name === 'A')!.rules[1];
    expect(r.results[2] >>> 16).toBe(a2 + 1);
  });

  it('jumps to empty user chains: the implicit RETURN counted, the walk goes on after the jump', () => {
    // E is empty; G holds only a jump to E. The jumps from FORWARD, from G and from the goto'd
    // chain H (whose end returns to FORWARD's caller: none, so the policy) all come back.
    const rs = ruleset({
      filter: {
        FORWARD: { policy: 'DROP', rules: [{ j: 'E' }, { j: 'G' }, { s: '192.0.2.20/32', j: 'ACCEPT' }, { g: 'H' }] },
        E: {},
        G: { rules: [{ j: 'E' }] },
        H: { rules: [{ j: 'E' }, { s: '192.0.2.30/32', j: 'ACCEPT' }] },
      },
    });
    const r = run(rs, [
      { src: '192.0.2.20', dst: FAR },  // P1: F1 → E ret, F2 → G1 → E ret, G ret, F3 ACCEPT
      { src: '192.0.2.30', dst: FAR },  // P2: F1, F2 as P1; F3 no; F4 goto H: H1 → E ret, H2 ACCEPT
      { src: '192.0.2.40', dst: FAR },  // P3: as P2 up to H2 no, H ends: stack empty → policy DROP
    ]);
    expect(r.cnt('filter/FORWARD#1')).toEqual([3, 120]);
    expect(r.cnt('filter/FORWARD#2')).toEqual([3, 120]);
    expect(r.cnt('filter/FORWARD#3')).toEqual([1, 40]);
    expect(r.cnt('filter/FORWARD#4')).toEqual([2, 80]);
    expect(r.cnt('filter/G#1')).toEqual([3, 120]);
    expect(r.cnt('filter/G')).toEqual([3, 120]);
    expect(r.cnt('filter/H#1')).toEqual([2, 80]);
    expect(r.cnt('filter/H#2')).toEqual([1, 40]);
    expect(r.cnt('filter/H')).toEqual([1, 40]);
    // E's end ticks once per jump to it: 3 from FORWARD#1, 3 from G#1, 2 from H#1
    expect(r.cnt('filter/E')).toEqual([8, 320]);
    expect(r.cnt('filter/FORWARD')).toEqual([1, 40]);
    expect(Array.from(r.results, (x) => x & 0xff)).toEqual([RES_FORWARDED, RES_FORWARDED, RES_DROP_POLICY]);
  });

  it('ACCEPT ends only its table; DROP ends the packet', () => {
    const rs = ruleset({
      mangle: { PREROUTING: { rules: [{ j: 'ACCEPT' }, { j: 'DROP' }] } },
      filter: { INPUT: { policy: 'DROP' } },
    });
    const r = run(rs, [{ src: '192.0.2.10', dst: LOCAL }]);
    expect(r.cnt('mangle/PREROUTING#1')).toEqual([1, 40]);
    expect(r.cnt('mangle/PREROUTING#2')).toEqual([0, 0]);
    expect(r.cnt('mangle/PREROUTING')).toEqual([0, 0]);
    expect(r.cnt('mangle/INPUT')).toEqual([1, 40]);
    expect(r.cnt('filter/INPUT')).toEqual([1, 40]);
    expect(r.results[0] & 0xff).toBe(RES_DROP_POLICY);
  });

  it('RETURN in a builtin chain applies the policy', () => {
    const rs = ruleset({ filter: { INPUT: { policy: 'ACCEPT', rules: [{ j: 'RETURN' }, { j: 'DROP' }] } } });
    const r = run(rs, [{ src: '192.0.2.10', dst: LOCAL }]);
    expect(r.cnt('filter/INPUT#1')).toEqual([1, 40]);
    expect(r.cnt('filter/INPUT#2')).toEqual([0, 0]);
    expect(r.cnt('filter/INPUT')).toEqual([1, 40]);
    expect(r.results[0] & 0xff).toBe(RES_LOCAL);
  });

  it('-i/-o with wildcards and inversion; unknown interface names match nothing', () => {
    const rs = ruleset({
      filter: {
        FORWARD: {
          policy: 'ACCEPT',
          rules: [
            { i: 'nosuch', j: 'DROP' },     // never matches
            { i: 'eth+', o: 'eth1' },         // matches (eth0 -> eth1)
            { i: 'eth0', oInv: true, o: 'eth0' }, // ! -o eth0 matches
            { o: '+' },                       // matches everything
            { iInv: true, i: 'eth+' },        // does not match
          ],
        },
      },
    });
    const r = run(rs, [{ src: '192.0.2.10', dst: FAR }]);
    expect([1, 2, 3, 4, 5].map((k) => r.cnt(`filter/FORWARD#${k}`)[0])).toEqual([0, 1, 1, 1, 0]);
    expect(r.results[0] & 0xff).toBe(RES_FORWARDED);
    expect((r.results[0] >> 8) & 0xff).toBe(1); // out via eth1
  });

  it('forwarding decrements the TTL before FORWARD with a valid IP checksum; TTL 1 is dropped', () => {
    const rs = ruleset({ filter: { FORWARD: { rules: [{ m: [{ module: 'ttl', params: null }] }] } } });
    // (ttl module lowering not needed: the rule below is built without matches)
    rs.tables[0].chains.find((c) => c.name === 'FORWARD')!.rules[0].matches = [];
    const r = run(rs, [{ src: '192.0.2.10', dst: FAR, ttl: 64 }, { src: '192.0.2.10', dst: FAR, ttl: 1 }]);
    expect(r.results[0] & 0xff).toBe(RES_FORWARDED);
    expect(r.results[1] & 0xff).toBe(RES_DROP_TTL);
    expect(r.cnt('filter/FORWARD#1')).toEqual([1, 40]); // the TTL-1 packet never reaches FORWARD
    // --out: the forwarded packet, then the router's ICMP time exceeded for the TTL-1 one (TTL 64, type 11)
    expect(r.out.length).toBe(2);
    const te = r.out[1], to = ipv4Offset(te, 1);
    expect([te[to + 8], te[to + 9], te[to + 20]]).toEqual([64, 1, 11]);
    const f = r.out[0];
    const o = ipv4Offset(f, 1);
    expect(f[o + 8]).toBe(63);
    const v = verifyIPv4(f, o);
    expect(v.ip).toBe(true);
    expect(v.l4).toBe(true);
  });
});

describe('hosts with more than 31 interfaces', () => {
  it('-i/-o use a 256-bit interface map (eth40 and eth41 are told apart)', () => {
    // 45 interfaces eth0..eth44, 192.0.2.0/24 on eth0; a route per interface so traffic to
    // 198.18.<i>.0/24 leaves on eth<i>
    const interfaces = Array.from({ length: 45 }, (_, i) => ({ name: `eth${i}`, addresses: [i === 0 ? '192.0.2.1/24' : `198.18.${i}.1/24`] }));
    const host = { interfaces, routes: [], ingress: 'eth0', sysctl: {} };
    const rs = ruleset({ filter: { FORWARD: { policy: 'ACCEPT', rules: [{ o: 'eth40' }, { o: 'eth41' }, { o: 'eth4+' }, { oInv: true, o: 'eth40' }] } } });
    const r = run(rs, [{ src: '192.0.2.10', dst: '198.18.40.5' }, { src: '192.0.2.10', dst: '198.18.41.5' }, { src: '192.0.2.10', dst: '198.18.3.5' }], { host });
    // out eth40: rules 1, 3; eth41: rules 2, 3, 4; eth3: rule 4
    expect([1, 2, 3, 4].map((k) => r.cnt(`filter/FORWARD#${k}`)[0])).toEqual([1, 1, 2, 2]);
  });
});
