// From eth0 (tcpreplay), to the router's 192.0.2.254: from 198.18.0.5 (no route back), 203.0.113.5
// (blackhole route back) and 192.0.2.40 (connected), each a UDP datagram to port 9 (10 data bytes:
// 38) and a SYN to port 22 (40).
import { buildFrame, type FrameSpec } from '../../../../src/pcap/craft.js';
import type { CasePacket } from '../../lib/harness.js';

export default function capture(_seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  let id = 1;
  for (const src of ['198.18.0.5', '203.0.113.5', '192.0.2.40']) {
    const b: FrameSpec = { src, dst: '192.0.2.254' };
    out.push({ frame: buildFrame({ ...b, proto: 'udp', sport: 5000, dport: 9, payload: 10, id: id++ }) });
    out.push({ frame: buildFrame({ ...b, proto: 'tcp', sport: 5001, dport: 22, flags: 'S', seq: 1, id: id++ }) });
  }
  return out;
}
