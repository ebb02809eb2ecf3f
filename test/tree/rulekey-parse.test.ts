// ruleKey on rules read by the real parser (src/rules/parse.ts): what each iptables-save option
// becomes in the key, worked out by hand from the option's meaning.
import { describe, it, expect } from 'vitest';
import { parseRuleset } from '../../src/rules/parse.js';
import type { IfaceMatch } from '../../src/rules/model.js';
import { ruleKey, FULL16, FULL32, type RuleKey } from '../../src/compile/tree.js';

const IFS = ['eth0', 'eth1', 'veth0'];
const ifaceMask = (m: IfaceMatch): number => {
  if (m.name === '+') return 0xffffffff;
  let k = 0;
  IFS.forEach((n, i) => { if (m.name.endsWith('+') ? n.startsWith(m.name.slice(0, -1)) : n === m.name) k |= 1 << i; });
  return k >>> 0;
};

function keys(lines: string[]): RuleKey[] {
  const text = `*filter\n:FORWARD ACCEPT [0:0]\n:X - [0:0]\n${lines.map((l) => `-A FORWARD ${l}`).join('\n')}\nCOMMIT\n`;
  const rs = parseRuleset(text, 't.rules');
  const ch = rs.tables[0].chains.find((c) => c.name === 'FORWARD')!;
  return ch.rules.map((r) => ruleKey(r, ifaceMask));
}

describe('ruleKey from parsed rules', () => {
  it('addresses, protocol, ports, interfaces, fragments, finality', () => {
    const [a, b, c, d, e, f, g] = keys([
      '-s 10.0.0.0/8 -d 192.0.2.7/32 -p tcp -m tcp --sport 1024:65535 --dport 443 -j ACCEPT',
      '! -s 10.1.0.0/16 -i eth+ ! -o veth0 -p udp -m udp ! --dport 53 -j DROP',
      '-p tcp -m multiport --dports 80,443,8000:8080 -j X',
      '-p udp -m multiport --ports 53,67 -j ACCEPT',
      '-p sctp -m sctp --dport 9 -j ACCEPT',
      '-f -j DROP',
      '-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT',
    ]);
    // 10.0.0.0/8 = 0x0a000000..0x0affffff; 192.0.2.7 = 0xc0000207
    expect(a).toMatchObject({ src: { lo: 0x0a000000, hi: 0x0affffff }, dst: { lo: 0xc0000207, hi: 0xc0000207 }, proto: 6,
      sport: { lo: 1024, hi: 65535 }, dport: { lo: 443, hi: 443 }, l4: true, final: true, frag: 0 });
    // ! -s keeps the range with the flag; eth+ = eth0|eth1 = 0b011; ! -o veth0 = ~0b100, "no device" bit kept
    expect(b).toMatchObject({ src: { lo: 0x0a010000, hi: 0x0a01ffff }, srcInv: true, proto: 17, dport: { lo: 53, hi: 53 }, dportInv: true,
      iif: 0b011, oif: (~0b100 | 0x80000000) >>> 0, final: true });
    // multiport --dports: the hull 80..8080 (a superset); -j X may return: not final
    expect(c).toMatchObject({ dport: { lo: 80, hi: 8080 }, sport: FULL16, l4: true, final: false });
    // --ports is either side: no cut, and not final (the key is wider than the rule)
    expect(d).toMatchObject({ dport: FULL16, sport: FULL16, l4: true, final: false });
    // sctp ports are cut, but the key is not claimed exact
    expect(e).toMatchObject({ proto: 132, dport: { lo: 9, hi: 9 }, l4: true, final: false });
    expect(f).toMatchObject({ frag: 1, src: FULL32, l4: false, final: true });
    // --syn is a residual match: not final
    expect(g).toMatchObject({ proto: 6, l4: true, final: false });
  });

  it('two port tests on one side: intersected, never claimed exact', () => {
    const [a] = keys(['-p tcp -m tcp --dport 80:90 -m tcp --dport 85:100 -j ACCEPT']);
    expect(a).toMatchObject({ dport: { lo: 85, hi: 90 }, l4: true, final: false });
  });

  it('a match with a side effect before the port test keeps the rule walked for every port', () => {
    const [a, b, c] = keys([
      '-p tcp -m statistic --mode nth --every 2 --packet 0 -m tcp --dport 80 -j ACCEPT',
      '-p tcp -m tcp --dport 80 -m statistic --mode random --probability 0.5 -j ACCEPT',
      '-p udp -m recent --set --name R -m udp --dport 53',
    ]);
    // the nth counter ticks for every tcp packet the base match lets through, fragments included
    expect(a).toMatchObject({ proto: 6, dport: FULL16, l4: false, final: false });
    // the port test runs first: a packet failing it never draws
    expect(b).toMatchObject({ proto: 6, dport: { lo: 80, hi: 80 }, l4: true, final: false });
    expect(c).toMatchObject({ proto: 17, dport: FULL16, l4: false });
  });
});
