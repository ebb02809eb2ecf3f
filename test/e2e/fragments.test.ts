// Conntrack on: datagrams are reassembled before the raw table (nf_defrag_ipv4), so chains see one
// whole datagram; a datagram missing a fragment reaches no chain. Same packets and rules as the
// kernel case test/kernel/cases/fragments-conntrack, whose kernel counters (6.18) are the expectation:
// raw PREROUTING `-p udp` [2:2256], FORWARD `-f -j DROP` [0:0], `-m length --length 1000:65535`
// [1:1428], `--dport 53 --ctstate NEW -j ACCEPT` [2:2256], nat POSTROUTING SNAT [2:2256].
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { runScenario, cleanup, type Pkt } from './helpers.js';
import { buildIPv4, fragmentIPv4 } from '../../src/pcap/craft.js';
import { parseCaptureBuffer } from '../../src/pcap/reader.js';
import { verifyIPv4 } from '../../src/pcap/checksum.js';
import { RES_FRAG_QUEUED, RES_FORWARDED } from '../../src/layout.js';
import type { HostModel } from '../../src/host/index.js';

afterAll(cleanup);
const rulesPath = new URL('../kernel/cases/fragments-conntrack/rules.txt', import.meta.url).pathname;

describe('reassembly with conntrack', () => {
  it('F1 (3 fragments) and F3 (2, last first) pass whole; F2 (missing a fragment) reaches no chain', async () => {
    const host = JSON.parse(readFileSync(new URL('../kernel/cases/fragments-conntrack/host.json', import.meta.url), 'utf8')) as HostModel;
    const dgram = (sport: number, len: number, id: number) =>
      buildIPv4({ src: `192.0.2.${60 + (sport - 5000)}`, dst: '203.0.113.53', proto: 'udp', sport, dport: 53, payload: len, id, ttl: 64 });
    const f1 = fragmentIPv4(dgram(5000, 1400, 0x1111), 600);
    const f2 = fragmentIPv4(dgram(5001, 1000, 0x2222), 512);
    const f3 = fragmentIPv4(dgram(5002, 800, 0x3333), 408);
    const ips = [...f1, f2[0], f3[1], f3[0]];
    // each fragment as an Ethernet frame: the helper builds frames from specs, so pass the bytes raw
    const pk: Pkt[] = ips.map((ip) => ({ on: host.ingress, l3Raw: ip } as Pkt));
    const r = await runScenario(rulesPath, host, pk);
    expect(r.cnt('raw/PREROUTING#1')).toEqual([2, 2256]);
    expect(r.cnt('filter/FORWARD#1')).toEqual([0, 0]);
    expect(r.cnt('filter/FORWARD#2')).toEqual([1, 1428]);
    expect(r.cnt('filter/FORWARD#3')).toEqual([2, 2256]);
    expect(r.cnt('nat/POSTROUTING#1')).toEqual([2, 2256]);
    const codes = Array.from(r.engine.lastResults(ips.length), (x) => x & 0xff);
    expect(codes).toEqual([RES_FRAG_QUEUED, RES_FRAG_QUEUED, RES_FORWARDED, RES_FRAG_QUEUED, RES_FRAG_QUEUED, RES_FORWARDED]);
    // --out: each datagram leaves SNATed and re-fragmented to the largest fragment it came in; the
    // kernel's egress in that case: total lengths 620, 620, 228 (offsets 0, 75, 150 in 8-byte units,
    // MF on all but the last) and 428, 420 (offsets 0, 51), source 198.51.100.1
    const cap = parseCaptureBuffer(new Uint8Array(readFileSync(r.out))).batch;
    const got: [number, number, number, string][] = [];
    for (let i = 0; i < cap.count; i++) {
      const f = cap.data.subarray(cap.offset[i] + 14, cap.offset[i] + cap.caplen[i]);
      const fo = (f[6] << 8) | f[7];
      got.push([(f[2] << 8) | f[3], fo & 0x1fff, (fo >> 13) & 1, `${f[12]}.${f[13]}.${f[14]}.${f[15]}`]);
      expect(verifyIPv4(f, 0).ip).toBe(true);
    }
    const S = '198.51.100.1';
    expect(got).toEqual([[620, 0, 1, S], [620, 75, 1, S], [228, 150, 0, S], [428, 0, 1, S], [420, 51, 0, S]]);
  });
});
