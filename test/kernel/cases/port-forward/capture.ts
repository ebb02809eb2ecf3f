// Port forwarding: E, a full HTTP-like conversation through DNAT+SNAT; F, a SYN to another port of
// the router itself (no listener: the router's stack answers with a RST); G, a SYN straight to the
// inside server's address (FORWARD accepts it, POSTROUTING SNATs it too), answered but not completed.
import type { CasePacket } from '../../lib/harness.js';
import { TcpConv, rng } from '../../lib/conv.js';

export default function capture(seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  const r = rng(seed);
  const e = new TcpConv(
    { src: { ip: '203.0.113.50', port: 41000 }, dst: { ip: '198.51.100.1', port: 80 }, iface: 'eth1' },
    { src: { ip: '192.0.2.1', port: 80 }, dst: { ip: '192.0.2.254', port: 41000 }, iface: 'eth0' }, out, r);
  e.c('S').s('SA').c('A').c('PA', { len: 200 }).s('PA', { len: 500 }).c('A').c('FA').s('FA').c('A');
  const f = new TcpConv(
    { src: { ip: '203.0.113.51', port: 41001 }, dst: { ip: '198.51.100.1', port: 22 }, iface: 'eth1' },
    { src: { ip: '198.51.100.1', port: 22 }, dst: { ip: '203.0.113.51', port: 41001 }, iface: 'eth1' }, out, r);
  f.c('S');
  const g = new TcpConv(
    { src: { ip: '203.0.113.52', port: 41002 }, dst: { ip: '192.0.2.1', port: 80 }, iface: 'eth1' },
    { src: { ip: '192.0.2.1', port: 80 }, dst: { ip: '192.0.2.254', port: 41002 }, iface: 'eth0' }, out, r);
  g.c('S').s('SA');
  return out;
}
