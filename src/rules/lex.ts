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

const PLAIN = /[^ \t\r\n]+/g;

export function splitWords(line: string, file: string, lineNo: number): Word[] {
  if (!line.includes('"')) {
    // No quotes: words are the runs of non-blanks (backslashes are ordinary characters outside quotes).
    const words: Word[] = [];
    PLAIN.lastIndex = 0;
    for (let m = PLAIN.exec(line); m; m = PLAIN.exec(line)) words.push({ text: m[0], col: m.index + 1, quoted: false });
    return words;
  }
  const out: Word[] = [];
  let buf = '';
  let inWord = false;
  let start = 0;
  let quoted = false;
  let quoteOpen = false;
  let quoteCol = 0;
  let escaped = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoteOpen) {
      if (escaped) {
        buf += c;
        escaped = false;
      } else if (c === '\\') {
        escaped = true;
      } else if (c === '"') {
        // Closing quote ends the word (add_param_to_argv emits it, even when empty).
        quoteOpen = false;
        out.push({ text: buf, col: start + 1, quoted: true });
        buf = '';
        inWord = false;
        quoted = false;
      } else {
        buf += c;
      }
      continue;
    }
    if (c === '"') {
      if (!inWord) {
        inWord = true;
        start = i;
      }
      quoteOpen = true;
      quoted = true;
      quoteCol = i + 1;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      if (inWord) {
        out.push({ text: buf, col: start + 1, quoted });
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
    buf += c;
  }
  if (quoteOpen) {
    throw new ParseError({ file, line: lineNo, column: quoteCol }, '"', 'unterminated quote');
  }
  if (inWord) out.push({ text: buf, col: start + 1, quoted });
  return out;
}
