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
  // T1: a full connection into TIME_WAIT (#1-#6), then a new SYN on the same tuple (#7).
  conv('192.0.2.30', 41000).c('S').s('SA').c('A').c('FA').s('FA').c('A');
  conv('192.0.2.30', 41000).c('S');
  // T2: picked up mid-stream: client data (#8), the server's ACK (#9), the client's ACK (#10).
  conv('192.0.2.31', 41001).c('PA', { len: 20 }).s('A').c('A');
  // T3: a SYN-ACK nobody asked for, straight to an inside address (#11).
  out.push({ frame: buildFrame({ src: '203.0.113.9', dst: '192.0.2.32', proto: 'tcp', sport: 80, dport: 41002, flags: 'SA', seq: 5, ack: 6, id: 11 }), iface: 'eth1' });
  // T4: a SYN with a wrong checksum (#12).
  out.push({ frame: buildFrame({ src: '192.0.2.33', dst: '203.0.113.9', proto: 'tcp', sport: 41003, dport: 80, flags: 'S', seq: 7, l4Checksum: 'bad', id: 12 }), iface: 'eth0' });
  // T5: UDP without checksum (#13); T6: UDP with a wrong one (#14). 20 bytes each.
  udp(out, { src: { ip: '192.0.2.34', port: 5000 }, dst: { ip: '203.0.113.9', port: 9 }, iface: 'eth0' }, 20, { l4Checksum: 'zero' });
  udp(out, { src: { ip: '192.0.2.35', port: 5001 }, dst: { ip: '203.0.113.9', port: 9 }, iface: 'eth0' }, 20, { l4Checksum: 'bad' });
  return out;
}
