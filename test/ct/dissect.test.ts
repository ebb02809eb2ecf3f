import { describe, it, expect } from 'vitest';
import * as L from '../../src/layout.js';
import { buildFrame, icmpQuote, buildIPv4 } from '../../src/pcap/craft.js';
import { makeCore, put, P, w, type Core } from './harness.js';
import { defaultHost } from '../../src/host/index.js';

/** Where the dissector records a header's addresses, protocol and ports: the packet's own header, or the one an ICMP error quotes. */
const OUTER = { saddr: L.P_SADDR, daddr: L.P_DADDR, proto: L.P_PROTO, sport: L.P_SPORT, dport: L.P_DPORT };
const INNER = { saddr: L.P_IN_SADDR, daddr: L.P_IN_DADDR, proto: L.P_IN_PROTO, sport: L.P_IN_SPORT, dport: L.P_IN_DPORT };

/** The addresses (P_SADDR encoding), protocol and ports recorded at `at`. */
function tuple(c: Core, at: typeof OUTER) {
  return { saddr: P.u32(c, at.saddr), daddr: P.u32(c, at.daddr), proto: P.u8(c, at.proto), sport: P.u16(c, at.sport), dport: P.u16(c, at.dport) };
}

describe('dissect', () => {
  const c = makeCore();

  it('Ethernet + 802.1Q TCP: addresses, ports, flags, lengths, time', () => {
    const f = buildFrame({ vlan: 7, src: '198.51.100.7', dst: '192.0.2.1', proto: 'tcp', sport: 40000, dport: 80, flags: 'S', payload: 10 });
    expect(put(c, f, { t: 2.5, ordinal: 42 })).toBe(L.RES_NONE);
    expect(tuple(c, OUTER)).toEqual({ saddr: w('198.51.100.7'), daddr: w('192.0.2.1'), proto: 6, sport: 40000, dport: 80 });
    expect(P.u8(c, L.P_TCPFLAGS)).toBe(0x02);
    // 20 IP + 20 TCP + 10 payload
    expect(P.u32(c, L.P_IPLEN)).toBe(50);
    expect(P.u32(c, L.P_L4LEN)).toBe(30);
    // the IP header starts after 14 (Ethernet) + 4 (tag) bytes
    expect(P.u32(c, L.P_L3) - P.u32(c, L.P_FRAME)).toBe(18);
    expect(P.u8(c, L.P_L4OK)).toBe(1);
    expect(P.u32(c, L.P_ORDINAL)).toBe(42);
    expect(P.u64(c, L.P_NOW_LO)).toBe(2500000000n);
    // 2.5 s at HZ 250 = 625 jiffies
    expect(P.u64(c, L.P_JIFFIES)).toBe(625n);
    // 0xFFFF descriptor ifindex -> the host's ingress (eth0 = 0)
    expect(P.u8(c, L.P_IIF)).toBe(0);
    expect(P.u8(c, L.P_OIF)).toBe(L.IF_NONE);
    expect(P.u8(c, L.P_PKTTYPE)).toBe(0);
  });

  it('QinQ: two tags are skipped', () => {
    const f = buildFrame({ vlan: 7, proto: 'udp', sport: 1, dport: 2 });
    // insert an outer 802.1ad tag: 88a8 0064 before the 8100 tag
    const q = new Uint8Array(f.length + 4);
    q.set(f.subarray(0, 12), 0);
    q.set([0x88, 0xa8, 0x00, 0x64], 12);
    q.set(f.subarray(12), 16);
    expect(put(c, q)).toBe(L.RES_NONE);
    expect(P.u32(c, L.P_L3) - P.u32(c, L.P_FRAME)).toBe(22);
    expect(P.u16(c, L.P_DPORT)).toBe(2);
  });

  it('SLL, SLL2, raw and LINKTYPE_IPV4', () => {
    expect(put(c, { link: 'sll', pktType: 1, proto: 'udp', sport: 5, dport: 6 })).toBe(L.RES_NONE);
    expect(P.u8(c, L.P_PKTTYPE)).toBe(1);
    expect(P.u32(c, L.P_L3) - P.u32(c, L.P_FRAME)).toBe(16);
    expect(put(c, { link: 'sll2', pktType: 2, proto: 'udp', sport: 5, dport: 6 })).toBe(L.RES_NONE);
    expect(P.u8(c, L.P_PKTTYPE)).toBe(2);
    expect(P.u32(c, L.P_L3) - P.u32(c, L.P_FRAME)).toBe(20);
    expect(put(c, { link: 'raw', dst: '255.255.255.255', proto: 'udp' })).toBe(L.RES_NONE);
    expect(P.u8(c, L.P_PKTTYPE)).toBe(1);
    // 192.0.2.255 is eth0's subnet broadcast in the default host
    expect(put(c, { link: 'ipv4', dst: '192.0.2.255', proto: 'udp' })).toBe(L.RES_NONE);
    expect(P.u8(c, L.P_PKTTYPE)).toBe(1);
    expect(put(c, { link: 'raw', dst: '224.0.0.5', proto: 'udp' })).toBe(L.RES_NONE);
    expect(P.u8(c, L.P_PKTTYPE)).toBe(2);
  });

  it('Ethernet broadcast / multicast destination MACs set pkt_type', () => {
    put(c, { dstMac: 'ff:ff:ff:ff:ff:ff', proto: 'udp' });
    expect(P.u8(c, L.P_PKTTYPE)).toBe(1);
    put(c, { dstMac: '01:00:5e:00:00:05', proto: 'udp' });
    expect(P.u8(c, L.P_PKTTYPE)).toBe(2);
  });

  it('non-IPv4 frames and broken IPv4 headers', () => {
    expect(put(c, { etherType: 0x0806, l3Raw: new Uint8Array(28) })).toBe(L.RES_NOT_IP);
    expect(put(c, { ipChecksum: 'bad' })).toBe(L.RES_MALFORMED);
    expect(put(c, { version: 5 })).toBe(L.RES_MALFORMED);
    // total length larger than the datagram on the wire
    expect(put(c, { ipTotalLength: 1000 })).toBe(L.RES_MALFORMED);
    // IPv6 in LINKTYPE_RAW
    const v6 = new Uint8Array(40); v6[0] = 0x60;
    expect(put(c, v6, { linktype: L.LINKTYPE_RAW })).toBe(L.RES_NOT_IP);
  });

  it('IPv4 options move the L4 header', () => {
    put(c, { ipOptions: new Uint8Array([1, 1, 1, 0]), proto: 'udp', sport: 7, dport: 9 });
    expect(P.u8(c, L.P_IHL)).toBe(24);
    expect(P.u16(c, L.P_SPORT)).toBe(7);
    expect(P.u16(c, L.P_DPORT)).toBe(9);
  });

  it('fragments: offset and MF; L4 fields only on the first fragment', () => {
    put(c, { proto: 'udp', sport: 7, dport: 9, mf: true, payload: 64 });
    expect(P.u8(c, L.P_MF)).toBe(1);
    expect(P.u8(c, L.P_L4OK)).toBe(1);
    put(c, { proto: 'udp', fragOffset: 64, payload: 16 });
    expect(P.u16(c, L.P_FRAGOFF)).toBe(8); // 64 bytes = 8 units
    expect(P.u8(c, L.P_L4OK)).toBe(0);
    expect(P.u16(c, L.P_DPORT)).toBe(0);
  });

  it('TCP header cut by the snap length: L4OK 0', () => {
    const f = buildFrame({ link: 'raw', proto: 'tcp', payload: 100 });
    put(c, f.subarray(0, 30), { linktype: L.LINKTYPE_RAW, wirelen: f.length });
    expect(P.u32(c, L.P_IPLEN)).toBe(140);
    expect(P.u32(c, L.P_L4LEN)).toBe(10);
    expect(P.u8(c, L.P_L4OK)).toBe(0);
  });

  it('ICMP echo: id in P_SPORT, type<<8|code in P_DPORT', () => {
    put(c, { proto: 'icmp', icmpType: 8, icmpCode: 0, icmpId: 0x1234, icmpSeq: 1 });
    expect(P.u8(c, L.P_ICMP_TYPE)).toBe(8);
    expect(P.u16(c, L.P_SPORT)).toBe(0x1234);
    expect(P.u16(c, L.P_DPORT)).toBe(8 << 8);
  });

  it('ICMP error: inner header of the quoted packet', () => {
    const quoted = icmpQuote(buildIPv4({ src: '192.0.2.9', dst: '203.0.113.4', proto: 'udp', sport: 1111, dport: 53 }));
    put(c, { src: '203.0.113.4', dst: '192.0.2.9', proto: 'icmp', icmpType: 3, icmpCode: 3, inner: quoted });
    expect(P.u32(c, L.P_IN_L3)).toBe(P.u32(c, L.P_L4) + 8);
    expect(tuple(c, INNER)).toEqual({ saddr: w('192.0.2.9'), daddr: w('203.0.113.4'), proto: 17, sport: 1111, dport: 53 });
    expect(P.u8(c, L.P_IN_OK)).toBe(1);
  });

  it('resets per-packet state', () => {
    put(c, { proto: 'udp' });
    expect(P.u32(c, L.P_CT)).toBe(0);
    expect(P.u8(c, L.P_CTINFO)).toBe(L.CTINFO_NONE);
    expect(P.u32(c, L.P_MARK)).toBe(0);
    expect(P.u16(c, L.P_DRAWS)).toBe(0);
  });

  it('with the ingress MAC known, unicast frames to another MAC are PACKET_OTHERHOST (dropped by ip_rcv)', () => {
    const h = defaultHost();
    h.interfaces[0].mac = '02:00:00:00:00:aa';
    const m = makeCore({ host: h });
    expect(put(m, { dstMac: '02:00:00:00:00:aa', proto: 'udp' })).toBe(L.RES_NONE);
    expect(P.u8(m, L.P_PKTTYPE)).toBe(0);
    expect(put(m, { dstMac: '02:00:00:00:00:bb', proto: 'udp' })).toBe(L.RES_DROP_OTHERHOST);
    expect(P.u8(m, L.P_PKTTYPE)).toBe(3);
    expect(put(m, { dstMac: 'ff:ff:ff:ff:ff:ff', proto: 'udp' })).toBe(L.RES_NONE); // broadcast is fine
    // eth1's MAC is unknown: anything goes
    expect(put(m, { dstMac: '02:00:00:00:00:bb', proto: 'udp' }, { ifindex: 1 })).toBe(L.RES_NONE);
  });
});
