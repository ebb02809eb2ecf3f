// The router of the conntrack-edges and conntrack-sysctls cases (one ruleset, two sets of sysctls):
// clients in 192.0.2.0/24 arrive on eth0 and talk to the server 203.0.113.9 behind eth1, masqueraded
// to eth1's 198.51.100.1 (MASQUERADE keeps the source port). Packets as they arrive at the router.
import { buildFrame } from '../../../src/pcap/craft.js';
import type { CasePacket } from './harness.js';
import { TcpConv, rng, udp as udpDatagram } from './conv.js';

export const SERVER = '203.0.113.9';
/** eth1's address: the clients' source as the server sees it. */
export const MASQ = '198.51.100.1';

export interface MasqCapture {
  /** The capture, in order. */
  out: CasePacket[];
  /** A TCP connection from client:sport to the server's port 80 (sequence numbers from the seed). */
  conv(client: string, sport: number): TcpConv;
  /** A SYN-ACK from the server's port 80 straight to client:dport, no connection behind it (seq 5, ack 6). */
  strayServerSynAck(client: string, dport: number, id: number): void;
  /** A SYN from client:sport to the server's port 80 with a wrong TCP checksum (seq 7). */
  badChecksumSyn(client: string, sport: number, id: number): void;
  /** A UDP datagram of `len` bytes from client:sport to the server's port 9. */
  udp(client: string, sport: number, len: number, l4Checksum: 'bad' | 'zero'): void;
}

export function masqCapture(seed: number): MasqCapture {
  const out: CasePacket[] = [];
  const r = rng(seed);
  return {
    out,
    conv: (client, sport) => new TcpConv(
      { src: { ip: client, port: sport }, dst: { ip: SERVER, port: 80 }, iface: 'eth0' },
      { src: { ip: SERVER, port: 80 }, dst: { ip: MASQ, port: sport }, iface: 'eth1' }, out, r),
    strayServerSynAck(client, dport, id) {
      out.push({ frame: buildFrame({ src: SERVER, dst: client, proto: 'tcp', sport: 80, dport, flags: 'SA', seq: 5, ack: 6, id }), iface: 'eth1' });
    },
    badChecksumSyn(client, sport, id) {
      out.push({ frame: buildFrame({ src: client, dst: SERVER, proto: 'tcp', sport, dport: 80, flags: 'S', seq: 7, l4Checksum: 'bad', id }), iface: 'eth0' });
    },
    udp(client, sport, len, l4Checksum) {
      udpDatagram(out, { src: { ip: client, port: sport }, dst: { ip: SERVER, port: 9 }, iface: 'eth0' }, len, { l4Checksum });
    },
  };
}
