// The pool's promise for the packets the host itself emits: with REJECT replies (RSTs from INPUT
// and FORWARD, ICMP port unreachable), ICMP time exceeded and echo replies in --out, 1, 2, 4 and 8
// workers still write byte-identical files (the emitted packets of a shard travel with the
// ordinal of the packet that caused them and are merged in capture order, as the single worker
// writes them). The first capture mixes them with DNAT and MASQUERADE traffic (each client's
// packets in one shard); the second makes the replies depend on state shared across flows (the
// per-destination ICMP rate limit), so the pool must join flows and replay them again.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, cli, tmp, writeCapture, writeJson, type Pkt, ROUTER } from './helpers.js';
import { parseCaptureBuffer } from '../../src/pcap/reader.js';

afterAll(cleanup);

const router = ROUTER;

const RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 198.51.100.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.5:80
-A POSTROUTING -s 192.0.2.0/24 -o eth1 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset
-A FORWARD -p udp -m udp --dport 7 -j REJECT --reject-with icmp-port-unreachable
COMMIT
`;

/** `n` rounds; round i comes from its own outside client (so no ICMP rate limit applies: at most
 * one error per client) and is one of: a DNATed SYN answered by the server (forwarded both ways),
 * a SYN to port 23 (FORWARD REJECT: a RST), UDP to port 7 (FORWARD REJECT: port unreachable), UDP
 * with TTL 1 (time exceeded), a ping of the router (echo reply), a SYN to the router's port 22
 * (INPUT REJECT: a RST); every 10th round an inside host also opens a MASQUERADEd connection with
 * its reply. Returns the packets and how many the router must emit: one for every round but the
 * DNAT ones. */
function traffic(n: number): { pk: Pkt[]; emitted: number } {
  const pk: Pkt[] = [];
  let t = 0;
  let emitted = 0;
  const tick = () => (t += 0.0007);
  for (let i = 0; i < n; i++) {
    const cl = `198.18.${Math.floor(i / 200)}.${1 + (i % 200)}`;
    const sp = 10000 + i;
    const k = i % 6;
    if (k === 0) {
      pk.push({ on: 'eth1', src: cl, dst: '198.51.100.1', sport: sp, dport: 8080, flags: 'S', seq: 1, t: tick() });
      pk.push({ on: 'eth0', src: '192.0.2.5', dst: cl, sport: 80, dport: sp, flags: 'SA', seq: 7, ack: 2, t: tick() });
    } else {
      emitted++;
      if (k === 1) pk.push({ on: 'eth1', src: cl, dst: '192.0.2.5', sport: sp, dport: 23, flags: 'S', seq: 1, t: tick() });
      else if (k === 2) pk.push({ on: 'eth1', src: cl, dst: '192.0.2.5', proto: 'udp', sport: sp, dport: 7, payload: 9, t: tick() });
      else if (k === 3) pk.push({ on: 'eth1', src: cl, dst: '192.0.2.5', proto: 'udp', sport: sp, dport: 53, payload: 5, ttl: 1, t: tick() });
      else if (k === 4) pk.push({ on: 'eth1', src: cl, dst: '198.51.100.1', proto: 'icmp', icmpType: 8, icmpId: i, icmpSeq: 1, payload: 16, t: tick() });
      else pk.push({ on: 'eth1', src: cl, dst: '198.51.100.1', sport: sp, dport: 22, flags: 'S', seq: 1, t: tick() });
    }
    if (i % 10 === 0) {
      const inside = `192.0.2.${10 + (i % 30)}`;
      pk.push({ on: 'eth0', src: inside, dst: '203.0.113.80', sport: 30000 + (i % 4), dport: 443, flags: 'S', seq: 1, t: tick() });
      pk.push({ on: 'eth1', src: '203.0.113.80', dst: '198.51.100.1', sport: 443, dport: 30000 + (i % 4), flags: 'SA', seq: 5, ack: 2, t: tick() });
    }
  }
  return { pk, emitted };
}

function runWorkers(pk: Pkt[], workers: number[]) {
  const d = tmp();
  writeCapture(join(d, 'in.pcapng'), ['eth0', 'eth1'], pk);
  writeJson(join(d, 'host.json'), router);
  writeFileSync(join(d, 'rules'), RULES);
  return workers.map((w) => {
    const out = join(d, `out.${w}`);
    const r = cli(['replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'in.pcapng'), '--host', join(d, 'host.json'),
      '--workers', String(w), '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    return { w, stdout: r.stdout, stderr: r.stderr, out: readFileSync(out) };
  });
}

describe('emitted packets in --out: 1, 2, 4, 8 workers byte-identical', () => {
  it('REJECT replies, time exceeded and echo replies among NATed traffic', () => {
    const { pk, emitted } = traffic(600);
    const runs = runWorkers(pk, [1, 2, 4, 8]);
    for (const r of runs.slice(1)) {
      expect(r.stdout, `stdout of ${r.w} workers`).toBe(runs[0].stdout);
      expect(Buffer.compare(r.out, runs[0].out), `--out of ${r.w} workers vs 1`).toBe(0);
    }
    // the pool really split the capture
    for (const r of runs.slice(1)) expect(r.stderr).toMatch(new RegExp(`pool: ${r.w} workers`));
    // the crafted packets arrive with TTL 64, so forwarded ones leave with 63: the TTL 64 packets
    // of --out are the router's own, one per REJECTed / expired / pinging round (500 of 600)
    const { batch: b } = parseCaptureBuffer(new Uint8Array(runs[0].out));
    let own = 0, fwd = 0;
    let prevTs = 0;
    for (let i = 0; i < b.count; i++) {
      const ttl = b.data[b.offset[i] + 14 + 8];
      if (ttl === 64) own++; else if (ttl === 63) fwd++;
      const ts = b.tsSec[i] + b.tsNsec[i] / 1e9;
      expect(ts).toBeGreaterThanOrEqual(prevTs); // in capture order
      prevTs = ts;
    }
    expect(emitted).toBe(500);
    expect(own).toBe(emitted);
    expect(own + fwd).toBe(b.count);
    expect(runs[0].stdout).toMatch(new RegExp(`host packets sent \\(replies, ICMP\\)\\s+${emitted}$`, 'm'));
  }, 240000);

  it('ICMP errors rate limited per destination across flows: flows joined, replayed again, same --out', () => {
    // 4 clients, 20 UDP datagrams each to the REJECTed port 7, each from its own port (20 flows
    // per client, spread over the shards), interleaved, all within 0.16 s: inet_peer_xrlim_allow
    // lets the first 6 errors per client through (a new peer's bucket holds 6 tokens of 1 s, and
    // less than one token accrues in 0.16 s): 4 x 6 = 24 errors. Which 6 depends on the order of
    // all 20 flows of a client, so the pool must replay them in one shard.
    const pk: Pkt[] = [];
    for (let j = 0; j < 20; j++) {
      for (let s = 0; s < 4; s++) {
        pk.push({ on: 'eth1', src: `198.18.7.${10 + s}`, dst: '192.0.2.5', proto: 'udp', sport: 20000 + j, dport: 7, payload: 6, t: (j * 4 + s) * 0.002 });
      }
    }
    const runs = runWorkers(pk, [1, 2, 4, 8]);
    for (const r of runs.slice(1)) {
      expect(r.stdout, `stdout of ${r.w} workers`).toBe(runs[0].stdout);
      expect(Buffer.compare(r.out, runs[0].out), `--out of ${r.w} workers vs 1`).toBe(0);
      const m = /pool: (\d+) workers, (\d+) pass(?:es)?, (\d+) packets re-replayed/.exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      expect(Number(m![3]), r.stderr).toBeGreaterThan(0);
    }
    const { batch: b } = parseCaptureBuffer(new Uint8Array(runs[0].out));
    expect(b.count).toBe(24);
    // the first 6 of each client: rounds j = 0..5, in capture order
    const dsts = Array.from({ length: b.count }, (_, i) => b.data[b.offset[i] + 14 + 19]);
    expect(dsts).toEqual(Array.from({ length: 24 }, (_, i) => 10 + (i % 4)));
  }, 240000);
});
