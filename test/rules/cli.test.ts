// `nfreplay rules check|print` through the real binary (uses dist/: `npm run build` first, as `npm test` does).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const bin = new URL('../../bin/nfreplay.js', import.meta.url).pathname;
const fx = new URL('../fixtures/rulesets/', import.meta.url).pathname;
const run = (args: string[], input?: string) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', input });

describe('nfreplay rules', () => {
  it('check prints tables, chains, rules per table and modules used', () => {
    const r = run(['rules', 'check', `${fx}nat-router.rules`]);
    expect(r.status).toBe(0);
    // nat-router.rules by hand: nat has 4 builtin chains and 1 rule (SNAT), filter 3 chains and 3 rules (state match once).
    expect(r.stdout).toBe(`${fx}nat-router.rules: 2 tables, 7 chains, 4 rules\ntables:\n` +
      '  nat            4 chains (0 user)        1 rules\n' +
      '  filter         3 chains (0 user)        3 rules\n' +
      'modules used (times):\n  -j SNAT                      1\n  -m state                     1\n');
    expect(r.stderr).toBe('');
  });

  it('check: an error goes to stderr as file:line:col: message, exit 2, nothing on stdout', () => {
    const r = run(['rules', 'check', '-'], '*filter\n-A INPUT -p tcp --dport 80 -j KUBE-SERVICES\nCOMMIT\n');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    // "-A INPUT -p tcp --dport 80 -j " is 30 characters: KUBE-SERVICES starts at column 31.
    expect(r.stderr).toBe("<stdin>:2:31: jump to undeclared chain 'KUBE-SERVICES' in table 'filter'\n");
  });

  it('check: a missing file is exit 2', () => {
    const r = run(['rules', 'check', `${fx}nope.rules`]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/nope\.rules: no such file/);
  });

  it('check --unsupported=assume-nomatch lists the approximated rules', () => {
    const r = run(['rules', 'check', '-', '--unsupported=assume-nomatch'], '*filter\n-A INPUT -m hashlimit --hashlimit-upto 1/sec -j DROP\nCOMMIT\n');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('approximated rules (1):\n  <stdin>:2: assume-nomatch hashlimit: -A INPUT -m hashlimit --hashlimit-upto 1/sec -j DROP\n');
    expect(r.stdout).toContain('-m hashlimit (unsupported)');
  });

  it('check --unsupported with a bad value is exit 2', () => {
    const r = run(['rules', 'check', '-', '--unsupported=maybe'], '');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad --unsupported value 'maybe'/);
  });

  it('print writes the iptables-legacy-save form (file and stdin)', () => {
    const expected = readFileSync(`${fx}kube-proxy-3-endpoints.saved`, 'utf8');
    expect(run(['rules', 'print', `${fx}kube-proxy-3-endpoints.rules`]).stdout).toBe(expected);
    expect(run(['rules', 'print', '-'], readFileSync(`${fx}kube-proxy-3-endpoints.rules`, 'utf8')).stdout).toBe(expected);
  });

  it('print --counters writes the -c form', () => {
    const r = run(['rules', 'print', '--counters', `${fx}counters.rules`]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(`${fx}counters.saved-c`, 'utf8'));
  });

  it('print --unsupported lists the approximated rules on stderr', () => {
    const r = run(['rules', 'print', '-', '--unsupported=skip-rule'], '*filter\n-A INPUT -m hashlimit --hashlimit-upto 1/sec -j DROP\nCOMMIT\n');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('-A INPUT -m hashlimit --hashlimit-upto 1/sec -j DROP\n');
    expect(r.stderr).toBe('<stdin>:2: approximated (skip-rule) hashlimit: -A INPUT -m hashlimit --hashlimit-upto 1/sec -j DROP\n');
  });

  it('print: errors as for check', () => {
    // "-A POSTROUTING -j " is 18 characters: DNAT starts at column 19.
    const r = run(['rules', 'print', '-'], '*nat\n-A POSTROUTING -j DNAT --to-destination 192.0.2.1\nCOMMIT\n');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("<stdin>:2:19: target 'DNAT' used from POSTROUTING, but only usable from PREROUTING/OUTPUT\n");
  });

  it('--help has an example', () => {
    for (const c of ['check', 'print']) {
      const r = run(['rules', c, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/example:\n  nfreplay rules /);
    }
  });
});
