// The seed's scenarios (pcaps/rulesets/*.rules) end to end through `replay()` — the function the
// CLI runs — with counters worked out by hand in the comments. All TCP packets carry no payload:
// 40 bytes each (20 IP + 20 TCP). Forwarded packets are checked with the pcap module's independent
// checksum verifier.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario, cleanup, type Pkt } from './helpers.js';
import { parseCaptureBuffer } from '../../src/pcap/reader.js';
import { verifyIPv4 } from '../../src/pcap/checksum.js';
import { formatIPv4 } from '../../src/pcap/craft.js';
import { RES_FORWARDED, RES_DROP_POLICY, RES_LOCAL, RES_DROP_MARTIAN } from '../../src/layout.js';
import type { HostModel } from '../../src/host/index.js';

afterAll(cleanup);
const R = (n: string) => new URL(`../../pcaps/rulesets/${n}`, import.meta.url).pathname;

interface Out { src: string; dst: string; sport: number; dport: number; ttl: number; ipOk: boolean; l4Ok: boolean | null }
function outFrames(path: string): Out[] {
  const cap = parseCaptureBuffer(new Uint8Array(readFileSync(path)));
  const b = cap.batch;
  const res: Out[] = [];
  for (let i = 0; i < b.count; i++) {
    const f = b.data.subarray(b.offset[i], b.offset[i] + b.caplen[i]);
    const o = 14, ihl = (f[o] & 15) * 4;
    const v = verifyIPv4(f, o);
    res.push({
      src: formatIPv4(f.subarray(o + 12, o + 16)), dst: formatIPv4(f.subarray(o + 16, o + 20)),
      sport: (f[o + ihl] << 8) | f[o + ihl + 1], dport: (f[o + ihl + 2] << 8) | f[o + ihl + 3],
      ttl: f[o + 8], ipOk: v.ip, l4Ok: v.l4,
    });
  }
  return res;
}
const codes = (r: { engine: { lastResults(n: number): Uint32Array } }, n: number) => Array.from(r.engine.lastResults(n), (x) => x & 0xff);

const router: HostModel = {
  interfaces: [{ name: 'eth0', addresses: ['192.0.2.254/24'] }, { name: 'eth1', addresses: ['198.51.100.1/24'] }],
  routes: [{ dst: 'default', via: '198.51.100.254', dev: 'eth1' }],
  ingress: 'eth0',
  sysctl: {},
};

describe('seed scenarios end to end', () => {
  it('NAT router: SNAT, FORWARD DROP policy, ESTABLISHED,RELATED first', async () => {
    const W = '203.0.113.80';
    const pk: Pkt[] = [
      { on: 'eth0', src: '192.0.2.9', dst: W, sport: 40000, dport: 80, flags: 'S', seq: 100 },              // A SYN: rule 2, SNAT
      { on: 'eth0', src: '192.0.2.20', dst: W, sport: 40001, dport: 80, flags: 'S', seq: 100 },             // B SYN: policy DROP
      { on: 'eth0', src: '192.0.2.20', dst: W, sport: 40001, dport: 80, flags: 'S', seq: 100 },             // B retransmit: NEW again, DROP
      { on: 'eth0', src: '192.0.2.20', dst: '198.51.100.33', sport: 40002, dport: 80, flags: 'S', seq: 7 },  // C SYN: rule 3, SNAT
      { on: 'eth1', src: W, dst: '198.51.100.1', sport: 80, dport: 40000, flags: 'SA', seq: 900, ack: 101 }, // A reply: un-SNAT, rule 1
      { on: 'eth0', src: '192.0.2.9', dst: W, sport: 40000, dport: 80, flags: 'A', seq: 101, ack: 901 },     // A ACK: rule 1
      { on: 'eth1', src: '198.51.100.33', dst: '198.51.100.1', sport: 80, dport: 40002, flags: 'SA', seq: 5, ack: 8 }, // C reply: rule 1
    ];
    const r = await runScenario(R('nat-router.rules'), router, pk);
    // nat PREROUTING (no rules) sees each connection's first packet: A, B, B again (the dropped
    // unconfirmed ct was freed), C -> 4 x 40. nat POSTROUTING: only A and C reach it, both SNATed.
    expect(r.cnt('nat/PREROUTING')).toEqual([4, 160]);
    expect(r.cnt('nat/POSTROUTING#1')).toEqual([2, 80]);
    expect(r.cnt('nat/POSTROUTING')).toEqual([0, 0]);
    expect(r.cnt('nat/INPUT')).toEqual([0, 0]);
    // filter FORWARD: rule 1 (ESTABLISHED,RELATED) A reply, A ACK, C reply; rule 2 A SYN; rule 3 C SYN; policy B x2
    expect(r.cnt('filter/FORWARD#1')).toEqual([3, 120]);
    expect(r.cnt('filter/FORWARD#2')).toEqual([1, 40]);
    expect(r.cnt('filter/FORWARD#3')).toEqual([1, 40]);
    expect(r.cnt('filter/FORWARD')).toEqual([2, 80]);
    expect(r.cnt('filter/INPUT')).toEqual([0, 0]);
    expect(codes(r, 7)).toEqual([RES_FORWARDED, RES_DROP_POLICY, RES_DROP_POLICY, RES_FORWARDED, RES_FORWARDED, RES_FORWARDED, RES_FORWARDED]);
    const o = outFrames(r.out);
    expect(o.map((x) => [x.src, x.sport, x.dst, x.dport, x.ttl])).toEqual([
      ['198.51.100.1', 40000, W, 80, 63],               // SNATed, port kept (tuple free)
      ['198.51.100.1', 40002, '198.51.100.33', 80, 63],
      [W, 80, '192.0.2.9', 40000, 63],                  // reply un-SNATed
      ['198.51.100.1', 40000, W, 80, 63],               // later packets SNATed from the ct
      ['198.51.100.33', 80, '192.0.2.20', 40002, 63],
    ]);
    for (const x of o) { expect(x.ipOk).toBe(true); expect(x.l4Ok).toBe(true); }
  });

  it('port forwarding: DNAT plus SNAT so replies come back', async () => {
    const host: HostModel = { ...router, ingress: 'eth1' };
    const Cl = '203.0.113.7';
    const pk: Pkt[] = [
      { on: 'eth1', src: Cl, dst: '198.51.100.1', sport: 50000, dport: 80, flags: 'S', seq: 1 },            // DNAT + SNAT
      { on: 'eth0', src: '192.0.2.1', dst: '192.0.2.254', sport: 80, dport: 50000, flags: 'SA', seq: 70, ack: 2 }, // reply
      { on: 'eth1', src: Cl, dst: '198.51.100.1', sport: 50000, dport: 80, flags: 'A', seq: 2, ack: 71 },
      { on: 'eth1', src: Cl, dst: '198.51.100.1', sport: 50001, dport: 22, flags: 'S', seq: 1 },            // to the router itself
    ];
    const r = await runScenario(R('port-forward.rules'), host, pk);
    // nat PREROUTING: rule 1 DNATs the :80 SYN; the :22 SYN falls to the policy. The ACK is ESTABLISHED.
    expect(r.cnt('nat/PREROUTING#1')).toEqual([1, 40]);
    expect(r.cnt('nat/PREROUTING')).toEqual([1, 40]);
    // nat POSTROUTING rule 1 SNATs the forwarded SYN; nat INPUT sees the :22 SYN (SRC null binding)
    expect(r.cnt('nat/POSTROUTING#1')).toEqual([1, 40]);
    expect(r.cnt('nat/INPUT')).toEqual([1, 40]);
    // filter FORWARD: rule 1 reply + ACK, rule 2 the SYN; filter INPUT policy the :22 SYN
    expect(r.cnt('filter/FORWARD#1')).toEqual([2, 80]);
    expect(r.cnt('filter/FORWARD#2')).toEqual([1, 40]);
    expect(r.cnt('filter/FORWARD')).toEqual([0, 0]);
    expect(r.cnt('filter/INPUT')).toEqual([1, 40]);
    expect(codes(r, 4)).toEqual([RES_FORWARDED, RES_FORWARDED, RES_FORWARDED, RES_LOCAL]);
    const o = outFrames(r.out);
    expect(o.map((x) => [x.src, x.sport, x.dst, x.dport])).toEqual([
      ['192.0.2.254', 50000, '192.0.2.1', 80],          // DNAT to the server, SNAT to the router's inside address
      ['198.51.100.1', 80, Cl, 50000],                  // reply: un-SNAT (PREROUTING), un-DNAT (POSTROUTING)
      ['192.0.2.254', 50000, '192.0.2.1', 80],
    ]);
    for (const x of o) { expect(x.ipOk).toBe(true); expect(x.l4Ok).toBe(true); }
  });

  it('DNAT to 127.0.0.1:8080 needs route_localnet (else a martian drop)', async () => {
    const base: HostModel = { interfaces: [{ name: 'eth0', addresses: ['198.51.100.1/24'] }], routes: [{ dst: 'default', via: '198.51.100.254', dev: 'eth0' }], ingress: 'eth0', sysctl: {} };
    const pk: Pkt[] = [{ on: 'eth0', src: '203.0.113.7', dst: '198.51.100.1', sport: 50000, dport: 80, flags: 'S', seq: 1 }];
    const off = await runScenario(R('localnet-8080.rules'), base, pk);
    expect(off.cnt('nat/PREROUTING#1')).toEqual([1, 40]);
    expect(codes(off, 1)).toEqual([RES_DROP_MARTIAN]);
    const on = await runScenario(R('localnet-8080.rules'), { ...base, sysctl: { 'net.ipv4.conf.all.route_localnet': 1 } }, pk);
    expect(on.cnt('nat/PREROUTING#1')).toEqual([1, 40]);
    expect(on.cnt('nat/INPUT')).toEqual([1, 40]);     // delivered locally: nat INPUT walked for SRC
    expect(codes(on, 1)).toEqual([RES_LOCAL]);
  });
});
