// Stand-in for a match or target nfreplay does not implement, kept only when the user chose
// --unsupported=assume-match|assume-nomatch|skip-rule. The words after `-m NAME`/`-j NAME` are kept
// verbatim so the rule can be printed back; the engine evaluates the match as `result`.
import { MOD_UNSUPPORTED } from '../../layout.js';
import type { MatchModule, TargetModule } from './types.js';

export interface UnsupportedParams {
  /** The module name as written. */
  name: string;
  /** Its option words as written. */
  words: string[];
  /** assume-match: true; assume-nomatch: false; skip-rule: the rule is not evaluated at all. */
  result: boolean;
}

function word(w: string): string {
  return w !== '' && !/[\s"\\']/.test(w) ? ` ${w}` : ` "${w.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

export const unsupportedMatch: MatchModule<UnsupportedParams> = {
  kind: 'match',
  name: 'unsupported',
  id: MOD_UNSUPPORTED,
  options: [],
  init: () => ({ name: '', words: [], result: true }),
  parse: () => false,
  alias: (p) => p.name,
  save: (p) => p.words.map(word).join(''),
};

export const unsupportedTarget: TargetModule<UnsupportedParams> = {
  kind: 'target',
  name: 'unsupported',
  id: MOD_UNSUPPORTED,
  terminal: false,
  options: [],
  init: () => ({ name: '', words: [], result: true }),
  parse: () => false,
  alias: (p) => p.name,
  save: (p) => p.words.map(word).join(''),
};

// ---- lowering (added by the ENGINE work): params -> the image words its twin in assembly/modules/ reads
unsupportedMatch.lower = (p) => [p.result ? 1 : 0];
unsupportedTarget.lower = () => [];
