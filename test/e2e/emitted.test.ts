// --out holds every packet that leaves the host, including the ones the host itself sends: REJECT
// replies (nf_send_reset, nf_send_unreach), the stack's ICMP errors (time exceeded from
// ip_forward) and echo replies (icmp_echo). Each leaves right after the packet that caused it,
// with that packet's timestamp; on Ethernet with the two MACs swapped (back to the neighbour it
// came from) and the VLAN tag kept. The expected datagrams are built here by hand with
// src/pcap/craft.ts (checksums by craft's own routine) from what the kernel sends (README of
// test/kernel, measured on 6.18, and net/ipv4/netfilter/nf_reject_ipv4.c, net/ipv4/icmp.c):
//   RST: saddr/sport = the segment's daddr/dport, tos 0, TTL 64, id 0, DF; a segment with ACK
//        gets seq = its ack_seq and RST alone; one without gets seq 0, ack = seq + SYN + FIN + len,
//        RST|ACK; window 0.
//   ICMP error: tos (tos & 0x1e) | 0xc0, TTL 64, no DF, id 0 here (the kernel's is a keyed hash,
//        not reproducible: README, --out), saddr = the host's address towards the client (or the
//        packet's own destination for a locally delivered one), quoting the datagram as the
//        REJECTing hook saw it (after ip_forward's TTL decrement in FORWARD), cut to 576 in all.
//   echo reply: same tos, id/seq/data, TTL 64, no DF, id 0, from the address pinged.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario, cleanup, tmp } from './helpers.js';
import { buildFrame, buildIPv4, fragmentIPv4, wrapL2, type FrameSpec } from '../../src/pcap/craft.js';
import { parseCaptureBuffer } from '../../src/pcap/reader.js';
import { PcapWriter } from '../../src/pcap/writer.js';
import { replay } from '../../src/commands/replay.js';
import type { HostModel } from '../../src/host/index.js';

afterAll(cleanup);

const router: HostModel = {
  interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'] }, { name: 'eth1', addresses: ['198.51.100.1/24'] }],
  routes: [], ingress: 'eth0', sysctl: {},
};

const RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 9 -j REJECT --reject-with tcp-reset
-A INPUT -p udp -m udp --dport 9 -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -p udp -m udp --dport 7 -j REJECT --reject-with icmp-host-prohibited
-A OUTPUT -d 192.0.2.99/32 -p icmp -m icmp --icmp-type 0 -j DROP
COMMIT
`;

function rulesFile(text: string): string {
  const p = join(tmp(), 'rules.txt');
  writeFileSync(p, text);
  return p;
}

interface OutPkt { ts: number; frame: Uint8Array }
function readOut(path: string): { linktype: number; pkts: OutPkt[] } {
  const { batch: b, info } = parseCaptureBuffer(new Uint8Array(readFileSync(path)));
  const pkts: OutPkt[] = [];
  for (let i = 0; i < b.count; i++) {
    pkts.push({ ts: b.tsSec[i] - 1700000000 + b.tsNsec[i] / 1e9, frame: b.data.slice(b.offset[i], b.offset[i] + b.caplen[i]) });
  }
  return { linktype: info?.linktype ?? b.linktype[0], pkts };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const MAC_PEER = '02:00:00:00:00:01', MAC_ROUTER = '02:00:00:00:00:02'; // craft's defaults: src, dst

describe('--out: packets the host emits', () => {
  it('REJECT replies, time exceeded and echo replies leave right after their packet, byte for byte', async () => {
    const C = '192.0.2.2';
    const syn: FrameSpec = { src: C, dst: '192.0.2.1', proto: 'tcp', sport: 40000, dport: 9, flags: 'S', seq: 1000, id: 7 };
    const ackSeg: FrameSpec = { src: C, dst: '192.0.2.1', proto: 'tcp', sport: 40001, dport: 9, flags: 'A', seq: 5, ack: 777, id: 8 };
    const udpLocal: FrameSpec = { src: C, dst: '192.0.2.1', proto: 'udp', sport: 40002, dport: 9, payload: 10, tos: 0x10, id: 9 };
    const udpFwd: FrameSpec = { src: C, dst: '198.51.100.2', proto: 'udp', sport: 40003, dport: 7, payload: 12, id: 10 };
    const ttl1: FrameSpec = { src: C, dst: '198.51.100.2', proto: 'udp', sport: 40004, dport: 53, payload: 5, ttl: 1, id: 11 };
    const ping: FrameSpec = { src: C, dst: '192.0.2.1', proto: 'icmp', icmpType: 8, icmpId: 77, icmpSeq: 1, payload: 32, tos: 0x08, id: 12, vlan: 100 };
    const pingDropped: FrameSpec = { src: '192.0.2.99', dst: '192.0.2.1', proto: 'icmp', icmpType: 8, icmpId: 78, icmpSeq: 1, payload: 8, id: 13 };
    const pingOther: FrameSpec = { src: C, dst: '198.51.100.1', proto: 'icmp', icmpType: 8, icmpId: 79, icmpSeq: 2, payload: 4, id: 14 };
    const fwd: FrameSpec = { src: C, dst: '198.51.100.2', proto: 'udp', sport: 40005, dport: 53, payload: 3, id: 15 };
    const rst: FrameSpec = { src: '192.0.2.1', dst: C, proto: 'tcp', sport: 9, dport: 40001 };
    const specs = [syn, ackSeg, udpLocal, udpFwd, ttl1, ping, pingDropped, pingOther, fwd];
    const r = await runScenario(rulesFile(RULES), router, specs.map((s, i) => ({ ...s, on: 'eth0', t: i * 0.01 })));

    const base = { ttl: 64, id: 0 };
    const expected: { after: number; ip: Uint8Array; vlan?: number }[] = [
      // SYN without ACK: seq 0, ack = 1000 + 1 (SYN), RST|ACK
      { after: 0, ip: buildIPv4({ ...base, ...rst, dport: 40000, flags: 'RA', seq: 0, ack: 1001, window: 0, df: true }) },
      // a segment with ACK: seq = its ack, RST alone
      { after: 1, ip: buildIPv4({ ...base, ...rst, flags: 'R', seq: 777, ack: 0, window: 0, df: true }) },
      // port unreachable from the address the datagram was sent to, quoting all 38 bytes; tos 0x10 -> 0xd0
      { after: 2, ip: buildIPv4({ ...base, src: '192.0.2.1', dst: C, proto: 'icmp', icmpType: 3, icmpCode: 3, tos: 0xd0, inner: buildIPv4(udpLocal) }) },
      // host prohibited in FORWARD: quotes the datagram after ip_forward's TTL decrement (64 -> 63)
      { after: 3, ip: buildIPv4({ ...base, src: '192.0.2.1', dst: C, proto: 'icmp', icmpType: 3, icmpCode: 10, tos: 0xc0, inner: buildIPv4({ ...udpFwd, ttl: 63 }) }) },
      // time exceeded quoting the datagram as it arrived (TTL 1)
      { after: 4, ip: buildIPv4({ ...base, src: '192.0.2.1', dst: C, proto: 'icmp', icmpType: 11, icmpCode: 0, tos: 0xc0, inner: buildIPv4(ttl1) }) },
      // echo reply: same tos, id, seq and data (craft's payload pattern of 32 bytes), VLAN kept
      { after: 5, vlan: 100, ip: buildIPv4({ ...base, src: '192.0.2.1', dst: C, proto: 'icmp', icmpType: 0, icmpId: 77, icmpSeq: 1, payload: 32, tos: 0x08 }) },
      // #6's reply is dropped by OUTPUT: not written. #7: the reply comes from the address pinged
      { after: 7, ip: buildIPv4({ ...base, src: '198.51.100.1', dst: C, proto: 'icmp', icmpType: 0, icmpId: 79, icmpSeq: 2, payload: 4 }) },
    ];
    const out = readOut(r.out);
    expect(out.linktype).toBe(1);
    // the forwarded datagram #8 leaves with TTL 63 (its own frame, MACs as captured)
    const fwdFrame = buildFrame({ ...fwd, ttl: 63 });
    const want = [...expected.map((e) => ({
      ts: e.after * 0.01,
      frame: wrapL2(e.ip, { srcMac: MAC_ROUTER, dstMac: MAC_PEER, vlan: e.vlan }),
    })), { ts: 0.08, frame: fwdFrame }];
    expect(out.pkts.map((p) => hex(p.frame))).toEqual(want.map((p) => hex(p.frame)));
    out.pkts.forEach((p, i) => expect(p.ts).toBeCloseTo(want[i].ts, 6));
    expect(r.cnt('filter/OUTPUT#1')).toEqual([1, 36]); // the dropped echo reply: 20 + 8 + 8
    // every emitted packet that left is counted in totals.rejectReplies
    expect(r.engine.stats().rejectReplies).toBe(7n);
  });

  it('an echo reply longer than the out MTU leaves fragmented (no DF), after the fragment that completed the request', async () => {
    // conntrack active (a ctstate rule), so defrag reassembles the 1400-byte request (two fragments
    // of 996 and 424 bytes, MTU 1000 on eth0); the 1400-byte reply is cut by ip_append_data to
    // (1000 - 20) & ~7 = 976 data bytes: 996 bytes (MF, offset 0) and 424 bytes (offset 976)
    const host: HostModel = { ...router, interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'], mtu: 1000 }, router.interfaces[1]] };
    const rules = `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n`;
    const req = buildIPv4({ src: '192.0.2.2', dst: '192.0.2.1', proto: 'icmp', icmpType: 8, icmpId: 5, icmpSeq: 9, payload: 1372, id: 300 });
    const frags = fragmentIPv4(req, 976);
    expect(frags.map((f) => f.length)).toEqual([996, 424]);
    const r = await runScenario(rulesFile(rules), host, [
      { on: 'eth0', t: 0, l3Raw: frags[0] },
      { on: 'eth0', t: 0.5, l3Raw: frags[1] },
    ]);
    const reply = buildIPv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 'icmp', icmpType: 0, icmpId: 5, icmpSeq: 9, payload: 1372, ttl: 64, id: 0 });
    const want = fragmentIPv4(reply, 976).map((ip) => wrapL2(ip, { srcMac: MAC_ROUTER, dstMac: MAC_PEER }));
    const out = readOut(r.out);
    expect(out.pkts.map((p) => hex(p.frame))).toEqual(want.map(hex));
    expect(out.pkts.map((p) => p.ts)).toEqual([0.5, 0.5]);
  });

  it('Linux cooked captures (SLL2): the reply keeps the header of the packet that caused it, as forwarded frames do', async () => {
    const dir = tmp();
    const pcap = join(dir, 'in.pcap');
    const syn: FrameSpec = { link: 'sll2', ifindex: 3, src: '192.0.2.2', dst: '192.0.2.1', proto: 'tcp', sport: 41000, dport: 9, flags: 'S', seq: 0xfffffffe };
    const w = new PcapWriter(pcap, { linktype: 276 });
    w.writePacket(1700000000, 0, buildFrame(syn));
    w.close();
    const hostPath = join(dir, 'host.json');
    writeFileSync(hostPath, JSON.stringify(router));
    const out = join(dir, 'out.pcap');
    await replay({ rules: rulesFile(RULES), pcap, host: hostPath, out });
    const got = readOut(out);
    expect(got.linktype).toBe(276);
    // ack = 0xfffffffe + 1 (SYN) = 0xffffffff
    const ip = buildIPv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 'tcp', sport: 9, dport: 41000, flags: 'RA', seq: 0, ack: 0xffffffff, window: 0, ttl: 64, id: 0, df: true });
    expect(got.pkts.map((p) => hex(p.frame))).toEqual([hex(wrapL2(ip, { link: 'sll2', ifindex: 3 }))]);
  });

  it('a batch emitting more than the first 64 KiB area: the core grows it, nothing is lost', async () => {
    // 120 pings of 1400 bytes in one batch: 120 replies x (16 + 1400) bytes = 169,920 bytes, past
    // 64 KiB and 128 KiB: the area doubles twice during the batch (assembly/modules/reject.ts)
    const pings: FrameSpec[] = Array.from({ length: 120 }, (_, i) => ({
      src: `192.0.2.${2 + (i % 50)}`, dst: '192.0.2.1', proto: 'icmp', icmpType: 8, icmpId: 1000 + i, icmpSeq: i, payload: 1372, id: i,
    }));
    const r = await runScenario(rulesFile(RULES), router, pings.map((p, i) => ({ ...p, on: 'eth0', t: i * 0.001 })));
    const out = readOut(r.out);
    const want = pings.map((p) => wrapL2(buildIPv4({ ...p, src: p.dst, dst: p.src, icmpType: 0, ttl: 64, id: 0 }), { srcMac: MAC_ROUTER, dstMac: MAC_PEER }));
    expect(out.pkts.length).toBe(120);
    expect(out.pkts.map((p) => hex(p.frame))).toEqual(want.map(hex));
  });
});
