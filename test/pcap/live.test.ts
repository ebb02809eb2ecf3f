// Real captures: frames built with craft.ts are written with PcapWriter, sent by tcpreplay on a veth
// in a namespace of ours, captured by the real tcpdump on the peer (Ethernet on the interface,
// Linux cooked v2 with `-i any`, nanosecond files with --time-stamp-precision=nano) and read back
// with our reader: the frames that arrive are the frames we built, byte for byte.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { kernelAvailable, reportSkip, Lab } from '../kernel/lib/netns.js';
import { buildFrame, buildIPv4, icmpQuote, tcpOptions } from '../../src/pcap/craft.js';
import { PcapWriter } from '../../src/pcap/writer.js';
import { readAllPackets } from '../../src/pcap/reader.js';
import { tempDir } from './helpers.js';

const skip = kernelAvailable();
if (skip) reportSkip(skip);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function waitFor(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(what());
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(skip !== null)('live capture through veth', () => {
  const t = tempDir();
  const lab = new Lab('pcaplive');
  let a = '', b = '', macA = '', macB = '';
  beforeAll(async () => {
    a = await lab.ns('a');
    b = await lab.ns('b');
    for (const n of [a, b]) {
      await lab.sysctl(n, 'net.ipv6.conf.all.disable_ipv6', 1);
      await lab.sysctl(n, 'net.ipv6.conf.default.disable_ipv6', 1);
    }
    ({ macA, macB } = await lab.veth(a, 'va', b, 'vb'));
  });
  afterAll(async () => {
    await lab.destroy();
    t.cleanup();
  });

  it('tcpdump on the peer (Ethernet and -i any / SLL2, nanoseconds) captures exactly our frames', async () => {
    const base = { srcMac: macA, dstMac: macB, src: '198.18.0.1', dst: '198.18.0.2' };
    const frames = [
      buildFrame({ ...base, proto: 'tcp', sport: 40000, dport: 80, flags: 'S', seq: 7, tcpOptions: tcpOptions({ mss: 1460 }) }),
      buildFrame({ ...base, proto: 'udp', sport: 5000, dport: 5001, payload: 'payload' }),
      buildFrame({ ...base, proto: 'icmp', icmpId: 9, icmpSeq: 1, payload: 56 }),
      buildFrame({ ...base, proto: 'icmp', icmpType: 3, icmpCode: 3, inner: icmpQuote(buildIPv4({ src: '198.18.0.2', dst: '198.18.0.1', proto: 'udp' })) }),
      buildFrame({ ...base, proto: 'sctp', sport: 1, dport: 2, payload: 16 }),
      buildFrame({ ...base, proto: 'udp', id: 5, mf: true, payload: 1000 }),
      buildFrame({ ...base, proto: 'tcp', flags: 'PA', payload: 1400, ipOptions: new Uint8Array([0x94, 4, 0, 0]) }),
    ];
    const src = t.file('send.pcap');
    const w = new PcapWriter(src, { linktype: 1 });
    frames.forEach((f, i) => w.writePacket(100 + i, 0, f));
    w.close();

    const ethPath = t.file('eth.pcap');
    const anyPath = t.file('any.pcap');
    const common = ['--immediate-mode', '-U', '-n', '-s', '0', '--time-stamp-precision=nano'];
    const d1 = lab.spawn(b, ['tcpdump', '-i', 'vb', ...common, '-w', ethPath, 'ip']);
    // tcpdump 4.99 / libpcap 1.10 give LINUX_SLL2 for `-i any` by default (-y LINUX_SLL: v1)
    const d2 = lab.spawn(b, ['tcpdump', '-i', 'any', ...common, '-w', anyPath, 'ip']);
    const sll1Path = t.file('sll1.pcap');
    const d3 = lab.spawn(b, ['tcpdump', '-i', 'any', '-y', 'LINUX_SLL', ...common, '-w', sll1Path, 'ip']);
    for (const d of [d1, d2, d3]) await waitFor(() => d.stderr().includes('listening on'), 10_000, () => `tcpdump did not start: ${d.stderr()}`);
    const sent = await lab.exec(a, ['tcpreplay', '-i', 'va', '--pps=200', src], { timeoutMs: 30_000 });
    expect(sent.stdout).toMatch(/Successful packets:\s+7/);
    await new Promise((r) => setTimeout(r, 300));
    const s1 = await d1.stop();
    const s2 = await d2.stop();
    const s3 = await d3.stop();
    expect(s3.stderr).toMatch(/7 packets captured/);
    expect(s1.stderr).toMatch(/7 packets captured/);
    expect(s2.stderr).toMatch(/7 packets captured/);

    const eth = await readAllPackets(ethPath);
    expect(eth.error).toBeNull();
    expect(eth.info).toMatchObject({ format: 'pcap', linktype: 1, nanosecond: true });
    expect(eth.packets.map((p) => hex(p.frame))).toEqual(frames.map(hex));
    expect(eth.packets.map((p) => p.wirelen)).toEqual(frames.map((f) => f.length));
    // timestamps are real capture times: increasing, within the last minute
    const now = Date.now() / 1000;
    for (const p of eth.packets) expect(Math.abs(p.tsSec - now)).toBeLessThan(60);

    const any = await readAllPackets(anyPath);
    expect(any.error).toBeNull();
    expect(any.info?.linktype).toBe(276);
    const ifindex = Number((await lab.exec(b, ['cat', '/sys/class/net/vb/ifindex'])).stdout.trim());
    for (let i = 0; i < frames.length; i++) {
      const p = any.packets[i].frame;
      const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
      // SLL2: protocol 0x0800, ifindex of vb, ARPHRD_ETHER, PACKET_HOST (dst MAC is vb's), source MAC
      expect([dv.getUint16(0), dv.getUint32(4), dv.getUint16(8), p[10], p[11]]).toEqual([0x0800, ifindex, 1, 0, 6]);
      expect(hex(p.subarray(12, 18))).toBe(macA.replace(/:/g, ''));
      expect(hex(p.subarray(20))).toBe(hex(frames[i].subarray(14)));
    }

    const sll1 = await readAllPackets(sll1Path);
    expect(sll1.error).toBeNull();
    expect(sll1.info?.linktype).toBe(113);
    for (let i = 0; i < frames.length; i++) {
      const p = sll1.packets[i].frame;
      // SLL: PACKET_HOST 0, ARPHRD_ETHER 1, addr len 6, source MAC padded to 8, protocol 0x0800
      expect(hex(p.subarray(0, 16))).toBe('0000' + '0001' + '0006' + macA.replace(/:/g, '') + '0000' + '0800');
      expect(hex(p.subarray(16))).toBe(hex(frames[i].subarray(14)));
    }
  }, 60_000);
});
