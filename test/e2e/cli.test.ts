// The replay/compile/demo commands as a user runs them (bin/nfreplay.js over dist/: run after
// `npm run build`): outputs, --save-counters in iptables-save -c form, --json, errors.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, cleanup, writeCapture } from './helpers.js';

afterAll(cleanup);
const bin = new URL('../../bin/nfreplay.js', import.meta.url).pathname;
const nfr = (...a: string[]) => spawnSync(process.execPath, [bin, ...a], { encoding: 'utf8' });

const RULES = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:WEB - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -d 203.0.113.0/24 -p tcp -m multiport --dports 80,443 -j WEB
-A WEB -s 192.0.2.66/32 -j DROP
-A WEB -j ACCEPT
COMMIT
`;

function setup() {
  const d = tmp();
  writeFileSync(join(d, 'r.rules'), RULES);
  writeFileSync(join(d, 'host.json'), JSON.stringify({ interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'] }, { name: 'eth1', addresses: ['198.51.100.1/24'] }], routes: [{ dst: 'default', via: '198.51.100.254', dev: 'eth1' }], ingress: 'eth0' }));
  writeCapture(join(d, 'c.pcapng'), ['eth0', 'eth1'], [
    { on: 'eth0', src: '192.0.2.10', dst: '192.0.2.1', dport: 22, flags: 'S' },      // INPUT rule 1
    { on: 'eth0', src: '192.0.2.10', dst: '192.0.2.1', dport: 23, flags: 'S' },      // INPUT policy
    { on: 'eth0', src: '192.0.2.10', dst: '203.0.113.5', dport: 443, flags: 'S' },   // FORWARD 1 -> WEB 2
    { on: 'eth0', src: '192.0.2.66', dst: '203.0.113.5', dport: 80, flags: 'S' },    // FORWARD 1 -> WEB 1 DROP
    { on: 'eth0', src: '192.0.2.10', dst: '203.0.113.5', dport: 25, flags: 'S' },    // FORWARD policy
  ]);
  return d;
}

describe('nfreplay replay (CLI)', () => {
  it('prints chains with counters and totals; --save-counters is iptables-save -c text', () => {
    const d = setup();
    const r = nfr('replay', '--rules', join(d, 'r.rules'), '--pcap', join(d, 'c.pcapng'), '--host', join(d, 'host.json'),
      '--save-counters', join(d, 'save.txt'), '--json', join(d, 'r.json'), '--out', join(d, 'o.pcap'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Chain INPUT \(policy DROP 1 packets, 40 bytes\)/);
    expect(r.stdout).toMatch(/accepted, forwarded\s+1\n/);
    // hand-worked: every packet 40 bytes
    expect(readFileSync(join(d, 'save.txt'), 'utf8')).toBe(`*filter
:INPUT DROP [1:40]
:FORWARD DROP [1:40]
:OUTPUT ACCEPT [0:0]
:WEB - [0:0]
[1:40] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
[2:80] -A FORWARD -d 203.0.113.0/24 -p tcp -m multiport --dports 80,443 -j WEB
[1:40] -A WEB -s 192.0.2.66/32 -j DROP
[1:40] -A WEB -j ACCEPT
COMMIT
`);
    const j = JSON.parse(readFileSync(join(d, 'r.json'), 'utf8'));
    expect(j.nfreplay).toBe(1);
    expect(j.totals).toMatchObject({ packets: 5, local: 1, forwarded: 1, droppedByRule: 1, droppedByPolicy: 2 });
    const fwd = j.tables[0].chains.find((c: { name: string }) => c.name === 'FORWARD');
    expect(fwd.rules[0]).toMatchObject({ num: 1, packets: 2, bytes: 80, target: 'WEB' });
  });

  it('--linear gives the same output', () => {
    const d = setup();
    const a = nfr('replay', '--rules', join(d, 'r.rules'), '--pcap', join(d, 'c.pcapng'), '--host', join(d, 'host.json'));
    const b = nfr('replay', '--rules', join(d, 'r.rules'), '--pcap', join(d, 'c.pcapng'), '--host', join(d, 'host.json'), '--linear');
    expect(b.stdout).toBe(a.stdout);
  });

  it('a ruleset error is file:line:column: message, exit 2, nothing on stdout', () => {
    const d = setup();
    writeFileSync(join(d, 'bad.rules'), '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m nosuchmatch --foo -j ACCEPT\nCOMMIT\n');
    const r = nfr('replay', '--rules', join(d, 'bad.rules'), '--pcap', join(d, 'c.pcapng'));
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^${join(d, 'bad.rules')}:3:\\d+: .*nosuchmatch`));
  });

  it('--unsupported assume-match approximates an unknown match', () => {
    const d = setup();
    writeFileSync(join(d, 'u.rules'), '*filter\n:INPUT DROP [0:0]\n-A INPUT -m nosuchmatch --foo 1 -j ACCEPT\nCOMMIT\n');
    const r = nfr('replay', '--rules', join(d, 'u.rules'), '--pcap', join(d, 'c.pcapng'), '--host', join(d, 'host.json'), '--unsupported', 'assume-match', '--save-counters', join(d, 's.txt'));
    expect(r.status).toBe(0);
    // the two local packets match the approximated rule
    expect(readFileSync(join(d, 's.txt'), 'utf8')).toMatch(/\[2:80\] -A INPUT -m nosuchmatch --foo 1 -j ACCEPT/);
  });

  it('a truncated capture: the packets before the damage count, exit 1 with the byte offset', () => {
    const d = setup();
    const buf = readFileSync(join(d, 'c.pcapng'));
    writeFileSync(join(d, 'cut.pcapng'), buf.subarray(0, buf.length - 20));
    const r = nfr('replay', '--rules', join(d, 'r.rules'), '--pcap', join(d, 'cut.pcapng'), '--host', join(d, 'host.json'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cut\.pcapng: .* at byte \d+ \(packet 5\)/);
    expect(r.stdout).toMatch(/packets: 4\n/);
  });

  it('missing arguments and unknown options exit 2', () => {
    expect(nfr('replay', '--rules', 'x').status).toBe(2);
    expect(nfr('replay', '--bogus').status).toBe(2);
    expect(nfr('replay', '--help').status).toBe(0);
  });

  it('compile --stats and demo run', () => {
    const d = setup();
    const c = nfr('compile', '--rules', join(d, 'r.rules'), '--stats');
    expect(c.status).toBe(0);
    expect(c.stdout).toMatch(/filter\s+FORWARD\s+1 /);
    expect(c.stdout).toMatch(/^image: \d+ bytes/m);
    const demo = nfr('demo');
    expect(demo.status).toBe(0);
    expect(demo.stdout).toMatch(/DNAT split per endpoint/);
  });
});
