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
});
