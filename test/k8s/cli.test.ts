// The k8s subcommands through the real binary (run `npm run build` first: bin/ runs dist/).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/nfreplay.js');
const nfr = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, maxBuffer: 1 << 26 });
const dir = mkdtempSync(join(tmpdir(), 'nfr-k8s-cli-'));

describe('nfreplay k8s', () => {
  it.each(['rules', 'synth', 'traffic'])('k8s %s --help has an example', (c) => {
    const r = nfr('k8s', c, '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/example:\n\s+nfreplay k8s/);
  });
  it('regenerates the bundled service3 rules (gen.sh options)', () => {
    const r = nfr('k8s', 'rules', '--manifests', 'pcaps/k8s/service3/manifests.yaml', '--cluster-cidr', '198.18.0.0/16', '--pod-cidr', '198.18.32.0/24', '--node-ip', '192.0.2.10', '--hostname', 'node-0');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(root, 'pcaps/k8s/service3/rules.txt'), 'utf8'));
  });
  it('--scale deployment/NAME=N gives N endpoints', () => {
    const r = nfr('k8s', 'rules', 'pcaps/k8s/service3/manifests.yaml', '--pod-cidr', '198.18.32.0/24', '--scale', 'deployment/nginx-79959=5', '--restore-form');
    expect(r.status).toBe(0);
    expect(r.stdout.match(/^:KUBE-SEP-/gm)!.length).toBe(5);
    expect(r.stdout).toContain('--probability 0.2000000000');
  });
  it('reports bad input as file:line:column and exits 2', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'kind: Service\nmetadata:\n  name: x\n spec: {}\n');
    const r = nfr('k8s', 'rules', bad);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^${bad}:4:\\d+: `));
    const u = nfr('k8s', 'rules', '--frobnicate', 'x');
    expect(u.status).toBe(2);
    expect(u.stderr).toContain("unknown option '--frobnicate'");
    expect(nfr('k8s', 'rules').status).toBe(2);
    expect(nfr('k8s', 'synth', '--services', '10').stderr).toContain('--services and --endpoints are required');
    expect(nfr('k8s', 'synth', '--services', '10', '--endpoints', '2', '--nodeport-fraction', '1.5').status).toBe(2);
    expect(nfr('k8s', 'traffic', '--rules', 'pcaps/k8s/service3/rules.txt', '--connections', '5').stderr).toContain('--out F.pcap is required');
  });
  it('synth --manifests-out round-trips through k8s rules with the recorded options', () => {
    const m = join(dir, 'm.json');
    const o = join(dir, 'o.rules');
    const r = nfr('k8s', 'synth', '--services', '40', '--endpoints', '3', '--nodeport-fraction', '0.5', '--local-fraction', '0.3', '--random-fully', '--seed', '3', '--manifests-out', m, '--out', o);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const opts = JSON.parse(readFileSync(m, 'utf8')).metadata.annotations['nfreplay/rules-options'] as string;
    expect(opts).toBe('--hostname node-0 --cluster-cidr 198.18.0.0/16 --node-ip 192.0.2.10 --random-fully');
    const back = nfr('k8s', 'rules', m, ...opts.split(' '));
    expect(back.stderr).toBe('');
    expect(back.status).toBe(0);
    expect(back.stdout).toBe(readFileSync(o, 'utf8'));
  });
  it('traffic writes a capture tcpdump-compatible tools can read', () => {
    const p = join(dir, 't.pcap');
    const r = nfr('k8s', 'traffic', '--rules', 'pcaps/k8s/service3/rules.txt', '--connections', '10', '--replies', '--out', p);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('10 connections, 80 packets (30 replies), 10 masqueraded');
    expect(readFileSync(p).readUInt32LE(0)).toBe(0xa1b2c3d4);
    rmSync(dir, { recursive: true, force: true });
  });
});
