// The kernel as the judge of crafted checksums: frames sent over a veth into a namespace of ours
// pass mangle PREROUTING, where conntrack (nf_conntrack_checksum=1) has already verified the L4
// checksum (TCP/UDP/ICMP internet checksum, SCTP CRC32c) and marks a bad one INVALID; a bad IPv4
// header checksum is dropped by ip_rcv before any hook. Each frame has its own source address and
// two counting rules: one for any packet from it, one for INVALID ones.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { kernelAvailable, reportSkip, Lab } from '../kernel/lib/netns.js';
import { parseCounters } from '../kernel/lib/iptables.js';
import { buildFrame, type FrameSpec } from '../../src/pcap/craft.js';
import { PcapWriter } from '../../src/pcap/writer.js';
import { tempDir } from './helpers.js';

const skip = kernelAvailable();
if (skip) reportSkip(skip);

// SCTP INIT body: initiate tag, a_rwnd, outbound streams, inbound streams, initial TSN
const init = new Uint8Array([0, 0, 0, 7, 0, 1, 0, 0, 0, 10, 0, 10, 0, 0, 0, 1]);
const cases: { name: string; spec: FrameSpec; seen: number; invalid: number }[] = [
  { name: 'tcp SYN', spec: { proto: 'tcp', flags: 'S', sport: 1001, dport: 80 }, seen: 1, invalid: 0 },
  { name: 'tcp SYN, bad checksum', spec: { proto: 'tcp', flags: 'S', sport: 1002, dport: 80, l4Checksum: 'bad' }, seen: 1, invalid: 1 },
  { name: 'tcp SYN with options and IP options', spec: { proto: 'tcp', flags: 'S', sport: 1003, dport: 80, tcpOptions: new Uint8Array([2, 4, 5, 0xb4]), ipOptions: new Uint8Array([0x94, 4, 0, 0]) }, seen: 1, invalid: 0 },
  { name: 'udp', spec: { proto: 'udp', sport: 1004, dport: 53, payload: 'abc' }, seen: 1, invalid: 0 },
  { name: 'udp, bad checksum', spec: { proto: 'udp', sport: 1005, dport: 53, payload: 'abc', l4Checksum: 'bad' }, seen: 1, invalid: 1 },
  { name: 'udp, checksum 0 (none)', spec: { proto: 'udp', sport: 1006, dport: 53, payload: 'abc', l4Checksum: 'zero' }, seen: 1, invalid: 0 },
  { name: 'icmp echo', spec: { proto: 'icmp', icmpId: 1, icmpSeq: 1, payload: 24 }, seen: 1, invalid: 0 },
  { name: 'icmp echo, bad checksum', spec: { proto: 'icmp', icmpId: 2, icmpSeq: 1, payload: 24, l4Checksum: 'bad' }, seen: 1, invalid: 1 },
  { name: 'sctp INIT', spec: { proto: 'sctp', sport: 1007, dport: 9, vtag: 0, chunkType: 1, payload: init }, seen: 1, invalid: 0 },
  { name: 'sctp INIT, bad CRC32c', spec: { proto: 'sctp', sport: 1008, dport: 9, vtag: 0, chunkType: 1, payload: init, l4Checksum: 'bad' }, seen: 1, invalid: 1 },
  { name: 'udp, bad IPv4 header checksum', spec: { proto: 'udp', sport: 1009, dport: 53, ipChecksum: 'bad' }, seen: 0, invalid: 0 },
];

describe.skipIf(skip !== null)('the kernel verifies crafted checksums', () => {
  const t = tempDir();
  const lab = new Lab('pcapcsum');
  let a = '', b = '', macA = '', macB = '';
  beforeAll(async () => {
    a = await lab.ns('a');
    b = await lab.ns('b');
    for (const n of [a, b]) await lab.sysctl(n, 'net.ipv6.conf.all.disable_ipv6', 1);
    ({ macA, macB } = await lab.veth(a, 'va', b, 'vb'));
  });
  afterAll(async () => {
    await lab.destroy();
    t.cleanup();
  });

  it('counts every well-formed frame as valid and every broken one as INVALID (or dropped)', async () => {
    const src = (i: number) => `198.18.1.${10 + i}`;
    const rules = ['*mangle'];
    cases.forEach((_, i) => rules.push(`-A PREROUTING -s ${src(i)}/32`, `-A PREROUTING -s ${src(i)}/32 -m conntrack --ctstate INVALID`));
    rules.push('COMMIT', '');
    await lab.exec(b, ['iptables-legacy-restore'], { input: rules.join('\n') });
    await lab.sysctl(b, 'net.netfilter.nf_conntrack_checksum', 1);

    const path = t.file('csum.pcap');
    const w = new PcapWriter(path, { linktype: 1 });
    cases.forEach((c, i) => w.writePacket(i, 0, buildFrame({ ...c.spec, srcMac: macA, dstMac: macB, src: src(i), dst: '198.18.0.2' })));
    w.close();
    const r = await lab.exec(a, ['tcpreplay', '-i', 'va', '--pps=500', path], { timeoutMs: 30_000 });
    expect(r.stdout).toMatch(new RegExp(`Successful packets:\\s+${cases.length}`));
    await new Promise((res) => setTimeout(res, 200));

    const counters = parseCounters((await lab.exec(b, ['iptables-legacy-save', '-c', '-t', 'mangle'])).stdout);
    const got = cases.map((c, i) => ({ name: c.name, seen: Number(counters.get(`mangle:PREROUTING:${2 * i + 1}`)!.packets), invalid: Number(counters.get(`mangle:PREROUTING:${2 * i + 2}`)!.packets) }));
    expect(got).toEqual(cases.map((c) => ({ name: c.name, seen: c.seen, invalid: c.invalid })));
  }, 60_000);
});
