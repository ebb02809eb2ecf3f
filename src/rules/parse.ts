// iptables-save / iptables-restore text -> the typed model (src/rules/model.ts).
// Follows iptables-restore (legacy, v1.8.x): line kinds, add_param_to_argv quoting, getopt_long option
// resolution (unique prefixes; the newest loaded module's option wins), implicit `-p tcp` match loading,
// and the checks iptables and the kernel make when the table is committed (src/rules/validate.ts).
import type { AddrMatch, Chain, Counters, IfaceMatch, Match, ProtoMatch, Rule, Ruleset, SourcePos, Table, TableName, Target } from './model.js';
import { TABLE_BUILTINS, TABLE_NAMES } from './model.js';
import { ParseError } from './errors.js';
import { splitWords, type Word } from './lex.js';
import { parseAddrMask, maskToPrefix } from './util.js';
import { parseProto, protoName } from './protocols.js';
import { findMatch, findTarget, KNOWN_UNSUPPORTED_TARGETS, MATCHES, TARGETS, unsupportedMatch, unsupportedTarget } from './modules/index.js';
import type { ArgReader, MatchModule, ModuleBase, OptSpec, TargetModule } from './modules/types.js';
import type { UnsupportedParams } from './modules/unsupported.js';
import { validateTable, deleteChain } from './validate.js';
import { findChain, addChain, noteRuleAdded, resetIndex } from './chains.js';

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
interface BaseOpt { long: string; short: string; arg: boolean; invert: boolean }
const BASE: BaseOpt[] = [
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

interface Ctx {
  file: string;
  mode: UnsupportedMode;
  rs: Ruleset;
}

export function parseRuleset(text: string, file: string, opts: ParseOptions = {}): Ruleset {
  const ctx: Ctx = { file, mode: opts.unsupported ?? 'error', rs: { file, tables: [], approximated: [] } };
  // Lines are read one at a time (no array of all 200,000+ line strings that would outlive several
  // scavenges): the same lines as text.split('\n') without a trailing empty one.
  let nLines = 0;
  let from = 0;
  let table: Table | null = null;
  let tableWord: { pos: SourcePos; text: string } | null = null;
  const at = (line: number, col: number): SourcePos => ({ file, line, column: col });

  while (from < text.length) {
    const nl = text.indexOf('\n', from);
    const raw = text.slice(from, nl < 0 ? text.length : nl);
    from = nl < 0 ? text.length : nl + 1;
    const lineNo = ++nLines;
    if (raw.startsWith('#')) continue;
    if (raw === '') continue;
    const cr = raw.indexOf('\r');
    if (cr >= 0) throw new ParseError(at(lineNo, cr + 1), '\r', 'carriage return in the line (CRLF line endings?): iptables-restore would refuse it');
    if (raw.trim() === '') throw new ParseError(at(lineNo, 1), raw, 'line of only blanks: iptables-restore refuses it (no command specified)');
    const words = splitWords(raw, file, lineNo);
    const w0 = words[0];
    const p0 = at(lineNo, w0.col);
    if (raw[0] === '*') {
      if (table) throw new ParseError(p0, w0.text, `COMMIT expected before '${w0.text}' (table '${table.name}' opened at line ${table.pos.line} is not committed)`);
      const name = raw.slice(1).trim();
      if (words.length > 1) throw new ParseError(at(lineNo, words[1].col), words[1].text, `unexpected '${words[1].text}' after table name`);
      if (!(TABLE_NAMES as readonly string[]).includes(name)) {
        throw new ParseError(p0, w0.text, `unknown table '${name}' (raw, mangle, nat, filter or security)`);
      }
      table = openTable(ctx, name as TableName, p0);
      tableWord = { pos: p0, text: w0.text };
      continue;
    }
    if (raw === 'COMMIT' && nl < 0) { // the last line, and the text does not end with a newline
      throw new ParseError(p0, 'COMMIT', "'COMMIT' at the end of the file needs a newline after it (iptables-restore reads it as a rule)");
    }
    if (raw === 'COMMIT') {
      if (!table) throw new ParseError(p0, w0.text, "'COMMIT' outside a table (no '*table' line before it)");
      validateTable(table, file);
      table = null;
      continue;
    }
    if (!table) {
      throw new ParseError(p0, w0.text, `'${w0.text}' outside a table: expected '*raw', '*mangle', '*nat', '*filter' or '*security'`);
    }
    if (raw[0] === ':') {
      parseChainLine(ctx, table, words, lineNo);
      continue;
    }
    parseCommandLine(ctx, table, words, lineNo);
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

function parseCounters(w: Word, pos: SourcePos): Counters {
  const m = /^\[([^:\]]*):([^\]]*)\]$/.exec(w.text);
  const packets = m ? scanU64(m[1]) : undefined;
  const bytes = m ? scanU64(m[2]) : undefined;
  if (packets === undefined || bytes === undefined) throw new ParseError(pos, w.text, `bad counters '${w.text}' (expected [packets:bytes])`);
  return { packets, bytes };
}

/** `:CHAIN POLICY [p:b]` */
function parseChainLine(ctx: Ctx, table: Table, words: Word[], lineNo: number): void {
  const at = (w: Word): SourcePos => ({ file: ctx.file, line: lineNo, column: w.col });
  const w0 = words[0];
  const name = w0.text.slice(1);
  if (name === '') throw new ParseError(at(w0), w0.text, "chain declaration without a chain name");
  if (name.length > MAX_CHAIN_NAME) throw new ParseError(at(w0), name, `invalid chain name '${name}' (${MAX_CHAIN_NAME} chars max)`);
  const pw = words[1];
  if (!pw) throw new ParseError({ file: ctx.file, line: lineNo, column: w0.col + w0.text.length }, w0.text, `chain '${name}' has no policy (ACCEPT, DROP or - for a user chain)`);
  let counters: Counters | null = null;
  if (words[2]) counters = parseCounters(words[2], at(words[2]));
  if (words[3]) throw new ParseError(at(words[3]), words[3].text, `unexpected '${words[3].text}' after chain counters`);
  const builtin = (TABLE_BUILTINS[table.name] as readonly string[]).includes(name);
  const policy = pw.text;
  if (policy !== '-' && policy !== 'ACCEPT' && policy !== 'DROP') {
    throw new ParseError(at(pw), policy, `bad policy '${policy}' for chain '${name}' (ACCEPT, DROP or -)`);
  }
  if (builtin) {
    const c = findChain(table, name)!;
    if (policy !== '-') c.policy = policy;
    c.counters = counters;
    c.pos = at(w0);
    return;
  }
  if (policy !== '-') {
    const other = TABLE_NAMES.filter((t) => (TABLE_BUILTINS[t] as readonly string[]).includes(name));
    const why = other.length ? `'${name}' is a builtin chain of ${other.join('/')}, not of table '${table.name}'` : `'${name}' is not a builtin chain of table '${table.name}'`;
    throw new ParseError(at(pw), policy, `can't set policy '${policy}' on chain '${name}': ${why} (user chains take '-')`);
  }
  if (['ACCEPT', 'DROP', 'RETURN', 'QUEUE'].includes(name)) throw new ParseError(at(w0), name, `invalid chain name '${name}' (a builtin target)`);
  if (name.startsWith('-') || name.startsWith('!')) throw new ParseError(at(w0), name, `invalid chain name '${name}'`);
  if (findChain(table, name)) {
    throw new ParseError(at(w0), name, `chain '${name}' declared twice in table '${table.name}'`);
  }
  addChain(table, { name, builtin: false, policy: null, counters, rules: [], pos: at(w0) });
}

/** A rule line (`[p:b] -A CHAIN ...`) or another iptables command allowed in restore input. */
function parseCommandLine(ctx: Ctx, table: Table, words: Word[], lineNo: number): void {
  const at = (w: Word): SourcePos => ({ file: ctx.file, line: lineNo, column: w.col });
  let k = 0;
  let counters: Counters | null = null;
  if (words[0].text.startsWith('[')) {
    counters = parseCounters(words[0], at(words[0]));
    k = 1;
  }
  const cmd = words[k];
  if (!cmd) throw new ParseError(at(words[0]), words[0].text, 'counters without a rule (expected -A CHAIN after them)');
  const c = cmd.text;
  const chainWord = words[k + 1];
  const needChain = (): Word => {
    if (!chainWord) throw new ParseError({ file: ctx.file, line: lineNo, column: cmd.col + c.length }, c, `'${c}' needs a chain name`);
    return chainWord;
  };
  if (c === '-A' || c === '--append') {
    const cw = needChain();
    const chain = findChain(table, cw.text);
    if (!chain) throw new ParseError(at(cw), cw.text, `rule for undeclared chain '${cw.text}' in table '${table.name}' (declare it with ':${cw.text} - [0:0]')`);
    const rules = parseRule(ctx, table, chain, words, k + 2, lineNo, counters, at(words[0]));
    for (const r of rules) {
      r.num = chain.rules.length + 1;
      chain.rules.push(r);
      noteRuleAdded(table, r);
      if (r.approximation) ctx.rs.approximated.push(r);
    }
    return;
  }
  if (counters) throw new ParseError(at(cmd), c, `counters are only allowed before -A, not before '${c}'`);
  if (c === '-X' || c === '--delete-chain') {
    if (!chainWord) {
      for (const ch of table.chains.filter((x) => !x.builtin)) deleteChain(table, ch.name, at(cmd), ctx.file);
      return;
    }
    if (words[k + 2]) throw new ParseError(at(words[k + 2]), words[k + 2].text, `unexpected '${words[k + 2].text}' after '${c} ${chainWord.text}'`);
    deleteChain(table, chainWord.text, at(chainWord), ctx.file);
    return;
  }
  if (c === '-N' || c === '--new-chain') {
    const cw = needChain();
    if (words[k + 2]) throw new ParseError(at(words[k + 2]), words[k + 2].text, `unexpected '${words[k + 2].text}' after '${c} ${cw.text}'`);
    parseChainLine(ctx, table, [{ text: `:${cw.text}`, col: cw.col - 1, quoted: false }, { text: '-', col: cw.col, quoted: false }], lineNo);
    return;
  }
  if (c === '-P' || c === '--policy') {
    const cw = needChain();
    const pw = words[k + 2];
    if (!pw) throw new ParseError(at(cw), cw.text, `'${c} ${cw.text}' needs a policy (ACCEPT or DROP)`);
    const ch = findChain(table, cw.text);
    if (!ch || !ch.builtin) throw new ParseError(at(cw), cw.text, `can't set policy on '${cw.text}': not a builtin chain of table '${table.name}'`);
    if (pw.text !== 'ACCEPT' && pw.text !== 'DROP') throw new ParseError(at(pw), pw.text, `bad policy '${pw.text}' (ACCEPT or DROP)`);
    if (pw.text === 'DROP' && table.name === 'nat') throw new ParseError(at(pw), pw.text, NAT_DROP);
    ch.policy = pw.text;
    ch.counters = null; // iptables -P without -c sets the policy with zero counters (measured)
    return;
  }
  if (c === '-F' || c === '--flush') {
    // Flush one chain, or every chain of the table; the rules' jump references go with them.
    if (words[k + 2]) throw new ParseError(at(words[k + 2]), words[k + 2].text, `unexpected '${words[k + 2].text}' after '${c} ${chainWord!.text}'`);
    const chains = chainWord ? [findChain(table, chainWord.text)] : table.chains;
    if (chainWord && !chains[0]) throw new ParseError(at(chainWord), chainWord.text, `${c}: no chain '${chainWord.text}' in table '${table.name}'`);
    for (const ch of chains) ch!.rules = [];
    ctx.rs.approximated = ctx.rs.approximated.filter((r) => r.table !== table.name || findChain(table, r.chain)!.rules.includes(r));
    resetIndex(table);
    return;
  }
  if (c === '-Z' || c === '--zero') return; // accepted by iptables-restore and without effect on what it loads (measured)
  if (c.startsWith('-')) {
    throw new ParseError(at(cmd), c, `command '${c}' is not supported in a ruleset (only -A, -X, -N, -P, -F, -Z)`);
  }
  throw new ParseError(at(cmd), c, `bad line: expected '-A CHAIN ...', ':CHAIN POLICY', '*table' or 'COMMIT', found '${c}'`);
}

/** One loaded match or target instance while a rule is parsed. */
interface Loaded {
  mod: ModuleBase<unknown>;
  params: unknown;
  pos: SourcePos;
  seen: Set<string>;
  kind: 'match' | 'target';
}

interface Resolved { base?: BaseOpt; mod?: Loaded; spec?: OptSpec }

function parseRule(ctx: Ctx, table: Table, chain: Chain, words: Word[], start: number, lineNo: number,
  counters: Counters | null, rulePos: SourcePos): Rule[] {
  const file = ctx.file;
  const at = (w: Word): SourcePos => ({ file, line: lineNo, column: w.col });
  const endPos = (): SourcePos => {
    const last = words[words.length - 1];
    return { file, line: lineNo, column: last.col + last.text.length };
  };
  let idx = start;
  let lastWord: Word = words[start - 1];

  const args: ArgReader = {
    peek: () => words[idx]?.text,
    next(what: string): string {
      const w = words[idx];
      if (!w) throw new ParseError(at(lastWord), lastWord.text, `option '${what}' requires an argument`);
      idx++;
      lastWord = w;
      return w.text;
    },
    pos: () => (words[idx] ? at(words[idx]) : endPos()),
    fail(message: string, pos?: SourcePos): never {
      const p = pos ?? at(lastWord);
      const tok = pos ? (words.find((w) => w.col === pos.column)?.text ?? lastWord.text) : lastWord.text;
      throw new ParseError(p, tok, message);
    },
  };

  const rule: Rule = {
    table: table.name, chain: chain.name, num: 0, counters, src: null, dst: null, inIface: null, outIface: null,
    proto: null, frag: null, matches: [], target: null, pos: rulePos,
  };
  let srcs: AddrMatch[] | null = null;
  let dsts: AddrMatch[] | null = null;
  const loaded: Loaded[] = []; // newest first
  let target: Loaded | null = null;
  let implicitLoaded = false;
  let invert: Word | null = null;
  const seenBase = new Set<string>();
  let approx: Rule['approximation'];

  const approximate = (name: string, w: Word, kind: 'match' | 'target'): void => {
    if (ctx.mode === 'error') {
      throw new ParseError(at(w), name, `unsupported ${kind} '${name}' (use --unsupported=assume-match|assume-nomatch|skip-rule to approximate it)`);
    }
    if (!approx) approx = { module: name, mode: ctx.mode };
  };

  /** Words of an unsupported module: up to the next rule option or an option a loaded module knows exactly. */
  const swallow = (): string[] => {
    const out: string[] = [];
    while (idx < words.length) {
      const t = words[idx].text;
      const t2 = t === '!' ? words[idx + 1]?.text : t;
      if (t2 !== undefined && (BASE_SHORT.has(t2) || BASE.some((b) => b.long === t2))) break;
      const implicitMod = rule.proto && !implicitLoaded ? findMatch(protoName(rule.proto.proto)) : undefined;
      const knows = (m: { options: OptSpec[] }) => m.options.some((o) => o.name === t2);
      if (t2 !== undefined && t2.startsWith('--') && (loaded.some((l) => knows(l.mod)) || (implicitMod && knows(implicitMod)))) break;
      out.push(t);
      lastWord = words[idx];
      idx++;
    }
    return out;
  };

  const resolve = (name: string, w: Word): Resolved | null => {
    if (!name.startsWith('--')) {
      const b = BASE_BY_SHORT.get(name);
      return b ? { base: b } : null;
    }
    // getopt_long: an exact name wins (the newest module first, then the rule options); else a unique prefix.
    if (target) {
      const s = optNamed(target.mod.options, name);
      if (s) return { mod: target, spec: s };
    }
    for (let i = 0; i < loaded.length; i++) {
      const s = optNamed(loaded[i].mod.options, name);
      if (s) return { mod: loaded[i], spec: s };
    }
    const b = BASE_BY_LONG.get(name);
    if (b) return { base: b };
    if (COMMANDS.includes(name)) throw new ParseError(at(w), name, `'${name}' is not allowed inside a rule`);
    const cands: Resolved[] = [];
    for (const x of BASE) if (x.long.startsWith(name)) cands.push({ base: x });
    const cmds = COMMANDS.filter((c) => c.startsWith(name));
    for (const l of [...(target ? [target] : []), ...loaded]) {
      for (const s of l.mod.options) if (s.name.startsWith(name)) cands.push({ mod: l, spec: s });
    }
    // Options getopt sees as one (same short letter, or synonyms of one module option) are not ambiguous.
    const distinct = new Set([...cands.map((c) => (c.base ? c.base.short : `${c.spec!.alias ?? c.spec!.name}@${loaded.indexOf(c.mod!)}`)), ...cmds]);
    if (distinct.size > 1) {
      const names = [...new Set([...cands.map((c) => c.base?.long ?? c.spec!.name), ...cmds])].join(', ');
      throw new ParseError(at(w), name, `option '${name}' is ambiguous (${names})`);
    }
    if (cmds.length) throw new ParseError(at(w), name, `'${cmds[0]}' is not allowed inside a rule`);
    return cands[0] ?? null;
  };

  const loadMatch = (name: string, w: Word, implicit: boolean): void => {
    const m = findMatch(name);
    if (!m) {
      approximate(name, w, 'match');
      const params: UnsupportedParams = { name, words: swallow(), result: ctx.mode === 'assume-match' };
      rule.matches.push({ module: unsupportedMatch.name, params, pos: at(w) });
      return;
    }
    const l: Loaded = { mod: m as ModuleBase<unknown>, params: m.init(), pos: at(w), seen: new Set(), kind: 'match' };
    loaded.unshift(l);
    const match: Match = { module: m.name, params: l.params, pos: at(w) };
    if (implicit) match.implicit = true;
    rule.matches.push(match);
  };

  while (idx < words.length) {
    const w = words[idx];
    idx++;
    lastWord = w;
    if (w.text === '!' && !w.quoted) {
      if (invert) throw new ParseError(at(w), '!', "multiple '!' flags not allowed");
      invert = w;
      continue;
    }
    if (!w.text.startsWith('-') || w.text === '-' || w.quoted) {
      throw new ParseError(at(w), w.text, `bad argument '${w.text}' (expected an option)`);
    }
    if (NOT_IN_RULE.has(w.text)) {
      throw new ParseError(at(w), w.text, `'${w.text}' is not allowed inside a rule`);
    }
    let r = resolve(w.text, w);
    if (!r && rule.proto && !implicitLoaded) {
      // iptables loads the match named after -p (tcp, udp, icmp, sctp) when an option is unknown, then retries.
      const pn = protoName(rule.proto!.proto);
      if (findMatch(pn) && ['tcp', 'udp', 'icmp', 'sctp'].includes(pn)) {
        implicitLoaded = true;
        loadMatch(pn, w, true);
        rule.matches[rule.matches.length - 1].pos = at(w);
        r = resolve(w.text, w);
      }
    }
    if (!r) throw new ParseError(at(w), w.text, `unknown option '${w.text}'${ownerHint(w.text)}`);
    const inv = invert;
    invert = null;
    if (r.base) {
      const b = r.base;
      if (inv && !b.invert) throw new ParseError(at(inv), '!', `'!' is not allowed before '${w.text}'`);
      if (seenBase.has(b.short) && b.short !== '-m') {
        throw new ParseError(at(w), w.text, `multiple ${b.short} flags not allowed`);
      }
      seenBase.add(b.short);
      const invb = !!inv;
      switch (b.short) {
        case '-s': case '-d': {
          const list = parseAddrList(args, w.text, invb);
          if (list && list.length > 1 && inv) throw new ParseError(at(inv), '!', '! not allowed with multiple source or destination IP addresses');
          if (b.short === '-s') srcs = list; else dsts = list;
          break;
        }
        case '-p': {
          const v = args.next(w.text);
          const n = parseProto(v);
          if (n === undefined) args.fail(`unknown protocol '${v}'`);
          if (n === 0 && invb) args.fail("rule would never match protocol ('! -p all')");
          rule.proto = n === 0 ? null : { proto: n, invert: invb } as ProtoMatch;
          break;
        }
        case '-i': case '-o': {
          const v = args.next(w.text);
          if (Buffer.byteLength(v) >= IFNAMSIZ) args.fail(`interface name '${v}' must be shorter than IFNAMSIZ (${IFNAMSIZ - 1})`);
          if (v === '') args.fail(`empty interface name for ${w.text}`);
          const m: IfaceMatch = { name: v, invert: invb };
          if (b.short === '-i') {
            if (['OUTPUT', 'POSTROUTING'].includes(chain.name)) throw new ParseError(at(w), w.text, `can't use -i with ${chain.name}`);
            rule.inIface = m;
          } else {
            if (['PREROUTING', 'INPUT'].includes(chain.name)) throw new ParseError(at(w), w.text, `can't use -o with ${chain.name}`);
            rule.outIface = m;
          }
          break;
        }
        case '-f':
          rule.frag = { invert: invb };
          break;
        case '-c': {
          const pk = args.next(w.text);
          const by = args.next(w.text);
          // sscanf("%llu"): leading digits count, the rest is ignored ("-c 10 192.0.2.1" is 10 packets, 192 bytes).
          const pc = scanU64(pk);
          const bc = scanU64(by);
          if (pc === undefined) throw new ParseError(at(words[idx - 2]), pk, `-c packet counter '${pk}' not numeric`);
          if (bc === undefined) args.fail(`-c byte counter '${by}' not numeric`);
          rule.counters = { packets: pc, bytes: bc! };
          break;
        }
        case '-m': {
          const nw = words[idx];
          const name = args.next(w.text);
          loadMatch(name, nw, false);
          break;
        }
        case '-j': case '-g': {
          const nw = words[idx];
          const name = args.next(w.text);
          const goto = b.short === '-g';
          if (seenBase.has(goto ? '-j' : '-g')) throw new ParseError(at(w), w.text, 'cannot use both -j and -g');
          if (name === '') args.fail(`empty target name after ${w.text}`);
          const isChain = findChain(table, name);
          if (isChain) {
            if (isChain.builtin) throw new ParseError(at(nw), name, `cannot jump to builtin chain '${name}'`);
            rule.target = { kind: 'jump', chain: isChain.name, goto, pos: at(nw) }; // the declared name's string: equal text, and lookups by it compare pointers
            break;
          }
          if (name === 'ACCEPT' || name === 'DROP' || name === 'RETURN') {
            if (goto) throw new ParseError(at(nw), name, `-g needs a user chain, not '${name}'`);
            if (name === 'DROP' && table.name === 'nat') throw new ParseError(at(nw), name, NAT_DROP);
            rule.target = { kind: 'verdict', verdict: name, pos: at(nw) };
            break;
          }
          const t = findTarget(name);
          if (t && !goto) {
            target = { mod: t as ModuleBase<unknown>, params: t.init(), pos: at(nw), seen: new Set(), kind: 'target' };
            rule.target = { kind: 'module', module: t.name, params: target.params, pos: at(nw) };
            break;
          }
          if (!goto && (KNOWN_UNSUPPORTED_TARGETS.has(name))) {
            approximate(name, nw, 'target');
            const params: UnsupportedParams = { name, words: swallow(), result: ctx.mode === 'assume-match' };
            rule.target = { kind: 'module', module: unsupportedTarget.name, params, pos: at(nw) };
            break;
          }
          throw new ParseError(at(nw), name, `${goto ? 'goto' : 'jump'} to undeclared chain '${name}' in table '${table.name}'`);
        }
      }
      continue;
    }
    // A module option.
    const l = r.mod!;
    const spec = r.spec!;
    if (inv && !spec.invert) throw new ParseError(at(inv), '!', `'!' is not allowed before '${spec.name}'`);
    if (l.seen.has(spec.name)) throw new ParseError(at(w), w.text, `${l.mod.name}: option '${spec.name}' given twice`);
    l.seen.add(spec.name);
    const handled = l.mod.parse(l.params, { name: spec.name, invert: !!inv, pos: at(w) }, args);
    if (!handled) throw new ParseError(at(w), w.text, `${l.mod.name}: option '${spec.name}' is not supported`);
  }
  if (invert) throw new ParseError(at(invert), '!', "'!' at the end of the rule (it must come before an option)");

  // Checks after all options (iptables final checks and the kernel's checkentry).
  const failAt = (pos: SourcePos, tok: string) => (msg: string): never => { throw new ParseError(pos, tok, msg); };
  for (const m of rule.matches) {
    if (m.module === unsupportedMatch.name) continue;
    const mod = findMatch(m.module) as MatchModule;
    const tok = m.implicit ? words.find((x) => x.col === m.pos.column)?.text ?? m.module : m.module;
    if (mod.requiresProto) {
      const ok = rule.proto && !rule.proto.invert && mod.requiresProto.includes(rule.proto.proto);
      if (!ok) {
        const need = mod.requiresProto.length === 1 ? `-p ${protoName(mod.requiresProto[0])}` : `-p ${mod.requiresProto.slice(0, 3).map(protoName).join('|')}`;
        throw new ParseError(m.pos, tok, `match '${m.module}' needs '${need}' (the kernel refuses it for ${rule.proto ? `${rule.proto.invert ? '! ' : ''}-p ${protoName(rule.proto.proto)}` : 'any protocol'})`);
      }
    }
    mod.finalCheck?.(m.params, rule, failAt(m.pos, tok));
  }
  if (rule.target && rule.target.kind === 'module' && rule.target.module !== unsupportedTarget.name) {
    const t = findTarget(rule.target.module) as TargetModule;
    const tp = rule.target.pos;
    if (t.tables && !t.tables.includes(table.name)) {
      throw new ParseError(tp, t.name, `target '${t.name}' is only valid in the ${t.tables.join('/')} table, not in '${table.name}'`);
    }
    t.finalCheck?.(rule.target.params, rule, failAt(tp, t.name));
  }
  if (approx) rule.approximation = approx;

  // -s a,b -d c,d: iptables adds one rule per (source, destination) pair, sources outermost.
  if ((!srcs || srcs.length === 1) && (!dsts || dsts.length === 1)) {
    rule.src = srcs ? srcs[0] : null;
    rule.dst = dsts ? dsts[0] : null;
    return [rule];
  }
  const out: Rule[] = [];
  for (const s of srcs ?? [null]) {
    for (const d of dsts ?? [null]) {
      out.push({ ...rule, src: s, dst: d, matches: rule.matches, target: rule.target as Target | null });
    }
  }
  return out;
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
