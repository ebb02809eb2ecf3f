// Table-driven checks of match details, each expectation derived by hand from the kernel match
// function named in the comment. Stateless rulesets (no conntrack): counters of count-only rules.
import { describe, it, expect } from 'vitest';
import { rules, run } from './helpers.js';
import { tcpOptions } from '../../src/pcap/craft.js';

const L = '192.0.2.1', C = '192.0.2.10';
function counts(body: string, pk: Parameters<typeof run>[1]): number[] {
  const lines = body.trim().split('\n').map((l) => l.trim());
  const rs = rules(`*filter\n:INPUT ACCEPT [0:0]\n${lines.map((l) => `-A INPUT ${l}`).join('\n')}\nCOMMIT`);
  const r = run(rs, pk);
  return lines.map((_, k) => r.cnt(`filter/INPUT#${k + 1}`)[0]);
}

describe('match details', () => {
  it('tcp: --tcp-flags, --syn, ! --syn, --tcp-option, port ranges and inversion (xt_tcpudp.c)', () => {
    const ts = tcpOptions({ mss: 1460, ts: [1, 2] });
    expect(counts(`
      -p tcp -m tcp --syn
      -p tcp -m tcp ! --syn
      -p tcp -m tcp --tcp-flags SYN,ACK SYN,ACK
      -p tcp -m tcp --tcp-option 8
      -p tcp -m tcp ! --tcp-option 8
      -p tcp -m tcp --sport 1000:2000
      -p tcp -m tcp ! --dport 22`, [
      { src: C, dst: L, sport: 1500, dport: 22, flags: 'S', tcpOptions: ts }, // syn, opt 8, sport range
      { src: C, dst: L, sport: 3000, dport: 80, flags: 'SA' },                // !syn, SYN,ACK, !opt8, !22
      { src: C, dst: L, sport: 1000, dport: 23, flags: 'A' },                 // !syn, !opt8, sport, !22
    ])).toEqual([1, 2, 1, 1, 2, 2, 2]);
  });

  it('udp/sctp ports, icmp types and codes (icmp_type_code_match)', () => {
    expect(counts(`
      -p udp -m udp --dport 53
      -p sctp -m sctp --dport 5000:5010
      -p icmp -m icmp --icmp-type 8
      -p icmp -m icmp --icmp-type 3/3
      -p icmp -m icmp ! --icmp-type 3/3
      -p icmp -m icmp --icmp-type any`, [
      { src: C, dst: L, proto: 'udp', dport: 53 },
      { src: C, dst: L, proto: 'sctp', sport: 9, dport: 5005 },
      { src: C, dst: L, proto: 'icmp', icmpType: 8 },
      { src: C, dst: L, proto: 'icmp', icmpType: 3, icmpCode: 1, inner: new Uint8Array(28) },
    ])).toEqual([1, 1, 1, 0, 2, 2]);
  });

  it('multiport --sports/--ports with ranges, and its inversion (ports_match_v1)', () => {
    expect(counts(`
      -p tcp -m multiport --sports 1000:1999,3000
      -p tcp -m multiport --ports 22,80
      -p tcp -m multiport ! --dports 22,443`, [
      { src: C, dst: L, sport: 1500, dport: 22 },  // sports yes, ports yes (dst 22), !dports no
      { src: C, dst: L, sport: 80, dport: 9 },     // sports no, ports yes (src 80), !dports yes
      { src: C, dst: L, sport: 3000, dport: 443 }, // sports yes, ports no, !dports no
    ])).toEqual([2, 2, 1]);
  });

  it('mark with mask, statistic ! --probability 1 never, nth with --packet', () => {
    expect(counts(`
      -m mark --mark 0x0/0xff00
      -m mark ! --mark 0x1
      -m statistic --mode random ! --probability 1
      -m statistic --mode random --probability 1
      -m statistic --mode nth --every 2 --packet 0`, [
      { src: C, dst: L }, { src: C, dst: L }, { src: C, dst: L },
    ])).toEqual([3, 3, 0, 3, 2]); // nth every 2 packet 0: evaluations 0 and 2
  });

  it('recent: --rdest and --mask key, --remove, --rttl (xt_recent.c)', () => {
    expect(counts(`
      -m recent --set --name D --mask 255.255.255.0 --rdest
      -m recent --rcheck --name D --mask 255.255.255.0 --rdest
      -m recent --set --name T --mask 255.255.255.255 --rsource
      -m recent --rcheck --rttl --name T --mask 255.255.255.255 --rsource
      -m recent --remove --name T --mask 255.255.255.255 --rsource`, [
      // p0: D set (key 192.0.2.0) -> 1; rcheck yes; T set ttl 64; rcheck --rttl same ttl yes; remove yes
      { src: C, dst: L, ttl: 64 },
      // p1: D: set again (entry exists: matches), rcheck yes; T: set (new entry, ttl 30); rcheck ttl 30 yes; remove yes
      { src: C, dst: L, ttl: 30 },
    ])).toEqual([2, 2, 2, 2, 2]);
  });

  it('addrtype --src-type and --limit-iface-in', () => {
    expect(counts(`
      -m addrtype --src-type UNICAST
      -m addrtype --dst-type BROADCAST
      -m addrtype --dst-type LOCAL --limit-iface-in
      -m addrtype --dst-type LOCAL,BROADCAST`, [
      { src: C, dst: L },                   // unicast src, local dst (on eth0, the in interface)
      { src: C, dst: '192.0.2.255' },       // subnet broadcast
    ])).toEqual([2, 1, 1, 2]);
  });

  it('LOG and NFLOG continue, comment matches', () => {
    expect(counts(`
      -j LOG --log-prefix "x "
      -j NFLOG
      -m comment --comment "hello"
      -j DROP`, [{ src: C, dst: L }])).toEqual([1, 1, 1, 1]);
  });
});
