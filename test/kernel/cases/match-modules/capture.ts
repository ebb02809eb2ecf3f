// P1-P11 in this order (numbers used in check.ts); no NAT, so servers answer the clients directly.
import { buildFrame } from '../../../../src/pcap/craft.js';
import type { CasePacket } from '../../lib/harness.js';
import { TcpConv, rng, udp } from '../../lib/conv.js';

export default function capture(seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  const r = rng(seed);
  const tcp = (sport: number, dport: number) => new TcpConv(
    { src: { ip: '192.0.2.12', port: sport }, dst: { ip: '203.0.113.5', port: dport }, iface: 'eth0' },
    { src: { ip: '203.0.113.5', port: dport }, dst: { ip: '192.0.2.12', port: sport }, iface: 'eth1' }, out, r);
  tcp(40000, 80).c('S').s('SA').c('A').c('PA', { len: 60, tos: 0x10 });            // P1-P4
  udp(out, { src: { ip: '192.0.2.15', port: 5000 }, dst: { ip: '203.0.113.53', port: 53 }, iface: 'eth0' }, 30, { ttl: 5 });   // P5
  udp(out, { src: { ip: '203.0.113.53', port: 53 }, dst: { ip: '192.0.2.15', port: 5000 }, iface: 'eth1' }, 60, { tos: 0xb8 }); // P6
  out.push({ frame: buildFrame({ src: '192.0.2.20', dst: '203.0.113.5', proto: 'icmp', icmpType: 8, icmpId: 9, icmpSeq: 1, payload: 56, ttl: 10, id: 7 }), iface: 'eth0' }); // P7
  out.push({ frame: buildFrame({ src: '203.0.113.5', dst: '192.0.2.20', proto: 'icmp', icmpType: 0, icmpId: 9, icmpSeq: 1, payload: 56, id: 8 }), iface: 'eth1' });        // P8
  udp(out, { src: { ip: '192.0.2.16', port: 123 }, dst: { ip: '203.0.113.123', port: 123 }, iface: 'eth0' }, 48);            // P9
  tcp(40001, 443).c('S');                                                            // P10
  tcp(40002, 443).c('S');                                                            // P11
  return out;
}
