// What a module (match or target extension) provides on the TypeScript side. One file per module
// in this folder, registered once in ./index.ts; its twin in assembly/modules/<name>.ts matches it
// (libxt_<name>.c and xt_<name>.c in netfilter).
import type { Rule, SourcePos, TableName } from '../model.js';

/** A cursor over a rule's words, owned by the parser. Modules consume the options they know. */
export interface ArgReader {
  /** Next word without consuming it, or undefined at the end of the rule. */
  peek(): string | undefined;
  /** Consume and return the next word; error (file:line:col) if there is none. */
  next(what: string): string;
  /** Position of the next word (for errors). */
  pos(): SourcePos;
  /** Throw a ParseError at `at` (default: the last consumed word). */
  fail(message: string, at?: SourcePos): never;
}

export interface ModuleOption {
  /** The option as typed, e.g. '--dport'. */
  name: string;
  /** True when `!` preceded it. */
  invert: boolean;
  pos: SourcePos;
}

/** Services the compiler offers to a module's `lower`. */
export interface LowerCtx {
  /** Id of a host interface by name, or throws when unknown (used by addrtype --limit-iface-*). */
  ifaceIndex(name: string): number;
  /** Interned id of a recent list name (tables shared by name across rules). */
  recentId(name: string): number;
  /** A fresh per-rule state slot (nth counters, limit buckets): returns its index. */
  stateSlot(): number;
  /** Chain id by name in the rule's table. */
  chainId(name: string): number;
  /** The rule being lowered. */
  rule: Rule;
}

/** One option a module accepts (getopt_long style: the parser also accepts unique prefixes). */
export interface OptSpec {
  /** Full name with dashes, e.g. '--dport'. */
  name: string;
  /** Takes one argument word. */
  arg: boolean;
  /** `!` may precede it. */
  invert?: boolean;
  /** The option this one is a synonym of (e.g. --destination-port for --dport): getopt sees one option. */
  alias?: string;
}

export interface ModuleBase<P> {
  /** Name as written after -m / -j. */
  name: string;
  /** The options the module accepts (for prefix resolution, `!` and argument checks). */
  options: OptSpec[];
  /** Name iptables-save prints after -m/-j when it differs from `name` (libxtables' alias()). */
  alias?(p: P): string;
  /** Other names that load this module (e.g. NOTRACK for CT). */
  aliases?: string[];
  /** Numeric id shared with assembly/modules/index.ts (MOD_* in src/compile/modules-ids.ts). */
  id: number;
  /** Fresh params before options are read. */
  init(): P;
  /** Consume one option; return false when the option is not this module's (the parser then tries others). */
  parse(p: P, opt: ModuleOption, args: ArgReader): boolean;
  /** Checks after all options (libxt_*.c x6_fcheck / kernel checkentry). Throw via args.fail. */
  finalCheck?(p: P, rule: Rule, fail: (msg: string) => never): void;
  /** The canonical text iptables-save prints after `-m name` / `-j NAME` (leading space included, '' if none). */
  save(p: P): string;
  /** Params as 32-bit words for the core; read by the twin in assembly/modules/. */
  lower?(p: P, ctx: LowerCtx): number[];
}

export interface MatchModule<P = any> extends ModuleBase<P> {
  kind: 'match';
  /** Protocol the module requires (tcp/udp need -p tcp/udp), checked by the parser. */
  requiresProto?: number[];
  /** True when using it activates conntrack (state, conntrack, connmark...). */
  needsConntrack?: boolean;
  /** Hooks from which this match (with these params) may be reached; undefined = any (kernel checkentry). */
  hooks?(p: P): string[] | undefined;
}

export interface TargetModule<P = any> extends ModuleBase<P> {
  kind: 'target';
  /** Tables where the target may be used (kernel xt_target.table); undefined = any table. */
  tables?: TableName[];
  /** Hooks (builtin chain names) from which the target may be reached (xt_target.hooks); undefined = any. */
  chains?: string[];
  /** Does the target end the chain walk (DNAT, REJECT) or continue (LOG, MARK)? */
  terminal: boolean;
  needsConntrack?: boolean;
}
