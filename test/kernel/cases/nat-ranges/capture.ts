// SYNs only (which server answers is what is being tested). #1-#24: clients 192.0.2.1-12, two
// connections each to 198.51.100.80:80, client i from ports 40000+2i and 40001+2i (all ports distinct,
// so SNAT never has to move a port). #25: 192.0.2.5:50000 -> 198.51.100.81:80; #26: the same client
// and port -> 198.51.100.82:80.
import { buildFrame } from '../../../../src/pcap/craft.js';
import type { CasePacket } from '../../lib/harness.js';

export default function capture(_seed: number): CasePacket[] {
  const out: CasePacket[] = [];
  const syn = (src: string, sport: number, dst: string) =>
    out.push({ frame: buildFrame({ src, dst, proto: 'tcp', sport, dport: 80, flags: 'S', seq: 1000 + out.length, id: out.length, df: true }) });
  for (let i = 1; i <= 12; i++) {
    syn(`192.0.2.${i}`, 40000 + 2 * i, '198.51.100.80');
    syn(`192.0.2.${i}`, 40001 + 2 * i, '198.51.100.80');
  }
  syn('192.0.2.5', 50000, '198.51.100.81');
  syn('192.0.2.5', 50000, '198.51.100.82');
  return out;
}
