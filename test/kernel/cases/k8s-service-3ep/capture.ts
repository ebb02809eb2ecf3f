// New connections only (SYNs): which endpoint answers is the kernel's random choice, so a capture
// cannot contain the replies. svc-a: 60 clients x 10 connections; svc-b (affinity): 40 clients x 8.
// Interleaved so that affinity state is exercised across clients. All on eth0: replayed by tcpreplay.
import { buildFrame } from '../../../../src/pcap/craft.js';
import type { CasePacket } from '../../lib/harness.js';
import { rng } from '../../lib/conv.js';

export default function capture(seed: number): CasePacket[] {
  const r = rng(seed);
  const out: CasePacket[] = [];
  const syn = (client: number, port: number, dst: string) => out.push({
    frame: buildFrame({ src: `192.0.2.${client}`, dst, proto: 'tcp', sport: port, dport: 80, flags: 'S',
      seq: Math.floor(r() * 2 ** 32) >>> 0, id: out.length & 0xffff, df: true }),
  });
  for (let round = 0; round < 10; round++) {
    for (let c = 0; c < 60; c++) syn(10 + c, 20000 + round * 100 + c, '198.18.0.10');
    if (round < 8) for (let c = 0; c < 40; c++) syn(100 + c, 30000 + round * 100 + c, '198.18.0.11');
  }
  return out;
}
