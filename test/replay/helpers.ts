// Helpers for the pool tests: crafted captures (pcapng, one interface per host interface) and the
// CLI run as a child process (dist/ must be built: `npm run build`).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildFrame, type FrameSpec } from '../../src/pcap/craft.js';
import { PcapngWriter, PcapWriter } from '../../src/pcap/writer.js';
import type { HostModel } from '../../src/host/index.js';
import { mulberry32 } from '../../src/util/random.js';

export const CLI = new URL('../../bin/nfreplay.js', import.meta.url).pathname;
const dirs: string[] = [];
export function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'nfr-pool-'));
  dirs.push(d);
  return d;
}
export function cleanup(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A packet: a crafted frame, or `raw` bytes of a whole frame (e.g. a fragment from fragmentIPv4 + wrapL2). */
export type Pkt = FrameSpec & { on: string; t: number; raw?: Uint8Array };

export function writeCapture(path: string, ifaces: string[], pkts: Pkt[]): void {
  const w = new PcapngWriter(path, { interfaces: ifaces.map((name) => ({ name, linktype: 1 })) });
  for (const p of pkts) w.writePacket(ifaces.indexOf(p.on), 1700000000 + Math.floor(p.t), Math.round((p.t % 1) * 1e9), p.raw ?? buildFrame(p));
  w.close();
}

/** The same packets as a classic pcap (one link, nanosecond timestamps): the interfaces are lost. */
export function writePcap(path: string, pkts: Pkt[]): void {
  const w = new PcapWriter(path, { linktype: 1, nanosecond: true });
  for (const p of pkts) w.writePacket(1700000000 + Math.floor(p.t), Math.round((p.t % 1) * 1e9), p.raw ?? buildFrame(p));
  w.close();
}

export function writeJson(path: string, v: unknown): void {
  writeFileSync(path, JSON.stringify(v));
}

export function cli(args: string[], timeout = 120000, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout, maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The project's seeded generator (src/util/random.ts), under the name callers use. */
export const rng = mulberry32;

/** The router most pool tests replay through: eth0 192.0.2.254/24 (servers), eth1 198.51.100.1/24
 * (clients, the ingress), default route via eth1. */
export const ROUTER: HostModel = {
  interfaces: [{ name: 'eth0', addresses: ['192.0.2.254/24'] }, { name: 'eth1', addresses: ['198.51.100.1/24'] }],
  routes: [{ dst: 'default', via: '198.51.100.254', dev: 'eth1' }],
  ingress: 'eth1',
  sysctl: {},
};

/** A masquerading router's rules: clients 192.0.2.0/24 out through eth1 (MASQUERADE), FORWARD
 * DROP but for ESTABLISHED/RELATED and the clients' UDP; `extra` FORWARD rules appended. */
export function masqRules(...extra: string[]): string {
  return `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 192.0.2.0/24 -o eth1 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -s 192.0.2.0/24 -p udp -j ACCEPT
${extra.map((r) => `-A FORWARD ${r}\n`).join('')}COMMIT
`;
}

const dist = (m: string) => import(new URL(`../../dist/${m}`, import.meta.url).href);

/** `rules` compiled for the default host, with the engine, the raw feed and the conntrack
 *  formatter (from dist/: the code `nfreplay replay` runs). */
export async function compiledRules(rules: string) {
  const { Engine } = await dist('replay/engine.js');
  const { replayCapture } = await dist('replay/feed.js');
  const { compile } = await dist('compile/image.js');
  const { lowerHost, defaultHost } = await dist('host/index.js');
  const { loadRulesApi } = await dist('replay/rules-adapter.js');
  const { formatConntrack } = await dist('report/conntrack.js');
  const api = await loadRulesApi();
  return { Engine, replayCapture, formatConntrack, compiled: compile(api.parseRuleset(rules, 'rules'), { host: lowerHost(defaultHost()) }) };
}
