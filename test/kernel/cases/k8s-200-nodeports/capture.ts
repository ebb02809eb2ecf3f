// 400 connections from the k8s traffic generator, with the endpoints' replies (exact: one endpoint
// per Service). Clients (203.0.113.0/24, 198.51.100.0/24) arrive on eth0, pods (198.18.0.0/16) on eth1.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CasePacket } from '../../lib/harness.js';
import { BIN } from '../../lib/nfreplay.js';
import { readCapture } from '../../lib/pcapfile.js';
import rules from './rules.js';

export default function capture(seed: number): CasePacket[] {
  const dir = mkdtempSync(join(tmpdir(), 'nfr-k8s200-'));
  writeFileSync(join(dir, 'rules.txt'), rules());
  const r = spawnSync(process.execPath, [BIN, 'k8s', 'traffic', '--rules', join(dir, 'rules.txt'), '--connections', '400',
    '--replies', '--seed', String(seed % 1000), '--out', join(dir, 'traffic.pcap')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`k8s traffic failed: ${r.stderr}`);
  const cap = readCapture(readFileSync(join(dir, 'traffic.pcap')));
  rmSync(dir, { recursive: true, force: true });
  return cap.packets.map((p) => ({
    frame: Uint8Array.from(p.data),
    ts: p.ts,
    iface: p.data[14 + 12] === 198 && p.data[14 + 13] === 18 ? 'eth1' : 'eth0',
  }));
}
