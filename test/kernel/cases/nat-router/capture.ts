// The NAT router's traffic: an allowed client (192.0.2.9) with a full TCP conversation and a UDP
// exchange, another client (192.0.2.20) allowed only towards 203.0.113.3, and its SYN (plus a
// retransmission) to another server, which the FORWARD policy drops.
import type { CasePacket } from '../../lib/harness.js';
import { TcpConv, rng, udp } from '../../lib/conv.js';

export default function capture(seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  const r = rng(seed);
  // A: 192.0.2.9:40001 -> 203.0.113.10:80; the server answers the SNAT address 198.51.100.1:40001.
  const a = new TcpConv(
    { src: { ip: '192.0.2.9', port: 40001 }, dst: { ip: '203.0.113.10', port: 80 }, iface: 'eth0' },
    { src: { ip: '203.0.113.10', port: 80 }, dst: { ip: '198.51.100.1', port: 40001 }, iface: 'eth1' }, out, r);
  a.c('S').s('SA').c('A').c('PA', { len: 100 }).s('A').c('FA').s('FA').c('A');
  // B: 192.0.2.20:40002 -> 203.0.113.3:443 (allowed by -d 203.0.113.3).
  const b = new TcpConv(
    { src: { ip: '192.0.2.20', port: 40002 }, dst: { ip: '203.0.113.3', port: 443 }, iface: 'eth0' },
    { src: { ip: '203.0.113.3', port: 443 }, dst: { ip: '198.51.100.1', port: 40002 }, iface: 'eth1' }, out, r);
  b.c('S').s('SA').c('A');
  // C: 192.0.2.20:40003 -> 203.0.113.10:80, dropped by the policy, retransmitted once.
  const c = new TcpConv(
    { src: { ip: '192.0.2.20', port: 40003 }, dst: { ip: '203.0.113.10', port: 80 }, iface: 'eth0' },
    { src: { ip: '203.0.113.10', port: 80 }, dst: { ip: '198.51.100.1', port: 40003 }, iface: 'eth1' }, out, r);
  c.c('S').cAgain();
  // D: UDP 192.0.2.9:5353 -> 203.0.113.53:53 (30 bytes) and the answer (60 bytes).
  udp(out, { src: { ip: '192.0.2.9', port: 5353 }, dst: { ip: '203.0.113.53', port: 53 }, iface: 'eth0' }, 30);
  udp(out, { src: { ip: '203.0.113.53', port: 53 }, dst: { ip: '198.51.100.1', port: 5353 }, iface: 'eth1' }, 60);
  return out;
}
