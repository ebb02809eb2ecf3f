// End-to-end helpers: crafted captures written to a temp dir, the replay() the CLI runs, counters
// looked up by rule position, forwarded frames decoded.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFrame, type FrameSpec } from '../../src/pcap/craft.js';
import { PcapngWriter } from '../../src/pcap/writer.js';
import { replay, type ReplayOutcome } from '../../src/commands/replay.js';
import type { HostModel } from '../../src/host/index.js';

export const dirs: string[] = [];
export function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'nfr-e2e-'));
  dirs.push(d);
  return d;
}
export function cleanup(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export type Pkt = FrameSpec & { on: string; t?: number };

/** Write packets as pcapng with one interface per host interface name (so ingress is exact). */
export function writeCapture(path: string, ifaces: string[], pkts: Pkt[]): void {
  const w = new PcapngWriter(path, { interfaces: ifaces.map((name) => ({ name, linktype: 1 })) });
  pkts.forEach((p, i) => {
    const t = p.t ?? i * 0.001;
    w.writePacket(ifaces.indexOf(p.on), 1700000000 + Math.floor(t), Math.round((t % 1) * 1e9), buildFrame(p));
  });
  w.close();
}

export interface E2E extends ReplayOutcome {
  cnt(key: string): [number, number];
  out: string;
  dir: string;
}

export async function runScenario(rules: string, host: HostModel, pkts: Pkt[], extra: { seed?: number; linear?: boolean } = {}): Promise<E2E> {
  const dir = tmp();
  writeFileSync(join(dir, 'host.json'), JSON.stringify(host));
  const ifaces = host.interfaces.map((i) => i.name);
  writeCapture(join(dir, 'in.pcapng'), ifaces, pkts);
  const out = join(dir, 'out.pcap');
  const r = await replay({ rules, pcap: join(dir, 'in.pcapng'), host: join(dir, 'host.json'), out, ...extra });
  const k = r.engine.counters();
  const cnt = (key: string): [number, number] => {
    const [tc, num] = key.split('#');
    const [t, ch] = tc.split('/');
    const chain = r.compiled.chains.find((x) => x.table === t && x.name === ch);
    if (!chain) throw new Error(`no chain ${tc}`);
    const idx = num === undefined ? chain.counter : chain.rules[Number(num) - 1];
    return [Number(k.packets[idx]), Number(k.bytes[idx])];
  };
  return { ...r, cnt, out, dir };
}
