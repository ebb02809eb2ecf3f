// Ctrl-C: the replay stops after the batch in flight, still writes the report and the files for
// what was replayed, marks it partial and exits with 130. The test slows pass 1 down
// (NFREPLAY_TEST_BATCH_DELAY_MS) and waits for the first batch (NFREPLAY_TRACE) before SIGINT.
import { describe, it, expect, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { PcapWriter, PcapngWriter } from '../../src/pcap/writer.js';
import { readAllPackets } from '../../src/pcap/reader.js';
import { buildFrame } from '../../src/pcap/craft.js';
import { CLI, cleanup, tmp } from './helpers.js';
import { Progress } from '../../src/replay/progress.js';
import { POOL_BATCH } from '../../src/replay/pool.js';

afterAll(cleanup);

const RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp -j ACCEPT
COMMIT
`;

/** Run `nfreplay replay ARGS` with pass 1 slowed down, send SIGINT once the first batch is done;
 * the exit code, stdout, stderr and whether the signal was sent. */
async function interruptAfterFirstBatch(args: string[]): Promise<{ code: number | null; out: string; err: string; sent: boolean }> {
  const child = spawn(process.execPath, [CLI, 'replay', ...args], {
    env: { ...process.env, NFREPLAY_TRACE: '1', NFREPLAY_TEST_BATCH_DELAY_MS: '300' },
  });
  let out = '', err = '';
  let sent = false;
  child.stdout.on('data', (b) => { out += b; });
  child.stderr.on('data', (b) => {
    err += b;
    if (!sent && err.includes('batch 1 done')) { sent = true; child.kill('SIGINT'); }
  });
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  return { code, out, err, sent };
}

describe('Ctrl-C', () => {
  it('stops after a batch and writes the partial report', async () => {
    const d = tmp();
    const total = 16384 * 8;
    const w = new PcapWriter(join(d, 'in.pcap'), { linktype: 1 });
    for (let i = 0; i < total; i++) {
      w.writePacket(1700000000, i * 1000, buildFrame({ src: '192.0.2.7', dst: '198.51.100.9', proto: 'udp', sport: 1024 + (i % 5000), dport: 53, payload: 8 }));
    }
    w.close();
    writeFileSync(join(d, 'rules'), RULES);
    const { code, out, err, sent } = await interruptAfterFirstBatch(['--rules', join(d, 'rules'), '--pcap', join(d, 'in.pcap'), '--workers', '2',
      '--save-counters', join(d, 'save'), '--json', join(d, 'json')]);
    expect(sent, err).toBe(true);
    expect(code, err).toBe(130);
    const n = Number(/^packets: (\d+)$/m.exec(out)![1]);
    // whole batches, at least the first, not all
    expect(POOL_BATCH).toBeLessThan(total);
    expect(n % POOL_BATCH).toBe(0);
    expect(n).toBeGreaterThanOrEqual(POOL_BATCH);
    expect(n).toBeLessThan(total);
    expect(out).toContain(`PARTIAL: interrupted by Ctrl-C after ${n} packets`);
    expect(err).toMatch(/PARTIAL \(interrupted\)/);
    // the files cover the same packets: every packet is a UDP datagram forwarded by rule 1
    // (IP 20 + UDP 8 + 8 bytes payload = 36 bytes each)
    expect(existsSync(join(d, 'save'))).toBe(true);
    expect(readFileSync(join(d, 'save'), 'utf8')).toContain(`[${n}:${n * 36}] -A FORWARD -p udp -j ACCEPT`);
    const j = JSON.parse(readFileSync(join(d, 'json'), 'utf8'));
    expect(j.totals.packets).toBe(n);
    expect(j.partial).toBe(true);
  }, 120000);

  // --workers 1: the single-worker engine (commands/replay.ts replay, feed.ts replayCapture) stops
  // at a batch boundary the same way: classic pcap (framed in the core, batches of up to
  // ENGINE_BATCH cut at the 8 MiB chunk seams) and pcapng (the general reader's batches)
  for (const kind of ['pcap', 'pcapng'] as const) {
    it(`--workers 1 (${kind}): stops after a batch, the report, --out and --json cover it, PARTIAL, exit 130`, async () => {
      const d = tmp();
      const total = 16384 * 8;
      const cap = join(d, `in.${kind}`);
      const frame = (i: number) => buildFrame({ src: '192.0.2.7', dst: '198.51.100.9', proto: 'udp', sport: 1024 + (i % 5000), dport: 53, payload: 8 });
      if (kind === 'pcap') {
        const w = new PcapWriter(cap, { linktype: 1 });
        for (let i = 0; i < total; i++) w.writePacket(1700000000, i * 1000, frame(i));
        w.close();
      } else {
        const w = new PcapngWriter(cap, { interfaces: [{ linktype: 1, name: 'eth0' }] });
        for (let i = 0; i < total; i++) w.writePacket(0, 1700000000, i * 1000, frame(i));
        w.close();
      }
      writeFileSync(join(d, 'rules'), RULES);
      const { code, out, err, sent } = await interruptAfterFirstBatch(['--rules', join(d, 'rules'), '--pcap', cap, '--workers', '1',
        '--save-counters', join(d, 'save'), '--json', join(d, 'json'), '--out', join(d, 'out.pcap')]);
      expect(sent, err).toBe(true);
      expect(code, err).toBe(130);
      const n = Number(/^packets: (\d+)$/m.exec(out)![1]);
      // exactly the batches that had run when the signal was seen (the trace's last count), not all
      const done = [...err.matchAll(/nfreplay: batch (\d+) done \((\d+) packets\)/g)].map((m) => Number(m[2]));
      expect(done.length).toBeGreaterThanOrEqual(1);
      expect(n).toBe(done[done.length - 1]);
      expect(n).toBeLessThan(total);
      expect(out).toContain(`PARTIAL: interrupted by Ctrl-C after ${n} packets`);
      expect(err).toMatch(/PARTIAL \(interrupted\)/);
      // every packet is forwarded by rule 1 (36 bytes of IP each): the files cover the same n
      expect(readFileSync(join(d, 'save'), 'utf8')).toContain(`[${n}:${n * 36}] -A FORWARD -p udp -j ACCEPT`);
      const j = JSON.parse(readFileSync(join(d, 'json'), 'utf8'));
      expect(j.totals.packets).toBe(n);
      expect(j.partial).toBe(true);
      expect((await readAllPackets(join(d, 'out.pcap'))).packets.length).toBe(n);
    }, 120000);
  }
});

describe('progress line', () => {
  it('packets, Mpps, percent and ETA', () => {
    // 2,000,000 packets in 4 s = 0.50 Mpps; 25% of the file in 4 s leaves 12 s
    expect(Progress.line(2000000, 250, 1000, 4000)).toBe('[######..................] 2000000 packets  0.50 Mpps  25.0%  ETA 0:12');
    expect(Progress.line(10, 0, null, 1000)).toBe('10 packets  0.00 Mpps');
  });
});
