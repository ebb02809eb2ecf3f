// All from 192.0.2.70 on eth0 (tcpreplay). #1 UDP to port 7 (30 bytes, TOS 0x10), #2 echo request,
// #3 SYN to port 23 (seq 1000), #4 PSH-ACK with 20 bytes to port 23 (seq 5000, ack 7000), #5 UDP to
// 203.0.113.66:9 (800 bytes: the quote is cut so the error stays within 576 bytes), #6 UDP to port 8
// (not rejected: forwarded).
import { buildFrame, type FrameSpec } from '../../../../src/pcap/craft.js';
import type { CasePacket } from '../../lib/harness.js';

export default function capture(_seed: number): CasePacket[] {
  const base: FrameSpec = { src: '192.0.2.70', dst: '203.0.113.7', ttl: 64 };
  const specs: FrameSpec[] = [
    { ...base, proto: 'udp', sport: 50000, dport: 7, payload: 30, tos: 0x10, id: 101 },
    { ...base, proto: 'icmp', icmpType: 8, icmpId: 77, icmpSeq: 1, payload: 56, id: 102 },
    { ...base, proto: 'tcp', sport: 50001, dport: 23, flags: 'S', seq: 1000, id: 103, df: true },
    { ...base, proto: 'tcp', sport: 50002, dport: 23, flags: 'PA', seq: 5000, ack: 7000, payload: 20, id: 104, df: true },
    { ...base, dst: '203.0.113.66', proto: 'udp', sport: 50003, dport: 9, payload: 800, id: 105 },
    { ...base, proto: 'udp', sport: 50004, dport: 8, payload: 10, id: 106 },
  ];
  return specs.map((s) => ({ frame: buildFrame(s) }));
}
