// Lowering (module params -> image words read by assembly/modules/*) for modules whose file in
// src/rules/modules/ does not have its `lower` yet. Keyed by module name (targets: '-j NAME').
// Word formats are documented at each assembly twin. Addresses go to the core in the P_SADDR
// encoding (wire bytes as a little-endian u32) unless the twin says host order.
import type { LowerCtx } from '../rules/modules/types.js';
import { wireAddr } from './wire.js';

export type LowerFn = (p: any, ctx: LowerCtx) => number[];

const range = (r: [number, number] | null | undefined): [number, number] => (r ? [r[0], r[1]] : [0, 65535]);
const b = (x: unknown) => (x ? 1 : 0);

/** tcp: [spmin, spmax, dpmin, dpmax, flgMask, flgCmp, option, invflags(1 sport 2 dport 4 flags 8 option)] */
function lowerTcp(p: any): number[] {
  const inv = b(p.sportInv) | (b(p.dportInv) << 1) | (b(p.flagsInv) << 2) | (b(p.optionInv) << 3);
  return [...range(p.sport), ...range(p.dport), p.flagsMask ?? 0, p.flagsCmp ?? 0, p.option ?? 0, inv];
}

/** udp / sctp: [spmin, spmax, dpmin, dpmax, invflags] */
function lowerPorts(p: any): number[] {
  return [...range(p.sport), ...range(p.dport), b(p.sportInv) | (b(p.dportInv) << 1)];
}

/** icmp: [type, codeMin, codeMax, invert]; no --icmp-type = any */
function lowerIcmp(p: any): number[] {
  if (p.set === false) return [0xff, 0, 0xff, b(p.invert)];
  return [p.type, p.codeMin, p.codeMax, b(p.invert)];
}

/** multiport: [flags (1 src, 2 dst, 3 either), invert, nranges, lo, hi, ...] */
function lowerMultiport(p: any): number[] {
  const f = p.dir === 'src' ? 1 : p.dir === 'dst' ? 2 : 3;
  const out = [f, b(p.invert), p.ports.length];
  for (const [lo, hi] of p.ports) out.push(lo, hi);
  return out;
}

// XT_CONNTRACK_* bits (assembly/modules/conntrack.ts)
const F_STATE = 1, F_PROTO = 2, F_ORIGSRC = 4, F_ORIGDST = 8, F_REPLSRC = 16, F_REPLDST = 32;
const F_STATUS = 64, F_EXPIRES = 128, F_ORIGSRC_PORT = 256, F_ORIGDST_PORT = 512;
const F_REPLSRC_PORT = 1024, F_REPLDST_PORT = 2048, F_DIRECTION = 4096;

/** conntrack: 24 words, see assembly/modules/conntrack.ts */
function lowerConntrack(p: any): number[] {
  const w = new Array(24).fill(0);
  let mf = 0, inv = 0;
  const flag = (x: { invert?: boolean } | null, bit: number) => {
    if (!x) return false;
    mf |= bit;
    if (x.invert) inv |= bit;
    return true;
  };
  if (flag(p.state, F_STATE)) w[2] = p.state.mask;
  if (flag(p.proto, F_PROTO)) w[3] = p.proto.proto;
  const addr = (a: any, bit: number, k: number) => { if (flag(a, bit)) { w[k] = wireAddr(a.addr & a.mask); w[k + 1] = wireAddr(a.mask); } };
  addr(p.origSrc, F_ORIGSRC, 4);
  addr(p.origDst, F_ORIGDST, 6);
  addr(p.replSrc, F_REPLSRC, 8);
  addr(p.replDst, F_REPLDST, 10);
  const port = (r: any, bit: number, k: number) => { if (flag(r, bit)) { w[k] = r.min; w[k + 1] = r.max; } };
  port(p.origSrcPort, F_ORIGSRC_PORT, 12);
  port(p.origDstPort, F_ORIGDST_PORT, 14);
  port(p.replSrcPort, F_REPLSRC_PORT, 16);
  port(p.replDstPort, F_REPLDST_PORT, 18);
  if (flag(p.status, F_STATUS)) w[20] = p.status.mask;
  if (flag(p.expire, F_EXPIRES)) { w[21] = p.expire.min; w[22] = p.expire.max; }
  if (p.dir) { mf |= F_DIRECTION; if (p.dir === 'REPLY') inv |= F_DIRECTION; }
  w[0] = mf; w[1] = inv;
  return w;
}

/** state: [mask] (an inverted --state is the complemented mask, as libxt_state stores it) */
function lowerState(p: any): number[] {
  return [p.invert ? ~p.mask & 0x1f : p.mask];
}

/** mark / connmark: [value, mask, invert] */
function lowerMark(p: any): number[] {
  return [p.mark | 0, p.mask | 0, b(p.invert)];
}

/** addrtype: [srcMask, dstMask, flags (1 inv src, 2 inv dst, 4 limit in, 8 limit out)] */
function lowerAddrtype(p: any): number[] {
  return [p.src, p.dst, b(p.srcInv) | (b(p.dstInv) << 1) | (b(p.limitIfaceIn) << 2) | (b(p.limitIfaceOut) << 3)];
}

/** statistic: [mode (0 random, 1 nth), invert, probability, every, count0 = every - packet, slot] */
function lowerStatistic(p: any, ctx: LowerCtx): number[] {
  if (p.mode === 'nth') return [1, b(p.invert), 0, p.every, (p.every - p.packet) >>> 0, ctx.stateSlot()];
  return [0, b(p.invert), p.probability >>> 0, 0, 0, 0];
}

// xt_recent check_set bits
const R_CHECK = 1, R_SET = 2, R_UPDATE = 4, R_REMOVE = 8, R_TTL = 16, R_REAP = 32;
/** recent: [tableId, checkSet, seconds, hitcount, side (0 source, 1 dest), mask (wire), invert] */
function lowerRecent(p: any, ctx: LowerCtx): number[] {
  const cs = (p.cmd === 'set' ? R_SET : p.cmd === 'rcheck' ? R_CHECK : p.cmd === 'update' ? R_UPDATE : p.cmd === 'remove' ? R_REMOVE : 0)
    | (p.rttl ? R_TTL : 0) | (p.reap ? R_REAP : 0);
  return [ctx.recentId(p.name), cs, p.seconds, p.hitcount, p.side === 'dest' ? 1 : 0, wireAddr(p.mask), b(p.invert)];
}

/** iprange: [flags (1 src, 2 dst, 0x10 src inv, 0x20 dst inv), srcMin, srcMax, dstMin, dstMax] (host order) */
function lowerIprange(p: any): number[] {
  let f = 0;
  if (p.src) f |= 1 | (p.src.invert ? 0x10 : 0);
  if (p.dst) f |= 2 | (p.dst.invert ? 0x20 : 0);
  return [f, p.src?.min ?? 0, p.src?.max ?? 0, p.dst?.min ?? 0, p.dst?.max ?? 0].map((x) => x | 0);
}

/** ttl: [mode (0 eq, 1 ne, 2 lt, 3 gt), value] */
function lowerTtl(p: any): number[] {
  return [['eq', 'ne', 'lt', 'gt'].indexOf(p.mode), p.ttl];
}

/** physdev: [bitmask, invert] (XT_PHYSDEV_OP_IN 1, OUT 2, BRIDGED 4, ISIN 8, ISOUT 16) */
function lowerPhysdev(p: any): number[] {
  let m = 0, inv = 0;
  const f = (x: { invert: boolean } | null, bit: number) => { if (x) { m |= bit; if (x.invert) inv |= bit; } };
  f(p.in, 1); f(p.out, 2); f(p.isBridged, 4); f(p.isIn, 8); f(p.isOut, 16);
  return [m, inv];
}

// ---- targets ----
/** DNAT/SNAT: [flags, minIp, maxIp (wire), minPort, maxPort] */
function lowerNat(p: any): number[] {
  const r = p.range;
  return [r.flags, wireAddr(r.minIp), wireAddr(r.maxIp), r.minPort, r.maxPort];
}
/** MASQUERADE/REDIRECT: [flags, minPort, maxPort] */
function lowerPortsT(p: any): number[] {
  return [p.range.flags, p.range.minPort, p.range.maxPort];
}
/** CONNMARK: [mode (0 set, 1 save, 2 restore), ctmark, ctmask, nfmask, shiftDir, shiftBits] */
function lowerConnmarkT(p: any): number[] {
  return [p.mode === 'set' ? 0 : p.mode === 'save' ? 1 : 2, p.mark | 0, p.ctmask | 0, p.nfmask | 0, 0, 0];
}

export const pendingLowers: Record<string, LowerFn> = {
  tcp: lowerTcp,
  udp: lowerPorts,
  sctp: lowerPorts,
  icmp: lowerIcmp,
  multiport: lowerMultiport,
  conntrack: lowerConntrack,
  state: lowerState,
  mark: lowerMark,
  connmark: lowerMark,
  comment: () => [],
  nfacct: () => [],
  addrtype: lowerAddrtype,
  statistic: lowerStatistic,
  recent: lowerRecent,
  iprange: lowerIprange,
  length: (p) => [p.min, p.max, b(p.invert)],
  ttl: lowerTtl,
  limit: (p, ctx) => [p.avg, p.burst, ctx.stateSlot()],
  pkttype: (p) => [p.type, b(p.invert)],
  dscp: (p) => [p.dscp, b(p.invert)],
  tos: (p) => [p.value, p.mask, b(p.invert)],
  physdev: lowerPhysdev,
  unsupported: (p) => [p.result ? 1 : 0],
  '-j REJECT': (p) => [p.with],
  '-j LOG': () => [],
  '-j NFLOG': () => [],
  '-j TRACE': () => [],
  '-j MARK': (p) => [p.mark | 0, p.mask | 0],
  '-j CONNMARK': lowerConnmarkT,
  '-j DNAT': lowerNat,
  '-j SNAT': lowerNat,
  '-j MASQUERADE': lowerPortsT,
  '-j REDIRECT': lowerPortsT,
  '-j CT': (p) => [b(p.notrack)],
  '-j NOTRACK': () => [1],
  '-j unsupported': () => [],
};
