// Human-readable report: per table and chain the rules with packet and byte counters in the
// layout of `iptables -L -v -n -x` (the match column shows the iptables-save form of the
// matches, e.g. `-m tcp --dport 22`, not -L's `tcp dpt:22`), then verdict totals and the rules
// that dropped most.
import type { Rule } from '../rules/model.js';
import type { CompiledImage } from '../compile/image.js';
import type { CounterSet } from './counters.js';
import type { CtSummary } from '../replay/engine.js';
import { RES_LABELS } from './verdicts.js';
import * as L from '../layout.js';

export interface TextOptions {
  /** The rule's match part in save form (no -A, no -s/-d/-i/-o/-p, no target). */
  matchText: (r: Rule) => string;
  /** The target's option text in save form (after its name). */
  targetText: (r: Rule) => string;
}

function ip4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

function addrCol(a: Rule['src']): string {
  if (!a) return '0.0.0.0/0';
  return `${a.invert ? '!' : ''}${ip4(a.addr)}${a.prefix === 32 ? '' : `/${a.prefix}`}`;
}

function targetName(r: Rule): string {
  const t = r.target;
  if (!t) return '';
  if (t.kind === 'verdict') return t.verdict;
  if (t.kind === 'jump') return t.chain;
  return t.module;
}

const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };

export function formatTables(c: CompiledImage, k: CounterSet, o: TextOptions): string {
  const out: string[] = [];
  let table = '';
  const refs = new Map<number, number>();
  const byName = new Map(c.chains.map((x) => [`${x.table}/${x.name}`, x.id]));
  for (const ri of c.rules) {
    const t = ri.model.target;
    if (t?.kind === 'jump') {
      const target = byName.get(`${ri.model.table}/${t.chain}`);
      if (target !== undefined) refs.set(target, (refs.get(target) ?? 0) + 1);
    }
  }
  for (const ch of c.chains) {
    if (ch.table !== table) {
      table = ch.table;
      out.push(`# table ${table}`, '');
    }
    if (ch.builtin) out.push(`Chain ${ch.name} (policy ${ch.policy} ${k.packets[ch.counter]} packets, ${k.bytes[ch.counter]} bytes)`);
    else out.push(`Chain ${ch.name} (${refs.get(ch.id) ?? 0} references)`);
    out.push(`${'pkts'.padStart(8)} ${'bytes'.padStart(8)} ${'target'.padEnd(10)} prot opt in     out     source               destination`);
    for (const idx of ch.rules) {
      const r = c.rules[idx].model;
      const proto = r.proto ? `${r.proto.invert ? '!' : ''}${PROTO[r.proto.proto] ?? r.proto.proto}` : 'all';
      const opt = r.frag ? (r.frag.invert ? '!f' : '-f') : '--';
      const ifc = (x: Rule['inIface']) => (x ? `${x.invert ? '!' : ''}${x.name}` : '*');
      const g = r.target?.kind === 'jump' && r.target.goto ? ' [goto]' : '';
      const extra = `${o.matchText(r)}${r.target?.kind === 'module' ? o.targetText(r) : ''}${g}`.trim();
      out.push(`${String(k.packets[idx]).padStart(8)} ${String(k.bytes[idx]).padStart(8)} ${targetName(r).padEnd(10)} ${proto.padEnd(4)} ${opt.padEnd(3)} ${ifc(r.inIface).padEnd(6)} ${ifc(r.outIface).padEnd(6)}  ${addrCol(r.src).padEnd(20)} ${addrCol(r.dst).padEnd(20)} ${extra}`.trimEnd());
    }
    out.push('');
  }
  return out.join('\n');
}

export interface Totals { packets: number; res: bigint[]; rejectReplies: bigint; badChecksums?: bigint; droppedInvalid?: bigint; ct?: CtSummary }

export function formatTotals(t: Totals): string {
  const lines = [`packets: ${t.packets}`];
  for (let code = 1; code < t.res.length; code++) {
    if (t.res[code] === 0n && !RES_LABELS[code]?.always) continue;
    const l = RES_LABELS[code];
    if (!l) continue;
    lines.push(`  ${l.label.padEnd(34)} ${t.res[code]}`);
    if (code === L.RES_DROP_POLICY && t.droppedInvalid) lines.push(`  ${'  of the drops: conntrack INVALID'.padEnd(34)} ${t.droppedInvalid}`);
  }
  if (t.rejectReplies > 0n) lines.push(`  ${'host packets sent (replies, ICMP)'.padEnd(34)} ${t.rejectReplies}`);
  if (t.ct) {
    lines.push(`conntrack: ${t.ct.entries} entries held at the end (capacity ${t.ct.capacity}, ${t.ct.bytesPerConn} bytes per connection), ${t.ct.earlyDrops} early drops, ${t.ct.fullDrops} packets dropped on a full table`);
  }
  if (t.badChecksums && t.badChecksums > 0n) {
    lines.push(`  ${'bad L4 checksum (conntrack INVALID)'.padEnd(34)} ${t.badChecksums}`);
    lines.push(`note: ${t.badChecksums} packets failed the TCP/UDP checksum check (nf_conntrack_checksum=1); a capture`);
    lines.push('      taken on the sending host shows checksums the NIC would have filled in: try --trust-checksums');
  }
  return lines.join('\n');
}

/** The rules that dropped most (by result extra), at most `n`. */
export function formatTopDrops(c: CompiledImage, drops: Map<number, number>, ruleLine: (r: Rule) => string, n = 10): string {
  const top = [...drops.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, n);
  if (!top.length) return '';
  const lines = ['top dropping rules:'];
  for (const [key, count] of top) {
    if (key >= 0) lines.push(`  ${String(count).padStart(10)}  ${ruleLine(c.rules[key].model)}`);
    else {
      const ch = c.chains[-1 - key];
      lines.push(`  ${String(count).padStart(10)}  policy of ${ch.table} ${ch.name}`);
    }
  }
  return lines.join('\n');
}
