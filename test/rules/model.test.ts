// The typed parameters each module stores (what src/compile lowers). Expected values are worked out by hand from
// the kernel's and iptables' definitions quoted in each case.
import { describe, it, expect } from 'vitest';
import { parseRuleset } from '../../src/rules/parse.js';
import type { Rule } from '../../src/rules/model.js';

function rule(table: string, chain: string, args: string): Rule {
  return parseRuleset(`*${table}\n-A ${chain} ${args}\nCOMMIT\n`, 't').tables[0].chains.find((c) => c.name === chain)!.rules[0];
}
const m0 = (args: string, chain = 'INPUT') => rule('filter', chain, args).matches[0].params;
const tgt = (table: string, chain: string, args: string) => (rule(table, chain, args).target as { params: unknown }).params;

describe('match params', () => {
  it('tcp --syn is mask FIN|SYN|RST|ACK = 0x17, comparison SYN = 0x02', () => {
    expect(m0('-p tcp --syn --sport 1024: ! --dport 22')).toEqual({ sport: [1024, 65535], sportInv: false, dport: [22, 22], dportInv: true,
      flagsMask: 0x17, flagsCmp: 0x02, flagsInv: false, option: 0, optionInv: false });
  });
  it('icmp echo-request is type 8 with codes 0..255; port-unreachable is 3/3; any is type 255', () => {
    expect(m0('-p icmp --icmp-type echo-request')).toMatchObject({ type: 8, codeMin: 0, codeMax: 255, invert: false });
    expect(m0('-p icmp ! --icmp-type port-unreachable')).toMatchObject({ type: 3, codeMin: 3, codeMax: 3, invert: true });
    expect(m0('-p icmp --icmp-type any')).toMatchObject({ type: 255 });
  });
  it('multiport keeps the list with ranges', () => {
    expect(m0('-p udp -m multiport ! --sports 53,1000:2000')).toEqual({ dir: 'src', ports: [[53, 53], [1000, 2000]], invert: true });
  });
  it('conntrack: CTS_* bits, protocol number, unmasked addresses with their mask, ranges, IPS_* bits', () => {
    // NEW 2 | ESTABLISHED 8 = 10; ASSURED is IPS_ASSURED = 4; 192.0.2.77 = 0xc000024d, /24 mask = 0xffffff00.
    expect(m0('-m conntrack --ctstate NEW,ESTABLISHED --ctproto udp ! --ctorigdst 192.0.2.77/24 --ctreplsrcport 53 --ctstatus ASSURED --ctexpire 5:10 --ctdir REPLY'))
      .toMatchObject({ state: { mask: 10, invert: false }, proto: { proto: 17, invert: false },
        origDst: { addr: 0xc000024d, mask: 0xffffff00, invert: true }, replSrcPort: { min: 53, max: 53, invert: false },
        status: { mask: 4, invert: false }, expire: { min: 5, max: 10, invert: false }, dir: 'REPLY', origSrc: null });
  });
  it('state: INVALID 1 | RELATED 4 = 5', () => {
    expect(m0('-m state ! --state INVALID,RELATED')).toEqual({ mask: 5, invert: true, set: true });
  });
  it('mark without a mask has mask 0xffffffff', () => {
    expect(m0('-m mark --mark 0x10')).toEqual({ mark: 0x10, mask: 0xffffffff, invert: false, set: true });
  });
  it('addrtype: bit 1 << RTN_x (LOCAL = 2 -> 4, BROADCAST = 3 -> 8)', () => {
    expect(m0('-m addrtype ! --src-type LOCAL --dst-type LOCAL,BROADCAST --limit-iface-in'))
      .toEqual({ src: 4, srcInv: true, dst: 12, dstInv: false, limitIfaceIn: true, limitIfaceOut: false });
  });
  it('statistic: probability as lround(p * 2^31), nth every stored minus one', () => {
    expect(m0('-m statistic --mode random --probability 0.25')).toMatchObject({ mode: 'random', probability: 0x20000000, invert: false });
    expect(m0('-m statistic --mode nth ! --every 3 --packet 1')).toMatchObject({ mode: 'nth', every: 2, packet: 1, invert: true });
  });
  it('recent defaults: name DEFAULT, mask 255.255.255.255, source side', () => {
    expect(m0('-m recent ! --rcheck --seconds 60 --hitcount 3 --reap --rttl')).toEqual({ cmd: 'rcheck', invert: true, seconds: 60, reap: true,
      hitcount: 3, rttl: true, name: 'DEFAULT', mask: 0xffffffff, side: 'source' });
  });
  it('iprange, length, ttl, pkttype, dscp, tos', () => {
    expect(m0('-m iprange --src-range 192.0.2.1-192.0.2.9')).toEqual({ src: { min: 0xc0000201, max: 0xc0000209, invert: false }, dst: null });
    expect(m0('-m length ! --length 64:128')).toEqual({ min: 64, max: 128, invert: true, set: true });
    expect(m0('-m ttl ! --ttl-eq 64')).toEqual({ mode: 'ne', ttl: 64 });
    expect(m0('-m pkttype --pkt-type host')).toEqual({ type: 0, invert: false, set: true }); // PACKET_HOST
    expect(m0('-m dscp --dscp-class EF')).toEqual({ dscp: 0x2e, invert: false, set: true }); // EF = 46
    expect(m0('-m tos --tos Minimize-Delay')).toEqual({ value: 0x10, mask: 0x3f, invert: false, set: true });
  });
  it('limit: avg = 10000 * seconds-per-unit / rate (5/min -> 120000), default 3/hour = 12000000, burst 5', () => {
    expect(m0('-m limit --limit 5/min --limit-burst 7')).toEqual({ avg: 120000, burst: 7 });
    expect(m0('-m limit')).toEqual({ avg: 12000000, burst: 5 });
  });
});

describe('target params', () => {
  it('MARK forms as the kernel (mark, mask): and-mark 0xff -> 0/0xffffff00, xor-mark 4 -> 4/0', () => {
    expect(tgt('mangle', 'PREROUTING', '-j MARK --and-mark 0xff')).toEqual({ mark: 0, mask: 0xffffff00, set: true });
    expect(tgt('mangle', 'PREROUTING', '-j MARK --xor-mark 4')).toEqual({ mark: 4, mask: 0, set: true });
    expect(tgt('mangle', 'PREROUTING', '-j MARK --set-mark 1/0xf0')).toEqual({ mark: 1, mask: 0xf1, set: true });
  });
  it('CONNMARK: set (ctmark, ctmask), save/restore masks', () => {
    expect(tgt('mangle', 'PREROUTING', '-j CONNMARK --or-mark 2')).toEqual({ mode: 'set', mark: 2, ctmask: 2, nfmask: 0xffffffff });
    expect(tgt('mangle', 'PREROUTING', '-j CONNMARK --restore-mark --mask 0xff')).toEqual({ mode: 'restore', mark: 0, ctmask: 0xff, nfmask: 0xff });
  });
  it('REJECT stores the kernel enum (icmp-port-unreachable 3, tcp-reset 7)', () => {
    expect(tgt('filter', 'INPUT', '-j REJECT')).toEqual({ with: 3 });
    expect(tgt('filter', 'INPUT', '-p tcp -j REJECT --reject-with tcp-reset')).toEqual({ with: 7 });
  });
  it('SNAT/MASQUERADE/REDIRECT ranges with NAT_* flags (MAP_IPS 1, PROTO_SPECIFIED 2, RANDOM 4, PERSISTENT 8, RANDOM_FULLY 16)', () => {
    expect(tgt('nat', 'POSTROUTING', '-p udp -j SNAT --to-source 198.51.100.1:1000-2000 --random-fully --persistent'))
      .toEqual({ range: { flags: 1 | 2 | 8 | 16, minIp: 0xc6336401, maxIp: 0xc6336401, minPort: 1000, maxPort: 2000 }, given: true });
    expect(tgt('nat', 'POSTROUTING', '-j MASQUERADE --random')).toEqual({ range: { flags: 4, minIp: 0, maxIp: 0, minPort: 0, maxPort: 0 } });
    expect(tgt('nat', 'PREROUTING', '-p tcp -j REDIRECT --to-ports 8080')).toEqual({ range: { flags: 2, minIp: 0, maxIp: 0, minPort: 8080, maxPort: 8080 } });
  });
  it('LOG, NFLOG, CT, NOTRACK', () => {
    expect(tgt('filter', 'INPUT', '-j LOG --log-level debug --log-uid')).toEqual({ level: 7, prefix: '', flags: 0x08 });
    expect(tgt('filter', 'INPUT', '-j NFLOG --nflog-group 2 --nflog-size 64')).toEqual({ group: 2, prefix: '', len: 64, copyLen: true, threshold: 1 });
    expect(tgt('raw', 'PREROUTING', '-j CT --notrack')).toEqual({ notrack: true });
    expect(tgt('raw', 'PREROUTING', '-j NOTRACK')).toEqual({ notrack: true });
  });
  it('jumps and verdicts', () => {
    const rs = parseRuleset('*filter\n:A - [0:0]\n-A INPUT -g A\n-A INPUT -j RETURN\nCOMMIT\n', 't');
    expect(rs.tables[0].chains[0].rules.map((r) => r.target && { ...r.target, pos: undefined })).toEqual([
      { kind: 'jump', chain: 'A', goto: true, pos: undefined }, { kind: 'verdict', verdict: 'RETURN', pos: undefined }]);
  });
  it('-j NAME jumps to a user chain of that name even when NAME is also a target (a chain is looked for first)', () => {
    // iptables' command_jump asks libiptc whether NAME is a chain before loading a target extension:
    // `-j DNAT` with a chain DNAT declared is a jump, and DNAT's --to-destination is then an unknown option.
    const rs = parseRuleset('*nat\n:DNAT - [0:0]\n-A PREROUTING -j DNAT\nCOMMIT\n', 't');
    const t = rs.tables[0].chains.find((x) => x.name === 'PREROUTING')!.rules[0].target!;
    expect({ ...t, pos: undefined }).toEqual({ kind: 'jump', chain: 'DNAT', goto: false, pos: undefined });
    expect(() => parseRuleset('*nat\n:DNAT - [0:0]\n-A OUTPUT -p tcp -j DNAT --to-destination 192.0.2.1\nCOMMIT\n', 't')).toThrow(/--to-destination/);
  });
});

describe('tables and chains', () => {
  it('every table gets its builtin chains (ACCEPT unless declared); user chains keep declaration order in the model', () => {
    const rs = parseRuleset('*nat\n:Z - [0:0]\n:POSTROUTING ACCEPT [1:2]\n:A - [0:0]\nCOMMIT\n', 't');
    expect(rs.tables[0].chains.map((c) => [c.name, c.builtin, c.policy])).toEqual([
      ['PREROUTING', true, 'ACCEPT'], ['INPUT', true, 'ACCEPT'], ['OUTPUT', true, 'ACCEPT'], ['POSTROUTING', true, 'ACCEPT'],
      ['Z', false, null], ['A', false, null]]);
    expect(rs.tables[0].chains[3].counters).toEqual({ packets: 1n, bytes: 2n });
  });
  it('a table named again is flushed (rules and user chains go, builtin policies stay), as iptables-restore does', () => {
    const rs = parseRuleset('*filter\n:INPUT DROP [0:0]\n:A - [0:0]\n-A INPUT -j A\nCOMMIT\n*filter\n-A OUTPUT -j ACCEPT\nCOMMIT\n', 't');
    expect(rs.tables).toHaveLength(1);
    expect(rs.tables[0].chains.map((c) => [c.name, c.policy, c.rules.length])).toEqual([['INPUT', 'DROP', 0], ['FORWARD', 'ACCEPT', 0], ['OUTPUT', 'ACCEPT', 1]]);
  });
  it('rule numbers and positions', () => {
    const rs = parseRuleset('*filter\n-A INPUT -j ACCEPT\n\n# c\n[1:2] -A INPUT -p tcp --dport 80 -j DROP\nCOMMIT\n', 't');
    const [a, b] = rs.tables[0].chains[0].rules;
    expect([a.num, a.pos.line, a.pos.column, b.num, b.pos.line, b.pos.column]).toEqual([1, 2, 1, 2, 5, 1]);
    // "[1:2] -A INPUT -p tcp " is 22 characters: the implicit tcp match is placed at --dport, column 23.
    expect(b.matches[0].pos).toEqual({ file: 't', line: 5, column: 23 });
  });
});
