// The core-side module registry: one switch over MOD_* ids (src/layout.ts). Each module's params
// words are produced by its `lower` in src/rules/modules/<name>.ts (or src/compile/lower-pending.ts).
import {
  MOD_TCP, MOD_UDP, MOD_ICMP, MOD_SCTP, MOD_MULTIPORT, MOD_CONNTRACK, MOD_STATE, MOD_MARK,
  MOD_CONNMARK, MOD_COMMENT, MOD_ADDRTYPE, MOD_STATISTIC, MOD_RECENT, MOD_IPRANGE, MOD_LENGTH,
  MOD_TTL, MOD_LIMIT, MOD_PKTTYPE, MOD_DSCP, MOD_TOS, MOD_PHYSDEV, MOD_UNSUPPORTED,
  MOD_REJECT, MOD_LOG, MOD_NFLOG, MOD_MARK_T, MOD_CONNMARK_T, MOD_DNAT, MOD_SNAT, MOD_MASQUERADE,
  MOD_REDIRECT, MOD_TRACE, MOD_CT, V_CONTINUE, V_DROP, MANIP_SRC, MANIP_DST,
} from '../../src/layout';
import { pw } from './common';
import { tcpMatch, udpMatch } from './tcpudp';
import { icmpMatch } from './icmp';
import { multiportMatch } from './multiport';
import { conntrackMatch, stateMatch } from './conntrack';
import { markMatch, connmarkMatch, markTarget, connmarkTarget } from './mark';
import { addrtypeMatch } from './addrtype';
import { statisticMatch } from './statistic';
import { recentMatch } from './recent';
import { limitMatch } from './limit';
import { iprangeMatch, lengthMatch, ttlMatch, pkttypeMatch, dscpMatch, tosMatch, physdevMatch } from './misc';
import { rejectTarget, natTarget, masqueradeTarget, redirectTarget, ctTarget } from './targets';

export { hotdrop, clearHotdrop, setStateBase } from './common';

/** Run match `id` whose params are `n` image words at word `p`, for rule `rule`. */
export function matchOne(id: i32, p: i32, n: i32, rule: i32): bool {
  switch (id) {
    case MOD_TCP: return tcpMatch(p);
    case MOD_UDP: return udpMatch(p);
    case MOD_SCTP: return udpMatch(p);
    case MOD_ICMP: return icmpMatch(p);
    case MOD_MULTIPORT: return multiportMatch(p);
    case MOD_CONNTRACK: return conntrackMatch(p);
    case MOD_STATE: return stateMatch(p);
    case MOD_MARK: return markMatch(p);
    case MOD_CONNMARK: return connmarkMatch(p);
    case MOD_COMMENT: return true;
    case MOD_ADDRTYPE: return addrtypeMatch(p);
    case MOD_STATISTIC: return statisticMatch(p, rule);
    case MOD_RECENT: return recentMatch(p);
    case MOD_IPRANGE: return iprangeMatch(p);
    case MOD_LENGTH: return lengthMatch(p);
    case MOD_TTL: return ttlMatch(p);
    case MOD_LIMIT: return limitMatch(p);
    case MOD_PKTTYPE: return pkttypeMatch(p);
    case MOD_DSCP: return dscpMatch(p);
    case MOD_TOS: return tosMatch(p);
    case MOD_PHYSDEV: return physdevMatch(p);
    case MOD_UNSUPPORTED: return pw(p, 0) != 0;
    default: return false;
  }
}

/** Run target `id`: V_CONTINUE, or a verdict that ends the table. */
export function targetOne(id: i32, p: i32, n: i32, rule: i32): i32 {
  switch (id) {
    case MOD_REJECT: return rejectTarget(p);
    case MOD_LOG: case MOD_NFLOG: case MOD_TRACE: return V_CONTINUE;
    case MOD_MARK_T: return markTarget(p);
    case MOD_CONNMARK_T: return connmarkTarget(p);
    case MOD_DNAT: return natTarget(p, MANIP_DST);
    case MOD_SNAT: return natTarget(p, MANIP_SRC);
    case MOD_MASQUERADE: return masqueradeTarget(p);
    case MOD_REDIRECT: return redirectTarget(p);
    case MOD_CT: return ctTarget(p);
    case MOD_UNSUPPORTED: return V_CONTINUE;   // --unsupported approximation of a target: count, continue
    default: return V_DROP;
  }
}
