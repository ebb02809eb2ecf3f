// TCP/UDP/ICMP tracking driven packet by packet through dissect -> ctIn -> ctConfirm.
// Expected states come from the kernel's tcp_conntracks table (nf_conntrack_proto_tcp.c), read by
// hand: row = packet kind in its direction, column = current state.
import { describe, it, expect } from 'vitest';
import * as L from '../../src/layout.js';
import { TCS_NONE, TCS_SYN_SENT, TCS_SYN_RECV, TCS_ESTABLISHED, TCS_FIN_WAIT, TCS_CLOSE_WAIT, TCS_LAST_ACK,
  TCS_TIME_WAIT, TCS_CLOSE } from '../../src/layout-ct.js';
import { buildIPv4, icmpQuote, type FrameSpec } from '../../src/pcap/craft.js';
import { defaultHost } from '../../src/host/index.js';
import { makeCore, put, P, ct, ctinfo, type Core } from './harness.js';

const CLI = '192.0.2.50';
const SRV = '203.0.113.9';

interface Seen { info: number; state: number; exp: number; status: number; ct: number; verdict: number }
function step(c: Core, spec: FrameSpec, t = 1000): Seen {
  expect(put(c, spec, { t })).toBe(L.RES_NONE);
  const verdict = c.x.ctIn();
  const k = ct(c);
  const info = ctinfo(c);
  const out: Seen = { info, ct: k, verdict, state: k ? c.x.ctTcpState(k) : -1, exp: k ? c.x.ctExpiresSec(k) : -1, status: k ? c.x.ctStatus(k) >>> 0 : 0 };
  if (k && P.u8(c, L.P_CTDIR) === 0) expect(c.x.ctConfirm()).toBe(L.V_ACCEPT);
  return out;
}
const tcp = (o: FrameSpec & { out?: boolean }): FrameSpec => ({
  proto: 'tcp', src: o.out === false ? SRV : CLI, dst: o.out === false ? CLI : SRV,
  sport: o.out === false ? 80 : 40000, dport: o.out === false ? 40000 : 80, ...o,
});
const fromSrv = (o: FrameSpec): FrameSpec => tcp({ ...o, out: false, sport: 80, dport: (o.dport as number) ?? 40000 });

function handshake(c: Core, sport = 40000, t = 1000): void {
  step(c, tcp({ sport, flags: 'S', seq: 1000 }), t);
  step(c, fromSrv({ dport: sport, flags: 'SA', seq: 5000, ack: 1001 }), t);
  step(c, tcp({ sport, flags: 'A', seq: 1001, ack: 5001 }), t);
}

describe('TCP conversation', () => {
  it('handshake, data, FIN both ways, reopen from TIME_WAIT', () => {
    const c = makeCore();
    // SYN: sNO -> sSS (ORIGINAL syn row); the first packet is NEW; SYN_SENT timeout 120 s
    let s = step(c, tcp({ flags: 'S', seq: 1000 }));
    expect([s.info, s.state, s.exp]).toEqual([L.CTINFO_NEW, TCS_SYN_SENT, 120]);
    // retransmitted SYN 10 s later: sSS -> sSS, still NEW (no reply seen), timer not renewed (110 s left)
    s = step(c, tcp({ flags: 'S', seq: 1000 }), 1010);
    expect([s.info, s.state, s.exp]).toEqual([L.CTINFO_NEW, TCS_SYN_SENT, 110]);
    // SYN/ACK: REPLY synack row sSS -> sSR; a reply packet is ESTABLISHED_REPLY; SYN_RECV 60 s
    s = step(c, fromSrv({ flags: 'SA', seq: 5000, ack: 1001 }), 1010);
    expect([s.info, s.state, s.exp]).toEqual([L.CTINFO_ESTABLISHED_REPLY, TCS_SYN_RECV, 60]);
    expect(s.status & L.IPS_SEEN_REPLY).toBe(L.IPS_SEEN_REPLY);
    // ACK: ORIGINAL ack row sSR -> sES; ASSURED (ES after SR with a reply seen); 5 days
    s = step(c, tcp({ flags: 'A', seq: 1001, ack: 5001 }), 1010);
    expect([s.info, s.state, s.exp]).toEqual([L.CTINFO_ESTABLISHED, TCS_ESTABLISHED, 432000]);
    expect(s.status & L.IPS_ASSURED).toBe(L.IPS_ASSURED);
    // 100 bytes of data: ES -> ES; unacknowledged data caps the timeout at 300 s
    s = step(c, tcp({ flags: 'PA', seq: 1001, ack: 5001, payload: 100 }), 1010);
    expect([s.state, s.exp]).toEqual([TCS_ESTABLISHED, 300]);
    // the server ACKs it: back to 432000
    s = step(c, fromSrv({ flags: 'A', seq: 5001, ack: 1101 }), 1010);
    expect([s.info, s.state, s.exp]).toEqual([L.CTINFO_ESTABLISHED_REPLY, TCS_ESTABLISHED, 432000]);
    // client FIN: ORIGINAL fin row sES -> sFW; FIN_WAIT 120 s
    s = step(c, tcp({ flags: 'FA', seq: 1101, ack: 5001 }), 1010);
    expect([s.info, s.state, s.exp]).toEqual([L.CTINFO_ESTABLISHED, TCS_FIN_WAIT, 120]);
    // server ACKs the FIN: REPLY ack row sFW -> sCW; CLOSE_WAIT 60 s
    s = step(c, fromSrv({ flags: 'A', seq: 5001, ack: 1102 }), 1010);
    expect([s.state, s.exp]).toEqual([TCS_CLOSE_WAIT, 60]);
    // server FIN: REPLY fin row sCW -> sLA; LAST_ACK 30 s
    s = step(c, fromSrv({ flags: 'FA', seq: 5001, ack: 1102 }), 1010);
    expect([s.state, s.exp]).toEqual([TCS_LAST_ACK, 30]);
    // last ACK: ORIGINAL ack row sLA -> sTW; TIME_WAIT 120 s
    s = step(c, tcp({ flags: 'A', seq: 1102, ack: 5002 }), 1010);
    expect([s.info, s.state, s.exp]).toEqual([L.CTINFO_ESTABLISHED, TCS_TIME_WAIT, 120]);
    // a new SYN on the same ports: sTW -> sSS after a FIN close kills the old ct (-NF_REPEAT)
    // and a fresh connection starts: NEW, SYN_SENT, not ASSURED
    s = step(c, tcp({ flags: 'S', seq: 90000 }), 1020);
    expect([s.info, s.state, s.exp]).toEqual([L.CTINFO_NEW, TCS_SYN_SENT, 120]);
    expect(s.status & (L.IPS_ASSURED | L.IPS_SEEN_REPLY)).toBe(0);
    expect(c.x.ctCount()).toBe(1);
  });

  it('out-of-window segment is INVALID unless tcp_be_liberal; old retransmissions are ignored', () => {
    const c = makeCore();
    handshake(c);
    // the receiver (server) window is 65535 from ack 1001: td_maxend = 66536; seq 300000 is past it
    // ("SEQ is over upper bound")
    let s = step(c, tcp({ flags: 'PA', seq: 300000, ack: 5001, payload: 10 }));
    expect([s.info, s.ct]).toEqual([L.CTINFO_INVALID, 0]);
    // an ACK for data never sent ("ACK is over upper bound")
    s = step(c, tcp({ flags: 'A', seq: 1001, ack: 900000 }));
    expect(s.info).toBe(L.CTINFO_INVALID);
    // the ct is still there and in sync
    s = step(c, tcp({ flags: 'A', seq: 1001, ack: 5001 }));
    expect([s.info, s.state]).toEqual([L.CTINFO_ESTABLISHED, TCS_ESTABLISHED]);
    const lib = makeCore({ host: { ...defaultHost(), sysctl: { 'net.netfilter.nf_conntrack_tcp_be_liberal': 1 } } });
    handshake(lib);
    s = step(lib, tcp({ flags: 'PA', seq: 300000, ack: 5001, payload: 10 }));
    expect([s.info, s.state]).toEqual([L.CTINFO_ESTABLISHED, TCS_ESTABLISHED]);
  });

  it('RST in ESTABLISHED: CLOSE with 10 s; a RST before any reply deletes the ct', () => {
    const c = makeCore();
    handshake(c);
    // seq = the server's highest ACK (1001): an exact RST; ORIGINAL rst row sES -> sCL
    let s = step(c, tcp({ flags: 'R', seq: 1001 }));
    expect([s.info, s.state, s.exp]).toEqual([L.CTINFO_ESTABLISHED, TCS_CLOSE, 10]);

    const d = makeCore();
    step(d, tcp({ flags: 'S', seq: 1000 }));
    // connection refused: REPLY rst row sSS -> sCL; no reply was seen before -> ct killed
    s = step(d, fromSrv({ flags: 'RA', seq: 0, ack: 1001 }));
    expect([s.info, s.state]).toEqual([L.CTINFO_ESTABLISHED_REPLY, TCS_CLOSE]);
    expect(d.x.ctFirst()).toBe(0);
    // so the next SYN starts over as NEW
    s = step(d, tcp({ flags: 'S', seq: 2000 }));
    expect([s.info, s.state]).toEqual([L.CTINFO_NEW, TCS_SYN_SENT]);
  });

  it('first packets that cannot open a connection are INVALID', () => {
    const c = makeCore();
    // ORIGINAL synack/fin/rst/none rows at sNO are sIV
    for (const flags of ['SA', 'FA', 'R', '']) {
      expect(step(c, tcp({ flags, seq: 1 })).info).toBe(L.CTINFO_INVALID);
    }
    // SYN|FIN is not in tcp_valid_flags
    expect(step(c, tcp({ flags: 'SF', seq: 1 })).info).toBe(L.CTINFO_INVALID);
    expect(c.x.ctCount()).toBe(0);
  });

  it('mid-stream pickup: ACK opens an ESTABLISHED ct with tcp_loose=1 (300 s), INVALID with 0', () => {
    const c = makeCore();
    const s = step(c, tcp({ flags: 'A', seq: 7777, ack: 8888 }));
    expect([s.info, s.state, s.exp]).toEqual([L.CTINFO_NEW, TCS_ESTABLISHED, 300]);
    const strict = makeCore({ host: { ...defaultHost(), sysctl: { 'net.netfilter.nf_conntrack_tcp_loose': 0 } } });
    expect(step(strict, tcp({ flags: 'A', seq: 7777, ack: 8888 })).info).toBe(L.CTINFO_INVALID);
  });

  it('bad TCP checksum: INVALID at PREROUTING unless the image trusts checksums', () => {
    const c = makeCore();
    const s = step(c, tcp({ flags: 'S', seq: 1, l4Checksum: 'bad' }));
    expect(s.info).toBe(L.CTINFO_INVALID);
    expect(P.u8(c, L.P_CSUM_OK)).toBe(2);
    const t = makeCore({ flags: L.IMGF_CONNTRACK | L.IMGF_TRUST_CSUM });
    expect(step(t, tcp({ flags: 'S', seq: 1, l4Checksum: 'bad' })).info).toBe(L.CTINFO_NEW);
    expect(c.x.ctStats(2)).toBe(1); // one bad checksum counted (the report's --trust-checksums hint)
    expect(c.x.ctStats(3)).toBe(1);
    const off = makeCore({ host: { ...defaultHost(), sysctl: { 'net.netfilter.nf_conntrack_checksum': 0 } } });
    expect(step(off, tcp({ flags: 'S', seq: 1, l4Checksum: 'bad' })).info).toBe(L.CTINFO_NEW);
  });

  it('retransmissions: the 3rd repeat of the same ACK caps the timeout at 300 s', () => {
    const c = makeCore();
    handshake(c); // its last ACK (seq 1001 ack 5001 win 65535) is the first of the series
    expect(step(c, tcp({ flags: 'A', seq: 1001, ack: 5001 })).exp).toBe(432000); // retrans 1
    expect(step(c, tcp({ flags: 'A', seq: 1001, ack: 5001 })).exp).toBe(432000); // retrans 2
    expect(step(c, tcp({ flags: 'A', seq: 1001, ack: 5001 })).exp).toBe(300);    // retrans 3 >= tcp_max_retrans
    // a different segment resets the counter
    expect(step(c, tcp({ flags: 'A', seq: 1001, ack: 5001, window: 1000 })).exp).toBe(432000);
  });

  it('window scaling counts only when both SYNs carry the option', () => {
    // server window 1000 << 7 = 128000 after the handshake; a segment ending 100000 bytes ahead
    // of the ack is inside it only when scaling is on both sides
    const run = (clientWs: boolean) => {
      const c = makeCore();
      step(c, tcp({ flags: 'S', seq: 1000, tcpOptions: clientWs ? new Uint8Array([1, 3, 3, 7]) : undefined }));
      step(c, fromSrv({ flags: 'SA', seq: 5000, ack: 1001, window: 1000, tcpOptions: new Uint8Array([1, 3, 3, 7]) }));
      step(c, tcp({ flags: 'A', seq: 1001, ack: 5001 }));
      step(c, fromSrv({ flags: 'A', seq: 5001, ack: 1001, window: 1000 }));
      return step(c, tcp({ flags: 'PA', seq: 1001 + 100000, ack: 5001, payload: 10 })).info;
    };
    expect(run(true)).toBe(L.CTINFO_ESTABLISHED);
    expect(run(false)).toBe(L.CTINFO_INVALID);
  });

  it('simultaneous open: SYN from both sides', () => {
    const c = makeCore();
    step(c, tcp({ flags: 'S', seq: 1000 }));
    // REPLY syn row: sSS -> sS2
    let s = step(c, fromSrv({ flags: 'S', seq: 5000 }));
    expect([s.info, s.state]).toEqual([L.CTINFO_ESTABLISHED_REPLY, 9]);
    // ORIGINAL synack row: sS2 -> sSR
    s = step(c, tcp({ flags: 'SA', seq: 1000, ack: 5001 }));
    expect(s.state).toBe(TCS_SYN_RECV);
    // REPLY ack in SYN_RECV after a simultaneous open -> ESTABLISHED (code, not table)
    s = step(c, fromSrv({ flags: 'A', seq: 5001, ack: 1001 }));
    expect(s.state).toBe(TCS_ESTABLISHED);
  });

  it('expiry: a SYN_SENT ct is gone after 120 s', () => {
    const c = makeCore();
    step(c, tcp({ flags: 'S', seq: 1000 }), 1000);
    // a SYN/ACK at +121 s finds nothing: as a first packet it is INVALID
    expect(step(c, fromSrv({ flags: 'SA', seq: 5000, ack: 1001 }), 1121).info).toBe(L.CTINFO_INVALID);
    expect(c.x.ctCount()).toBe(0);
  });
});

describe('UDP', () => {
  const udp = (o: FrameSpec): FrameSpec => ({ proto: 'udp', src: CLI, dst: SRV, sport: 5353, dport: 53, ...o });
  const rev = (o: FrameSpec = {}): FrameSpec => udp({ src: SRV, dst: CLI, sport: 53, dport: 5353, ...o });
  it('unreplied 30 s; stream 120 s and ASSURED only after 2 s with traffic both ways', () => {
    const c = makeCore();
    let s = step(c, udp({}), 1000);
    expect([s.info, s.exp]).toEqual([L.CTINFO_NEW, 30]);
    s = step(c, udp({}), 1000.2); // still no reply: NEW
    expect(s.info).toBe(L.CTINFO_NEW);
    // the first reply is processed before SEEN_REPLY is set: 30 s
    s = step(c, rev(), 1000.5);
    expect([s.info, s.exp]).toEqual([L.CTINFO_ESTABLISHED_REPLY, 30]);
    // 1 s after the first packet (stream_ts = first + 2 s not passed): 30 s, not ASSURED
    s = step(c, udp({}), 1001);
    expect([s.info, s.exp, s.status & L.IPS_ASSURED]).toEqual([L.CTINFO_ESTABLISHED, 30, 0]);
    // 3 s after: stream, 120 s, ASSURED
    s = step(c, udp({}), 1003);
    expect([s.exp, s.status & L.IPS_ASSURED]).toEqual([120, L.IPS_ASSURED]);
  });
  it('checksum 0 is fine, a wrong one is INVALID, a short length field is INVALID', () => {
    const c = makeCore();
    expect(step(c, udp({ l4Checksum: 'zero' })).info).toBe(L.CTINFO_NEW);
    expect(step(c, udp({ sport: 1, l4Checksum: 'bad' })).info).toBe(L.CTINFO_INVALID);
    expect(step(c, udp({ sport: 2, udpLength: 4, l4Checksum: 'zero' })).info).toBe(L.CTINFO_INVALID);
  });
});

describe('UDP-Lite', () => {
  it('partial checksum coverage; zero checksum and bad coverage are INVALID', () => {
    // build a UDP-Lite packet by hand: header (8) + 12 payload bytes, coverage 8 (header only)
    const mk = (cov: number, zero = false, corruptPayload = false): Uint8Array => {
      const f = buildIPv4({ proto: 136, src: CLI, dst: SRV, payload: new Uint8Array(20) });
      const l4 = 20;
      f[l4] = 0x13; f[l4 + 1] = 0x88; f[l4 + 2] = 0; f[l4 + 3] = 53; // ports 5000 -> 53
      f[l4 + 4] = cov >> 8; f[l4 + 5] = cov & 255;
      for (let i = 8; i < 20; i++) f[l4 + i] = i;
      f[l4 + 6] = 0; f[l4 + 7] = 0;
      // checksum over the covered bytes with the pseudo-header of the whole length (20)
      const len = 20, n = cov === 0 ? len : cov;
      let sum = ((f[12] << 8) | f[13]) + ((f[14] << 8) | f[15]) + ((f[16] << 8) | f[17]) + ((f[18] << 8) | f[19]) + 136 + len;
      for (let i = 0; i < n; i += 2) sum += (f[l4 + i] << 8) | (i + 1 < n ? f[l4 + i + 1] : 0);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      const ck = zero ? 0 : (~sum & 0xffff) || 0xffff;
      f[l4 + 6] = ck >> 8; f[l4 + 7] = ck & 255;
      if (corruptPayload) f[l4 + 19] ^= 0xff; // outside an 8-byte coverage
      return f;
    };
    const c = makeCore();
    const go = (f: Uint8Array) => { expect(put(c, f, { linktype: L.LINKTYPE_RAW })).toBe(L.RES_NONE); c.x.ctIn(); const i = ctinfo(c); c.x.ctAbort(); return i; };
    expect(go(mk(8))).toBe(L.CTINFO_NEW);
    expect(go(mk(8, false, true))).toBe(L.CTINFO_NEW);       // change outside the coverage: still fine
    expect(go(mk(0))).toBe(L.CTINFO_NEW);
    expect(go(mk(0, false, true))).toBe(L.CTINFO_INVALID);   // full coverage: the change is caught
    expect(go(mk(8, true))).toBe(L.CTINFO_INVALID);          // zero checksum
    expect(go(mk(4))).toBe(L.CTINFO_INVALID);                // coverage shorter than the header
  });
});

describe('ICMP', () => {
  const echo = (o: FrameSpec = {}): FrameSpec => ({ proto: 'icmp', src: CLI, dst: SRV, icmpType: 8, icmpId: 77, icmpSeq: 1, ...o });
  it('echo / reply by id; unsolicited reply and type > 18 are INVALID', () => {
    const c = makeCore();
    let s = step(c, echo());
    expect([s.info, s.exp]).toEqual([L.CTINFO_NEW, 30]);
    s = step(c, echo({ src: SRV, dst: CLI, icmpType: 0 }));
    expect(s.info).toBe(L.CTINFO_ESTABLISHED_REPLY);
    s = step(c, echo({ icmpSeq: 2 }));
    expect(s.info).toBe(L.CTINFO_ESTABLISHED);
    // an echo reply nobody asked for
    expect(step(c, echo({ src: SRV, dst: CLI, icmpType: 0, icmpId: 78 })).info).toBe(L.CTINFO_INVALID);
    expect(step(c, echo({ icmpType: 19 })).info).toBe(L.CTINFO_INVALID);
    // router advertisement (9): no reply type, cannot be tracked
    expect(step(c, echo({ icmpType: 9 })).info).toBe(L.CTINFO_INVALID);
  });
  it('ICMP errors about a tracked flow are RELATED; others INVALID', () => {
    const c = makeCore();
    const first = { proto: 'udp' as const, src: CLI, dst: SRV, sport: 5353, dport: 53 };
    step(c, first);
    const quoted = icmpQuote(buildIPv4(first));
    // the server answers the client's packet with port unreachable: reply direction
    let s = step(c, { proto: 'icmp', src: SRV, dst: CLI, icmpType: 3, icmpCode: 3, inner: quoted });
    expect(s.info).toBe(L.CTINFO_RELATED_REPLY);
    // a router on the way (198.18.0.1) sends time exceeded to the client: also RELATED_REPLY
    s = step(c, { proto: 'icmp', src: '198.18.0.1', dst: CLI, icmpType: 11, icmpCode: 0, inner: quoted });
    expect(s.info).toBe(L.CTINFO_RELATED_REPLY);
    // addressed to someone else than the sender of the quoted packet: INVALID
    s = step(c, { proto: 'icmp', src: SRV, dst: '192.0.2.51', icmpType: 3, icmpCode: 3, inner: quoted });
    expect(s.info).toBe(L.CTINFO_INVALID);
    // about a flow that does not exist
    const other = icmpQuote(buildIPv4({ ...first, sport: 9999 }));
    expect(step(c, { proto: 'icmp', src: SRV, dst: CLI, icmpType: 3, icmpCode: 3, inner: other }).info).toBe(L.CTINFO_INVALID);
  });
});

describe('SCTP', () => {
  // INIT carries init_tag A (the tag the server must use), INIT_ACK init_tag B (the client's)
  const A = 0x0a0a0a0a, B = 0x0b0b0b0b;
  const be = (v: number) => new Uint8Array([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
  const initData = (tag: number) => new Uint8Array([...be(tag), 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1]);
  const sc = (out: boolean, vtag: number, chunks: { type: number; flags?: number; data?: Uint8Array }[], o: FrameSpec = {}): FrameSpec =>
    ({ proto: 'sctp', src: out ? CLI : SRV, dst: out ? SRV : CLI, sport: out ? 5000 : 38412, dport: out ? 38412 : 5000, vtag, chunks, ...o });
  const SCS = { CLOSED: 1, COOKIE_WAIT: 2, COOKIE_ECHOED: 3, ESTABLISHED: 4, SHUTDOWN_SENT: 5, SHUTDOWN_ACK_SENT: 7 };
  it('association setup and shutdown: the kernel\'s sctp_conntracks states and timeouts', () => {
    const c = makeCore();
    // INIT: ORIGINAL init row sNO -> sCL (6.x), CLOSED 10 s
    let s = step(c, sc(true, 0, [{ type: 1, data: initData(A) }]));
    expect([s.info, s.state, s.exp]).toEqual([L.CTINFO_NEW, SCS.CLOSED, 10]);
    // INIT_ACK: REPLY init_ack row sCL -> sCW, 3 s
    s = step(c, sc(false, A, [{ type: 2, data: initData(B) }]));
    expect([s.info, s.state, s.exp]).toEqual([L.CTINFO_ESTABLISHED_REPLY, SCS.COOKIE_WAIT, 3]);
    // COOKIE_ECHO with the client's tag B: sCW -> sCE, 3 s
    s = step(c, sc(true, B, [{ type: 10, data: new Uint8Array(8) }]));
    expect([s.state, s.exp]).toEqual([SCS.COOKIE_ECHOED, 3]);
    // COOKIE_ACK: REPLY cookie_ack row sCE -> sES, ASSURED, 210 s
    s = step(c, sc(false, A, [{ type: 11 }]));
    expect([s.state, s.exp, s.status & L.IPS_ASSURED]).toEqual([SCS.ESTABLISHED, 210, L.IPS_ASSURED]);
    // DATA with the right tag keeps ESTABLISHED; with a wrong tag it is INVALID
    expect(step(c, sc(true, B, [{ type: 0, data: new Uint8Array(16) }])).info).toBe(L.CTINFO_ESTABLISHED);
    expect(step(c, sc(true, 0x12345678, [{ type: 0, data: new Uint8Array(16) }])).info).toBe(L.CTINFO_INVALID);
    // SHUTDOWN: ORIGINAL shutdown row sES -> sSS; SHUTDOWN_ACK reply sSS -> sSA; SHUTDOWN_COMPLETE -> sCL
    s = step(c, sc(true, B, [{ type: 7, data: new Uint8Array(4) }]));
    expect([s.state, s.exp]).toEqual([SCS.SHUTDOWN_SENT, 3]);
    s = step(c, sc(false, A, [{ type: 8 }]));
    expect([s.state, s.exp]).toEqual([SCS.SHUTDOWN_ACK_SENT, 3]);
    s = step(c, sc(true, B, [{ type: 14 }]));
    expect([s.state, s.exp]).toEqual([SCS.CLOSED, 10]);
  });
  it('first packets: INIT needs vtag 0; OOTB ABORT/COOKIE_ACK and DATA cannot open; INIT must be alone', () => {
    const c = makeCore();
    expect(step(c, sc(true, 5, [{ type: 1, data: initData(A) }])).info).toBe(L.CTINFO_INVALID);
    expect(step(c, sc(true, 5, [{ type: 6 }], { sport: 2 })).info).toBe(L.CTINFO_INVALID);
    expect(step(c, sc(true, 5, [{ type: 11 }], { sport: 3 })).info).toBe(L.CTINFO_INVALID);
    expect(step(c, sc(true, 5, [{ type: 0, data: new Uint8Array(8) }], { sport: 4 })).info).toBe(L.CTINFO_INVALID);
    expect(step(c, sc(true, 0, [{ type: 1, data: initData(A) }, { type: 0, data: new Uint8Array(8) }], { sport: 6 })).info).toBe(L.CTINFO_INVALID);
    // a HEARTBEAT opens a secondary-path ct in HEARTBEAT_SENT (30 s)
    const h = step(c, sc(true, 7, [{ type: 4, data: new Uint8Array(8) }], { sport: 5 }));
    expect([h.info, h.state, h.exp]).toEqual([L.CTINFO_NEW, 8, 30]);
  });
  it('CRC32c verified at PREROUTING: good -> NEW, bad -> INVALID', () => {
    const c = makeCore();
    expect(step(c, sc(true, 0, [{ type: 1, data: initData(A) }])).info).toBe(L.CTINFO_NEW);
    expect(step(c, sc(true, 0, [{ type: 1, data: initData(A) }], { sport: 5001, l4Checksum: 'bad' })).info).toBe(L.CTINFO_INVALID);
    expect(P.u8(c, L.P_CSUM_OK)).toBe(2);
  });
});

describe('GRE and other protocols', () => {
  it('GRE v0: 30 s until a reply, then 180 s and ASSURED; other protocols 600 s', () => {
    const c = makeCore();
    const gre = (src: string, dst: string): FrameSpec => ({ proto: 47, src, dst, payload: new Uint8Array([0, 0, 8, 0, 1, 2, 3, 4]) });
    expect(step(c, gre(CLI, SRV)).exp).toBe(30);
    const r = step(c, gre(SRV, CLI)); // the first reply is handled before SEEN_REPLY is set
    expect([r.info, r.exp]).toEqual([L.CTINFO_ESTABLISHED_REPLY, 30]);
    const s = step(c, gre(CLI, SRV));
    expect([s.exp, s.status & L.IPS_ASSURED]).toEqual([180, L.IPS_ASSURED]);
    expect(step(c, { proto: 50, src: CLI, dst: SRV, payload: 16 }).exp).toBe(600);
  });
});

describe('lifecycle and capacity', () => {
  const udp = (sport: number): FrameSpec => ({ proto: 'udp', src: CLI, dst: SRV, sport, dport: 53 });
  it('an aborted first packet leaves nothing; a retransmission is NEW again', () => {
    const c = makeCore();
    put(c, udp(1));
    c.x.ctIn();
    expect(ctinfo(c)).toBe(L.CTINFO_NEW);
    c.x.ctAbort();
    expect(c.x.ctCount()).toBe(0);
    expect(step(c, udp(1)).info).toBe(L.CTINFO_NEW);
    expect(c.x.ctCount()).toBe(1);
  });
  it('untracked packets are left alone', () => {
    const c = makeCore();
    put(c, udp(1));
    c.dv().setUint8(c.pkt + L.P_CTINFO, L.CTINFO_UNTRACKED);
    c.x.ctIn();
    expect([ctinfo(c), ct(c), c.x.ctCount()]).toEqual([L.CTINFO_UNTRACKED, 0, 0]);
  });
  it('churn: expired entries, tombstones and rehashing keep lookups right', () => {
    // capacity 16 -> 64 slots; a long-lived flow, and 2000 short flows that expire (30 s) one after another
    const c = makeCore({ capacity: 16 });
    const live = (t: number) => step(c, { proto: 'udp', src: CLI, dst: SRV, sport: 9999, dport: 53 }, t);
    expect(live(1000).info).toBe(L.CTINFO_NEW);
    step(c, { proto: 'udp', src: SRV, dst: CLI, sport: 53, dport: 9999 }, 1000);
    for (let i = 0; i < 2000; i++) {
      const t = 1000 + i * 2;
      expect(step(c, udp(10000 + i), t).info).toBe(L.CTINFO_NEW);
      // keep the long-lived flow alive and found as ESTABLISHED all along
      if (i % 5 === 0) expect(live(t).info).toBe(L.CTINFO_ESTABLISHED);
    }
    // at most 16 entries: the live one and short flows not yet expired (30 s / 2 s = 15)
    expect(c.x.ctCount()).toBeLessThanOrEqual(16);
    // a flow that expired long ago is NEW again
    expect(step(c, udp(10000), 1000 + 4000).info).toBe(L.CTINFO_NEW);
  });

  it('full table: early drop of an unassured ct; all assured: the packet is dropped', () => {
    // capacity 4 -> 16 slots: 8 groups of 4 cover the whole hash, so an unassured victim is found
    const c = makeCore({ capacity: 4 });
    for (let i = 1; i <= 4; i++) step(c, udp(i));
    expect(c.x.ctCount()).toBe(4);
    const s = step(c, udp(5));
    expect([s.info, s.verdict]).toEqual([L.CTINFO_NEW, L.V_ACCEPT]);
    expect(c.x.ctCount()).toBeLessThanOrEqual(4);

    const d = makeCore({ capacity: 2 });
    handshake(d, 1001);
    handshake(d, 1002);
    const t = step(d, tcp({ sport: 1003, flags: 'S', seq: 1 }));
    expect([t.verdict, t.info, t.ct]).toEqual([L.V_DROP, L.CTINFO_INVALID, 0]);
    // once the entries expired (a SYN_SENT-free table of ESTABLISHED ones lives 5 days, so use
    // UDP): entries past their timeout are reclaimed when the table is full
    const e = makeCore({ capacity: 2 });
    step(e, udp(1), 1000);
    step(e, udp(2), 1000);
    expect(step(e, udp(3), 1031).info).toBe(L.CTINFO_NEW);
  });
});
