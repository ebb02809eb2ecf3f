// A small YAML reader: the subset `kubectl get -o yaml` and hand-written manifests use.
//
// Supported: block mappings and sequences (including the kubectl style where a sequence sits at the
// same indentation as its parent key), plain / 'single' / "double" quoted scalars (also spanning
// lines), block scalars (| |- |+ > >- >+ with an optional indentation digit), flow collections
// ({} [] and simple nested content), comments, `---` / `...` document markers.
// Not supported (an error naming file:line:column): anchors, aliases, tags, complex keys, tabs
// used as indentation.
//
// Scalars are resolved the way Kubernetes' YAML (YAML 1.1 core-ish) does for the values manifests
// use: null/~/empty -> null, true/false -> boolean, decimal integers and floats -> number, anything
// else -> string; quoted scalars are always strings.

/** An error in an input file: `file:line:column: detail`. */
export class SourceError extends Error {
  constructor(
    public file: string,
    public line: number,
    public column: number,
    public detail: string,
  ) {
    super(`${file}:${line}:${column}: ${detail}`);
  }
}

export class YamlError extends SourceError {}

interface Line {
  no: number; // 1-based line number
  indent: number; // count of leading spaces
  text: string; // content after the indentation, comment removed, right-trimmed
  raw: string; // the whole line as written (for block scalars)
}

export type YamlValue = null | boolean | number | string | YamlValue[] | { [k: string]: YamlValue };

const lines = new WeakMap<object, number>();
/** The line a block mapping or sequence read by this parser starts on (for messages). */
export function yamlLine(v: unknown): number | undefined {
  return v !== null && typeof v === 'object' ? lines.get(v) : undefined;
}

/** Parse every document of a YAML stream. Empty documents are skipped. */
export function parseYamlDocuments(src: string, file: string): YamlValue[] {
  const rawLines = src.replace(/\r\n?/g, '\n').split('\n');
  const docs: YamlValue[] = [];
  let cur: Line[] = [];
  const flush = (): void => {
    const p = new Parser(cur, file);
    const v = p.parseDocument();
    if (v !== undefined) docs.push(v);
    cur = [];
  };
  for (let i = 0; i < rawLines.length; i++) {
    const raw = rawLines[i];
    if (/^---(\s|$)/.test(raw)) {
      flush();
      const rest = raw.slice(3).trim();
      if (rest !== '' && !rest.startsWith('#')) {
        // "--- value" on the marker line: treat the rest as the document's first line.
        cur.push(makeLine(i + 1, ' '.repeat(4) + rest, file));
      }
      continue;
    }
    if (/^\.\.\.(\s|$)/.test(raw)) {
      flush();
      continue;
    }
    if (/^%/.test(raw) && cur.length === 0) continue; // directives (%YAML 1.2)
    cur.push(makeLine(i + 1, raw, file));
  }
  flush();
  return docs;
}

function makeLine(no: number, raw: string, file: string): Line {
  let indent = 0;
  while (indent < raw.length && raw[indent] === ' ') indent++;
  if (raw[indent] === '\t' && raw.slice(indent).trim() !== '') {
    throw new YamlError(file, no, indent + 1, 'tab character used for indentation');
  }
  return { no, indent, text: stripComment(raw.slice(indent)).trimEnd(), raw };
}

/** Remove a `#` comment that is outside quotes and preceded by whitespace (or at the start). */
function stripComment(s: string): string {
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (q === "'" && c === "'") {
        if (s[i + 1] === "'") i++;
        else q = null;
      } else if (q === '"') {
        if (c === '\\') i++;
        else if (c === '"') q = null;
      }
      continue;
    }
    if ((c === '"' || c === "'") && (i === 0 || /[\s:,[{\-]/.test(s[i - 1]))) q = c;
    else if (c === '#' && (i === 0 || s[i - 1] === ' ' || s[i - 1] === '\t')) return s.slice(0, i);
  }
  return s;
}

const isSeqItem = (t: string): boolean => t === '-' || t.startsWith('- ');

class Parser {
  private i = 0;
  constructor(
    private lines: Line[],
    private file: string,
  ) {}

  private err(line: Line | undefined, col: number, msg: string): never {
    const l = line ?? this.lines[this.lines.length - 1];
    throw new YamlError(this.file, l ? l.no : 1, col, msg);
  }

  /** Next line that has content, or undefined; advances past blank and comment-only lines. */
  private peek(): Line | undefined {
    while (this.i < this.lines.length && this.lines[this.i].text === '') this.i++;
    return this.lines[this.i];
  }

  parseDocument(): YamlValue | undefined {
    const first = this.peek();
    if (!first) return undefined;
    const v = this.parseBlock(first.indent);
    const extra = this.peek();
    if (extra) this.err(extra, extra.indent + 1, `unexpected content '${token(extra.text)}' (bad indentation?)`);
    return v;
  }

  private parseBlock(minIndent: number): YamlValue {
    const l = this.peek();
    if (!l || l.indent < minIndent) return null;
    if (isSeqItem(l.text)) return this.parseSeq(l.indent);
    if (findMapColon(l.text) >= 0) return this.parseMap(l.indent);
    return this.parseScalarAt(l, l.text, l.indent + 1, l.indent - 1);
  }

  /** `out` (a new sequence or mapping) with the line of its first entry recorded. */
  private collection<T extends object>(out: T): T {
    const first = this.peek();
    if (first) lines.set(out, first.no);
    return out;
  }

  /** The next line of a block at indentation `ind`, or undefined where the block ends (a line less indented). */
  private blockLine(ind: number): Line | undefined {
    const l = this.peek();
    if (!l || l.indent < ind) return undefined;
    if (l.indent > ind) this.err(l, l.indent + 1, `unexpected indentation at '${token(l.text)}'`);
    return l;
  }

  private parseSeq(ind: number): YamlValue[] {
    const out = this.collection<YamlValue[]>([]);
    for (;;) {
      const l = this.blockLine(ind);
      if (!l || !isSeqItem(l.text)) break;
      let off = 1;
      while (l.text[off] === ' ') off++;
      const rest = l.text.slice(off);
      if (rest === '') {
        this.i++;
        const n = this.peek();
        if (n && n.indent > ind) out.push(this.parseBlock(ind + 1));
        else out.push(null);
      } else {
        // Re-read the item's content as a line of its own at the column where it starts.
        this.lines[this.i] = { no: l.no, indent: ind + off, text: rest, raw: l.raw };
        out.push(this.parseBlock(ind + 1));
      }
    }
    return out;
  }

  private parseMap(ind: number): { [k: string]: YamlValue } {
    const out = this.collection<{ [k: string]: YamlValue }>({});
    for (;;) {
      const l = this.blockLine(ind);
      if (!l || isSeqItem(l.text)) break;
      const { key, rest, restCol } = this.splitKey(l);
      if (Object.prototype.hasOwnProperty.call(out, key)) this.err(l, l.indent + 1, `duplicate key '${key}'`);
      this.i++;
      if (rest === '') {
        const n = this.peek();
        if (n && n.indent > ind) out[key] = this.parseBlock(ind + 1);
        else if (n && n.indent === ind && isSeqItem(n.text)) out[key] = this.parseSeq(ind);
        else out[key] = null;
      } else {
        this.i--; // parseScalarAt starts on the key's own line
        out[key] = this.parseScalarAt(l, rest, restCol, ind);
      }
    }
    return out;
  }

  private splitKey(l: Line): { key: string; rest: string; restCol: number } {
    const t = l.text;
    let key: string;
    let after: number;
    if (t[0] === '"' || t[0] === "'") {
      const { value, end } = readQuoted(t, 0, () => this.err(l, l.indent + 1, `unterminated quoted key '${token(t)}'`));
      key = value;
      after = end;
      while (t[after] === ' ') after++;
      if (t[after] !== ':') this.err(l, l.indent + after + 1, `expected ':' after key '${key}'`);
    } else {
      const c = findMapColon(t);
      if (c < 0) this.err(l, l.indent + 1, `expected 'key: value', got '${token(t)}'`);
      key = t.slice(0, c).trimEnd();
      after = c;
      if (key.startsWith('? ')) this.err(l, l.indent + 1, 'complex mapping keys (?) are not supported');
    }
    let r = after + 1;
    while (t[r] === ' ') r++;
    return { key, rest: t.slice(r), restCol: l.indent + r + 1 };
  }

  /**
   * A value that starts on line `l` with text `text` (at 1-based column `col`): quoted, block
   * scalar, flow collection or plain scalar, possibly continued on lines indented more than
   * `parentIndent`. Leaves the cursor after the last line consumed.
   */
  private parseScalarAt(l: Line, text: string, col: number, parentIndent: number): YamlValue {
    const c0 = text[0];
    if (c0 === '&' || c0 === '*' || c0 === '!') {
      this.err(l, col, `YAML ${c0 === '&' ? 'anchors' : c0 === '*' ? 'aliases' : 'tags'} are not supported ('${token(text)}')`);
    }
    if (c0 === '|' || c0 === '>') return this.blockScalar(l, text, col, parentIndent);
    // Gather continuation lines (more indented than the parent, not starting a new construct).
    let full = text;
    this.i++;
    const needsMore = (): boolean => {
      if (c0 === '"' || c0 === "'") return !quotedCloses(full);
      if (c0 === '[' || c0 === '{') return !flowBalanced(full);
      return true;
    };
    for (;;) {
      if (!needsMore()) break;
      const n = this.peekRaw();
      if (!n) break;
      if (n.text !== '' && n.indent <= parentIndent) break;
      const plain = c0 !== '"' && c0 !== "'" && c0 !== '[' && c0 !== '{';
      if (plain && n.text === '') break; // a plain scalar ends at a blank line
      if (c0 !== '"' && c0 !== "'" && c0 !== '[' && c0 !== '{' && n.text !== '' && (findMapColon(n.text) >= 0 || isSeqItem(n.text))) {
        this.err(n, n.indent + 1, `unexpected '${token(n.text)}' after a scalar value (bad indentation?)`);
      }
      full += n.text === '' ? '\n' : (full.endsWith('\n') ? '' : ' ') + (c0 === '"' || c0 === "'" ? n.raw.trim() : n.text.trim());
      this.i++;
    }
    if (c0 === '"' || c0 === "'") {
      const { value, end } = readQuoted(full, 0, () => this.err(l, col, `unterminated quoted string ${token(text)}`));
      const tail = full.slice(end).trim();
      if (tail !== '') this.err(l, col + end, `unexpected '${token(tail)}' after quoted string`);
      return value;
    }
    if (c0 === '[' || c0 === '{') {
      const fp = new FlowParser(full, (off, msg) => this.err(l, col + off, msg));
      const v = fp.parseValue();
      fp.skipWs();
      if (fp.pos < full.length) this.err(l, col + fp.pos, `unexpected '${token(full.slice(fp.pos))}' after flow collection`);
      return v;
    }
    return resolvePlain(full.replace(/ ?\n ?/g, '\n').trim());
  }

  private peekRaw(): Line | undefined {
    return this.lines[this.i];
  }

  private blockScalar(l: Line, header: string, col: number, parentIndent: number): string {
    const m = /^([|>])([1-9]?)([+-]?)([1-9]?)\s*$/.exec(header);
    if (!m) this.err(l, col, `bad block scalar header '${token(header)}'`);
    const folded = m[1] === '>';
    const chomp = m[3] || '';
    const explicit = Number(m[2] || m[4] || 0);
    this.i++;
    const body: string[] = [];
    let blockIndent = explicit ? parentIndent + explicit : -1;
    if (blockIndent < 0 && explicit) blockIndent = explicit;
    while (this.i < this.lines.length) {
      const n = this.lines[this.i];
      const isBlank = n.raw.trim() === '';
      if (!isBlank) {
        if (blockIndent < 0) {
          if (n.indent <= parentIndent) break;
          blockIndent = n.indent;
        }
        if (n.indent < blockIndent) break;
      }
      body.push(isBlank ? '' : n.raw.slice(blockIndent));
      this.i++;
    }
    // Trailing blank lines belong to chomping.
    let trailing = 0;
    while (body.length > 0 && body[body.length - 1] === '') {
      body.pop();
      trailing++;
    }
    let text: string;
    if (!folded) text = body.join('\n');
    else {
      text = '';
      for (let k = 0; k < body.length; k++) {
        const cur = body[k];
        if (k === 0) text = cur;
        else {
          const prev = body[k - 1];
          if (cur === '' || prev === '' || /^\s/.test(cur) || /^\s/.test(prev)) text += '\n' + cur;
          else text += ' ' + cur;
        }
      }
    }
    if (body.length === 0) return chomp === '+' ? '\n'.repeat(trailing) : '';
    if (chomp === '-') return text;
    if (chomp === '+') return text + '\n' + '\n'.repeat(trailing);
    return text + '\n';
  }
}

function token(s: string): string {
  const t = s.trim();
  return t.length > 40 ? `${t.slice(0, 37)}...` : t;
}

/** Index of the ':' that ends a plain mapping key in `t` (followed by space or end), or -1. */
function findMapColon(t: string): number {
  if (t[0] === '"' || t[0] === "'") {
    const q = t[0];
    let i = 1;
    for (; i < t.length; i++) {
      if (q === '"' && t[i] === '\\') i++;
      else if (t[i] === q) {
        if (q === "'" && t[i + 1] === "'") i++;
        else break;
      }
    }
    let j = i + 1;
    while (t[j] === ' ') j++;
    return t[j] === ':' && (j + 1 === t.length || t[j + 1] === ' ') ? j : -1;
  }
  if (t[0] === '[' || t[0] === '{') return -1;
  for (let i = 0; i < t.length; i++) {
    if (t[i] === ':' && (i + 1 === t.length || t[i + 1] === ' ')) return i;
  }
  return -1;
}

function quotedCloses(s: string): boolean {
  try {
    readQuoted(s, 0, () => {
      throw new Error('open');
    });
    return true;
  } catch {
    return false;
  }
}

function flowBalanced(s: string): boolean {
  let depth = 0;
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (q === '"' && c === '\\') i++;
      else if (c === q) q = null;
      continue;
    }
    if (c === '"' || c === "'") q = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
  }
  return depth <= 0 && q === null;
}

/** Read a quoted scalar starting at s[start] (the quote). Multi-line text is already joined. */
function readQuoted(s: string, start: number, fail: () => never): { value: string; end: number } {
  const q = s[start];
  let out = '';
  let i = start + 1;
  for (;;) {
    if (i >= s.length) return fail();
    const c = s[i];
    if (q === "'") {
      if (c === "'") {
        if (s[i + 1] === "'") {
          out += "'";
          i += 2;
          continue;
        }
        return { value: out, end: i + 1 };
      }
      out += c;
      i++;
      continue;
    }
    if (c === '"') return { value: out, end: i + 1 };
    if (c === '\\') {
      const e = s[i + 1];
      const simple: Record<string, string> = {
        n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', '/': '/', '0': '\0', b: '\b', f: '\f', e: '\x1b', ' ': ' ', a: '\x07', v: '\v',
        N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029',
      };
      if (e !== undefined && simple[e] !== undefined) {
        out += simple[e];
        i += 2;
        continue;
      }
      const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      if (hexLen) {
        const h = s.slice(i + 2, i + 2 + hexLen);
        if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== hexLen) return fail();
        out += String.fromCodePoint(parseInt(h, 16));
        i += 2 + hexLen;
        continue;
      }
      if (e === '\n') {
        i += 2;
        continue;
      }
      return fail();
    }
    out += c;
    i++;
  }
}

const INT_RE = /^[-+]?(0|[1-9][0-9]*)$/;
const FLOAT_RE = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

export function resolvePlain(s: string): YamlValue {
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (s === 'true' || s === 'True' || s === 'TRUE') return true;
  if (s === 'false' || s === 'False' || s === 'FALSE') return false;
  if (INT_RE.test(s)) return Number(s);
  if (FLOAT_RE.test(s) && /[0-9]/.test(s)) return Number(s);
  return s;
}

class FlowParser {
  pos = 0;
  constructor(
    private s: string,
    private fail: (off: number, msg: string) => never,
  ) {}

  skipWs(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos])) this.pos++;
  }

  parseValue(): YamlValue {
    this.skipWs();
    const c = this.s[this.pos];
    if (c === '[') {
      this.pos++;
      const arr: YamlValue[] = [];
      for (;;) {
        this.skipWs();
        if (this.s[this.pos] === ']') {
          this.pos++;
          return arr;
        }
        arr.push(this.parseValue());
        this.skipWs();
        if (this.s[this.pos] === ',') this.pos++;
        else if (this.s[this.pos] !== ']') this.fail(this.pos, `expected ',' or ']' in flow sequence`);
      }
    }
    if (c === '{') {
      this.pos++;
      const obj: { [k: string]: YamlValue } = {};
      for (;;) {
        this.skipWs();
        if (this.s[this.pos] === '}') {
          this.pos++;
          return obj;
        }
        const k = this.parseScalar(true);
        this.skipWs();
        if (this.s[this.pos] !== ':') this.fail(this.pos, `expected ':' after key '${String(k)}' in flow mapping`);
        this.pos++;
        this.skipWs();
        const v = this.s[this.pos] === ',' || this.s[this.pos] === '}' ? null : this.parseValue();
        obj[String(k)] = v;
        this.skipWs();
        if (this.s[this.pos] === ',') this.pos++;
        else if (this.s[this.pos] !== '}') this.fail(this.pos, `expected ',' or '}' in flow mapping`);
      }
    }
    if (c === undefined) this.fail(this.pos, 'unexpected end of flow collection');
    return this.parseScalar(false);
  }

  private parseScalar(isKey: boolean): YamlValue {
    const c = this.s[this.pos];
    if (c === '"' || c === "'") {
      const { value, end } = readQuoted(this.s, this.pos, () => this.fail(this.pos, 'unterminated quoted string'));
      this.pos = end;
      return value;
    }
    const start = this.pos;
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos];
      if (ch === ',' || ch === ']' || ch === '}' || ch === '[' || ch === '{') break;
      if (ch === ':' && (isKey || /[\s,\]}]/.test(this.s[this.pos + 1] ?? ' '))) {
        if (isKey) break;
      }
      this.pos++;
    }
    const raw = this.s.slice(start, this.pos).trim();
    if (raw === '' && !isKey) this.fail(start, 'empty value in flow collection');
    return isKey ? raw : resolvePlain(raw);
  }
}
