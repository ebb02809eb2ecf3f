// From 192.0.2.40 on eth0 (tcpreplay): #1 UDP TTL 1 (20 bytes), #2 SYN TTL 2, #3 UDP DF of 1400 bytes,
// #4 the same without DF, #5 UDP to 203.0.113.200 (outside the only route, 203.0.113.0/25).
import { buildFrame, type FrameSpec } from '../../../../src/pcap/craft.js';
import type { CasePacket } from '../../lib/harness.js';

export default function capture(_seed: number): CasePacket[] {
  const b: FrameSpec = { src: '192.0.2.40', dst: '203.0.113.10', proto: 'udp', sport: 6000, dport: 9 };
  const specs: FrameSpec[] = [
    { ...b, payload: 20, ttl: 1, id: 1 },
    { ...b, proto: 'tcp', sport: 6001, dport: 80, flags: 'S', seq: 1, ttl: 2, id: 2 },
    { ...b, sport: 6002, payload: 1372, df: true, id: 3 },
    { ...b, sport: 6003, payload: 1372, id: 4 },
    { ...b, dst: '203.0.113.200', sport: 6004, payload: 20, id: 5 },
  ];
  return specs.map((s) => ({ frame: buildFrame(s) }));
}
