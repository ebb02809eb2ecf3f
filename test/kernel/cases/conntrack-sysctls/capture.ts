// Numbered as in check.ts.
import { buildFrame } from '../../../../src/pcap/craft.js';
import type { CasePacket } from '../../lib/harness.js';
import { TcpConv, rng, udp } from '../../lib/conv.js';

export default function capture(seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  const r = rng(seed);
  const conv = (client: string, sport: number) => new TcpConv(
    { src: { ip: client, port: sport }, dst: { ip: '203.0.113.9', port: 80 }, iface: 'eth0' },
    { src: { ip: '203.0.113.9', port: 80 }, dst: { ip: '198.51.100.1', port: sport }, iface: 'eth1' }, out, r);
  // #1-#3 handshake, #4 10 bytes a quarter of the sequence space ahead (out of window).
  conv('192.0.2.40', 42000).c('S').s('SA').c('A').c('PA', { len: 10, seqDelta: 0x40000000 });
  // #5 a mid-stream segment of an unknown connection (20 bytes).
  conv('192.0.2.41', 42001).c('PA', { len: 20 });
  // #6 a SYN with a wrong checksum; #7 UDP with a wrong checksum (20 bytes).
  out.push({ frame: buildFrame({ src: '192.0.2.42', dst: '203.0.113.9', proto: 'tcp', sport: 42002, dport: 80, flags: 'S', seq: 7, l4Checksum: 'bad', id: 6 }), iface: 'eth0' });
  udp(out, { src: { ip: '192.0.2.43', port: 5002 }, dst: { ip: '203.0.113.9', port: 9 }, iface: 'eth0' }, 20, { l4Checksum: 'bad' });
  // #8 a SYN-ACK without a connection.
  out.push({ frame: buildFrame({ src: '203.0.113.9', dst: '192.0.2.44', proto: 'tcp', sport: 80, dport: 42003, flags: 'SA', seq: 5, ack: 6, id: 8 }), iface: 'eth1' });
  return out;
}
