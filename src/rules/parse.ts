// iptables-save / iptables-restore text -> the typed model (src/rules/model.ts).
// Follows iptables-restore (legacy, v1.8.x): line kinds, add_param_to_argv quoting, getopt_long option
// resolution (unique prefixes; the newest loaded module's option wins), implicit `-p tcp` match loading,
// and the checks iptables and the kernel make when the table is committed (src/rules/validate.ts).
import type { AddrMatch, Chain, Counters, IfaceMatch, Match, ProtoMatch, Rule, Ruleset, SourcePos, Table, TableName, Target } from './model.js';
import { TABLE_BUILTINS, TABLE_NAMES } from './model.js';
import { ParseError } from './errors.js';
import { internTokens, lexLine, lexPlain, LineWords } from './lex.js';
import { parseAddrMask, maskToPrefix } from './util.js';
import { parseProto, protoName } from './protocols.js';
import { findMatch, findTarget, KNOWN_UNSUPPORTED_TARGETS, MATCHES, TARGETS, unsupportedMatch, unsupportedTarget } from './modules/index.js';
import type { ArgReader, MatchModule, ModuleBase, ModuleOption, OptSpec, TargetModule } from './modules/types.js';
import type { UnsupportedParams } from './modules/unsupported.js';
import { validateTable, deleteChain } from './validate.js';
import { findChain, findAppendChain, findJumpChain, addNewChain, resetIndex, JumpTarget } from './chains.js';

/** iptables refuses -j DROP and -P X DROP in nat (a `:CHAIN DROP` line is accepted: it bypasses the check). */
const NAT_DROP = 'the "nat" table is not intended for filtering, the use of DROP is therefore inhibited';

export type UnsupportedMode = 'error' | 'assume-match' | 'assume-nomatch' | 'skip-rule';

export interface ParseOptions {
  /** What to do with a match or target nfreplay does not implement (default 'error'). */
  unsupported?: UnsupportedMode;
}

/** XT_EXTENSION_MAXNAMELEN - 1: the longest chain name iptables-restore accepts. */
export const MAX_CHAIN_NAME = 28;
const IFNAMSIZ = 16;

/** The options of the rule syntax itself (iptables.c original_opts), with what they take. */
interface BaseOpt { long: string; short: string; arg: boolean; invert: boolean; bit: number }
const BASE_LIST: Omit<BaseOpt, 'bit'>[] = [
  { long: '--source', short: '-s', arg: true, invert: true },
  { long: '--src', short: '-s', arg: true, invert: true },
  { long: '--destination', short: '-d', arg: true, invert: true },
  { long: '--dst', short: '-d', arg: true, invert: true },
  { long: '--protocol', short: '-p', arg: true, invert: true },
  { long: '--in-interface', short: '-i', arg: true, invert: true },
  { long: '--out-interface', short: '-o', arg: true, invert: true },
  { long: '--fragment', short: '-f', arg: false, invert: true },
  { long: '--jump', short: '-j', arg: true, invert: false },
  { long: '--goto', short: '-g', arg: true, invert: false },
  { long: '--match', short: '-m', arg: true, invert: false },
  { long: '--set-counters', short: '-c', arg: true, invert: false },
];
/** bit = one per short option (the rule's "seen" flags: --source and --src are one option). */
const SHORT_BITS = new Map<string, number>();
const BASE: BaseOpt[] = BASE_LIST.map((b) => {
  if (!SHORT_BITS.has(b.short)) SHORT_BITS.set(b.short, 1 << SHORT_BITS.size);
  return { ...b, bit: SHORT_BITS.get(b.short)! };
});
const BIT_J = SHORT_BITS.get('-j')!;
const BIT_G = SHORT_BITS.get('-g')!;
const BASE_SHORT = new Set(BASE.map((b) => b.short));
/** BASE.find by short / long name (the first entry with that name, as find returns). */
const BASE_BY_SHORT = new Map<string, BaseOpt>();
const BASE_BY_LONG = new Map<string, BaseOpt>();
for (const b of BASE) {
  if (!BASE_BY_SHORT.has(b.short)) BASE_BY_SHORT.set(b.short, b);
  if (!BASE_BY_LONG.has(b.long)) BASE_BY_LONG.set(b.long, b);
}
/** A module's option spec by exact name (options.find without a closure per call). */
function optNamed(options: OptSpec[], name: string): OptSpec | undefined {
  for (let i = 0; i < options.length; i++) if (options[i].name === name) return options[i];
  return undefined;
}
/** The other long options of iptables' original_opts (commands, table, flags): refused inside a rule, but they
 *  take part in getopt's prefix matching (`--d` is ambiguous: --destination, --dst, --delete, --delete-chain). */
const COMMANDS = ['--append', '--delete', '--insert', '--replace', '--list', '--flush', '--zero', '--new-chain',
  '--delete-chain', '--policy', '--rename-chain', '--table', '--check', '--list-rules', '--numeric', '--verbose',
  '--wait', '--wait-interval', '--exact', '--version', '--help', '--line-numbers', '--modprobe', '--ipv4', '--ipv6'];

/** Command options (long and short) refused inside a rule. */
const NOT_IN_RULE = new Set([...COMMANDS, '-A', '-D', '-I', '-R', '-L', '-F', '-Z', '-N', '-X', '-P', '-E', '-t', '-C', '-S']);

// The words the lexer returns as these very strings (src/rules/lex.ts internTokens): the rule syntax's options,
// the modules' names and options, and values every kube-proxy dump repeats.
internTokens(['-A', '!', '-j', '-m', '-p', '-s', '-d', '-i', '-o', '-g', '-c', '-f', 'COMMIT', '-', '[0:0]', 'ACCEPT', 'DROP', 'RETURN',
  'tcp', 'udp', 'icmp', 'sctp', 'all', 'random', 'nth', 'NEW', 'INVALID', 'RELATED,ESTABLISHED', 'LOCAL', 'KUBE-MARK-MASQ', 'KUBE-SERVICES',
  '0x4000/0x4000', '0x00004000/0x00004000', '0x4000', '0x00004000', '80', '443', '53']);
internTokens(BASE.map((b) => b.long));
internTokens(COMMANDS);
internTokens(NOT_IN_RULE);
for (const m of [...MATCHES, ...TARGETS]) {
  internTokens([m.name, ...(m.aliases ?? [])]);
  internTokens(m.options.map((o) => o.name));
}

interface Ctx {
  file: string;
  mode: UnsupportedMode;
  rs: Ruleset;
  /** parseRule's rules when it returns null (-s/-d with several addresses: one rule per pair). */
  multi: Rule[];
  /** parseRule's state, reused from rule to rule (made at the first rule). */
  rp?: RuleParse;
}

export function parseRuleset(text: string, file: string, opts: ParseOptions = {}): Ruleset {
  const ctx: Ctx = { file, mode: opts.unsupported ?? 'error', rs: { file, tables: [], approximated: [] }, multi: [] };
  // Lines are read one at a time (no array of all 200,000+ line strings that would outlive several
  // scavenges): the same lines as text.split('\n') without a trailing empty one.
  let nLines = 0;
  let from = 0;
  let table: Table | null = null;
  let tableWord: { pos: SourcePos; text: string } | null = null;
  const at = (line: number, col: number): SourcePos => ({ file, line, column: col });
  const L = new LineWords(); // the line's words, reused
  const noTabs = text.indexOf('\t') < 0;

  while (from < text.length) {
    const nl = text.indexOf('\n', from);
    const lineAt = from;
    const lineEnd = nl < 0 ? text.length : nl;
    const raw = text.slice(from, lineEnd);
    from = nl < 0 ? text.length : nl + 1;
    const lineNo = ++nLines;
    if (raw.startsWith('#')) continue;
    if (raw === '') continue;
    const cr = raw.indexOf('\r');
    if (cr >= 0) throw new ParseError(at(lineNo, cr + 1), '\r', 'carriage return in the line (CRLF line endings?): iptables-restore would refuse it');
    if (raw.trim() === '') throw new ParseError(at(lineNo, 1), raw, 'line of only blanks: iptables-restore refuses it (no command specified)');
    if (raw.includes('"')) lexLine(raw, file, lineNo, L);
    else lexPlain(text, lineAt, lineEnd, L, noTabs); // (a line with a CR was refused above)
    const w0 = L.text[0];
    if (raw[0] === '*') {
      const p0 = at(lineNo, L.col[0]);
      if (table) throw new ParseError(p0, w0, `COMMIT expected before '${w0}' (table '${table.name}' opened at line ${table.pos.line} is not committed)`);
      const name = raw.slice(1).trim();
      if (L.n > 1) throw new ParseError(at(lineNo, L.col[1]), L.text[1], `unexpected '${L.text[1]}' after table name`);
      if (!(TABLE_NAMES as readonly string[]).includes(name)) {
        throw new ParseError(p0, w0, `unknown table '${name}' (raw, mangle, nat, filter or security)`);
      }
      table = openTable(ctx, name as TableName, p0);
      tableWord = { pos: p0, text: w0 };
      continue;
    }
    if (raw === 'COMMIT' && nl < 0) { // the last line, and the text does not end with a newline
      throw new ParseError(at(lineNo, L.col[0]), 'COMMIT', "'COMMIT' at the end of the file needs a newline after it (iptables-restore reads it as a rule)");
    }
    if (raw === 'COMMIT') {
      if (!table) throw new ParseError(at(lineNo, L.col[0]), w0, "'COMMIT' outside a table (no '*table' line before it)");
      validateTable(table, file);
      table = null;
      continue;
    }
    if (!table) {
      throw new ParseError(at(lineNo, L.col[0]), w0, `'${w0}' outside a table: expected '*raw', '*mangle', '*nat', '*filter' or '*security'`);
    }
    if (raw[0] === ':') {
      parseChainLine(ctx, table, L, lineNo);
      continue;
    }
    parseCommandLine(ctx, table, L, lineNo);
  }
  if (table && tableWord) {
    throw new ParseError(at(nLines + 1, 1), '', `COMMIT expected at end of file: table '${table.name}' (opened at line ${tableWord.pos.line}) is not committed`);
  }
  return ctx.rs;
}

function openTable(ctx: Ctx, name: TableName, pos: SourcePos): Table {
  let t = ctx.rs.tables.find((x) => x.name === name);
  if (t) {
    // iptables-restore flushes a table it meets again: rules and user chains go, builtin policies stay.
    t.chains = t.chains.filter((c) => c.builtin);
    for (const c of t.chains) c.rules = [];
    resetIndex(t);
    ctx.rs.approximated = ctx.rs.approximated.filter((r) => r.table !== name);
    return t;
  }
  t = { name, pos, chains: TABLE_BUILTINS[name].map((b) => ({ name: b, builtin: true, policy: 'ACCEPT' as const, counters: null, rules: [], pos })) };
  ctx.rs.tables.push(t);
  return t;
}

const U64_MAX = 0xffffffffffffffffn;

/** sscanf("%llu") of one counter: leading digits, an optional sign ("-1" wraps to 2^64-1), saturating at 2^64-1. */
export function scanU64(s: string): bigint | undefined {
  const m = /^\s*([+-]?)([0-9]+)/.exec(s);
  if (!m) return undefined;
  const v = BigInt(m[2]);
  if (v > U64_MAX) return U64_MAX;
  return m[1] === '-' ? (U64_MAX + 1n - v) & U64_MAX : v;
}

function parseCounters(text: string, file: string, lineNo: number, col: number): Counters {
  // `[0:0]` (every chain line of a dump without -c): one shared 0n (a bigint is immutable), no regex.
  if (text === '[0:0]') return { packets: 0n, bytes: 0n };
  const m = /^\[([^:\]]*):([^\]]*)\]$/.exec(text);
  const packets = m ? scanU64(m[1]) : undefined;
  const bytes = m ? scanU64(m[2]) : undefined;
  if (packets === undefined || bytes === undefined) throw new ParseError({ file, line: lineNo, column: col }, text, `bad counters '${text}' (expected [packets:bytes])`);
  return { packets, bytes };
}

/** `:CHAIN POLICY [p:b]` */
function parseChainLine(ctx: Ctx, table: Table, L: LineWords, lineNo: number): void {
  const file = ctx.file;
  const w0 = L.text[0];
  const name = w0.slice(1);
  if (name === '') throw new ParseError(wordPos(file, lineNo, L, 0), w0, "chain declaration without a chain name");
  if (name.length > MAX_CHAIN_NAME) throw new ParseError(wordPos(file, lineNo, L, 0), name, `invalid chain name '${name}' (${MAX_CHAIN_NAME} chars max)`);
  if (L.n < 2) throw new ParseError({ file, line: lineNo, column: L.col[0] + w0.length }, w0, `chain '${name}' has no policy (ACCEPT, DROP or - for a user chain)`);
  let counters: Counters | null = null;
  if (L.n > 2) counters = parseCounters(L.text[2], file, lineNo, L.col[2]);
  if (L.n > 3) throw new ParseError(wordPos(file, lineNo, L, 3), L.text[3], `unexpected '${L.text[3]}' after chain counters`);
  const builtin = (TABLE_BUILTINS[table.name] as readonly string[]).includes(name);
  const policy = L.text[1];
  if (policy !== '-' && policy !== 'ACCEPT' && policy !== 'DROP') {
    throw new ParseError(wordPos(file, lineNo, L, 1), policy, `bad policy '${policy}' for chain '${name}' (ACCEPT, DROP or -)`);
  }
  if (builtin) {
    const c = findChain(table, name)!;
    if (policy !== '-') c.policy = policy;
    c.counters = counters;
    c.pos = wordPos(file, lineNo, L, 0);
    return;
  }
  if (policy !== '-') {
    const other = TABLE_NAMES.filter((t) => (TABLE_BUILTINS[t] as readonly string[]).includes(name));
    const why = other.length ? `'${name}' is a builtin chain of ${other.join('/')}, not of table '${table.name}'` : `'${name}' is not a builtin chain of table '${table.name}'`;
    throw new ParseError(wordPos(file, lineNo, L, 1), policy, `can't set policy '${policy}' on chain '${name}': ${why} (user chains take '-')`);
  }
  if (name === 'ACCEPT' || name === 'DROP' || name === 'RETURN' || name === 'QUEUE') throw new ParseError(wordPos(file, lineNo, L, 0), name, `invalid chain name '${name}' (a builtin target)`);
  if (name.startsWith('-') || name.startsWith('!')) throw new ParseError(wordPos(file, lineNo, L, 0), name, `invalid chain name '${name}'`);
  if (!addNewChain(table, { name, builtin: false, policy: null, counters, rules: [], pos: wordPos(file, lineNo, L, 0) })) {
    throw new ParseError(wordPos(file, lineNo, L, 0), name, `chain '${name}' declared twice in table '${table.name}'`);
  }
}

/** The two words `-N NAME` stands for (`:NAME -`), reused. */
const NEW_CHAIN_WORDS = new LineWords();

/** A rule line (`[p:b] -A CHAIN ...`) or another iptables command allowed in restore input. */
function parseCommandLine(ctx: Ctx, table: Table, L: LineWords, lineNo: number): void {
  const file = ctx.file;
  const T = L.text;
  let k = 0;
  let counters: Counters | null = null;
  if (T[0].startsWith('[')) {
    counters = parseCounters(T[0], file, lineNo, L.col[0]);
    k = 1;
  }
  if (k >= L.n) throw new ParseError(wordPos(file, lineNo, L, 0), T[0], 'counters without a rule (expected -A CHAIN after them)');
  const cmd = k;
  const c = T[cmd];
  const chainWord = k + 1 < L.n ? k + 1 : -1;
  if (c === '-A' || c === '--append') {
    const cw = needChain(file, lineNo, L, cmd, chainWord);
    const chain = findAppendChain(table, T[cw]);
    if (!chain) throw new ParseError(wordPos(file, lineNo, L, cw), T[cw], `rule for undeclared chain '${T[cw]}' in table '${table.name}' (declare it with ':${T[cw]} - [0:0]')`);
    const rule = parseRule(ctx, table, chain, L, k + 2, lineNo, counters, wordPos(file, lineNo, L, 0));
    if (rule !== null) {
      appendRule(ctx, chain, rule);
      return;
    }
    for (const r of ctx.multi) appendRule(ctx, chain, r);
    return;
  }
  if (counters) throw new ParseError(wordPos(file, lineNo, L, cmd), c, `counters are only allowed before -A, not before '${c}'`);
  if (c === '-X' || c === '--delete-chain') {
    if (chainWord < 0) {
      for (const ch of table.chains.filter((x) => !x.builtin)) deleteChain(table, ch.name, wordPos(file, lineNo, L, cmd), file);
      return;
    }
    if (k + 2 < L.n) throw new ParseError(wordPos(file, lineNo, L, k + 2), T[k + 2], `unexpected '${T[k + 2]}' after '${c} ${T[chainWord]}'`);
    deleteChain(table, T[chainWord], wordPos(file, lineNo, L, chainWord), file);
    return;
  }
  if (c === '-N' || c === '--new-chain') {
    const cw = needChain(file, lineNo, L, cmd, chainWord);
    if (k + 2 < L.n) throw new ParseError(wordPos(file, lineNo, L, k + 2), T[k + 2], `unexpected '${T[k + 2]}' after '${c} ${T[cw]}'`);
    const N = NEW_CHAIN_WORDS;
    N.n = 0;
    N.push(`:${T[cw]}`, L.col[cw] - 1, false);
    N.push('-', L.col[cw], false);
    parseChainLine(ctx, table, N, lineNo);
    return;
  }
  if (c === '-P' || c === '--policy') {
    const cw = needChain(file, lineNo, L, cmd, chainWord);
    if (k + 2 >= L.n) throw new ParseError(wordPos(file, lineNo, L, cw), T[cw], `'${c} ${T[cw]}' needs a policy (ACCEPT or DROP)`);
    const pw = k + 2;
    const ch = findChain(table, T[cw]);
    if (!ch || !ch.builtin) throw new ParseError(wordPos(file, lineNo, L, cw), T[cw], `can't set policy on '${T[cw]}': not a builtin chain of table '${table.name}'`);
    if (T[pw] !== 'ACCEPT' && T[pw] !== 'DROP') throw new ParseError(wordPos(file, lineNo, L, pw), T[pw], `bad policy '${T[pw]}' (ACCEPT or DROP)`);
    if (T[pw] === 'DROP' && table.name === 'nat') throw new ParseError(wordPos(file, lineNo, L, pw), T[pw], NAT_DROP);
    ch.policy = T[pw] as 'ACCEPT' | 'DROP';
    ch.counters = null; // iptables -P without -c sets the policy with zero counters (measured)
    return;
  }
  if (c === '-F' || c === '--flush') {
    // Flush one chain, or every chain of the table; the rules' jump references go with them.
    if (k + 2 < L.n) throw new ParseError(wordPos(file, lineNo, L, k + 2), T[k + 2], `unexpected '${T[k + 2]}' after '${c} ${T[chainWord]}'`);
    const chains = chainWord >= 0 ? [findChain(table, T[chainWord])] : table.chains;
    if (chainWord >= 0 && !chains[0]) throw new ParseError(wordPos(file, lineNo, L, chainWord), T[chainWord], `${c}: no chain '${T[chainWord]}' in table '${table.name}'`);
    for (const ch of chains) ch!.rules = [];
    ctx.rs.approximated = ctx.rs.approximated.filter((r) => r.table !== table.name || findChain(table, r.chain)!.rules.includes(r));
    resetIndex(table);
    return;
  }
  if (c === '-Z' || c === '--zero') return; // accepted by iptables-restore and without effect on what it loads (measured)
  if (c.startsWith('-')) {
    throw new ParseError(wordPos(file, lineNo, L, cmd), c, `command '${c}' is not supported in a ruleset (only -A, -X, -N, -P, -F, -Z)`);
  }
  throw new ParseError(wordPos(file, lineNo, L, cmd), c, `bad line: expected '-A CHAIN ...', ':CHAIN POLICY', '*table' or 'COMMIT', found '${c}'`);
}

function appendRule(ctx: Ctx, chain: Chain, r: Rule): void {
  r.num = chain.rules.length + 1;
  chain.rules.push(r);
  if (r.approximation) ctx.rs.approximated.push(r);
}

/** The position of word w of the line. */
function wordPos(file: string, line: number, L: LineWords, w: number): SourcePos {
  return { file, line, column: L.col[w] };
}

/** The chain word after command word `cmd` (-A, -N, -P), or the error that it is missing. */
function needChain(file: string, lineNo: number, L: LineWords, cmd: number, chainWord: number): number {
  if (chainWord < 0) {
    const c = L.text[cmd];
    throw new ParseError({ file, line: lineNo, column: L.col[cmd] + c.length }, c, `'${c}' needs a chain name`);
  }
  return chainWord;
}

/** One loaded match or target instance while a rule is parsed. */
interface Loaded {
  mod: ModuleBase<unknown>;
  params: unknown;
  /** Options of this instance already given: the first, then the others (most modules get one or two options:
   *  no array for the first). */
  seen1: string | null;
  seen: string[] | null;
  kind: 'match' | 'target';
}

/** The option a module's `parse` is handed: its position is made only when asked for (errors). */
class Opt implements ModuleOption {
  name = '';
  invert = false;
  private file = '';
  private line = 0;
  private col = 0;
  /** This object, as the option `name` at (file, line, col): one Opt per parse, set for each module option (a
   *  module's parse reads it during the call only). */
  set(name: string, invert: boolean, file: string, line: number, col: number): Opt {
    this.name = name;
    this.invert = invert;
    this.file = file;
    this.line = line;
    this.col = col;
    return this;
  }
  get pos(): SourcePos { return { file: this.file, line: this.line, column: this.col }; }
}

/** The state of one rule being parsed; it is also the ArgReader the modules read their arguments through.
 *  (One object per parse, reset for each rule, instead of a closure per helper or an object per rule.) */
class RuleParse implements ArgReader {
  idx = 0;
  /** Index of the last word consumed. */
  lastWord = 0;
  rule!: Rule;
  table!: Table;
  chain!: Chain;
  lineNo = 0;
  srcs: AddrMatch[] | null = null;
  dsts: AddrMatch[] | null = null;
  /** The matches loaded so far: loaded[0 .. nLoaded), oldest first (the objects are reused from rule to rule). */
  readonly loaded: Loaded[] = [];
  nLoaded = 0;
  target: Loaded | null = null;
  implicitLoaded = false;
  approx: Rule['approximation'] = undefined;
  /** resolve()'s answer: a rule option, or a module's option. */
  rBase: BaseOpt | null = null;
  rMod: Loaded | null = null;
  rSpec: OptSpec | null = null;
  /** The option handed to the modules' parse. */
  readonly opt = new Opt();
  /** The target's Loaded (reused). */
  private readonly targetLoaded: Loaded = { mod: null!, params: null, seen1: null, seen: null, kind: 'target' };

  constructor(readonly ctx: Ctx, readonly words: LineWords) {}

  /** Start the rule of `chain` whose options are words[start..] of line lineNo. */
  reset(table: Table, chain: Chain, start: number, lineNo: number, counters: Counters | null, rulePos: SourcePos): void {
    this.table = table;
    this.chain = chain;
    this.lineNo = lineNo;
    this.idx = start;
    this.lastWord = start - 1;
    this.srcs = null;
    this.dsts = null;
    this.nLoaded = 0;
    this.nm = 0;
    this.target = null;
    this.implicitLoaded = false;
    this.approx = undefined;
    this.rBase = null;
    this.rMod = null;
    this.rSpec = null;
    this.rule = {
      table: table.name, chain: chain.name, num: 0, counters, src: null, dst: null, inIface: null, outIface: null,
      proto: null, frag: null, matches: [], target: null, pos: rulePos,
    };
  }

  /** The rule's matches so far: ms[0 .. nm) (rule.matches is set from them when the options are read). */
  readonly ms: Match[] = [];
  nm = 0;
  addMatch(m: Match): void {
    this.ms[this.nm++] = m;
  }
  /** The matches as the model keeps them: an array of exactly their number (an array grown by push from []
   *  holds 17 slots for 2 or 3 matches: ~120 bytes a rule for the young generation to copy). */
  takeMatches(): Match[] {
    const ms = this.ms;
    switch (this.nm) {
      case 0: return [];
      case 1: return [ms[0]];
      case 2: return [ms[0], ms[1]];
      case 3: return [ms[0], ms[1], ms[2]];
      case 4: return [ms[0], ms[1], ms[2], ms[3]];
      default: return ms.slice(0, this.nm);
    }
  }

  /** The loaded matches, newest first (for the rare paths that want a list). */
  loadedList(): Loaded[] {
    const out: Loaded[] = [];
    for (let i = this.nLoaded - 1; i >= 0; i--) out.push(this.loaded[i]);
    return out;
  }

  /** The target module's Loaded, fresh. */
  loadTarget(t: TargetModule): Loaded {
    const l = this.targetLoaded;
    l.mod = t as ModuleBase<unknown>;
    l.params = t.init();
    l.seen1 = null;
    l.seen = null;
    this.target = l;
    return l;
  }

  at(w: number): SourcePos {
    return { file: this.ctx.file, line: this.lineNo, column: this.words.col[w] };
  }

  // ---- ArgReader ----
  peek(): string | undefined {
    const i = this.idx;
    return i < this.words.n ? this.words.text[i] : undefined;
  }
  next(what: string): string {
    const i = this.idx;
    const L = this.words;
    if (i >= L.n) throw new ParseError(this.at(this.lastWord), L.text[this.lastWord], `option '${what}' requires an argument`);
    this.idx = i + 1;
    this.lastWord = i;
    return L.text[i];
  }
  pos(): SourcePos {
    const L = this.words;
    if (this.idx < L.n) return this.at(this.idx);
    const last = L.n - 1;
    return { file: this.ctx.file, line: this.lineNo, column: L.col[last] + L.text[last].length };
  }
  fail(message: string, pos?: SourcePos): never {
    const L = this.words;
    const p = pos ?? this.at(this.lastWord);
    let tok = L.text[this.lastWord];
    if (pos) {
      for (let i = 0; i < L.n; i++) {
        if (L.col[i] === pos.column) { tok = L.text[i]; break; }
      }
    }
    throw new ParseError(p, tok, message);
  }

  approximate(name: string, w: number, kind: 'match' | 'target'): void {
    if (this.ctx.mode === 'error') {
      throw new ParseError(this.at(w), name, `unsupported ${kind} '${name}' (use --unsupported=assume-match|assume-nomatch|skip-rule to approximate it)`);
    }
    if (!this.approx) this.approx = { module: name, mode: this.ctx.mode };
  }

  /** Words of an unsupported module: up to the next rule option or an option a loaded module knows exactly. */
  swallow(): string[] {
    const L = this.words;
    const rule = this.rule;
    const out: string[] = [];
    while (this.idx < L.n) {
      const t = L.text[this.idx];
      const t2 = t === '!' ? (this.idx + 1 < L.n ? L.text[this.idx + 1] : undefined) : t;
      if (t2 !== undefined && (BASE_SHORT.has(t2) || BASE.some((b) => b.long === t2))) break;
      const implicitMod = rule.proto && !this.implicitLoaded ? findMatch(protoName(rule.proto.proto)) : undefined;
      const knows = (m: { options: OptSpec[] }) => m.options.some((o) => o.name === t2);
      if (t2 !== undefined && t2.startsWith('--') && (this.loadedList().some((l) => knows(l.mod)) || (implicitMod && knows(implicitMod)))) break;
      out.push(t);
      this.lastWord = this.idx;
      this.idx++;
    }
    return out;
  }

  /** getopt_long's resolution of an option word; the answer in rBase or rMod/rSpec. False when unknown. */
  resolve(name: string, w: number): boolean {
    this.rBase = null;
    this.rMod = null;
    this.rSpec = null;
    if (name.charCodeAt(1) !== 45) { // not `--`: a short option (words here start with '-')
      const b = BASE_BY_SHORT.get(name);
      if (!b) return false;
      this.rBase = b;
      return true;
    }
    // getopt_long: an exact name wins (the newest module first, then the rule options); else a unique prefix.
    const target = this.target;
    const loaded = this.loaded;
    const nLoaded = this.nLoaded;
    if (target) {
      const s = optNamed(target.mod.options, name);
      if (s) { this.rMod = target; this.rSpec = s; return true; }
    }
    for (let i = nLoaded - 1; i >= 0; i--) { // newest first
      const s = optNamed(loaded[i].mod.options, name);
      if (s) { this.rMod = loaded[i]; this.rSpec = s; return true; }
    }
    const b = BASE_BY_LONG.get(name);
    if (b) { this.rBase = b; return true; }
    if (COMMANDS.includes(name)) throw new ParseError(this.at(w), name, `'${name}' is not allowed inside a rule`);
    const cands: { base?: BaseOpt; mod?: Loaded; spec?: OptSpec }[] = [];
    for (const x of BASE) if (x.long.startsWith(name)) cands.push({ base: x });
    const cmds = COMMANDS.filter((c) => c.startsWith(name));
    const newest = this.loadedList();
    for (const l of [...(target ? [target] : []), ...newest]) {
      for (const s of l.mod.options) if (s.name.startsWith(name)) cands.push({ mod: l, spec: s });
    }
    // Options getopt sees as one (same short letter, or synonyms of one module option) are not ambiguous.
    const distinct = new Set([...cands.map((c) => (c.base ? c.base.short : `${c.spec!.alias ?? c.spec!.name}@${newest.indexOf(c.mod!)}`)), ...cmds]);
    if (distinct.size > 1) {
      const names = [...new Set([...cands.map((c) => c.base?.long ?? c.spec!.name), ...cmds])].join(', ');
      throw new ParseError(this.at(w), name, `option '${name}' is ambiguous (${names})`);
    }
    if (cmds.length) throw new ParseError(this.at(w), name, `'${cmds[0]}' is not allowed inside a rule`);
    const c = cands[0];
    if (!c) return false;
    this.rBase = c.base ?? null;
    this.rMod = c.mod ?? null;
    this.rSpec = c.spec ?? null;
    return true;
  }

  loadMatch(name: string, w: number, implicit: boolean): void {
    const m = findMatch(name);
    if (!m) {
      this.approximate(name, w, 'match');
      const params: UnsupportedParams = { name, words: this.swallow(), result: this.ctx.mode === 'assume-match' };
      this.addMatch({ module: unsupportedMatch.name, params, pos: this.at(w) });
      return;
    }
    let l = this.loaded[this.nLoaded];
    if (l === undefined) {
      l = { mod: m as ModuleBase<unknown>, params: m.init(), seen1: null, seen: null, kind: 'match' };
      this.loaded.push(l);
    } else {
      l.mod = m as ModuleBase<unknown>;
      l.params = m.init();
      l.seen1 = null;
      l.seen = null;
    }
    this.nLoaded++;
    const match: Match = { module: m.name, params: l.params, pos: this.at(w) };
    if (implicit) match.implicit = true;
    this.addMatch(match);
  }
}

function parseRule(ctx: Ctx, table: Table, chain: Chain, words: LineWords, start: number, lineNo: number,
  counters: Counters | null, rulePos: SourcePos): Rule | null {
  const S = ctx.rp ??= new RuleParse(ctx, words);
  S.reset(table, chain, start, lineNo, counters, rulePos);
  const rule = S.rule;
  let invert = -1; // index of a pending `!`, or -1
  let seenBase = 0; // BaseOpt.bit of the rule options given

  while (S.idx < words.n) {
    const w = S.idx;
    S.idx++;
    S.lastWord = w;
    const text = words.text[w];
    const quoted = words.quoted[w] !== 0;
    if (text === '!' && !quoted) {
      if (invert >= 0) throw new ParseError(S.at(w), '!', "multiple '!' flags not allowed");
      invert = w;
      continue;
    }
    if (text.charCodeAt(0) !== 45 || text === '-' || quoted) { // not starting with '-'
      throw new ParseError(S.at(w), text, `bad argument '${text}' (expected an option)`);
    }
    if (NOT_IN_RULE.has(text)) {
      throw new ParseError(S.at(w), text, `'${text}' is not allowed inside a rule`);
    }
    let r = S.resolve(text, w);
    if (!r && rule.proto && !S.implicitLoaded) {
      // iptables loads the match named after -p (tcp, udp, icmp, sctp) when an option is unknown, then retries.
      const pn = protoName(rule.proto!.proto);
      if (findMatch(pn) && ['tcp', 'udp', 'icmp', 'sctp'].includes(pn)) {
        S.implicitLoaded = true;
        S.loadMatch(pn, w, true);
        S.ms[S.nm - 1].pos = S.at(w);
        r = S.resolve(text, w);
      }
    }
    if (!r) throw new ParseError(S.at(w), text, `unknown option '${text}'${ownerHint(text)}`);
    const inv = invert;
    invert = -1;
    const b = S.rBase;
    if (b) {
      if (inv >= 0 && !b.invert) throw new ParseError(S.at(inv), '!', `'!' is not allowed before '${text}'`);
      if ((seenBase & b.bit) !== 0 && b.short !== '-m') {
        throw new ParseError(S.at(w), text, `multiple ${b.short} flags not allowed`);
      }
      seenBase |= b.bit;
      const invb = inv >= 0;
      switch (b.short) {
        case '-s': case '-d': {
          const list = parseAddrList(S, text, invb);
          if (list && list.length > 1 && inv >= 0) throw new ParseError(S.at(inv), '!', '! not allowed with multiple source or destination IP addresses');
          if (b.short === '-s') S.srcs = list; else S.dsts = list;
          break;
        }
        case '-p': {
          const v = S.next(text);
          const n = parseProto(v);
          if (n === undefined) S.fail(`unknown protocol '${v}'`);
          if (n === 0 && invb) S.fail("rule would never match protocol ('! -p all')");
          rule.proto = n === 0 ? null : { proto: n, invert: invb } as ProtoMatch;
          break;
        }
        case '-i': case '-o': {
          const v = S.next(text);
          if (Buffer.byteLength(v) >= IFNAMSIZ) S.fail(`interface name '${v}' must be shorter than IFNAMSIZ (${IFNAMSIZ - 1})`);
          if (v === '') S.fail(`empty interface name for ${text}`);
          const m: IfaceMatch = { name: v, invert: invb };
          if (b.short === '-i') {
            if (['OUTPUT', 'POSTROUTING'].includes(chain.name)) throw new ParseError(S.at(w), text, `can't use -i with ${chain.name}`);
            rule.inIface = m;
          } else {
            if (['PREROUTING', 'INPUT'].includes(chain.name)) throw new ParseError(S.at(w), text, `can't use -o with ${chain.name}`);
            rule.outIface = m;
          }
          break;
        }
        case '-f':
          rule.frag = { invert: invb };
          break;
        case '-c': {
          const pk = S.next(text);
          const by = S.next(text);
          // sscanf("%llu"): leading digits count, the rest is ignored ("-c 10 192.0.2.1" is 10 packets, 192 bytes).
          const pc = scanU64(pk);
          const bc = scanU64(by);
          if (pc === undefined) throw new ParseError(S.at(S.idx - 2), pk, `-c packet counter '${pk}' not numeric`);
          if (bc === undefined) S.fail(`-c byte counter '${by}' not numeric`);
          rule.counters = { packets: pc, bytes: bc! };
          break;
        }
        case '-m': {
          const nw = S.idx;
          const name = S.next(text);
          S.loadMatch(name, nw, false);
          break;
        }
        case '-j': case '-g': {
          const nw = S.idx;
          const name = S.next(text);
          const goto = b.short === '-g';
          if ((seenBase & (goto ? BIT_J : BIT_G)) !== 0) throw new ParseError(S.at(w), text, 'cannot use both -j and -g');
          if (name === '') S.fail(`empty target name after ${text}`);
          const isChain = findJumpChain(table, name);
          if (isChain) {
            if (isChain.builtin) throw new ParseError(S.at(nw), name, `cannot jump to builtin chain '${name}'`);
            rule.target = new JumpTarget(isChain, goto, S.at(nw)); // (chain: the declared name's string)
            break;
          }
          if (name === 'ACCEPT' || name === 'DROP' || name === 'RETURN') {
            if (goto) throw new ParseError(S.at(nw), name, `-g needs a user chain, not '${name}'`);
            if (name === 'DROP' && table.name === 'nat') throw new ParseError(S.at(nw), name, NAT_DROP);
            rule.target = { kind: 'verdict', verdict: name, pos: S.at(nw) };
            break;
          }
          const t = findTarget(name);
          if (t && !goto) {
            rule.target = { kind: 'module', module: t.name, params: S.loadTarget(t).params, pos: S.at(nw) };
            break;
          }
          if (!goto && (KNOWN_UNSUPPORTED_TARGETS.has(name))) {
            S.approximate(name, nw, 'target');
            const params: UnsupportedParams = { name, words: S.swallow(), result: ctx.mode === 'assume-match' };
            rule.target = { kind: 'module', module: unsupportedTarget.name, params, pos: S.at(nw) };
            break;
          }
          throw new ParseError(S.at(nw), name, `${goto ? 'goto' : 'jump'} to undeclared chain '${name}' in table '${table.name}'`);
        }
      }
      continue;
    }
    // A module option.
    const l = S.rMod!;
    const spec = S.rSpec!;
    if (inv >= 0 && !spec.invert) throw new ParseError(S.at(inv), '!', `'!' is not allowed before '${spec.name}'`);
    if (l.seen1 === spec.name || (l.seen !== null && l.seen.includes(spec.name))) {
      throw new ParseError(S.at(w), text, `${l.mod.name}: option '${spec.name}' given twice`);
    }
    if (l.seen1 === null) l.seen1 = spec.name;
    else if (l.seen === null) l.seen = [spec.name];
    else l.seen.push(spec.name);
    const handled = l.mod.parse(l.params, S.opt.set(spec.name, inv >= 0, ctx.file, lineNo, words.col[w]), S);
    if (!handled) throw new ParseError(S.at(w), text, `${l.mod.name}: option '${spec.name}' is not supported`);
  }
  if (invert >= 0) throw new ParseError(S.at(invert), '!', "'!' at the end of the rule (it must come before an option)");

  // Checks after all options (iptables final checks and the kernel's checkentry).
  const matches = rule.matches = S.takeMatches();
  for (let i = 0; i < matches.length; i++) {
    const m = matches[i];
    if (m.module === unsupportedMatch.name) continue;
    const mod = findMatch(m.module) as MatchModule;
    if (mod.requiresProto) {
      const ok = rule.proto && !rule.proto.invert && mod.requiresProto.includes(rule.proto.proto);
      if (!ok) {
        const need = mod.requiresProto.length === 1 ? `-p ${protoName(mod.requiresProto[0])}` : `-p ${mod.requiresProto.slice(0, 3).map(protoName).join('|')}`;
        throw new ParseError(m.pos, matchToken(m, words), `match '${m.module}' needs '${need}' (the kernel refuses it for ${rule.proto ? `${rule.proto.invert ? '! ' : ''}-p ${protoName(rule.proto.proto)}` : 'any protocol'})`);
      }
    }
    if (mod.finalCheck) mod.finalCheck(m.params, rule, failAt(m.pos, matchToken(m, words)));
  }
  if (rule.target && rule.target.kind === 'module' && rule.target.module !== unsupportedTarget.name) {
    const t = findTarget(rule.target.module) as TargetModule;
    const tp = rule.target.pos;
    if (t.tables && !t.tables.includes(table.name)) {
      throw new ParseError(tp, t.name, `target '${t.name}' is only valid in the ${t.tables.join('/')} table, not in '${table.name}'`);
    }
    if (t.finalCheck) t.finalCheck(rule.target.params, rule, failAt(tp, t.name));
  }
  if (S.approx) rule.approximation = S.approx;

  // -s a,b -d c,d: iptables adds one rule per (source, destination) pair, sources outermost.
  const srcs = S.srcs;
  const dsts = S.dsts;
  if ((!srcs || srcs.length === 1) && (!dsts || dsts.length === 1)) {
    rule.src = srcs ? srcs[0] : null;
    rule.dst = dsts ? dsts[0] : null;
    return rule;
  }
  const out: Rule[] = ctx.multi = [];
  for (const s of srcs ?? [null]) {
    for (const d of dsts ?? [null]) {
      out.push({ ...rule, src: s, dst: d, matches: rule.matches, target: rule.target as Target | null });
    }
  }
  return null;
}

/** The token a match's final-check error names: the module name, or for an implicit match the option word that
 *  loaded it. */
function matchToken(m: Match, words: LineWords): string {
  if (!m.implicit) return m.module;
  for (let i = 0; i < words.n; i++) if (words.col[i] === m.pos.column) return words.text[i];
  return m.module;
}

/** A `fail` for a final check: throws at `pos`, naming `tok` (a closure made only for modules that check). */
function failAt(pos: SourcePos, tok: string): (msg: string) => never {
  return (msg: string): never => { throw new ParseError(pos, tok, msg); };
}

/** ' (an option of -m tcp, -m udp, ...)' when known modules have the option, for "unknown option" errors. */
function ownerHint(opt: string): string {
  const owners = [...MATCHES.filter((m) => m.options.some((o) => o.name === opt)).map((m) => `-m ${m.name}`),
    ...TARGETS.filter((t) => t.options.some((o) => o.name === opt)).map((t) => `-j ${t.name}`)];
  return owners.length ? ` (an option of ${owners.join(', ')}, not loaded at this point)` : '';
}

/** -s/-d value: `addr[/mask][,addr[/mask]...]`; 0.0.0.0/0 without `!` is no test at all (kept as null). */
function parseAddrList(args: ArgReader, opt: string, invert: boolean): AddrMatch[] | null {
  const v = args.next(opt);
  if (v.indexOf(',') < 0) { // one address (no array from split)
    const r = parseAddrMask(v);
    if (typeof r === 'string') args.fail(r);
    const prefix = maskToPrefix(r.mask);
    if (prefix < 0) args.fail(`non-contiguous mask in '${v}' is not supported`);
    if (prefix === 0 && !invert) return null;
    return [{ addr: r.addr, prefix, invert }];
  }
  const out: AddrMatch[] = [];
  for (const part of v.split(',')) {
    const r = parseAddrMask(part);
    if (typeof r === 'string') args.fail(r);
    const prefix = maskToPrefix(r.mask);
    if (prefix < 0) args.fail(`non-contiguous mask in '${part}' is not supported`);
    out.push({ addr: r.addr, prefix, invert });
  }
  if (out.length === 1 && out[0].prefix === 0 && !invert) return null;
  return out;
}
