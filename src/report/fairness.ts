// DNAT load-balance fairness per Service. A Service is a nat chain that splits new connections by
// `statistic` (random or nth) into endpoints: rules that jump to a chain containing a DNAT rule
// (kube-proxy's KUBE-SVC-*/KUBE-SVL-* -> KUBE-SEP-*) or DNAT themselves (hand-written). nat chains
// see only a connection's first packet, so a rule's packet counter is its new connections.
//
// Per endpoint: balanced new connections (through the statistic rules and the final catch-all),
// sticky ones (through `recent --rcheck/--update` rules: session affinity, shown apart, not part
// of the test), first-packet bytes, observed share, the share the probabilities promise
// (p_i * prod_{j<i}(1 - p_j); random: p = probability/2^31 exactly as the kernel compares; nth:
// p = 1/every; `!` inverts), the chi-square statistic of the observed split against the promised
// one with its p-value (df = endpoints with a nonzero promise - 1), Jain's index and the max/min
// ratio of connections per promised share (1 and 1 when the split is exactly as promised).
// Least fair first (smallest p-value); p < 0.001 is flagged.
import type { Rule } from '../rules/model.js';
import type { CompiledImage } from '../compile/image.js';
import type { CounterSet } from './counters.js';

export const FLAG_P = 0.001;

// ---------------------------------------------------------------- special functions

const LANCZOS = [676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~15 digits). */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = 0.99999999999980993;
  const t = x + 7.5;
  for (let i = 0; i < 8; i++) a += LANCZOS[i] / (x + i + 1);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised lower incomplete gamma P(a, x) = γ(a, x) / Γ(a). */
export function gammaP(a: number, x: number): number {
  if (!(a > 0) || x < 0 || Number.isNaN(x)) return NaN;
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? gammaSeries(a, x) : 1 - gammaCF(a, x);
}

/** Regularised upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a) = 1 - P(a, x). */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || x < 0 || Number.isNaN(x)) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - gammaSeries(a, x) : gammaCF(a, x);
}

/** P(a, x) by its series: e^-x x^a / Γ(a+1) * sum x^n / ((a+1)...(a+n)). */
function gammaSeries(a: number, x: number): number {
  let ap = a, sum = 1 / a, del = sum;
  for (let n = 0; n < 10000; n++) {
    ap += 1;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * 1e-16) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - lnGamma(a));
}

/** Q(a, x) by its continued fraction (modified Lentz). */
function gammaCF(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b; if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c; if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.exp(-x + a * Math.log(x) - lnGamma(a)) * h;
}

/** Upper tail of the chi-square distribution: P(X >= chi2) with `df` degrees of freedom. */
export function chiSquareP(chi2: number, df: number): number {
  if (df <= 0) return 1;
  return gammaQ(df / 2, chi2 / 2);
}

// ---------------------------------------------------------------- statistics of a split

export interface SplitStats { chi2: number; df: number; p: number; jain: number; maxMin: number }

/** Observed counts against promised shares (summing to 1). Endpoints promised 0 are left out of
 * the test (a connection there makes chi2 infinite and p 0). */
export function splitStats(observed: number[], promised: number[]): SplitStats {
  const n = observed.reduce((a, b) => a + b, 0);
  let chi2 = 0, k = 0;
  const norm: number[] = [];
  for (let i = 0; i < observed.length; i++) {
    const e = n * promised[i];
    if (promised[i] > 0) {
      k++;
      if (e > 0) chi2 += (observed[i] - e) ** 2 / e;
      norm.push(observed[i] / promised[i]);
    } else if (observed[i] > 0) chi2 = Infinity;
  }
  const df = Math.max(0, k - 1);
  const p = n === 0 ? 1 : chi2 === Infinity ? 0 : chiSquareP(chi2, df);
  const s = norm.reduce((a, b) => a + b, 0), s2 = norm.reduce((a, b) => a + b * b, 0);
  const jain = s2 === 0 ? 1 : (s * s) / (norm.length * s2);
  const max = Math.max(...norm), min = Math.min(...norm);
  const maxMin = norm.length === 0 || max === 0 ? 1 : min === 0 ? Infinity : max / min;
  return { chi2, df, p, jain, maxMin };
}

// ---------------------------------------------------------------- finding Services

export interface Endpoint {
  /** The endpoint chain (the Service chain itself when its rules DNAT directly). */
  chain: string;
  /** --to-destination of its DNAT rule(s). */
  destination: string;
  connections: number;
  sticky: number;
  bytes: number;
  share: number;
  promised: number;
}

export interface ServiceFairness extends SplitStats {
  table: string;
  chain: string;
  mode: 'random' | 'nth' | 'mixed';
  connections: number;
  sticky: number;
  endpoints: Endpoint[];
  flagged: boolean;
}

interface StatP { mode: 'random' | 'nth' | null; probability: number; every: number; invert?: boolean }
interface RecentP { cmd: string | null }
interface NatP { range: { flags: number; minIp: number; maxIp: number; minPort: number; maxPort: number } }

function ip(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}
function natDest(p: NatP): string {
  const r = p.range;
  let s = '';
  if (r.flags & 1) s += r.maxIp !== r.minIp ? `${ip(r.minIp)}-${ip(r.maxIp)}` : ip(r.minIp);
  if (r.flags & 2) s += `:${r.minPort}${r.maxPort !== r.minPort ? `-${r.maxPort}` : ''}`;
  return s;
}

/** Fairness of every Service in the compiled ruleset under counters `k`, least fair first. */
export function fairness(c: CompiledImage, k: CounterSet): ServiceFairness[] {
  const nat = c.chains.filter((ch) => ch.table === 'nat');
  const byName = new Map(nat.map((ch) => [ch.name, ch]));
  const dnatOf = (r: Rule): string | null => (r.target?.kind === 'module' && r.target.module === 'DNAT' ? natDest(r.target.params as NatP) : null);
  /** destination if the rule leads to a DNAT (directly or through its jump target chain) */
  const endpointOf = (r: Rule): { chain: string; destination: string } | null => {
    const d = dnatOf(r);
    if (d !== null) return { chain: r.chain, destination: d };
    if (r.target?.kind !== 'jump') return null;
    const t = byName.get(r.target.chain);
    if (!t) return null;
    const ds = t.rules.map((i) => dnatOf(c.rules[i].model)).filter((x): x is string => x !== null);
    return ds.length ? { chain: t.name, destination: [...new Set(ds)].join(',') } : null;
  };
  const out: ServiceFairness[] = [];
  for (const ch of nat) {
    const eps = new Map<string, Endpoint>();
    const order: Endpoint[] = [];
    let remaining = 1, hasStat = false, balancedRules = 0;
    const modes = new Set<string>();
    for (const idx of ch.rules) {
      const r = c.rules[idx].model;
      const ep = endpointOf(r);
      if (!ep) continue;
      const key = `${ep.chain} ${ep.destination}`;
      let e = eps.get(key);
      if (!e) { e = { ...ep, connections: 0, sticky: 0, bytes: 0, share: 0, promised: 0 }; eps.set(key, e); order.push(e); }
      const n = Number(k.packets[idx]), b = Number(k.bytes[idx]);
      const rec = r.matches.find((m) => m.module === 'recent' && ['rcheck', 'update'].includes((m.params as RecentP).cmd ?? ''));
      if (rec) { e.sticky += n; e.bytes += b; continue; }
      const st = r.matches.find((m) => m.module === 'statistic');
      let p = 1;
      if (st) {
        const sp = st.params as StatP;
        hasStat = true;
        modes.add(sp.mode ?? 'random');
        p = sp.mode === 'nth' ? 1 / (sp.every + 1) : sp.probability / 0x80000000;
        if (sp.invert) p = 1 - p;
      }
      e.promised += remaining * p;
      remaining *= 1 - p;
      e.connections += n;
      e.bytes += b;
      balancedRules++;
    }
    if (!hasStat || order.length < 2 || balancedRules < 2) continue;
    const conns = order.reduce((a, e) => a + e.connections, 0);
    // what the probabilities leave to no endpoint falls off the chain: normalise over endpoints
    const promisedSum = order.reduce((a, e) => a + e.promised, 0);
    for (const e of order) {
      e.promised = promisedSum > 0 ? e.promised / promisedSum : 0;
      e.share = conns ? e.connections / conns : 0;
    }
    const s = splitStats(order.map((e) => e.connections), order.map((e) => e.promised));
    out.push({
      table: 'nat', chain: ch.name, mode: modes.size === 1 ? ([...modes][0] as 'random' | 'nth') : 'mixed',
      connections: conns, sticky: order.reduce((a, e) => a + e.sticky, 0), endpoints: order, ...s,
      flagged: conns > 0 && s.p < FLAG_P,
    });
  }
  return out.sort((a, b) => (a.connections === 0 ? 1 : 0) - (b.connections === 0 ? 1 : 0) || a.p - b.p || a.jain - b.jain || (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : 0));
}

// ---------------------------------------------------------------- forms

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const num = (x: number, d: number) => (x === Infinity ? 'inf' : x.toFixed(d));
function pText(p: number): string {
  if (p === 0) return '0';
  return p < 1e-4 ? p.toExponential(2) : p.toFixed(4);
}

/** The text section ('' when the ruleset has no Service). */
export function formatFairness(list: ServiceFairness[]): string {
  if (!list.length) return '';
  const lines = ['DNAT load-balance fairness (least fair first; ! = p < 0.001):'];
  for (const s of list) {
    lines.push(`${s.flagged ? '!' : ' '} ${s.chain}: ${s.connections} new connections (${s.mode}), chi2 ${num(s.chi2, 3)} df ${s.df} p ${pText(s.p)}, Jain ${num(s.jain, 4)}, max/min ${num(s.maxMin, 3)}${s.sticky ? `, ${s.sticky} sticky (recent)` : ''}`);
    const w = Math.max(8, ...s.endpoints.map((e) => `${e.chain} ${e.destination}`.length));
    lines.push(`    ${'endpoint'.padEnd(w)} ${'conns'.padStart(10)} ${'share'.padStart(8)} ${'promised'.padStart(8)} ${'sticky'.padStart(10)}`);
    for (const e of s.endpoints) {
      lines.push(`    ${`${e.chain} ${e.destination}`.padEnd(w)} ${String(e.connections).padStart(10)} ${pct(e.share).padStart(8)} ${pct(e.promised).padStart(8)} ${String(e.sticky).padStart(10)}`);
    }
  }
  return lines.join('\n');
}

/** The JSON form (numbers; Infinity as null). */
export function fairnessJson(list: ServiceFairness[]): unknown[] {
  const f = (x: number) => (Number.isFinite(x) ? x : null);
  return list.map((s) => ({
    table: s.table, chain: s.chain, mode: s.mode, connections: s.connections, sticky: s.sticky,
    chi2: f(s.chi2), df: s.df, p: s.p, jain: f(s.jain), maxMin: f(s.maxMin), flagged: s.flagged,
    endpoints: s.endpoints.map((e) => ({ chain: e.chain, destination: e.destination, connections: e.connections, sticky: e.sticky, bytes: e.bytes, share: e.share, promised: e.promised })),
  }));
}
