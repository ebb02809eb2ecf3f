// Parsing `conntrack -L [-o extended]` text (the kernel's and, by contract, nfreplay's `--conntrack`).

export interface Tuple { src: string; dst: string; sport?: number; dport?: number; type?: number; code?: number; id?: number }

export interface CtEntry {
  proto: string;
  /** TCP state (ESTABLISHED, SYN_SENT, ...); '' for UDP/ICMP. */
  state: string;
  timeout: number;
  orig: Tuple;
  reply: Tuple;
  /** ASSURED, UNREPLIED, ... as printed in brackets. */
  flags: string[];
  mark: number;
  line: string;
}

function tuple(fields: Map<string, string>): Tuple {
  const t: Tuple = { src: fields.get('src')!, dst: fields.get('dst')! };
  for (const k of ['sport', 'dport', 'type', 'code', 'id'] as const) {
    if (fields.has(k)) t[k] = Number(fields.get(k));
  }
  return t;
}

export function parseConntrack(text: string): CtEntry[] {
  const out: CtEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('conntrack v')) continue;
    let words = line.split(/\s+/);
    if (words[0] === 'ipv4') words = words.slice(2); // -o extended: "ipv4 2 tcp 6 ..."
    const proto = words[0];
    const timeout = Number(words[2]);
    let i = 3;
    let state = '';
    if (words[i] && !words[i].includes('=') && !words[i].startsWith('[')) state = words[i++];
    const halves: Map<string, string>[] = [new Map(), new Map()];
    let h = 0;
    const flags: string[] = [];
    let mark = 0;
    for (; i < words.length; i++) {
      const w = words[i];
      if (w.startsWith('[')) { flags.push(w.slice(1, -1)); continue; }
      const eq = w.indexOf('=');
      if (eq < 0) continue;
      const k = w.slice(0, eq);
      const v = w.slice(eq + 1);
      if (k === 'mark') { mark = Number(v); continue; }
      if (k === 'src' && halves[h].has('src')) h = 1;
      if (['src', 'dst', 'sport', 'dport', 'type', 'code', 'id'].includes(k)) halves[h].set(k, v);
    }
    out.push({ proto, state, timeout, orig: tuple(halves[0]), reply: tuple(halves[1]), flags, mark, line });
  }
  return out;
}

export function tupleText(t: Tuple): string {
  const parts = [`src=${t.src}`, `dst=${t.dst}`];
  if (t.sport !== undefined) parts.push(`sport=${t.sport}`, `dport=${t.dport}`);
  if (t.type !== undefined) parts.push(`type=${t.type}`, `code=${t.code}`, `id=${t.id}`);
  return parts.join(' ');
}

/** The part of an entry both sides must agree on: protocol, tuples (NAT mapping), state, ASSURED/UNREPLIED, ctmark. */
export function ctKey(e: CtEntry): string {
  const fl = e.flags.filter((f) => f === 'ASSURED' || f === 'UNREPLIED').sort().join(',');
  return `${e.proto} ${e.state} ${tupleText(e.orig)} | ${tupleText(e.reply)} ${fl} mark=${e.mark}`.replace(/\s+/g, ' ').trim();
}
