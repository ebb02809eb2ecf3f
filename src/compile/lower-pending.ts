// Lowering (module params -> image words read by assembly/modules/*) for modules whose file in
// src/rules/modules/ does not have its `lower` yet. Keyed by module name. Word formats are
// documented at each assembly twin. Moved into the module files once the rules work is done.
import type { LowerCtx } from '../rules/modules/types.js';

export type LowerFn = (p: any, ctx: LowerCtx) => number[];

const range = (r: [number, number] | null | undefined): [number, number] => (r ? [r[0], r[1]] : [0, 65535]);

/** tcp: [spmin, spmax, dpmin, dpmax, flgMask, flgCmp, option, invflags(1 sport 2 dport 4 flags 8 option)] */
function lowerTcp(p: any): number[] {
  const inv = (p.sportInv ? 1 : 0) | (p.dportInv ? 2 : 0) | (p.flagsInv ? 4 : 0) | (p.optionInv ? 8 : 0);
  return [...range(p.sport), ...range(p.dport), p.flagsMask ?? 0, p.flagsCmp ?? 0, p.option ?? 0, inv];
}

/** udp / sctp: [spmin, spmax, dpmin, dpmax, invflags] */
function lowerPorts(p: any): number[] {
  return [...range(p.sport), ...range(p.dport), (p.sportInv ? 1 : 0) | (p.dportInv ? 2 : 0)];
}

/** icmp: [type, codeMin, codeMax, invert]; no --icmp-type = any */
function lowerIcmp(p: any): number[] {
  if (p.set === false) return [0xff, 0, 0xff, p.invert ? 1 : 0];
  return [p.type, p.codeMin, p.codeMax, p.invert ? 1 : 0];
}

export const pendingLowers: Record<string, LowerFn> = {
  tcp: lowerTcp,
  udp: lowerPorts,
  sctp: lowerPorts,
  icmp: lowerIcmp,
  comment: () => [],
};
