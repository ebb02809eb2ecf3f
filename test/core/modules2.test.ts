// More modules against hand-worked expectations: header matches (iprange, length, dscp, tos,
// pkttype, physdev on a non-bridged packet), conntrack details (--ctorigdst after DNAT, --ctdir,
// the no-ct quirk, NOTRACK -> UNTRACKED), CONNMARK save/restore and connmark.
import { describe, it, expect } from 'vitest';
import { rules, run } from './helpers.js';
import { declared } from './tables.js';
import { RES_LOCAL, RES_DROP_RULE, RES_FORWARDED } from '../../src/layout.js';

const L = '192.0.2.1', C = '192.0.2.10', FAR = '203.0.113.5';
const hits = (r: ReturnType<typeof run>, chain: string, n: number) => Array.from({ length: n }, (_, k) => r.cnt(`${chain}#${k + 1}`)[0]);

describe('header matches', () => {
  it('iprange, length, dscp, tos, pkttype, physdev', () => {
    const rs = rules(`*filter
      :INPUT ACCEPT [0:0]
      -A INPUT -m iprange --src-range 192.0.2.5-192.0.2.10
      -A INPUT -m iprange ! --src-range 192.0.2.5-192.0.2.10
      -A INPUT -m length --length 40:100
      -A INPUT -m length ! --length 40:100
      -A INPUT -m dscp --dscp 0x2e
      -A INPUT -m tos --tos 0x10/0x3f
      -A INPUT -m pkttype --pkt-type unicast
      -A INPUT -m pkttype --pkt-type broadcast
      -A INPUT -m physdev --physdev-in eth0
      -A INPUT -m physdev ! --physdev-is-bridged
      COMMIT`);
    // p0: 192.0.2.10, 40 bytes, tos 0xb8 (dscp 46 = 0x2e): iprange yes, length yes, dscp yes, tos (0xb8&0x3f=0x38) no
    // p1: 192.0.2.11, 140 bytes (100 payload), tos 0x10: !iprange, !length, tos yes
    // p2: broadcast 255.255.255.255 from 192.0.2.4 (ethernet dst ff:..): !iprange, length yes, pkttype broadcast
    // physdev: not bridged -> only the rule whose every option is inverted matches (all three)
    const r = run(rs, [
      { src: C, dst: L, tos: 0xb8 },
      { src: '192.0.2.11', dst: L, tos: 0x10, payload: 100 },
      { src: '192.0.2.4', dst: '255.255.255.255', dstMac: 'ff:ff:ff:ff:ff:ff' },
    ]);
    expect(hits(r, 'filter/INPUT', 10)).toEqual([1, 2, 2, 1, 1, 1, 2, 1, 0, 3]);
    expect(Array.from(r.results, (x) => x & 0xff)).toEqual([RES_LOCAL, RES_LOCAL, RES_LOCAL]);
  });
});

describe('conntrack details', () => {
  it('--ctorigdst sees the pre-DNAT address, --ctrepldst... after; --ctdir; --ctstate DNAT', () => {
    const rs = rules(`${declared('nat')}
      -A PREROUTING -d 198.51.100.80/32 -p tcp -j DNAT --to-destination 203.0.113.5
      COMMIT
      *filter
      :FORWARD DROP [0:0]
      -A FORWARD -m conntrack --ctorigdst 198.51.100.80
      -A FORWARD -m conntrack --ctreplsrc 203.0.113.5
      -A FORWARD -m conntrack --ctstate DNAT --ctdir ORIGINAL
      -A FORWARD -m conntrack --ctdir REPLY
      -A FORWARD -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT
      COMMIT`);
    // SYN (original, NEW, DNATed): rules 1, 2, 3, 5. SYN-ACK from 203.0.113.5 (reply): 1, 2, 4, 5.
    const r = run(rs, [
      { src: C, dst: '198.51.100.80', sport: 1111, dport: 80, flags: 'S', seq: 1 },
      { src: FAR, dst: C, sport: 80, dport: 1111, flags: 'SA', seq: 50, ack: 2, iif: 1 },
    ]);
    expect(hits(r, 'filter/FORWARD', 5)).toEqual([2, 2, 1, 1, 2]);
    expect(Array.from(r.results, (x) => x & 0xff)).toEqual([RES_FORWARDED, RES_FORWARDED]);
  });

  it('no ct: a state test decides alone (the quirk); NOTRACK gives UNTRACKED', () => {
    const rs = rules(`${declared('raw')}
      -A PREROUTING -p udp -j CT --notrack
      COMMIT
      *filter
      :INPUT ACCEPT [0:0]
      -A INPUT -m conntrack --ctstate UNTRACKED --ctorigdst 10.0.0.1
      -A INPUT -m conntrack --ctorigdst 192.0.2.1
      -A INPUT -m state --state UNTRACKED
      -A INPUT -m state --state NEW
      COMMIT`);
    // UDP: untracked. rule 1 matches (state UNTRACKED, then no ct -> true whatever --ctorigdst says);
    // rule 2 (no state test, no ct) fails; rule 3 matches. TCP SYN: tracked NEW: rule 2 and 4.
    const r = run(rs, [{ src: C, dst: L, proto: 'udp' }, { src: C, dst: L, flags: 'S', seq: 9 }]);
    expect(hits(r, 'filter/INPUT', 4)).toEqual([1, 1, 1, 1]);
  });

  it('CONNMARK --save-mark / --restore-mark and the connmark match', () => {
    const rs = rules(`${declared('mangle')}
      -A PREROUTING -j CONNMARK --restore-mark
      -A PREROUTING -m mark --mark 0x0 -p tcp --dport 22 -j MARK --set-mark 0x7
      -A PREROUTING -j CONNMARK --save-mark
      COMMIT
      *filter
      :FORWARD DROP [0:0]
      -A FORWARD -m connmark --mark 0x7 -j ACCEPT
      COMMIT`);
    // SYN to :22: restore (ctmark 0) -> mark 0 -> MARK 7 -> save: ctmark 7 -> connmark 7 ACCEPT.
    // SYN-ACK (reply) and the client's ACK: restore gives mark 7, rule 2 does not match, ACCEPT.
    // a SYN to :80: marks stay 0 -> FORWARD policy DROP
    const r = run(rs, [
      { src: C, dst: FAR, sport: 5000, dport: 22, flags: 'S', seq: 1 },
      { src: FAR, dst: C, sport: 22, dport: 5000, flags: 'SA', seq: 70, ack: 2, iif: 1 },
      { src: C, dst: FAR, sport: 5000, dport: 22, flags: 'A', seq: 2, ack: 71 },
      { src: C, dst: FAR, sport: 5001, dport: 80, flags: 'S', seq: 1 },
    ]);
    expect(r.cnt('mangle/PREROUTING#2')[0]).toBe(1);
    expect(r.cnt('filter/FORWARD#1')[0]).toBe(3);
    expect(r.cnt('filter/FORWARD')[0]).toBe(1);
  });
});
