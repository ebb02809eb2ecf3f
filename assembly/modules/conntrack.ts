// xt_conntrack.c (revision 3) and xt_state.c. State bits are CTS_* of src/layout.ts.
// Quirk kept: with no ct the match returns whether a state test was given (after that test), so
// `--ctstate INVALID --ctorigdst X` matches every INVALID packet.
import {
  P_CT, P_CTINFO, P_CTDIR, CTINFO_NEW, CTINFO_ESTABLISHED, CTINFO_ESTABLISHED_REPLY, CTINFO_RELATED,
  CTINFO_RELATED_REPLY, CTINFO_UNTRACKED, CTS_INVALID, CTS_NEW, CTS_RELATED, CTS_ESTABLISHED,
  CTS_UNTRACKED, CTS_SNAT, CTS_DNAT, IPS_SRC_NAT, IPS_DST_NAT,
} from '../../src/layout';
import { PKT, pu, pw, inRange } from './common';
import { ctStatus, ctProto, ctAddr, ctPort, ctExpiresSec } from '../engine-deps';

// XT_CONNTRACK_* match/invert flag bits
const F_STATE = 1, F_PROTO = 2, F_ORIGSRC = 4, F_ORIGDST = 8, F_REPLSRC = 16, F_REPLDST = 32;
const F_STATUS = 64, F_EXPIRES = 128, F_ORIGSRC_PORT = 256, F_ORIGDST_PORT = 512;
const F_REPLSRC_PORT = 1024, F_REPLDST_PORT = 2048, F_DIRECTION = 4096;

/** CTS_* bit of the packet's ctinfo (no ct: INVALID; raw NOTRACK: UNTRACKED). */
export function stateBit(): u32 {
  const ci = <i32>load<u8>(PKT, P_CTINFO);
  if (load<u32>(PKT, P_CT) == 0) return ci == CTINFO_UNTRACKED ? CTS_UNTRACKED : CTS_INVALID;
  if (ci == CTINFO_NEW) return CTS_NEW;
  if (ci == CTINFO_ESTABLISHED || ci == CTINFO_ESTABLISHED_REPLY) return CTS_ESTABLISHED;
  if (ci == CTINFO_RELATED || ci == CTINFO_RELATED_REPLY) return CTS_RELATED;
  return CTS_INVALID;
}

/** state params: [mask] (an inverted --state is stored as the complemented mask, as libxt_state does) */
export function stateMatch(p: i32): bool {
  return (pu(p, 0) & stateBit()) != 0;
}

// @ts-ignore: decorator
@inline function addrFails(ct: u32, dir: i32, which: i32, p: i32, k: i32, inv: bool): bool {
  const a = ctAddr(ct, dir, which);
  return (((a ^ pu(p, k)) & pu(p, k + 1)) == 0) == inv;
}

// @ts-ignore: decorator
@inline function portFails(ct: u32, dir: i32, which: i32, p: i32, k: i32, inv: bool): bool {
  return inRange(<u32>ctPort(ct, dir, which), pu(p, k), pu(p, k + 1)) == inv;
}

/** conntrack params (24 words): [matchFlags, invFlags, stateMask, l4proto,
 *  origsrc, origsrcMask, origdst, origdstMask, replsrc, replsrcMask, repldst, repldstMask (P_SADDR encoding),
 *  origsrcPortLo, Hi, origdstPortLo, Hi, replsrcPortLo, Hi, repldstPortLo, Hi,
 *  statusMask, expiresMin, expiresMax, reserved] */
export function conntrackMatch(p: i32): bool {
  const mf = pw(p, 0);
  const inv = pw(p, 1);
  const ct = load<u32>(PKT, P_CT);
  if (mf & F_STATE) {
    let bit = stateBit();
    // the SNAT/DNAT virtual bits only matter when the mask asks for them
    if (ct != 0 && (pu(p, 2) & (CTS_SNAT | CTS_DNAT)) != 0) {
      const st = ctStatus(ct);
      if (st & IPS_SRC_NAT) bit |= CTS_SNAT;
      if (st & IPS_DST_NAT) bit |= CTS_DNAT;
    }
    if (((pu(p, 2) & bit) != 0) == ((inv & F_STATE) != 0)) return false;
  }
  if (ct == 0) return (mf & F_STATE) != 0;
  if (mf & F_DIRECTION) {
    // --ctdir ORIGINAL: no invert bit; REPLY: invert bit set (libxt_conntrack)
    if ((load<u8>(PKT, P_CTDIR) == 0) == ((inv & F_DIRECTION) != 0)) return false;
  }
  if ((mf & F_ORIGSRC) && addrFails(ct, 0, 0, p, 4, (inv & F_ORIGSRC) != 0)) return false;
  if ((mf & F_ORIGDST) && addrFails(ct, 0, 1, p, 6, (inv & F_ORIGDST) != 0)) return false;
  if ((mf & F_REPLSRC) && addrFails(ct, 1, 0, p, 8, (inv & F_REPLSRC) != 0)) return false;
  if ((mf & F_REPLDST) && addrFails(ct, 1, 1, p, 10, (inv & F_REPLDST) != 0)) return false;
  if (mf & F_PROTO) {
    if ((<i32>ctProto(ct) == pw(p, 3)) == ((inv & F_PROTO) != 0)) return false;
  }
  if ((mf & F_ORIGSRC_PORT) && portFails(ct, 0, 0, p, 12, (inv & F_ORIGSRC_PORT) != 0)) return false;
  if ((mf & F_ORIGDST_PORT) && portFails(ct, 0, 1, p, 14, (inv & F_ORIGDST_PORT) != 0)) return false;
  if ((mf & F_REPLSRC_PORT) && portFails(ct, 1, 0, p, 16, (inv & F_REPLSRC_PORT) != 0)) return false;
  if ((mf & F_REPLDST_PORT) && portFails(ct, 1, 1, p, 18, (inv & F_REPLDST_PORT) != 0)) return false;
  if (mf & F_STATUS) {
    if (((pu(p, 20) & ctStatus(ct)) != 0) == ((inv & F_STATUS) != 0)) return false;
  }
  if (mf & F_EXPIRES) {
    if (inRange(ctExpiresSec(ct), pu(p, 21), pu(p, 22)) == ((inv & F_EXPIRES) != 0)) return false;
  }
  return true;
}
