// The registry of match and target modules: one line per module. Its twin is assembly/modules/index.ts
// (same MOD_* ids from src/layout.ts).
import type { MatchModule, TargetModule } from './types.js';
import { tcp } from './tcp.js';
import { udp } from './udp.js';
import { sctp } from './sctp.js';
import { icmp } from './icmp.js';
import { multiport } from './multiport.js';
import { conntrack, state } from './conntrack.js';
import { mark } from './mark.js';
import { connmark } from './connmark.js';
import { comment } from './comment.js';
import { addrtype } from './addrtype.js';
import { statistic } from './statistic.js';
import { recent } from './recent.js';
import { iprange } from './iprange.js';
import { length } from './length.js';
import { ttl } from './ttl.js';
import { limit } from './limit.js';
import { pkttype } from './pkttype.js';
import { dscp } from './dscp.js';
import { tos } from './tos.js';
import { physdev } from './physdev.js';
import { nfacct } from './nfacct.js';
import { REJECT } from './REJECT.js';
import { LOG } from './LOG.js';
import { NFLOG } from './NFLOG.js';
import { MARK } from './MARK_T.js';
import { CONNMARK } from './CONNMARK_T.js';
import { DNAT } from './DNAT.js';
import { SNAT } from './SNAT.js';
import { MASQUERADE } from './MASQUERADE.js';
import { REDIRECT } from './REDIRECT.js';
import { TRACE } from './TRACE.js';
import { CT, NOTRACK } from './CT.js';
import { unsupportedMatch, unsupportedTarget } from './unsupported.js';

export const MATCHES: readonly MatchModule[] = [
  tcp, udp, sctp, icmp, multiport, conntrack, state, mark, connmark, comment, addrtype, statistic, recent, iprange,
  length, ttl, limit, pkttype, dscp, tos, physdev, nfacct,
];

export const TARGETS: readonly TargetModule[] = [
  REJECT, LOG, NFLOG, MARK, CONNMARK, DNAT, SNAT, MASQUERADE, REDIRECT, TRACE, CT, NOTRACK,
];

const matchByName = new Map<string, MatchModule>(MATCHES.map((m) => [m.name, m]));
const targetByName = new Map<string, TargetModule>(TARGETS.map((t) => [t.name, t]));

/** A match module by the name after -m (exact, as iptables loads libxt_<name>.so). */
export function findMatch(name: string): MatchModule | undefined {
  return matchByName.get(name);
}

/** A target module by the name after -j. */
export function findTarget(name: string): TargetModule | undefined {
  return targetByName.get(name);
}

/** The module of a model Match/Target (`module` field), including the 'unsupported' stand-in. */
export function matchModule(module: string): MatchModule {
  const m = module === unsupportedMatch.name ? unsupportedMatch : matchByName.get(module);
  if (!m) throw new Error(`no match module '${module}'`);
  return m;
}

export function targetModule(module: string): TargetModule {
  const t = module === unsupportedTarget.name ? unsupportedTarget : targetByName.get(module);
  if (!t) throw new Error(`no target module '${module}'`);
  return t;
}

/** iptables target extensions nfreplay does not implement (an error, or approximated with --unsupported). */
export const KNOWN_UNSUPPORTED_TARGETS = new Set([
  'QUEUE', 'NFQUEUE', 'TCPMSS', 'TPROXY', 'CLASSIFY', 'DSCP', 'TOS', 'TTL', 'ECN', 'HMARK', 'IDLETIMER', 'LED', 'NETMAP',
  'SET', 'SECMARK', 'CONNSECMARK', 'SYNPROXY', 'CHECKSUM', 'AUDIT', 'RATEEST', 'TEE', 'CLUSTERIP', 'ULOG', 'DNPT', 'SNPT',
  'HL', 'TCPOPTSTRIP', 'NETMAP', 'MIRROR', 'SAME', 'NFACCT',
]);

export { unsupportedMatch, unsupportedTarget };
