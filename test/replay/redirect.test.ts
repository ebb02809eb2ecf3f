// ICMP redirects (send_redirects) through the pool: ip_rt_send_redirect's limiter is per source
// address (its inet_peer record), across all of a source's flows, so the pool must join the flows of
// a source that reaches it (assembly/api-pool.ts logs the peer slot as for ICMP errors): 1, 2 and 4
// workers write identical counters and --out. The sysctls follow IN_DEV_ORCONF (all || device).
// The kernel itself checks the limiter, the packet and the nat interplay: test/kernel/cases/icmp-redirect.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, cli, tmp, writeCapture, writeJson, type Pkt } from './helpers.js';
import { parseCaptureBuffer } from '../../src/pcap/reader.js';

afterAll(cleanup);

// Router on a stick: eth0 192.0.2.1/24, 203.0.113.0/24 via 192.0.2.254 on eth0 (and eth1, unused).
const HOST = {
  interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'] }, { name: 'eth1', addresses: ['198.51.100.1/24'] }],
  routes: [{ dst: '203.0.113.0/24', via: '192.0.2.254', dev: 'eth0' }],
  ingress: 'eth0',
  sysctl: {} as Record<string, number>,
};
const RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -p icmp -m icmp --icmp-type 5/1
COMMIT
`;

/** 12 on-link sources 192.0.2.(10+k), each with three UDP flows that go back out eth0 (to
 * 192.0.2.20 ports 7 and 9, to 203.0.113.5), source k's packets shifted by k ms. Per source, HZ 250
 * (ip_rt_redirect_load 5 jiffies = 20 ms; the n-th redirect needs more than 20 ms << (n - 1) since
 * the previous one), in ms: 0 f1 #1 | 10 f2 none (<= 40) | 100 f3 #2 | 150 f1 none (<= 180) |
 * 300 f2 #3 | 400 f3 none (<= 460) | 500 f1 #4 -> 4 redirects per source, 48 in all; a shard that
 * saw only some of a source's flows would send others (f2 alone: #1 at 10 and #2 at 300). */
function traffic(): Pkt[] {
  const pk: Pkt[] = [];
  const flows = [
    { dst: '192.0.2.20', sport: 1000, dport: 7 },
    { dst: '203.0.113.5', sport: 1001, dport: 7 },
    { dst: '192.0.2.20', sport: 1002, dport: 9 },
  ];
  const plan: [number, number][] = [[0, 0], [10, 1], [100, 2], [150, 0], [300, 1], [400, 2], [500, 0]];
  for (const [ms, f] of plan) {
    for (let k = 0; k < 12; k++) {
      pk.push({ on: 'eth0', src: `192.0.2.${10 + k}`, proto: 'udp', payload: 12, ...flows[f], t: (ms + k) / 1000 });
    }
  }
  return pk.sort((a, b) => a.t - b.t);
}

function replay(d: string, sysctl: Record<string, number>, workers: string) {
  writeJson(join(d, 'host.json'), { ...HOST, sysctl });
  const out = join(d, `out.${workers}.pcap`), save = join(d, `save.${workers}`);
  const r = cli(['replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'c.pcapng'), '--host', join(d, 'host.json'),
    '--workers', workers, '--quiet', '--save-counters', save, '--out', out]);
  expect(r.status, r.stderr).toBe(0);
  const { batch: b } = parseCaptureBuffer(new Uint8Array(readFileSync(out)));
  const pkts = Array.from({ length: b.count }, (_, i) => b.data.subarray(b.offset[i], b.offset[i] + b.caplen[i]));
  // redirects: IPv4 (Ethernet) with protocol ICMP and type 5
  const redirects = pkts.filter((f) => f[14 + 9] === 1 && f[14 + 20] === 5);
  return { out: readFileSync(out), save: readFileSync(save, 'utf8'), total: pkts.length, redirects };
}

describe('ICMP redirects', () => {
  it('the per-source limiter spans flows: 1, 2 and 4 workers agree', () => {
    const d = tmp();
    writeFileSync(join(d, 'rules'), RULES);
    writeCapture(join(d, 'c.pcapng'), ['eth0', 'eth1'], traffic());
    const runs = ['1', '2', '4'].map((w) => replay(d, {}, w));
    // 84 forwarded + 48 redirects, the redirect right before the packet it quotes
    expect(runs[0].total).toBe(84 + 48);
    expect(runs[0].redirects.length).toBe(48);
    expect(runs[0].save).toMatch(/\[48:\d+\] -A OUTPUT -p icmp -m icmp --icmp-type 5\/1/);
    for (const r of runs.slice(1)) {
      expect(r.save).toBe(runs[0].save);
      expect(Buffer.compare(r.out, runs[0].out)).toBe(0);
    }
  });

  it('send_redirects is conf.all || conf.<dev>: all = 0 alone keeps them, all and eth0 = 0 stop them', () => {
    const d = tmp();
    writeFileSync(join(d, 'rules'), RULES);
    writeCapture(join(d, 'c.pcapng'), ['eth0', 'eth1'], traffic());
    expect(replay(d, { 'net.ipv4.conf.all.send_redirects': 0 }, '1').redirects.length).toBe(48);
    const off = replay(d, { 'net.ipv4.conf.all.send_redirects': 0, 'net.ipv4.conf.eth0.send_redirects': 0 }, '1');
    expect(off.redirects.length).toBe(0);
    expect(off.total).toBe(84);
  });

  it('which packets qualify (fib_validate_source > 0, shared_media, inet_addr_onlink, loose rp_filter): as measured on the kernel', () => {
    // Measured on this machine's kernel (6.18) with the same addresses, routes and sysctls in network
    // namespaces (tcpreplay in, tcpdump -Q out): with eth0.shared_media 0 the kernel sent redirects to
    // 192.0.2.10 (gw 192.0.2.20) and 192.0.2.12 (gw 192.0.2.254), none to 198.18.0.5 (a gateway-less
    // route through eth0, but on none of eth0's subnets) nor to 192.0.2.11 (its gateway 198.18.0.254 is
    // on none of them); the packet from 198.51.100.200 in and out of eth1 (rp_filter 2: the source's
    // best route leaves by eth0, the second lookup through eth1 finds the connected route) got one,
    // sent by eth0 (the route back) from 192.0.2.1. With eth0.shared_media 1 all five got one.
    const d = tmp();
    writeFileSync(join(d, 'rules'), RULES);
    const u = (src: string, dst: string, id: number, on: string, t: number): Pkt =>
      ({ on, src, dst, proto: 'udp', sport: 4000 + id, dport: 7, payload: 20, id, t });
    writeCapture(join(d, 'c.pcapng'), ['eth0', 'eth1'], [
      u('198.18.0.5', '192.0.2.20', 1, 'eth0', 0), u('192.0.2.10', '192.0.2.20', 2, 'eth0', 1),
      u('192.0.2.11', '203.0.113.5', 3, 'eth0', 2), u('192.0.2.12', '198.51.100.150', 6, 'eth0', 3),
      u('198.51.100.200', '198.51.100.20', 4, 'eth1', 4),
    ]);
    const routes = [{ dst: '198.18.0.0/24', dev: 'eth0' }, { dst: '203.0.113.0/24', via: '198.18.0.254', dev: 'eth0' },
      { dst: '198.51.100.128/25', via: '192.0.2.254', dev: 'eth0' }];
    const run = (sm0: number, rpf1: number) => {
      writeJson(join(d, 'host.json'), { ...HOST, routes, sysctl: { 'net.ipv4.conf.all.shared_media': 0,
        'net.ipv4.conf.eth0.shared_media': sm0, 'net.ipv4.conf.eth1.shared_media': 1, 'net.ipv4.conf.eth1.rp_filter': rpf1 } });
      const out = join(d, `o${sm0}.pcap`);
      const r = cli(['replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'c.pcapng'), '--host', join(d, 'host.json'), '--quiet', '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      const { batch: b } = parseCaptureBuffer(new Uint8Array(readFileSync(out)));
      const ip = (f: Uint8Array, o: number) => f.subarray(14 + o, 14 + o + 4).join('.');
      return Array.from({ length: b.count }, (_, i) => b.data.subarray(b.offset[i], b.offset[i] + b.caplen[i]))
        .filter((f) => f[14 + 9] === 1 && f[14 + 20] === 5).map((f) => [ip(f, 12), ip(f, 16), ip(f, 24)]);
    };
    expect(run(0, 2)).toEqual([
      ['192.0.2.1', '192.0.2.10', '192.0.2.20'], ['192.0.2.1', '192.0.2.12', '192.0.2.254'], ['192.0.2.1', '198.51.100.200', '198.51.100.20'],
    ]);
    expect(run(1, 0)).toEqual([
      ['192.0.2.1', '198.18.0.5', '192.0.2.20'], ['192.0.2.1', '192.0.2.10', '192.0.2.20'], ['192.0.2.1', '192.0.2.11', '198.18.0.254'],
      ['192.0.2.1', '192.0.2.12', '192.0.2.254'], ['192.0.2.1', '198.51.100.200', '198.51.100.20'],
    ]);
  });

  it('the quote fits the route\'s MTU when it is below 576 (icmp_send: room = min(mtu, 576) - 28): as measured', () => {
    // Measured on the kernel: eth0 MTU 400, a 390-byte UDP datagram from 192.0.2.10 to 192.0.2.20
    // forwarded back out of eth0 -> a 400-byte redirect (372 bytes of the datagram quoted), then the
    // datagram (TTL 63).
    const d = tmp();
    writeFileSync(join(d, 'rules'), RULES);
    writeCapture(join(d, 'c.pcapng'), ['eth0'], [{ on: 'eth0', src: '192.0.2.10', dst: '192.0.2.20', proto: 'udp', sport: 4000, dport: 7, payload: 362, id: 9, t: 0 }]);
    writeJson(join(d, 'host.json'), { interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'], mtu: 400 }], routes: [], ingress: 'eth0' });
    const out = join(d, 'o.pcap');
    const r = cli(['replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'c.pcapng'), '--host', join(d, 'host.json'), '--quiet', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const { batch: b } = parseCaptureBuffer(new Uint8Array(readFileSync(out)));
    const f = Array.from({ length: b.count }, (_, i) => b.data.subarray(b.offset[i], b.offset[i] + b.caplen[i]));
    expect(f.map((x) => [x[14 + 9], (x[14 + 2] << 8) | x[14 + 3], x[14 + 8]])).toEqual([[1, 400, 64], [17, 390, 63]]);
    expect(Buffer.from(f[0].subarray(14 + 28, 14 + 400)).equals(Buffer.from(f[1].subarray(14, 14 + 372)))).toBe(true);
  });
});
