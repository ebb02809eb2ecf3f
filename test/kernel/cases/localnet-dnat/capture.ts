// H: a SYN from outside to 198.51.100.1:80 and its retransmission, DNATed to 127.0.0.1:8080 where
// nothing listens (the router answers each with a RST); J: a UDP datagram to port 80 of the router
// (not DNATed: -p tcp; no socket: ICMP port unreachable); K: the same SYN as H arriving on eth1, where
// route_localnet is off: a martian destination after DNAT, dropped by routing.
import type { CasePacket } from '../../lib/harness.js';
import { TcpConv, rng, udp } from '../../lib/conv.js';

export default function capture(seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  const r = rng(seed);
  const h = new TcpConv(
    { src: { ip: '203.0.113.60', port: 42000 }, dst: { ip: '198.51.100.1', port: 80 }, iface: 'eth0' },
    { src: { ip: '127.0.0.1', port: 8080 }, dst: { ip: '203.0.113.60', port: 42000 }, iface: 'eth0' }, out, r);
  h.c('S').cAgain();
  udp(out, { src: { ip: '203.0.113.61', port: 5000 }, dst: { ip: '198.51.100.1', port: 80 }, iface: 'eth0' }, 20);
  const k = new TcpConv(
    { src: { ip: '192.0.2.10', port: 43000 }, dst: { ip: '192.0.2.254', port: 80 }, iface: 'eth1' },
    { src: { ip: '127.0.0.1', port: 8080 }, dst: { ip: '192.0.2.10', port: 43000 }, iface: 'eth1' }, out, r);
  k.c('S');
  return out;
}
