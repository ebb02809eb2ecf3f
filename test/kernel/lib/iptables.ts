// iptables-save text helpers shared by the round trip and the differential harness.

/** Table names in order of their `*table` lines. */
export function tableOrder(text: string): string[] {
  const seen: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\*(\S+)\s*$/.exec(line);
    if (m && !seen.includes(m[1])) seen.push(m[1]);
  }
  return seen;
}

/** Drop `#` lines (iptables-save's Generated/Completed stamps). */
export function stripComments(text: string): string {
  return text.split('\n').filter((l) => !l.startsWith('#')).join('\n');
}

/** Restore input that registers `tables` in a fresh namespace so that iptables-legacy-save lists them
 * in this order: the kernel puts each newly registered table at the head of the list. */
export function preregister(tables: string[]): string {
  return tables.slice().reverse().map((t) => `*${t}\nCOMMIT\n`).join('');
}

export interface CounterLine {
  /** `table:chain:policy` for a builtin chain's policy, `table:chain:N` (1-based) for the N-th rule. */
  key: string;
  table: string;
  chain: string;
  /** 0 for the policy line. */
  rule: number;
  packets: bigint;
  bytes: bigint;
  /** The line without its counters (for messages). */
  text: string;
}

/** Parse `iptables-save -c` text into counters keyed by table, chain and rule position. */
export function parseCounters(text: string): Map<string, CounterLine> {
  const out = new Map<string, CounterLine>();
  let table = '';
  const ruleNo = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) { table = line.slice(1).trim(); ruleNo.clear(); continue; }
    let m = /^:(\S+) (\S+) \[(\d+):(\d+)\]$/.exec(line);
    if (m) {
      if (m[2] !== '-') {
        const key = `${table}:${m[1]}:policy`;
        out.set(key, { key, table, chain: m[1], rule: 0, packets: BigInt(m[3]), bytes: BigInt(m[4]), text: `:${m[1]} ${m[2]}` });
      }
      continue;
    }
    m = /^\[(\d+):(\d+)\] -A (\S+)(.*)$/.exec(line);
    if (m) {
      const n = (ruleNo.get(m[3]) ?? 0) + 1;
      ruleNo.set(m[3], n);
      const key = `${table}:${m[3]}:${n}`;
      out.set(key, { key, table, chain: m[3], rule: n, packets: BigInt(m[1]), bytes: BigInt(m[2]), text: `-A ${m[3]}${m[4]}` });
    }
  }
  return out;
}
