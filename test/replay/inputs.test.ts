// The pool with awkward inputs: a capture cut in the middle of a record (the packets before it are
// replayed and reported, exit status 1, same report as one worker), the capture on stdin (spooled
// to a temporary file so later passes can read it again), more workers than flows.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { PcapWriter } from '../../src/pcap/writer.js';
import { buildFrame } from '../../src/pcap/craft.js';
import { CLI, cleanup, cli, tmp, masqRules } from './helpers.js';

afterAll(cleanup);

const RULES = masqRules();

/** 300 UDP flows out through MASQUERADE and their replies to 198.51.100.1 (default host). */
function capture(path: string, n = 300): number {
  const w = new PcapWriter(path, { linktype: 1 });
  let k = 0;
  for (let i = 0; i < n; i++) {
    const q = { src: `192.0.2.${10 + (i % 40)}`, dst: '203.0.113.5', proto: 'udp' as const, sport: 20000 + i, dport: 53, payload: 10 };
    w.writePacket(1700000000, k++ * 1000, buildFrame(q));
    w.writePacket(1700000000, k++ * 1000, buildFrame({ src: '203.0.113.5', dst: '198.51.100.1', proto: 'udp', sport: 53, dport: 20000 + i, payload: 30 }));
  }
  w.close();
  return k;
}

describe('pool inputs', () => {
  it('a cut capture: the packets before the damage, exit 1, same report for 1 and 3 workers', () => {
    const d = tmp();
    capture(join(d, 'full.pcap'));
    const b = readFileSync(join(d, 'full.pcap'));
    writeFileSync(join(d, 'cut.pcap'), b.subarray(0, b.length - 20));
    writeFileSync(join(d, 'rules'), RULES);
    const run = (w: number) => cli(['replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'cut.pcap'), '--workers', String(w), '--quiet',
      '--conntrack', join(d, `ct${w}`)]);
    const one = run(1), three = run(3);
    expect(one.status).toBe(1);
    expect(three.status).toBe(1);
    expect(three.stdout).toBe(one.stdout);
    expect(three.stderr).toBe(one.stderr);
    // 600 packets, the last record cut: 599 replayed
    expect(one.stdout).toMatch(/^packets: 599$/m);
    expect(one.stderr).toMatch(/truncated .* \(packet 600\)/);
    expect(readFileSync(join(d, 'ct3'), 'utf8')).toBe(readFileSync(join(d, 'ct1'), 'utf8'));
  }, 60000);

  it('stdin, and more workers than flows', () => {
    const d = tmp();
    capture(join(d, 'in.pcap'), 3);
    writeFileSync(join(d, 'rules'), RULES);
    const ref = cli(['replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'in.pcap'), '--workers', '1']);
    expect(ref.status).toBe(0);
    const r = spawnSync(process.execPath, [CLI, 'replay', '--rules', join(d, 'rules'), '--pcap', '-', '--workers', '8', '--quiet'],
      { input: readFileSync(join(d, 'in.pcap')), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(ref.stdout);
    // every reply found its masqueraded connection (FORWARD policy is DROP): 3 x 2 packets forwarded
    expect(r.stdout).toMatch(/accepted, forwarded\s+6$/m);
  }, 60000);

  it('a named pipe: opened once (1 worker reads it as a stream, the pool spools it), same report as the file', () => {
    const d = tmp();
    capture(join(d, 'in.pcap'));
    writeFileSync(join(d, 'rules'), RULES);
    const ref = cli(['replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'in.pcap'), '--workers', '1', '--quiet']);
    expect(ref.status).toBe(0);
    expect(spawnSync('mkfifo', [join(d, 'fifo')]).status).toBe(0);
    for (const w of [1, 3]) {
      // the writer blocks until the replay opens the pipe; a second open by the replay would find no writer
      const writer = spawn('sh', ['-c', `cat "${join(d, 'in.pcap')}" > "${join(d, 'fifo')}"`], { stdio: 'ignore' });
      const r = spawnSync(process.execPath, [CLI, 'replay', '--rules', join(d, 'rules'), '--pcap', join(d, 'fifo'), '--workers', String(w), '--quiet'],
        { encoding: 'utf8', timeout: 60000 });
      writer.kill();
      expect(r.status, `${w} workers: ${r.stderr}`).toBe(0);
      expect(r.stdout).toBe(ref.stdout);
    }
  }, 120000);
});
