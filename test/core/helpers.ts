// Test helpers for the engine: hand-built models (independent of the rules parser), batches of
// crafted frames, and a one-call replay over them.
import type { Ruleset, Rule, Chain, Table, TableName, Target, Match } from '../../src/rules/model.js';
import { TABLE_BUILTINS } from '../../src/rules/model.js';
import type { PacketBatch, CaptureInfo } from '../../src/pcap/reader.js';
import { compile, type CompiledImage } from '../../src/compile/image.js';
import { lowerHost, defaultHost, type HostModel } from '../../src/host/index.js';
import { Engine } from '../../src/replay/engine.js';
import { buildFrame, type FrameSpec } from '../../src/pcap/craft.js';
import { parseRuleset } from '../../src/rules/parse.js';


/** Parse iptables-restore text (the real parser) for a test. */
export function rules(text: string): Ruleset {
  return parseRuleset(`${text.replace(/^\s+/gm, '')}\n`, 'test.rules');
}

const pos = { file: 't', line: 1, column: 1 };

export function ip(s: string): number {
  return s.split('.').reduce((a, x) => ((a << 8) | Number(x)) >>> 0, 0);
}

export interface RuleSpec {
  s?: string; d?: string; p?: number; i?: string; o?: string; f?: boolean;
  sInv?: boolean; dInv?: boolean; pInv?: boolean; iInv?: boolean; oInv?: boolean; fInv?: boolean;
  m?: { module: string; params: unknown }[];
  j?: string; g?: string; t?: { module: string; params: unknown };
}

function addr(s: string | undefined, invert = false) {
  if (!s) return null;
  const [a, pl] = s.split('/');
  return { addr: ip(a), prefix: pl === undefined ? 32 : Number(pl), invert };
}

export function rule(table: TableName, chain: string, num: number, r: RuleSpec): Rule {
  let target: Target | null = null;
  if (r.j === 'ACCEPT' || r.j === 'DROP' || r.j === 'RETURN') target = { kind: 'verdict', verdict: r.j, pos };
  else if (r.j) target = { kind: 'jump', chain: r.j, goto: false, pos };
  else if (r.g) target = { kind: 'jump', chain: r.g, goto: true, pos };
  else if (r.t) target = { kind: 'module', module: r.t.module, params: r.t.params, pos };
  return {
    table, chain, num, counters: null,
    src: addr(r.s, r.sInv), dst: addr(r.d, r.dInv),
    inIface: r.i ? { name: r.i, invert: !!r.iInv } : null,
    outIface: r.o ? { name: r.o, invert: !!r.oInv } : null,
    proto: r.p ? { proto: r.p, invert: !!r.pInv } : null,
    frag: r.f ? { invert: !!r.fInv } : null,
    matches: (r.m ?? []).map((x): Match => ({ module: x.module, params: x.params, pos })),
    target, pos,
  };
}

/** tables: { filter: { INPUT: { policy: 'DROP', rules: [...] }, MYCHAIN: { rules: [...] } } } */
export function ruleset(spec: Partial<Record<TableName, Record<string, { policy?: 'ACCEPT' | 'DROP'; rules?: RuleSpec[] }>>>): Ruleset {
  const tables: Table[] = [];
  for (const [tname, chains] of Object.entries(spec) as [TableName, Record<string, { policy?: 'ACCEPT' | 'DROP'; rules?: RuleSpec[] }>][]) {
    const cs: Chain[] = [];
    const builtins = TABLE_BUILTINS[tname];
    for (const b of builtins) {
      const c = chains[b];
      cs.push({ name: b, builtin: true, policy: c?.policy ?? 'ACCEPT', counters: null, rules: [], pos });
    }
    for (const name of Object.keys(chains)) if (!builtins.includes(name as never)) cs.push({ name, builtin: false, policy: null, counters: null, rules: [], pos });
    for (const c of cs) c.rules = (chains[c.name]?.rules ?? []).map((r, k) => rule(tname, c.name, k + 1, r));
    tables.push({ name: tname, pos, chains: cs });
  }
  return { file: 't', tables, approximated: [] };
}

export function batchOf(frames: Uint8Array[], linktype = 1, ts: [number, number][] = []): PacketBatch {
  const total = frames.reduce((a, f) => a + f.length, 0);
  const data = new Uint8Array(total);
  const n = frames.length;
  const b: PacketBatch = {
    data, count: n,
    offset: new Uint32Array(n), caplen: new Uint32Array(n), wirelen: new Uint32Array(n),
    tsSec: new Uint32Array(n), tsNsec: new Uint32Array(n), linktype: new Uint16Array(n),
    ifaceId: new Uint16Array(n), ordinal: new Uint32Array(n),
    info: { format: 'pcap', nanosecond: true, snaplen: 262144, linktype, bigEndian: false, interfaces: [], sections: 1 } as unknown as CaptureInfo,
  };
  let o = 0;
  frames.forEach((f, i) => {
    data.set(f, o);
    b.offset[i] = o; b.caplen[i] = f.length; b.wirelen[i] = f.length;
    b.tsSec[i] = ts[i]?.[0] ?? 1700000000 + i; b.tsNsec[i] = ts[i]?.[1] ?? 0;
    b.linktype[i] = linktype; b.ordinal[i] = i;
    o += f.length;
  });
  return b;
}

export interface RunResult {
  compiled: CompiledImage;
  engine: Engine;
  results: Uint32Array;
  /** forwarded frames as they left (copies) */
  out: Uint8Array[];
  /** counter of rule `table/chain#num` (1-based) or policy `table/chain` */
  cnt(key: string): [number, number];
}

export function run(rs: Ruleset, specs: (FrameSpec & { iif?: number; t?: number; tn?: number })[], opts: { host?: HostModel; linear?: boolean; seed?: number; hz?: number } = {}): RunResult {
  const host = lowerHost(opts.host ?? defaultHost());
  const compiled = compile(rs, { host, linear: opts.linear, seed: opts.seed, hz: opts.hz });
  const engine = new Engine(compiled);
  const frames = specs.map((s) => buildFrame(s));
  const b = batchOf(frames, 1, specs.map((s, i) => [1700000000 + (s.t ?? i), s.tn ?? 0]));
  // per-packet ingress: ifaceId = host interface index through an identity map (default eth0 = 0)
  specs.forEach((s, i) => { b.ifaceId[i] = s.iif ?? 0; });
  const ifmap = Uint16Array.from({ length: 64 }, (_, i) => i);
  const out: Uint8Array[] = [];
  engine.runBatch(b, ifmap, (_s, _n, frame) => out.push(frame.slice()));
  const results = engine.lastResults(b.count);
  const c = engine.counters();
  const cnt = (key: string): [number, number] => {
    const [tc, num] = key.split('#');
    const [t, ch] = tc.split('/');
    const chain = compiled.chains.find((x) => x.table === t && x.name === ch);
    if (!chain) throw new Error(`no chain ${tc}`);
    const idx = num === undefined ? chain.counter : chain.rules[Number(num) - 1];
    return [Number(c.packets[idx]), Number(c.bytes[idx])];
  };
  return { compiled, engine, results, out, cnt };
}
