// TCP connection tracking as net/netfilter/nf_conntrack_proto_tcp.c (Linux 6.x): the state table
// tcp_conntracks[dir][packet kind][state] as data, tcp_valid_flags, tcp_in_window with
// td_end/td_maxend/td_maxwin/td_scale (tcp_be_liberal, tcp_loose), the IGNORE and INVALID cases,
// RST handling, reopening from TIME_WAIT/CLOSE, ASSURED and the timeout selection.
import {
  P_L4, P_L4LEN, P_IPLEN, P_IHL, P_JIFFIES, IPS_SEEN_REPLY, IPS_ASSURED, IPS_CONFIRMED,
  IPS_FIXED_TIMEOUT, SYS_TCP_LOOSE, SYS_TCP_BE_LIBERAL, SYS_TCP_MAX_RETRANS,
  SYS_TCP_TIMEOUT_SYN_SENT, SYS_TCP_TIMEOUT_SYN_RECV, SYS_TCP_TIMEOUT_ESTABLISHED,
  SYS_TCP_TIMEOUT_FIN_WAIT, SYS_TCP_TIMEOUT_CLOSE_WAIT, SYS_TCP_TIMEOUT_LAST_ACK,
  SYS_TCP_TIMEOUT_TIME_WAIT, SYS_TCP_TIMEOUT_CLOSE, SYS_TCP_TIMEOUT_MAX_RETRANS,
  SYS_TCP_TIMEOUT_UNACK, SYS_TCP_IGNORE_INVALID_RST,
} from '../src/layout';
import {
  CT_STATUS, CT_TIMEOUT, CT_TCPSTATE, CT_LAST_INDEX, CT_SEEN0, CT_SEEN_SIZE, SEEN_END, SEEN_MAXEND,
  SEEN_MAXWIN, SEEN_MAXACK, SEEN_SCALE, SEEN_FLAGS, CT_LAST_DIR, CT_RETRANS, CT_LAST_WSCALE,
  CT_LAST_FLAGS, CT_LAST_SEQ, CT_LAST_ACK, CT_LAST_END, CT_LAST_WIN,
  TCS_NONE, TCS_SYN_SENT, TCS_SYN_RECV, TCS_ESTABLISHED, TCS_FIN_WAIT, TCS_CLOSE_WAIT,
  TCS_LAST_ACK, TCS_TIME_WAIT, TCS_CLOSE, TCS_SYN_SENT2, TCS_MAX, TCS_IGNORE, TCS_RETRANS, TCS_UNACK,
} from '../src/layout-ct';
import { PKT } from './state';
import { sysctl } from './host';
import { hz, be16, be32 } from './dissect';

// Packet kinds (enum tcp_bit_set)
export const TCP_SYN_SET = 0;
export const TCP_SYNACK_SET = 1;
export const TCP_FIN_SET = 2;
export const TCP_ACK_SET = 3;
export const TCP_RST_SET = 4;
export const TCP_NONE_SET = 5;

// ip_ct_tcp_state.flags
const F_WINDOW_SCALE: u8 = 0x01;
const F_SACK_PERM: u8 = 0x02;
const F_CLOSE_INIT: u8 = 0x04;
const F_BE_LIBERAL: u8 = 0x08;
const F_DATA_UNACK: u8 = 0x10;
const F_MAXACK_SET: u8 = 0x20;
// last_flags
const F_EXP_CHALLENGE_ACK: u8 = 0x40;
const F_SIMULTANEOUS_OPEN: u8 = 0x04;

// tcp_in_window results (enum nf_ct_tcp_action)
const W_IGNORE = 0;
const W_INVALID = 1;
const W_ACCEPT = 2;

// tcpPacket results
export const TCP_R_INVALID = -1;   // -NF_ACCEPT: packet INVALID, ct detached
export const TCP_R_REPEAT = -2;    // -NF_REPEAT: kill the ct and look up again (reopen)
export const TCP_R_ACCEPT = 1;
export const TCP_R_KILL = 2;       // accepted, ct deleted right away (RST before any reply)

const sNO: u8 = <u8>TCS_NONE, sSS: u8 = <u8>TCS_SYN_SENT, sSR: u8 = <u8>TCS_SYN_RECV, sES: u8 = <u8>TCS_ESTABLISHED,
  sFW: u8 = <u8>TCS_FIN_WAIT, sCW: u8 = <u8>TCS_CLOSE_WAIT, sLA: u8 = <u8>TCS_LAST_ACK, sTW: u8 = <u8>TCS_TIME_WAIT,
  sCL: u8 = <u8>TCS_CLOSE, sS2: u8 = <u8>TCS_SYN_SENT2, sIV: u8 = <u8>TCS_MAX, sIG: u8 = <u8>TCS_IGNORE;

// tcp_conntracks[dir][kind][state], 2 x 6 x 10. We are a man in the middle that sees every packet
// but cannot know which ones arrive; each cell guesses the state of the current sender.
const TCP_CONNTRACKS: StaticArray<u8> = [
  // ---------------- ORIGINAL ----------------
  //      sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2
  /*syn*/ sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2,
  // NO->SS a new connection; SS->SS retransmitted SYN; S2->S2 late retransmitted SYN;
  // SR/ES/FW/CW/LA->IG a SYN in window outside SYN_SENT: the receiver answers RST, or we are out
  // of sync with a dead connection; TW/CL->SS reopened connection (RFC 1122)
  /*synack*/ sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR,
  // NO->IV too late; SS->IV the client cannot send SYN then SYN/ACK; S2->SR SYN/ACK to a SYN2 in
  // simultaneous open; SR->SR late retransmitted SYN/ACK in simultaneous open; ES..CL->IV invalid
  /*fin*/ sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV,
  // NO/SS/S2->IV no FIN before the SYN/ACK reply; SR/ES->FW close started; FW/CW->LA FIN seen both
  // ways, waiting for the last ACK; LA->LA retransmitted FIN; TW->TW; CL->CL
  /*ack*/ sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV,
  // NO->ES assumed (mid-stream pickup, tcp_loose); SS/S2->IV no SYN/ACK seen yet; SR->ES handshake
  // done; ES->ES; FW->CW close request answered by ACK; CW->CW; LA->TW last ACK (RFC 5961
  // challenge ACKs are filtered in code); TW->TW retransmitted last ACK; CL->CL
  /*rst*/ sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL,
  // a reset closes everything that exists; NO->IV nothing to reset
  /*none*/ sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV,
  // no SYN/FIN/ACK/RST: never valid
  // ---------------- REPLY ----------------
  //      sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2
  /*syn*/ sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2,
  // NO->IV never reached; SS->S2 simultaneous open; S2->S2 retransmitted simultaneous SYN;
  // SR..LA->IV invalid SYN from the server; TW->SS reopened, the server switched role; CL->IV
  /*synack*/ sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR,
  // SS->SR standard open; S2->SR simultaneous open; SR->IG retransmitted SYN/ACK; ES..CL->IG late
  // SYN/ACK, or one answering a SYN we ignored (resynchronisation in code)
  /*fin*/ sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV,
  // SS/S2->IV the server cannot FIN here; SR/ES->FW close started; FW/CW->LA FIN both ways;
  // LA->LA retransmitted FIN; TW->TW; CL->CL
  /*ack*/ sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG,
  // SS->IG might be a half-open connection; S2->IG; SR->SR might answer a late resent SYN;
  // ES->ES; FW->CW; CW->CW; LA->TW last ACK; TW->TW retransmitted last ACK; CL->CL
  /*rst*/ sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL,
  /*none*/ sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV,
];

// @ts-ignore: decorator
@inline export function tcpTransition(dir: i32, kind: i32, state: i32): u8 {
  return unchecked(TCP_CONNTRACKS[dir * 60 + kind * 10 + state]);
}

// Valid combinations of FIN/SYN/RST/ACK/URG (PSH, ECE and CWR are always valid)
// SYN, SYN|URG, SYN|ACK, RST, RST|ACK, FIN|ACK, FIN|ACK|URG, ACK, ACK|URG
// @ts-ignore: decorator
@inline function validFlags(f: u32): bool {
  return f == 0x02 || f == 0x22 || f == 0x12 || f == 0x04 || f == 0x14 || f == 0x11 ||
    f == 0x31 || f == 0x10 || f == 0x30;
}

// @ts-ignore: decorator
@inline export function kindOf(flags: u32): i32 {
  if ((flags & 0x04) != 0) return TCP_RST_SET;
  if ((flags & 0x02) != 0) return (flags & 0x10) != 0 ? TCP_SYNACK_SET : TCP_SYN_SET;
  if ((flags & 0x01) != 0) return TCP_FIN_SET;
  if ((flags & 0x10) != 0) return TCP_ACK_SET;
  return TCP_NONE_SET;
}

// @ts-ignore: decorator
@inline function before(a: u32, b: u32): bool { return <i32>(a - b) < 0; }
// @ts-ignore: decorator
@inline function after(a: u32, b: u32): bool { return <i32>(b - a) < 0; }

/** Timeout (seconds) of a state (tcp_timeouts[], from the sysctls). */
export function tcpTimeoutSec(state: i32): u32 {
  switch (state) {
    case TCS_SYN_SENT: return <u32>sysctl(SYS_TCP_TIMEOUT_SYN_SENT);
    case TCS_SYN_RECV: return <u32>sysctl(SYS_TCP_TIMEOUT_SYN_RECV);
    case TCS_ESTABLISHED: return <u32>sysctl(SYS_TCP_TIMEOUT_ESTABLISHED);
    case TCS_FIN_WAIT: return <u32>sysctl(SYS_TCP_TIMEOUT_FIN_WAIT);
    case TCS_CLOSE_WAIT: return <u32>sysctl(SYS_TCP_TIMEOUT_CLOSE_WAIT);
    case TCS_LAST_ACK: return <u32>sysctl(SYS_TCP_TIMEOUT_LAST_ACK);
    case TCS_TIME_WAIT: return <u32>sysctl(SYS_TCP_TIMEOUT_TIME_WAIT);
    case TCS_CLOSE: return <u32>sysctl(SYS_TCP_TIMEOUT_CLOSE);
    case TCS_SYN_SENT2: return 120; // no sysctl: fixed 2 minutes
    case TCS_RETRANS: return <u32>sysctl(SYS_TCP_TIMEOUT_MAX_RETRANS);
    case TCS_UNACK: return <u32>sysctl(SYS_TCP_TIMEOUT_UNACK);
  }
  return 0;
}

// Packet data for the current segment
let th: usize = 0;       // TCP header
let thCap: u32 = 0;      // captured bytes of the TCP segment
let dataLen: u32 = 0;    // skb->len - dataoff (IP total length - IP header)
let doff: u32 = 0;       // TCP header length

// @ts-ignore: decorator
@inline function seen(e: usize, dir: i32): usize { return e + CT_SEEN0 + <usize>(dir * CT_SEEN_SIZE); }

/** segment_seq_plus_len: seq + payload length + SYN + FIN. */
function segEnd(seq: u32, flags: u32): u32 {
  return seq + dataLen - doff + ((flags & 0x02) != 0 ? 1 : 0) + ((flags & 0x01) != 0 ? 1 : 0);
}

/** tcp_options: window scale and SACK-permitted of a SYN into the state `s`. */
function tcpOptions(s: usize): void {
  let length = <i32>doff - 20;
  if (length <= 0) return;
  if (doff > thCap) return; // options not captured
  store<u8>(s, 0, SEEN_SCALE);
  store<u8>(s, load<u8>(s, SEEN_FLAGS) & F_BE_LIBERAL, SEEN_FLAGS);
  let p = th + 20;
  while (length > 0) {
    const opcode = <u32>load<u8>(p++);
    if (opcode == 0) return;          // EOL
    if (opcode == 1) { length--; continue; } // NOP
    if (length < 2) return;
    const opsize = <i32>load<u8>(p++);
    if (opsize < 2 || opsize > length) return;
    if (opcode == 4 && opsize == 2) {
      store<u8>(s, load<u8>(s, SEEN_FLAGS) | F_SACK_PERM, SEEN_FLAGS);
    } else if (opcode == 3 && opsize == 3) {
      let sc = <u32>load<u8>(p);
      if (sc > 14) sc = 14;
      store<u8>(s, <u8>sc, SEEN_SCALE);
      store<u8>(s, load<u8>(s, SEEN_FLAGS) | F_WINDOW_SCALE, SEEN_FLAGS);
    }
    p += <usize>(opsize - 2);
    length -= opsize;
  }
}

/** tcp_sack: the highest right edge of the SACK blocks, or `sack` unchanged. */
function tcpSack(sack0: u32): u32 {
  let sack = sack0;
  let length = <i32>doff - 20;
  if (length <= 0 || doff > thCap) return sack;
  let p = th + 20;
  // fast path: timestamp-only option
  if (length == 12 && load<u32>(p) == 0x0a080101) return sack;
  while (length > 0) {
    const opcode = <u32>load<u8>(p++);
    if (opcode == 0) return sack;
    if (opcode == 1) { length--; continue; }
    if (length < 2) return sack;
    const opsize = <i32>load<u8>(p++);
    if (opsize < 2 || opsize > length) return sack;
    if (opcode == 5 && opsize >= 10 && ((opsize - 2) % 8) == 0) {
      for (let i = 0; i < opsize - 2; i += 8) {
        const tmp = be32(p + <usize>i + 4);
        if (after(tmp, sack)) sack = tmp;
      }
      return sack;
    }
    p += <usize>(opsize - 2);
    length -= opsize;
  }
  return sack;
}

function initSender(sender: usize, receiver: usize, end: u32, win: u32, dir: i32): void {
  store<u32>(sender, end, SEEN_END);
  store<u32>(sender, end, SEEN_MAXEND);
  store<u32>(sender, win == 0 ? 1 : win, SEEN_MAXWIN);
  tcpOptions(sender);
  // RFC 1323: both sides must send the window scale option to enable scaling
  if (dir == 1 && !((load<u8>(sender, SEEN_FLAGS) & F_WINDOW_SCALE) != 0 && (load<u8>(receiver, SEEN_FLAGS) & F_WINDOW_SCALE) != 0)) {
    store<u8>(sender, 0, SEEN_SCALE);
    store<u8>(receiver, 0, SEEN_SCALE);
  }
}

// @ts-ignore: decorator
@inline function logInvalid(sender: usize, res: i32): i32 {
  if ((load<u8>(sender, SEEN_FLAGS) & F_BE_LIBERAL) != 0 || sysctl(SYS_TCP_BE_LIBERAL) != 0) return W_ACCEPT;
  return res;
}

// @ts-ignore: decorator
@inline function maxAckWindow(sender: usize): u32 {
  const w = load<u32>(sender, SEEN_MAXWIN);
  return w > 66000 ? w : 66000;
}

function tcpInWindow(e: usize, dir: i32, index: i32, flags: u32, state: i32): i32 {
  const sender = seen(e, dir);
  const receiver = seen(e, 1 - dir);
  let seq = be32(th + 4);
  let ack = be32(th + 8);
  let sack = ack;
  const winRaw = be16(th + 14);
  let win = winRaw;
  let end = segEnd(seq, flags);
  const syn = (flags & 0x02) != 0;
  const hasAck = (flags & 0x10) != 0;
  const rst = (flags & 0x04) != 0;

  if ((load<u8>(receiver, SEEN_FLAGS) & F_SACK_PERM) != 0) sack = tcpSack(sack);

  if (load<u32>(sender, SEEN_MAXWIN) == 0) {
    // initialise the sender
    if (syn) {
      initSender(sender, receiver, end, win, dir);
      if (!hasAck) return W_ACCEPT; // simultaneous open
    } else {
      // mid-connection: history lost, use the packet's data
      store<u32>(sender, end, SEEN_END);
      const swin = win << load<u8>(sender, SEEN_SCALE);
      const mw = swin == 0 ? 1 : swin;
      store<u32>(sender, mw, SEEN_MAXWIN);
      store<u32>(sender, end + mw, SEEN_MAXEND);
      if (load<u32>(receiver, SEEN_MAXWIN) == 0) {
        // no traffic the other way yet: make checks III and IV pass until there is
        store<u32>(receiver, sack, SEEN_END);
        store<u32>(receiver, sack, SEEN_MAXEND);
      } else if (sack == load<u32>(receiver, SEEN_END) + 1) {
        // likely a reply to a keepalive
        store<u32>(receiver, load<u32>(receiver, SEEN_END) + 1, SEEN_END);
      }
    }
  } else if (syn && after(end, load<u32>(sender, SEEN_END)) && (state == TCS_SYN_SENT || state == TCS_SYN_RECV)) {
    // RFC 793: a reinitialised TCP uses higher sequence numbers; re-init this direction
    initSender(sender, receiver, end, win, dir);
    if (dir == 1 && !hasAck) return W_ACCEPT;
  }

  if (!hasAck) {
    ack = sack = load<u32>(receiver, SEEN_END); // pretend the ACK was set and fine
  } else if (rst && ack == 0) {
    ack = sack = load<u32>(receiver, SEEN_END); // broken stacks: RST|ACK with a zero ack
  }

  if (rst && seq == 0 && state == TCS_SYN_SENT) {
    seq = end = load<u32>(sender, SEEN_END); // RST answering a SYN
  }

  const rEnd = load<u32>(receiver, SEEN_END);
  const rMaxwin = load<u32>(receiver, SEEN_MAXWIN);
  const sMaxend = load<u32>(sender, SEEN_MAXEND);
  const seqOk = before(seq, sMaxend + 1);
  if (!seqOk) {
    const overshot = end - sMaxend + 1;
    const ackOk = after(sack, rEnd - maxAckWindow(sender) - 1);
    const inRecvWin = rMaxwin != 0 && after(end, load<u32>(sender, SEEN_END) - rMaxwin - 1);
    if (inRecvWin && ackOk && overshot <= rMaxwin && before(sack, rEnd + 1)) {
      // more bytes than the window allowed: keep td_end so that an ACK for them is valid later
      store<u32>(sender, end, SEEN_END);
      store<u8>(sender, load<u8>(sender, SEEN_FLAGS) | F_DATA_UNACK, SEEN_FLAGS);
      return logInvalid(sender, W_IGNORE);
    }
    return logInvalid(sender, W_INVALID); // SEQ is over upper bound
  }
  if (!before(sack, rEnd + 1)) return logInvalid(sender, W_INVALID); // ACK is over upper bound

  const inRecvWin = rMaxwin == 0 || after(end, load<u32>(sender, SEEN_END) - rMaxwin - 1);
  if (!inRecvWin) return logInvalid(sender, W_IGNORE); // SEQ under lower bound: retransmission
  if (!after(sack, rEnd - maxAckWindow(sender) - 1)) return logInvalid(sender, W_IGNORE); // ACK under lower bound

  if (!syn) win <<= load<u8>(sender, SEEN_SCALE);

  // update the sender
  const swin = win + (sack - ack);
  if (load<u32>(sender, SEEN_MAXWIN) < swin) store<u32>(sender, swin, SEEN_MAXWIN);
  if (after(end, load<u32>(sender, SEEN_END))) {
    store<u32>(sender, end, SEEN_END);
    store<u8>(sender, load<u8>(sender, SEEN_FLAGS) | F_DATA_UNACK, SEEN_FLAGS);
  }
  if (hasAck) {
    if ((load<u8>(sender, SEEN_FLAGS) & F_MAXACK_SET) == 0) {
      store<u32>(sender, ack, SEEN_MAXACK);
      store<u8>(sender, load<u8>(sender, SEEN_FLAGS) | F_MAXACK_SET, SEEN_FLAGS);
    } else if (after(ack, load<u32>(sender, SEEN_MAXACK))) {
      store<u32>(sender, ack, SEEN_MAXACK);
    }
  }
  // update the receiver
  const sMaxend2 = load<u32>(sender, SEEN_MAXEND);
  if (load<u32>(receiver, SEEN_MAXWIN) != 0 && after(end, sMaxend2)) {
    store<u32>(receiver, load<u32>(receiver, SEEN_MAXWIN) + (end - sMaxend2), SEEN_MAXWIN);
  }
  if (after(sack + win, load<u32>(receiver, SEEN_MAXEND) - 1)) {
    store<u32>(receiver, sack + win + (win == 0 ? 1 : 0), SEEN_MAXEND);
  }
  if (ack == load<u32>(receiver, SEEN_END)) {
    store<u8>(receiver, load<u8>(receiver, SEEN_FLAGS) & ~F_DATA_UNACK, SEEN_FLAGS);
  }
  // retransmissions
  if (index == TCP_ACK_SET) {
    if (<i32>load<u8>(e, CT_LAST_DIR) == dir && load<u32>(e, CT_LAST_SEQ) == seq &&
        load<u32>(e, CT_LAST_ACK) == ack && load<u32>(e, CT_LAST_END) == end &&
        <u32>load<u16>(e, CT_LAST_WIN) == winRaw) {
      const r = <u32>load<u8>(e, CT_RETRANS);
      if (r < 255) store<u8>(e, <u8>(r + 1), CT_RETRANS);
    } else {
      store<u8>(e, <u8>dir, CT_LAST_DIR);
      store<u32>(e, seq, CT_LAST_SEQ);
      store<u32>(e, ack, CT_LAST_ACK);
      store<u32>(e, end, CT_LAST_END);
      store<u16>(e, <u16>winRaw, CT_LAST_WIN);
      store<u8>(e, 0, CT_RETRANS);
    }
  }
  return W_ACCEPT;
}

/** tcp_error: header length, checksum (decided by the caller: csumBad), flag combination.
 *  Sets the segment globals. True when the packet is INVALID. */
export function tcpError(csumBad: bool): bool {
  th = <usize>load<u32>(PKT, P_L4);
  thCap = load<u32>(PKT, P_L4LEN);
  dataLen = load<u32>(PKT, P_IPLEN) - <u32>load<u8>(PKT, P_IHL);
  if (thCap < 20) return true;
  doff = (<u32>load<u8>(th + 12) >> 4) << 2;
  if (doff < 20 || dataLen < doff) return true;
  if (csumBad) return true;
  const f = <u32>load<u8>(th + 13) & ~(<u32>0x40 | 0x80 | 0x08);
  return !validFlags(f);
}

function stateReset(s: usize): void {
  store<u32>(s, 0, SEEN_END);
  store<u32>(s, 0, SEEN_MAXEND);
  store<u32>(s, 0, SEEN_MAXWIN);
  store<u32>(s, 0, SEEN_MAXACK);
  store<u8>(s, 0, SEEN_SCALE);
  store<u8>(s, load<u8>(s, SEEN_FLAGS) & F_BE_LIBERAL, SEEN_FLAGS);
}

function clearTcp(e: usize): void {
  // both seen[] records (40 bytes) with u64 stores: memory.fill is a call out of the wasm code
  const sb = e + CT_SEEN0;
  for (let o: usize = 0; o < <usize>(2 * CT_SEEN_SIZE) - 7; o += 8) store<u64>(sb + o, 0);
  for (let o: usize = <usize>(2 * CT_SEEN_SIZE) & ~(<usize>7); o < <usize>(2 * CT_SEEN_SIZE); o++) store<u8>(sb + o, 0);
  store<u8>(e, 0, CT_LAST_DIR);
  store<u8>(e, 0, CT_RETRANS);
  store<u8>(e, 0, CT_LAST_WSCALE);
  store<u8>(e, 0, CT_LAST_FLAGS);
  store<u32>(e, 0, CT_LAST_SEQ);
  store<u32>(e, 0, CT_LAST_ACK);
  store<u32>(e, 0, CT_LAST_END);
  store<u16>(e, 0, CT_LAST_WIN);
  store<u8>(e, TCS_NONE, CT_TCPSTATE);
}

/** tcp_new for an unconfirmed ct: false when the first packet cannot open a connection. */
function tcpNew(e: usize, flags: u32): bool {
  const ns = <i32>tcpTransition(0, kindOf(flags), TCS_NONE);
  if (ns >= TCS_MAX) return false; // invalid as a first packet
  const s0 = seen(e, 0);
  if (ns == TCS_SYN_SENT) {
    clearTcp(e);
    const seq = be32(th + 4);
    store<u32>(s0, segEnd(seq, flags), SEEN_END);
    let w = be16(th + 14);
    if (w == 0) w = 1;
    store<u32>(s0, w, SEEN_MAXWIN);
    store<u32>(s0, load<u32>(s0, SEEN_END), SEEN_MAXEND);
    tcpOptions(s0);
  } else if (sysctl(SYS_TCP_LOOSE) == 0) {
    return false; // do not pick up connections
  } else {
    clearTcp(e);
    const seq = be32(th + 4);
    store<u32>(s0, segEnd(seq, flags), SEEN_END);
    let w = be16(th + 14);
    if (w == 0) w = 1;
    store<u32>(s0, w, SEEN_MAXWIN);
    store<u32>(s0, load<u32>(s0, SEEN_END) + w, SEEN_MAXEND);
    // mid-stream: assume SACK and liberal window checking (window scaling is unknown)
    store<u8>(s0, F_SACK_PERM | F_BE_LIBERAL, SEEN_FLAGS);
    store<u8>(seen(e, 1), F_SACK_PERM | F_BE_LIBERAL, SEEN_FLAGS);
  }
  store<u8>(e, <u8>TCP_NONE_SET, CT_LAST_INDEX);
  return true;
}

// @ts-ignore: decorator
@inline function canEarlyDrop(state: i32): bool {
  return state == TCS_FIN_WAIT || state == TCS_LAST_ACK || state == TCS_TIME_WAIT ||
    state == TCS_CLOSE || state == TCS_CLOSE_WAIT;
}

/** nf_tcp_handle_invalid: an out-of-window FIN/RST answering a FIN/RST shortens an ASSURED ct. */
function handleInvalid(e: usize, dir: i32, index: i32): void {
  const st = load<u32>(e, CT_STATUS);
  if ((st & IPS_ASSURED) == 0 || (st & IPS_FIXED_TIMEOUT) != 0) return;
  if (index != TCP_RST_SET && index != TCP_FIN_SET) return;
  const li = <i32>load<u8>(e, CT_LAST_INDEX);
  if (<i32>load<u8>(e, CT_LAST_DIR) != dir && (li == TCP_FIN_SET || li == TCP_RST_SET)) {
    const now = load<u64>(PKT, P_JIFFIES);
    const to = load<u64>(e, CT_TIMEOUT);
    const left: i64 = <i64>(to - now);
    const H = hz();
    if (left < <i64>(120 * H)) return;
    const unack = <u64>tcpTimeoutSec(TCS_UNACK) * H;
    if (left > <i64>unack) store<u64>(e, now + unack, CT_TIMEOUT);
  } else {
    store<u8>(e, <u8>index, CT_LAST_INDEX);
    store<u8>(e, <u8>dir, CT_LAST_DIR);
  }
}

/** nf_conntrack_tcp_packet for ct entry `e`, packet direction `dir`. tcpError() must have been
 *  called (false) for this packet. Refreshes the timeout and sets ASSURED itself. */
export function tcpPacket(e: usize, dir: i32): i32 {
  const flags = <u32>load<u8>(th + 13);
  const status = load<u32>(e, CT_STATUS);
  if ((status & IPS_CONFIRMED) == 0 && !tcpNew(e, flags)) return TCP_R_INVALID;

  const oldState = <i32>load<u8>(e, CT_TCPSTATE);
  let os = oldState;
  const index = kindOf(flags);
  let ns = <i32>tcpTransition(dir, index, oldState);
  const lastDir = <i32>load<u8>(e, CT_LAST_DIR);
  const lastIndex = <i32>load<u8>(e, CT_LAST_INDEX);
  let skipWindow = false;

  if (ns == TCS_SYN_SENT) {
    if (oldState >= TCS_TIME_WAIT) {
      // reopening a closed/aborted connection: delete it and look up again
      if (((load<u8>(seen(e, dir), SEEN_FLAGS) | load<u8>(seen(e, 1 - dir), SEEN_FLAGS)) & F_CLOSE_INIT) != 0 ||
          (lastDir == dir && lastIndex == TCP_RST_SET)) {
        return TCP_R_REPEAT;
      }
      ns = TCS_IGNORE; // falls through to the ignore handling
    }
  }
  if (ns == TCS_IGNORE) {
    const ackSeq = be32(th + 8);
    if (index == TCP_SYNACK_SET && lastIndex == TCP_SYN_SET && lastDir != dir && ackSeq == load<u32>(e, CT_LAST_END)) {
      // b) the SYN/ACK acknowledges a SYN we ignored: client and server are in sync, we are not;
      // resynchronise from the values annotated then
      os = TCS_SYN_SENT;
      ns = TCS_SYN_RECV;
      const ls = seen(e, lastDir);
      const le = load<u32>(e, CT_LAST_END);
      store<u32>(ls, le, SEEN_END);
      store<u32>(ls, le, SEEN_MAXEND);
      const lw = <u32>load<u16>(e, CT_LAST_WIN);
      store<u32>(ls, lw == 0 ? 1 : lw, SEEN_MAXWIN);
      store<u8>(ls, load<u8>(e, CT_LAST_WSCALE), SEEN_SCALE);
      const lf = load<u8>(e, CT_LAST_FLAGS) & ~F_EXP_CHALLENGE_ACK;
      store<u8>(e, lf, CT_LAST_FLAGS);
      store<u8>(ls, lf, SEEN_FLAGS);
      stateReset(seen(e, dir));
    } else {
      store<u8>(e, <u8>index, CT_LAST_INDEX);
      store<u8>(e, <u8>dir, CT_LAST_DIR);
      const seq = be32(th + 4);
      store<u32>(e, seq, CT_LAST_SEQ);
      store<u32>(e, segEnd(seq, flags), CT_LAST_END);
      store<u16>(e, <u16>be16(th + 14), CT_LAST_WIN);
      if (index == TCP_SYN_SET && dir == 0) {
        // a) a SYN in ORIGINAL: note its options; the SYN/ACK will get us in sync
        let lf: u8 = 0;
        let lws: u8 = 0;
        // parse the options into a scratch state (the tail of the entry is not used by TCP)
        const tmp = PKT + 104; // 20 scratch bytes at the end of PKT (P_SIZE = 128)
        memory.fill(tmp, 0, 20);
        tcpOptions(tmp);
        if ((load<u8>(tmp, SEEN_FLAGS) & F_WINDOW_SCALE) != 0) { lf |= F_WINDOW_SCALE; lws = load<u8>(tmp, SEEN_SCALE); }
        if ((load<u8>(tmp, SEEN_FLAGS) & F_SACK_PERM) != 0) lf |= F_SACK_PERM;
        if (oldState == TCS_LAST_ACK) lf |= F_EXP_CHALLENGE_ACK;
        // as the kernel: last_flags is reset here (SIMULTANEOUS_OPEN included)
        store<u8>(e, lf, CT_LAST_FLAGS);
        store<u8>(e, lws, CT_LAST_WSCALE);
      }
      if (oldState == TCS_SYN_SENT && index == TCP_ACK_SET && dir == 1) {
        store<u32>(e, ackSeq, CT_LAST_ACK); // possible challenge ACK answering the SYN
      }
      return TCP_R_ACCEPT; // ignored: accepted, state and timeout unchanged
    }
  } else if (ns == TCS_MAX) {
    return TCP_R_INVALID;
  } else if (ns == TCS_TIME_WAIT) {
    // RFC 5961 challenge ACK answering a spurious SYN must not be taken for the last ACK
    if (oldState == TCS_LAST_ACK && index == TCP_ACK_SET && lastDir != dir && lastIndex == TCP_SYN_SET &&
        (load<u8>(e, CT_LAST_FLAGS) & F_EXP_CHALLENGE_ACK) != 0) {
      store<u8>(e, load<u8>(e, CT_LAST_FLAGS) & ~F_EXP_CHALLENGE_ACK, CT_LAST_FLAGS);
      return TCP_R_ACCEPT;
    }
  } else if (ns == TCS_SYN_SENT2) {
    // the table cannot follow a simultaneous open by itself
    store<u8>(e, load<u8>(e, CT_LAST_FLAGS) | F_SIMULTANEOUS_OPEN, CT_LAST_FLAGS);
  } else if (ns == TCS_SYN_RECV) {
    if (dir == 1 && index == TCP_ACK_SET && (load<u8>(e, CT_LAST_FLAGS) & F_SIMULTANEOUS_OPEN) != 0) ns = TCS_ESTABLISHED;
  } else if (ns == TCS_CLOSE && index == TCP_RST_SET) {
    if (canEarlyDrop(oldState)) {
      skipWindow = true; // closing: the tuple may be reused, skip validation
    } else {
      const other = seen(e, 1 - dir);
      const seq = be32(th + 4);
      let done = false;
      if ((load<u8>(other, SEEN_FLAGS) & F_MAXACK_SET) != 0 && lastIndex != TCP_SYN_SET) {
        const established = oldState == TCS_ESTABLISHED && (status & IPS_ASSURED) != 0;
        if (seq == 0 && !established) {
          done = true; // answer to a SYN we let through
        } else {
          const maxack = load<u32>(other, SEEN_MAXACK);
          if (before(seq, maxack) && sysctl(SYS_TCP_IGNORE_INVALID_RST) == 0) return TCP_R_INVALID; // invalid RST
          if (!established || seq == maxack) {
            done = true;
          } else if (lastIndex == TCP_ACK_SET && lastDir == dir && seq == load<u32>(e, CT_LAST_END)) {
            done = true; // RST that is part of a train
          } else {
            ns = oldState; // seq does not match exactly: keep state for a possible challenge ACK
          }
        }
      }
      if (!done) {
        const ackSeq = be32(th + 8);
        if ((((status & IPS_SEEN_REPLY) != 0 && lastIndex == TCP_SYN_SET) ||
             ((status & IPS_ASSURED) == 0 && lastIndex == TCP_ACK_SET)) && ackSeq == load<u32>(e, CT_LAST_END)) {
          skipWindow = true; // RST to a SYN or ACK we let through: delete, skip window checks
        } else if (oldState == TCS_SYN_SENT && lastIndex == TCP_ACK_SET && lastDir == 1 && seq == load<u32>(e, CT_LAST_ACK)) {
          skipWindow = true; // reset answering a challenge ACK we let through
        }
      }
      // done: 'break' in the kernel, on to the window check
    }
  }

  if (!skipWindow) {
    const res = tcpInWindow(e, dir, index, flags, oldState);
    if (res == W_IGNORE) return TCP_R_ACCEPT;
    if (res == W_INVALID) { handleInvalid(e, dir, index); return TCP_R_INVALID; }
  }

  // in window from here on
  store<u8>(e, <u8>index, CT_LAST_INDEX);
  store<u8>(e, <u8>dir, CT_LAST_DIR);
  store<u8>(e, <u8>ns, CT_TCPSTATE);
  if (os != ns && ns == TCS_FIN_WAIT) {
    const s = seen(e, dir);
    store<u8>(s, load<u8>(s, SEEN_FLAGS) | F_CLOSE_INIT, SEEN_FLAGS);
  }

  const H = hz();
  // the retrans/unack timeouts are read only where a condition needs them (pure sysctl reads)
  let timeout = tcpTimeoutSec(ns);
  if (<i32>load<u8>(e, CT_RETRANS) >= sysctl(SYS_TCP_MAX_RETRANS) && timeout > tcpTimeoutSec(TCS_RETRANS)) timeout = tcpTimeoutSec(TCS_RETRANS);
  else if (index == TCP_RST_SET) timeout = tcpTimeoutSec(TCS_CLOSE);
  else if (((load<u8>(seen(e, 0), SEEN_FLAGS) | load<u8>(seen(e, 1), SEEN_FLAGS)) & F_DATA_UNACK) != 0 && timeout > tcpTimeoutSec(TCS_UNACK)) timeout = tcpTimeoutSec(TCS_UNACK);
  else if (load<u16>(e, CT_LAST_WIN) == 0 && timeout > tcpTimeoutSec(TCS_RETRANS)) timeout = tcpTimeoutSec(TCS_RETRANS);

  if ((status & IPS_SEEN_REPLY) == 0) {
    // only a RST as reply: no established connection, delete the ct right away
    if ((flags & 0x04) != 0) return TCP_R_KILL;
    // a SYN retransmit does not renew the timeout (port reuse would keep the entry alive)
    if (index == TCP_SYN_SET && os == TCS_SYN_SENT) return TCP_R_ACCEPT;
    // ESTABLISHED without a reply (mid-stream pickup): no long timeout
    if (ns == TCS_ESTABLISHED && timeout > tcpTimeoutSec(TCS_UNACK)) timeout = tcpTimeoutSec(TCS_UNACK);
  } else if ((status & IPS_ASSURED) == 0 && (os == TCS_SYN_RECV || os == TCS_ESTABLISHED) && ns == TCS_ESTABLISHED) {
    // a valid ACK in ESTABLISHED after SYN_RECV, or a valid answer for a picked-up connection
    store<u32>(e, status | IPS_ASSURED, CT_STATUS);
  }
  if ((load<u32>(e, CT_STATUS) & IPS_FIXED_TIMEOUT) == 0) {
    store<u64>(e, load<u64>(PKT, P_JIFFIES) + <u64>timeout * H, CT_TIMEOUT);
  }
  return TCP_R_ACCEPT;
}
