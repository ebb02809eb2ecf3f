// The seed's kube-proxy Service with three endpoints (pcaps/rulesets/kube-proxy-3-endpoints*.rules):
// ClusterIP 203.0.113.162:80, endpoints 203.0.113.{10,11,8}:80 (reached via another node), clients
// 198.51.100.0/24 outside the cluster CIDR. One SYN per connection (each a new conntrack entry).
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { runScenario, cleanup, type Pkt } from './helpers.js';
import { parseCaptureBuffer } from '../../src/pcap/reader.js';
import type { HostModel } from '../../src/host/index.js';

afterAll(cleanup);
const R = (n: string) => new URL(`../../pcaps/rulesets/${n}`, import.meta.url).pathname;
const node: HostModel = {
  interfaces: [{ name: 'eth0', addresses: ['192.0.2.10/24'] }],
  routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }, { dst: '203.0.113.0/25', via: '192.0.2.20', dev: 'eth0' }],
  ingress: 'eth0',
  sysctl: {},
};
const VIP = '203.0.113.162';
const EPS = ['203.0.113.10:80', '203.0.113.11:80', '203.0.113.8:80'];

function syns(n: number, clients: number): Pkt[] {
  return Array.from({ length: n }, (_, i) => ({
    on: 'eth0', src: `198.51.100.${1 + (i % clients)}`, dst: VIP, sport: 1024 + Math.floor(i / clients), dport: 80, flags: 'S', seq: 1, t: i * 1e-4,
  }));
}
function dnatSplit(r: Awaited<ReturnType<typeof runScenario>>): number[] {
  // the DNAT rule is rule 2 of each KUBE-SEP chain; order the chains by their endpoint
  const k = r.engine.counters();
  return EPS.map((ep) => {
    const ri = r.compiled.rules.find((x) => x.model.target?.kind === 'module' && x.model.target.module === 'DNAT' && r.api.printRule(x.model).includes(`--to-destination ${ep}`))!;
    return Number(k.packets[ri.index]);
  });
}
/** destination of each forwarded SYN, by client */
function destinations(path: string): Map<string, Set<string>> {
  const b = parseCaptureBuffer(new Uint8Array(readFileSync(path))).batch;
  const m = new Map<string, Set<string>>();
  for (let i = 0; i < b.count; i++) {
    const f = b.data.subarray(b.offset[i] + 14);
    // the source was masqueraded; the client is recovered from the capture order instead
    const dst = `${f[16]}.${f[17]}.${f[18]}.${f[19]}`;
    const key = String(i);
    m.set(key, new Set([dst]));
  }
  return m;
}

describe('three-endpoint Service', () => {
  it('30,000 connections: each endpoint within 2% of 1/3, reproducible for a seed', async () => {
    const pk = syns(30000, 200);
    const a = await runScenario(R('kube-proxy-3-endpoints.rules'), node, pk, { seed: 42 });
    const split = dnatSplit(a);
    expect(split.reduce((x, y) => x + y, 0)).toBe(30000);
    for (const n of split) expect(Math.abs(n / 30000 - 1 / 3)).toBeLessThan(0.02);
    const b = await runScenario(R('kube-proxy-3-endpoints.rules'), node, pk, { seed: 42 });
    expect(dnatSplit(b)).toEqual(split);
    expect(readFileSync(b.out).equals(readFileSync(a.out))).toBe(true);
    const c = await runScenario(R('kube-proxy-3-endpoints.rules'), node, pk, { seed: 43 });
    expect(dnatSplit(c)).not.toEqual(split);
    // --linear gives the same answers as the decision trees
    const d = await runScenario(R('kube-proxy-3-endpoints.rules'), node, pk, { seed: 42, linear: true });
    expect(dnatSplit(d)).toEqual(split);
    expect(readFileSync(d.out).equals(readFileSync(a.out))).toBe(true);
    expect(d.engine.counters()).toEqual(a.engine.counters());
  }, 60000);

  it('session affinity: every connection of one client goes to one endpoint', async () => {
    const clients = 60;
    const pk = syns(clients * 10, clients);
    const r = await runScenario(R('kube-proxy-3-endpoints-affinity.rules'), node, pk, { seed: 7 });
    const dst = destinations(r.out);
    const perClient = new Map<number, Set<string>>();
    // forwarded packets keep capture order and every SYN is forwarded, so out packet i is SYN i
    expect(dst.size).toBe(pk.length);
    for (let i = 0; i < pk.length; i++) {
      const c = i % clients;
      if (!perClient.has(c)) perClient.set(c, new Set());
      for (const d of dst.get(String(i))!) perClient.get(c)!.add(d);
    }
    for (const s of perClient.values()) expect(s.size).toBe(1);
    // and the clients are spread over the endpoints (60 clients, 3 endpoints)
    const used = new Set([...perClient.values()].map((s) => [...s][0]));
    expect(used.size).toBe(3);
    // first connections walk the statistic rules; later ones are pinned by recent --rcheck
    const split = dnatSplit(r);
    expect(split.reduce((x, y) => x + y, 0)).toBe(pk.length);
  }, 60000);
});
