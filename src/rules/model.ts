// The typed model of an iptables-save / iptables-restore text. src/rules/parse.ts builds it,
// src/rules/print.ts prints it back in iptables-save's canonical form, src/compile lowers it.

export interface SourcePos {
  file: string;
  line: number;   // 1-based
  column: number; // 1-based, of the token the position is about
}

export interface Counters {
  packets: bigint;
  bytes: bigint;
}

export type TableName = 'raw' | 'mangle' | 'nat' | 'filter' | 'security';
export const TABLE_NAMES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter', 'security'];

export type BuiltinChain = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** Builtin chains each table has, in hook order (iptable_*.c valid_hooks). */
export const TABLE_BUILTINS: Record<TableName, readonly BuiltinChain[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export interface Ruleset {
  file: string;
  /** Tables in the order they appear in the text (iptables-save keeps that order). */
  tables: Table[];
  /** Rules approximated because of --unsupported (empty unless that option was given). */
  approximated: Rule[];
}

export interface Table {
  name: TableName;
  pos: SourcePos;
  /** Chains in declaration order. The printer orders them as iptables-save does. */
  chains: Chain[];
}

export interface Chain {
  name: string;
  builtin: boolean;
  /** ACCEPT/DROP for builtin chains, null for user chains ('-'). */
  policy: 'ACCEPT' | 'DROP' | null;
  counters: Counters | null;
  rules: Rule[];
  pos: SourcePos;
}

/** An address test from -s/-d: addr and mask as dotted-quad numbers (host order u32), addr already masked. */
export interface AddrMatch {
  addr: number;
  prefix: number; // 0..32 (iptables-save only prints prefix masks; a non-prefix mask is an error)
  invert: boolean;
}

/** -i/-o: name as given; '+' suffix is a prefix wildcard, '+' alone matches anything. */
export interface IfaceMatch {
  name: string;
  invert: boolean;
}

export interface ProtoMatch {
  proto: number; // IP protocol number; 0 never stored (no -p, or -p all)
  invert: boolean;
}

/** One `-m NAME ...` block (or an implicit one such as `-p tcp --dport 80` without -m tcp). */
export interface Match {
  module: string;        // registry name: tcp, udp, conntrack, ...
  /** Typed parameters, owned by src/rules/modules/<module>.ts. */
  params: unknown;
  pos: SourcePos;
  /** The module was loaded implicitly (e.g. `-p tcp --dport 80`); iptables-save prints `-m tcp` anyway. */
  implicit?: boolean;
}

export type Target =
  | { kind: 'verdict'; verdict: 'ACCEPT' | 'DROP' | 'RETURN'; pos: SourcePos }
  | { kind: 'jump'; chain: string; goto: boolean; pos: SourcePos }
  | { kind: 'module'; module: string; params: unknown; pos: SourcePos };

export interface Rule {
  table: TableName;
  chain: string;
  /** 1-based position of the rule in its chain (iptables -L --line-numbers). */
  num: number;
  counters: Counters | null;
  src: AddrMatch | null;
  dst: AddrMatch | null;
  inIface: IfaceMatch | null;
  outIface: IfaceMatch | null;
  proto: ProtoMatch | null;
  /** -f: non-first fragments; invert for `! -f`. */
  frag: { invert: boolean } | null;
  matches: Match[];
  target: Target | null;
  pos: SourcePos;
  /** Set when --unsupported made this rule an approximation; says what and how. */
  approximation?: { module: string; mode: 'assume-match' | 'assume-nomatch' | 'skip-rule' };
}
