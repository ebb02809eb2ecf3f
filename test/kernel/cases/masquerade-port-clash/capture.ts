// #1-#3: SYNs from 192.0.2.50, .51, .52, all from port 40000 to 203.0.113.10:80. #4, #5: the server's
// SYN-ACKs to 198.51.100.1:40000 and :40001. #6, #7: the clients' ACKs.
import type { CasePacket } from '../../lib/harness.js';
import { TcpConv, rng } from '../../lib/conv.js';

export default function capture(seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  const r = rng(seed);
  const conv = (client: string, natPort: number) => new TcpConv(
    { src: { ip: client, port: 40000 }, dst: { ip: '203.0.113.10', port: 80 }, iface: 'eth0' },
    { src: { ip: '203.0.113.10', port: 80 }, dst: { ip: '198.51.100.1', port: natPort }, iface: 'eth1' }, out, r);
  const c1 = conv('192.0.2.50', 40000);
  const c2 = conv('192.0.2.51', 40001);
  const c3 = conv('192.0.2.52', 40000);
  c1.c('S'); c2.c('S'); c3.c('S');
  c1.s('SA'); c2.s('SA');
  c1.c('A'); c2.c('A');
  return out;
}
