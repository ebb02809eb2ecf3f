// Synthetic rule keys and packets for the decision-structure tests and bench/classify.mjs:
// ClassBench-style ACL / FW / IPC filter sets (Taylor & Turner 2007: prefix-length mixes, port
// range classes WC / HI / LO / AR / EM, protocol mixes, clustered address prefixes) plus what
// iptables adds (negations, -i/-o with wildcards, -f), a kube-proxy KUBE-SERVICES shape, and
// packets biased to rule boundaries. Deterministic from a seed.
import { type RuleKey, type KeyPacket, type Range, wildKey } from './tree.js';
import { mulberry32 } from '../util/random.js';

/** The project's seeded generator (src/util/random.ts), under the name callers use. */
export const rng = mulberry32;

export type SetKind = 'acl' | 'fw' | 'ipc';

function prefixRange(addr: number, len: number): Range {
  if (len === 0) return { lo: 0, hi: 0xffffffff };
  const mask = len >= 32 ? 0xffffffff : (~(0xffffffff >>> len)) >>> 0;
  const lo = (addr & mask) >>> 0;
  return { lo, hi: (lo | (~mask >>> 0)) >>> 0 };
}

/** Pick from weighted choices [weight, value]. */
function pick<T>(r: () => number, w: [number, T][]): T {
  let s = 0;
  for (const [x] of w) s += x;
  let u = r() * s;
  for (const [x, v] of w) { if ((u -= x) < 0) return v; }
  return w[w.length - 1][1];
}

// prefix-length mixes per set kind (ClassBench seeds: ACL destinations mostly specific hosts and
// subnets with few full wildcards, FW sets many wildcards, IPC in between)
const SRC_LEN: Record<SetKind, [number, number][]> = {
  acl: [[35, 0], [5, 8], [10, 16], [25, 24], [25, 32]],
  fw: [[45, 0], [10, 8], [10, 16], [15, 24], [20, 32]],
  ipc: [[25, 0], [5, 8], [15, 16], [20, 24], [35, 32]],
};
const DST_LEN: Record<SetKind, [number, number][]> = {
  acl: [[2, 0], [2, 8], [8, 16], [23, 24], [65, 32]],
  fw: [[30, 0], [5, 8], [10, 16], [20, 24], [35, 32]],
  ipc: [[10, 0], [5, 8], [10, 16], [20, 24], [55, 32]],
};

function portRange(r: () => number, cls: string): Range {
  switch (cls) {
    case 'WC': return { lo: 0, hi: 0xffff };
    case 'HI': return { lo: 1024, hi: 0xffff };
    case 'LO': return { lo: 0, hi: 1023 };
    case 'EM': { const p = pick(r, [[50, Math.floor(r() * 1024)], [30, 1024 + Math.floor(r() * 64512)], [5, 0], [5, 0xffff], [10, [80, 443, 53, 22, 8080][Math.floor(r() * 5)]]]); return { lo: p, hi: p }; }
    default: { const a = Math.floor(r() * 0x10000), b = Math.floor(r() * 0x10000); return { lo: Math.min(a, b), hi: Math.max(a, b) }; }
  }
}

export interface GenOpts {
  /** Interfaces in the host model (bits 0..nIf-1); -i/-o masks are drawn over them. */
  nIf?: number;
  /** Probability of `!` on each field (default 0.03). */
  negate?: number;
  /** Probability of -f / ! -f (default 0.01). */
  frag?: number;
  /** Probability of -i (default 0.4 fw, 0.1 otherwise); -o half of it. */
  ifProb?: number;
  /** Probability that a rule is final (ACCEPT/DROP with nothing else; default 0.7). */
  final?: number;
  /** Make the last rule a match-all final rule (default true). */
  defaultRule?: boolean;
}

/** A ClassBench-style filter set of n keys. */
export function genRules(kind: SetKind, n: number, seed: number, o: GenOpts = {}): RuleKey[] {
  const r = rng(seed);
  const nIf = o.nIf ?? 4, neg = o.negate ?? 0.03, fr = o.frag ?? 0.01;
  // clustered address space, as ClassBench's prefix trie model: sites (/16) holding subnets (/24)
  // holding hosts; the pool grows with the set so the overlap per packet stays realistic
  const sites = Array.from({ length: Math.max(4, Math.ceil(n / 64)) }, () => (Math.floor(r() * 0xffffffff) & 0xffff0000) >>> 0);
  const nets = Array.from({ length: Math.max(8, Math.ceil(n / 4)) }, () => (sites[Math.floor(r() * sites.length)] | (Math.floor(r() * 256) << 8)) >>> 0);
  const addr = (): number => (nets[Math.floor(r() * nets.length)] | Math.floor(r() * 256)) >>> 0;
  const out: RuleKey[] = [];
  for (let i = 0; i < n; i++) {
    const k = wildKey();
    k.src = prefixRange(addr(), pick(r, SRC_LEN[kind]));
    k.dst = prefixRange(addr(), pick(r, DST_LEN[kind]));
    // as in ClassBench seeds, the (0.0.0.0/0, 0.0.0.0/0) pair is the default rule's, at the end
    while (k.src.hi - k.src.lo === 0xffffffff && k.dst.hi - k.dst.lo === 0xffffffff) k.dst = prefixRange(addr(), pick(r, DST_LEN[kind]));
    k.proto = pick<number | null>(r, kind === 'fw' ? [[40, 6], [25, 17], [30, null], [5, 1]] : [[60, 6], [25, 17], [10, null], [5, 1]]);
    if (k.proto === 6 || k.proto === 17) {
      k.l4 = r() < 0.95;
      if (k.l4) {
        k.sport = portRange(r, pick(r, kind === 'fw' ? [[80, 'WC'], [10, 'HI'], [5, 'LO'], [5, 'AR']] : [[95, 'WC'], [3, 'HI'], [2, 'AR']]));
        k.dport = portRange(r, pick(r, kind === 'fw' ? [[30, 'WC'], [15, 'HI'], [5, 'LO'], [20, 'AR'], [30, 'EM']] : [[15, 'WC'], [10, 'HI'], [5, 'LO'], [10, 'AR'], [60, 'EM']]));
      }
    } else if (k.proto === 1) {
      k.l4 = r() < 0.5; // -p icmp --icmp-type ...
    }
    if (r() < neg) k.srcInv = true;
    if (r() < neg) k.dstInv = true;
    if (k.proto !== null && r() < neg) { k.protoInv = true; }
    if (k.l4 && r() < neg) k.sportInv = true;
    if (k.l4 && r() < neg) k.dportInv = true;
    const ifProb = o.ifProb ?? (kind === 'fw' ? 0.4 : 0.1);
    const ifMask = (): number => {
      const c = pick(r, [[60, 'one'], [25, 'prefix'], [15, 'plus']]);
      if (c === 'plus') return 0xffffffff; // `-i +`
      if (c === 'one') return (1 << Math.floor(r() * nIf)) >>> 0; // `-i ethN`
      const a = Math.floor(r() * nIf), b = Math.min(nIf - 1, a + 1 + Math.floor(r() * 2)); // `-i eth+`
      let m = 0;
      for (let j = a; j <= b; j++) m |= 1 << j;
      return m >>> 0;
    };
    if (r() < ifProb) { const m = ifMask(); k.iif = (r() < neg * 3 ? ~m : m) >>> 0; }
    if (r() < ifProb / 2) { const m = ifMask(); k.oif = (r() < neg * 3 ? ~m : m) >>> 0; }
    if (r() < fr) k.frag = r() < 0.5 ? 1 : 2;
    // most filter rules are plain ACCEPT/DROP on the header fields (final); some LOG, jump or
    // carry residual matches (conntrack, limit, ...)
    k.final = r() < (o.final ?? 0.7);
    // count-only and LOG rules on the header fields are exact without ending the walk (every
    // third rule, not a draw: the sets stay those of earlier runs)
    k.exact = k.final || i % 3 === 0;
    out.push(k);
  }
  if (o.defaultRule ?? true) { const d = wildKey(); d.final = true; out[n - 1] = d; } // -j DROP (or the policy)
  return out;
}

/** KUBE-SERVICES-shaped keys: n `-d VIP/32 -p tcp|udp --dport P` rules, then the NODEPORTS rule. */
export function genKube(n: number, seed: number): { keys: RuleKey[]; vips: { vip: number; proto: number; port: number }[] } {
  const r = rng(seed);
  const keys: RuleKey[] = [], vips: { vip: number; proto: number; port: number }[] = [];
  const seen = new Set<string>();
  let vip = (10 << 24 | 96 << 16) >>> 0; // 10.96.0.0/12 service range
  while (keys.length < n - 1) {
    vip = (vip + 1 + Math.floor(r() * 3)) >>> 0;
    const nports = pick(r, [[70, 1], [20, 2], [10, 4]]);
    for (let j = 0; j < nports && keys.length < n - 1; j++) {
      const proto = r() < 0.9 ? 6 : 17;
      const port = pick(r, [[40, 80], [20, 443], [40, 1 + Math.floor(r() * 65535)]]);
      const id = `${vip}:${proto}:${port}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const k = wildKey();
      k.dst = { lo: vip, hi: vip }; k.proto = proto; k.l4 = true; k.dport = { lo: port, hi: port };
      k.exact = true; // -d VIP/32 -p P -m P --dport N -j KUBE-SVC-... (a comment besides): the key is the rule
      keys.push(k); vips.push({ vip, proto, port });
    }
  }
  keys.push(wildKey()); // -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS: nothing the tree can cut on
  return { keys, vips };
}

/** Packets biased to rule boundaries (lo, hi, lo-1, hi+1 of a random rule's fields) plus random ones. */
export function genPackets(keys: RuleKey[], count: number, seed: number, o: { nIf?: number; frags?: boolean; truncated?: number } = {}): KeyPacket[] {
  const r = rng(seed ^ 0x5bd1e995);
  const nIf = o.nIf ?? 4;
  const edge = (x: Range, max: number): number => {
    const c = Math.floor(r() * 6);
    const lo = Math.min(x.lo, max), hi = Math.min(x.hi, max);
    const v = c === 0 ? lo : c === 1 ? hi : c === 2 ? lo - 1 : c === 3 ? hi + 1 : c === 4 ? lo + Math.floor(r() * (hi - lo + 1)) : Math.floor(r() * (max + 1));
    return v < 0 ? 0 : v > max ? max : v;
  };
  const out: KeyPacket[] = [];
  for (let i = 0; i < count; i++) {
    const k = keys.length ? keys[Math.floor(r() * keys.length)] : wildKey();
    const proto = r() < 0.8 && k.proto !== null ? k.proto : pick(r, [[40, 6], [30, 17], [10, 1], [10, 132], [10, 47]]);
    const iface = (): number => (r() < 0.15 ? 255 : Math.floor(r() * (nIf + 1)));
    out.push({
      saddr: edge(k.src, 0xffffffff) >>> 0,
      daddr: edge(k.dst, 0xffffffff) >>> 0,
      proto,
      sport: edge(k.sport, 0xffff),
      dport: edge(k.dport, 0xffff),
      iif: iface(),
      oif: iface(),
      fragoff: o.frags !== false && r() < 0.05 ? 1 + Math.floor(r() * 100) : 0,
      l4ok: r() >= (o.truncated ?? 0.03),
    });
  }
  return out;
}

/** Rules exact on a tuple of fields (any of saddr, daddr, sport, dport), as replies or per-client
 * rules are (`-s C/32 -p udp --sport 53`), with a few non-exact rules mixed in: exercises hash
 * nodes on every column combination. */
export function genTuples(n: number, seed: number, fields: ('saddr' | 'daddr' | 'sport' | 'dport')[], wild = 0.02): RuleKey[] {
  const r = rng(seed);
  const out: RuleKey[] = [];
  const pool = Array.from({ length: Math.max(4, n >> 1) }, () => (0xc6120000 | Math.floor(r() * 0x20000)) >>> 0);
  for (let i = 0; i < n; i++) {
    const k = wildKey();
    if (r() < wild) { // a non-exact rule: a prefix or a port range on the tuple's first field
      const f = fields[0], a = pool[Math.floor(r() * pool.length)], p = Math.floor(r() * 60000);
      if (f === 'saddr') k.src = prefixRange(a, 16 + Math.floor(r() * 16));
      else if (f === 'daddr') k.dst = prefixRange(a, 16 + Math.floor(r() * 16));
      else { k.proto = 6; k.l4 = true; k[f] = { lo: p, hi: p + Math.floor(r() * 5000) }; }
      k.final = r() < 0.5;
      out.push(k);
      continue;
    }
    k.proto = r() < 0.7 ? 6 : 17;
    if (fields.includes('saddr')) { const a = pool[Math.floor(r() * pool.length)]; k.src = { lo: a, hi: a }; }
    if (fields.includes('daddr')) { const a = pool[Math.floor(r() * pool.length)]; k.dst = { lo: a, hi: a }; }
    if (fields.includes('sport') || fields.includes('dport')) k.l4 = true;
    if (fields.includes('sport')) { const p = [53, 80, 443, 0, 65535][Math.floor(r() * 5)] + (r() < 0.5 ? 0 : Math.floor(r() * 100)); k.sport = { lo: Math.min(p, 65535), hi: Math.min(p, 65535) }; }
    if (fields.includes('dport')) { const p = Math.floor(r() * 65536); k.dport = { lo: p, hi: p }; }
    k.final = r() < 0.5;
    out.push(k);
  }
  return out;
}
