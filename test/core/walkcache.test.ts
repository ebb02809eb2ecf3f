// The core's walk cache (assembly/walkcache.ts) must be invisible: every scenario replayed with the
// cache on (the default) and off (NFREPLAY_TEST_NO_WALK_CACHE=1, the engine's test switch) gives
// byte-identical outputs: the report on stdout, --save-counters, --conntrack, --out, --drops
// (every dropped packet and its cause) and --json. The second implementation here is the plain
// walk itself (the cache off), which the rest of the suite and the kernel cases check.
// Scenarios: the k8s Service capture (pcaps/k8s/service3, 1 and 2 workers), the seed rulesets with
// generated conversations, and a ruleset built to defeat a careless cache (skb marks that change
// per packet, CONNMARK save/restore, ct status changes, tcp flags, limit/statistic/recent/length/
// --ctexpire in the walk, REJECT, a user chain RETURN, a tiny conntrack table so that entries are
// reused and early-dropped, UDP timeouts that expire connections), and one whose walks read no
// header field (the global slots) but turn on ctinfo, ct status, ct mark and skb mark.
// An in-process replay of each checks the cache was used (hits > 0), so that the comparison is
// not vacuous, and that it was not used when off.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, cleanup, cli, writeCapture, rng, ROUTER, type Pkt } from '../replay/helpers.js';
import { parseRuleset } from '../../src/rules/parse.js';
import { compile } from '../../src/compile/image.js';
import { lowerHost, type HostModel } from '../../src/host/index.js';
import { Engine } from '../../src/replay/engine.js';
import { replayCapture } from '../../src/replay/feed.js';

afterAll(cleanup);
const ROOT = new URL('../../', import.meta.url).pathname;
const R = (n: string) => readFileSync(join(ROOT, 'pcaps/rulesets', n), 'utf8');

/** TCP/UDP/ICMP conversations through ROUTER (eth0 192.0.2.254 inside, eth1 198.51.100.1 outside):
 * outbound from 192.0.2.x (replies to the masqueraded 198.51.100.1, same port), inbound to
 * 198.51.100.1:80 (replies from 192.0.2.1:80 to `inReplyTo`, or to the client), interleaved. */
function conversations(seed: number, n: number, o: { inReplyTo?: string; span?: number } = {}): Pkt[] {
  const r = rng(seed);
  const ev: Pkt[] = [];
  const span = o.span ?? 20;
  for (let c = 0; c < n; c++) {
    let t = r() * span;
    const step = () => (t += 0.001 + r() * (r() < 0.05 ? 40 : 0.05));
    const inbound = r() < 0.25;
    const cport = 20000 + c;
    const cl = inbound ? `203.0.113.${1 + (c % 7)}` : `192.0.2.${2 + (c % 12)}`;
    const sv = inbound ? '198.51.100.1' : `203.0.113.${1 + (c % 5)}`;
    const svPort = inbound ? 80 : [80, 443, 8080, 22][c % 4];
    // the reply as it reaches the router
    const rsrc = inbound ? '192.0.2.1' : sv;
    const rdst = inbound ? (o.inReplyTo ?? cl) : '198.51.100.1';
    // now and then a packet arrives on the other interface (asymmetric paths: same tuple, other iif)
    const flip = (i: string) => (r() < 0.03 ? (i === 'eth0' ? 'eth1' : 'eth0') : i);
    const ci = inbound ? 'eth1' : 'eth0', si = inbound ? 'eth0' : 'eth1';
    const kind = r();
    if (kind < 0.65) {
      let cs = 1000 + c, ss = 90000 + c;
      ev.push({ on: flip(ci), t: step(), src: cl, dst: sv, sport: cport, dport: svPort, flags: 'S', seq: cs });
      ev.push({ on: flip(si), t: step(), src: rsrc, dst: rdst, sport: svPort, dport: cport, flags: 'SA', seq: ss, ack: cs + 1 });
      cs++; ss++;
      ev.push({ on: flip(ci), t: step(), src: cl, dst: sv, sport: cport, dport: svPort, flags: 'A', seq: cs, ack: ss });
      const m = Math.floor(r() * 12);
      for (let k = 0; k < m; k++) {
        const len = r() < 0.3 ? 0 : Math.floor(r() * 1400);
        const payload = new Uint8Array(len);
        const fl = r() < 0.1 ? 'UA' : len ? 'PA' : 'A';
        const bad = r() < 0.05 ? 1 << 30 : 0; // out of window now and then
        if (r() < 0.5) { ev.push({ on: flip(ci), t: step(), src: cl, dst: sv, sport: cport, dport: svPort, flags: fl, seq: cs + bad, ack: ss, payload }); if (!bad) cs += len; }
        else { ev.push({ on: flip(si), t: step(), src: rsrc, dst: rdst, sport: svPort, dport: cport, flags: fl, seq: ss + bad, ack: cs, payload }); if (!bad) ss += len; }
      }
      if (r() < 0.2) ev.push({ on: r() < 0.5 ? ci : si, t: step(), src: cl, dst: sv, sport: cport, dport: svPort, flags: 'R', seq: cs });
      else if (r() < 0.8) {
        ev.push({ on: flip(ci), t: step(), src: cl, dst: sv, sport: cport, dport: svPort, flags: 'FA', seq: cs, ack: ss });
        ev.push({ on: flip(si), t: step(), src: rsrc, dst: rdst, sport: svPort, dport: cport, flags: 'FA', seq: ss, ack: cs + 1 });
        ev.push({ on: flip(ci), t: step(), src: cl, dst: sv, sport: cport, dport: svPort, flags: 'A', seq: cs + 1, ack: ss + 1 });
      }
    } else if (kind < 0.9) {
      const m = 1 + Math.floor(r() * 20);
      for (let k = 0; k < m; k++) {
        const payload = new Uint8Array(Math.floor(r() * 300));
        if (k === 0 || r() < 0.6) ev.push({ on: flip(ci), t: step(), proto: 'udp', src: cl, dst: sv, sport: cport, dport: 53, payload });
        else ev.push({ on: flip(si), t: step(), proto: 'udp', src: rsrc, dst: rdst, sport: 53, dport: cport, payload });
      }
    } else {
      const m = 1 + Math.floor(r() * 4);
      for (let k = 0; k < m; k++) {
        ev.push({ on: flip(ci), t: step(), proto: 'icmp', src: cl, dst: sv, icmpType: 8, icmpId: c, icmpSeq: k });
        if (r() < 0.8) ev.push({ on: flip(si), t: step(), proto: 'icmp', src: rsrc, dst: inbound ? rdst : '198.51.100.1', icmpType: 0, icmpId: c, icmpSeq: k });
      }
    }
  }
  return ev.sort((a, b) => a.t - b.t);
}

// Rules a careless cache would get wrong (see the header).
const TRICKY = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -j CONNMARK --restore-mark --mask 0x6
-A PREROUTING -p tcp -m length --length 0:200 -j MARK --or-mark 0x1
-A PREROUTING -p udp -s 192.0.2.3 -m statistic --mode random --probability 0.3 -j MARK --or-mark 0x8
-A FORWARD -p tcp -s 192.0.2.7 --tcp-flags PSH PSH -j LOG
-A FORWARD -m mark --mark 0x1/0x1 -j MARK --or-mark 0x10
-A POSTROUTING -o eth1 -m conntrack --ctstate ESTABLISHED -j MARK --xor-mark 0x20
-A POSTROUTING -p tcp -s 192.0.2.4 -j CONNMARK --save-mark --mask 0x1
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 198.51.100.1 -p tcp --dport 80 -j DNAT --to-destination 192.0.2.1:80
-A PREROUTING -d 198.51.100.1 -p udp --dport 53 -j DNAT --to-destination 192.0.2.1
-A PREROUTING -d 198.51.100.1 -p icmp -j DNAT --to-destination 192.0.2.1
-A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:EST - [0:0]
:ASSURED - [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A FORWARD -p tcp -s 192.0.2.4 -m connmark --mark 0x1/0x1 -j MARK --or-mark 0x200
-A FORWARD -p tcp -s 192.0.2.6 -m conntrack --ctstate ESTABLISHED --ctexpire 0:200 -j LOG
-A FORWARD -s 192.0.2.8 -m recent --name A --rcheck --seconds 1 --hitcount 4 -j LOG
-A FORWARD -i eth1 -s 192.0.2.0/24 -j LOG
-A FORWARD -m conntrack --ctstatus ASSURED -j ASSURED
-A FORWARD -m mark --mark 0x10/0x10 -j EST
-A FORWARD -p udp -s 192.0.2.5 -m limit --limit 20/s --limit-burst 1 -j LOG
-A FORWARD -p tcp -m conntrack --ctstate ESTABLISHED -m connmark --mark 0x0/0x2 -m multiport --dports 443,8080 -j CONNMARK --set-mark 0x2/0x2
-A FORWARD -p tcp -m conntrack --ctstate ESTABLISHED -m connmark --mark 0x2/0x2 -j MARK --or-mark 0x40
-A FORWARD -p tcp -s 192.0.2.9 -m length --length 1000:65535 -j DROP
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -m addrtype ! --dst-type LOCAL -j ACCEPT
-A FORWARD -s 192.0.2.0/24 -i eth0 -o eth1 -j ACCEPT
-A FORWARD -d 192.0.2.1 -p tcp --dport 80 -j ACCEPT
-A FORWARD -d 192.0.2.1 -p udp -j ACCEPT
-A FORWARD -p icmp -j ACCEPT
-A EST -m iprange --src-range 192.0.2.2-192.0.2.5 -j RETURN
-A EST -m conntrack --ctdir REPLY -m mark --mark 0x40/0x40 -j ACCEPT
-A EST -p tcp -m tcp --dport 22 -s 192.0.2.10 -j REJECT --reject-with tcp-reset
-A EST -m conntrack --ctdir ORIGINAL -j MARK --or-mark 0x100
-A EST -m mark --mark 0x100/0x100 -j RETURN
-A ASSURED -m state --state ESTABLISHED -m comment --comment "x"
-A ASSURED -p tcp -m tcp --sport 80 -j ACCEPT
-A ASSURED -p tcp -s 192.0.2.8 -m recent --name A --set
-A ASSURED -p udp -s 192.0.2.11 -m statistic --mode nth --every 3 --packet 0 -j ACCEPT
-A ASSURED -m mark --mark 0x1/0x1 -j RETURN
COMMIT
`;

// Walks that read no header field (kept in the global slots, shared by all connections) whose
// outcome turns on what those slots key on: ctinfo, ct status, ct mark, skb mark; and rules
// without base-match fields that do read the packet or the ct's tuple (iprange, --ctorigdst), and
// a chain long enough for a decision tree (whose walk reads header fields whatever rules it picks).
const STATEFUL = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -j CONNMARK --restore-mark --mask 0x4
-A PREROUTING -p tcp -m length --length 0:200 -j MARK --or-mark 0x1
-A POSTROUTING -p tcp -m length --length 0:100 -j CONNMARK --save-mark --mask 0x1
-A POSTROUTING -p udp -m length --length 0:100 -j CONNMARK --set-mark 0x4/0x4
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 198.51.100.1 -p tcp --dport 80 -j DNAT --to-destination 192.0.2.1:80
-A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:I - [0:0]
:S - [0:0]
:C - [0:0]
:D - [0:0]
:E - [0:0]
:H1 - [0:0]
:H2 - [0:0]
:T - [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j I
-A FORWARD -m state --state NEW -j S
-A FORWARD -j C
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -m conntrack --ctstate NEW -j ACCEPT
-A I -j LOG
-A I -m mark --mark 0x1/0x1 -j ACCEPT
-A S -m mark --mark 0x1/0x1 -j RETURN
-A S -j MARK --or-mark 0x2
-A C -m conntrack --ctstatus ASSURED -j LOG
-A C -m conntrack --ctstatus SEEN_REPLY ! --ctstate NEW -j LOG
-A C -m conntrack --ctstate DNAT -j LOG
-A C -m conntrack --ctdir REPLY -j D
-A C -j E
-A C -j T
-A D -m connmark --mark 0x1/0x1 -j MARK --or-mark 0x8
-A D -m mark --mark 0x8/0x8 -j LOG
-A E -m comment --comment "chains of few rules stay single leaves (a tree reads header fields)"
-A E -m mark --mark 0x1/0x1 -j LOG
-A E -m mark --mark 0x2/0x2 -j LOG
-A E -m connmark --mark 0x1/0x1 -j LOG
-A E -m connmark --mark 0x4/0x4 -m conntrack --ctdir ORIGINAL -j H1
-A E -m connmark --mark 0x4/0x4 -m conntrack --ctdir REPLY -j H2
-A H1 -m conntrack --ctorigdst 203.0.113.3 -j LOG
-A H2 -m iprange --src-range 203.0.113.1-203.0.113.2 -j LOG
-A T -s 192.0.2.3 -j LOG
-A T -s 192.0.2.4 -j LOG
-A T -d 203.0.113.2 -j LOG
-A T -s 192.0.2.5 -j LOG
-A T -s 192.0.2.6 -j LOG
-A T -s 192.0.2.7 -j LOG
-A T -s 192.0.2.8 -j LOG
-A T -s 192.0.2.9 -j LOG
-A T -s 192.0.2.10 -j LOG
-A T -m mark --mark 0x1/0x1 -j LOG
COMMIT
`;

interface Scenario { name: string; rules: string; host: HostModel; pkts?: Pkt[]; pcap?: string; workers?: number[] }
const smallCt: HostModel = { ...ROUTER, sysctl: { 'net.netfilter.nf_conntrack_max': 48, 'net.netfilter.nf_conntrack_udp_timeout': 5 } };
const k8s = join(ROOT, 'pcaps/k8s/service3');
const SCENARIOS: Scenario[] = [
  { name: 'k8s service3 capture', rules: readFileSync(join(k8s, 'rules.txt'), 'utf8'), host: JSON.parse(readFileSync(join(k8s, 'host.json'), 'utf8')) as HostModel, pcap: join(k8s, 'service3.pcap'), workers: [1, 2] },
  { name: 'nat-router', rules: R('nat-router.rules'), host: ROUTER, pkts: conversations(1, 300) },
  { name: 'port-forward', rules: R('port-forward.rules'), host: ROUTER, pkts: conversations(2, 300, { inReplyTo: '192.0.2.254' }) },
  { name: 'tricky rules', rules: TRICKY, host: ROUTER, pkts: conversations(3, 400), workers: [1, 2] },
  { name: 'state/mark-only walks (global slots)', rules: STATEFUL, host: ROUTER, pkts: conversations(5, 400) },
  { name: 'tricky rules, 48-entry conntrack table', rules: TRICKY, host: smallCt, pkts: conversations(4, 400, { span: 60 }) },
];

function files(dir: string, s: Scenario): { pcap: string; host: string; rules: string } {
  const rules = join(dir, 'rules'), host = join(dir, 'host.json');
  writeFileSync(rules, s.rules);
  writeFileSync(host, JSON.stringify(s.host));
  let pcap = s.pcap ?? join(dir, 'in.pcapng');
  if (!s.pcap) writeCapture(pcap, s.host.interfaces.map((i) => i.name), s.pkts!);
  return { pcap, host, rules };
}

/** Every output of one CLI replay, by name. */
function outputs(f: { pcap: string; host: string; rules: string }, workers: number, off: boolean): Record<string, string> {
  const d = tmp();
  const o = { c: join(d, 'c'), ct: join(d, 'ct'), out: join(d, 'o.pcap'), j: join(d, 'j.json'), dr: join(d, 'd.pcap') };
  const r = cli(['replay', '--rules', f.rules, '--pcap', f.pcap, '--host', f.host, '--seed', '7', '--save-counters', o.c, '--conntrack', o.ct,
    '--out', o.out, '--json', o.j, '--drops', o.dr, '--workers', String(workers), '--quiet'], 120000, off ? { NFREPLAY_TEST_NO_WALK_CACHE: '1' } : {});
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const res: Record<string, string> = { stdout: r.stdout };
  for (const [k, p] of Object.entries(o)) res[k] = existsSync(p) ? readFileSync(p).toString('base64') : '(none)';
  const jl = `${o.dr}.jsonl`;
  res.drops = existsSync(jl) ? readFileSync(jl, 'utf8') : '(none)';
  return res;
}

describe('walk cache: outputs identical with the cache on and off', () => {
  for (const s of SCENARIOS) {
    it(s.name, async () => {
      const f = files(tmp(), s);
      for (const w of s.workers ?? [1]) {
        const on = outputs(f, w, false);
        const off = outputs(f, w, true);
        for (const k of Object.keys(on)) expect(on[k], `${s.name}, ${w} worker(s): ${k}`).toBe(off[k]);
        expect(on.c.length).toBeGreaterThan(0);
      }
      // in process: counters equal, and the cache did replay walks (none when off)
      const rs = parseRuleset(s.rules, 'rules');
      const run = async (off: boolean) => {
        const e = new Engine(compile(rs, { host: lowerHost(s.host), seed: 7 }));
        if (off) (e.core as unknown as { setWalkCache(v: number): void }).setWalkCache(0);
        await replayCapture(e, f.pcap, { hostNames: e.compiled.ifaceNames });
        const k = e.counters();
        return { k: [k.packets.join(), k.bytes.join()], hits: Number((e.core as unknown as { walkCacheHits(): bigint }).walkCacheHits()), st: JSON.stringify(e.stats(), (_k, v) => (typeof v === 'bigint' ? String(v) : v)) };
      };
      const a = await run(false), b = await run(true);
      expect(a.k).toEqual(b.k);
      expect(a.st).toBe(b.st);
      expect(a.hits).toBeGreaterThan(0);
      expect(b.hits).toBe(0);
    }, 120000);
  }
});

describe('walk cache: the packet word it keys on', () => {
  it('P_IIF, P_OIF, P_HOOK, P_CTINFO are the bytes of one u32, in that order (runCached reads them as one load)', async () => {
    const L = await import('../../src/layout.js');
    expect(L.P_IIF % 4).toBe(0);
    expect([L.P_OIF, L.P_HOOK, L.P_CTINFO]).toEqual([L.P_IIF + 1, L.P_IIF + 2, L.P_IIF + 3]);
  });
});
