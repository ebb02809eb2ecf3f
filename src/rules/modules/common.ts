// Helpers shared by the module files (not a module).
import type { ArgReader, OptSpec } from './types.js';
import { parseUint, parsePortRange, hex } from '../util.js';

export function o(name: string, arg: boolean, invert = false, alias?: string): OptSpec {
  return alias ? { name, arg, invert, alias } : { name, arg, invert };
}

/** `value[/mask]` as xtables_parse_val_mask reads it (base-0 u32s; no mask = 0xffffffff). */
export function readValMask(args: ArgReader, what: string): { value: number; mask: number; hasMask: boolean } {
  const w = args.next(what);
  const slash = w.indexOf('/');
  const vs = slash < 0 ? w : w.slice(0, slash);
  const v = parseUint(vs);
  if (v === undefined) return args.fail(`bad value '${w}' for ${what}`);
  if (slash < 0) return { value: v, mask: 0xffffffff, hasMask: false };
  const m = parseUint(w.slice(slash + 1));
  if (m === undefined) return args.fail(`bad mask '${w}' for ${what}`);
  return { value: v, mask: m, hasMask: true };
}

export function readU32(args: ArgReader, what: string, min = 0, max = 0xffffffff): number {
  const w = args.next(what);
  const v = parseUint(w, max);
  if (v === undefined || v < min) return args.fail(`bad value '${w}' for ${what} (expected ${min}..${max})`);
  return v;
}

export function readPortRange(args: ArgReader, what: string, x6 = false): [number, number] {
  const w = args.next(what);
  const r = parsePortRange(w, x6);
  if (typeof r === 'string') return args.fail(`${r} for ${what}`);
  return r;
}

/** `a` or `a:b` as the tcp/udp/sctp save functions print a port range. */
export function portsText(r: [number, number]): string {
  return r[0] === r[1] ? `${r[0]}` : `${r[0]}:${r[1]}`;
}

export function inv(b: boolean): string {
  return b ? ' !' : '';
}

export { hex };

/** Value of a name in a table, case-insensitively; undefined when absent. */
export function lookupCI(table: Record<string, number>, s: string): number | undefined {
  const k = Object.keys(table).find((n) => n.toLowerCase() === s.toLowerCase());
  return k === undefined ? undefined : table[k];
}
