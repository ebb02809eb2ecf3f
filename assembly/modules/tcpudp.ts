// xt_tcpudp.c: tcp, udp (and the sctp port part of xt_sctp.c). False on non-first fragments;
// a missing header sets hotdrop; TCP fragment offset 1 sets hotdrop ("evil TCP offset=1 frag").
import { P_FRAGOFF, P_L4OK, P_SPORT, P_DPORT, P_TCPFLAGS, P_L4, P_L4LEN } from '../../src/layout';
import { PKT, pw, pu, inRange, setHotdrop } from './common';

// @ts-ignore: decorator
@inline function portsMatch(p: i32, inv: i32): bool {
  const sp = <u32>load<u16>(PKT, P_SPORT);
  const dp = <u32>load<u16>(PKT, P_DPORT);
  if (inRange(sp, pu(p, 0), pu(p, 1)) == ((inv & 1) != 0)) return false;
  if (inRange(dp, pu(p, 2), pu(p, 3)) == ((inv & 2) != 0)) return false;
  return true;
}

/** tcp params: [spmin, spmax, dpmin, dpmax, flgMask, flgCmp, option, invflags(1 sport 2 dport 4 flags 8 option)] */
export function tcpMatch(p: i32): bool {
  const fo = load<u16>(PKT, P_FRAGOFF);
  if (fo != 0) {
    if (fo == 1) setHotdrop();
    return false;
  }
  if (load<u8>(PKT, P_L4OK) == 0) { setHotdrop(); return false; }
  const inv = pw(p, 7);
  if (!portsMatch(p, inv)) return false;
  if (((<u32>load<u8>(PKT, P_TCPFLAGS) & pu(p, 4)) == pu(p, 5)) == ((inv & 4) != 0)) return false;
  const opt = pu(p, 6);
  if (opt != 0) {
    const l4 = <usize>load<u32>(PKT, P_L4);
    const doff = (<u32>load<u8>(l4 + 12) >> 4) << 2;
    if (doff < 20 || doff > load<u32>(PKT, P_L4LEN)) { setHotdrop(); return false; }
    let found = false;
    let i: u32 = 20;
    while (i < doff) {
      const k = <u32>load<u8>(l4 + i);
      if (k == opt) { found = true; break; }
      if (k < 2) { i++; continue; }
      if (i + 1 >= doff) break;
      const len = <u32>load<u8>(l4 + i + 1);
      i += len != 0 ? len : 1;
    }
    if (found == ((inv & 8) != 0)) return false;
  }
  return true;
}

/** udp/sctp params: [spmin, spmax, dpmin, dpmax, invflags(1 sport 2 dport)] */
export function udpMatch(p: i32): bool {
  if (load<u16>(PKT, P_FRAGOFF) != 0) return false;
  if (load<u8>(PKT, P_L4OK) == 0) { setHotdrop(); return false; }
  return portsMatch(p, pw(p, 4));
}
