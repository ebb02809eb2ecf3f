// NAT driven through the hook order: dissect -> ctIn -> [nat DST] -> natManip(DST) -> routeInput ->
// [nat SRC] -> natManip(SRC) -> ctConfirm. Rewritten packets are checked with the independent
// checksum routine in harness.ts (RFC 1071 over big-endian words).
import { describe, it, expect } from 'vitest';
import * as L from '../../src/layout.js';
import { CT_O_SPORT } from '../../src/layout-ct.js';
import { buildFrame, buildIPv4, icmpQuote, crc32c, type FrameSpec } from '../../src/pcap/craft.js';
import { defaultHost } from '../../src/host/index.js';
import { formatConntrack } from '../../src/report/conntrack.js';
import { makeCore, put, P, ct, ctinfo, w, unw, checksumsOk, frameBytes, HZ, type Core } from './harness.js';

type Rule = (c: Core) => number;
interface Out { route: number; bytes: Uint8Array; l3: number }

/** One forwarded/local packet through the NAT hooks; `dnat`/`snat` play the nat table's rule. */
function hooks(c: Core, spec: FrameSpec, o: { t?: number; ifindex?: number; ordinal?: number; dnat?: Rule; snat?: Rule } = {}): Out {
  const f = buildFrame(spec);
  expect(put(c, f, { t: o.t ?? 1000, ifindex: o.ifindex ?? 0, ordinal: o.ordinal ?? 0 })).toBe(L.RES_NONE);
  expect(c.x.ctIn()).toBe(L.V_ACCEPT);
  if (c.x.natNeeded(L.MANIP_DST)) {
    if (o.dnat) expect(o.dnat(c)).toBe(L.V_ACCEPT);
    if (c.x.natNeeded(L.MANIP_DST)) c.x.natNullBinding(L.MANIP_DST);
  }
  expect(c.x.natManip(L.MANIP_DST)).toBe(L.V_ACCEPT);
  const route = c.x.routeInput();
  if (route >= 0) {
    if (c.x.natNeeded(L.MANIP_SRC)) {
      if (o.snat) expect(o.snat(c)).toBe(L.V_ACCEPT);
      if (c.x.natNeeded(L.MANIP_SRC)) c.x.natNullBinding(L.MANIP_SRC);
    }
    expect(c.x.natManip(L.MANIP_SRC)).toBe(L.V_ACCEPT);
    expect(c.x.ctConfirm()).toBe(L.V_ACCEPT);
  } else {
    c.x.ctAbort();
  }
  return { route, bytes: frameBytes(c, f.length), l3: 14 };
}

const ip4 = (b: Uint8Array, at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const be16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];
const hdr = (o: Out) => ({
  src: ip4(o.bytes, o.l3 + 12), dst: ip4(o.bytes, o.l3 + 16),
  sport: be16(o.bytes, o.l3 + 20), dport: be16(o.bytes, o.l3 + 22),
});
const dnatTo = (ip: string, lo: number, hi = lo, ipHi = ip, flags = 0): Rule => (c) =>
  c.x.natSetup(L.MANIP_DST, L.NAT_MAP_IPS | (lo ? L.NAT_PROTO_SPECIFIED : 0) | flags, w(ip), w(ipHi), lo, hi);
const masq = (flags = 0, lo = 0, hi = 0): Rule => (c) => c.x.natMasquerade(flags | (lo ? L.NAT_PROTO_SPECIFIED : 0), lo, hi);

describe('DNAT (port forwarding) and its replies', () => {
  it('rewrites destination, checksums verify, the reply is un-DNATed at POSTROUTING', () => {
    const c = makeCore();
    // client on the outside (eth1 = 1) to the host's 198.51.100.1:8080, forwarded to 192.0.2.10:80
    const syn: FrameSpec = { proto: 'tcp', src: '198.51.100.7', dst: '198.51.100.1', sport: 40000, dport: 8080, flags: 'S', seq: 1 };
    let o = hooks(c, syn, { ifindex: 1, dnat: dnatTo('192.0.2.10', 80) });
    expect(o.route).toBe(L.HOOK_FORWARD);
    expect(P.u8(c, L.P_OIF)).toBe(0);
    expect(hdr(o)).toEqual({ src: '198.51.100.7', dst: '192.0.2.10', sport: 40000, dport: 80 });
    expect(checksumsOk(o.bytes, o.l3)).toEqual({ ip: true, l4: true });
    expect(unw(P.u32(c, L.P_DADDR))).toBe('192.0.2.10');
    expect(P.u16(c, L.P_DPORT)).toBe(80);
    expect(c.x.ctStatus(ct(c)) & (L.IPS_DST_NAT | L.IPS_SRC_NAT)).toBe(L.IPS_DST_NAT);

    // the server's SYN/ACK comes back on eth0 and leaves with the original destination as source
    o = hooks(c, { proto: 'tcp', src: '192.0.2.10', dst: '198.51.100.7', sport: 80, dport: 40000, flags: 'SA', seq: 9, ack: 2 }, { ifindex: 0 });
    expect(ctinfo(c)).toBe(L.CTINFO_ESTABLISHED_REPLY);
    expect(o.route).toBe(L.HOOK_FORWARD);
    expect(hdr(o)).toEqual({ src: '198.51.100.1', dst: '198.51.100.7', sport: 8080, dport: 40000 });
    expect(checksumsOk(o.bytes, o.l3)).toEqual({ ip: true, l4: true });

    // later packets of the original direction do not walk the nat table but are rewritten
    o = hooks(c, { ...syn, flags: 'A', seq: 2, ack: 10 }, { ifindex: 1, dnat: () => { throw new Error('nat table walked'); } });
    expect(hdr(o).dst).toBe('192.0.2.10');
    expect(checksumsOk(o.bytes, o.l3)).toEqual({ ip: true, l4: true });

    // conntrack -L at the same instant: SYN_RECV was refreshed to 60 s by the SYN/ACK, then the
    // ACK made it ESTABLISHED + ASSURED (432000 s)
    const now = BigInt(1000 * HZ);
    expect(formatConntrack(c.mem.buffer as ArrayBuffer, c.x.ctTable() >>> 0, now, HZ)).toBe(
      'tcp      6 432000 ESTABLISHED src=198.51.100.7 dst=198.51.100.1 sport=40000 dport=8080 ' +
      'src=192.0.2.10 dst=198.51.100.7 sport=80 dport=40000 [ASSURED] mark=0 use=1\n');
  });

  it('a port range starts at its low port; an address range picks by jhash2 like the kernel', () => {
    const c = makeCore();
    const o = hooks(c, { proto: 'tcp', src: '198.51.100.7', dst: '198.51.100.1', sport: 1, dport: 80, flags: 'S' }, { ifindex: 1, dnat: dnatTo('192.0.2.10', 8000, 8010) });
    expect(hdr(o).dport).toBe(8000);
    // find_best_ips_proto: j = jhash2({src,0,0,0}, 4, dst); ip = min + ((j * 3) >> 32)
    for (const client of ['198.51.100.7', '198.51.100.8', '198.51.100.9', '198.51.100.77', '203.0.113.200']) {
      const d = makeCore();
      const r = hooks(d, { proto: 'udp', src: client, dst: '198.51.100.1', sport: 5, dport: 53 }, { ifindex: 1, dnat: dnatTo('192.0.2.10', 0, 0, '192.0.2.12') });
      const j = jhash2([w(client), 0, 0, 0], w('198.51.100.1'));
      const want = `192.0.2.${10 + Number((BigInt(j) * 3n) >> 32n)}`;
      expect(hdr(r).dst).toBe(want);
      expect(hdr(r).dport).toBe(53); // no port range: DNAT keeps the port
    }
  });

  it('--persistent leaves the destination out of the hash (SNAT address range)', () => {
    // SNAT to 198.51.100.1-198.51.100.4: j = jhash2({src,0,0,0}, 4, persistent ? 0 : dst)
    for (const [dst, persistent] of [['203.0.113.9', false], ['203.0.113.10', false], ['203.0.113.9', true], ['203.0.113.10', true]] as const) {
      const c = makeCore();
      const o = hooks(c, { proto: 'udp', src: '192.0.2.50', dst, sport: 5, dport: 53 }, {
        snat: (k) => k.x.natSetup(L.MANIP_SRC, L.NAT_MAP_IPS | (persistent ? L.NAT_PERSISTENT : 0), w('198.51.100.1'), w('198.51.100.4'), 0, 0),
      });
      const j = jhash2([w('192.0.2.50'), 0, 0, 0], persistent ? 0 : w(dst));
      expect(hdr(o).src).toBe(`198.51.100.${1 + Number((BigInt(j) * 4n) >> 32n)}`);
    }
  });

  it('DNAT to 127.0.0.1:8080 is delivered locally only with route_localnet', () => {
    const spec: FrameSpec = { proto: 'tcp', src: '198.51.100.7', dst: '198.51.100.1', sport: 4, dport: 80, flags: 'S' };
    const off = makeCore();
    expect(hooks(off, spec, { ifindex: 1, dnat: dnatTo('127.0.0.1', 8080) }).route).toBe(-L.RES_DROP_MARTIAN);
    expect(off.x.ctCount()).toBe(0); // dropped before confirm: the ct is freed
    const on = makeCore({ host: { ...defaultHost(), sysctl: { 'net.ipv4.conf.all.route_localnet': 1 } } });
    const o = hooks(on, spec, { ifindex: 1, dnat: dnatTo('127.0.0.1', 8080) });
    expect(o.route).toBe(L.HOOK_INPUT);
    expect(hdr(o)).toEqual({ src: '198.51.100.7', dst: '127.0.0.1', sport: 4, dport: 8080 });
    expect(checksumsOk(o.bytes, o.l3)).toEqual({ ip: true, l4: true });
  });

  it('REDIRECT goes to the in interface\'s first address', () => {
    const c = makeCore();
    const o = hooks(c, { proto: 'tcp', src: '192.0.2.50', dst: '203.0.113.9', sport: 4, dport: 80, flags: 'S' }, { ifindex: 0, dnat: (k) => k.x.natRedirect(L.NAT_PROTO_SPECIFIED, 3128, 3128) });
    expect(o.route).toBe(L.HOOK_INPUT);
    expect(hdr(o)).toEqual({ src: '192.0.2.50', dst: '192.0.2.1', sport: 4, dport: 3128 });
    expect(checksumsOk(o.bytes, o.l3)).toEqual({ ip: true, l4: true });
  });
});

describe('SNAT / MASQUERADE', () => {
  const out = (src: string, sport: number, o: FrameSpec = {}): FrameSpec => ({ proto: 'tcp', src, dst: '203.0.113.9', sport, dport: 443, flags: 'S', ...o });

  it('keeps the port when free; remaps a clashing one reproducibly; replies are un-SNATed', () => {
    const run = (ordinal: number) => {
      const c = makeCore({ seed: 7 });
      const a = hooks(c, out('192.0.2.50', 40000), { snat: masq() });
      const b = hooks(c, out('192.0.2.51', 40000), { snat: masq(), ordinal });
      return { c, a, b };
    };
    const { c, a, b } = run(1);
    expect(hdr(a)).toMatchObject({ src: '198.51.100.1', sport: 40000 });
    expect(checksumsOk(a.bytes, a.l3)).toEqual({ ip: true, l4: true });
    // 198.51.100.1:40000 -> 203.0.113.9:443 is taken: a port from the class of 40000 (1024..65535)
    const p = hdr(b).sport;
    expect(hdr(b).src).toBe('198.51.100.1');
    expect(p).not.toBe(40000);
    expect(p).toBeGreaterThanOrEqual(1024);
    expect(checksumsOk(b.bytes, b.l3)).toEqual({ ip: true, l4: true });
    expect(run(1).b.bytes).toEqual(b.bytes);                 // same seed and ordinal: same port
    expect(hdr(run(2).b).sport).not.toBe(p);                 // another ordinal draws again (fixed seed: checked once)
    // the reply to the second client arrives on eth1 and is un-SNATed at PREROUTING
    const r = hooks(c, { proto: 'tcp', src: '203.0.113.9', dst: '198.51.100.1', sport: 443, dport: p, flags: 'SA' }, { ifindex: 1 });
    expect(ctinfo(c)).toBe(L.CTINFO_ESTABLISHED_REPLY);
    expect(r.route).toBe(L.HOOK_FORWARD);
    expect(hdr(r)).toEqual({ src: '203.0.113.9', dst: '192.0.2.51', sport: 443, dport: 40000 });
    expect(checksumsOk(r.bytes, r.l3)).toEqual({ ip: true, l4: true });
  });

  it('ports below 1024 stay in their class', () => {
    const c = makeCore();
    hooks(c, out('192.0.2.50', 700), { snat: masq() });
    const b = hooks(c, out('192.0.2.51', 700), { snat: masq() });
    expect(hdr(b).sport).toBeGreaterThanOrEqual(600);
    expect(hdr(b).sport).toBeLessThanOrEqual(1023);
    hooks(c, out('192.0.2.50', 22), { snat: masq() });
    const d = hooks(c, out('192.0.2.51', 22), { snat: masq() });
    expect(hdr(d).sport).toBeGreaterThanOrEqual(1);
    expect(hdr(d).sport).toBeLessThanOrEqual(511);
  });

  it('--to-ports range and --random-fully', () => {
    const c = makeCore();
    const a = hooks(c, out('192.0.2.50', 40000), { snat: masq(0, 2000, 2001) });
    expect([2000, 2001]).toContain(hdr(a).sport);
    const b = hooks(c, out('192.0.2.51', 40000), { snat: masq(0, 2000, 2001) });
    expect([2000, 2001]).toContain(hdr(b).sport);
    expect(hdr(b).sport).not.toBe(hdr(a).sport);
    const r = makeCore();
    const x = hooks(r, out('192.0.2.50', 40000), { snat: masq(L.NAT_PROTO_RANDOM_FULLY) });
    expect(hdr(x).sport).toBeGreaterThanOrEqual(1024); // random even though 40000 was free
    expect(hdr(x).sport).not.toBe(40000);
  });

  it('endpoint-independent reuse (find_appropriate_src): same client port, same mapping', () => {
    const c = makeCore();
    // 40000 is outside 2000-2999: SNAT picks a port in the range at random
    const a = hooks(c, out('192.0.2.50', 40000), { snat: masq(0, 2000, 2999) });
    const mapped = hdr(a).sport;
    expect(mapped).toBeGreaterThanOrEqual(2000);
    expect(mapped).toBeLessThanOrEqual(2999);
    // the same client port to another server reuses that mapping (it is in range and free there)
    for (const dst of ['203.0.113.10', '203.0.113.11', '198.18.0.5']) {
      const d = hooks(c, { proto: 'tcp', src: '192.0.2.50', dst, sport: 40000, dport: 443, flags: 'S' }, { snat: masq(0, 2000, 2999) });
      expect(hdr(d).sport).toBe(mapped);
    }
    // another client port gets its own
    const e = hooks(c, out('192.0.2.50', 40001), { snat: masq(0, 2000, 2999) });
    expect(hdr(e).sport).not.toBe(mapped);
  });

  it('last attempts evict a SNATed TIME_WAIT connection whose sequence space is behind', () => {
    const run = (newIsn: number) => {
      const c = makeCore();
      const to2000 = (k: Core) => k.x.natSetup(L.MANIP_SRC, L.NAT_MAP_IPS | L.NAT_PROTO_SPECIFIED, w('198.51.100.1'), w('198.51.100.1'), 2000, 2000);
      const A = (o: FrameSpec) => ({ proto: 'tcp' as const, src: '192.0.2.50', dst: '203.0.113.9', sport: 1000, dport: 80, ...o });
      const R = (o: FrameSpec) => ({ proto: 'tcp' as const, src: '203.0.113.9', dst: '198.51.100.1', sport: 80, dport: 2000, ...o });
      // connection A through 198.51.100.1:2000, closed by the client: TIME_WAIT
      hooks(c, A({ flags: 'S', seq: 1000 }), { snat: to2000 });
      hooks(c, R({ flags: 'SA', seq: 5000, ack: 1001 }), { ifindex: 1 });
      hooks(c, A({ flags: 'A', seq: 1001, ack: 5001 }));
      hooks(c, A({ flags: 'FA', seq: 1001, ack: 5001 }));
      hooks(c, R({ flags: 'FA', seq: 5001, ack: 1002 }), { ifindex: 1 });
      hooks(c, A({ flags: 'A', seq: 1002, ack: 5002 }));
      expect(c.x.ctTcpState(c.x.ctFirst())).toBe(7);
      // B from another client needs the same (only) port: 1 attempt <= 32 -> nf_nat_used_tuple_harder
      expect(put(c, { proto: 'tcp', src: '192.0.2.51', dst: '203.0.113.9', sport: 1000, dport: 80, flags: 'S', seq: newIsn }, { ifindex: 0 })).toBe(L.RES_NONE);
      c.x.ctIn();
      c.x.natNullBinding(L.MANIP_DST);
      c.x.routeInput();
      to2000(c);
      return { confirm: c.x.ctConfirm(), count: c.x.ctCount() };
    };
    // B's SYN is past A's sequence space: A is evicted and B confirmed (one connection left)
    expect(run(900000)).toEqual({ confirm: L.V_ACCEPT, count: 1 });
    // B's SYN is behind: the tuple stays taken, B clashes at confirm and is dropped
    expect(run(500)).toEqual({ confirm: L.V_DROP, count: 1 });
  });

  it('implicit source-port remap by the null binding when the unchanged tuple clashes', () => {
    const c = makeCore();
    // A: 192.0.2.50:5000 SNATed to 192.0.2.60:5000
    const a = hooks(c, out('192.0.2.50', 5000, { dport: 80 }), { snat: (k) => k.x.natSetup(L.MANIP_SRC, L.NAT_MAP_IPS, w('192.0.2.60'), w('192.0.2.60'), 0, 0) });
    expect(hdr(a)).toMatchObject({ src: '192.0.2.60', sport: 5000 });
    // B: the real 192.0.2.60:5000 to the same server, no NAT rule: its reply tuple is A's
    const b = hooks(c, out('192.0.2.60', 5000, { dport: 80 }));
    expect(hdr(b).src).toBe('192.0.2.60');
    expect(hdr(b).sport).not.toBe(5000);
    expect(hdr(b).sport).toBeGreaterThanOrEqual(1024);
    expect(c.x.ctStatus(ct(c)) & L.IPS_SRC_NAT).toBe(L.IPS_SRC_NAT);
    expect(checksumsOk(b.bytes, b.l3)).toEqual({ ip: true, l4: true });
    // a third flow without clash gets a null binding that changes nothing (no SRC_NAT bit)
    hooks(c, out('192.0.2.61', 5000, { dport: 80 }));
    expect(c.x.ctStatus(ct(c)) & (L.IPS_SRC_NAT | L.IPS_DST_NAT)).toBe(0);
    expect(c.x.ctStatus(ct(c)) & (L.IPS_SRC_NAT_DONE | L.IPS_DST_NAT_DONE)).toBe(L.IPS_SRC_NAT_DONE | L.IPS_DST_NAT_DONE);
  });

  it('UDP: a zero checksum stays zero', () => {
    const c = makeCore();
    const o = hooks(c, { proto: 'udp', src: '192.0.2.50', dst: '203.0.113.9', sport: 5, dport: 53, l4Checksum: 'zero' }, { snat: masq() });
    expect(hdr(o).src).toBe('198.51.100.1');
    expect(be16(o.bytes, o.l3 + 26)).toBe(0);
    expect(checksumsOk(o.bytes, o.l3).ip).toBe(true);
  });

  it('UDP: an updated checksum of 0 is sent as 0xFFFF', () => {
    // choose the payload so that after SNAT to 198.51.100.1 the checksum computes to 0:
    // build the translated packet, find the payload word that makes its one's-complement sum
    // 0xFFFF, then send the untranslated one
    const base = { proto: 'udp' as const, dst: '203.0.113.9', sport: 5, dport: 53 };
    const after = buildIPv4({ ...base, src: '198.51.100.1', payload: new Uint8Array(2) });
    const csum = be16(after, 26);
    // payload word x adds x to the sum: want the stored checksum ~(S + x) == 0 -> x = csum
    const payload = new Uint8Array([csum >> 8, csum & 255]);
    const c = makeCore();
    const o = hooks(c, { ...base, src: '192.0.2.50', payload }, { snat: masq() });
    expect(be16(o.bytes, o.l3 + 26)).toBe(0xffff);
    expect(checksumsOk(o.bytes, o.l3)).toEqual({ ip: true, l4: true });
  });

  it('ICMP echo: the id is the port; a clashing id is remapped', () => {
    const c = makeCore();
    const ping = (src: string): FrameSpec => ({ proto: 'icmp', src, dst: '203.0.113.9', icmpType: 8, icmpId: 99, icmpSeq: 1 });
    const a = hooks(c, ping('192.0.2.50'), { snat: masq() });
    expect(hdr(a).src).toBe('198.51.100.1');
    expect(be16(a.bytes, a.l3 + 24)).toBe(99);
    const b = hooks(c, ping('192.0.2.51'), { snat: masq() });
    const id = be16(b.bytes, b.l3 + 24);
    expect(id).not.toBe(99);
    expect(checksumsOk(b.bytes, b.l3)).toEqual({ ip: true, l4: true });
    // the echo reply to the remapped id goes back to 192.0.2.51 with id 99
    const r = hooks(c, { proto: 'icmp', src: '203.0.113.9', dst: '198.51.100.1', icmpType: 0, icmpId: id, icmpSeq: 1 }, { ifindex: 1 });
    expect(hdr(r).dst).toBe('192.0.2.51');
    expect(be16(r.bytes, r.l3 + 24)).toBe(99);
    expect(checksumsOk(r.bytes, r.l3)).toEqual({ ip: true, l4: true });
  });
});

describe('SCTP NAT', () => {
  it('a remapped port gets a recomputed CRC32c', () => {
    const c = makeCore();
    const init = (src: string): FrameSpec => ({ proto: 'sctp', src, dst: '203.0.113.9', sport: 5000, dport: 38412, vtag: 0,
      chunks: [{ type: 1, data: new Uint8Array([1, 2, 3, 4, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1]) }] });
    hooks(c, init('192.0.2.50'), { snat: masq() });
    const o = hooks(c, init('192.0.2.51'), { snat: masq() });
    expect(hdr(o).src).toBe('198.51.100.1');
    expect(hdr(o).sport).not.toBe(5000);
    const l4 = o.l3 + 20;
    const len = be16(o.bytes, o.l3 + 2) - 20;
    const z = o.bytes.slice(l4, l4 + len);
    z.fill(0, 8, 12);
    const want = crc32c(z);
    const got = o.bytes[l4 + 8] | (o.bytes[l4 + 9] << 8) | (o.bytes[l4 + 10] << 16) | (o.bytes[l4 + 11] << 24);
    expect(got >>> 0).toBe(want >>> 0);
    expect(checksumsOk(o.bytes, o.l3).ip).toBe(true);
  });
});

describe('ICMP errors of NATed connections', () => {
  it('port unreachable from a DNATed server: inner and outer rewritten, checksums recomputed', () => {
    const c = makeCore();
    const q: FrameSpec = { proto: 'udp', src: '198.51.100.7', dst: '198.51.100.1', sport: 5353, dport: 8053 };
    hooks(c, q, { ifindex: 1, dnat: dnatTo('192.0.2.10', 53) });
    // the server answers the DNATed packet (as it received it) with port unreachable
    const seenByServer = icmpQuote(buildIPv4({ ...q, dst: '192.0.2.10', dport: 53 }));
    const o = hooks(c, { proto: 'icmp', src: '192.0.2.10', dst: '198.51.100.7', icmpType: 3, icmpCode: 3, inner: seenByServer }, { ifindex: 0 });
    expect(ctinfo(c)).toBe(L.CTINFO_RELATED_REPLY);
    expect(o.route).toBe(L.HOOK_FORWARD);
    const b = o.bytes, l3 = o.l3;
    expect(ip4(b, l3 + 12)).toBe('198.51.100.1');          // outer source: the original destination
    expect(ip4(b, l3 + 16)).toBe('198.51.100.7');
    const inner = l3 + 20 + 8;
    expect(ip4(b, inner + 12)).toBe('198.51.100.7');
    expect(ip4(b, inner + 16)).toBe('198.51.100.1');       // inner destination un-DNATed
    expect(be16(b, inner + 22)).toBe(8053);
    expect(checksumsOk(b, l3)).toEqual({ ip: true, l4: true }); // outer IP + full ICMP checksum
    expect(checksumsOk(b, inner).ip).toBe(true);               // inner IP header checksum
  });
});

describe('ICMP errors of MASQUERADEd connections', () => {
  it('an error to the SNAT address is un-SNATed at PREROUTING (inner source, outer destination)', () => {
    const c = makeCore();
    const q: FrameSpec = { proto: 'udp', src: '192.0.2.50', dst: '203.0.113.9', sport: 40000, dport: 53 };
    hooks(c, q, { snat: masq() });
    // what the server got: from 198.51.100.1:40000 (port kept)
    const quoted = icmpQuote(buildIPv4({ ...q, src: '198.51.100.1' }));
    const o = hooks(c, { proto: 'icmp', src: '203.0.113.9', dst: '198.51.100.1', icmpType: 3, icmpCode: 3, inner: quoted }, { ifindex: 1 });
    expect(ctinfo(c)).toBe(L.CTINFO_RELATED_REPLY);
    expect(o.route).toBe(L.HOOK_FORWARD);
    expect(P.u8(c, L.P_OIF)).toBe(0);
    const b = o.bytes, l3 = o.l3, inner = l3 + 28;
    expect(ip4(b, l3 + 16)).toBe('192.0.2.50');
    expect(ip4(b, inner + 12)).toBe('192.0.2.50');
    expect(be16(b, inner + 20)).toBe(40000);
    expect(checksumsOk(b, l3)).toEqual({ ip: true, l4: true });
    expect(checksumsOk(b, inner).ip).toBe(true);
  });
  it('time exceeded for a NATed ping with a remapped id: the quoted echo gets its id back', () => {
    const c = makeCore();
    const ping = (src: string): FrameSpec => ({ proto: 'icmp', src, dst: '203.0.113.9', icmpType: 8, icmpId: 99, icmpSeq: 1 });
    hooks(c, ping('192.0.2.50'), { snat: masq() });
    const b2 = hooks(c, ping('192.0.2.51'), { snat: masq() });
    const id = be16(b2.bytes, b2.l3 + 24);
    // a router 198.18.0.1 on the way quotes the echo as it left us (full 8 bytes of ICMP)
    const quoted = icmpQuote(buildIPv4({ ...ping('198.51.100.1'), icmpId: id }));
    const o = hooks(c, { proto: 'icmp', src: '198.18.0.1', dst: '198.51.100.1', icmpType: 11, icmpCode: 0, inner: quoted }, { ifindex: 1 });
    expect(ctinfo(c)).toBe(L.CTINFO_RELATED_REPLY);
    const b = o.bytes, l3 = o.l3, inner = l3 + 28;
    expect(ip4(b, l3 + 16)).toBe('192.0.2.51');
    expect(ip4(b, inner + 12)).toBe('192.0.2.51');
    expect(be16(b, inner + 24)).toBe(99);
    expect(checksumsOk(b, l3)).toEqual({ ip: true, l4: true });
    expect(checksumsOk(b, inner).ip).toBe(true);
  });
  it('only 8 bytes of a quoted TCP header: ports rewritten, no checksum touched', () => {
    const c = makeCore();
    const syn: FrameSpec = { proto: 'tcp', src: '192.0.2.51', dst: '203.0.113.9', sport: 40000, dport: 443, flags: 'S', seq: 1 };
    hooks(c, { ...syn, src: '192.0.2.50' }, { snat: masq() });
    const a = hooks(c, syn, { snat: masq() });
    const p = hdr(a).sport;
    expect(p).not.toBe(40000);
    const quoted = icmpQuote(buildIPv4({ ...syn, src: '198.51.100.1', sport: p }), 8);
    const o = hooks(c, { proto: 'icmp', src: '203.0.113.9', dst: '198.51.100.1', icmpType: 3, icmpCode: 1, inner: quoted }, { ifindex: 1 });
    expect(ctinfo(c)).toBe(L.CTINFO_RELATED_REPLY);
    const inner = o.l3 + 28;
    expect(ip4(o.bytes, inner + 12)).toBe('192.0.2.51');
    expect(be16(o.bytes, inner + 20)).toBe(40000);
    expect(checksumsOk(o.bytes, o.l3)).toEqual({ ip: true, l4: true });
  });
});

describe('miss log (for the worker pool)', () => {
  it('a reply that misses in another core is logged with the tuple that is the first core\'s NAT reply tuple', () => {
    const a = makeCore();
    const b = makeCore();
    const log = b.x.ctMissLogSetup(16) >>> 0;
    // shard A: the client's SYN, masqueraded to 198.51.100.1:40000
    hooks(a, { proto: 'tcp', src: '192.0.2.50', dst: '203.0.113.9', sport: 40000, dport: 443, flags: 'S' }, { snat: masq() });
    const ct = a.x.ctFirst();
    // shard B: the server's SYN/ACK (another captured 5-tuple) misses there
    hooks(b, { proto: 'tcp', src: '203.0.113.9', dst: '198.51.100.1', sport: 443, dport: 40000, flags: 'SA' }, { ifindex: 1, ordinal: 7 });
    expect(b.x.ctMissLogCount()).toBe(1);
    const dv = b.dv();
    expect(dv.getUint8(b.x.ctMissLogProtos() >>> 0)).toBe(6);
    expect({ ordinal: dv.getUint32(log, true), src: dv.getUint32(log + 4, true), dst: dv.getUint32(log + 8, true), sport: dv.getUint16(log + 12, true), dport: dv.getUint16(log + 14, true) })
      .toEqual({ ordinal: 7, src: a.x.ctAddr(ct, 1, 0) >>> 0, dst: a.x.ctAddr(ct, 1, 1) >>> 0, sport: a.x.ctPort(ct, 1, 0), dport: a.x.ctPort(ct, 1, 1) });
    // a hit is not logged: A's retransmitted SYN finds its ct
    a.x.ctMissLogSetup(4);
    hooks(a, { proto: 'tcp', src: '192.0.2.50', dst: '203.0.113.9', sport: 40000, dport: 443, flags: 'S' }, { snat: masq() });
    expect(a.x.ctMissLogCount()).toBe(0);
  });
});

describe('natNeeded', () => {
  it('only a connection\'s first packet, once per manip', () => {
    const c = makeCore();
    put(c, { proto: 'udp', src: '192.0.2.50', dst: '203.0.113.9', sport: 1, dport: 2 }, { ifindex: 0 });
    c.x.ctIn();
    expect(c.x.natNeeded(L.MANIP_DST)).toBe(1);
    c.x.natNullBinding(L.MANIP_DST);
    expect(c.x.natNeeded(L.MANIP_DST)).toBe(0);
    expect(c.x.natNeeded(L.MANIP_SRC)).toBe(1);
    c.x.natNullBinding(L.MANIP_SRC);
    c.x.ctConfirm();
    put(c, { proto: 'udp', src: '192.0.2.50', dst: '203.0.113.9', sport: 1, dport: 2 }, { ifindex: 0 });
    c.x.ctIn();
    expect(ctinfo(c)).toBe(L.CTINFO_NEW); // still NEW (no reply yet) but already bound
    expect(c.x.natNeeded(L.MANIP_DST)).toBe(0);
    expect(c.x.natNeeded(L.MANIP_SRC)).toBe(0);
    void CT_O_SPORT;
  });
  it('never without a nat table (no NAT hooks, no null binding)', () => {
    const c = makeCore({ flags: L.IMGF_CONNTRACK });
    put(c, { proto: 'udp', src: '192.0.2.50', dst: '203.0.113.9', sport: 1, dport: 2 }, { ifindex: 0 });
    c.x.ctIn();
    expect(ctinfo(c)).toBe(L.CTINFO_NEW);
    expect(c.x.natNeeded(L.MANIP_DST)).toBe(0);
    expect(c.x.natNeeded(L.MANIP_SRC)).toBe(0);
  });
});

// ---- an independent jhash2 (Bob Jenkins' lookup3 as include/linux/jhash.h) ----
function jhash2(k: number[], initval: number): number {
  const rol = (x: number, n: number) => ((x << n) | (x >>> (32 - n))) >>> 0;
  let a = (0xdeadbeef + (k.length << 2) + initval) >>> 0, b = a, c = a;
  let i = 0, len = k.length;
  while (len > 3) {
    a = (a + k[i]) >>> 0; b = (b + k[i + 1]) >>> 0; c = (c + k[i + 2]) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol(b, 4)) >>> 0; b = (b + a) >>> 0;
    len -= 3; i += 3;
  }
  if (len === 0) return c;
  if (len >= 3) c = (c + k[i + 2]) >>> 0;
  if (len >= 2) b = (b + k[i + 1]) >>> 0;
  a = (a + k[i]) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 24)) >>> 0;
  return c;
}
