// Packet builders: byte layouts checked against hand-written headers, checksums against the
// independent verifier (src/pcap/checksum.ts), known test vectors and the real tcpdump -vv.
import { describe, it, expect, afterAll } from 'vitest';
import {
  buildFrame, buildIPv4, writeFrame, frameLength, wrapL2, fragmentIPv4, icmpQuote, tcpOptions, tcpFlags, crc32c,
  parseIPv4, parseMac, ipv4WireLE, ipv4Bytes, formatIPv4, LINKTYPE_OF,
} from '../../src/pcap/craft.js';
import { verifyIPv4, ipv4Offset, onesComplementSum, internetChecksum } from '../../src/pcap/checksum.js';
import { PcapWriter } from '../../src/pcap/writer.js';
import { tempDir, haveTcpdump, tcpdump } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const t = tempDir();
afterAll(() => t.cleanup());

describe('addresses', () => {
  it('parses and formats IPv4 and MACs, rejecting bad tokens', () => {
    expect(parseIPv4('192.0.2.1')).toBe(0xc0000201);
    expect(hex(ipv4Bytes('198.51.100.7'))).toBe('c6336407');
    // core encoding: wire bytes c0 00 02 01 loaded little-endian = 0x010200c0
    expect(ipv4WireLE('192.0.2.1')).toBe(0x010200c0);
    expect(formatIPv4(0xcb007105)).toBe('203.0.113.5');
    expect(() => parseIPv4('192.0.2')).toThrow(/'192.0.2'/);
    expect(() => parseIPv4('192.0.2.256')).toThrow(/'192.0.2.256'/);
    expect(hex(parseMac('02:aB:0:ff:10:01'))).toBe('02ab00ff1001');
    expect(() => parseMac('02:ab')).toThrow(/'02:ab'/);
    expect(tcpFlags('SA')).toBe(0x12);
    expect(tcpFlags('FP.')).toBe(0x19);
    expect(() => tcpFlags('SX')).toThrow(/'X'/);
  });
});

describe('checksum.ts (the second implementation)', () => {
  it('matches RFC 1071 section 3 numerical example', () => {
    // 00 01 f2 03 f4 f5 f6 f7: 0x0001 + 0xf203 + 0xf4f5 + 0xf6f7 = 0x2ddf0 -> fold 0xddf2
    expect(onesComplementSum(new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]))).toBe(0xddf2);
    expect(internetChecksum(new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]))).toBe(0x220d);
  });
});

describe('IPv4 / L4 layout', () => {
  it('writes the well-known example header 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7', () => {
    // The widely used worked example (e.g. Wikipedia "IPv4 header checksum"): checksum 0xb861.
    // Total length 0x73 = 115 = 20 IP + 8 UDP + 87 payload.
    const p = buildIPv4({ src: '192.168.0.1', dst: '192.168.0.199', df: true, ttl: 64, proto: 'udp', payload: 87 });
    expect(hex(p.subarray(0, 20))).toBe('450000730000400040' + '11' + 'b861' + 'c0a80001c0a800c7');
  });

  it('lays out Ethernet+802.1Q, IPv4 options and TCP options as written by hand', () => {
    const f = buildFrame({
      vlan: 100, vlanPcp: 5, srcMac: '02:00:00:00:00:0a', dstMac: '02:00:00:00:00:0b',
      src: '192.0.2.1', dst: '198.51.100.2', tos: 0xb8, id: 0x1234, ttl: 7, mf: true, fragOffset: 0,
      ipOptions: new Uint8Array([0x94, 0x04, 0x00, 0x00, 0x01]), // router alert + one NOP -> padded to 8
      proto: 'tcp', sport: 0x1f90, dport: 443, seq: 0x01020304, ack: 0x0a0b0c0d, flags: 'SA', window: 0x7210, urgPtr: 9,
      tcpOptions: tcpOptions({ mss: 1460 }), payload: 'hi',
    });
    expect(hex(f.subarray(0, 18))).toBe('02000000000b' + '02000000000a' + '8100' + 'a064' + '0800'); // PCP 5 -> a0, VID 100 -> 064
    const ip = f.subarray(18);
    // version 4, IHL 7 (28 bytes); total 28 + 24 TCP + 2 = 54 = 0x36; flags MF (0x2000)
    expect(hex(ip.subarray(0, 10))).toBe('47b8003612342000' + '0706');
    expect(hex(ip.subarray(12, 28))).toBe('c0000201c6336402' + '9404000001000000');
    const tcp = ip.subarray(28);
    // ports 8080 443, seq, ack, data offset 6 (0x60), flags 0x12, window, csum (skipped), urg 9, MSS option
    expect(hex(tcp.subarray(0, 16))).toBe('1f9001bb010203040a0b0c0d60127210');
    expect(hex(tcp.subarray(18, 26))).toBe('0009020405b46869');
  });

  it('produces checksums the independent verifier accepts, for every protocol and link', () => {
    const inner = buildIPv4({ src: '198.51.100.2', dst: '192.0.2.1', proto: 'udp', sport: 53, dport: 33000, payload: 30 });
    const specs = [
      { proto: 'tcp' as const, flags: 'PA', payload: 101 },
      { proto: 'tcp' as const, flags: 'S', tcpOptions: tcpOptions({ mss: 1400, sackPerm: true, ts: [5, 0], wscale: 7 }) },
      { proto: 'udp' as const, payload: 'odd length!' },
      { proto: 'udp' as const, payload: 0 },
      { proto: 'icmp' as const, icmpType: 8, icmpId: 7, icmpSeq: 1, payload: 56 },
      { proto: 'icmp' as const, icmpType: 3, icmpCode: 3, inner: icmpQuote(inner) },
      { proto: 'icmp' as const, icmpType: 11, inner: icmpQuote(inner, 100) },
      { proto: 'tcp' as const, ipOptions: new Uint8Array([0x94, 4, 0, 0]) },
    ];
    for (const link of ['ether', 'raw', 'ipv4', 'sll', 'sll2'] as const) {
      for (const s of specs) {
        const f = buildFrame({ ...s, link, src: '203.0.113.9', dst: '198.18.0.1' });
        const r = verifyIPv4(f, ipv4Offset(f, LINKTYPE_OF[link]));
        expect(r.ip, `${link} ${s.proto}`).toBe(true);
        expect(r.l4, `${link} ${JSON.stringify(s)}`).toBe(true);
      }
    }
  });

  it('sets wrong checksums and UDP checksum 0 on request', () => {
    const bad = buildIPv4({ proto: 'tcp', l4Checksum: 'bad', ipChecksum: 'bad' });
    expect(verifyIPv4(bad)).toMatchObject({ ip: false, l4: false });
    expect(verifyIPv4(buildIPv4({ proto: 'udp', l4Checksum: 'bad' })).l4).toBe(false);
    const zero = buildIPv4({ proto: 'udp', l4Checksum: 'zero' });
    expect(zero[26] | zero[27]).toBe(0);
    expect(verifyIPv4(zero).l4).toBeNull(); // "no checksum"
    expect(verifyIPv4(buildIPv4({ proto: 'icmp', l4Checksum: 'bad' })).l4).toBe(false);
  });

  it('writeFrame reuses one buffer and matches buildFrame', () => {
    const big = new Uint8Array(4096);
    const spec = { proto: 'udp' as const, sport: 1, dport: 2, payload: 10 };
    let off = 0;
    for (let i = 0; i < 10; i++) {
      spec.sport = 1000 + i;
      const n = writeFrame(big, off, spec);
      expect(n).toBe(frameLength(spec));
      expect(hex(big.subarray(off, off + n))).toBe(hex(buildFrame(spec)));
      off += n;
    }
    expect(() => writeFrame(new Uint8Array(10), 0, spec)).toThrow(RangeError);
  });

  it('frames SLL and SLL2 headers as laid out by libpcap', () => {
    const sll = buildFrame({ link: 'sll', pktType: 4, srcMac: '02:00:00:00:00:0a', proto: 'udp' });
    // pkttype 4 (outgoing), ARPHRD_ETHER 1, addr len 6, addr padded to 8, protocol 0x0800
    expect(hex(sll.subarray(0, 16))).toBe('0004' + '0001' + '0006' + '02000000000a0000' + '0800');
    const sll2 = buildFrame({ link: 'sll2', ifindex: 0x01020304, pktType: 0, srcMac: '02:00:00:00:00:0a', proto: 'udp' });
    // protocol 0x0800, reserved 0, ifindex, ARPHRD 1, pkttype 0, addr len 6, addr padded to 8
    expect(hex(sll2.subarray(0, 20))).toBe('0800' + '0000' + '01020304' + '0001' + '00' + '06' + '02000000000a0000');
    const arp = wrapL2(new Uint8Array(28), { etherType: 0x0806 });
    expect(hex(arp.subarray(12, 14))).toBe('0806');
  });
});

describe('fragments', () => {
  it('splits a UDP datagram into fragments whose data reassembles and whose headers verify', () => {
    const whole = buildIPv4({ proto: 'udp', id: 4242, payload: 100, ipOptions: new Uint8Array([0x94, 4, 0, 0, 0x07, 3, 4, 0]) });
    // 108 bytes of UDP (8 + 100) in pieces of 48: 48, 48, 12
    const frags = fragmentIPv4(whole, 50);
    expect(frags.length).toBe(3);
    const offsets = frags.map((f) => ((f[6] << 8) | f[7]) & 0x1fff);
    expect(offsets).toEqual([0, 6, 12]); // in 8-byte units
    expect(frags.map((f) => (f[6] & 0x20) !== 0)).toEqual([true, true, false]);
    // first keeps both options (IHL 7 words); later keep only the copied one (router alert 0x94): IHL 6
    expect(frags.map((f) => f[0] & 15)).toEqual([7, 6, 6]);
    for (const f of frags) expect(verifyIPv4(f).ip).toBe(true);
    const data = Buffer.concat(frags.map((f) => f.subarray((f[0] & 15) * 4)));
    expect(hex(data)).toBe(hex(whole.subarray(28)));
  });
});

describe('SCTP CRC32c', () => {
  it('matches the published CRC32c vectors', () => {
    // CRC-32C check value of "123456789" (Castagnoli, reflected): 0xE3069283
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    // RFC 3720 B.4: 32 bytes of zeros -> bytes on the wire aa 36 91 8a (i.e. 0x8a9136aa little-endian)
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    // RFC 3720 B.4: 32 bytes of 0xff -> 43 ab a8 62
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });
  it('stores the CRC of the common header and chunk little-endian, like the kernel', () => {
    const p = buildIPv4({ proto: 'sctp', sport: 5000, dport: 6000, vtag: 0x01020304, chunkType: 1, payload: new Uint8Array(16).fill(1) });
    const l4 = Uint8Array.from(p.subarray(20));
    expect(l4.length).toBe(12 + 4 + 16);
    expect(hex(l4.subarray(0, 8))).toBe('1388177001020304');
    const stored = l4[8] | (l4[9] << 8) | (l4[10] << 16) | (l4[11] * 0x1000000);
    l4.fill(0, 8, 12);
    expect(stored >>> 0).toBe(crc32c(l4));
    const bad = buildIPv4({ proto: 'sctp', l4Checksum: 'bad' });
    expect(hex(bad.subarray(28, 32))).not.toBe(hex(buildIPv4({ proto: 'sctp' }).subarray(28, 32)));
  });
});

describe.skipIf(!haveTcpdump)('tcpdump reads crafted packets', () => {
  it('decodes headers and reports checksums correct / incorrect as crafted', () => {
    const path = t.file('crafted.pcap');
    const w = new PcapWriter(path, { linktype: 1 });
    const frames = [
      buildFrame({ src: '192.0.2.1', dst: '198.51.100.7', sport: 1234, dport: 80, flags: 'S', seq: 1000, df: true, id: 77, ttl: 63, tos: 0x10, tcpOptions: tcpOptions({ mss: 1460, wscale: 7 }) }),
      buildFrame({ src: '192.0.2.1', dst: '198.51.100.7', proto: 'udp', sport: 40001, dport: 5000, payload: 'hello', vlan: 5 }),
      buildFrame({ src: '192.0.2.1', dst: '198.51.100.7', proto: 'udp', sport: 40001, dport: 5000, payload: 'hello', l4Checksum: 'zero' }),
      buildFrame({ src: '192.0.2.1', dst: '198.51.100.7', proto: 'udp', sport: 40001, dport: 5000, payload: 'hello', l4Checksum: 'bad' }),
      buildFrame({ src: '192.0.2.1', dst: '198.51.100.7', proto: 'tcp', flags: 'PA', payload: 33, ipChecksum: 'bad' }),
      buildFrame({ src: '192.0.2.1', dst: '198.51.100.7', proto: 'tcp', flags: 'FA', l4Checksum: 'bad' }),
      buildFrame({ src: '192.0.2.1', dst: '198.51.100.7', proto: 'icmp', icmpId: 42, icmpSeq: 3, payload: 56 }),
      buildFrame({ src: '198.51.100.7', dst: '192.0.2.1', proto: 'icmp', icmpType: 3, icmpCode: 4, mtu: 1400, inner: icmpQuote(buildIPv4({ src: '192.0.2.1', dst: '198.51.100.7', sport: 1234, dport: 80 })) }),
      buildFrame({ src: '192.0.2.1', dst: '198.51.100.7', proto: 'icmp', icmpType: 8, payload: 8, l4Checksum: 'bad' }),
    ];
    frames.forEach((f, i) => w.writePacket(1000 + i, 0, f));
    w.close();
    const { lines, status } = tcpdump(path, ['-nn', '-vv']);
    expect(status).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/tos 0x10, ttl 63, id 77, offset 0, flags \[DF\], proto TCP \(6\), length 48\)\n\s+192\.0\.2\.1\.1234 > 198\.51\.100\.7\.80: Flags \[S\], cksum 0x[0-9a-f]{4} \(correct\), seq 1000, win 65535, options \[mss 1460,nop,wscale 7\], length 0/);
    expect(text).toMatch(/192\.0\.2\.1\.40001 > 198\.51\.100\.7\.5000: \[udp sum ok\] UDP, length 5/);
    expect(text).toMatch(/192\.0\.2\.1\.40001 > 198\.51\.100\.7\.5000: \[no cksum\] UDP, length 5/);
    expect(text).toMatch(/\[bad udp cksum 0x[0-9a-f]{4} -> 0x[0-9a-f]{4}!\] UDP, length 5/);
    expect(text).toMatch(/length 73, bad cksum [0-9a-f]+ \(->[0-9a-f]+\)!\)\n\s+192\.0\.2\.1\.40000 > 198\.51\.100\.7\.80: Flags \[P\.\], cksum 0x[0-9a-f]{4} \(correct\)/);
    expect(text).toMatch(/Flags \[F\.\], cksum 0x[0-9a-f]{4} \(incorrect -> 0x[0-9a-f]{4}\)/);
    expect(text).toMatch(/ICMP echo request, id 42, seq 3, length 64/);
    expect(text).toMatch(/unreachable - need to frag \(mtu 1400\)/);
    expect(text).toMatch(/ICMP echo request, id 0, seq 0, length 16 \(wrong icmp cksum [0-9a-f]+ \(->[0-9a-f]+\)!\)/);
    // exactly one IP header is bad; only the two L4 checksums made bad are flagged
    expect(text.match(/bad cksum/g)?.length).toBe(1);
    expect(text.match(/incorrect|bad udp cksum|wrong icmp cksum/g)?.length).toBe(3);
  });

  it('decodes SLL, SLL2 and raw framing', () => {
    for (const link of ['sll', 'sll2', 'raw', 'ipv4'] as const) {
      const path = t.file(`${link}.pcap`);
      const w = new PcapWriter(path, { linktype: LINKTYPE_OF[link] });
      w.writePacket(1, 0, buildFrame({ link, ifindex: 3, src: '192.0.2.9', dst: '203.0.113.1', proto: 'udp', sport: 7, dport: 9, payload: 4 }));
      w.close();
      const { lines } = tcpdump(path, ['-nn', '-vv', '-e']);
      expect(lines.join('\n'), link).toMatch(/192\.0\.2\.9\.7 > 203\.0\.113\.1\.9: \[udp sum ok\] UDP, length 4/);
      if (link === 'sll2') expect(lines[0]).toMatch(/ifindex 3 02:00:00:00:00:01 ethertype IPv4/);
    }
  });
});
