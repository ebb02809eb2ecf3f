// Numbered as in check.ts. Client 192.0.2.40; the servers see the router's 198.51.100.1 (MASQUERADE).
import type { CasePacket } from '../../lib/harness.js';
import { TcpConv, rng, udp } from '../../lib/conv.js';

export default function capture(seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  const r = rng(seed);
  const conv = (sport: number, dst: string, dport: number, srv: string, srvPort: number) => new TcpConv(
    { src: { ip: '192.0.2.40', port: sport }, dst: { ip: dst, port: dport }, iface: 'eth0' },
    { src: { ip: srv, port: srvPort }, dst: { ip: '198.51.100.1', port: sport }, iface: 'eth1' }, out, r);
  // S1: ssh, classified 0x1.                                       #1-#5
  conv(45000, '203.0.113.22', 22, '203.0.113.22', 22).c('S').s('SA').c('A').c('PA', { len: 50 }).s('PA', { len: 80 });
  // W1: http to anywhere, classified 0x2, DNATed to the proxy 203.0.113.80:8080.   #6-#8
  conv(45001, '203.0.113.99', 80, '203.0.113.80', 8080).c('S').s('SA').c('A');
  // U1: udp, mark |= 0x10.                                          #9, #10
  udp(out, { src: { ip: '192.0.2.40', port: 45002 }, dst: { ip: '203.0.113.53', port: 53 }, iface: 'eth0' }, 30);
  udp(out, { src: { ip: '203.0.113.53', port: 53 }, dst: { ip: '198.51.100.1', port: 45002 }, iface: 'eth1' }, 60);
  // X1: https, unclassified: dropped by the FORWARD policy.         #11
  conv(45003, '203.0.113.22', 443, '203.0.113.22', 443).c('S');
  return out;
}
