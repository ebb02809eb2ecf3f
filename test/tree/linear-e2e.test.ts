// The whole engine, trees against --linear: random ClassBench-style iptables-save rulesets (prefixes,
// port ranges, multiport, protocol wildcards, negations, -i/-o with `+`, -f, jumps, gotos, RETURN,
// LOG, count-only rules, DROP policies, statistic/limit/recent matches before or after the port
// tests) and captures of packets biased to the rules' boundaries
// (fragments included) replayed twice through replay(): every counter, every drop and every
// forwarded frame must be identical. Seeds are printed on failure (TREE_SEED to rerun).
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario, cleanup, tmp, type Pkt } from '../e2e/helpers.js';
import { rng } from '../../src/compile/tree-gen.js';
import type { HostModel } from '../../src/host/index.js';

afterAll(cleanup);

export const host: HostModel = {
  interfaces: [
    { name: 'eth0', addresses: ['192.0.2.1/24'], mtu: 1500 },
    { name: 'eth1', addresses: ['198.51.100.1/24'], mtu: 1500 },
    { name: 'eth2', addresses: ['203.0.113.1/24'], mtu: 1500 },
  ],
  routes: [{ dst: '198.18.0.0/15', via: '203.0.113.254', dev: 'eth2' }, { dst: 'default', via: '198.51.100.254', dev: 'eth1' }],
  ingress: 'eth0',
  sysctl: {},
};

const ip = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export function scenario(seed: number, nRules: number, nPkts: number): { rules: string; pkts: Pkt[] } {
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const chance = (p: number): boolean => r() < p;
  // address pools: sources behind eth0/eth2, destinations routed out eth1 or eth2
  const srcNets = [0x0a000000, 0x0a010000, 0x0a7f0000, 0xac100000, 0xcb007100]; // 10/8, 10.1/16, 10.127/16, 172.16/12, 203.0.113/24
  const dstNets = [0xc6120000, 0xc6130000, 0xc6336400, 0x08080000, 0x5db8d800]; // 198.18/16, 198.19/16, 198.51.100/24, 8.8/16, 93.184.216/24
  const addrIn = (nets: number[]): number => (pick(nets) | Math.floor(r() * 65536)) >>> 0;
  const prefix = (a: number): string => { const l = pick([8, 16, 24, 28, 32, 32, 32]); const m = l === 32 ? 0xffffffff : (~(0xffffffff >>> l)) >>> 0; return `${ip((a & m) >>> 0)}/${l}`; };
  const ports: number[] = [0, 1, 22, 53, 80, 443, 1023, 1024, 8080, 65535];
  const used = { ports: new Set<number>(ports), src: [] as number[], dst: [] as number[] };
  const rule = (user: boolean): string => {
    const w: string[] = [];
    if (chance(0.4)) { const a = addrIn(srcNets); used.src.push(a); w.push(`${chance(0.1) ? '! ' : ''}-s ${prefix(a)}`); }
    if (chance(0.5)) { const a = addrIn(dstNets); used.dst.push(a); w.push(`${chance(0.1) ? '! ' : ''}-d ${prefix(a)}`); }
    if (chance(0.25)) w.push(`${chance(0.15) ? '! ' : ''}-i ${pick(['eth0', 'eth2', 'eth+', '+'])}`);
    if (chance(0.2)) w.push(`${chance(0.15) ? '! ' : ''}-o ${pick(['eth1', 'eth2', 'eth+'])}`);
    const p = chance(0.75) ? pick(['tcp', 'tcp', 'udp', 'icmp']) : null;
    const pInv = p !== null && chance(0.08);
    if (p) w.push(`${pInv ? '! ' : ''}-p ${p}`);
    // matches with side effects (nth counters, random draws, token buckets, recent lists) before
    // or after the port test: the order decides whether a port miss still runs them
    const side = chance(0.15) ? pick(['-m statistic --mode nth --every 3 --packet 1', '-m statistic --mode random --probability 0.50000000000',
      '-m limit --limit 50/sec --limit-burst 3', '-m recent --name R --set']) : '';
    const sideFirst = chance(0.5);
    if (side && sideFirst) w.push(side);
    if (!pInv && (p === 'tcp' || p === 'udp') && chance(0.7)) {
      const port = (): string => { const a = pick([...used.ports]); if (chance(0.3)) { const b = Math.min(65535, a + Math.floor(r() * 2000)); used.ports.add(b); return `${a}:${b}`; } return String(a); };
      if (chance(0.15)) w.push(`-m multiport ${chance(0.1) ? '! ' : ''}--dports ${[port(), port(), port()].join(',')}`);
      else {
        const o: string[] = [];
        if (chance(0.25)) o.push(`${chance(0.1) ? '! ' : ''}--sport ${port()}`);
        if (chance(0.85)) o.push(`${chance(0.1) ? '! ' : ''}--dport ${port()}`);
        w.push(`-m ${p} ${o.join(' ')}`);
      }
    } else if (!pInv && p === 'icmp' && chance(0.5)) w.push('-m icmp --icmp-type 8');
    if (side && !sideFirst) w.push(side);
    if (chance(0.03)) w.push(chance(0.5) ? '-f' : '! -f');
    const t = user
      ? pick(['-j RETURN', '-j ACCEPT', '-j DROP', '', '-j LOG --log-prefix "u "', '-j RETURN'])
      : pick(['-j ACCEPT', '-j ACCEPT', '-j DROP', '', '-j U', '-j U', '-g U', '-j LOG --log-prefix "f "', '-j REJECT']);
    if (t) w.push(t);
    return w.join(' ');
  };
  const lines = ['*filter', `:INPUT ACCEPT [0:0]`, `:FORWARD ${chance(0.5) ? 'DROP' : 'ACCEPT'} [0:0]`, ':OUTPUT ACCEPT [0:0]', ':U - [0:0]'];
  for (let i = 0; i < nRules; i++) lines.push(`-A FORWARD ${rule(false)}`.trimEnd());
  for (let i = 0; i < Math.max(4, nRules >> 2); i++) lines.push(`-A U ${rule(true)}`.trimEnd());
  lines.push('COMMIT', '');
  // packets: addresses and ports at and around what the rules test
  const near = (a: number): number => (a + pick([0, 0, 1, -1, 255, 256, -256, 65535, 65536])) >>> 0;
  const pkts: Pkt[] = [];
  const pl = [...used.ports];
  for (let i = 0; i < nPkts; i++) {
    const src = near(used.src.length && chance(0.7) ? pick(used.src) : addrIn(srcNets));
    const dst = near(used.dst.length && chance(0.7) ? pick(used.dst) : addrIn(dstNets));
    const s = ip(src), d = ip(dst);
    if (d.startsWith('203.0.113.') || d.startsWith('192.0.2.')) continue; // not to the host's own subnets
    const proto = pick(['tcp', 'tcp', 'udp', 'icmp'] as const);
    const port = (): number => Math.max(0, Math.min(65535, pick(pl) + pick([0, 0, -1, 1])));
    const frag = chance(0.05);
    pkts.push({
      on: pick(['eth0', 'eth0', 'eth2']), src: s, dst: d, proto, sport: port(), dport: port(), flags: 'S',
      ...(frag ? (chance(0.5) ? { mf: true } : { fragOffset: 8 * (1 + Math.floor(r() * 100)) }) : {}),
      payload: Math.floor(r() * 40),
    });
  }
  return { rules: lines.join('\n'), pkts };
}


type Run = Awaited<ReturnType<typeof runScenario>>;
/** The trees' run `a` and the --linear run `b` agree on counters, drops and forwarded frames;
 * returns how many rules counted a packet. */
function expectSameAsLinear(a: Run, b: Run, seed: number): number {
  const ka = a.engine.counters(), kb = b.engine.counters();
  expect(ka.packets, `seed ${seed} packet counters`).toEqual(kb.packets);
  expect(ka.bytes, `seed ${seed} byte counters`).toEqual(kb.bytes);
  expect([...a.drops.entries()].sort(), `seed ${seed} drops`).toEqual([...b.drops.entries()].sort());
  expect(readFileSync(a.out).equals(readFileSync(b.out)), `seed ${seed} forwarded frames`).toBe(true);
  return ka.packets.filter((x: bigint) => x > 0n).length;
}

describe('trees = --linear through the whole engine (random rulesets, boundary packets)', () => {
  const base = Number(process.env.TREE_SEED ?? 4004);
  let counted = 0;
  let hitLeaves = 0; // decided leaves (NODE_LEAF_HIT: the core skips the first rule's checks)
  for (let c = 0; c < 6; c++) {
    const seed = base + c;
    const nRules = [40, 120, 400][c % 3];
    it(`seed ${seed}: ${nRules} FORWARD rules (rerun with TREE_SEED=${base})`, async () => {
      const { rules: text, pkts } = scenario(seed, nRules, 600);
      const rules = join(tmp(), 'r.rules');
      writeFileSync(rules, text);
      const a = await runScenario(rules, host, pkts, { seed: 1 });
      const b = await runScenario(rules, host, pkts, { seed: 1, linear: true });
      // the tree really is a tree here (not one leaf per chain)
      expect(a.compiled.chains.find((ch) => ch.name === 'FORWARD')?.structure, `seed ${seed}`).not.toBe('leaf');
      counted += expectSameAsLinear(a, b, seed);
      for (const ch of a.compiled.chains) hitLeaves += ch.treeStats?.hitLeaves ?? 0;
    }, 60_000);
  }
  // The same with every chain of two or more rule groups partitioned (NODE_MULTI: several
  // structures whose leaves the interpreter merges in rule order; jumps from such a chain resume
  // after the calling rule by classifying the chain again). Default compiles partition from 1,000
  // rules (src/compile/tree.ts MULTI_MIN_RULES); NFREPLAY_TREE_MULTI=force makes these small
  // rulesets partitioned too.
  for (let c = 0; c < 4; c++) {
    const seed = base + 100 + c;
    const nRules = [60, 200, 400, 120][c];
    it(`seed ${seed}: ${nRules} FORWARD rules, partitioned chains (rerun with TREE_SEED=${base})`, async () => {
      const { rules: text, pkts } = scenario(seed, nRules, 600);
      const rules = join(tmp(), 'r.rules');
      writeFileSync(rules, text);
      process.env.NFREPLAY_TREE_MULTI = 'force';
      let a;
      try { a = await runScenario(rules, host, pkts, { seed: 1 }); } finally { delete process.env.NFREPLAY_TREE_MULTI; }
      const b = await runScenario(rules, host, pkts, { seed: 1, linear: true });
      expect(a.compiled.chains.find((ch) => ch.name === 'FORWARD')?.structure, `seed ${seed}`).toBe('multi');
      counted += expectSameAsLinear(a, b, seed);
      for (const ch of a.compiled.chains) for (const t of ch.treeStats?.trees ?? [ch.treeStats]) hitLeaves += t?.hitLeaves ?? 0;
    }, 60_000);
  }
  it('an nth counter before a port test counts packets that fail the port test (hand-counted)', async () => {
    // every tcp packet reaches the statistic match (evaluation index i = 0..7); it matches when
    // i % 2 == packet; dport alternates 80, 81 so even i are the port-80 packets.
    // --packet 0: i = 0, 2, 4, 6 match and are port 80 -> 4. --packet 1: odd i are port 81 -> 0.
    // A structure that hid the port-81 packets from rule 1 would count 2 in both.
    const fill = Array.from({ length: 30 }, (_, x) => `-A FORWARD -d 198.18.0.${x}/32 -p tcp -m tcp --dport ${1000 + x} -j ACCEPT`);
    for (const [packet, want] of [[0, 4], [1, 0]]) {
      const text = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
        `-A FORWARD -p tcp -m statistic --mode nth --every 2 --packet ${packet} -m tcp --dport 80 -j LOG --log-prefix "nth "`, ...fill, 'COMMIT', ''].join('\n');
      const rules = join(tmp(), 'r.rules');
      writeFileSync(rules, text);
      const pkts: Pkt[] = Array.from({ length: 8 }, (_, i) => ({ on: 'eth0', src: '10.0.0.1', dst: '198.51.100.9', proto: 'tcp', sport: 40000 + i, dport: i % 2 ? 81 : 80, flags: 'S' }));
      for (const linear of [false, true]) {
        const r = await runScenario(rules, host, pkts, { seed: 1, linear });
        if (!linear) expect(r.compiled.chains.find((ch) => ch.name === 'FORWARD')?.structure).not.toBe('leaf');
        expect(r.cnt('filter/FORWARD#1')[0], `--packet ${packet} linear=${linear}`).toBe(want);
      }
    }
  });

  it('decided leaves (NODE_LEAF_HIT): exact VIP:port rules with every kind of target, = --linear', async () => {
    // kube-proxy-like exact rules (-d VIP/32 -p tcp|udp --dport P): the hash probe decides the
    // first rule of the entry, and the core counts it and runs its target without checking it —
    // including targets that go on (count-only, LOG) or come back (-j U, U returns)
    const r = rng(4100);
    const targets = ['-j ACCEPT', '', '-j LOG --log-prefix "x "', '-j U', '-j DROP', '-j REJECT', '-g U'];
    const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':U - [0:0]'];
    const vips: [string, string, number][] = [];
    for (let x = 0; x < 80; x++) {
      const vip = `198.18.${x >> 4}.${x & 15}`, proto = x % 5 === 4 ? 'udp' : 'tcp', port = [80, 443, 53, 8080][x % 4];
      vips.push([vip, proto, port]);
      lines.push(`-A FORWARD -d ${vip}/32 -p ${proto} -m comment --comment "svc ${x}" -m ${proto} --dport ${port} ${targets[x % targets.length]}`.trimEnd());
      if (x % 9 === 0) lines.push(`-A FORWARD -d ${vip}/32 -p ${proto} -m ${proto} --dport ${port} -j ACCEPT`); // a second rule of the same entry
    }
    lines.push('-A FORWARD -p tcp -m tcp --dport 80 -j LOG --log-prefix "tail "', '-A FORWARD -j DROP');
    lines.push('-A U -p udp -j RETURN', '-A U -d 198.18.1.0/24 -j ACCEPT', '-A U -j RETURN', 'COMMIT', '');
    const rules = join(tmp(), 'r.rules');
    writeFileSync(rules, lines.join('\n'));
    const pkts: Pkt[] = [];
    for (let i = 0; i < 500; i++) {
      const [vip, proto, port] = vips[Math.floor(r() * vips.length)];
      const miss = r() < 0.2;
      pkts.push({ on: 'eth0', src: `10.0.${i & 255}.7`, dst: vip, proto: miss ? (proto === 'tcp' ? 'udp' : 'tcp') : proto as 'tcp' | 'udp', sport: 40000 + i, dport: miss && r() < 0.5 ? port + 1 : port, flags: 'S' });
    }
    const a = await runScenario(rules, host, pkts, { seed: 1 });
    const b = await runScenario(rules, host, pkts, { seed: 1, linear: true });
    const fw = a.compiled.chains.find((ch) => ch.name === 'FORWARD');
    expect(fw?.treeStats?.hitLeaves ?? 0).toBeGreaterThan(40);
    const ka = a.engine.counters(), kb = b.engine.counters();
    expect(ka.packets).toEqual(kb.packets);
    expect(ka.bytes).toEqual(kb.bytes);
    expect([...a.drops.entries()].sort()).toEqual([...b.drops.entries()].sort());
    expect(readFileSync(a.out).equals(readFileSync(b.out))).toBe(true);
    // every kind of target was taken through a decided leaf (hand check: rule x has target x % 7)
    const hitTargets = new Set<number>();
    for (let x = 0; x < 80; x++) if (a.cnt(`filter/FORWARD#${x + 1 + Math.floor((x + 8) / 9)}`)[0] > 0) hitTargets.add(x % targets.length);
    expect(hitTargets.size).toBe(targets.length);
  });

  it('the rulesets above were not trivial: many rules counted packets', () => {
    expect(counted).toBeGreaterThan(40);
    expect(hitLeaves).toBeGreaterThan(0);
  });
});
