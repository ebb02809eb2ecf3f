// REJECT replies walk OUTPUT and POSTROUTING. Expected counters are what the real kernel printed
// (iptables-legacy-save -c in a netns on this machine, 2026-11-25, same rules: fixtures/
// reject-output.rules): a 38-byte UDP datagram to port 9 and a 60-byte TCP SYN (20 bytes of
// options) to port 9, both from 192.0.2.2 to the router 192.0.2.1.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { RES_DROP_TTL, RES_FORWARDED, RES_DROP_MTU, RES_DROP_NOROUTE } from '../../src/layout.js';
import { join } from 'node:path';
import { runScenario, cleanup } from './helpers.js';
import { parseCaptureBuffer } from '../../src/pcap/reader.js';
import { tcpOptions } from '../../src/pcap/craft.js';
import type { HostModel } from '../../src/host/index.js';
import { printRuleset } from '../../src/rules/print.js';
import { withCounters } from '../../src/report/counters.js';

afterAll(cleanup);
const host: HostModel = { interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'] }], routes: [], ingress: 'eth0', sysctl: {} };

const KERNEL = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [2:106]
[1:38] -A INPUT -p udp -m conntrack --ctstate NEW -m udp --dport 9 -j REJECT --reject-with icmp-port-unreachable
[1:60] -A INPUT -p tcp -m tcp --dport 9 -j REJECT --reject-with tcp-reset
[0:0] -A OUTPUT -p icmp -m conntrack --ctstate INVALID
[1:66] -A OUTPUT -p icmp -m conntrack --ctstate RELATED
[0:0] -A OUTPUT -p icmp -m conntrack --ctstate NEW
[0:0] -A OUTPUT -p icmp -m conntrack --ctstate UNTRACKED
[0:0] -A OUTPUT -p tcp -m conntrack --ctstate INVALID
[1:40] -A OUTPUT -p tcp -m conntrack --ctstate RELATED
[0:0] -A OUTPUT -p tcp -m conntrack --ctstate NEW
[0:0] -A OUTPUT -p tcp -m conntrack --ctstate ESTABLISHED
COMMIT
*nat
:PREROUTING ACCEPT [2:98]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [1:40]
[0:0] -A OUTPUT -p icmp
[0:0] -A OUTPUT -p tcp
[0:0] -A POSTROUTING -p icmp
[1:40] -A POSTROUTING -p tcp
COMMIT
*mangle
:PREROUTING ACCEPT [2:98]
:INPUT ACCEPT [2:98]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [2:106]
:POSTROUTING ACCEPT [2:106]
[1:66] -A OUTPUT -p icmp
[1:40] -A OUTPUT -p tcp
[1:66] -A POSTROUTING -p icmp
[1:40] -A POSTROUTING -p tcp
COMMIT
*raw
:PREROUTING ACCEPT [2:98]
:OUTPUT ACCEPT [2:106]
[1:66] -A OUTPUT -p icmp
[1:40] -A OUTPUT -p tcp
COMMIT
`;

describe('REJECT', () => {
  it('replies walk OUTPUT/POSTROUTING as on the kernel (ICMP: no nat; RST: nat POSTROUTING only)', async () => {
    const opts = tcpOptions({ mss: 1460, sackPerm: true, ts: [1, 0], wscale: 7 });
    expect(opts.length).toBe(20);
    const r = await runScenario(new URL('./fixtures/reject-output.rules', import.meta.url).pathname, host, [
      { on: 'eth0', src: '192.0.2.2', dst: '192.0.2.1', proto: 'udp', sport: 40000, dport: 9, payload: 10 },
      { on: 'eth0', src: '192.0.2.2', dst: '192.0.2.1', sport: 40001, dport: 9, flags: 'S', seq: 1, tcpOptions: opts },
    ]);
    const text = printRuleset(withCounters(r.rs, r.compiled, r.engine.counters()), { counters: true });
    // the kernel's table order (module load order) differs from the file's; compare per table
    const tables = (s: string) => s.split(/(?=^\*)/m).map((t) => t.trim()).sort();
    expect(tables(text)).toEqual(tables(KERNEL));
    expect(r.engine.stats().rejectReplies).toBe(2n);
  });

  it('ICMP errors are rate limited per destination: burst 6, then 1 per second', async () => {
    const rules = new URL('./fixtures/reject-output.rules', import.meta.url).pathname;
    // 10 UDP datagrams in the same second, then one 1 s later, then one more right after:
    // 6 replies (burst), 1 (a token per second), 0 — the kernel (6.18, same rules and timing) sent 7
    const pk = Array.from({ length: 10 }, (_, i) => ({ on: 'eth0', src: '192.0.2.2', dst: '192.0.2.1', proto: 'udp' as const, sport: 41000 + i, dport: 9, t: i * 0.01 }));
    pk.push({ on: 'eth0', src: '192.0.2.2', dst: '192.0.2.1', proto: 'udp', sport: 42000, dport: 9, t: 1.09 });
    pk.push({ on: 'eth0', src: '192.0.2.2', dst: '192.0.2.1', proto: 'udp', sport: 42001, dport: 9, t: 1.1 });
    const r = await runScenario(rules, host, pk);
    expect(r.engine.stats().rejectReplies).toBe(7n);
    expect(readFileSync(join(r.dir, 'in.pcapng')).length).toBeGreaterThan(0);
  });

  it('a forwarded packet with TTL 1: ICMP time exceeded walks OUTPUT/POSTROUTING (kernel-measured)', async () => {
    // kernel 6.18, same rules, router 192.0.2.1/24 + 198.51.100.1/24, a 29-byte UDP datagram with TTL 1
    // from 192.0.2.2 to 198.51.100.2: OUTPUT [1:57] (RELATED), raw/mangle OUTPUT and mangle POSTROUTING
    // [1:57], nat PREROUTING [1:29], nothing in FORWARD or nat POSTROUTING
    const router: HostModel = { interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'] }, { name: 'eth1', addresses: ['198.51.100.1/24'] }], routes: [], ingress: 'eth0', sysctl: {} };
    const r = await runScenario(new URL('./fixtures/reject-output.rules', import.meta.url).pathname, router, [
      { on: 'eth0', src: '192.0.2.2', dst: '198.51.100.2', proto: 'udp', sport: 40000, dport: 7, ttl: 1, payload: 1 },
    ]);
    expect(r.cnt('filter/OUTPUT')).toEqual([1, 57]);
    expect(r.cnt('filter/OUTPUT#2')).toEqual([1, 57]);
    expect(r.cnt('raw/OUTPUT#1')).toEqual([1, 57]);
    expect(r.cnt('mangle/POSTROUTING#1')).toEqual([1, 57]);
    expect(r.cnt('mangle/POSTROUTING')).toEqual([1, 57]);
    expect(r.cnt('nat/PREROUTING')).toEqual([1, 29]);
    expect(r.cnt('nat/POSTROUTING')).toEqual([0, 0]);
    expect(r.cnt('filter/FORWARD')).toEqual([0, 0]);
  });

  it('ip_forward and routing errors: time exceeded, fragmentation needed (DF > MTU), net unreachable', async () => {
    // The kernel case test/kernel/cases/forwarding-edges (same packets, kernel 6.18): the router's own
    // stack sent 3 ICMP errors, 728 bytes through OUTPUT: 76 (time exceeded quoting a 48-byte datagram)
    // + 576 (frag needed quoting 548 bytes of the 1400) + 76 (net unreachable); FORWARD saw 2 packets
    // (the TTL 2 SYN and the 1400-byte datagram without DF), 1440 bytes.
    const router: HostModel = {
      interfaces: [{ name: 'eth0', addresses: ['192.0.2.254/24'] }, { name: 'eth1', addresses: ['198.51.100.1/24'], mtu: 1000 }],
      routes: [{ dst: '203.0.113.0/25', via: '198.51.100.254', dev: 'eth1' }], ingress: 'eth0', sysctl: {},
    };
    const rules = join(tmpRules(), 'r.rules');
    const b = { on: 'eth0', src: '192.0.2.40', dst: '203.0.113.10', proto: 'udp' as const, sport: 6000, dport: 9 };
    const r = await runScenario(rules, router, [
      { ...b, payload: 20, ttl: 1, id: 1 },
      { ...b, proto: 'tcp', sport: 6001, dport: 80, flags: 'S', seq: 1, ttl: 2, id: 2 },
      { ...b, sport: 6002, payload: 1372, df: true, id: 3 },
      { ...b, sport: 6003, payload: 1372, id: 4 },
      { ...b, dst: '203.0.113.200', sport: 6004, payload: 20, id: 5 },
    ]);
    expect(r.cnt('filter/OUTPUT')).toEqual([3, 728]);
    expect(r.cnt('filter/FORWARD')).toEqual([2, 1440]);
    expect(Array.from(r.engine.lastResults(5), (x) => x & 0xff)).toEqual([RES_DROP_TTL, RES_FORWARDED, RES_DROP_MTU, RES_FORWARDED, RES_DROP_NOROUTE]);
    // --out: the 1400-byte datagram without DF leaves in two fragments for MTU 1000, as the kernel's
    // egress showed: 996 bytes (offset 0, MF) and 424 bytes (offset 122); the router's three ICMP
    // errors (76, 576, 76 bytes) leave right after the packet each answers
    const cap = parseCaptureBuffer(new Uint8Array(readFileSync(r.out))).batch;
    const lens = Array.from({ length: cap.count }, (_, i) => {
      const f = cap.data.subarray(cap.offset[i] + 14);
      return [(f[2] << 8) | f[3], ((f[6] << 8) | f[7]) & 0x3fff];
    });
    expect(lens).toEqual([[76, 0], [40, 0], [576, 0], [996, 0x2000], [424, 122], [76, 0]]);
  });
});

function tmpRules(): string {
  const d = mkdtempSync(join(tmpdir(), 'nfr-rules-'));
  writeFileSync(join(d, 'r.rules'), '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
  return d;
}
