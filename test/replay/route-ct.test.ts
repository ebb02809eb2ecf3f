// The input route of a connection direction's ESTABLISHED packets is remembered in its conntrack
// entry (assembly/hooks.ts routeCt, CT_ROUTE): after PREROUTING's NAT their addresses are the ct's,
// so only the ingress device can change the answer (rp_filter). A packet of an established flow
// that arrives on another device must be routed again, not answered from the entry.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, cli, tmp, writeCapture, writeJson, ROUTER, type Pkt } from './helpers.js';

afterAll(cleanup);

const RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A FORWARD -m conntrack --ctstate NEW -j ACCEPT
COMMIT
`;

describe('route of established packets (CT_ROUTE)', () => {
  it('keyed by the ingress device: rp_filter strict drops the flow arriving on the wrong side, then routes it again', () => {
    const d = tmp();
    // ROUTER: eth0 192.0.2.254/24 (servers), eth1 198.51.100.1/24 (clients), default via eth1.
    // rp_filter 1 (strict): a source must be reached back through the device it came in on.
    writeJson(join(d, 'host.json'), { ...ROUTER, sysctl: { 'net.ipv4.conf.all.rp_filter': 1 } });
    writeFileSync(join(d, 'rules'), RULES);
    const q = { src: '203.0.113.7', dst: '192.0.2.10', proto: 'udp' as const, sport: 40000, dport: 53, payload: 8 };
    const a = { src: '192.0.2.10', dst: '203.0.113.7', proto: 'udp' as const, sport: 53, dport: 40000, payload: 8 };
    const pkts: Pkt[] = [
      { ...q, on: 'eth1', t: 0 },   // NEW: 192.0.2.10 is on eth0 -> FORWARD; 203.0.113.7 back via eth1 = in: ok
      { ...a, on: 'eth0', t: 0.1 }, // ESTABLISHED reply: default route eth1; 192.0.2.10 back via eth0 = in: ok
      { ...q, on: 'eth1', t: 0.2 }, // ESTABLISHED, on eth1 again: forwarded (the remembered route)
      { ...q, on: 'eth0', t: 0.3 }, // ESTABLISHED but in on eth0: 203.0.113.7 is reached via eth1 -> martian
      { ...q, on: 'eth1', t: 0.4 }, // back on eth1: forwarded
      { ...a, on: 'eth0', t: 0.5 }, // reply: forwarded
    ];
    writeCapture(join(d, 'c.pcapng'), ['eth0', 'eth1'], pkts);
    for (const workers of ['1', '2']) {
      const r = cli(['replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'c.pcapng'), '--host', join(d, 'host.json'),
        '--workers', workers, '--quiet', '--json', join(d, `r${workers}.json`)]);
      expect(r.status, r.stderr).toBe(0);
      const j = JSON.parse(readFileSync(join(d, `r${workers}.json`), 'utf8'));
      expect(j.totals.forwarded).toBe(5);
      expect(j.totals.martian).toBe(1);
      // FORWARD: ESTABLISHED accepted packets 2, 3, 5, 6; NEW packet 1; the martian one reached no chain
      const fwd = j.tables.find((t: { name: string }) => t.name === 'filter').chains.find((c: { name: string }) => c.name === 'FORWARD');
      expect(fwd.rules.map((x: { packets: number }) => x.packets)).toEqual([4, 1]);
    }
  });
});
