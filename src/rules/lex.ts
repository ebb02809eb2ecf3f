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

/** The words of `line` into `out` (its words replaced); splitWords returns them as Word objects. */
export function lexLine(line: string, file: string, lineNo: number, out: LineWords): void {
  out.n = 0;
  if (!line.includes('"')) {
    // No quotes: words are the runs of non-blanks (backslashes are ordinary characters outside quotes).
    // A scan by char code (no regex match array per word).
    const n = line.length;
    let i = 0;
    while (i < n) {
      let c = line.charCodeAt(i);
      if (c === 32 || c === 9 || c === 13 || c === 10) { i++; continue; }
      const start = i;
      do { i++; c = i < n ? line.charCodeAt(i) : 32; } while (c !== 32 && c !== 9 && c !== 13 && c !== 10);
      out.push(line.slice(start, i), start + 1, false);
    }
    return;
  }
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
