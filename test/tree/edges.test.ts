// Edge cases by hand: rules written as the parser's model (so ruleKey is exercised), packets whose
// matching rules were worked out by hand from iptables semantics (comments per packet), and for
// several build settings the leaf must hold them all, in order.
import { describe, it, expect } from 'vitest';
import type { Rule, Match, IfaceMatch } from '../../src/rules/model.js';
import { buildTree, classifyJs, keyMatches, ruleKey, type KeyPacket, type TreeOpts } from '../../src/compile/tree.js';

const pos = { file: 't.rules', line: 1, column: 1 };
const ip = (s: string): number => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
const addr = (s: string, invert = false) => { const [a, l] = s.split('/'); return { addr: ip(a), prefix: Number(l ?? 32), invert }; };
const PROTO: Record<string, number> = { tcp: 6, udp: 17, icmp: 1 };
const proto = (p: string, invert = false) => ({ proto: PROTO[p], invert });
const iface = (name: string, invert = false): IfaceMatch => ({ name, invert });
function ports(module: 'tcp' | 'udp', o: { sport?: [number, number]; sportInv?: boolean; dport?: [number, number]; dportInv?: boolean }): Match {
  return { module, params: { sport: o.sport ?? null, sportInv: !!o.sportInv, dport: o.dport ?? null, dportInv: !!o.dportInv }, pos, implicit: true };
}
// -j LOG does not end the walk: every matching rule must be in the leaf
const LOG: Rule['target'] = { kind: 'module', module: 'LOG', params: {}, pos };
function rule(p: Partial<Rule>): Rule {
  return { table: 'filter', chain: 'FORWARD', num: 1, counters: null, src: null, dst: null, inIface: null, outIface: null,
    proto: null, frag: null, matches: [], target: LOG, pos, ...p };
}

// host interfaces: 0 eth0, 1 eth1, 2 veth0, 3 lo; bit 31 = no device
const IFS = ['eth0', 'eth1', 'veth0', 'lo'];
function ifaceMask(m: IfaceMatch): number {
  if (m.name === '+') return 0xffffffff; // `+` alone matches anything, "no device" included
  let mask = 0;
  IFS.forEach((n, i) => { if (m.name.endsWith('+') ? n.startsWith(m.name.slice(0, -1)) : n === m.name) mask |= 1 << i; });
  return mask >>> 0;
}

const rules: Rule[] = [
  /* 0 */ rule({ dst: addr('203.0.113.7/32'), proto: proto('tcp'), matches: [ports('tcp', { dport: [0, 0] })] }),
  /* 1 */ rule({ dst: addr('203.0.113.7/32'), proto: proto('tcp'), matches: [ports('tcp', { dport: [65535, 65535] })] }),
  /* 2 */ rule({ src: addr('198.51.100.0/24'), proto: proto('udp'), matches: [ports('udp', { sport: [0, 65535] })] }),
  /* 3 */ rule({ src: addr('198.51.100.0/24', true), dst: addr('203.0.113.0/24', true), proto: proto('tcp', true), inIface: iface('eth0', true), outIface: iface('eth1', true) }),
  /* 4 */ rule({ proto: proto('tcp'), matches: [ports('tcp', { sport: [1024, 65535], sportInv: true, dport: [80, 80], dportInv: true })] }),
  /* 5 */ rule({ frag: { invert: false } }),
  /* 6 */ rule({ frag: { invert: true }, proto: proto('udp') }),
  /* 7 */ rule({ inIface: iface('eth+'), outIface: iface('+') }),
  /* 8 */ rule({ inIface: iface('veth0'), proto: proto('tcp'), matches: [ports('tcp', { dport: [443, 443] })] }),
  /* 9 */ rule({ src: addr('0.0.0.0/0'), dst: addr('0.0.0.0/0') }),
  /* 10 */ rule({ inIface: iface('+'), proto: proto('udp') }),
  // 11..50: -d 192.0.2.X/32 -p tcp --dport 1000+X, enough exact rules for hash nodes and splits
  ...Array.from({ length: 40 }, (_, x) => rule({ dst: addr(`192.0.2.${x}/32`), proto: proto('tcp'), matches: [ports('tcp', { dport: [1000 + x, 1000 + x] })] })),
];

const NONE = 255;
const pk = (o: Partial<KeyPacket> & { s: string; d: string }): KeyPacket => ({
  saddr: ip(o.s), daddr: ip(o.d), proto: o.proto ?? 6, sport: o.sport ?? 0, dport: o.dport ?? 0,
  iif: o.iif ?? 0, oif: o.oif ?? 1, fragoff: o.fragoff ?? 0, l4ok: o.l4ok ?? true,
});

const cases: { what: string; p: KeyPacket; match: number[] }[] = [
  // r0 dport 0; r3 fails on ! -d (dst in 203.0.113/24); r4 fails (sport 5000 in 1024:65535, negated);
  // r7 eth0 ~ eth+ and -o + ; r9 /0 both
  { what: 'dport 0', p: pk({ s: '192.0.2.1', d: '203.0.113.7', sport: 5000, dport: 0, iif: 0, oif: 1 }), match: [0, 7, 9] },
  // r1 dport 65535; r4: sport 1023 outside 1024:65535 and dport != 80, both negated -> match; r7: veth0 !~ eth+
  { what: 'dport 65535, ! --sport, ! --dport', p: pk({ s: '10.1.1.1', d: '203.0.113.7', sport: 1023, dport: 65535, iif: 2, oif: NONE }), match: [1, 4, 9] },
  // r2 src in /24 with the full sport range; r6 ! -f on an unfragmented udp packet; r7; r10 -i +
  { what: 'full port range, ! -f', p: pk({ s: '198.51.100.9', d: '198.18.0.1', proto: 17, sport: 53, dport: 53, iif: 1, oif: 1 }), match: [2, 6, 7, 9, 10] },
  // r3: every negated field passes (src, dst outside, icmp != tcp, lo != eth0, eth0 != eth1)
  { what: '! on every base field', p: pk({ s: '192.0.2.50', d: '198.18.0.1', proto: 1, iif: 3, oif: 0 }), match: [3, 9] },
  // non-first fragment: r2's udp match never matches it; r5 -f; r6 ! -f no; r10 (-p udp, no L4 match) yes
  { what: 'non-first fragment', p: pk({ s: '198.51.100.9', d: '203.0.113.7', proto: 17, fragoff: 10, iif: 0, oif: 1 }), match: [5, 7, 9, 10] },
  // first fragment without its TCP header: r0, r1, r4 pass the base match and their tcp match hotdrops
  { what: 'truncated tcp header (hotdrop)', p: pk({ s: '10.0.0.1', d: '203.0.113.7', sport: 7, dport: 7, l4ok: false, iif: 0, oif: 1 }), match: [0, 1, 4, 7, 9] },
  // no devices: -i eth+ fails; ! -i/! -o pass but r3 fails on ! -p tcp; r4 (sport 1, dport 1003); filler X=3 is rule 14
  { what: 'no in/out device, filler hit', p: pk({ s: '192.0.2.3', d: '192.0.2.3', sport: 1, dport: 1003, iif: NONE, oif: NONE }), match: [4, 9, 14] },
  // udp with no devices: r3 (all negations pass), r6, r10 (`-i +` matches no device)
  { what: '-i + without a device', p: pk({ s: '203.0.113.9', d: '198.51.100.1', proto: 17, sport: 7, dport: 9, iif: NONE, oif: NONE }), match: [3, 6, 9, 10] },
  // port boundary of a filler: 1000+39 matches rule 50, 1040 would not exist
  { what: 'filler boundary', p: pk({ s: '1.2.3.4', d: '192.0.2.39', sport: 65535, dport: 1039, iif: 2, oif: 2 }), match: [9, 50] },
];

describe('edge cases by hand', () => {
  const keys = rules.map((r) => ruleKey(r, ifaceMask));

  it('ruleKey + reference checker agree with the hand-derived matches', () => {
    for (const c of cases) {
      const got = keys.flatMap((k, i) => (keyMatches(k, c.p) !== false ? [i] : []));
      expect(got, c.what).toEqual(c.match);
    }
  });

  const settings: TreeOpts[] = [{ binth: 1 }, { binth: 2 }, { binth: 8 }, { binth: 1, hash: false }, { binth: 1, maxDepth: 3 }];
  for (const opts of settings) {
    it(`leaf holds the matching rules in order (${JSON.stringify(opts)})`, () => {
      const idx = keys.map((_, i) => 1000 + i);
      const { words, stats } = buildTree(keys, idx, opts);
      expect(stats.kind).not.toBe('linear');
      for (const c of cases) {
        const leaf = classifyJs(words, 0, c.p);
        const cand = Array.from(words.slice(leaf + 2, leaf + 2 + words[leaf + 1]), (x) => x - 1000);
        expect(cand.filter((i) => c.match.includes(i)), c.what).toEqual(c.match);
      }
    });
  }

  it('RuleKey.final: only the whole rule with a walk-ending target', () => {
    const tcp = (extra: Record<string, unknown> = {}): Match => ({ ...ports('tcp', { dport: [22, 22] }), params: { sport: null, sportInv: false, dport: [22, 22], dportInv: false, flagsMask: 0, flagsCmp: 0, flagsInv: false, option: 0, optionInv: false, ...extra } });
    const k = (r: Partial<Rule>): boolean => ruleKey(rule(r), ifaceMask).final;
    expect(k({ proto: proto('tcp'), matches: [tcp()], target: { kind: 'verdict', verdict: 'DROP', pos } })).toBe(true);
    expect(k({ target: { kind: 'verdict', verdict: 'RETURN', pos } })).toBe(true);
    expect(k({ target: { kind: 'jump', chain: 'X', goto: true, pos } })).toBe(true); // -g never comes back
    expect(k({ target: { kind: 'module', module: 'REJECT', params: {}, pos } })).toBe(true);
    expect(k({ target: { kind: 'jump', chain: 'X', goto: false, pos } })).toBe(false); // -j may RETURN
    expect(k({ target: LOG })).toBe(false);
    expect(k({ target: null })).toBe(false);
    expect(k({ proto: proto('tcp'), matches: [tcp({ flagsMask: 0x17, flagsCmp: 0x02 })], target: { kind: 'verdict', verdict: 'ACCEPT', pos } })).toBe(false); // --syn
    expect(k({ matches: [{ module: 'conntrack', params: {}, pos }], target: { kind: 'verdict', verdict: 'ACCEPT', pos } })).toBe(false);
  });

  it('a wildcard DROP in the middle ends every leaf: no later rule is ever a candidate', () => {
    const acc: Rule['target'] = { kind: 'verdict', verdict: 'ACCEPT', pos };
    const fill = (x: number) => rule({ dst: addr(`192.0.2.${x}/32`), proto: proto('tcp'), matches: [ports('tcp', { dport: [1000 + x, 1000 + x] })], target: acc });
    const chain = [...Array.from({ length: 40 }, (_, x) => fill(x)), rule({ target: { kind: 'verdict', verdict: 'DROP', pos } }), ...Array.from({ length: 20 }, (_, x) => fill(40 + x))];
    const ks = chain.map((r) => ruleKey(r, ifaceMask));
    const { words, stats } = buildTree(ks, ks.map((_, i) => i), { binth: 1 });
    expect(stats.truncated).toBeGreaterThan(0);
    for (let x = 0; x < 60; x++) {
      const p = pk({ s: '10.0.0.1', d: `192.0.2.${x}`, sport: 999, dport: 1000 + x });
      const leaf = classifyJs(words, 0, p);
      const cand = Array.from(words.slice(leaf + 2, leaf + 2 + words[leaf + 1]));
      // the packet's own filler (x < 40; it may end the leaf itself: with the protocol in the
      // hash key its final key covers the entry's whole region) or the DROP (rule 40), and
      // nothing after the DROP
      expect(cand.every((i) => i <= 40), `x=${x}`).toBe(true);
      if (x < 40) expect(cand).toContain(x);
      else expect(cand[cand.length - 1], `x=${x}`).toBe(40);
    }
  });

  it('a non-first fragment never meets an L4 rule, a truncated one always does', () => {
    const { words } = buildTree(keys, keys.map((_, i) => i), { binth: 1 });
    const frag = classifyJs(words, 0, cases[4].p);
    const cand = Array.from(words.slice(frag + 2, frag + 2 + words[frag + 1]));
    expect(cand.some((i) => keys[i].l4)).toBe(false);
  });
});
