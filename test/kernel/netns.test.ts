// The namespace helper itself: two namespaces joined by a veth pair can talk, names are unique per
// process, and destroy() removes everything it created.
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, kernelAvailable, reportSkip, run, sweepStale } from './lib/netns.js';

const reason = kernelAvailable();
if (reason) reportSkip(reason);

describe.skipIf(reason !== null)('netns helper', () => {
  const lab = new Lab('netns');
  afterAll(() => lab.destroy());

  it('creates namespaces joined by a veth pair and removes them', async () => {
    sweepStale();
    const a = await lab.ns('a');
    const b = await lab.ns('b');
    expect(a).toBe(`nfr-${process.pid}-netns-a`);
    const { macA, macB } = await lab.veth(a, 'eth0', b, 'eth1');
    expect(macA).toMatch(/^02:6e:66:00:/);
    await lab.exec(a, ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
    await lab.exec(b, ['ip', 'addr', 'add', '192.0.2.2/24', 'dev', 'eth1']);
    // b counts what arrives: UDP to port 9 in filter INPUT.
    await lab.exec(b, ['iptables-legacy-restore'], {
      input: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp -m udp --dport 9\nCOMMIT\n',
    });
    const send = "const s=require('dgram').createSocket('udp4');s.send('x',9,'192.0.2.2',()=>s.close())";
    await lab.exec(a, [process.execPath, '-e', send]);
    const neigh = await lab.exec(a, ['ip', 'neigh', 'show', '192.0.2.2']);
    expect(neigh.stdout).toContain(macB);
    const save = await lab.exec(b, ['iptables-legacy-save', '-c', '-t', 'filter']);
    expect(save.stdout).toContain('[1:29] -A INPUT -p udp -m udp --dport 9'); // 20 IP + 8 UDP + 1 byte
    await lab.sysctl(b, 'net.ipv4.ip_forward', 1);
    expect(await lab.readSysctl(b, 'net.ipv4.ip_forward')).toBe('1');
    await lab.destroy();
    expect(existsSync(`/run/netns/${a}`)).toBe(false);
    expect(existsSync(`/run/netns/${b}`)).toBe(false);
  });

  it('sweeps namespaces left by a dead run, and only those', async () => {
    // A pid that is surely dead: a child that has exited and been reaped.
    const dead = spawnSync('true').pid!;
    const stale = `nfr-${dead}-stale-x`;
    const mine = await lab.ns('alive');
    await run(['ip', 'netns', 'add', stale]);
    try {
      const gone = sweepStale();
      expect(gone).toContain(stale);
      expect(existsSync(`/run/netns/${stale}`)).toBe(false);
      expect(existsSync(`/run/netns/${mine}`)).toBe(true); // this process is alive
    } finally {
      await run(['ip', 'netns', 'del', stale], { allowFail: true });
    }
  });

  it('removes its namespaces when the process gets SIGTERM', async () => {
    // A child process with its own Lab (netns.ts compiled on the fly with the project's tsc).
    const out = mkdtempSync(join(tmpdir(), 'nfr-sig-'));
    try {
      const tsc = spawnSync(process.execPath, [fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url)),
        '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--skipLibCheck',
        '--outDir', out, fileURLToPath(new URL('./lib/netns.ts', import.meta.url))], { encoding: 'utf8' });
      expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
      writeFileSync(join(out, 'package.json'), '{"type":"module"}');
      writeFileSync(join(out, 'child.js'), "import { Lab } from './netns.js';\n" +
        "const lab = new Lab('sig');\nconst n = await lab.ns('x');\nconsole.log(n);\nsetInterval(() => {}, 1000);\n");
      const child = spawn(process.execPath, [join(out, 'child.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
      const name = await new Promise<string>((resolve) => child.stdout!.once('data', (d) => resolve(String(d).trim())));
      expect(name).toBe(`nfr-${child.pid}-sig-x`);
      expect(existsSync(`/run/netns/${name}`)).toBe(true);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      expect(existsSync(`/run/netns/${name}`)).toBe(false);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('times out a hung command', async () => {
    const lab2 = new Lab('netns-t');
    try {
      const n = await lab2.ns('x');
      await expect(lab2.exec(n, ['sleep', '5'], { timeoutMs: 300 })).rejects.toThrow(/timeout/);
    } finally {
      await lab2.destroy();
    }
  });
});
