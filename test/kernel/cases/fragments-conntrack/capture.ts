// F1: a UDP datagram of 1400 payload bytes (1408 of UDP) in 3 fragments of 600, 600 and 208 data
// bytes, in order. F2: 1000 payload bytes in fragments of 512 and 496, the second never sent.
// F3: 800 payload bytes (808 of UDP) in fragments of 408 and 400, the last one sent first.
// All from the inside (eth0) to 203.0.113.53:53: replayed by tcpreplay.
import { buildIPv4, fragmentIPv4, wrapL2 } from '../../../../src/pcap/craft.js';
import type { CasePacket } from '../../lib/harness.js';

export default function capture(_seed: number): CasePacket[] {
  const dgram = (sport: number, len: number, id: number) =>
    buildIPv4({ src: `192.0.2.${60 + (sport - 5000)}`, dst: '203.0.113.53', proto: 'udp', sport, dport: 53, payload: len, id, ttl: 64 });
  const f1 = fragmentIPv4(dgram(5000, 1400, 0x1111), 600);
  const f2 = fragmentIPv4(dgram(5001, 1000, 0x2222), 512);
  const f3 = fragmentIPv4(dgram(5002, 800, 0x3333), 408);
  return [...f1, f2[0], f3[1], f3[0]].map((ip) => ({ frame: wrapL2(ip) }));
}
