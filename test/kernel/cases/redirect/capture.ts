// #1 192.0.2.7:1111 -> 203.0.113.53:53, #2 192.0.2.8:2222 -> 203.0.113.123:123 (20 bytes each),
// #3 192.0.2.9:3333 -> 192.0.2.253:53 (to the secondary address: still redirected to the primary).
import type { CasePacket } from '../../lib/harness.js';
import { udp } from '../../lib/conv.js';

export default function capture(_seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  const s = (src: string, sport: number, dst: string, dport: number) => ({ src: { ip: src, port: sport }, dst: { ip: dst, port: dport }, iface: 'eth0' });
  udp(out, s('192.0.2.7', 1111, '203.0.113.53', 53), 20);
  udp(out, s('192.0.2.8', 2222, '203.0.113.123', 123), 20);
  udp(out, s('192.0.2.9', 3333, '192.0.2.253', 53), 20);
  return out;
}
