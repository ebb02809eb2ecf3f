// Everything arrives on eth1 (so the harness replays it with tcpreplay). Numbered as in check.ts.
import { buildFrame, fragmentIPv4, buildIPv4, wrapL2, type FrameSpec } from '../../../../src/pcap/craft.js';
import type { CasePacket } from '../../lib/harness.js';

export default function capture(_seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  let id = 1;
  const add = (s: FrameSpec) => out.push({ frame: buildFrame({ id: id++, ...s }) });
  const syn = (src: string, sport: number, dst: string, dport: number) =>
    add({ src, dst, proto: 'tcp', sport, dport, flags: 'S', seq: 1000 + sport });
  const udp = (src: string, sport: number, dst: string, dport: number) =>
    add({ src, dst, proto: 'udp', sport, dport, payload: 32 });
  const near = '198.51.100.10'; // in 198.51.100.0/25
  const far = '198.51.100.200'; // not in it
  syn(near, 30001, '203.0.113.10', 22);        // 1
  syn(near, 30002, '203.0.113.10', 8050);      // 2
  syn(far, 30003, '203.0.113.10', 80);         // 3
  syn(far, 30004, '203.0.113.10', 443);        // 4
  syn(far, 30005, '203.0.113.10', 9090);       // 5
  syn(far, 30006, '203.0.113.10', 7000);       // 6
  udp(near, 5353, '203.0.113.53', 53);         // 7
  udp(near, 53, '203.0.113.53', 53);           // 8
  add({ src: near, dst: '203.0.113.10', proto: 'icmp', icmpType: 8, icmpId: 7, icmpSeq: 1, payload: 56 }); // 9
  syn(near, 30010, '192.0.2.5', 22);           // 10
  syn(near, 30011, '192.0.2.100', 22);         // 11
  udp(near, 40000, '192.0.2.5', 500);          // 12
  udp(near, 40001, '192.0.2.5', 1194);         // 13
  add({ src: near, dst: '198.51.100.1', proto: 'icmp', icmpType: 8, icmpId: 8, icmpSeq: 1, payload: 56 }); // 14
  add({ src: near, dst: '198.51.100.1', proto: 'icmp', icmpType: 13, icmpId: 9, icmpSeq: 1, payload: 12 }); // 15
  udp(near, 40002, '203.0.113.99', 69);        // 16
  // 17: a UDP datagram of 1000 payload bytes in two fragments (512 + 496 data bytes).
  const whole = buildIPv4({ src: near, dst: '203.0.113.53', proto: 'udp', sport: 5354, dport: 53, payload: 1000, id: id++ });
  for (const f of fragmentIPv4(whole, 512)) out.push({ frame: wrapL2(f) });
  return out;
}
