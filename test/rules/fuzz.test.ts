// Random mutations of valid dumps (deleted tokens, swapped lines, garbage bytes, ...): the parser either returns
// a ruleset or throws a ParseError, never anything else; and whatever parses prints, and the print parses again.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { parseRuleset } from '../../src/rules/parse.js';
import { printRuleset } from '../../src/rules/print.js';
import { ParseError } from '../../src/rules/errors.js';
import { mulberry32 } from '../../src/util/random.js';

const SEED = Number(process.env.NFR_FUZZ_SEED ?? 0x5eed1234);
const ITER = Number(process.env.NFR_FUZZ_ITER ?? 4000);

const rng = mulberry32;

const dir = new URL('../fixtures/rulesets/', import.meta.url).pathname;
const seeds = readdirSync(dir).filter((f) => f.endsWith('.rules') || f.endsWith('.saved')).map((f) => readFileSync(dir + f, 'utf8'));
const GARBAGE = ['"', '\\', '!', '[', ']', ':', '-', '--', '/', ',', '\t', ' ', '\0', '\u00e9', '\ufffd', '*', '#', '0x', '999999999999', '-A', '-j', '-m', '-p', 'COMMIT', '\r'];

function mutate(text: string, r: () => number): string {
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  let lines = text.split('\n');
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(r() * lines.length);
    const words = lines[i].split(' ');
    switch (Math.floor(r() * 8)) {
      case 0: // delete a token
        words.splice(Math.floor(r() * words.length), 1);
        lines[i] = words.join(' ');
        break;
      case 1: { // swap two lines
        const j = Math.floor(r() * lines.length);
        [lines[i], lines[j]] = [lines[j], lines[i]];
        break;
      }
      case 2: { // garbage bytes somewhere in the line
        const c = Math.floor(r() * (lines[i].length + 1));
        let g = '';
        for (let m = 1 + Math.floor(r() * 3); m > 0; m--) g += r() < 0.5 ? pick(GARBAGE) : String.fromCharCode(Math.floor(r() * 256));
        lines[i] = lines[i].slice(0, c) + g + lines[i].slice(c);
        break;
      }
      case 3: // duplicate a token
        words.splice(Math.floor(r() * words.length), 0, pick(words));
        lines[i] = words.join(' ');
        break;
      case 4: // delete a line
        lines.splice(i, 1);
        break;
      case 5: // duplicate a line
        lines.splice(i, 0, lines[i]);
        break;
      case 6: // replace a token with a token from another line
        words[Math.floor(r() * words.length)] = pick(pick(lines).split(' '));
        lines[i] = words.join(' ');
        break;
      default: // truncate the line
        lines[i] = lines[i].slice(0, Math.floor(r() * lines[i].length));
    }
    if (lines.length === 0) lines = [''];
  }
  return lines.join('\n');
}

describe('mutated dumps', () => {
  it(`${ITER} mutations: a ParseError or a parse, never another exception (seed ${SEED})`, () => {
    const r = rng(SEED);
    let parsed = 0;
    let errors = 0;
    for (let i = 0; i < ITER; i++) {
      const text = mutate(seeds[i % seeds.length], r);
      let out: string;
      try {
        const rs = parseRuleset(text, 'm', { unsupported: i % 3 === 0 ? 'assume-match' : 'error' });
        out = printRuleset(rs, { counters: i % 2 === 0 });
        parsed++;
      } catch (e) {
        if (e instanceof ParseError) {
          expect(e.message.startsWith(`m:${e.line}:${e.column}: `), `seed ${SEED} iteration ${i}`).toBe(true);
          errors++;
          continue;
        }
        throw new Error(`seed ${SEED} iteration ${i}: ${(e as Error).stack}\n--- input ---\n${text}`);
      }
      try {
        parseRuleset(out, 'printed', { unsupported: 'assume-match' });
      } catch (e) {
        throw new Error(`seed ${SEED} iteration ${i}: the printed form does not parse: ${(e as Error).message}\n--- input ---\n${text}\n--- printed ---\n${out}`);
      }
    }
    expect(parsed).toBeGreaterThan(ITER / 20);
    expect(errors).toBeGreaterThan(ITER / 4);
  });
});
