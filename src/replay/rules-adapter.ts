// The rules side (parser, printer, module registry) as the replay uses it.
import type { Ruleset, Rule } from '../rules/model.js';
import { parseRuleset, type ParseOptions } from '../rules/parse.js';
import { printRuleset, printRule } from '../rules/print.js';
import { findMatch, findTarget } from '../rules/modules/index.js';
import { ParseError } from '../rules/errors.js';

export interface RulesApi {
  parseRuleset(text: string, file: string, opts?: { unsupported?: string }): Ruleset;
  printRuleset(rs: Ruleset, opts: { counters: boolean }): string;
  printRule(r: Rule): string;
  findMatch(name: string): { name: string; save(p: unknown): string; alias?(p: unknown): string; lower?: (p: any, c: any) => number[] } | undefined;
  findTarget(name: string): { name: string; save(p: unknown): string; alias?(p: unknown): string; lower?: (p: any, c: any) => number[] } | undefined;
  isParseError(e: unknown): boolean;
}

export async function loadRulesApi(): Promise<RulesApi> {
  return {
    parseRuleset: (text, file, opts) => parseRuleset(text, file, opts as ParseOptions),
    printRuleset,
    printRule,
    findMatch: findMatch as RulesApi['findMatch'],
    findTarget: findTarget as RulesApi['findTarget'],
    isParseError: (e) => e instanceof ParseError,
  };
}

/** ` -m name opts...` for every match of the rule (save form). */
export function matchText(api: RulesApi, r: Rule): string {
  let s = '';
  for (const m of r.matches) {
    const mod = api.findMatch(m.module);
    if (!mod) { s += ` -m ${m.module}`; continue; }
    s += ` -m ${mod.alias ? mod.alias(m.params) : mod.name}${mod.save(m.params)}`;
  }
  return s;
}

/** The target's options (save form, after -j NAME). */
export function targetText(api: RulesApi, r: Rule): string {
  const t = r.target;
  if (!t || t.kind !== 'module') return '';
  const mod = api.findTarget(t.module);
  return mod ? mod.save(t.params) : '';
}
