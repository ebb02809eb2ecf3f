import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parseNatTable, findServices, Walker, Rng, generateTraffic, generateMatchedTraffic } from '../../src/k8s/traffic.js';
import { replay } from '../../src/commands/replay.js';
import { RES_FORWARDED, RES_DROP_RULE, RES_DROP_POLICY } from '../../src/layout.js';
import { buildCluster, readManifestFile, ipToInt } from '../../src/k8s/manifests.js';
import { generateRules } from '../../src/k8s/proxier.js';
import { parseRuleset } from '../../src/rules/parse.js';
import { printRuleset } from '../../src/rules/print.js';
import { parseCaptureBuffer } from '../../src/pcap/reader.js';
import { verifyIPv4 } from '../../src/pcap/checksum.js';

const fx = (f: string): string => new URL(`./fixtures/${f}`, import.meta.url).pathname;
const service3Rules = readFileSync(new URL('../../pcaps/k8s/service3/rules.txt', import.meta.url), 'utf8');
const featuresRules = generateRules(buildCluster(readManifestFile(fx('features.yaml')), { hostname: 'node-0' }), { clusterCIDR: '198.18.0.0/16', nodeIPs: ['192.0.2.10'] }, 'node-0').text;

describe('finding Services in a ruleset', () => {
  // From the expected kube-proxy dump (overall-multiple-services.expected), by reading its nat
  // KUBE-SERVICES and KUBE-NODEPORTS rules: 5 cluster IPs (svc6 has none: no endpoints), 2 external
  // IPs, 2 load-balancer IPs, 3 NodePorts (on the one node IP given).
  const expected = [
    'cluster IP 172.30.0.41:80/tcp', 'cluster IP 172.30.0.42:80/tcp', 'external IP 192.168.99.22:80/tcp', 'loadbalancer IP 1.2.3.4:80/tcp',
    'cluster IP 172.30.0.43:80/tcp', 'cluster IP 172.30.0.44:80/tcp', 'external IP 192.168.99.33:80/tcp', 'cluster IP 172.30.0.45:80/tcp',
    'loadbalancer IP 5.6.7.8:80/tcp', 'nodeport 192.168.0.2:3001/tcp', 'nodeport 192.168.0.2:3003/tcp', 'nodeport 192.168.0.2:3002/tcp',
  ].sort();
  const key = (t: { kind: string; ip: string; port: number; proto: string }): string => `${t.kind} ${t.ip}:${t.port}/${t.proto}`;
  const text = readFileSync(fx('overall-multiple-services.expected'), 'utf8');
  it('in kube-proxy restore input', () => {
    expect(findServices(parseNatTable(text, 'x'), ['192.168.0.2']).map(key).sort()).toEqual(expected);
  });
  it('in iptables-save form (/32, -p first, 11-decimal probabilities)', () => {
    // The printer's output equals iptables-legacy-save's (checked in kernel.test.ts).
    const saved = printRuleset(parseRuleset(text, 'x'), { counters: false });
    expect(saved).toContain('-d 172.30.0.41/32 -p tcp');
    expect(findServices(parseNatTable(saved, 'x'), ['192.168.0.2']).map(key).sort()).toEqual(expected);
  });
});

describe('walking to an endpoint', () => {
  const nat = parseNatTable(featuresRules, 'features');
  const walker = new Walker(nat, new Rng(3));
  const chainOf = (ip: string, port: number): string => findServices(nat, ['192.0.2.10']).find((t) => t.ip === ip && t.port === port)!.chain;
  const walk = (client: string, ip: string, port: number, proto = 'tcp', now = 0) => walker.walk(chainOf(ip, port), ipToInt(client), ipToInt(ip), port, proto, ip === '192.0.2.10', now);
  it('loadBalancerSourceRanges: allowed source reaches the endpoint, masqueraded (externalTrafficPolicy Cluster)', () => {
    expect(walk('198.51.100.7', '203.0.113.100', 443)).toEqual({ endpoint: { ip: '198.18.3.10', port: 8443 }, masquerade: true });
    expect(walk('203.0.113.7', '203.0.113.100', 443)).toEqual({ endpoint: null, masquerade: false });
  });
  it('NodePort with externalTrafficPolicy Local: only the local endpoint, source kept', () => {
    for (let i = 0; i < 20; i++) expect(walk('203.0.113.9', '192.0.2.10', 30080)).toEqual({ endpoint: { ip: '198.18.2.10', port: 8080 }, masquerade: false });
    expect(walk('203.0.113.9', '192.0.2.10', 30053, 'udp')).toEqual({ endpoint: { ip: '198.18.2.10', port: 5353 }, masquerade: false });
  });
  it('externalTrafficPolicy Local without local endpoints: nowhere', () => {
    expect(walk('203.0.113.9', '203.0.113.101', 80).endpoint).toBeNull();
    expect(walk('203.0.113.9', '192.0.2.10', 30081).endpoint).toBeNull();
  });
  it('internalTrafficPolicy Local: the local endpoint, masqueraded from outside the cluster CIDR', () => {
    expect(walk('203.0.113.9', '198.19.0.6', 80)).toEqual({ endpoint: { ip: '198.18.6.10', port: 8080 }, masquerade: true });
    expect(walk('198.18.200.1', '198.19.0.6', 80)).toEqual({ endpoint: { ip: '198.18.6.10', port: 8080 }, masquerade: false });
  });
  it('ClientIP affinity pins a client to its first endpoint until the timeout (600 s)', () => {
    const picks = new Map<string, Set<string>>();
    for (let c = 1; c <= 60; c++) {
      for (let k = 0; k < 5; k++) {
        const r = walk(`198.51.100.${c}`, '198.19.0.1', 80, 'tcp', k * 100);
        const s = picks.get(`${c}`) ?? new Set();
        s.add(r.endpoint!.ip);
        picks.set(`${c}`, s);
      }
    }
    for (const s of picks.values()) expect(s.size).toBe(1);
    // 60 clients over 3 endpoints: all three are used.
    expect(new Set([...picks.values()].map((s) => [...s][0])).size).toBe(3);
    // After 600 s the affinity has expired for the walk (rcheck --seconds 600).
    const first = walk('192.0.2.77', '198.19.0.1', 80, 'tcp', 0).endpoint!.ip;
    let moved = false;
    for (let k = 0; k < 30 && !moved; k++) moved = walk('192.0.2.77', '198.19.0.1', 80, 'tcp', 1000 + k * 1000).endpoint!.ip !== first;
    expect(moved).toBe(true);
  });
  it('the statistic cascade gives each of 3 endpoints 1/3 (kernel: P(rule i) = 1/(n-i) on 31 bits)', () => {
    const n3 = parseNatTable(service3Rules, 'service3');
    const w = new Walker(n3, new Rng(11));
    const counts = new Map<string, number>();
    const N = 30000;
    for (let i = 0; i < N; i++) {
      const r = w.walk('KUBE-SVC-2CMXP7HKUVJN7L6M', ipToInt('203.0.113.1'), ipToInt('198.19.14.162'), 80, 'tcp', false, 0);
      counts.set(r.endpoint!.ip, (counts.get(r.endpoint!.ip) ?? 0) + 1);
    }
    // Binomial(30000, 1/3): sd = sqrt(30000 * 1/3 * 2/3) = 81.6; allow 5 sd.
    expect([...counts.keys()].sort()).toEqual(['198.18.32.2', '198.18.32.3', '198.18.32.4']);
    for (const c of counts.values()) expect(Math.abs(c - N / 3)).toBeLessThan(410);
  });
});

describe('the capture', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nfr-k8s-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const gen = (name: string, o: Parameters<typeof generateTraffic>[3], rules = service3Rules): Uint8Array => {
    const p = join(dir, name);
    generateTraffic(rules, 'rules', p, o);
    return readFileSync(p);
  };
  it('TCP connections with replies: addresses, ports and sequence numbers as a TCP stack writes them', () => {
    const cap = parseCaptureBuffer(gen('a.pcap', { connections: 50, clients: 5, replies: true, seed: 9 }));
    expect(cap.error).toBeNull();
    const b = cap.batch;
    expect(b.count).toBe(50 * 8); // SYN, SYN-ACK, ACK, data, data, FIN, FIN, ACK
    const pkts = [];
    for (let i = 0; i < b.count; i++) {
      const f = b.data.subarray(b.offset[i], b.offset[i] + b.caplen[i]);
      const ip = f.subarray(14);
      const ck = verifyIPv4(ip);
      expect(ck.ip && ck.l4).toBe(true);
      const ihl = (ip[0] & 15) * 4;
      const dv = new DataView(ip.buffer, ip.byteOffset);
      const a = (o: number): string => `${ip[o]}.${ip[o + 1]}.${ip[o + 2]}.${ip[o + 3]}`;
      pkts.push({ src: a(12), dst: a(16), sport: dv.getUint16(ihl), dport: dv.getUint16(ihl + 2), seq: dv.getUint32(ihl + 4), ack: dv.getUint32(ihl + 8), flags: ip[ihl + 13], len: dv.getUint16(2) - ihl - (ip[ihl + 12] >> 4) * 4, ts: b.tsSec[i] * 1e9 + b.tsNsec[i] });
    }
    for (let i = 1; i < pkts.length; i++) expect(pkts[i].ts).toBeGreaterThan(pkts[i - 1].ts);
    const ports = new Set<number>();
    for (let c = 0; c < 50; c++) {
      const [syn, sa, ack, d1, d2, f1, f2, last] = pkts.slice(c * 8, c * 8 + 8);
      // Requests: client -> ClusterIP:80; replies: endpoint:80 -> node 192.0.2.10 (masqueraded:
      // the client is outside the cluster CIDR 198.18.0.0/16), to the client's port.
      for (const p of [syn, ack, d1, f1, last]) expect([p.dst, p.dport, p.sport]).toEqual(['198.19.14.162', 80, syn.sport]);
      for (const p of [sa, d2, f2]) {
        expect(['198.18.32.2', '198.18.32.3', '198.18.32.4']).toContain(p.src);
        expect([p.src, p.sport, p.dst, p.dport]).toEqual([sa.src, 80, '192.0.2.10', syn.sport]);
      }
      expect(syn.src).toMatch(/^203\.0\.113\.[1-5]$/);
      ports.add(syn.sport);
      // Flags: S=0x02, SA=0x12, A=0x10, PA=0x18, FA=0x11.
      expect([syn, sa, ack, d1, d2, f1, f2, last].map((p) => p.flags)).toEqual([0x02, 0x12, 0x10, 0x18, 0x18, 0x11, 0x11, 0x10]);
      // Sequence space (RFC 793): SYN and FIN take one number, data its length (40 out, 80 back).
      const c0 = syn.seq;
      const s0 = sa.seq;
      const add = (x: number, n: number): number => (x + n) >>> 0;
      expect(sa.ack).toBe(add(c0, 1));
      expect([ack.seq, ack.ack]).toEqual([add(c0, 1), add(s0, 1)]);
      expect([d1.seq, d1.ack, d1.len]).toEqual([add(c0, 1), add(s0, 1), 40]);
      expect([d2.seq, d2.ack, d2.len]).toEqual([add(s0, 1), add(c0, 41), 80]);
      expect([f1.seq, f1.ack]).toEqual([add(c0, 41), add(s0, 81)]);
      expect([f2.seq, f2.ack]).toEqual([add(s0, 81), add(c0, 42)]);
      expect([last.seq, last.ack]).toEqual([add(c0, 42), add(s0, 82)]);
    }
    expect(ports.size).toBe(50); // client ports unique across the capture
  });
  it('is the same byte for byte for the same seed, different for another', () => {
    const o = { connections: 200, clients: 20, replies: true, seed: 4, packetsPerConnection: 2 };
    const h = (u: Uint8Array): string => createHash('sha256').update(u).digest('hex');
    expect(h(gen('b.pcap', o))).toBe(h(gen('c.pcap', o)));
    expect(h(gen('d.pcap', { ...o, seed: 5 }))).not.toBe(h(gen('b.pcap', o)));
  });
  it('UDP exchanges and NodePorts (features ruleset, without replies)', () => {
    const cap = parseCaptureBuffer(gen('e.pcap', { connections: 400, clients: 30, seed: 2, packetsPerConnection: 1 }, featuresRules));
    expect(cap.error).toBeNull();
    let udp = 0;
    let toNode = 0;
    const b = cap.batch;
    for (let i = 0; i < b.count; i++) {
      const ip = b.data.subarray(b.offset[i] + 14, b.offset[i] + b.caplen[i]);
      if (ip[9] === 17) udp++;
      if (ip[16] === 192 && ip[17] === 0 && ip[18] === 2 && ip[19] === 10) toNode++;
      expect(ip[12]).not.toBe(198); // no replies: every packet comes from a client
    }
    expect(udp).toBeGreaterThan(0);
    expect(toNode).toBeGreaterThan(0);
  });
  it('--syn-only: one packet per connection, each a new flow', () => {
    const cap = parseCaptureBuffer(gen('syn.pcap', { connections: 300, clients: 10, seed: 3, synOnly: true }, featuresRules));
    const b = cap.batch;
    expect(b.count).toBe(300);
    const flows = new Set<string>();
    for (let i = 0; i < b.count; i++) {
      const ip = b.data.subarray(b.offset[i] + 14, b.offset[i] + b.caplen[i]);
      if (ip[9] === 6) expect(ip[33]).toBe(0x02); // TCP: SYN only
      flows.add(Array.from(ip.subarray(12, 24)).join('.'));
    }
    expect(flows.size).toBe(300);
  });
  it('--concurrency interleaves connections, each keeping its own packet order', () => {
    const cap = parseCaptureBuffer(gen('w.pcap', { connections: 40, clients: 8, replies: true, seed: 6, concurrency: 8 }));
    const b = cap.batch;
    expect(b.count).toBe(40 * 8);
    const flows = new Map<number, number[]>(); // client port -> TCP flags in capture order
    let switches = 0;
    let prev = -1;
    for (let i = 0; i < b.count; i++) {
      const ip = b.data.subarray(b.offset[i] + 14, b.offset[i] + b.caplen[i]);
      const dv = new DataView(ip.buffer, ip.byteOffset);
      const fromClient = ip[12] === 203;
      const cport = fromClient ? dv.getUint16(20) : dv.getUint16(22);
      if (cport !== prev) switches++;
      prev = cport;
      const l = flows.get(cport) ?? [];
      l.push(ip[33]);
      flows.set(cport, l);
    }
    expect(flows.size).toBe(40);
    for (const f of flows.values()) expect(f).toEqual([0x02, 0x12, 0x10, 0x18, 0x18, 0x11, 0x11, 0x10]);
    expect(switches).toBeGreaterThan(100); // interleaved, not one connection after the other
  });
  it('the bundled service3 capture regenerates byte for byte (gen.sh command line)', async () => {
    const bundled = readFileSync(new URL('../../pcaps/k8s/service3/service3.pcap', import.meta.url));
    expect(bundled.length).toBeLessThan(1 << 20);
    const p = join(dir, 's3.pcap');
    const host = new URL('../../pcaps/k8s/service3/host.json', import.meta.url).pathname;
    const rulesPath = new URL('../../pcaps/k8s/service3/rules.txt', import.meta.url).pathname;
    await generateMatchedTraffic(service3Rules, rulesPath, p, { connections: 1400, clients: 50, replies: true, seed: 1 }, { host, seed: 1 });
    expect(Buffer.compare(readFileSync(p), bundled)).toBe(0);
  });
});

describe('--match-replay: replies that nfreplay replay un-NATs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nfr-k8s-m-'));
  const host = new URL('../../pcaps/k8s/service3/host.json', import.meta.url).pathname;
  const featuresPath = join(dir, 'features.rules');
  writeFileSync(featuresPath, featuresRules);
  it.each([
    ['service3, seed 5, 4 in flight', new URL('../../pcaps/k8s/service3/rules.txt', import.meta.url).pathname, 5, 4],
    ['features (affinity, NodePort Local, UDP, LB source ranges), seed 2', featuresPath, 2, 1],
  ])('%s: every packet of a connection that has an endpoint is forwarded', async (_n, rules, seed, concurrency) => {
    const out = join(dir, `m-${seed}.pcap`);
    const s = await generateMatchedTraffic(readFileSync(rules, 'utf8'), rules, out, { connections: 300, clients: 40, replies: true, seed, concurrency, packetsPerConnection: 2 }, { host, seed: 77 });
    expect(s.overridden).toBe(s.connections - s.noEndpoint);
    const r = await replay({ rules, pcap: out, host, seed: 77 });
    const st = r.engine.stats();
    // Requests of connections without an endpoint (LB source ranges, Local policy without local
    // endpoints) are dropped by the filter rules: one SYN each. Everything else is forwarded:
    // no reply is INVALID or taken for a new connection.
    expect(st.res[RES_FORWARDED]).toBe(BigInt(s.packets - s.noEndpoint));
    expect(st.res[RES_DROP_RULE] + st.res[RES_DROP_POLICY]).toBe(BigInt(s.noEndpoint));
  });
  it('without it, some replies of a 3-endpoint Service miss (the replay picked another endpoint)', async () => {
    const rules = new URL('../../pcaps/k8s/service3/rules.txt', import.meta.url).pathname;
    const out = join(dir, 'plain.pcap');
    const s = generateTraffic(service3Rules, rules, out, { connections: 300, clients: 40, replies: true, seed: 5 });
    const r = await replay({ rules, pcap: out, host, seed: 77 });
    expect(r.engine.stats().res[RES_FORWARDED]).toBeLessThan(BigInt(s.packets));
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('bad rulesets', () => {
  it.each([
    ['*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 198.19.0.300 -p tcp --dport 80 -j X\nCOMMIT\n', "r.rules:3:21: bad address '198.19.0.300'"],
    ['*nat\n:KUBE-SERVICES - [0:0]\n  -A KUBE-SERVICES -p tcp --dport\nCOMMIT\n', "r.rules:3:27: option '--dport' needs a value"],
    ['*nat\n-I KUBE-SERVICES 1 -j X\nCOMMIT\n', "r.rules:2:1: expected '-A CHAIN ...', got '-I'"],
    ['*nat\n-A KUBE-SERVICES -m comment --comment "open\nCOMMIT\n', /^r\.rules:2:\d+: /],
  ])('%#', (text, msg) => {
    expect(() => parseNatTable(text, 'r.rules')).toThrow(msg);
  });
  it('a ruleset without Services is an error, not an empty capture', () => {
    expect(() => generateTraffic('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n', 'f.rules', '/nonexistent/x.pcap', { connections: 1 })).toThrow('f.rules: no Services found');
  });
});
