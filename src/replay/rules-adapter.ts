// The rules side (parser, printer, module registry) as the replay uses it. Loaded by URL so this
// file builds whether or not those modules are present yet; switch to static imports once
// src/rules/{parse,print}.ts are committed.
import type { Ruleset, Rule } from '../rules/model.js';

export interface RulesApi {
  parseRuleset(text: string, file: string, opts?: { unsupported?: string }): Ruleset;
  printRuleset(rs: Ruleset, opts: { counters: boolean }): string;
  printRule(r: Rule): string;
  findMatch(name: string): { name: string; save(p: unknown): string; alias?(p: unknown): string; lower?: (p: any, c: any) => number[] } | undefined;
  findTarget(name: string): { name: string; save(p: unknown): string; alias?(p: unknown): string; lower?: (p: any, c: any) => number[] } | undefined;
  isParseError(e: unknown): boolean;
}

export async function loadRulesApi(): Promise<RulesApi> {
  const imp = (p: string) => import(new URL(p, import.meta.url).href);
  const [parse, print, reg, errs] = await Promise.all([
    imp('../rules/parse.js'), imp('../rules/print.js'), imp('../rules/modules/index.js'), imp('../rules/errors.js'),
  ]);
  return {
    parseRuleset: parse.parseRuleset,
    printRuleset: print.printRuleset,
    printRule: print.printRule,
    findMatch: reg.findMatch,
    findTarget: reg.findTarget,
    isParseError: (e) => e instanceof errs.ParseError,
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
