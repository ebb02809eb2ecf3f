// Dissect one captured frame into the PKT scratch record (layout P_* in src/layout.ts):
// link layer (Ethernet + 802.1Q/QinQ, raw IPv4, Linux SLL/SLL2) -> IPv4 (ip_rcv_core checks,
// options, fragments) -> TCP/UDP/ICMP/SCTP ports, ICMP error inner header.
// One function per layer, each reading at an offset and writing fixed PKT fields; no allocation.
import {
  DESC_FRAME, DESC_CAPLEN, DESC_WIRELEN, DESC_TS_SEC, DESC_TS_NSEC, DESC_LINKTYPE, DESC_IFINDEX,
  DESC_ORDINAL,
  P_FRAME, P_CAPLEN, P_L3, P_L4, P_L4LEN, P_IPLEN, P_SADDR, P_DADDR, P_PROTO, P_TOS, P_TTL, P_IHL,
  P_FRAGOFF, P_MF, P_L4OK, P_SPORT, P_DPORT, P_ICMP_TYPE, P_ICMP_CODE, P_TCPFLAGS, P_PKTTYPE,
  P_IIF, P_OIF, P_HOOK, P_CTINFO, P_MARK, P_CT, P_CTDIR, P_LOCALGEN, P_DRAWS, P_ORDINAL, P_NOW_LO,
  P_JIFFIES, P_IN_L3, P_IN_SADDR, P_IN_DADDR, P_IN_PROTO, P_IN_OK, P_IN_SPORT, P_IN_DPORT,
  P_CSUM_OK, IF_NONE, CTINFO_NONE,
  RES_NONE, RES_NOT_IP, RES_MALFORMED,
  LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2,
  H_HOST, H_HZ, HOST_INGRESS, HOST_NIFS, HOST_MACS, RES_DROP_OTHERHOST,
} from '../src/layout';
import { PKT, IMG, imgw } from './state';
import { csumVerifyQuick, csumCompute } from './csum';
import { reserve } from './mem';
import { addrType, RTN_BROADCAST } from './host';

export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;

const ETH_P_IP: u32 = 0x0800;

// @ts-ignore: decorator
@inline export function bswap16(v: u32): u32 { return ((v & 0xff) << 8) | ((v >> 8) & 0xff); }
// @ts-ignore: decorator
@inline export function be16(p: usize): u32 { return bswap16(<u32>load<u16>(p)); }
// @ts-ignore: decorator
@inline export function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }

/** Jiffies per second from the image (250 when the image does not say). */
// @ts-ignore: decorator
@inline export function hz(): u64 { const h = IMG == 0 ? 0 : imgw(H_HZ); return h > 0 ? <u64>h : 250; }

// Link layer results
let l3off: u32 = 0;
let etype: u32 = 0;
let l2type: i32 = -1; // pkt_type from the link layer, -1 = unknown (raw IP)

function linkEthernet(frame: usize, caplen: u32): bool {
  if (caplen < 14) return false;
  const d0 = <u32>load<u8>(frame);
  if ((d0 & 1) != 0) {
    l2type = (load<u32>(frame) == 0xffffffff && load<u16>(frame, 4) == 0xffff) ? PACKET_BROADCAST : PACKET_MULTICAST;
  } else {
    l2type = PACKET_HOST; // our own MAC is unknown: unicast frames are taken as addressed to us
  }
  let t = be16(frame + 12);
  let off: u32 = 14;
  let tags = 0;
  while ((t == 0x8100 || t == 0x88a8 || t == 0x9100) && tags < 4) {
    if (off + 4 > caplen) return false;
    t = be16(frame + off + 2);
    off += 4;
    tags++;
  }
  etype = t;
  l3off = off;
  return true;
}

function linkSll(frame: usize, caplen: u32): bool {
  // 16 bytes: pkttype, arphrd, addr len, addr[8], protocol
  if (caplen < 16) return false;
  const pt = be16(frame);
  l2type = pt <= 3 ? <i32>pt : PACKET_HOST; // 4 = outgoing
  etype = be16(frame + 14);
  l3off = 16;
  return true;
}

function linkSll2(frame: usize, caplen: u32): bool {
  // 20 bytes: protocol, reserved, ifindex, arphrd, pkttype, addr len, addr[8]
  if (caplen < 20) return false;
  etype = be16(frame);
  const pt = <u32>load<u8>(frame + 10);
  l2type = pt <= 3 ? <i32>pt : PACKET_HOST;
  l3off = 20;
  return true;
}

/** Ports / ICMP fields of the L4 header at `l4` with `avail` captured bytes (first fragment). */
function layer4(l4: usize, avail: u32, proto: u32): void {
  let ok: u8 = 0;
  if (proto == 6) {
    if (avail >= 20) {
      ok = 1;
      store<u16>(PKT, <u16>be16(l4), P_SPORT);
      store<u16>(PKT, <u16>be16(l4 + 2), P_DPORT);
      store<u8>(PKT, load<u8>(l4 + 13), P_TCPFLAGS);
    }
  } else if (proto == 17 || proto == 136) { // UDP, UDP-Lite
    if (avail >= 8) {
      ok = 1;
      store<u16>(PKT, <u16>be16(l4), P_SPORT);
      store<u16>(PKT, <u16>be16(l4 + 2), P_DPORT);
    }
  } else if (proto == 132 || proto == 33) { // SCTP (12-byte common header), DCCP
    if (avail >= 12) {
      ok = 1;
      store<u16>(PKT, <u16>be16(l4), P_SPORT);
      store<u16>(PKT, <u16>be16(l4 + 2), P_DPORT);
    }
  } else if (proto == 1) {
    if (avail >= 8) {
      ok = 1;
      const t = <u32>load<u8>(l4);
      const c = <u32>load<u8>(l4 + 1);
      store<u8>(PKT, <u8>t, P_ICMP_TYPE);
      store<u8>(PKT, <u8>c, P_ICMP_CODE);
      store<u16>(PKT, <u16>be16(l4 + 4), P_SPORT);           // echo/timestamp/info/address id
      store<u16>(PKT, <u16>((t << 8) | c), P_DPORT);          // the conntrack tuple's "dst port"
      if (t == 3 || t == 4 || t == 5 || t == 11 || t == 12) icmpInner(l4 + 8, avail - 8);
    }
  } else {
    ok = 1; // no L4 header needed
  }
  store<u8>(PKT, ok, P_L4OK);
}

/** The IP header (and 8 bytes) quoted in an ICMP error, for RELATED lookups and NAT. */
function icmpInner(p: usize, avail: u32): void {
  if (avail < 20) return;
  const vihl = <u32>load<u8>(p);
  if ((vihl >> 4) != 4) return;
  const ihl = (vihl & 15) << 2;
  if (ihl < 20 || ihl > avail) return;
  const proto = <u32>load<u8>(p + 9);
  store<u32>(PKT, <u32>p, P_IN_L3);
  store<u32>(PKT, load<u32>(p + 12), P_IN_SADDR);
  store<u32>(PKT, load<u32>(p + 16), P_IN_DADDR);
  store<u8>(PKT, <u8>proto, P_IN_PROTO);
  const q = p + ihl;
  const rest = avail - ihl;
  if ((be16(p + 6) & 0x1fff) != 0) return; // inner non-first fragment: no ports
  if (proto == 1) {
    if (rest >= 8) {
      store<u16>(PKT, <u16>be16(q + 4), P_IN_SPORT);
      store<u16>(PKT, <u16>((<u32>load<u8>(q) << 8) | <u32>load<u8>(q + 1)), P_IN_DPORT);
      store<u8>(PKT, 1, P_IN_OK);
    }
  } else if (proto == 6 || proto == 17 || proto == 136 || proto == 132 || proto == 33) {
    if (rest >= 4) {
      store<u16>(PKT, <u16>be16(q), P_IN_SPORT);
      store<u16>(PKT, <u16>be16(q + 2), P_IN_DPORT);
      store<u8>(PKT, 1, P_IN_OK);
    }
  } else {
    store<u8>(PKT, 1, P_IN_OK);
  }
}

function resetPkt(): void {
  store<u8>(PKT, IF_NONE, P_OIF);
  store<u8>(PKT, 0, P_HOOK);
  store<u8>(PKT, CTINFO_NONE, P_CTINFO);
  store<u32>(PKT, 0, P_MARK);
  store<u32>(PKT, 0, P_CT);
  store<u8>(PKT, 0, P_CTDIR);
  store<u8>(PKT, 0, P_LOCALGEN);
  store<u16>(PKT, 0, P_DRAWS);
  store<u32>(PKT, 0, P_L3);
  store<u32>(PKT, 0, P_L4);
  store<u32>(PKT, 0, P_L4LEN);
  store<u32>(PKT, 0, P_IPLEN);
  store<u32>(PKT, 0, P_SADDR);
  store<u32>(PKT, 0, P_DADDR);
  store<u32>(PKT, 0, P_PROTO);  // PROTO, TOS, TTL, IHL
  store<u32>(PKT, 0, P_FRAGOFF); // FRAGOFF, MF, L4OK
  store<u32>(PKT, 0, P_SPORT);   // SPORT, DPORT
  store<u32>(PKT, 0, P_ICMP_TYPE); // TYPE, CODE, TCPFLAGS, PKTTYPE
  store<u32>(PKT, 0, P_IN_L3);
  store<u32>(PKT, 0, P_IN_SADDR);
  store<u32>(PKT, 0, P_IN_DADDR);
  store<u16>(PKT, 0, P_IN_PROTO); // IN_PROTO, IN_OK
  store<u32>(PKT, 0, P_IN_SPORT); // IN_SPORT, IN_DPORT
  store<u8>(PKT, 0, P_CSUM_OK);
}

/** Is the frame's destination MAC not the ingress interface's (when the host model knows it)? */
function otherHost(frame: usize, dev: u32): bool {
  if (IMG == 0) return false;
  const h = imgw(H_HOST);
  if (h == 0) return false;
  const t = imgw(h + HOST_MACS);
  if (t == 0 || <i32>dev >= imgw(h + HOST_NIFS)) return false;
  const w0 = <u32>imgw(h + t + <i32>dev * 2);
  const w1 = <u32>imgw(h + t + <i32>dev * 2 + 1) & 0xffff;
  if (w0 == 0 && w1 == 0) return false; // unknown MAC
  return load<u32>(frame) != w0 || <u32>load<u16>(frame, 4) != w1;
}

/** Fill PKT from the batch descriptor at `desc`. RES_NONE: usable IPv4; RES_NOT_IP: not IPv4
 *  (counted and passed over); RES_MALFORMED: an IPv4 header ip_rcv would drop. */
export function dissect(desc: usize): i32 {
  const frame = <usize>load<u32>(desc, DESC_FRAME);
  const caplen = load<u32>(desc, DESC_CAPLEN);
  const wirelen = load<u32>(desc, DESC_WIRELEN);
  const lt = <i32>load<u16>(desc, DESC_LINKTYPE);
  resetPkt();
  store<u32>(PKT, <u32>frame, P_FRAME);
  store<u32>(PKT, caplen, P_CAPLEN);
  store<u32>(PKT, load<u32>(desc, DESC_ORDINAL), P_ORDINAL);
  const sec = <u64>load<u32>(desc, DESC_TS_SEC);
  const nsec = <u64>load<u32>(desc, DESC_TS_NSEC);
  store<u64>(PKT, sec * 1000000000 + nsec, P_NOW_LO);
  const h = hz();
  store<u64>(PKT, sec * h + nsec * h / 1000000000, P_JIFFIES);
  let ifx = <u32>load<u16>(desc, DESC_IFINDEX);
  if (ifx == 0xffff) {
    ifx = IMG != 0 && imgw(H_HOST) != 0 ? <u32>imgw(imgw(H_HOST) + HOST_INGRESS) : IF_NONE;
  }
  store<u8>(PKT, <u8>ifx, P_IIF);

  // link layer
  l2type = -1;
  etype = ETH_P_IP;
  l3off = 0;
  if (lt == LINKTYPE_ETHERNET) {
    if (!linkEthernet(frame, caplen)) return RES_NOT_IP;
  } else if (lt == LINKTYPE_LINUX_SLL) {
    if (!linkSll(frame, caplen)) return RES_NOT_IP;
  } else if (lt == LINKTYPE_LINUX_SLL2) {
    if (!linkSll2(frame, caplen)) return RES_NOT_IP;
  } else if (lt == LINKTYPE_RAW) {
    if (caplen < 1 || (<u32>load<u8>(frame) >> 4) != 4) return RES_NOT_IP; // raw may carry IPv6
  } else if (lt != LINKTYPE_IPV4) {
    return RES_NOT_IP;
  }
  if (etype != ETH_P_IP) return RES_NOT_IP;
  // a unicast frame to another station's MAC (captured in promiscuous mode): ip_rcv drops it
  if (lt == LINKTYPE_ETHERNET && l2type == PACKET_HOST && ifx != IF_NONE && otherHost(frame, ifx)) {
    store<u8>(PKT, PACKET_OTHERHOST, P_PKTTYPE);
    return RES_DROP_OTHERHOST;
  }

  // IPv4 (ip_rcv_core): header present, version 4, ihl >= 5, checksum, tot_len within the datagram
  const off = l3off;
  if (off + 20 > caplen) return RES_MALFORMED;
  const l3 = frame + off;
  const vihl = <u32>load<u8>(l3);
  if ((vihl >> 4) != 4) return RES_MALFORMED;
  const ihl = (vihl & 15) << 2;
  if (ihl < 20 || off + ihl > caplen) return RES_MALFORMED;
  if (!csumVerifyQuick(l3, ihl, 0)) return RES_MALFORMED;
  const iplen = be16(l3 + 2);
  const onWire = wirelen > off ? wirelen - off : 0;
  if (iplen < ihl || onWire < iplen) return RES_MALFORMED;
  store<u32>(PKT, <u32>l3, P_L3);
  store<u32>(PKT, iplen, P_IPLEN);
  store<u8>(PKT, <u8>ihl, P_IHL);
  store<u8>(PKT, load<u8>(l3 + 1), P_TOS);
  store<u8>(PKT, load<u8>(l3 + 8), P_TTL);
  const proto = <u32>load<u8>(l3 + 9);
  store<u8>(PKT, <u8>proto, P_PROTO);
  const fo = be16(l3 + 6);
  const fragoff = fo & 0x1fff;
  store<u16>(PKT, <u16>fragoff, P_FRAGOFF);
  store<u8>(PKT, <u8>((fo >> 13) & 1), P_MF);
  const saddr = load<u32>(l3 + 12);
  const daddr = load<u32>(l3 + 16);
  store<u32>(PKT, saddr, P_SADDR);
  store<u32>(PKT, daddr, P_DADDR);

  // pkt_type: from the link layer; for raw IP from the address
  let pt = l2type;
  if (pt < 0) {
    if ((daddr & 0xf0) == 0xe0) pt = PACKET_MULTICAST;
    else if (daddr == 0xffffffff || addrType(daddr, -1) == RTN_BROADCAST) pt = PACKET_BROADCAST;
    else pt = PACKET_HOST;
  }
  store<u8>(PKT, <u8>pt, P_PKTTYPE);

  // L4: what is captured of the datagram after the IP header
  const capIp = caplen - off < iplen ? caplen - off : iplen;
  const avail = capIp - ihl;
  const l4 = l3 + ihl;
  store<u32>(PKT, <u32>l4, P_L4);
  store<u32>(PKT, avail, P_L4LEN);
  if (fragoff == 0) layer4(l4, avail, proto);
  return RES_NONE;
}

// ---------------------------------------------------------------- defragmentation (ip_defrag)
// With conntrack active the kernel reassembles every datagram before the raw table
// (nf_defrag_ipv4 at priority -400): fragments are held in queues keyed by (saddr, daddr, id,
// proto) and the datagram goes on, whole, with the packet that completes it. As in
// net/ipv4/ip_fragment.c + inet_fragment.c (Linux 6.x): a fragment fully inside what is already
// queued is a duplicate (dropped, queue kept); any other overlap drops the fragment and the whole
// queue (RFC 5722 behaviour, IPv4 since 4.19); non-last fragments are truncated to a multiple of
// 8; a queue lives ipfrag_time = 30 s from its first fragment. The reassembled header is the one
// of the offset-0 fragment, tot_len updated, DF set when every fragment had DF
// (max_df_size == max_size), checksum recomputed.

export const DEFRAG_PASS = 0;   // not a fragment: go on with PKT as it is
export const DEFRAG_HELD = 1;   // fragment queued: the packet is consumed (RES_FRAG_QUEUED)
export const DEFRAG_DONE = 2;   // datagram complete: PKT now describes the reassembled datagram
export const DEFRAG_DROP = 3;   // fragment dropped (duplicate, overlap, too long, no queue) (RES_DROP_FRAG)

const DQ_N: i32 = 64;           // queues (64 x ~66 KiB, about the kernel's 4 MiB ipfrag_high_thresh)
const DQ_RUNS: i32 = 64;        // fragment runs per queue
const DQ_KEY_S = 0;             // u32 saddr
const DQ_KEY_D = 4;             // u32 daddr
const DQ_KEY_ID = 8;            // u16 id
const DQ_KEY_P = 10;            // u8 proto
const DQ_USED = 11;             // u8
const DQ_EXPIRES = 16;          // u64 jiffies
const DQ_NRUNS = 24;            // u32
const DQ_LEN = 28;              // u32 datagram data length known so far (q.len)
const DQ_MEAT = 32;             // u32 bytes received
const DQ_FLAGS = 36;            // u32 FIRST_IN 1, LAST_IN 2
const DQ_MAXSIZE = 40;          // u32 largest fragment (IP header included)
const DQ_MAXDF = 44;            // u32 largest fragment with DF
const DQ_HDRLEN = 48;           // u32 header length of the offset-0 fragment
const DQ_HDR = 64;              // 60 bytes: IP header of the offset-0 fragment
const DQ_RUNS_AT = 128;         // runs: [start u32, end u32] x DQ_RUNS
const DQ_DATA = DQ_RUNS_AT + DQ_RUNS * 8;
const DQ_SIZE = (DQ_DATA + 65536 + 63) & ~63;

let DQ: usize = 0;              // queues
let REASM: usize = 0;           // the reassembled datagram of the packet in flight
const REASM_DESC: usize = memory.data(32, 16); // DESC_SIZE
let reasmMax: u32 = 0;          // frag_max_size of the last reassembled datagram (0 = none)
let reasmDf: bool = false;

/** Reserve the reassembly queues (setup time; called by ctSetup). */
export function defragSetup(): void {
  if (DQ != 0) return;
  DQ = reserve(<usize>DQ_N * <usize>DQ_SIZE);
  REASM = reserve(65536 + 64);
}

/** IPCB(skb)->frag_max_size of the datagram in flight (0 when it was not reassembled) and
 *  whether it is sent with DF: a forwarded reassembled datagram leaves in fragments of this size. */
export function defragMaxSize(): u32 { return reasmMax; }
export function defragDf(): bool { return reasmDf; }

// @ts-ignore: decorator
@inline function dq(i: i32): usize { return DQ + <usize>i * <usize>DQ_SIZE; }

function dqFree(q: usize): void { store<u8>(q, 0, DQ_USED); }

/** ip_defrag for the packet in PKT (call right after dissect when conntrack is active). */
export function defrag(): i32 {
  reasmMax = 0;
  reasmDf = false;
  const fragoff = <u32>load<u16>(PKT, P_FRAGOFF);
  const mf = load<u8>(PKT, P_MF);
  if (fragoff == 0 && mf == 0) return DEFRAG_PASS;
  if (DQ == 0) return DEFRAG_PASS;
  const l3 = <usize>load<u32>(PKT, P_L3);
  const ihl = <u32>load<u8>(PKT, P_IHL);
  const iplen = load<u32>(PKT, P_IPLEN);
  if (load<u32>(PKT, P_L4LEN) < iplen - ihl) return DEFRAG_PASS; // not captured whole: cannot reassemble
  const saddr = load<u32>(PKT, P_SADDR);
  const daddr = load<u32>(PKT, P_DADDR);
  const id = <u32>load<u16>(l3 + 4);
  const proto = <u32>load<u8>(PKT, P_PROTO);
  const now = load<u64>(PKT, P_JIFFIES);
  const off = fragoff << 3;
  let end = off + (iplen - ihl);
  const df = (be16(l3 + 6) & 0x4000) != 0;

  // find the queue (expired ones are freed on the way), or a free one
  let q: usize = 0;
  let free: usize = 0;
  for (let i = 0; i < DQ_N; i++) {
    const c = dq(i);
    if (load<u8>(c, DQ_USED) == 0) { if (free == 0) free = c; continue; }
    if (<i64>(load<u64>(c, DQ_EXPIRES) - now) <= 0) { dqFree(c); if (free == 0) free = c; continue; }
    if (load<u32>(c, DQ_KEY_S) == saddr && load<u32>(c, DQ_KEY_D) == daddr &&
        <u32>load<u16>(c, DQ_KEY_ID) == id && <u32>load<u8>(c, DQ_KEY_P) == proto) { q = c; break; }
  }
  if (q == 0) {
    if (free == 0) return DEFRAG_DROP; // over the memory limit
    q = free;
    memory.fill(q, 0, DQ_RUNS_AT);
    store<u32>(q, saddr, DQ_KEY_S);
    store<u32>(q, daddr, DQ_KEY_D);
    store<u16>(q, <u16>id, DQ_KEY_ID);
    store<u8>(q, <u8>proto, DQ_KEY_P);
    store<u8>(q, 1, DQ_USED);
    store<u64>(q, now + 30 * hz(), DQ_EXPIRES);
  }

  // ip_frag_queue
  if (end + ihl > 65535) { dqFree(q); return DEFRAG_DROP; }
  let flags = load<u32>(q, DQ_FLAGS);
  let qlen = load<u32>(q, DQ_LEN);
  if (mf == 0) {
    // the last fragment: the total length is known
    if (end < qlen || ((flags & 2) != 0 && end != qlen)) { dqFree(q); return DEFRAG_DROP; }
    flags |= 2;
    qlen = end;
  } else {
    if ((end & 7) != 0) end &= ~(<u32>7);
    if (end > qlen) {
      if ((flags & 2) != 0) { dqFree(q); return DEFRAG_DROP; }
      qlen = end;
    }
  }
  if (end == off) { dqFree(q); return DEFRAG_DROP; }

  // inet_frag_queue_insert: runs of consecutive fragments; inside a run = duplicate
  const nr = <i32>load<u32>(q, DQ_NRUNS);
  let lastI = -1;
  let lastEnd: u32 = 0;
  for (let i = 0; i < nr; i++) {
    const e = load<u32>(q + DQ_RUNS_AT + <usize>(i * 8), 4);
    if (lastI < 0 || e > lastEnd) { lastI = i; lastEnd = e; }
  }
  if (lastI < 0) {
    store<u32>(q + DQ_RUNS_AT, off);
    store<u32>(q + DQ_RUNS_AT, end, 4);
    store<u32>(q, 1, DQ_NRUNS);
  } else if (lastEnd < end) {
    if (off < lastEnd) { dqFree(q); return DEFRAG_DROP; } // overlap
    if (off == lastEnd) {
      store<u32>(q + DQ_RUNS_AT + <usize>(lastI * 8), end, 4); // append to the last run
    } else {
      if (nr >= DQ_RUNS) { dqFree(q); return DEFRAG_DROP; }
      store<u32>(q + DQ_RUNS_AT + <usize>(nr * 8), off);
      store<u32>(q + DQ_RUNS_AT + <usize>(nr * 8), end, 4);
      store<u32>(q, nr + 1, DQ_NRUNS);
    }
  } else {
    for (let i = 0; i < nr; i++) {
      const s = load<u32>(q + DQ_RUNS_AT + <usize>(i * 8));
      const e = load<u32>(q + DQ_RUNS_AT + <usize>(i * 8), 4);
      if (end <= s || off >= e) continue;
      if (off >= s && end <= e) return DEFRAG_DROP;        // duplicate: the queue stays
      dqFree(q); return DEFRAG_DROP;                        // overlap: the queue goes
    }
    if (nr >= DQ_RUNS) { dqFree(q); return DEFRAG_DROP; }
    store<u32>(q + DQ_RUNS_AT + <usize>(nr * 8), off);
    store<u32>(q + DQ_RUNS_AT + <usize>(nr * 8), end, 4);
    store<u32>(q, nr + 1, DQ_NRUNS);
  }
  memory.copy(q + DQ_DATA + off, l3 + ihl, end - off);
  store<u32>(q, load<u32>(q, DQ_MEAT) + (end - off), DQ_MEAT);
  if (off == 0) {
    flags |= 1;
    memory.copy(q + DQ_HDR, l3, ihl);
    store<u32>(q, ihl, DQ_HDRLEN);
  }
  store<u32>(q, flags, DQ_FLAGS);
  store<u32>(q, qlen, DQ_LEN);
  const fragsize = iplen;
  if (fragsize > load<u32>(q, DQ_MAXSIZE)) store<u32>(q, fragsize, DQ_MAXSIZE);
  if (df && fragsize > load<u32>(q, DQ_MAXDF)) store<u32>(q, fragsize, DQ_MAXDF);
  if (flags != 3 || load<u32>(q, DQ_MEAT) != qlen) return DEFRAG_HELD;

  // ip_frag_reasm: the offset-0 header + all data
  const hl = load<u32>(q, DQ_HDRLEN);
  const total = hl + qlen;
  memory.copy(REASM, q + DQ_HDR, hl);
  memory.copy(REASM + hl, q + DQ_DATA, qlen);
  store<u16>(REASM + 2, <u16>bswap16(total));
  const maxSize = load<u32>(q, DQ_MAXSIZE);
  const maxDf = load<u32>(q, DQ_MAXDF);
  reasmDf = maxDf == maxSize;
  store<u16>(REASM + 6, reasmDf ? <u16>0x0040 : 0); // htons(IP_DF) in LE: 0x40 in the first byte
  store<u16>(REASM + 10, 0);
  store<u16>(REASM + 10, csumCompute(REASM, hl, 0));
  dqFree(q);
  // dissect the datagram as a LINKTYPE_IPV4 frame, with this packet's time, interface and ordinal
  const ns = load<u64>(PKT, P_NOW_LO);
  const d = REASM_DESC;
  store<u32>(d, <u32>REASM, DESC_FRAME);
  store<u32>(d, total, DESC_CAPLEN);
  store<u32>(d, total, DESC_WIRELEN);
  store<u32>(d, <u32>(ns / 1000000000), DESC_TS_SEC);
  store<u32>(d, <u32>(ns % 1000000000), DESC_TS_NSEC);
  store<u16>(d, <u16>LINKTYPE_IPV4, DESC_LINKTYPE);
  store<u16>(d, <u16>load<u8>(PKT, P_IIF), DESC_IFINDEX);
  store<u32>(d, load<u32>(PKT, P_ORDINAL), DESC_ORDINAL);
  const mx = maxSize > maxDf ? maxSize : maxDf;
  if (dissect(d) != RES_NONE) return DEFRAG_DROP;
  reasmMax = mx;
  return DEFRAG_DONE;
}
