// Module lowering dispatch: every module lowers itself (`lower` in src/rules/modules/<name>.ts,
// read by its twin in assembly/modules/). Ids are the MOD_* constants of src/layout.ts.
import * as L from '../layout.js';
import type { LowerCtx } from '../rules/modules/types.js';
import type { Match } from '../rules/model.js';
import { matchModule, targetModule } from '../rules/modules/index.js';

const MATCH_IDS: Record<string, number> = {
  tcp: L.MOD_TCP, udp: L.MOD_UDP, icmp: L.MOD_ICMP, sctp: L.MOD_SCTP, multiport: L.MOD_MULTIPORT,
  conntrack: L.MOD_CONNTRACK, state: L.MOD_STATE, mark: L.MOD_MARK, connmark: L.MOD_CONNMARK,
  comment: L.MOD_COMMENT, addrtype: L.MOD_ADDRTYPE, statistic: L.MOD_STATISTIC, recent: L.MOD_RECENT,
  iprange: L.MOD_IPRANGE, length: L.MOD_LENGTH, ttl: L.MOD_TTL, limit: L.MOD_LIMIT,
  pkttype: L.MOD_PKTTYPE, dscp: L.MOD_DSCP, tos: L.MOD_TOS, physdev: L.MOD_PHYSDEV,
  unsupported: L.MOD_UNSUPPORTED,
  nfacct: L.MOD_COMMENT, // always matches (it only counts): src/rules/modules/nfacct.ts
};
const TARGET_IDS: Record<string, number> = {
  REJECT: L.MOD_REJECT, LOG: L.MOD_LOG, NFLOG: L.MOD_NFLOG, MARK: L.MOD_MARK_T, CONNMARK: L.MOD_CONNMARK_T,
  DNAT: L.MOD_DNAT, SNAT: L.MOD_SNAT, MASQUERADE: L.MOD_MASQUERADE, REDIRECT: L.MOD_REDIRECT,
  TRACE: L.MOD_TRACE, CT: L.MOD_CT, NOTRACK: L.MOD_CT,
  unsupported: L.MOD_UNSUPPORTED,
};
const CT_MATCHES = new Set(['state', 'conntrack', 'connmark']);
const CT_TARGETS = new Set(['CONNMARK', 'CT', 'NOTRACK', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT']);

export function moduleId(name: string, kind: 'match' | 'target'): number {
  const id = kind === 'match' ? MATCH_IDS[name] : TARGET_IDS[name];
  if (id === undefined) throw new Error(`module '${name}' has no core implementation`);
  return id;
}

/** moduleId without the throw: undefined for a module without a core id. */
export function knownModuleId(name: string, kind: 'match' | 'target'): number | undefined {
  return kind === 'match' ? MATCH_IDS[name] : TARGET_IDS[name];
}

export function needsConntrack(name: string, kind: 'match' | 'target'): boolean {
  return kind === 'match' ? CT_MATCHES.has(name) : CT_TARGETS.has(name);
}

export function lowerModule(name: string, kind: 'match' | 'target', params: unknown, ctx: LowerCtx, _m: Match | null): number[] {
  const mod = kind === 'match' ? matchModule(name) : targetModule(name);
  if (!mod.lower) throw new Error(`no lowering for ${kind} '${name}'`);
  return mod.lower(params, ctx);
}
