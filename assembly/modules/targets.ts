// Targets other than MARK/CONNMARK: REJECT (drop + reply recorded), LOG/NFLOG/TRACE (continue),
// DNAT/SNAT/MASQUERADE/REDIRECT (via the NAT functions), CT --notrack / NOTRACK.
import { P_CTINFO, P_CT, CTINFO_UNTRACKED, V_CONTINUE, V_REJECT, V_ACCEPT, MANIP_SRC, MANIP_DST } from '../../src/layout';
import { PKT, pu, pw } from './common';
import { natSetup, natMasquerade, natRedirect } from '../engine-deps';

/** Replies the kernel would emit for REJECT, by --reject-with kind (index = params word 0). */
export const REJECT_COUNTS: usize = memory.data(16 * 8, 16);
export let lastRejectWith: i32 = 0;

/** REJECT params: [with] (0 icmp-net-unreachable, 1 host, 2 port, 3 proto, 4 net-prohibited,
 *  5 host-prohibited, 6 admin-prohibited, 7 tcp-reset) */
export function rejectTarget(p: i32): i32 {
  const w = pw(p, 0) & 15;
  lastRejectWith = w;
  const a = REJECT_COUNTS + (<usize>w << 3);
  store<u64>(a, load<u64>(a) + 1);
  return V_REJECT;
}

/** DNAT/SNAT params: [flags (NAT_*), minIp, maxIp (P_SADDR encoding), minPort, maxPort] */
export function natTarget(p: i32, manip: i32): i32 {
  return natSetup(manip, pw(p, 0), pu(p, 1), pu(p, 2), <u16>pu(p, 3), <u16>pu(p, 4));
}

/** MASQUERADE / REDIRECT params: [flags, minPort, maxPort] */
export function masqueradeTarget(p: i32): i32 {
  return natMasquerade(pw(p, 0), <u16>pu(p, 1), <u16>pu(p, 2));
}
export function redirectTarget(p: i32): i32 {
  return natRedirect(pw(p, 0), <u16>pu(p, 1), <u16>pu(p, 2));
}

/** CT params: [notrack]: the packet leaves conntrack alone (raw table, before ctIn). */
export function ctTarget(p: i32): i32 {
  if (pw(p, 0) != 0 && load<u32>(PKT, P_CT) == 0) store<u8>(PKT, CTINFO_UNTRACKED, P_CTINFO);
  return V_CONTINUE;
}

export { MANIP_SRC, MANIP_DST, V_ACCEPT };
