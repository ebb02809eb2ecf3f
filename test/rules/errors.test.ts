// Every error class: the message, and the line:column of the token it names. Expected columns are computed
// from the input text by locating the named token (an independent count), messages are spelled out.
import { describe, it, expect } from 'vitest';
import { parseRuleset } from '../../src/rules/parse.js';
import { ParseError } from '../../src/rules/errors.js';

function err(text: string, opts = {}): ParseError {
  try {
    parseRuleset(text, 'f.rules', opts);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error('no error');
}

/** `f.rules:L:C: ` where C is the 1-based column of the nth occurrence of `token` in line L of `text`. */
function at(text: string, line: number, token: string, nth = 0): string {
  const l = text.split('\n')[line - 1];
  let c = -1;
  for (let i = 0; i <= nth; i++) c = l.indexOf(token, c + 1);
  if (c < 0) throw new Error(`token ${token} not in line ${line}`);
  return `f.rules:${line}:${c + 1}: `;
}

/** [name, text, line, token, nth, message] */
type Case = [string, string, number, string, number, string];
const F = (body: string) => `*filter\n${body}\nCOMMIT\n`;
const N = (body: string) => `*nat\n${body}\nCOMMIT\n`;

const cases: Case[] = [
  // file structure
  ['unknown table', '*filtre\nCOMMIT\n', 1, '*filtre', 0, "unknown table 'filtre' (raw, mangle, nat, filter or security)"],
  ['table opened while another is open', '*filter\n-A INPUT -j ACCEPT\n*nat\nCOMMIT\n', 3, '*nat', 0,
    "COMMIT expected before '*nat' (table 'filter' opened at line 1 is not committed)"],
  ['COMMIT outside a table', 'COMMIT\n', 1, 'COMMIT', 0, "'COMMIT' outside a table (no '*table' line before it)"],
  ['rule outside a table', '-A INPUT -j ACCEPT\n', 1, '-A', 0, "'-A' outside a table: expected '*raw', '*mangle', '*nat', '*filter' or '*security'"],
  ['COMMIT without its newline at the end of the file', '*filter\n-A INPUT -j ACCEPT\nCOMMIT', 3, 'COMMIT', 0,
    "'COMMIT' at the end of the file needs a newline after it (iptables-restore reads it as a rule)"],
  ['COMMIT with a trailing blank is a rule line (as in iptables-restore)', '*filter\nCOMMIT \n', 2, 'COMMIT', 0,
    "bad line: expected '-A CHAIN ...', ':CHAIN POLICY', '*table' or 'COMMIT', found 'COMMIT'"],
  ['CRLF line endings', '*filter\r\nCOMMIT\r\n', 1, '\r', 0, 'carriage return in the line (CRLF line endings?): iptables-restore would refuse it'],
  ['a line of blanks', '*filter\n   \nCOMMIT\n', 2, ' ', 0, 'line of only blanks: iptables-restore refuses it (no command specified)'],
  ['unterminated quote', F('-A INPUT -m comment --comment "abc'), 2, '"', 0, 'unterminated quote'],
  ['bad line', F('INPUT -j ACCEPT'), 2, 'INPUT', 0, "bad line: expected '-A CHAIN ...', ':CHAIN POLICY', '*table' or 'COMMIT', found 'INPUT'"],
  ['unsupported command', F('-I INPUT 1 -j ACCEPT'), 2, '-I', 0, "command '-I' is not supported in a ruleset (only -A, -X, -N, -P, -F, -Z)"],
  ['bad counters', F('[1:x] -A INPUT -j ACCEPT'), 2, '[1:x]', 0, "bad counters '[1:x]' (expected [packets:bytes])"],
  // chain declarations
  ['policy on a user chain', F(':MYCHAIN ACCEPT [0:0]'), 2, 'ACCEPT', 0,
    "can't set policy 'ACCEPT' on chain 'MYCHAIN': 'MYCHAIN' is not a builtin chain of table 'filter' (user chains take '-')"],
  ['builtin chain of another table', F(':PREROUTING ACCEPT [0:0]'), 2, 'ACCEPT', 0,
    "can't set policy 'ACCEPT' on chain 'PREROUTING': 'PREROUTING' is a builtin chain of raw/mangle/nat, not of table 'filter' (user chains take '-')"],
  ['bad policy', F(':INPUT REJECT [0:0]'), 2, 'REJECT', 0, "bad policy 'REJECT' for chain 'INPUT' (ACCEPT, DROP or -)"],
  ['chain declared twice', F(':A - [0:0]\n:A - [0:0]'), 3, ':A', 0, "chain 'A' declared twice in table 'filter'"],
  ['chain name too long', F(':ABCDEFGHIJKLMNOPQRSTUVWXYZ123 - [0:0]'), 2, ':ABC', 0, "invalid chain name 'ABCDEFGHIJKLMNOPQRSTUVWXYZ123' (28 chars max)"],
  ['chain named like a verdict', F(':RETURN - [0:0]'), 2, ':RETURN', 0, "invalid chain name 'RETURN' (a builtin target)"],
  ['rule for an undeclared chain', F('-A KUBE-SERVICES -j ACCEPT'), 2, 'KUBE-SERVICES', 0,
    "rule for undeclared chain 'KUBE-SERVICES' in table 'filter' (declare it with ':KUBE-SERVICES - [0:0]')"],
  // jumps
  ['jump to an undeclared chain', F('-A INPUT -j KUBE-SERVICES'), 2, 'KUBE-SERVICES', 0, "jump to undeclared chain 'KUBE-SERVICES' in table 'filter'"],
  ['goto to an undeclared chain', F('-A INPUT -g NOPE'), 2, 'NOPE', 0, "goto to undeclared chain 'NOPE' in table 'filter'"],
  ['jump declared later (iptables-restore resolves jumps at -A)', F('-A INPUT -j LATER\n:LATER - [0:0]'), 2, 'LATER', 0, "jump to undeclared chain 'LATER' in table 'filter'"],
  ['DROP in nat', N('-A PREROUTING -j DROP'), 2, 'DROP', 0, 'the "nat" table is not intended for filtering, the use of DROP is therefore inhibited'],
  ['-P DROP in nat', N('-P PREROUTING DROP'), 2, 'DROP', 0, 'the "nat" table is not intended for filtering, the use of DROP is therefore inhibited'],
  ['goto a verdict', F('-A INPUT -g ACCEPT'), 2, 'ACCEPT', 0, "-g needs a user chain, not 'ACCEPT'"],
  ['jump to a builtin chain', F('-A INPUT -j OUTPUT'), 2, 'OUTPUT', 0, "cannot jump to builtin chain 'OUTPUT'"],
  ['both -j and -g', F(':A - [0:0]\n-A INPUT -j A -g A'), 3, '-g', 0, 'cannot use both -j and -g'],
  // options
  ['unknown option', F('-A INPUT --frobnicate 1'), 2, '--frobnicate', 0, "unknown option '--frobnicate'"],
  ['module option without its module', F('-A INPUT --dport 80 -j ACCEPT'), 2, '--dport', 0, "unknown option '--dport' (an option of -m tcp, -m udp, -m sctp, not loaded at this point)"],
  ['target option before its target', N('-A PREROUTING --to-destination 192.0.2.1 -j DNAT'), 2, '--to-destination', 0, "unknown option '--to-destination' (an option of -j DNAT, not loaded at this point)"],
  // getopt_long prefixes: --d matches --destination/--dst (one option) and --delete/--delete-chain (iptables: unknown option "--d").
  ['ambiguous option prefix', F('-A INPUT -p tcp --d 80'), 2, '--d', 0, "option '--d' is ambiguous (--destination, --dst, --delete, --delete-chain)"],
  ['ambiguous prefix across a module and the rule options', F('-A INPUT -p tcp -m tcp --dest 80'), 2, '--dest', 0, "option '--dest' is ambiguous (--destination, --destination-port)"],
  ['a command inside a rule', F('-A INPUT --append INPUT'), 2, '--append', 0, "'--append' is not allowed inside a rule"],
  ['option without its argument', F('-A INPUT -p tcp --dport'), 2, '--dport', 0, "option '--dport' requires an argument"],
  ['non-option word', F('-A INPUT -s 192.0.2.1 ACCEPT'), 2, 'ACCEPT', 0, "bad argument 'ACCEPT' (expected an option)"],
  ['two -s', F('-A INPUT -s 192.0.2.1 -s 192.0.2.2'), 2, '-s', 1, 'multiple -s flags not allowed'],
  ['double !', F('-A INPUT ! ! -s 192.0.2.1'), 2, '!', 1, "multiple '!' flags not allowed"],
  ['! at the end', F('-A INPUT -j ACCEPT !'), 2, '!', 0, "'!' at the end of the rule (it must come before an option)"],
  ['! before -m', F('-A INPUT ! -m mark --mark 1'), 2, '!', 0, "'!' is not allowed before '-m'"],
  ['! before a non-invertible module option', F('-A INPUT -m comment ! --comment x'), 2, '!', 0, "'!' is not allowed before '--comment'"],
  ['bad address', F('-A INPUT -s 192.0.2.300'), 2, '192.0.2.300', 0, "invalid address '192.0.2.300' (host names are not resolved)"],
  ['host name', F('-A INPUT -d example.com'), 2, 'example.com', 0, "invalid address 'example.com' (host names are not resolved)"],
  ['non-contiguous mask', F('-A INPUT -s 192.0.2.0/255.0.255.0'), 2, '192.0.2.0/255.0.255.0', 0, "non-contiguous mask in '192.0.2.0/255.0.255.0' is not supported"],
  ['bad prefix', F('-A INPUT -s 192.0.2.0/33'), 2, '192.0.2.0/33', 0, "invalid mask '33'"],
  ['! with an address list', F('-A INPUT ! -s 192.0.2.1,192.0.2.2'), 2, '!', 0, '! not allowed with multiple source or destination IP addresses'],
  ['unknown protocol', F('-A INPUT -p tcpx'), 2, 'tcpx', 0, "unknown protocol 'tcpx'"],
  ['interface name too long', F('-A INPUT -i abcdefghijklmnop'), 2, 'abcdefghijklmnop', 0, "interface name 'abcdefghijklmnop' must be shorter than IFNAMSIZ (15)"],
  ['-o in INPUT', F('-A INPUT -o eth0'), 2, '-o', 0, "can't use -o with INPUT"],
  ['-i in POSTROUTING', N('-A POSTROUTING -i eth0'), 2, '-i', 0, "can't use -i with POSTROUTING"],
  // modules
  ['unsupported match', F('-A INPUT -m hashlimit --hashlimit-upto 5/sec -j ACCEPT'), 2, 'hashlimit', 0,
    "unsupported match 'hashlimit' (use --unsupported=assume-match|assume-nomatch|skip-rule to approximate it)"],
  ['unsupported target', F('-A INPUT -j NFQUEUE --queue-num 1'), 2, 'NFQUEUE', 0,
    "unsupported target 'NFQUEUE' (use --unsupported=assume-match|assume-nomatch|skip-rule to approximate it)"],
  ['module needing -p', F('-A INPUT -m tcp --dport 80'), 2, 'tcp', 0, "match 'tcp' needs '-p tcp' (the kernel refuses it for any protocol)"],
  ['module needing -p (inverted proto)', F('-A INPUT ! -p udp --dport 53'), 2, '--dport', 0, "match 'udp' needs '-p udp' (the kernel refuses it for ! -p udp)"],
  ['multiport needing a port protocol', F('-A INPUT -p icmp -m multiport --dports 1,2'), 2, 'multiport', 0, "match 'multiport' needs '-p tcp|udp|udplite' (the kernel refuses it for -p icmp)"],
  ['module option twice', F('-A INPUT -m mark --mark 1 --mark 2'), 2, '--mark', 1, "mark: option '--mark' given twice"],
  ['bad port', F('-A INPUT -p tcp --dport 80x'), 2, '80x', 0, "invalid port '80x' for --dport"],
  ['tcp port out of range', F('-A INPUT -p tcp --dport 65536'), 2, '65536', 0, "invalid port '65536' for --dport"],
  ['tcp port range min > max', F('-A INPUT -p tcp --sport 5:3'), 2, '5:3', 0, "invalid port range '5:3' (min > max) for --sport"],
  ['REJECT type', F('-A INPUT -j REJECT --reject-with icmp-bogus'), 2, 'icmp-bogus', 0, "REJECT: unknown reject type 'icmp-bogus'"],
  ['icmp without --icmp-type', F('-A INPUT -p icmp -m icmp'), 2, 'icmp', 1, "icmp: option '--icmp-type' must be specified"],
  ['statistic nth without --packet', F('-A INPUT -m statistic --mode nth --every 3'), 2, 'statistic', 0, 'statistic: option "--every" also requires "--packet"'],
  ['probability out of range', F('-A INPUT -m statistic --mode random --probability 1.5'), 2, '1.5', 0, "statistic: --probability must be between 0 and 1, got '1.5'"],
  ['bad conntrack state', F('-A INPUT -m conntrack --ctstate NEW,BOGUS'), 2, 'NEW,BOGUS', 0, "bad --ctstate value 'BOGUS'"],
  ['recent --rttl with --set', F('-A INPUT -m recent --set --rttl'), 2, 'recent', 0, 'recent: option "--rttl" cannot be used together with "--set"'],
  ['recent --hitcount too large', F('-A INPUT -m recent --rcheck --hitcount 65536'), 2, 'recent', 0, 'recent: hitcount (65536) is larger than allowed maximum (65535)'],
  ['recent without a command', F('-A INPUT -m recent --name X'), 2, 'recent', 0, 'recent: you must specify one of --set, --rcheck, --update or --remove'],
  ['limit overflow (kernel checkentry)', F('-A INPUT -m limit --limit 1/day'), 2, 'limit', 0, 'limit: overflow, try lower: 864000000/5'],
  ['limit overflow after the u32 wrap (user2credits)', F('-A INPUT -m limit --limit-burst 10000'), 2, 'limit', 0, 'limit: overflow, try lower: 12000000/10000'],
  ['REJECT tcp-reset without -p tcp', F('-A INPUT -j REJECT --reject-with tcp-reset'), 2, 'REJECT', 0, 'REJECT: --reject-with tcp-reset is only valid with -p tcp'],
  ['DNAT port without a port protocol', N('-A PREROUTING -j DNAT --to-destination 192.0.2.1:80'), 2, 'DNAT', 0, 'DNAT: need TCP, UDP, SCTP or DCCP with port specification'],
  ['DNAT --random-fully (not in iptables 1.8.9)', N('-A PREROUTING -j DNAT --to-destination 192.0.2.1 --random-fully'), 2, '--random-fully', 0,
    "unknown option '--random-fully' (an option of -j SNAT, -j MASQUERADE, not loaded at this point)"],
  ['CT with another option', `*raw\n-A PREROUTING -j CT --zone 1\nCOMMIT\n`, 2, '--zone', 0, "CT: option '--zone' is not supported (only --notrack)"],
  // tables, hooks, graph
  ['target in the wrong table', F('-A INPUT -j DNAT --to-destination 192.0.2.1'), 2, 'DNAT', 0, "target 'DNAT' is only valid in the nat table, not in 'filter'"],
  ['REJECT outside filter', '*mangle\n-A INPUT -j REJECT\nCOMMIT\n', 2, 'REJECT', 0, "target 'REJECT' is only valid in the filter table, not in 'mangle'"],
  ['target in the wrong builtin chain', N('-A POSTROUTING -j DNAT --to-destination 192.0.2.1'), 2, 'DNAT', 0,
    "target 'DNAT' used from POSTROUTING, but only usable from PREROUTING/OUTPUT"],
  ['target in a user chain reached from the wrong hook', N(':A - [0:0]\n-A POSTROUTING -j A\n-A A -j DNAT --to-destination 192.0.2.1'), 4, 'DNAT', 0,
    "target 'DNAT' used from POSTROUTING, but only usable from PREROUTING/OUTPUT (chain 'A' is reached from POSTROUTING)"],
  ['MASQUERADE in PREROUTING', N('-A PREROUTING -j MASQUERADE'), 2, 'MASQUERADE', 0, "target 'MASQUERADE' used from PREROUTING, but only usable from POSTROUTING"],
  ['addrtype --limit-iface-in from OUTPUT', F('-A OUTPUT -m addrtype --dst-type LOCAL --limit-iface-in'), 2, 'addrtype', 0,
    "match 'addrtype' with these options is not usable from OUTPUT, only from PREROUTING/INPUT/FORWARD"],
  ['loop in the chain graph', F(':A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -j A'), 6, 'A', 1,
    'loop in the chain graph: A -> B -> A (reached from INPUT)'],
  ['self loop', F(':A - [0:0]\n-A FORWARD -j A\n-A A -g A'), 4, 'A', 2, 'loop in the chain graph: A -> A (reached from FORWARD)'],
  // -X
  ['-X of an undeclared chain', F('-X NOPE'), 2, 'NOPE', 0, "-X: no chain 'NOPE' in table 'filter'"],
  ['-X of a builtin chain', F('-X INPUT'), 2, 'INPUT', 0, "-X: can't delete builtin chain 'INPUT'"],
  ['-X of a non-empty chain', F(':A - [0:0]\n-A A -j ACCEPT\n-X A'), 4, 'A', 0, "-X: chain 'A' is not empty (1 rules)"],
  ['-X of a referenced chain', F(':A - [0:0]\n-A INPUT -j A\n-X A'), 4, 'A', 0, "-X: chain 'A' is still referenced by rule 1 of 'INPUT' (line 3)"],
];

describe('ParseError: message and position of every error class', () => {
  for (const [name, text, line, token, nth, message] of cases) {
    it(name, () => {
      const e = err(text);
      expect(e.message).toBe(`${at(text, line, token, nth)}${message}`);
      expect(e.line).toBe(line);
      expect(e.format()).toBe(e.message);
    });
  }

  it('missing COMMIT at the end of the file points past the last line', () => {
    const e = err('*filter\n-A INPUT -j ACCEPT\n');
    expect(e.message).toBe("f.rules:3:1: COMMIT expected at end of file: table 'filter' (opened at line 1) is not committed");
  });

  it('the token is recorded', () => {
    expect(err(F('-A INPUT -m hashlimit')).token).toBe('hashlimit');
    expect(err(F('-A INPUT -j NOPE')).token).toBe('NOPE');
  });

  it('a loop no builtin chain reaches is accepted, as the kernel does (measured)', () => {
    expect(() => parseRuleset(F(':A - [0:0]\n:B - [0:0]\n-A A -j B\n-A B -j A'), 'x')).not.toThrow();
  });

  it('DNAT in a user chain no builtin reaches is accepted, as the kernel does', () => {
    expect(() => parseRuleset(N(':A - [0:0]\n-A A -j DNAT --to-destination 192.0.2.1'), 'x')).not.toThrow();
  });

  it('-F flushes a chain or the table, after which -X works (as iptables-restore)', () => {
    const rs = parseRuleset(F(':A - [0:0]\n-A INPUT -j A\n-A A -j ACCEPT\n-F A\n-A A -j DROP\n-F\n-A OUTPUT -j ACCEPT\n-X A'), 'x');
    expect(rs.tables[0].chains.map((c) => [c.name, c.rules.length])).toEqual([['INPUT', 0], ['FORWARD', 0], ['OUTPUT', 1]]);
  });

  it('a user chain named like another table\'s builtin is fine with policy -', () => {
    expect(() => parseRuleset(F(':PREROUTING - [0:0]\n-A PREROUTING -j ACCEPT'), 'x')).not.toThrow();
  });
});

describe('--unsupported', () => {
  const text = F('-A INPUT -p tcp -m hashlimit --hashlimit-upto 5/sec --hashlimit-name x --dport 80 -j ACCEPT\n-A INPUT -j NFQUEUE --queue-num 3');
  for (const mode of ['assume-match', 'assume-nomatch', 'skip-rule'] as const) {
    it(`${mode}: rules are kept, marked and listed`, () => {
      const rs = parseRuleset(text, 'f', { unsupported: mode });
      const rules = rs.tables[0].chains[0].rules;
      expect(rs.approximated).toEqual(rules);
      expect(rules.map((r) => r.approximation)).toEqual([{ module: 'hashlimit', mode }, { module: 'NFQUEUE', mode }]);
      // The unknown module's words stop at an option a loaded module knows (--dport of the implicit tcp).
      expect(rules[0].matches.map((m) => m.module)).toEqual(['unsupported', 'tcp']);
      expect(rules[0].matches[0].params).toEqual({ name: 'hashlimit', words: ['--hashlimit-upto', '5/sec', '--hashlimit-name', 'x'], result: mode === 'assume-match' });
    });
  }
});
