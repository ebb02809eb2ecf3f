// The pool's promise: 1, 2, 4 and 8 workers print byte-identical reports and write byte-identical
// --save-counters, --conntrack, --out and --json files. `--workers 1` is the single-worker engine
// (src/replay/engine.ts), the others the pool, so this also checks the merge against an
// independent path. The captures are built to make flows depend on each other across shards:
// DNAT and SNAT with replies captured after NAT (the reply's 5-tuple hashes elsewhere), SNAT port
// clashes (several clients with the same source port to one backend, all SNATed to one address),
// nf_nat_bysource reuse (one client port to two servers through MASQUERADE), ICMP echo through
// SNAT, a UDP DNAT answered by an ICMP port unreachable (RELATED), and session affinity (recent,
// which takes the sequential path).
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, cli, rng, tmp, writeCapture, writePcap, writeJson, type Pkt, ROUTER } from './helpers.js';
import { buildIPv4, icmpQuote, fragmentIPv4, wrapL2 } from '../../src/pcap/craft.js';
import { parsePcapng } from './drops-helpers.js';
import type { HostModel } from '../../src/host/index.js';

afterAll(cleanup);

const router = ROUTER;

const NAT_RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 198.51.100.1/32 -p tcp -m tcp --dport 80 -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 192.0.2.1:80
-A PREROUTING -d 198.51.100.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 192.0.2.2:80
-A PREROUTING -d 198.51.100.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 192.0.2.3:53
-A POSTROUTING -o eth0 -j SNAT --to-source 192.0.2.254
-A POSTROUTING -s 192.0.2.0/24 -o eth1 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -d 192.0.2.1/32 -p tcp -m tcp --dport 80 -j ACCEPT
-A FORWARD -d 192.0.2.2/32 -p tcp -m tcp --dport 80 -j ACCEPT
-A FORWARD -d 192.0.2.3/32 -p udp -m udp --dport 53 -j ACCEPT
-A FORWARD -s 192.0.2.0/24 -o eth1 -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 23 -j DROP
COMMIT
`;

/** Outside clients to the port forward (DNAT to one of two servers, SNAT to 192.0.2.254). Source
 * ports come from a small set so several clients use the same port towards the same server: SNAT
 * to one address must move all but the first to another port (a clash). Each connection's SYN-ACK
 * comes back from the server to 192.0.2.254 at the client's port (right when the port was kept).
 * Inside hosts go out through MASQUERADE with replies; one inside port talks to two servers. */
function natTraffic(conns: number): Pkt[] {
  const r = rng(42);
  const pk: Pkt[] = [];
  let t = 0;
  const tick = () => (t += 0.0005);
  for (let i = 0; i < conns; i++) {
    const cl = `203.0.113.${1 + Math.floor(r() * 60)}`;
    const sport = 30000 + Math.floor(r() * 4);
    // the server this connection is DNATed to is decided by the engine; send the reply from both:
    // one matches the connection (ESTABLISHED reply), the other is a stray NEW-less SYN-ACK
    pk.push({ on: 'eth1', src: cl, dst: '198.51.100.1', sport, dport: 80, flags: 'S', seq: 1000, t: tick() });
    const srv = r() < 0.5 ? '192.0.2.1' : '192.0.2.2';
    pk.push({ on: 'eth0', src: srv, dst: '192.0.2.254', sport: 80, dport: sport, flags: 'SA', seq: 5000, ack: 1001, t: tick() });
    pk.push({ on: 'eth1', src: cl, dst: '198.51.100.1', sport, dport: 80, flags: 'A', seq: 1001, ack: 5001, t: tick() });
    if (i % 5 === 0) {
      const inside = `192.0.2.${10 + (i % 20)}`;
      const ip = 40000 + (i % 7);
      for (const far of ['203.0.113.200', '203.0.113.201']) {
        pk.push({ on: 'eth0', src: inside, dst: far, sport: ip, dport: 443, flags: 'S', seq: 1, t: tick() });
        pk.push({ on: 'eth1', src: far, dst: '198.51.100.1', sport: 443, dport: ip, flags: 'SA', seq: 9, ack: 2, t: tick() });
      }
      pk.push({ on: 'eth0', src: inside, dst: '203.0.113.202', proto: 'icmp', icmpType: 8, icmpId: 77 + (i % 3), icmpSeq: i, t: tick() });
      pk.push({ on: 'eth1', src: '203.0.113.202', dst: '198.51.100.1', proto: 'icmp', icmpType: 0, icmpId: 77 + (i % 3), icmpSeq: i, t: tick() });
    }
    if (i % 11 === 0) {
      // UDP to the DNATed DNS server; it answers with a port unreachable quoting what it received
      const q = { src: cl, dst: '198.51.100.1', proto: 'udp' as const, sport: 5353 + (i % 3), dport: 53, payload: 12 };
      pk.push({ on: 'eth1', ...q, t: tick() });
      const seen = buildIPv4({ ...q, src: '192.0.2.254', dst: '192.0.2.3', ttl: 63 });
      pk.push({ on: 'eth0', src: '192.0.2.3', dst: '192.0.2.254', proto: 'icmp', icmpType: 3, icmpCode: 3, inner: icmpQuote(seen), t: tick() });
    }
    if (i % 13 === 0) pk.push({ on: 'eth1', src: cl, dst: '192.0.2.9', sport: 1234, dport: 23, flags: 'S', t: tick() });
  }
  return pk;
}

/** pcapng (each packet on its interface), or with `classic` a classic pcap (every packet on the
 * host's ingress); either way the workers frame the file's raw bytes themselves (src/replay/feed.ts
 * PcapChunks / PcapngChunks). */
/** --drops in both formats, alternating by call: pcapng (comments), classic pcap + .jsonl. */
let dropsCalls = 0;
const FILES = ['save', 'ct', 'out', 'json', 'drops', 'drops.jsonl'];

function runAll(rules: string, host: HostModel, pkts: Pkt[], workers: number[], extra: string[] = [], classic = false) {
  const d = tmp();
  const ng = dropsCalls++ % 2 === 0;
  const cap = join(d, classic ? 'in.pcap' : 'in.pcapng');
  if (classic) writePcap(cap, pkts); else writeCapture(cap, host.interfaces.map((i) => i.name), pkts);
  writeJson(join(d, 'host.json'), host);
  writeFileSync(join(d, 'rules'), rules);
  return workers.map((w) => {
    const o = (f: string) => join(d, `${f}.${w}`);
    // the drops file: d.W.pcapng, or d.W.pcap with d.W.pcap.jsonl beside it
    const drops = join(d, `d.${w}.${ng ? 'pcapng' : 'pcap'}`);
    const r = cli(['replay', '--rules', join(d, 'rules'), '--pcap', cap, '--host', join(d, 'host.json'),
      '--workers', String(w), '--save-counters', o('save'), '--conntrack', o('ct'), '--out', o('out'), '--json', o('json'), '--drops', drops, ...extra]);
    expect(r.status, r.stderr).toBe(0);
    const path = (f: string) => (f === 'drops' ? drops : f === 'drops.jsonl' ? (ng ? null : `${drops}.jsonl`) : o(f));
    return {
      w, stdout: r.stdout, stderr: r.stderr, drops,
      files: Object.fromEntries(FILES.map((f) => { const p = path(f); return [f, p && existsSync(p) ? readFileSync(p) : null]; })),
    };
  });
}

/** The verdict totals that are drops (SCHEMA.md keys; replay/drops.ts DROP_CODES). */
const DROP_KEYS = ['droppedByRule', 'droppedByPolicy', 'droppedByConntrack', 'martian', 'noRoute', 'malformed', 'natFailed', 'ttlExceeded', 'fragmentsDropped', 'otherHost', 'mtuExceeded'];

function expectSame(runs: ReturnType<typeof runAll>): void {
  const [base, ...rest] = runs;
  // the drops file lists as many packets as the report's totals count as drops
  const totals = JSON.parse(base.files.json!.toString()).totals;
  const dropped = DROP_KEYS.reduce((a, k) => a + (totals[k] ?? 0), 0);
  const listed = base.files['drops.jsonl'] ? base.files['drops.jsonl'].toString().split('\n').filter(Boolean).length : parsePcapng(base.drops).epbs.length;
  expect(listed, 'packets in the drops file').toBe(dropped);
  for (const r of rest) {
    expect(r.stdout, `stdout of ${r.w} workers`).toBe(base.stdout);
    for (const f of FILES) {
      if (f === 'drops.jsonl' && base.files.drops![0] === 0x0a) continue; // pcapng: no side file
      expect(base.files[f], `${f} written`).not.toBeNull();
      expect(Buffer.compare(r.files[f]!, base.files[f]!), `${f} of ${r.w} workers vs 1`).toBe(0);
    }
  }
}

const STATEFUL_RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 80 --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT
-A FORWARD -p udp -m udp --dport 53 -j ACCEPT
-A FORWARD -p icmp -m icmp --icmp-type 8 -j ACCEPT
COMMIT
`;

/** No NAT: TCP handshakes and data both ways (some answered by RST, some never answered), UDP
 * answered by an ICMP port unreachable (RELATED), pings, stray ACKs. */
function statefulTraffic(conns: number): Pkt[] {
  const r = rng(7);
  const pk: Pkt[] = [];
  let t = 0;
  const tick = () => (t += 0.0003);
  for (let i = 0; i < conns; i++) {
    const cl = `203.0.113.${1 + Math.floor(r() * 100)}`, sv = `198.51.100.${2 + Math.floor(r() * 5)}`;
    const sp = 1024 + Math.floor(r() * 3000);
    pk.push({ on: 'eth1', src: cl, dst: sv, sport: sp, dport: 80, flags: 'S', seq: 100, t: tick() });
    const kind = r();
    if (kind < 0.7) {
      pk.push({ on: 'eth0', src: sv, dst: cl, sport: 80, dport: sp, flags: 'SA', seq: 900, ack: 101, t: tick() });
      pk.push({ on: 'eth1', src: cl, dst: sv, sport: sp, dport: 80, flags: 'A', seq: 101, ack: 901, t: tick() });
      pk.push({ on: 'eth1', src: cl, dst: sv, sport: sp, dport: 80, flags: 'PA', seq: 101, ack: 901, payload: 20, t: tick() });
      pk.push({ on: 'eth0', src: sv, dst: cl, sport: 80, dport: sp, flags: 'PA', seq: 901, ack: 121, payload: 50, t: tick() });
    } else if (kind < 0.85) {
      pk.push({ on: 'eth0', src: sv, dst: cl, sport: 80, dport: sp, flags: 'RA', seq: 0, ack: 101, t: tick() });
    }
    if (i % 9 === 0) {
      const q = { src: cl, dst: sv, proto: 'udp' as const, sport: 40000 + i, dport: 53, payload: 8 };
      pk.push({ on: 'eth1', ...q, t: tick() });
      pk.push({ on: 'eth0', src: sv, dst: cl, proto: 'icmp', icmpType: 3, icmpCode: 3, inner: icmpQuote(buildIPv4({ ...q, ttl: 63 })), t: tick() });
    }
    if (i % 7 === 0) {
      pk.push({ on: 'eth1', src: cl, dst: sv, proto: 'icmp', icmpType: 8, icmpId: i, icmpSeq: 1, t: tick() });
      pk.push({ on: 'eth0', src: sv, dst: cl, proto: 'icmp', icmpType: 0, icmpId: i, icmpSeq: 1, t: tick() });
    }
    if (i % 13 === 0) pk.push({ on: 'eth1', src: cl, dst: sv, sport: 9, dport: 80, flags: 'A', seq: 5, ack: 5, t: tick() });
  }
  return pk;
}

/** UDP datagrams of 1,400 bytes to port 53, each sent as 3 fragments (the second and third in
 * either order), among unfragmented packets of other flows and of the same flows (the server's
 * replies and a follow-up query without fragments): conntrack reassembles them first. */
function fragTraffic(datagrams: number): Pkt[] {
  const r = rng(11);
  const pk: Pkt[] = [];
  let t = 0;
  const tick = () => (t += 0.0004);
  for (let i = 0; i < datagrams; i++) {
    const cl = `203.0.113.${1 + (i % 50)}`, sv = `198.51.100.${2 + (i % 3)}`, sp = 3000 + i;
    const q = { src: cl, dst: sv, proto: 'udp' as const, sport: sp, dport: 53, payload: 1400, id: 100 + i };
    const frags = fragmentIPv4(buildIPv4(q), 512).map((f) => wrapL2(f));
    if (r() < 0.5) [frags[1], frags[2]] = [frags[2], frags[1]];
    for (const f of frags) {
      pk.push({ on: 'eth1', raw: f, t: tick() });
      // something else in between
      pk.push({ on: 'eth1', src: `203.0.113.${100 + (i % 20)}`, dst: sv, proto: 'udp', sport: 5000 + i, dport: 53, payload: 10, t: tick() });
    }
    pk.push({ on: 'eth0', src: sv, dst: cl, proto: 'udp', sport: 53, dport: sp, payload: 40, t: tick() });
    pk.push({ on: 'eth1', ...q, payload: 20, id: 900 + i, t: tick() });
  }
  return pk;
}

const REJECT_RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp -m udp --dport 7 -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset
COMMIT
`;

/** Stateless: bursts of UDP to a REJECTed port from a few sources, many flows each (the ICMP
 * errors are rate limited per destination: burst 6, then 1 per second), TCP resets (not limited),
 * packets with TTL 1 (time exceeded, limited the same way). */
function rejectTraffic(n: number): Pkt[] {
  const pk: Pkt[] = [];
  for (let i = 0; i < n; i++) {
    const t = i * 0.02;
    const src = `203.0.113.${1 + (i % 4)}`;
    if (i % 5 === 4) pk.push({ on: 'eth1', src, dst: '198.51.100.9', sport: 2000 + i, dport: 23, flags: 'S', t });
    else if (i % 7 === 6) pk.push({ on: 'eth1', src, dst: '198.51.100.9', proto: 'udp', sport: 2000 + i, dport: 9, ttl: 1, payload: 4, t });
    else pk.push({ on: 'eth1', src, dst: '198.51.100.9', proto: 'udp', sport: 2000 + i, dport: 7, payload: 4, t });
  }
  return pk;
}

describe('1, 2, 4, 8 workers: byte-identical outputs', () => {
  it('the bundled kube-proxy Service capture (pcaps/k8s/service3: DNAT, MASQUERADE, replies)', () => {
    const dir = new URL('../../pcaps/k8s/service3/', import.meta.url).pathname;
    const d = tmp();
    const runs = [1, 2, 4].map((w) => {
      const o = (f: string) => join(d, `${f}.${w}`);
      const r = cli(['replay', '--rules', join(dir, 'rules.txt'), '--pcap', join(dir, 'service3.pcap'), '--host', join(dir, 'host.json'),
        '--seed', '1', '--workers', String(w), '--save-counters', o('save'), '--conntrack', o('ct'), '--out', o('out'), '--json', o('json'),
        '--drops', o('drops')]);
      expect(r.status, r.stderr).toBe(0);
      return {
        w, stdout: r.stdout, stderr: r.stderr, drops: o('drops'),
        files: Object.fromEntries(FILES.map((f) => [f, readFileSync(f === 'drops.jsonl' ? `${o('drops')}.jsonl` : o(f))])),
      };
    });
    expectSame(runs);
    // every packet forwarded: the replies (pod -> node address) found their DNAT+MASQUERADE entries
    expect(runs[0].stdout).toMatch(/^packets: 11200$/m);
    expect(runs[0].stdout).toMatch(/accepted, forwarded\s+11200$/m);
  }, 120000);

  it('REJECT and TTL exceeded: ICMP errors rate limited per destination across flows', () => {
    const runs = runAll(REJECT_RULES, router, rejectTraffic(400), [1, 2, 4, 8]);
    expectSame(runs);
    // 400 packets over 8 s from 4 sources: far more rejected than the limiter lets through
    const rejected = Number(/dropped by a rule \(DROP\/REJECT\)\s+(\d+)/.exec(runs[0].stdout)![1]);
    const replies = Number(/host packets sent \(replies, ICMP\)\s+(\d+)/.exec(runs[0].stdout)![1]);
    expect(rejected).toBeGreaterThan(300);
    expect(replies).toBeLessThan(rejected);
    expect(replies).toBeGreaterThan(80); // the 80 TCP resets at least
  }, 240000);


  it('fragments reassembled by conntrack: joined with their flow; over 64 datagrams sequential', () => {
    const runs = runAll(STATEFUL_RULES, router, fragTraffic(40), [1, 2, 4, 8]);
    expectSame(runs);
    // each reassembled datagram passed rule 4 (udp dpt:53) once as NEW: 40 of 1428 bytes (20 + 8 + 1400),
    // plus 120 one-fragment-between queries (38 bytes); its reply and the follow-up are ESTABLISHED
    expect(runs[0].stdout).toMatch(/^\s+160\s+61680 ACCEPT\s+udp/m);
    for (const r of runs.slice(1)) expect(r.stderr).not.toMatch(/sequential/);
    const big = runAll(STATEFUL_RULES, router, fragTraffic(70), [1, 2]);
    expectSame(big);
    expect(big[1].stderr).toMatch(/on the sequential path \(more than 64 fragmented datagrams/);
  }, 240000);


  it('stateful filter without NAT (no dependency log): TCP, RST, RELATED ICMP, pings, stray ACKs', () => {
    const runs = runAll(STATEFUL_RULES, router, statefulTraffic(500), [1, 2, 4, 8]);
    expectSame(runs);
    // ESTABLISHED/RELATED replies were accepted (rule 2); the stray ACKs are picked up mid-stream
    // (nf_conntrack_tcp_loose = 1) as NEW, are no SYN, and fall to the DROP policy: 500 / 13 -> 39
    const rows = /Chain FORWARD \(policy DROP (\d+) packets[^\n]*\n[^\n]*\n[^\n]*\n\s*(\d+)/.exec(runs[0].stdout)!;
    expect(Number(rows[1])).toBe(39);
    expect(Number(rows[2])).toBeGreaterThan(1000);
    for (const r of runs.slice(1)) expect(r.stderr).toMatch(/1 pass, 0 packets re-replayed/);
  }, 240000);

  it('DNAT and SNAT with replies, port clashes, bysource reuse, ICMP, RELATED', () => {
    const runs = runAll(NAT_RULES, router, natTraffic(600), [1, 2, 4, 8]);
    expectSame(runs);
    // the capture really exercised the stateful paths (else identity would prove little):
    // ESTABLISHED/RELATED replies matched (rule 1 of FORWARD counts the SYN-ACKs that found their
    // connection, the ACKs, echo replies and port unreachables) and the conntrack table is full of
    // NATed entries
    const fwd1 = /Chain FORWARD[^\n]*\n[^\n]*\n\s*(\d+)/.exec(runs[0].stdout)!;
    expect(Number(fwd1[1])).toBeGreaterThan(1000);
    const ct = runs[0].files.ct!.toString();
    expect(ct.split('\n').filter((l) => l.includes('dst=192.0.2.254')).length).toBeGreaterThan(100);
    // and the pool had to join flows across shards and replay them again
    for (const r of runs.slice(1)) {
      const m = /pool: (\d+) workers, (\d+) pass(?:es)?, (\d+) packets re-replayed/.exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      expect(Number(m![1])).toBe(r.w);
      expect(Number(m![3])).toBeGreaterThan(0);
    }
  }, 240000);

  it('the same NAT traffic as a classic pcap (raw batches framed by the workers), every packet on the ingress', () => {
    // eth0 as the ingress: the outside clients' SYNs then come in on the inside interface, so
    // the SNAT rule (-o eth0) never matches, only DNAT and MASQUERADE (-o eth1) do
    const runs = runAll(NAT_RULES, { ...router, ingress: 'eth0' }, natTraffic(600), [1, 2, 4, 8], [], true);
    expectSame(runs);
    const ct = runs[0].files.ct!.toString();
    expect(ct.split('\n').filter((l) => l.includes('dst=198.51.100.1 ')).length).toBeGreaterThan(100);
    // dependency passes ran (on the workers' reset cores: one instance per worker for all passes)
    for (const r of runs.slice(1)) {
      const m = new RegExp(`pool: ${r.w} workers, (\\d+) passes, (\\d+) packets re-replayed`).exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThan(1);
      expect(Number(m![2])).toBeGreaterThan(0);
    }
  }, 240000);

  it('session affinity (nat recent --rsource): flows joined by client; over 100 clients sequential', () => {
    const node: HostModel = {
      interfaces: [{ name: 'eth0', addresses: ['192.0.2.10/24'] }],
      routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }, { dst: '203.0.113.0/25', via: '192.0.2.20', dev: 'eth0' }],
      ingress: 'eth0',
      sysctl: {},
    };
    const rules = readFileSync(new URL('../../pcaps/rulesets/kube-proxy-3-endpoints-affinity.rules', import.meta.url), 'utf8');
    // 30 clients, 30 connections each (the first walks the statistic rules and --set, the others
    // are pinned by --rcheck); the SYN-ACK of each comes back from the endpoint it was sent to
    // is not known here, so only SYNs: every connection is NEW and touches the lists
    const syns = (clients: number, n: number): Pkt[] => Array.from({ length: n }, (_, i) => ({
      on: 'eth0', src: `198.51.100.${1 + (i % clients)}`, dst: '203.0.113.162', sport: 1024 + Math.floor(i / clients), dport: 80, flags: 'S', seq: 1, t: i * 0.01,
    }));
    const runs = runAll(rules, node, syns(30, 900), [1, 2, 4]);
    expectSame(runs);
    for (const r of runs.slice(1)) {
      expect(r.stderr).not.toMatch(/sequential/);
      expect(r.stderr).toMatch(/pool: \d+ workers, [2-9] passes/);
    }
    // 150 clients > xt_recent's 100 entries per list: eviction order spans all flows
    const big = runAll(rules, node, syns(150, 450), [1, 2]);
    expectSame(big);
    expect(big[1].stderr).toMatch(/450 packets on the sequential path \(recent: more than 100 sources/);
  }, 120000);
});
