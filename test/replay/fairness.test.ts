// DNAT fairness: the incomplete gamma function and the chi-square p-value against values
// computed by hand or from standard tables, the split statistics on a hand-worked example, and
// Service detection on kube-proxy's rules and a hand-written split.
import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { gammaP, gammaQ, chiSquareP, lnGamma, splitStats, fairness, formatFairness, fairnessJson } from '../../src/report/fairness.js';
import { replay } from '../../src/commands/replay.js';
import { cleanup, tmp, writeCapture, type Pkt } from './helpers.js';
import type { HostModel } from '../../src/host/index.js';

afterAll(cleanup);

/** Q(n, x) for integer n by the Poisson sum e^-x * sum_{k<n} x^k / k! (a second, independent way). */
function poissonQ(n: number, x: number): number {
  let term = Math.exp(-x), sum = term;
  for (let k = 1; k < n; k++) { term *= x / k; sum += term; }
  return sum;
}

describe('incomplete gamma and chi-square', () => {
  it('closed forms: Q(1,x) = e^-x, Q(2,x) = e^-x (1+x), Q(1/2,x) = erfc(sqrt x)', () => {
    expect(gammaQ(1, 2.5)).toBeCloseTo(Math.exp(-2.5), 14);          // 0.0820849986...
    expect(gammaQ(2, 3)).toBeCloseTo(4 * Math.exp(-3), 14);          // 0.1991482734...
    expect(gammaP(1, 0.1)).toBeCloseTo(1 - Math.exp(-0.1), 14);
    // chi2 = 1, df = 1: P(|Z| >= 1) = 1 - 0.6826894921370859 (the 68% of one standard deviation)
    expect(chiSquareP(1, 1)).toBeCloseTo(0.3173105078629141, 12);
    expect(gammaQ(3, 0)).toBe(1);
    expect(gammaP(3, 0)).toBe(0);
    // ln Γ: Γ(5) = 24, Γ(1/2) = sqrt(pi), Γ(10) = 362880
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(lnGamma(10)).toBeCloseTo(Math.log(362880), 11);
  });

  it('integer a against the Poisson sum, both branches (x < a+1 series, else continued fraction)', () => {
    for (const [n, x] of [[5, 3.7], [5, 9], [30, 25], [30, 40], [100, 80], [100, 120], [3, 0.01]]) {
      const q = poissonQ(n, x);
      expect(Math.abs(gammaQ(n, x) - q)).toBeLessThan(1e-12 * Math.max(1, q) + 1e-15);
      expect(gammaP(n, x) + gammaQ(n, x)).toBeCloseTo(1, 13);
    }
  });

  it('standard table critical values give their tail probabilities', () => {
    // chi-square tables: 3.841 (df 1, 0.05), 10.828 (df 1, 0.001), 5.991 (df 2, 0.05: -2 ln 0.05),
    // 9.488 (df 4, 0.05), 18.307 (df 10, 0.05), 13.816 (df 2, 0.001: -2 ln 0.001)
    expect(chiSquareP(3.841458820694124, 1)).toBeCloseTo(0.05, 8);
    expect(chiSquareP(10.827566170662733, 1)).toBeCloseTo(0.001, 9);
    expect(chiSquareP(-2 * Math.log(0.05), 2)).toBeCloseTo(0.05, 12);
    expect(chiSquareP(9.487729036781154, 4)).toBeCloseTo(0.05, 8);
    expect(chiSquareP(18.307038053275146, 10)).toBeCloseTo(0.05, 8);
    expect(chiSquareP(-2 * Math.log(0.001), 2)).toBeCloseTo(0.001, 12);
  });
});

describe('split statistics', () => {
  it('hand-worked 30/20/50 against thirds', () => {
    // N = 100, expected 33.333 each: chi2 = (3.333^2 + 13.333^2 + 16.667^2) / 33.333 = 466.667 / 33.333 = 14
    // df 2: p = e^(-14/2) = 0.000911882; normalised loads 90, 60, 150:
    // Jain = 300^2 / (3 * (8100 + 3600 + 22500)) = 90000 / 102600 = 0.877193; max/min = 150 / 60 = 2.5
    const s = splitStats([30, 20, 50], [1 / 3, 1 / 3, 1 / 3]);
    expect(s.chi2).toBeCloseTo(14, 10);
    expect(s.df).toBe(2);
    expect(s.p).toBeCloseTo(Math.exp(-7), 12);
    expect(s.jain).toBeCloseTo(90000 / 102600, 12);
    expect(s.maxMin).toBeCloseTo(2.5, 12);
  });

  it('unequal promises: a split exactly as promised is perfectly fair', () => {
    // promised 1/2, 1/4, 1/4 of 400: 200, 100, 100 observed -> chi2 0, p 1, loads all 400
    const s = splitStats([200, 100, 100], [0.5, 0.25, 0.25]);
    expect(s.chi2).toBe(0);
    expect(s.p).toBe(1);
    expect(s.jain).toBeCloseTo(1, 14);
    expect(s.maxMin).toBe(1);
  });

  it('an endpoint that got nothing: max/min infinite', () => {
    // 10, 0 against halves: chi2 = (5^2 + 5^2) / 5 = 10, df 1; loads 20, 0: Jain = 400 / (2 * 400) = 0.5
    const s = splitStats([10, 0], [0.5, 0.5]);
    expect(s.chi2).toBeCloseTo(10, 12);
    expect(s.jain).toBeCloseTo(0.5, 14);
    expect(s.maxMin).toBe(Infinity);
  });
});

const node: HostModel = {
  interfaces: [{ name: 'eth0', addresses: ['192.0.2.10/24'] }],
  routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }, { dst: '203.0.113.0/25', via: '192.0.2.20', dev: 'eth0' }],
  ingress: 'eth0',
  sysctl: {},
};

describe('Services in a ruleset', () => {
  it('kube-proxy KUBE-SVC with three endpoints', async () => {
    const d = tmp();
    const kp = new URL('../../pcaps/rulesets/kube-proxy-3-endpoints.rules', import.meta.url).pathname;
    const pk: Pkt[] = Array.from({ length: 3000 }, (_, i) => ({
      on: 'eth0', src: `198.51.100.${1 + (i % 100)}`, dst: '203.0.113.162', sport: 1024 + Math.floor(i / 100), dport: 80, flags: 'S', seq: 1, t: i * 1e-3,
    }));
    writeCapture(join(d, 'in.pcapng'), ['eth0'], pk);
    writeFileSync(join(d, 'host.json'), JSON.stringify(node));
    const r = await replay({ rules: kp, pcap: join(d, 'in.pcapng'), host: join(d, 'host.json'), seed: 3 });
    const k = r.engine.counters();
    const list = fairness(r.compiled, k);
    expect(list).toHaveLength(1);
    const s = list[0];
    expect(s.chain).toMatch(/^KUBE-SVC-/);
    expect(s.mode).toBe('random');
    expect(s.endpoints.map((e) => e.destination)).toEqual(['203.0.113.10:80', '203.0.113.11:80', '203.0.113.8:80']);
    // promised: kube-proxy's 0.33333333349 and 0.50000000000 as the kernel compares them
    // (lround(p * 2^31) / 2^31): 715827883 / 2^31, then (1 - that) / 2 twice
    const p1 = 715827883 / 2 ** 31;
    expect(s.endpoints[0].promised).toBeCloseTo(p1, 15);
    expect(s.endpoints[1].promised).toBeCloseTo((1 - p1) / 2, 15);
    expect(s.endpoints[2].promised).toBeCloseTo((1 - p1) / 2, 15);
    // connections per endpoint: each equals the DNAT rule's counter in that KUBE-SEP chain (a
    // second path to the same number), and all 3000 SYNs are new connections
    for (const e of s.endpoints) {
      const sep = r.compiled.chains.find((c) => c.table === 'nat' && c.name === e.chain)!;
      const dn = sep.rules.find((i) => r.compiled.rules[i].model.target?.kind === 'module')!;
      const dnat = sep.rules.filter((i) => { const t = r.compiled.rules[i].model.target; return t?.kind === 'module' && t.module === 'DNAT'; });
      expect(dn).toBeDefined();
      expect(e.connections).toBe(Number(k.packets[dnat[0]]));
    }
    expect(s.connections).toBe(3000);
    // the statistic recomputed from the endpoint counts by the formula (independent of splitStats)
    const obs = s.endpoints.map((e) => e.connections);
    const exp = s.endpoints.map((e) => e.promised * 3000);
    const chi2 = obs.reduce((a, o, i) => a + (o - exp[i]) ** 2 / exp[i], 0);
    expect(s.chi2).toBeCloseTo(chi2, 10);
    expect(s.df).toBe(2);
    expect(s.p).toBeCloseTo(Math.exp(-chi2 / 2), 12); // df 2: Q(1, chi2/2) = e^(-chi2/2)
    expect(s.flagged).toBe(s.p < 0.001);
    const text = formatFairness(list);
    expect(text).toContain(s.chain);
    expect(text).toContain('203.0.113.10:80');
    expect(JSON.parse(JSON.stringify(fairnessJson(list)))[0].endpoints).toHaveLength(3);
  }, 60000);

  it('hand-written split: nth every 2 then a catch-all, both DNAT directly; sticky recent rules apart', async () => {
    const d = tmp();
    // 200 new connections: rule 1 (recent --rcheck, no client is in the list: 0), rule 2 nth every 2
    // takes connections 0, 2, 4, ... (100), rule 3 takes the other 100. Promised 1/2 and 1/2 -> fair.
    // A third chain SPLIT2 sends 1/4 by nth every 4 and 3/4 to the catch-all, but its traffic (80
    // connections to port 81) is split 20/60 -> fair too; a chain with no statistic is no Service.
    const rules = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:SPLIT - [0:0]
:SPLIT2 - [0:0]
:PLAIN - [0:0]
-A PREROUTING -d 203.0.113.162/32 -p tcp -m tcp --dport 80 -j SPLIT
-A PREROUTING -d 203.0.113.162/32 -p tcp -m tcp --dport 81 -j SPLIT2
-A PREROUTING -d 203.0.113.162/32 -p tcp -m tcp --dport 82 -j PLAIN
-A SPLIT -m recent --rcheck --seconds 60 --name sticky --mask 255.255.255.255 --rsource -p tcp -j DNAT --to-destination 203.0.113.10:80
-A SPLIT -m statistic --mode nth --every 2 --packet 0 -p tcp -j DNAT --to-destination 203.0.113.10:80
-A SPLIT -p tcp -j DNAT --to-destination 203.0.113.11:80
-A SPLIT2 -m statistic --mode nth --every 4 --packet 0 -p tcp -j DNAT --to-destination 203.0.113.10:81
-A SPLIT2 -p tcp -j DNAT --to-destination 203.0.113.11:81
-A PLAIN -p tcp -j DNAT --to-destination 203.0.113.11:82
COMMIT
`;
    writeFileSync(join(d, 'rules'), rules);
    const pk: Pkt[] = [];
    for (let i = 0; i < 200; i++) pk.push({ on: 'eth0', src: `198.51.100.${1 + (i % 50)}`, dst: '203.0.113.162', sport: 2000 + i, dport: 80, flags: 'S', seq: 1, t: pk.length * 1e-3 });
    for (let i = 0; i < 80; i++) pk.push({ on: 'eth0', src: `198.51.100.${1 + (i % 50)}`, dst: '203.0.113.162', sport: 3000 + i, dport: 81, flags: 'S', seq: 1, t: pk.length * 1e-3 });
    writeCapture(join(d, 'in.pcapng'), ['eth0'], pk);
    writeFileSync(join(d, 'host.json'), JSON.stringify(node));
    const r = await replay({ rules: join(d, 'rules'), pcap: join(d, 'in.pcapng'), host: join(d, 'host.json') });
    const list = fairness(r.compiled, r.engine.counters());
    expect(list.map((s) => s.chain).sort()).toEqual(['SPLIT', 'SPLIT2']);
    const sp = list.find((s) => s.chain === 'SPLIT')!;
    expect(sp.mode).toBe('nth');
    expect(sp.endpoints.map((e) => [e.destination, e.connections, e.sticky, e.promised])).toEqual([
      ['203.0.113.10:80', 100, 0, 0.5], ['203.0.113.11:80', 100, 0, 0.5]]);
    expect(sp.chi2).toBe(0);
    expect(sp.p).toBe(1);
    const s2 = list.find((s) => s.chain === 'SPLIT2')!;
    expect(s2.endpoints.map((e) => [e.connections, e.promised])).toEqual([[20, 0.25], [60, 0.75]]);
    expect(s2.jain).toBeCloseTo(1, 14);
  }, 60000);
});
