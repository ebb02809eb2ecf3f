// Numbered as in check.ts. The client 198.51.100.20 talks to 198.51.100.80:443; the server
// 203.0.113.10:8443 sees the router's 203.0.113.254 (MASQUERADE keeps the client's port).
import type { CasePacket } from '../../lib/harness.js';
import { TcpConv, rng } from '../../lib/conv.js';

export default function capture(seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  const r = rng(seed);
  const side = (port: number) => [
    { src: { ip: '198.51.100.20', port }, dst: { ip: '198.51.100.80', port: 443 }, iface: 'eth0' },
    { src: { ip: '203.0.113.10', port: 8443 }, dst: { ip: '203.0.113.254', port }, iface: 'eth1' },
  ] as const;
  const [a1, b1] = side(40000);
  const l1 = new TcpConv(a1, b1, out, r);
  l1.c('S').cAgain()                          // 1, 2: SYN and its retransmission
    .s('SA').c('A')                           // 3, 4
    .c('PA', { len: 100 })                    // 5
    .s('PA', { len: 300 }).c('A')             // 6, 7
    .sAgain().c('A')                          // 8: the server retransmits its data; 9: duplicate ACK
    .c('FA').s('FA').c('A');                  // 10, 11, 12
  const [a2, b2] = side(40100);
  const l2 = new TcpConv(a2, b2, out, r);
  l2.c('S').s('SA').c('A')                    // 13, 14, 15
    .c('PA', { len: 50 })                     // 16
    .c('PA', { len: 10, seqDelta: 0x40000000 }) // 17: a quarter of the sequence space ahead: out of window
    .s('RA')                                  // 18: the server resets
    .c('PA', { len: 10 });                    // 19: the client, not yet aware, sends more
  return out;
}
