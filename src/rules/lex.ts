// Splitting an iptables-restore line into words the way iptables' add_param_to_argv does:
// space/tab separate words; `"` opens and closes a quoted part (quotes removed); inside quotes
// a backslash takes the next character literally; outside quotes a backslash is an ordinary
// character. `!` is an ordinary word.
import { ParseError } from './errors.js';

export interface Word {
  text: string;
  /** 1-based column of the word's first character (of its opening quote, if quoted). */
  col: number;
  quoted: boolean;
}

export function splitWords(line: string, file: string, lineNo: number): Word[] {
  const L = new LineWords();
  lexLine(line, file, lineNo, L);
  const words: Word[] = [];
  for (let i = 0; i < L.n; i++) words.push({ text: L.text[i], col: L.col[i], quoted: L.quoted[i] !== 0 });
  return words;
}

/** The words of one line as splitWords gives them, in arrays reused from line to line (no object per word;
 *  the parser reads word i as text[i], col[i], quoted[i] for i < n). */
export class LineWords {
  n = 0;
  text: string[] = [];
  col = new Int32Array(64);
  quoted = new Uint8Array(64);

  push(text: string, col: number, quoted: boolean): void {
    const k = this.n;
    if (k === this.col.length) {
      const c = new Int32Array(k * 2); c.set(this.col); this.col = c;
      const q = new Uint8Array(k * 2); q.set(this.quoted); this.quoted = q;
    }
    this.text[k] = text;
    this.col[k] = col;
    this.quoted[k] = quoted ? 1 : 0;
    this.n = k + 1;
  }
}

// Known tokens (option and module names, common values): an unquoted word with the text of one is that string
// rather than a new slice of the line (no allocation; maps keyed by it find it by its cached hash). Same text,
// so no one can tell. One token per slot, the first registered wins.
const INTERN_MAX_LEN = 24;
const TOKENS: (string | undefined)[] = new Array(2048);
function internSlot(s: string, start: number, len: number): number {
  return (len * 131 + s.charCodeAt(start) * 31 + s.charCodeAt(start + len - 1) * 7 + s.charCodeAt(start + (len >> 1)) * 3 + s.charCodeAt(start + (len >> 2))) & 2047;
}
function sameText(line: string, start: number, k: string): boolean {
  for (let j = 0; j < k.length; j++) if (line.charCodeAt(start + j) !== k.charCodeAt(j)) return false;
  return true;
}
/** Register tokens the lexer returns as these strings (words of at most INTERN_MAX_LEN characters). */
export function internTokens(words: Iterable<string>): void {
  for (const w of words) {
    if (w.length === 0 || w.length > INTERN_MAX_LEN) continue;
    const k = internSlot(w, 0, w.length);
    if (TOKENS[k] === undefined) TOKENS[k] = w;
  }
}

/** The words of a line without quotes, s[from, to), into `out` (its words replaced; columns from `from`): words
 *  are the runs of non-blanks (backslashes are ordinary characters outside quotes), found by a char-code scan.
 *  The parser hands it the whole text and the line's range: reading a flat string is quicker than reading a
 *  slice of it character by character. spacesOnly: the caller knows s[from, to) has no tab, CR or LF. */
export function lexPlain(s: string, from: number, to: number, out: LineWords, spacesOnly = false): void {
  out.n = 0;
  let i = from;
  while (i < to) {
    let c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13 || c === 10) { i++; continue; }
    const start = i;
    if (spacesOnly) { // the only blank is a space: the word ends at the next one (a native search)
      i = s.indexOf(' ', i);
      if (i < 0 || i > to) i = to;
    } else {
      do { i++; c = i < to ? s.charCodeAt(i) : 32; } while (c !== 32 && c !== 9 && c !== 13 && c !== 10);
    }
    const len = i - start;
    let w: string | undefined;
    if (len <= INTERN_MAX_LEN) {
      const k = TOKENS[internSlot(s, start, len)];
      if (k !== undefined && k.length === len && sameText(s, start, k)) w = k;
    }
    out.push(w ?? s.slice(start, i), start - from + 1, false);
  }
}

/** The words of `line` into `out` (its words replaced); splitWords returns them as Word objects. */
export function lexLine(line: string, file: string, lineNo: number, out: LineWords): void {
  if (!line.includes('"')) {
    lexPlain(line, 0, line.length, out);
    return;
  }
  out.n = 0;
  // With quotes: a word's text is built from slices of the line (runs of ordinary characters), not one
  // character at a time (a comment of 40 characters was a chain of 40 concatenations kept in the model).
  let buf = '';
  let inWord = false;
  let start = 0;
  let quoted = false;
  let quoteOpen = false;
  let quoteCol = 0;
  let seg = -1; // start of the current run of literal characters in the line, or -1
  const n = line.length;
  for (let i = 0; i < n; i++) {
    const c = line.charCodeAt(i);
    if (quoteOpen) {
      if (c === 92) { // backslash: the next character is taken literally
        if (seg >= 0) buf += line.slice(seg, i);
        seg = i + 1; // the escaped character starts the next run (even when it is a quote or a backslash)
        i++;
      } else if (c === 34) {
        // Closing quote ends the word (add_param_to_argv emits it, even when empty).
        if (seg >= 0) buf += line.slice(seg, i);
        seg = -1;
        quoteOpen = false;
        out.push(buf, start + 1, true);
        buf = '';
        inWord = false;
        quoted = false;
      } else if (seg < 0) {
        seg = i;
      }
      continue;
    }
    if (c === 34) {
      if (seg >= 0) { buf += line.slice(seg, i); seg = -1; }
      if (!inWord) {
        inWord = true;
        start = i;
      }
      quoteOpen = true;
      quoted = true;
      quoteCol = i + 1;
      continue;
    }
    if (c === 32 || c === 9 || c === 13 || c === 10) {
      if (seg >= 0) { buf += line.slice(seg, i); seg = -1; }
      if (inWord) {
        out.push(buf, start + 1, quoted);
        buf = '';
        inWord = false;
        quoted = false;
      }
      continue;
    }
    if (!inWord) {
      inWord = true;
      start = i;
    }
    if (seg < 0) seg = i;
  }
  if (seg >= 0) buf += line.slice(seg, n);
  if (quoteOpen) {
    throw new ParseError({ file, line: lineNo, column: quoteCol }, '"', 'unterminated quote');
  }
  if (inWord) out.push(buf, start + 1, quoted);
}
