// Every output of the single-worker replay must come out of the pool too. These cases make the
// per-packet stats that are not plain verdicts move: drops of packets conntrack found INVALID
// (replies that match no connection), bad L4 checksums, martians, REJECT replies, the conntrack
// summary line — and compare stdout, --json, --save-counters, --conntrack and --out of 1, 2, 4
// and 8 workers byte for byte. A second test compares the whole ReplayOutcome of `replay()` (the
// engine facade's stats(), counters, drops, packets, timestamps) in process, so a stats field the
// pool does not produce fails here even before a report prints it.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, cli, tmp, writeCapture, writeJson, type Pkt, ROUTER } from './helpers.js';

afterAll(cleanup);

const router = ROUTER;

const RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A FORWARD -p udp -m udp --dport 7 -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset
COMMIT
`;

/** 100 rounds from 5 clients to 3 servers through the router (eth1 -> eth0):
 * - a handshake (SYN, SYN-ACK, ACK): forwarded, tracked;
 * - a SYN-ACK from a server for a connection that never started: conntrack INVALID (tcp_new
 *   refuses a SYN-ACK), dropped by rule 1 -> counted in "of the drops: conntrack INVALID";
 * - every 3rd round a SYN with a bad TCP checksum: INVALID (nf_conntrack_checksum=1), dropped;
 * - every 4th round a packet from 127.0.0.9 (a martian source on eth1: dropped by routing);
 * - every 5th round UDP to port 7 (REJECTed: port unreachable, rate limited) and TCP to 23 (RST). */
function traffic(): Pkt[] {
  const pk: Pkt[] = [];
  let t = 0;
  const tick = () => (t += 0.001);
  for (let i = 0; i < 100; i++) {
    const cl = `198.51.100.${10 + (i % 5)}`, sv = `192.0.2.${1 + (i % 3)}`, sp = 20000 + i;
    pk.push({ on: 'eth1', src: cl, dst: sv, sport: sp, dport: 80, flags: 'S', seq: 1, t: tick() });
    pk.push({ on: 'eth0', src: sv, dst: cl, sport: 80, dport: sp, flags: 'SA', seq: 100, ack: 2, t: tick() });
    pk.push({ on: 'eth1', src: cl, dst: sv, sport: sp, dport: 80, flags: 'A', seq: 2, ack: 101, t: tick() });
    pk.push({ on: 'eth0', src: sv, dst: cl, sport: 80, dport: 40000 + i, flags: 'SA', seq: 7, ack: 9, t: tick() });
    if (i % 3 === 0) pk.push({ on: 'eth1', src: cl, dst: sv, sport: 50000 + i, dport: 80, flags: 'S', seq: 1, l4Checksum: 'bad', t: tick() });
    if (i % 4 === 0) pk.push({ on: 'eth1', src: '127.0.0.9', dst: sv, sport: 60000 + i, dport: 80, flags: 'S', seq: 1, t: tick() });
    if (i % 5 === 0) {
      pk.push({ on: 'eth1', src: cl, dst: sv, proto: 'udp', sport: 30000 + i, dport: 7, payload: 4, t: tick() });
      pk.push({ on: 'eth1', src: cl, dst: sv, sport: 31000 + i, dport: 23, flags: 'S', seq: 1, t: tick() });
    }
  }
  return pk;
}

const FILES = ['save', 'ct', 'out', 'json'] as const;

function runCli(rules: string, pcap: string, host: string, workers: number[], extra: string[]) {
  const d = tmp();
  return workers.map((w) => {
    const o = (f: string) => join(d, `${f}.${w}`);
    const r = cli(['replay', '--rules', rules, '--pcap', pcap, '--host', host, '--workers', String(w), '--quiet',
      '--save-counters', o('save'), '--conntrack', o('ct'), '--out', o('out'), '--json', o('json'), ...extra]);
    expect(r.status, r.stderr).toBe(0);
    return { w, stdout: r.stdout, files: Object.fromEntries(FILES.map((f) => [f, existsSync(o(f)) ? readFileSync(o(f)) : null])) };
  });
}

function expectSame(runs: ReturnType<typeof runCli>): void {
  const [base, ...rest] = runs;
  for (const f of FILES) expect(base.files[f], `${f} written`).not.toBeNull();
  for (const r of rest) {
    expect(r.stdout, `stdout of ${r.w} workers`).toBe(base.stdout);
    for (const f of FILES) expect(r.files[f]!.toString('latin1'), `${f} of ${r.w} workers vs 1`).toBe(base.files[f]!.toString('latin1'));
  }
}

const num = (out: string, label: RegExp) => Number(new RegExp(`${label.source}\\s+(\\d+)$`, 'm').exec(out)?.[1] ?? NaN);

describe('pool merge: every stat of the single-worker replay', () => {
  it('service3 at --seed 3: replies that match no connection are INVALID drops (1, 2, 4, 8 workers)', () => {
    const dir = new URL('../../pcaps/k8s/service3/', import.meta.url).pathname;
    const runs = runCli(join(dir, 'rules.txt'), join(dir, 'service3.pcap'), join(dir, 'host.json'), [1, 2, 4, 8], ['--seed', '3']);
    expectSame(runs);
    const out = runs[0].stdout;
    // the only dropping rule is KUBE-FORWARD's `--ctstate INVALID -j DROP`, so every rule drop was
    // a conntrack INVALID packet: the two lines must agree and be non-zero
    expect(out).toMatch(/top dropping rules:\n\s+\d+\s+-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n\n/);
    const rule = num(out, /dropped by a rule \(DROP\/REJECT\)/);
    expect(rule).toBeGreaterThan(0);
    expect(num(out, /of the drops: conntrack INVALID/)).toBe(rule);
    expect(JSON.parse(runs[0].files.json!.toString()).totals.droppedInvalid).toBe(rule);
    expect(out).toMatch(/^conntrack: \d+ entries held at the end/m);
  }, 240000);

  it('INVALID replies, bad checksums, martians, REJECT replies, conntrack summary (1, 2, 4, 8 workers)', () => {
    const d = tmp();
    writeCapture(join(d, 'in.pcapng'), ['eth0', 'eth1'], traffic());
    writeJson(join(d, 'host.json'), router);
    writeFileSync(join(d, 'rules'), RULES);
    const runs = runCli(join(d, 'rules'), join(d, 'in.pcapng'), join(d, 'host.json'), [1, 2, 4, 8], []);
    expectSame(runs);
    const out = runs[0].stdout;
    // by construction (see traffic()): 100 stray SYN-ACKs + 34 bad-checksum SYNs are INVALID and
    // dropped by rule 1; 20 UDP to port 7 and 20 SYNs to port 23 are REJECTed (rules 2 and 3)
    expect(num(out, /of the drops: conntrack INVALID/)).toBe(134);
    expect(num(out, /dropped by a rule \(DROP\/REJECT\)/)).toBe(134 + 40);
    expect(num(out, /bad L4 checksum \(conntrack INVALID\)/)).toBe(34);
    expect(num(out, /dropped by routing: martian/)).toBe(25);
    // 20 RSTs (not limited) + port unreachables (at most 20, limited per destination)
    const replies = num(out, /host packets sent \(replies, ICMP\)/);
    expect(replies).toBeGreaterThanOrEqual(20);
    expect(replies).toBeLessThanOrEqual(40);
    expect(out).toMatch(/^conntrack: \d+ entries held at the end \(capacity \d+, \d+ bytes per connection\), 0 early drops, 0 packets dropped on a full table$/m);
  }, 240000);

  it('replay() returns the same outcome for 1, 2 and 4 workers (stats, counters, drops, packets, time)', async () => {
    const { replay } = await import(new URL('../../dist/commands/replay.js', import.meta.url).href);
    const d = tmp();
    writeCapture(join(d, 'in.pcapng'), ['eth0', 'eth1'], traffic());
    writeFileSync(join(d, 'rules'), RULES);
    const dir = new URL('../../pcaps/k8s/service3/', import.meta.url).pathname;
    for (const inp of [
      { rules: join(d, 'rules'), pcap: join(d, 'in.pcapng'), hostModel: router },
      { rules: join(dir, 'rules.txt'), pcap: join(dir, 'service3.pcap'), host: join(dir, 'host.json'), seed: 3 },
    ]) {
      const views = [];
      for (const w of [1, 2, 4]) {
        const r = await replay({ ...inp, workers: w, quiet: true });
        const e = r.engine;
        views.push({
          keys: Object.keys(r).filter((k) => k !== 'partial' && k !== 'pool').sort(),
          packets: e.packets, lastTsSec: e.lastTsSec, lastTsNsec: e.lastTsNsec, lastJiffies: e.lastJiffies(),
          counters: e.counters(), stats: e.stats(), drops: [...r.drops.entries()],
          captureError: r.captureError?.message ?? null, info: r.info,
        });
      }
      // every field of the single-worker stats (present or not) is in the pool's, with the same value
      for (const v of views.slice(1)) expect(v).toStrictEqual(views[0]);
    }
  }, 240000);
});
