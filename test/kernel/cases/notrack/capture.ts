// #1 a DNS query 192.0.2.50:5300 -> 203.0.113.53:53 (untracked), #2 its answer, sent to the client's
// own address (nothing was NATed), #3 NTP 192.0.2.50:123 -> 203.0.113.123:123 (tracked, MASQUERADEd),
// #4 its answer to 198.51.100.1:123. 20-byte payloads.
import type { CasePacket } from '../../lib/harness.js';
import { udp } from '../../lib/conv.js';

export default function capture(_seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  const s = (src: string, sport: number, dst: string, dport: number, iface: string) => ({ src: { ip: src, port: sport }, dst: { ip: dst, port: dport }, iface });
  udp(out, s('192.0.2.50', 5300, '203.0.113.53', 53, 'eth0'), 20);
  udp(out, s('203.0.113.53', 53, '192.0.2.50', 5300, 'eth1'), 20);
  udp(out, s('192.0.2.50', 123, '203.0.113.123', 123, 'eth0'), 20);
  udp(out, s('203.0.113.123', 123, '198.51.100.1', 123, 'eth1'), 20);
  return out;
}
