// From eth0 (tcpreplay): #1 ping of 192.0.2.254 (TOS 0x28, 56 data bytes: 84), #2 ping of
// 198.51.100.1 (the eth1 address; 16 bytes: 44), #3 ping from 192.0.2.99 (8 bytes: 36), #4-#5 a
// 1400-byte ping (1372 data bytes) in two fragments of 976 and 404 data bytes (996 + 424 on the wire).
import { buildFrame, buildIPv4, fragmentIPv4, wrapL2, type FrameSpec } from '../../../../src/pcap/craft.js';
import type { CasePacket } from '../../lib/harness.js';

export default function capture(_seed: number): CasePacket[] {
  const p: FrameSpec = { src: '192.0.2.40', dst: '192.0.2.254', proto: 'icmp', icmpType: 8, icmpId: 0x4242 };
  const big = buildIPv4({ ...p, icmpId: 0x4244, icmpSeq: 4, payload: 1372, id: 4 });
  return [
    { frame: buildFrame({ ...p, icmpSeq: 1, payload: 56, tos: 0x28, id: 1 }) },
    { frame: buildFrame({ ...p, dst: '198.51.100.1', icmpId: 0x4243, icmpSeq: 2, payload: 16, id: 2 }) },
    { frame: buildFrame({ ...p, src: '192.0.2.99', icmpSeq: 3, payload: 8, id: 3 }) },
    ...fragmentIPv4(big, 976).map((f) => ({ frame: wrapL2(f) })),
  ];
}
