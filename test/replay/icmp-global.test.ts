// The host's global ICMP limiter (net/ipv4/icmp.c, 6.12+, per netns): icmp_global_allow before the
// route lookup (credit > 0, or at least HZ/50 jiffies after the last refill a refill of
// msgs_per_sec * delta / HZ credits, delta = min(now - stamp, HZ), capped at msgs_burst), then after
// the per-destination check icmp_global_consume: get_random_u32_below(3) credits. Only the types of
// icmp_ratemask (3, 4, 11, 12) but frag-needed; not when the offending packet came in on loopback.
// Expectations are derived by hand (burst 0 makes the draws irrelevant) or, for the default burst,
// from a second implementation of the replay's generator (assembly/README.md "Random draws":
// splitmix64 finaliser over (seed, ordinal, key, draw count)) written here with BigInt.
// The kernel checks the same: test/kernel/cases/icmp-global-limit.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, cli, tmp, writeCapture, writeJson, type Pkt } from './helpers.js';
import { parseCaptureBuffer } from '../../src/pcap/reader.js';

afterAll(cleanup);

// eth0 192.0.2.254/24 (senders, the ingress), eth1 198.51.100.1/24 with MTU 1000, default route via
// eth1. REJECT UDP to port 9 and TCP to port 23 (reset) in FORWARD; INPUT rejects UDP 9 too (for
// the loopback packets). Counting rules in OUTPUT for each ICMP type the host sends.
const HOST = {
  interfaces: [{ name: 'eth0', addresses: ['192.0.2.254/24'] }, { name: 'eth1', addresses: ['198.51.100.1/24'], mtu: 1000 }],
  routes: [{ dst: 'default', via: '198.51.100.254', dev: 'eth1' }],
  ingress: 'eth0',
};
const RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 9 -j REJECT
-A FORWARD -p udp -m udp --dport 9 -j REJECT
-A FORWARD -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset
-A OUTPUT -p icmp -m icmp --icmp-type 3/3
-A OUTPUT -p icmp -m icmp --icmp-type 11
-A OUTPUT -p icmp -m icmp --icmp-type 3/4
-A OUTPUT -p icmp -m icmp --icmp-type 0
-A OUTPUT -p icmp -m icmp --icmp-type 5
-A OUTPUT -p tcp
COMMIT
`;

type Kind = 'rej' | 'ttl' | 'rst' | 'ping' | 'big' | 'hairpin' | 'lo';
/** One packet of `kind` from source number `n` at `ms` (a multiple of 4 ms: whole jiffies at HZ 250). */
function pkt(kind: Kind, n: number, ms: number): Pkt {
  const src = `192.0.2.${(n % 250) + 1}`;
  const t = ms / 1000;
  const base = { on: 'eth0', src, dst: '203.0.113.7', t, id: n + 1 };
  switch (kind) {
    case 'rej': return { ...base, proto: 'udp', sport: 1024 + n, dport: 9, payload: 12 };
    case 'ttl': return { ...base, proto: 'udp', sport: 1024 + n, dport: 10, payload: 12, ttl: 1 };
    case 'rst': return { ...base, proto: 'tcp', sport: 1024 + n, dport: 23, flags: 'S', seq: 1 };
    case 'ping': return { ...base, dst: '192.0.2.254', proto: 'icmp', icmpType: 8, icmpId: n, icmpSeq: 1, payload: 12 };
    case 'big': return { ...base, proto: 'udp', sport: 1024 + n, dport: 10, payload: 1072, df: true };
    case 'hairpin': return { ...base, dst: '192.0.2.200', proto: 'udp', sport: 1024 + n, dport: 10, payload: 12 };
    // in on lo (a looped-back packet keeps its route in the kernel; here it is routed: to 127.0.0.1
    // it needs route_localnet, and its source must not be local, or it is a martian)
    case 'lo': return { ...base, on: 'lo', src: `203.0.113.${50 + n}`, dst: '127.0.0.1', proto: 'udp', sport: 1024 + n, dport: 9, payload: 12 };
  }
}

function replay(d: string, pkts: Pkt[], sysctl: Record<string, number>, workers = '1', seed = '7', host = HOST) {
  writeFileSync(join(d, 'rules'), RULES);
  writeCapture(join(d, 'c.pcapng'), ['eth0', 'eth1', 'lo'], pkts);
  writeJson(join(d, 'host.json'), { ...host, sysctl });
  const out = join(d, `out.${workers}.pcap`), save = join(d, `save.${workers}`);
  const r = cli(['replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'c.pcapng'), '--host', join(d, 'host.json'),
    '--workers', workers, '--seed', seed, '--quiet', '--save-counters', save, '--out', out]);
  expect(r.status, r.stderr).toBe(0);
  const { batch: b } = parseCaptureBuffer(new Uint8Array(readFileSync(out)));
  const frames = Array.from({ length: b.count }, (_, i) => b.data.subarray(b.offset[i], b.offset[i] + b.caplen[i]));
  // the host's own packets (TTL 64 = what it sends; the captured ones arrive with 64 and leave with
  // 63, or are not forwarded): [kind, last byte of the destination]
  const own = frames.filter((f) => f[14 + 8] === 64).map((f) => {
    const ip = f.subarray(14);
    return [ip[9] === 6 ? 'rst' : `${ip[20]}/${ip[21]}`, ip[19]] as [string, number];
  });
  const saveText = readFileSync(save, 'utf8');
  const count = (re: RegExp) => Number(re.exec(saveText)?.[1] ?? -1);
  return { own, save: saveText, out: readFileSync(out), count };
}

// ---- a second implementation of assembly/rng.ts draw() ----
const M64 = (1n << 64n) - 1n;
function mix64(z0: bigint): bigint {
  let z = z0 & M64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}
function draw(seed: bigint, ordinal: number, key: number, n: number): number {
  let h = mix64(seed + ((0x9e3779b97f4a7c15n * BigInt(ordinal + 1)) & M64));
  h = mix64(h ^ ((BigInt(key) << 32n) | BigInt(n)));
  return Number(h >> 32n);
}
/** get_random_u32_below(3) from the packet's first draw under the limiter's key (0xfffff001). */
const below3 = (seed: bigint, ordinal: number) => Number((BigInt(draw(seed, ordinal, 0xfffff001, 0)) * 3n) >> 32n);

describe('the global ICMP limiter', () => {
  it('burst 0: an error is sent only when the bucket refills (>= HZ/50 jiffies, incr >= 1)', () => {
    const d = tmp();
    // per_sec 1000, burst 0, HZ 250: the credit never becomes positive (a refill sets min(c + incr,
    // 0) = 0, consume takes 0..2), so an error is allowed exactly when now - stamp >= 5 jiffies
    // (20 ms); incr = 1000 * 5 / 250 = 20 >= 1. The first error sees stamp 0 (delta = HZ): sent.
    // ms:  0 A sent (stamp 0) | 16 B: 4 jiffies, refused | 20 C: 5, sent (stamp 20) | 36 D: 4, refused
    //      | 40 E: 5, sent | 44 F (time exceeded): 1, refused | 100 G (time exceeded): 15, sent.
    const pk = [pkt('rej', 0, 0), pkt('rej', 1, 16), pkt('rej', 2, 20), pkt('rej', 3, 36), pkt('rej', 4, 40),
      pkt('ttl', 5, 44), pkt('ttl', 6, 100)];
    const r = replay(d, pk, { 'net.ipv4.icmp_msgs_burst': 0 });
    expect(r.own).toEqual([['3/3', 1], ['3/3', 3], ['3/3', 5], ['11/0', 7]]);
    expect(r.count(/\[(\d+):\d+\] -A FORWARD -p udp -m udp --dport 9 -j REJECT/)).toBe(5);
    // per_sec 10: incr = 10 * delta / 250 is 0 below 25 jiffies (100 ms) even past HZ/50:
    // 0 sent | 96 ms (24 jiffies): refused | 100 (25): sent | 196 (24 after): refused | 1400 (delta
    // min(325, 250) = 250: incr 10): sent.
    const pk2 = [pkt('rej', 0, 0), pkt('rej', 1, 96), pkt('rej', 2, 100), pkt('rej', 3, 196), pkt('rej', 4, 1400)];
    expect(replay(tmp(), pk2, { 'net.ipv4.icmp_msgs_burst': 0, 'net.ipv4.icmp_msgs_per_sec': 10 }).own)
      .toEqual([['3/3', 1], ['3/3', 3], ['3/3', 5]]);
    // icmp_msgs_per_sec 0: incr is always 0, no limited error at all
    expect(replay(tmp(), pk, { 'net.ipv4.icmp_msgs_per_sec': 0 }).own).toEqual([]);
  });

  it('never limited: TCP resets, echo replies, frag needed, redirects, and packets that came in on loopback', () => {
    const d = tmp();
    // per_sec 0: no error of a limited type is ever sent (see above); all of these still are.
    // The redirect: 192.0.2.200 is on eth0's subnet, the packet came in on eth0 (send_redirects 1).
    const pk = [pkt('rej', 0, 0), pkt('rst', 1, 0), pkt('ping', 2, 0), pkt('big', 3, 0), pkt('hairpin', 4, 0),
      pkt('ttl', 5, 0), pkt('lo', 6, 0), pkt('lo', 7, 0)];
    const r = replay(d, pk, { 'net.ipv4.icmp_msgs_per_sec': 0, 'net.ipv4.conf.all.route_localnet': 1 });
    expect(r.own).toEqual([['rst', 2], ['0/0', 3], ['3/4', 4], ['5/1', 5], ['3/3', 56], ['3/3', 57]]);
    // the loopback packets' errors (to 203.0.113.56 and .57, out of eth1): both sent, counted by OUTPUT rule 1
    expect(r.count(/\[(\d+):\d+\] -A OUTPUT -p icmp -m icmp --icmp-type 3\/3/)).toBe(2);
    // with icmp_ratemask 0 nothing is limited: the rej and ttl errors are sent too
    const all = replay(tmp(), pk, { 'net.ipv4.icmp_msgs_per_sec': 0, 'net.ipv4.icmp_ratemask': 0, 'net.ipv4.conf.all.route_localnet': 1 });
    expect(all.own.map((x) => x[0])).toEqual(['3/3', 'rst', '0/0', '3/4', '5/1', '11/0', '3/3', '3/3']);
    // with bit 0 (echo reply) in the mask, icmp_reply is limited too: the echo reply is gone
    const echo = replay(tmp(), pk, { 'net.ipv4.icmp_msgs_per_sec': 0, 'net.ipv4.icmp_ratemask': 0x1819, 'net.ipv4.conf.all.route_localnet': 1 });
    expect(echo.own.map((x) => x[0])).toEqual(['rst', '3/4', '5/1', '3/3', '3/3']);
  });

  it('the sysctls are ints, as the kernel keeps them: a larger value is an error naming it', () => {
    const d = tmp();
    writeFileSync(join(d, 'rules'), RULES);
    writeCapture(join(d, 'c.pcapng'), ['eth0', 'eth1', 'lo'], [pkt('rej', 0, 0)]);
    writeFileSync(join(d, 'host.json'), JSON.stringify({ ...HOST, sysctl: { 'net.ipv4.icmp_msgs_burst': 2147483648 } }, null, 1));
    const r = cli(['replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'c.pcapng'), '--host', join(d, 'host.json'), '--quiet']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/host\.json:\d+:\d+: host: sysctl 'net\.ipv4\.icmp_msgs_burst' must be at most 2147483647/);
  });

  it('default burst 50: the first error refills to 50, each sent one takes 0-2 credits (seeded draws); 1, 2 and 4 workers agree', () => {
    // 300 rejected packets from 300 sources 0.1 ms apart (30 ms: jiffies 0..7), then 200 more 1.5 s
    // later (2 ms: one jiffy). Per-peer limiter: each source is new (full bucket), never refuses.
    const pk: Pkt[] = [];
    for (let i = 0; i < 300; i++) pk.push({ ...pkt('rej', i, 0), src: `198.18.${i >> 8}.${i & 255}`, t: i / 10000 });
    for (let i = 0; i < 200; i++) pk.push({ ...pkt('rej', 300 + i, 0), src: `198.19.${i >> 8}.${i & 255}`, t: 1.5 + i / 100000 });
    const host = { ...HOST, routes: [...HOST.routes, { dst: '198.18.0.0/15', via: '192.0.2.1', dev: 'eth0' }] };
    const d = tmp();
    const outs = ['1', '2', '4'].map((w) => replay(d, pk, {}, w, '7', host));
    // The model, step by step: packet i (ordinal i) at jiffy j_i = floor(t_i * 250) (t from the
    // capture's start, whole seconds 1700000000 apart: 250 * 1700000000 is whole).
    const seed = 7n;
    let credit = 0, stamp = -1, sent: number[] = [];
    pk.forEach((p, i) => {
      const now = Math.floor(Math.round(p.t * 1e9) * 250 / 1e9);
      let ok = credit > 0;
      if (!ok) {
        const delta = stamp < 0 ? 250 : Math.min(now - stamp, 250);
        const incr = Math.floor(1000 * delta / 250);
        if (delta >= 5 && incr > 0) { stamp = now; credit = Math.min(credit + incr, 50); ok = true; }
      }
      if (ok) { credit -= below3(seed, i); sent.push(i); }
    });
    const first = sent.filter((i) => i < 300).length, second = sent.length - first;
    // Bounds that hold for any draws: a window sends until its draws add up to the credit, so at
    // least 25 of a full bucket (draws <= 2). The first burst lasts 30 ms (jiffies 0..7): once the
    // 50 are used up, a refill of at most 1000 * 7 / 250 = 28 is due from jiffy 5 on.
    expect(first).toBeGreaterThanOrEqual(25);
    expect(first).toBeLessThanOrEqual(300);
    expect(second).toBeGreaterThanOrEqual(25);
    const save = outs[0].save;
    expect(Number(/\[(\d+):\d+\] -A FORWARD -p udp -m udp --dport 9 -j REJECT/.exec(save)?.[1])).toBe(500);
    expect(Number(/\[(\d+):\d+\] -A OUTPUT -p icmp -m icmp --icmp-type 3\/3/.exec(save)?.[1])).toBe(sent.length);
    const { batch: b } = parseCaptureBuffer(new Uint8Array(outs[0].out));
    // --out: the errors, each to the source of the packet the model sent one for, in order
    const dsts = Array.from({ length: b.count }, (_, i) => b.data.subarray(b.offset[i], b.offset[i] + b.caplen[i]))
      .map((f) => Array.from(f.subarray(14 + 16, 14 + 20)).join('.'));
    expect(dsts).toEqual(sent.map((i) => pk[i].src));
    expect(sent.length).toBeLessThan(500);
    // 1, 2 and 4 workers: byte-identical counters and --out (every packet that consults the limiter
    // is replayed in one shard, in capture order)
    for (const o of outs.slice(1)) {
      expect(o.save).toBe(outs[0].save);
      expect(Buffer.compare(o.out, outs[0].out)).toBe(0);
    }
  });
});
