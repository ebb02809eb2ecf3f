// Conversation builders for case captures: TCP with consistent sequence numbers (so the kernel's
// window tracking accepts what should be accepted), UDP and ICMP exchanges. Packets are built with
// src/pcap/craft.ts and are seen as they arrive at the router: the client side on one interface with
// the original addresses, the server side on another with the addresses the server sees (after NAT).
import { buildFrame, buildIPv4, icmpQuote, type FrameSpec } from '../../../src/pcap/craft.js';
import type { CasePacket } from './harness.js';
import { mulberry32 } from '../../../src/util/random.js';

/** Small deterministic PRNG (mulberry32) for ISNs, ids and ports. */
export const rng = mulberry32;

export interface Endpoint { ip: string; port: number }

/** One side's view: where its packets come from/go to and on which router interface they arrive. */
export interface Side { src: Endpoint; dst: Endpoint; iface: string }

export interface SegOpts {
  /** Payload bytes. */
  len?: number;
  /** Added to the sequence number (out-of-window segments). */
  seqDelta?: number;
  /** Do not advance the sender's sequence (e.g. for a probe). */
  noAdvance?: boolean;
  ttl?: number;
  tos?: number;
  window?: number;
}

/**
 * A TCP conversation. `a` is the client as it sends, `b` the server as it sends (its src is the real
 * server; its dst is the client as the server sees it, i.e. after SNAT; the client's dst is the
 * address the client targets, i.e. before DNAT).
 */
export class TcpConv {
  private seqA: number;
  private seqB: number;
  private lastA?: CasePacket;
  private lastB?: CasePacket;

  constructor(private readonly a: Side, private readonly b: Side, private readonly out: CasePacket[], rand: () => number) {
    this.seqA = Math.floor(rand() * 2 ** 32) >>> 0;
    this.seqB = Math.floor(rand() * 2 ** 32) >>> 0;
  }

  /** A segment from the client. Flags as letters: 'S', 'SA', 'A', 'PA', 'FA', 'R', 'RA'. */
  c(flags: string, o: SegOpts = {}): this { this.seg(true, flags, o); return this; }
  /** A segment from the server. */
  s(flags: string, o: SegOpts = {}): this { this.seg(false, flags, o); return this; }
  /** Resend the client's last segment unchanged (a retransmission). */
  cAgain(): this { this.out.push({ ...this.lastA! }); return this; }
  sAgain(): this { this.out.push({ ...this.lastB! }); return this; }

  private seg(fromA: boolean, flags: string, o: SegOpts): void {
    const me = fromA ? this.a : this.b;
    const seq = ((fromA ? this.seqA : this.seqB) + (o.seqDelta ?? 0)) >>> 0;
    const peerNext = fromA ? this.seqB : this.seqA;
    const hasAck = flags.includes('A');
    const spec: FrameSpec = {
      src: me.src.ip, dst: me.dst.ip, proto: 'tcp', sport: me.src.port, dport: me.dst.port,
      flags, seq, ack: hasAck ? peerNext >>> 0 : 0, window: o.window ?? 29200, payload: o.len ?? 0,
      ttl: o.ttl ?? 64, tos: o.tos ?? 0, id: this.out.length & 0xffff, df: true,
    };
    const p: CasePacket = { frame: buildFrame(spec), iface: me.iface };
    this.out.push(p);
    if (fromA) this.lastA = p; else this.lastB = p;
    if (o.noAdvance || o.seqDelta) return;
    const adv = (o.len ?? 0) + (flags.includes('S') ? 1 : 0) + (flags.includes('F') ? 1 : 0);
    if (fromA) this.seqA = (this.seqA + adv) >>> 0; else this.seqB = (this.seqB + adv) >>> 0;
  }
}

/** A UDP datagram as it arrives on `side.iface`. */
export function udp(out: CasePacket[], side: Side, len: number, extra: Partial<FrameSpec> = {}): void {
  out.push({
    frame: buildFrame({ src: side.src.ip, dst: side.dst.ip, proto: 'udp', sport: side.src.port, dport: side.dst.port,
      payload: len, id: out.length & 0xffff, ...extra }),
    iface: side.iface,
  });
}

/** An ICMP echo request (type 8) or reply (type 0). */
export function echo(out: CasePacket[], src: string, dst: string, iface: string, type: 8 | 0, id: number, seq: number, len = 56): void {
  out.push({
    frame: buildFrame({ src, dst, proto: 'icmp', icmpType: type, icmpCode: 0, icmpId: id, icmpSeq: seq, payload: len, id: out.length & 0xffff }),
    iface,
  });
}

/**
 * An ICMP error (type/code) sent by `from` to `to`, quoting `quoted` (the offending packet as the
 * error's sender saw it: IP header + 8 bytes).
 */
export function icmpError(out: CasePacket[], from: string, to: string, iface: string, type: number, code: number, quoted: FrameSpec, mtu?: number): void {
  const inner = icmpQuote(buildIPv4(quoted), 8);
  out.push({
    frame: buildFrame({ src: from, dst: to, proto: 'icmp', icmpType: type, icmpCode: code, inner, mtu, id: out.length & 0xffff }),
    iface,
  });
}
