// Numbered as in check.ts. ICMP errors quote the offending packet as its sender received it, i.e.
// after our SNAT (source 198.51.100.1) and TTL decrement.
import type { FrameSpec } from '../../../../src/pcap/craft.js';
import type { CasePacket } from '../../lib/harness.js';
import { echo, icmpError, udp } from '../../lib/conv.js';

export default function capture(_seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  const side = (src: string, sport: number, dst: string, dport: number, iface: string) =>
    ({ src: { ip: src, port: sport }, dst: { ip: dst, port: dport }, iface });
  // U1: a UDP exchange, twice.                                              #1-#4
  udp(out, side('192.0.2.30', 33000, '203.0.113.53', 53, 'eth0'), 40);
  udp(out, side('203.0.113.53', 53, '198.51.100.1', 33000, 'eth1'), 80);
  udp(out, side('192.0.2.30', 33000, '203.0.113.53', 53, 'eth0'), 40);
  udp(out, side('203.0.113.53', 53, '198.51.100.1', 33000, 'eth1'), 80);
  // U2: a datagram to a closed port; the server answers port unreachable.   #5, #6
  const id5 = out.length;
  udp(out, side('192.0.2.30', 33001, '203.0.113.54', 9999, 'eth0'), 20);
  const seen5: FrameSpec = { src: '198.51.100.1', dst: '203.0.113.54', proto: 'udp', sport: 33001, dport: 9999, payload: 20, id: id5, ttl: 63 };
  icmpError(out, '203.0.113.54', '198.51.100.1', 'eth1', 3, 3, seen5);
  // I1: ping, two rounds (id 0x1234).                                         #7-#10
  echo(out, '192.0.2.31', '203.0.113.10', 'eth0', 8, 0x1234, 1);
  echo(out, '203.0.113.10', '198.51.100.1', 'eth1', 0, 0x1234, 1);
  echo(out, '192.0.2.31', '203.0.113.10', 'eth0', 8, 0x1234, 2);
  echo(out, '203.0.113.10', '198.51.100.1', 'eth1', 0, 0x1234, 2);
  // T1: a traceroute-like probe with TTL 2; the next router says time exceeded.  #11, #12
  const id11 = out.length;
  udp(out, side('192.0.2.32', 33002, '203.0.113.99', 33434, 'eth0'), 12, { ttl: 2 });
  const seen11: FrameSpec = { src: '198.51.100.1', dst: '203.0.113.99', proto: 'udp', sport: 33002, dport: 33434, payload: 12, id: id11, ttl: 1 };
  icmpError(out, '198.51.100.254', '198.51.100.1', 'eth1', 11, 0, seen11);
  // X1: port unreachable about a datagram the router never sent.            #13
  const ghost: FrameSpec = { src: '198.51.100.1', dst: '203.0.113.77', proto: 'udp', sport: 44444, dport: 53, payload: 20, id: 999, ttl: 63 };
  icmpError(out, '203.0.113.77', '198.51.100.1', 'eth1', 3, 3, ghost);
  return out;
}
