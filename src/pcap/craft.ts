// Packet builders for tests, the kernel harness and traffic generators.
//
// One flat description of a frame (FrameSpec) covers every layer: link framing (Ethernet with an
// optional 802.1Q tag, raw IPv4, Linux SLL, Linux SLL2), IPv4 (options, fragments, TTL, TOS, id,
// DF/MF), and one L4 header (TCP, UDP, ICMP echo / errors embedding a packet, SCTP with one or more
// chunks and a CRC32c) or raw bytes. Checksums are right by default; `ipChecksum` / `l4Checksum`
// set a given value, 'bad' (guaranteed wrong) or, for UDP, 'zero' (no checksum).
//
//   buildFrame(spec)            -> a fresh Uint8Array holding exactly the frame
//   writeFrame(out, off, spec)  -> writes into `out` at `off`, returns the length (hot path: reuse
//                                  one spec object and one big buffer to build millions of frames)
//   buildIPv4(spec)             -> the IPv4 packet alone (same as link 'raw')
//   wrapL2(ipPacket, spec)      -> put a link header in front of an existing IPv4 packet
//   fragmentIPv4(pkt, size)     -> split a built IPv4 packet into fragments (checksums of the whole)
//   icmpQuote(pkt, n)           -> the part of a packet an ICMP error quotes (IP header + n bytes)
//
// Addresses may be given as "192.0.2.1", as 4 wire-order bytes, or as a host-order u32
// (0xC0000201). Ports, ids and all header fields are host-order numbers; the builder writes
// network byte order (SCTP's CRC32c is stored little-endian, as the kernel does: RFC 3309 / 4960
// appendix B).
//
// Layouts written (all multi-byte fields big-endian unless said):
//   Ethernet  dst(6) src(6) [0x8100 TCI(2)] ethertype(2)
//   SLL (113) pkttype(2) arphrd(2)=1 addrlen(2)=6 addr(8) protocol(2)                  16 bytes
//   SLL2(276) protocol(2) reserved(2)=0 ifindex(4) arphrd(2)=1 pkttype(1) addrlen(1)=6 addr(8)  20 bytes

export type Addr = string | Uint8Array | number;
export type LinkKind = 'ether' | 'raw' | 'ipv4' | 'sll' | 'sll2';
export type ChecksumOpt = number | 'bad' | 'zero';

export const LINKTYPE_OF: Record<LinkKind, number> = { ether: 1, raw: 101, ipv4: 228, sll: 113, sll2: 276 };

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

/** Linux packet types (SLL/SLL2 pkttype): PACKET_HOST 0, BROADCAST 1, MULTICAST 2, OTHERHOST 3, OUTGOING 4. */
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;

export interface SctpChunk { type: number; flags?: number; data?: Uint8Array }

export interface FrameSpec {
  // ---- link ----
  /** Default 'ether'. 'raw' = LINKTYPE_RAW (101), 'ipv4' = LINKTYPE_IPV4 (228): no link header. */
  link?: LinkKind;
  srcMac?: string | Uint8Array;        // default 02:00:00:00:00:01
  dstMac?: string | Uint8Array;        // default 02:00:00:00:00:02
  /** 802.1Q VLAN id (Ethernet only); the tag is present when this is set. */
  vlan?: number;
  vlanPcp?: number;
  /** EtherType / SLL protocol, default 0x0800. */
  etherType?: number;
  /** SLL/SLL2 packet type, default PACKET_HOST. */
  pktType?: number;
  /** SLL2 interface index, default 1. */
  ifindex?: number;
  /** SLL/SLL2 link-layer address (the sender's), default srcMac. */
  sllAddr?: string | Uint8Array;
  /** Bytes put after the link header instead of an IPv4 packet (non-IPv4 frames, e.g. ARP). */
  l3Raw?: Uint8Array;

  // ---- IPv4 ----
  src?: Addr;                         // default 192.0.2.1
  dst?: Addr;                         // default 192.0.2.2
  ttl?: number;                       // default 64
  tos?: number;                       // default 0
  id?: number;                        // default 0
  df?: boolean;
  mf?: boolean;
  /** The reserved ("evil") bit. */
  rf?: boolean;
  /** Fragment offset in BYTES (a multiple of 8). */
  fragOffset?: number;
  /** Raw IPv4 option bytes; padded with zeros (EOL) to a multiple of 4. */
  ipOptions?: Uint8Array;
  ipChecksum?: number | 'bad';
  /** Override of the total-length field (default: the real length). */
  ipTotalLength?: number;
  /** Override of the IHL field in 32-bit words (default: from the options). */
  ihl?: number;
  /** IP version field, default 4. */
  version?: number;

  // ---- L4 ----
  /** 'tcp' | 'udp' | 'icmp' | 'sctp' or a protocol number (then `payload` is the whole L4). Default 'tcp'. */
  proto?: 'tcp' | 'udp' | 'icmp' | 'sctp' | number;
  sport?: number;                     // TCP/UDP/SCTP, default 40000
  dport?: number;                     // default 80 (UDP: 53)
  // TCP
  /** Flags as a number or letters: F S R P A U E C ('.' also means ACK), e.g. 'S', 'SA', 'FA', 'PA'. */
  flags?: number | string;
  seq?: number;
  ack?: number;
  window?: number;                    // default 65535
  urgPtr?: number;
  /** Raw TCP option bytes (see tcpOptions()); padded with zeros (EOL) to a multiple of 4. */
  tcpOptions?: Uint8Array;
  // UDP
  /** Override of the UDP length field. */
  udpLength?: number;
  // ICMP
  icmpType?: number;                  // default 8 (echo request)
  icmpCode?: number;
  icmpId?: number;                    // echo / timestamp / info: id (bytes 4-5)
  icmpSeq?: number;                   // echo: sequence (bytes 6-7)
  /** Destination unreachable / fragmentation needed: next-hop MTU (bytes 6-7). */
  mtu?: number;
  /** Redirect: gateway address (bytes 4-7). */
  gateway?: Addr;
  /** Parameter problem: pointer (byte 4). */
  pointer?: number;
  /** Raw bytes 4-7 of the ICMP header (overrides id/seq/mtu/gateway/pointer). */
  icmpRest?: number;
  /** ICMP error: the quoted packet (IP header + some bytes: see icmpQuote()), placed after the 8-byte header. */
  inner?: Uint8Array;
  // SCTP
  vtag?: number;
  /** Chunks; default one INIT-like chunk built from chunkType/chunkFlags/payload. */
  chunks?: SctpChunk[];
  chunkType?: number;                 // default 1 (INIT)
  chunkFlags?: number;
  // common
  /** Payload after the L4 header (for a numeric proto: the whole L4). A number = that many bytes of a pattern. */
  payload?: Uint8Array | string | number;
  /** L4 checksum: a fixed value, 'bad' (surely wrong), 'zero' (UDP: no checksum; others: 0). */
  l4Checksum?: ChecksumOpt;
}

// ---------------------------------------------------------------- addresses

/** Parse "a.b.c.d" into a host-order u32. Throws naming the token on bad input. */
export function parseIPv4(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4) throw new Error(`bad IPv4 address '${s}'`);
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) throw new Error(`bad IPv4 address '${s}'`);
    const n = Number(p);
    if (n > 255) throw new Error(`bad IPv4 address '${s}'`);
    v = v * 256 + n;
  }
  return v >>> 0;
}

/** The 4 wire bytes of an address. */
export function ipv4Bytes(a: Addr): Uint8Array {
  if (a instanceof Uint8Array) {
    if (a.length !== 4) throw new Error(`IPv4 address needs 4 bytes, got ${a.length}`);
    return a;
  }
  const v = typeof a === 'number' ? a >>> 0 : parseIPv4(a);
  return new Uint8Array([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
}

/** Host-order u32 of an address. */
export function ipv4Num(a: Addr): number {
  if (typeof a === 'number') return a >>> 0;
  if (typeof a === 'string') return parseIPv4(a);
  return ((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) >>> 0;
}

/** The core's encoding (src/layout.ts): the 4 wire bytes loaded as a little-endian u32. */
export function ipv4WireLE(a: Addr): number {
  const b = ipv4Bytes(a);
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
}

export function formatIPv4(a: Addr): string {
  const b = ipv4Bytes(a);
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** Parse "02:00:00:00:00:01" (also '-' separated) into 6 bytes. */
export function parseMac(s: string | Uint8Array): Uint8Array {
  if (s instanceof Uint8Array) {
    if (s.length !== 6) throw new Error(`MAC address needs 6 bytes, got ${s.length}`);
    return s;
  }
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) throw new Error(`bad MAC address '${s}'`);
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(m: Uint8Array): string {
  return Array.from(m, (b) => b.toString(16).padStart(2, '0')).join(':');
}

// ---------------------------------------------------------------- small helpers

const FLAG_LETTERS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16, '.': 16, U: 32, E: 64, C: 128, W: 128 };

/** TCP flags from letters (F S R P A U E C, '.'=ACK, W=CWR as tcpdump prints) or a number. */
export function tcpFlags(f: number | string): number {
  if (typeof f === 'number') return f & 0xff;
  let v = 0;
  for (const ch of f.toUpperCase()) {
    const b = FLAG_LETTERS[ch];
    if (b === undefined) throw new Error(`bad TCP flag '${ch}' in '${f}'`);
    v |= b;
  }
  return v;
}

/** TCP option bytes: MSS, window scale, SACK permitted, timestamps (in the usual SYN order). */
export function tcpOptions(o: { mss?: number; wscale?: number; sackPerm?: boolean; ts?: [number, number] }): Uint8Array {
  const out: number[] = [];
  if (o.mss !== undefined) out.push(2, 4, (o.mss >>> 8) & 255, o.mss & 255);
  if (o.sackPerm) out.push(4, 2);
  if (o.ts) {
    const [a, b] = o.ts;
    out.push(8, 10, a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255, b >>> 24, (b >>> 16) & 255, (b >>> 8) & 255, b & 255);
  }
  if (o.wscale !== undefined) out.push(1, 3, 3, o.wscale & 255);
  return new Uint8Array(out);
}

const encoder = new TextEncoder();
const patternCache = new Map<number, Uint8Array>();

function payloadBytes(p: Uint8Array | string | number | undefined): Uint8Array {
  if (p === undefined) return EMPTY;
  if (p instanceof Uint8Array) return p;
  if (typeof p === 'string') return encoder.encode(p);
  let b = patternCache.get(p);
  if (!b) {
    b = new Uint8Array(p);
    for (let i = 0; i < p; i++) b[i] = (i * 7 + 0x41) & 0xff;
    if (patternCache.size < 64) patternCache.set(p, b);
  }
  return b;
}

const EMPTY = new Uint8Array(0);
const DEFAULT_SRC_MAC = parseMac('02:00:00:00:00:01');
const DEFAULT_DST_MAC = parseMac('02:00:00:00:00:02');
const pad4 = (n: number) => (n + 3) & ~3;

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}
function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 255;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}
// Parsed-string caches: generators pass the same address strings millions of times.
const ipCache = new Map<string, number>();
const macCache = new Map<string, Uint8Array>();
const flagCache = new Map<string, number>();
function cached<V>(m: Map<string, V>, k: string, f: (k: string) => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = f(k);
    if (m.size >= 65536) m.clear();
    m.set(k, v);
  }
  return v;
}
function macOf(s: string | Uint8Array): Uint8Array {
  return typeof s === 'string' ? cached(macCache, s, parseMac) : parseMac(s);
}

function putAddr(b: Uint8Array, o: number, a: Addr): void {
  if (typeof a === 'number') put32(b, o, a);
  else if (typeof a === 'string') put32(b, o, cached(ipCache, a, parseIPv4));
  else b.set(ipv4Bytes(a), o);
}

/** One's-complement sum of b[start, end) folded to 16 bits, starting from `acc` (not complemented). */
function sum16(b: Uint8Array, start: number, end: number, acc: number): number {
  let s = acc;
  let i = start;
  for (; i + 1 < end; i += 2) s += (b[i] << 8) | b[i + 1];
  if (i < end) s += b[i] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function applyChecksum(b: Uint8Array, at: number, correct: number, opt: ChecksumOpt | undefined, isUdp: boolean): void {
  let v = correct;
  if (opt === 'bad') {
    v = correct ^ 0x5555;
    if (isUdp && v === 0) v = 0x1234;
  } else if (opt === 'zero') v = 0;
  else if (typeof opt === 'number') v = opt & 0xffff;
  put16(b, at, v);
}

// ---------------------------------------------------------------- CRC32c (Castagnoli, reflected 0x82F63B78)

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32c of b[start, end) (initial ~0, final xor ~0), as used by SCTP and iSCSI. */
export function crc32c(b: Uint8Array, start = 0, end = b.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC32C_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------- sizes

function linkLen(spec: FrameSpec): number {
  switch (spec.link ?? 'ether') {
    case 'ether': return spec.vlan !== undefined ? 18 : 14;
    case 'raw': case 'ipv4': return 0;
    case 'sll': return 16;
    case 'sll2': return 20;
    default: throw new Error(`unknown link kind '${String(spec.link)}'`);
  }
}

function protoNum(p: FrameSpec['proto']): number {
  if (p === undefined || p === 'tcp') return IPPROTO_TCP;
  if (p === 'udp') return IPPROTO_UDP;
  if (p === 'icmp') return IPPROTO_ICMP;
  if (p === 'sctp') return IPPROTO_SCTP;
  if (typeof p === 'number') return p & 255;
  throw new Error(`unknown protocol '${String(p)}'`);
}

function sctpChunks(spec: FrameSpec): SctpChunk[] {
  return spec.chunks ?? [{ type: spec.chunkType ?? 1, flags: spec.chunkFlags ?? 0, data: payloadBytes(spec.payload) }];
}

function l4Len(spec: FrameSpec, proto: number): number {
  const pl = payloadBytes(spec.payload).length;
  switch (proto) {
    case IPPROTO_TCP: return 20 + pad4(spec.tcpOptions?.length ?? 0) + pl;
    case IPPROTO_UDP: return 8 + pl;
    case IPPROTO_ICMP: return 8 + (spec.inner ? spec.inner.length : pl);
    case IPPROTO_SCTP: {
      let n = 12;
      for (const c of sctpChunks(spec)) n += pad4(4 + (c.data?.length ?? 0));
      return n;
    }
    default: return pl;
  }
}

/** Length of the frame `spec` describes. */
export function frameLength(spec: FrameSpec): number {
  if (spec.l3Raw) return linkLen(spec) + spec.l3Raw.length;
  return linkLen(spec) + 20 + pad4(spec.ipOptions?.length ?? 0) + l4Len(spec, protoNum(spec.proto));
}

// ---------------------------------------------------------------- writers

function writeLink(out: Uint8Array, off: number, spec: FrameSpec): number {
  const etherType = spec.etherType ?? 0x0800;
  switch (spec.link ?? 'ether') {
    case 'ether': {
      out.set(spec.dstMac !== undefined ? macOf(spec.dstMac) : DEFAULT_DST_MAC, off);
      out.set(spec.srcMac !== undefined ? macOf(spec.srcMac) : DEFAULT_SRC_MAC, off + 6);
      let o = off + 12;
      if (spec.vlan !== undefined) {
        put16(out, o, 0x8100);
        put16(out, o + 2, ((spec.vlanPcp ?? 0) << 13) | (spec.vlan & 0xfff));
        o += 4;
      }
      put16(out, o, etherType);
      return o + 2 - off;
    }
    case 'raw': case 'ipv4': return 0;
    case 'sll': {
      put16(out, off, spec.pktType ?? PACKET_HOST);
      put16(out, off + 2, 1); // ARPHRD_ETHER
      put16(out, off + 4, 6);
      out.fill(0, off + 6, off + 14);
      out.set(macOf(spec.sllAddr ?? spec.srcMac ?? DEFAULT_SRC_MAC), off + 6);
      put16(out, off + 14, etherType);
      return 16;
    }
    case 'sll2': {
      put16(out, off, etherType);
      put16(out, off + 2, 0);
      put32(out, off + 4, spec.ifindex ?? 1);
      put16(out, off + 8, 1); // ARPHRD_ETHER
      out[off + 10] = spec.pktType ?? PACKET_HOST;
      out[off + 11] = 6;
      out.fill(0, off + 12, off + 20);
      out.set(macOf(spec.sllAddr ?? spec.srcMac ?? DEFAULT_SRC_MAC), off + 12);
      return 20;
    }
  }
  throw new Error(`unknown link kind '${String(spec.link)}'`);
}

/** Writes the frame described by `spec` into `out` at `off`; returns its length. */
export function writeFrame(out: Uint8Array, off: number, spec: FrameSpec): number {
  const total = frameLength(spec);
  if (off + total > out.length) throw new RangeError(`frame of ${total} bytes does not fit at ${off} in a buffer of ${out.length}`);
  let o = off + writeLink(out, off, spec);
  if (spec.l3Raw) {
    out.set(spec.l3Raw, o);
    return total;
  }
  const ip = o;
  const opts = spec.ipOptions ?? EMPTY;
  const ihl = 20 + pad4(opts.length);
  const proto = protoNum(spec.proto);
  const l4 = ip + ihl;
  const l4len = total - (l4 - off);
  // IPv4 header
  out[ip] = ((spec.version ?? 4) << 4) | ((spec.ihl ?? ihl / 4) & 15);
  out[ip + 1] = spec.tos ?? 0;
  put16(out, ip + 2, spec.ipTotalLength ?? ihl + l4len);
  put16(out, ip + 4, spec.id ?? 0);
  const fo = spec.fragOffset ?? 0;
  if (fo % 8 !== 0) throw new Error(`fragment offset ${fo} is not a multiple of 8 bytes`);
  put16(out, ip + 6, (spec.rf ? 0x8000 : 0) | (spec.df ? 0x4000 : 0) | (spec.mf ? 0x2000 : 0) | ((fo >>> 3) & 0x1fff));
  out[ip + 8] = spec.ttl ?? 64;
  out[ip + 9] = proto;
  put16(out, ip + 10, 0);
  putAddr(out, ip + 12, spec.src ?? '192.0.2.1');
  putAddr(out, ip + 16, spec.dst ?? '192.0.2.2');
  if (opts.length) {
    out.set(opts, ip + 20);
    out.fill(0, ip + 20 + opts.length, ip + ihl);
  }
  const ipSum = ~sum16(out, ip, ip + ihl, 0) & 0xffff;
  if (spec.ipChecksum === 'bad') put16(out, ip + 10, ipSum ^ 0x5555);
  else put16(out, ip + 10, spec.ipChecksum ?? ipSum);

  // L4
  const pl = payloadBytes(spec.payload);
  const pseudo = () => sum16(out, ip + 12, ip + 20, proto + l4len);
  switch (proto) {
    case IPPROTO_TCP: {
      const topts = spec.tcpOptions ?? EMPTY;
      const thl = 20 + pad4(topts.length);
      put16(out, l4, spec.sport ?? 40000);
      put16(out, l4 + 2, spec.dport ?? 80);
      put32(out, l4 + 4, spec.seq ?? 0);
      put32(out, l4 + 8, spec.ack ?? 0);
      const f = spec.flags ?? TCP_SYN;
      const fl = typeof f === 'number' ? f & 0xff : cached(flagCache, f, tcpFlags);
      out[l4 + 12] = (thl / 4) << 4;
      out[l4 + 13] = fl;
      put16(out, l4 + 14, spec.window ?? 65535);
      put16(out, l4 + 16, 0);
      put16(out, l4 + 18, spec.urgPtr ?? 0);
      if (topts.length) {
        out.set(topts, l4 + 20);
        out.fill(0, l4 + 20 + topts.length, l4 + thl);
      }
      out.set(pl, l4 + thl);
      applyChecksum(out, l4 + 16, ~sum16(out, l4, l4 + l4len, pseudo()) & 0xffff, spec.l4Checksum, false);
      break;
    }
    case IPPROTO_UDP: {
      put16(out, l4, spec.sport ?? 40000);
      put16(out, l4 + 2, spec.dport ?? 53);
      put16(out, l4 + 4, spec.udpLength ?? l4len);
      put16(out, l4 + 6, 0);
      out.set(pl, l4 + 8);
      let c = ~sum16(out, l4, l4 + l4len, pseudo()) & 0xffff;
      if (c === 0) c = 0xffff; // RFC 768: a computed zero is sent as all ones
      applyChecksum(out, l4 + 6, c, spec.l4Checksum, true);
      break;
    }
    case IPPROTO_ICMP: {
      const type = spec.icmpType ?? 8;
      out[l4] = type;
      out[l4 + 1] = spec.icmpCode ?? 0;
      put16(out, l4 + 2, 0);
      let rest = 0;
      if (spec.icmpRest !== undefined) rest = spec.icmpRest;
      else if (type === 5) rest = spec.gateway !== undefined ? ipv4Num(spec.gateway) : 0;
      else if (type === 12) rest = ((spec.pointer ?? 0) & 255) * 0x1000000;
      else if (type === 3) rest = (spec.mtu ?? 0) & 0xffff;
      else rest = (((spec.icmpId ?? 0) & 0xffff) * 0x10000) + ((spec.icmpSeq ?? 0) & 0xffff);
      put32(out, l4 + 4, rest);
      out.set(spec.inner ?? pl, l4 + 8);
      applyChecksum(out, l4 + 2, ~sum16(out, l4, l4 + l4len, 0) & 0xffff, spec.l4Checksum, false);
      break;
    }
    case IPPROTO_SCTP: {
      put16(out, l4, spec.sport ?? 40000);
      put16(out, l4 + 2, spec.dport ?? 80);
      put32(out, l4 + 4, spec.vtag ?? 0);
      put32(out, l4 + 8, 0);
      let c = l4 + 12;
      for (const ch of sctpChunks(spec)) {
        const d = ch.data ?? EMPTY;
        out[c] = ch.type;
        out[c + 1] = ch.flags ?? 0;
        put16(out, c + 2, 4 + d.length);
        out.set(d, c + 4);
        const end = c + pad4(4 + d.length);
        out.fill(0, c + 4 + d.length, end);
        c = end;
      }
      let crc = crc32c(out, l4, l4 + l4len);
      const opt = spec.l4Checksum;
      if (opt === 'bad') crc = (crc ^ 1) >>> 0;
      else if (opt === 'zero') crc = 0;
      else if (typeof opt === 'number') crc = opt >>> 0;
      // stored little-endian (the kernel: cpu_to_le32 of the final CRC)
      out[l4 + 8] = crc & 255;
      out[l4 + 9] = (crc >>> 8) & 255;
      out[l4 + 10] = (crc >>> 16) & 255;
      out[l4 + 11] = crc >>> 24;
      break;
    }
    default:
      out.set(pl, l4);
  }
  return total;
}

/** A fresh frame. */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const out = new Uint8Array(frameLength(spec));
  writeFrame(out, 0, spec);
  return out;
}

/** The IPv4 packet alone (no link header). */
export function buildIPv4(spec: FrameSpec): Uint8Array {
  return buildFrame({ ...spec, link: 'raw' });
}

/** A link header (from spec's link fields) in front of an existing IPv4 packet (or any L3 bytes). */
export function wrapL2(l3: Uint8Array, spec: Pick<FrameSpec, 'link' | 'srcMac' | 'dstMac' | 'vlan' | 'vlanPcp' | 'etherType' | 'pktType' | 'ifindex' | 'sllAddr'> = {}): Uint8Array {
  return buildFrame({ ...spec, l3Raw: l3 });
}

/** What an ICMP error quotes: the IP header (with options) and the first `l4Bytes` bytes after it. */
export function icmpQuote(ipPacket: Uint8Array, l4Bytes = 8): Uint8Array {
  const ihl = (ipPacket[0] & 15) * 4;
  return ipPacket.slice(0, Math.min(ipPacket.length, ihl + l4Bytes));
}

/**
 * Split a built IPv4 packet into fragments carrying at most `fragPayload` bytes of data each
 * (rounded down to a multiple of 8). The first fragment keeps all options; later ones keep only
 * options with the copied flag (RFC 791), as the kernel's ip_options_fragment() does. Header
 * checksums are recomputed; the L4 checksum stays the whole datagram's.
 */
export function fragmentIPv4(pkt: Uint8Array, fragPayload: number): Uint8Array[] {
  const ihl = (pkt[0] & 15) * 4;
  const total = (pkt[2] << 8) | pkt[3];
  const size = fragPayload & ~7;
  if (size <= 0) throw new Error(`fragment payload ${fragPayload} is smaller than 8 bytes`);
  const flagsOff = (pkt[6] << 8) | pkt[7];
  const baseOff = (flagsOff & 0x1fff) * 8;
  const origMf = (flagsOff & 0x2000) !== 0;
  // options for later fragments
  const later: number[] = [];
  for (let i = 20; i < ihl;) {
    const t = pkt[i];
    if (t === 0) break;
    if (t === 1) { i++; continue; }
    const len = pkt[i + 1];
    if (len < 2) break;
    if (t & 0x80) for (let k = 0; k < len; k++) later.push(pkt[i + k]);
    i += len;
  }
  const laterOpts = new Uint8Array(later);
  const laterIhl = 20 + pad4(laterOpts.length);
  const data = pkt.subarray(ihl, total);
  const out: Uint8Array[] = [];
  for (let pos = 0; pos < data.length; pos += size) {
    const chunk = data.subarray(pos, Math.min(data.length, pos + size));
    const first = pos === 0;
    const hl = first ? ihl : laterIhl;
    const f = new Uint8Array(hl + chunk.length);
    f.set(pkt.subarray(0, 20), 0);
    if (first) f.set(pkt.subarray(20, ihl), 20);
    else f.set(laterOpts, 20);
    f[0] = (f[0] & 0xf0) | (hl / 4);
    put16(f, 2, f.length);
    const mf = pos + size < data.length || origMf;
    put16(f, 6, (flagsOff & 0xc000) | (mf ? 0x2000 : 0) | (((baseOff + pos) >>> 3) & 0x1fff));
    put16(f, 10, 0);
    put16(f, 10, ~sum16(f, 0, hl, 0) & 0xffff);
    f.set(chunk, hl);
    out.push(f);
  }
  return out;
}
