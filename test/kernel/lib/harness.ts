// The differential harness (issue 6): run a case through a real router namespace, then through
// `nfreplay replay`, and compare counters, conntrack entries and egress packets.
//
// Topology, built per case:
//
//   sender ──veth── router ──veth── sink
//   (peer of the      (one veth per host.json     (peers of every other router interface)
//    ingress iface)    interface, same names)
//
// - The router is configured from host.json: interface addresses and MTUs, routes, sysctls (the
//   harness first sets ip_forward=1, the model's default, and send_redirects=0 (all and every
//   interface) so that hairpin traffic makes no ICMP redirects unless a case asks for them with
//   net.ipv4.conf.all.send_redirects 1 in its host.json; then the file's values; the host.json given
//   to nfreplay carries the same send_redirects settings), TX
//   checksum offload off on its interfaces (lib/txcsum.py: otherwise the packets its own stack sends,
//   e.g. a REJECT's reset, are captured with partial checksums a real NIC would have completed), and
//   PERMANENT neighbour entries pointing at the peer MACs for every next hop and every host address of
//   each connected prefix (/22 or smaller prefixes: all of them; larger ones: the addresses that appear
//   in the capture or the rules), so nothing waits for ARP and no ARP frame is sent.
// - Sender and sink have no addresses and drop everything in raw PREROUTING, so their stacks never
//   answer (no RSTs, no ICMP); IPv6 is disabled in all three namespaces (no ND/MLD noise on the wire).
// - Frames get the veth MACs (dst = router interface, src = peer) by our own code, never tcprewrite
//   (it silently fixes checksums). A capture entering on one interface is replayed with tcpreplay
//   (--pps); one entering on several interfaces is written in order by lib/inject.py (AF_PACKET
//   sockets opened in each namespace), since ordering across interfaces matters (requests, then
//   replies). Either way the router's per-interface rx_packets must grow by exactly the number of
//   frames sent there, and rx_dropped must not grow: nothing lost.
// - The router's egress is captured with one tcpdump per router interface, `-Q out -U` (stopped with
//   SIGINT, "0 packets dropped by kernel" checked), merged by timestamp. `--immediate-mode` matters:
//   without it libpcap's TPACKET_V3 block (1 s timeout) is never handed to tcpdump when it is stopped
//   soon after the traffic, and the file stays empty while "received by filter" counts the packets.
// - Then `iptables-legacy-save -c`, `conntrack -L -o extended` and `conntrack -S` are read.
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { Lab, run } from './netns.js';
import { parseCounters, type CounterLine } from './iptables.js';
import { parseConntrack, ctKey, type CtEntry } from './conntrack.js';
import {
  readCapture, ipDatagram, writePcap, writePcapng,
} from './pcapfile.js';
import { hasSubcommand, nfreplay } from './nfreplay.js';

export interface HostModel {
  interfaces: { name: string; addresses: string[]; mtu?: number }[];
  routes: { dst: string; via?: string; dev?: string; type?: string }[];
  ingress: string;
  sysctl?: Record<string, number | string>;
}

/** One packet of a case's capture: an Ethernet frame (MACs are rewritten) or a bare IPv4 packet. */
export interface CasePacket {
  frame?: Uint8Array;
  ip?: Uint8Array;
  /** Router interface it arrives on; default host.ingress. */
  iface?: string;
  /** Capture timestamp in seconds; default 1.7e9 + 1 ms per packet. */
  ts?: number;
}

export interface Case {
  name: string;
  dir: string;
  rules: string;
  host: HostModel;
  packets: CasePacket[];
  /** capture.ts `export const realTime = true`: tcpreplay keeps the capture's timing instead of
   *  --pps (a case whose kernel behaviour depends on the time between packets: rate limits). */
  realTime?: boolean;
}

export interface EgressPacket {
  iface: string;
  ip: Uint8Array;
  ts: number;
  /** Sent by the router's own stack (RST, ICMP error, echo reply, REJECT), not forwarded: see runKernel. */
  local: boolean;
  /** Ethernet destination and source MAC (12 bytes) as captured on the router's interface. */
  macs?: Uint8Array;
}

export interface KernelResult {
  saveC: string;
  counters: Map<string, CounterLine>;
  conntrackText: string;
  conntrack: CtEntry[];
  conntrackStats: string;
  egress: EgressPacket[];
  /** Frames sent per router interface. */
  injected: Record<string, number>;
  /** Seconds from the first frame sent to the conntrack dump (the kernel's timeouts ran this long). */
  elapsed: number;
  /** Which replay tool was used. */
  replayer: 'tcpreplay' | 'inject.py';
  /** The capture as nfreplay gets it (same frames, same MACs). */
  pcapPath: string;
  hostPath: string;
  rulesPath: string;
  workdir: string;
}

export const SEED = 20260601;

/** The replay or the capture lost packets (a loaded machine): the run proves nothing; retry it. */
export class LossError extends Error {}
const LIB = fileURLToPath(new URL('.', import.meta.url));

export async function loadCase(dir: string): Promise<Case> {
  const name = dir.replace(/\/+$/, '').split('/').pop()!;
  // rules.txt, or rules.ts (default export: () => string) for generated rulesets kept out of the repo.
  const rules = existsSync(join(dir, 'rules.txt'))
    ? readFileSync(join(dir, 'rules.txt'), 'utf8')
    : (await import(pathToFileURL(join(dir, 'rules.ts')).href) as { default: () => string }).default();
  const host = JSON.parse(readFileSync(join(dir, 'host.json'), 'utf8')) as HostModel;
  const mod = await import(pathToFileURL(join(dir, 'capture.ts')).href) as { default: (seed: number) => CasePacket[]; realTime?: boolean };
  const packets = mod.default(SEED);
  return { name, dir, rules, host, packets, realTime: mod.realTime === true };
}

// ------------------------------------------------------------------ small address helpers

function ipToNum(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}
function numToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
function inPrefix(ip: number, net: number, len: number): boolean {
  if (len === 0) return true;
  const mask = (~0 << (32 - len)) >>> 0;
  return ((ip & mask) >>> 0) === ((net & mask) >>> 0);
}
function ipAt(p: Uint8Array, off: number): string {
  return `${p[off]}.${p[off + 1]}.${p[off + 2]}.${p[off + 3]}`;
}

/** Addresses a router may need a neighbour entry for: both ends of every packet, and every IPv4 literal in the rules. */
function addressesSeen(c: Case): Set<string> {
  const s = new Set<string>();
  for (const p of c.packets) {
    const ip = p.ip ?? ipDatagram(p.frame!, 1);
    if (!ip) continue;
    s.add(ipAt(ip, 12));
    s.add(ipAt(ip, 16));
  }
  for (const m of c.rules.matchAll(/\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b/g)) s.add(m[1]);
  return s;
}

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16)));
}

// ------------------------------------------------------------------ the kernel side

export async function runKernel(c: Case, lab: Lab): Promise<KernelResult> {
  sweepStaleWorkdirs();
  const work = mkdtempSync(join(tmpdir(), `nfr-case-${process.pid}-${c.name}-`));
  const host = c.host;
  const ifnames = host.interfaces.map((i) => i.name);
  if (!ifnames.includes(host.ingress)) throw new Error(`${c.name}: host.json ingress ${host.ingress} is not an interface`);

  const router = await lab.ns('router');
  const sender = await lab.ns('sender');
  const sink = await lab.ns('sink');
  for (const ns of [router, sender, sink]) {
    await lab.sysctl(ns, 'net.ipv6.conf.all.disable_ipv6', 1);
    await lab.sysctl(ns, 'net.ipv6.conf.default.disable_ipv6', 1);
  }

  // Veth pairs: router side named as in host.json; peers v0, v1, ...
  const mac: Record<string, { router: string; peer: string; peerNs: string; peerName: string }> = {};
  for (const [i, itf] of host.interfaces.entries()) {
    const peerNs = itf.name === host.ingress ? sender : sink;
    const peerName = `v${i}`;
    const { macA, macB } = await lab.veth(router, itf.name, peerNs, peerName, itf.mtu ?? 1500);
    mac[itf.name] = { router: macA, peer: macB, peerNs, peerName };
  }

  // What a real NIC would put on the wire: no CHECKSUM_PARTIAL placeholders in the egress capture.
  await lab.exec(router, ['python3', join(LIB, 'txcsum.py'), ...ifnames]);

  // Addresses, routes.
  const batch: string[] = [];
  for (const itf of host.interfaces) for (const a of itf.addresses) batch.push(`addr add ${a} dev ${itf.name}`);
  for (const r of host.routes) {
    const words = ['route', 'add'];
    if (r.type) words.push(r.type);
    words.push(r.dst);
    if (r.via) words.push('via', r.via);
    if (r.dev) words.push('dev', r.dev);
    batch.push(words.join(' '));
  }

  // Neighbours: next hops and hosts of connected prefixes.
  const local = new Set(host.interfaces.flatMap((i) => i.addresses.map((a) => a.split('/')[0])));
  const neigh = new Map<string, string>(); // ip -> dev
  for (const r of host.routes) if (r.via && r.dev) neigh.set(r.via, r.dev);
  const seen = addressesSeen(c);
  for (const itf of host.interfaces) {
    for (const a of itf.addresses) {
      const [addr, lenS] = a.split('/');
      const len = Number(lenS ?? 32);
      const net = ipToNum(addr);
      if (len >= 22 && len <= 30) {
        const base = (net & ((~0 << (32 - len)) >>> 0)) >>> 0;
        for (let h = 1; h < 2 ** (32 - len) - 1; h++) {
          const ip = numToIp((base + h) >>> 0);
          if (!local.has(ip) && !neigh.has(ip)) neigh.set(ip, itf.name);
        }
      } else {
        for (const ip of seen) if (!local.has(ip) && inPrefix(ipToNum(ip), net, len) && !neigh.has(ip)) neigh.set(ip, itf.name);
      }
    }
  }
  for (const [ip, dev] of neigh) batch.push(`neigh replace ${ip} lladdr ${mac[dev].peer} dev ${dev} nud permanent`);
  await lab.exec(router, ['ip', '-batch', '-'], { input: batch.join('\n') + '\n' });

  // Sysctls: model defaults, then the case's.
  await lab.sysctl(router, 'net.ipv4.ip_forward', 1);
  await lab.sysctl(router, 'net.ipv4.conf.all.send_redirects', 0);
  for (const n of ifnames) await lab.sysctl(router, `net.ipv4.conf.${n}.send_redirects`, 0);
  for (const [k, v] of Object.entries(host.sysctl ?? {})) await lab.sysctl(router, k, v);

  // Silent peers.
  for (const ns of [sender, sink]) {
    await lab.exec(ns, ['iptables-legacy-restore'], { input: '*raw\n:PREROUTING DROP [0:0]\n:OUTPUT DROP [0:0]\nCOMMIT\n' });
  }

  // The case's rules.
  const rulesPath = join(work, 'rules.txt');
  writeFileSync(rulesPath, c.rules);
  const hostPath = join(work, 'host.json');
  // nfreplay gets the router's redirect switches too: off on all and every interface (as set above)
  // unless the case's sysctls turn them on
  const redirectsOff = Object.fromEntries(['all', ...ifnames].map((n) => [`net.ipv4.conf.${n}.send_redirects`, 0]));
  writeFileSync(hostPath, JSON.stringify({ ...host, sysctl: { ...redirectsOff, ...host.sysctl } }, null, 2));
  await lab.exec(router, ['iptables-legacy-restore'], { input: c.rules });

  // Frames with the veth MACs, in order, and the capture nfreplay will read.
  const frames: { iface: string; data: Uint8Array; ts: number }[] = c.packets.map((p, i) => {
    const iface = p.iface ?? host.ingress;
    if (!mac[iface]) throw new Error(`${c.name}: packet ${i} on unknown interface ${iface}`);
    let f: Uint8Array;
    if (p.frame) f = Uint8Array.from(p.frame);
    else { f = new Uint8Array(14 + p.ip!.length); f[12] = 0x08; f[13] = 0x00; f.set(p.ip!, 14); }
    f.set(macBytes(mac[iface].router), 0);
    f.set(macBytes(mac[iface].peer), 6);
    return { iface, data: f, ts: p.ts ?? 1.7e9 + i * 0.001 };
  });
  const ifacesUsed = [...new Set(frames.map((f) => f.iface))];
  const pcapPath = join(work, ifacesUsed.length > 1 ? 'capture.pcapng' : 'capture.pcap');
  writeFileSync(pcapPath, ifacesUsed.length > 1 ? writePcapng(ifnames, frames) : writePcap(frames));

  // Interface stats before.
  const before = await linkStats(lab, router);

  // Egress capture: one tcpdump per router interface, outgoing direction only.
  const dumps = ifnames.map((n) => {
    const path = join(work, `egress-${n}.pcap`);
    return { iface: n, path, bg: lab.spawn(router, ['tcpdump', '-i', n, '-Q', 'out', '--immediate-mode', '-B', '32768', '-U', '-n', '-s', '0', '-w', path]) };
  });
  for (const d of dumps) await waitFor(() => d.bg.stderr().includes('listening on'), 10_000, () => `tcpdump did not start: ${d.bg.stderr()}`);

  // Replay.
  const t0 = Date.now();
  let replayer: KernelResult['replayer'];
  const injected: Record<string, number> = {};
  for (const f of frames) injected[f.iface] = (injected[f.iface] ?? 0) + 1;
  if (ifacesUsed.length === 1) {
    replayer = 'tcpreplay';
    const m = mac[ifacesUsed[0]];
    const pace = c.realTime ? [] : ['--pps=4000']; // without it tcpreplay keeps the capture's timing
    const r = await lab.exec(m.peerNs, ['tcpreplay', '-i', m.peerName, ...pace, pcapPath], { timeoutMs: 60_000 });
    const ok = /Successful packets:\s+(\d+)/.exec(r.stdout);
    const failed = /Failed packets:\s+(\d+)/.exec(r.stdout);
    if (!ok || Number(ok[1]) !== frames.length || !failed || Number(failed[1]) !== 0) {
      throw new LossError(`${c.name}: tcpreplay did not send every frame:\n${r.stdout}${r.stderr}`);
    }
  } else {
    if (c.realTime) throw new Error(`${c.name}: realTime needs a capture entering on one interface (tcpreplay)`);
    replayer = 'inject.py';
    const targets = ifnames.map((n) => `${mac[n].peerNs}:${mac[n].peerName}`);
    const parts: Uint8Array[] = [];
    for (const f of frames) {
      const h = new Uint8Array(5);
      h[0] = ifnames.indexOf(f.iface);
      new DataView(h.buffer).setUint32(1, f.data.length, false);
      parts.push(h, f.data);
    }
    const framesPath = join(work, 'frames.bin');
    writeFileSync(framesPath, Buffer.concat(parts));
    const r = await run(['python3', join(LIB, 'inject.py'), framesPath, '200', ...targets], { timeoutMs: 60_000 });
    const st = JSON.parse(r.stdout.trim().split('\n').pop()!) as { sent: number; errors: number };
    if (st.sent !== frames.length || st.errors) throw new LossError(`${c.name}: inject.py: ${r.stdout}${r.stderr}`);
  }

  // Let the last packets leave, then stop the capture cleanly.
  await sleep(150);
  const after = await linkStats(lab, router);
  for (const d of dumps) {
    const stopped = await d.bg.stop();
    if (process.env.NFR_DEBUG) process.stdout.write(`tcpdump ${d.iface}: ${stopped.stderr}\n`);
    const dropped = /(\d+) packets? dropped by kernel/.exec(stopped.stderr);
    if (!dropped || Number(dropped[1]) !== 0) throw new LossError(`${c.name}: tcpdump on ${d.iface} lost packets: ${stopped.stderr}`);
  }
  for (const n of ifnames) {
    const got = after[n].rx_packets - before[n].rx_packets;
    if (got !== (injected[n] ?? 0) || after[n].rx_dropped !== before[n].rx_dropped) {
      throw new LossError(`${c.name}: ${n} received ${got} of ${injected[n] ?? 0} frames (rx_dropped ${before[n].rx_dropped} -> ${after[n].rx_dropped})`);
    }
  }

  // Egress packets of all interfaces, merged in time order (stable: per-interface order kept).
  const egress: EgressPacket[] = [];
  for (const d of dumps) {
    const cap = readCapture(readFileSync(d.path));
    for (const p of cap.packets) {
      const ip = ipDatagram(p.data, cap.linktype);
      if (ip) egress.push({ iface: d.iface, ip: Uint8Array.from(ip), ts: p.ts, local: false, macs: cap.linktype === 1 ? p.data.slice(0, 12) : undefined });
    }
  }
  egress.sort((x, y) => x.ts - y.ts);
  // Which egress packets the router's own stack sent: they leave with TTL = ip_default_ttl, while a
  // forwarded packet leaves with its arrival TTL - 1. Exact as long as no replayed packet arrived with
  // TTL = ip_default_ttl + 1 (checked; otherwise fall back to "source is a local address").
  const defTtl = Number(await lab.readSysctl(router, 'net.ipv4.ip_default_ttl'));
  const ambiguous = frames.some((f) => f.data[14 + 8] === defTtl + 1);
  const localAddrs = new Set(host.interfaces.flatMap((i) => i.addresses.map((a) => a.split('/')[0])));
  for (const e of egress) e.local = ambiguous ? localAddrs.has(ipAt(e.ip, 12)) : e.ip[8] === defTtl;

  const saveC = (await lab.exec(router, ['iptables-legacy-save', '-c'])).stdout;
  const ct = await lab.exec(router, ['conntrack', '-L', '-o', 'extended'], { allowFail: true });
  const elapsed = (Date.now() - t0) / 1000;
  const cts = await lab.exec(router, ['conntrack', '-S'], { allowFail: true });
  return {
    saveC, counters: parseCounters(saveC),
    conntrackText: ct.stdout, conntrack: parseConntrack(ct.stdout), conntrackStats: cts.stdout,
    egress, injected, elapsed, replayer, pcapPath, hostPath, rulesPath, workdir: work,
  };
}

/** Remove work directories of dead runs older than 30 minutes (a failing case keeps its own for inspection). */
export function sweepStaleWorkdirs(): void {
  for (const n of readdirSync(tmpdir())) {
    const m = /^nfr-case-(\d+)-/.exec(n);
    if (!m || Number(m[1]) === process.pid) continue;
    try { if (Date.now() - statSync(join(tmpdir(), n)).mtimeMs < 30 * 60_000) continue; } catch { continue; }
    let alive = true;
    try { process.kill(Number(m[1]), 0); } catch (e) { alive = (e as NodeJS.ErrnoException).code === 'EPERM'; }
    if (!alive) rmSync(join(tmpdir(), n), { recursive: true, force: true });
  }
}

interface LinkStat { ifindex: number; rx_packets: number; rx_dropped: number; tx_packets: number }

async function linkStats(lab: Lab, ns: string): Promise<Record<string, LinkStat>> {
  const r = await lab.exec(ns, ['ip', '-s', '-j', 'link', 'show']);
  const out: Record<string, LinkStat> = {};
  for (const l of JSON.parse(r.stdout) as { ifindex: number; ifname: string; stats64: { rx: { packets: number; dropped: number }; tx: { packets: number } } }[]) {
    out[l.ifname] = { ifindex: l.ifindex, rx_packets: l.stats64.rx.packets, rx_dropped: l.stats64.rx.dropped, tx_packets: l.stats64.tx.packets };
  }
  return out;
}

function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }

async function waitFor(cond: () => boolean, ms: number, msg: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(msg());
    await sleep(20);
  }
}

// ------------------------------------------------------------------ the nfreplay side and the comparison

export interface Comparison {
  agree: number;
  total: number;
  differences: string[];
  /** Set when the nfreplay side could not run yet. */
  pending?: string;
}

/** True once `nfreplay replay` exists in the built CLI. */
export function replayAvailable(): boolean { return hasSubcommand('replay'); }

/**
 * Rules whose counters depend on a random choice: every `-m statistic --mode random` rule, the rules
 * after it in its chain, everything in chains such rules jump or go to, and (session affinity) every
 * rule testing a `recent` list that a dependent rule sets, with the chains it jumps to; to a fixpoint.
 */
export function randomDependent(saveC: string): Set<string> {
  const counters = parseCounters(saveC);
  const byChain = new Map<string, CounterLine[]>();
  for (const c of counters.values()) {
    if (c.rule === 0) continue;
    const k = `${c.table}:${c.chain}`;
    if (!byChain.has(k)) byChain.set(k, []);
    byChain.get(k)!.push(c);
  }
  const dep = new Set<string>();
  const pending: string[] = [];
  const mark = (r: CounterLine) => {
    if (dep.has(r.key)) return;
    dep.add(r.key);
    const t = /-[jg] (\S+)/.exec(r.text);
    if (t && byChain.has(`${r.table}:${t[1]}`)) pending.push(`${r.table}:${t[1]}`);
  };
  for (const rules of byChain.values()) {
    const first = rules.findIndex((r) => /-m statistic --mode random/.test(r.text));
    if (first >= 0) for (const r of rules.slice(first)) mark(r);
  }
  for (;;) {
    while (pending.length) for (const r of byChain.get(pending.pop()!) ?? []) mark(r);
    const lists = new Set<string>();
    for (const key of dep) {
      const r = counters.get(key)!;
      if (/--set\b/.test(r.text)) { const n = /--name (\S+)/.exec(r.text); if (n) lists.add(n[1]); }
    }
    const before = dep.size;
    for (const rules of byChain.values()) {
      for (const r of rules) {
        const n = /-m recent .*--name (\S+)/.exec(r.text);
        if (n && lists.has(n[1])) mark(r);
      }
    }
    if (dep.size === before && pending.length === 0) break;
  }
  return dep;
}

/** Chi-square homogeneity test of two count vectors; returns the p-value (upper tail, df = columns - 1). */
export function chiSquareP(a: number[], b: number[]): number {
  const na = a.reduce((s, x) => s + x, 0);
  const nb = b.reduce((s, x) => s + x, 0);
  if (na === 0 || nb === 0) return na === nb ? 1 : 0;
  let chi = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    const col = a[i] + b[i];
    if (col === 0) continue;
    k++;
    const ea = (col * na) / (na + nb);
    const eb = (col * nb) / (na + nb);
    chi += (a[i] - ea) ** 2 / ea + (b[i] - eb) ** 2 / eb;
  }
  const df = k - 1;
  if (df <= 0) return 1;
  return gammaQ(df / 2, chi / 2);
}

/** Regularized upper incomplete gamma Q(s, x) (series below s+1, continued fraction above). */
function gammaQ(s: number, x: number): number {
  if (x <= 0) return 1;
  const lg = lnGamma(s);
  if (x < s + 1) {
    let sum = 1 / s;
    let term = sum;
    for (let n = 1; n < 1000; n++) {
      term *= x / (s + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return 1 - sum * Math.exp(-x + s * Math.log(x) - lg);
  }
  let b = x + 1 - s;
  let c = 1e300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - s);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.exp(-x + s * Math.log(x) - lg) * h;
}

function lnGamma(z: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61503916999185, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  z -= 1;
  let x = g[0];
  for (let i = 1; i < 9; i++) x += g[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
}

function hex(b: Uint8Array): string { return Buffer.from(b).toString('hex'); }

export function compare(c: Case, k: KernelResult): Comparison {
  if (!replayAvailable()) {
    return { agree: 0, total: 0, differences: [], pending: 'PENDING: `nfreplay replay` is not in dist/ yet; kernel side only' };
  }
  const w = k.workdir;
  const out: NfreplayOutputs = {
    counters: join(w, 'nfreplay.save'), conntrack: join(w, 'nfreplay.conntrack'), egress: join(w, 'nfreplay-out.pcap'),
  };
  const r = nfreplay(['replay', '--rules', k.rulesPath, '--pcap', k.pcapPath, '--host', k.hostPath,
    '--save-counters', out.counters, '--conntrack', out.conntrack, '--out', out.egress, '--seed', String(SEED)]);
  if (r.code !== 0) return { agree: 0, total: 1, differences: [`nfreplay replay exited ${r.code}: ${r.stderr.slice(0, 2000)}`] };
  return compareOutputs(c, k, out);
}

/** Paths of what `nfreplay replay` wrote. */
export interface NfreplayOutputs { counters: string; conntrack: string; egress: string }

/** The comparison proper, on files nfreplay wrote (separate so that tests can feed it doctored ones). */
export function compareOutputs(_c: Case, k: KernelResult, out: NfreplayOutputs): Comparison {
  const countersOut = out.counters;
  const ctOut = out.conntrack;
  const egressOut = out.egress;
  const differences: string[] = [];
  let agree = 0;
  let total = 0;

  // 1. Egress, byte for byte at the IP layer, in order. Packets the router's own stack sent (RST for
  // a closed port, ICMP errors, echo replies, REJECT) are matched if nfreplay produced them too;
  // otherwise they are set apart and accounted for in the OUTPUT counters below.
  const dep = randomDependent(k.saveC);
  const random = dep.size > 0;
  const nOut = existsSync(egressOut) ? readCapture(readFileSync(egressOut)) : { linktype: 1, packets: [] };
  // nfreplay's packets; with pcapng interface names their interface is compared too.
  type Pk = { ip: Uint8Array | null; iface: string | undefined; macs: Uint8Array | undefined };
  const nPk = nOut.packets.map((p): Pk => ({ ip: ipDatagram(p.data, nOut.linktype), iface: p.iface, macs: nOut.linktype === 1 ? p.data.slice(0, 12) : undefined }))
    .filter((x): x is Pk & { ip: Uint8Array } => x.ip !== null);
  const nIps = nPk.map((x) => hex(x.ip));
  let j = 0;
  let localOnly = 0;
  let localBytes = 0n;
  const egressDiffs: string[] = [];
  let egressAgree = 0;
  let egressTotal = 0;
  // The router's own packets without DF — ICMP errors (icmp_send) and echo replies (icmp_reply):
  // the ICMP socket has pmtudisc IP_PMTUDISC_DONT, so __ip_make_skb takes the IP id from
  // ip_select_ident -> __ip_select_ident, a siphash of (daddr, saddr, protocol) keyed by a secret
  // drawn at boot (ip_id_key) indexing a table of counters: not reproducible offline (measured here:
  // consecutive errors to one client got ids 4609, 4610, 4611). nfreplay writes id 0 for them (see
  // README, --out), so such kernel packets are compared with the IP id and the IP header checksum
  // (which covers the id) masked, and nothing else masked. REJECT's RSTs carry DF and id 0
  // (nf_reject_iphdr_put) and are compared whole, as is every forwarded packet.
  const masked = (ip: Uint8Array) => { const m = Uint8Array.from(ip); m[4] = m[5] = m[10] = m[11] = 0; return hex(m); };
  if (random) {
    // After random choices the packets' destinations (and MASQUERADE --random-fully ports) differ
    // legitimately: compare how many packets left, not their bytes. nfreplay's --out has no
    // interface, so the count is over all interfaces. The kernel's own packets (TTL ip_default_ttl)
    // count as produced by nfreplay when nfreplay wrote as many packets with TTL 64 (the default
    // ip_default_ttl; a forwarded packet that arrived with TTL 65 would be miscounted), else they
    // are set apart (and accounted for in OUTPUT below).
    const kf = k.egress.filter((p) => !p.local);
    const kl = k.egress.filter((p) => p.local);
    const nOwn = nPk.filter((x) => x.ip[8] === 64).length;
    const produced = kl.length > 0 && nOwn >= kl.length;
    if (!produced) for (const p of kl) { localOnly++; localBytes += BigInt(p.ip.length); }
    const want = produced ? k.egress.length : kf.length;
    egressTotal++;
    if (want === nIps.length) egressAgree++;
    else egressDiffs.push(`egress: kernel sent ${want} packets${produced ? ` (${kl.length} its own)` : ' (its own apart)'}, nfreplay ${nIps.length}`);
  } else {
    // In order, resynchronising after a packet only one side has (a lookahead of 16 packets).
    const kh = k.egress.map((p) => hex(p.ip));
    const kMask = k.egress.map((p) => p.local && (p.ip[6] & 0x40) === 0);
    const khm = k.egress.map((p, i) => (kMask[i] ? masked(p.ip) : ''));
    const nhm = nPk.map((x) => masked(x.ip));
    /** Kernel egress #a and nfreplay packet #b are the same packet (see masked above). */
    const same = (a: number, b: number) => kh[a] === nIps[b] || (kMask[a] && khm[a] === nhm[b]);
    for (let i = 0; i < k.egress.length; i++) {
      const kp = k.egress[i];
      const h = kh[i];
      if (j < nIps.length && same(i, j)) {
        egressTotal++;
        const ni = nPk[j].iface;
        // the router's own packets: nfreplay writes them with the MACs of the frame that caused
        // them swapped (README, --out); the kernel's go to the neighbour they came from, from the
        // router's interface: with the harness's MACs (dst = router, src = peer) the same 12 bytes.
        // (Forwarded frames keep their captured MACs in nfreplay: not compared.)
        const nm = nPk[j].macs, km = kp.macs;
        if (ni !== undefined && ni !== kp.iface) egressDiffs.push(`egress #${i}: kernel sent it on ${kp.iface}, nfreplay on ${ni}`);
        else if (kp.local && nm && km && hex(nm) !== hex(km)) egressDiffs.push(`egress #${i} on ${kp.iface}: kernel MACs ${hex(km)}, nfreplay ${hex(nm)}`);
        else egressAgree++;
        j++;
        continue;
      }
      let ahead = -1;
      for (let d = 1; d < 16 && j + d < nIps.length; d++) if (same(i, j + d)) { ahead = d; break; }
      if (ahead < 0 && kp.local) { localOnly++; localBytes += BigInt(kp.ip.length); continue; }
      if (ahead > 0) {
        for (let d = 0; d < ahead; d++) { egressTotal++; egressDiffs.push(`egress only in nfreplay (before kernel #${i}): ${nIps[j + d].slice(0, 120)}`); }
        j += ahead;
        i--; // match it on the next turn
        continue;
      }
      egressTotal++;
      let later = -1;
      if (j < nIps.length) for (let d = 0; d < 16 && i + 1 + d < k.egress.length; d++) if (same(i + 1 + d, j)) { later = d; break; }
      if (later >= 0 || j >= nIps.length) {
        egressDiffs.push(`egress only in the kernel: #${i} on ${kp.iface}: ${h.slice(0, 120)}`);
      } else {
        egressDiffs.push(`egress #${i} on ${kp.iface}: kernel ${h.slice(0, 120)} nfreplay ${nIps[j].slice(0, 120)}`);
        j++;
      }
    }
    for (; j < nIps.length; j++) { egressTotal++; egressDiffs.push(`egress only in nfreplay: ${nIps[j].slice(0, 120)}`); }
  }

  // 2. Counters: exact, except random-dependent rules (chi-square per chain). The unmatched
  // kernel-stack packets went through every OUTPUT chain of raw/mangle/filter/security and mangle
  // POSTROUTING (not the nat chains: they are replies or RELATED to a replayed packet's entry, and
  // nat sees only a connection's first packet). Where such a chain has no rules, its policy counter
  // must be the kernel's minus exactly those packets; where it has rules, they are compared as they
  // are and a note says the kernel's own packets may be in them.
  const mine = parseCounters(readFileSync(countersOut, 'utf8'));
  const localChains = ['raw:OUTPUT', 'mangle:OUTPUT', 'filter:OUTPUT', 'security:OUTPUT', 'mangle:POSTROUTING'];
  const hasRules = (tc: string) => [...k.counters.values()].some((x) => `${x.table}:${x.chain}` === tc && x.rule > 0);
  const depChains = new Map<string, string[]>();
  let countedNotWritten = false;
  for (const [key, kc] of k.counters) {
    if (dep.has(key)) {
      const ch = `${kc.table}:${kc.chain}`;
      if (!depChains.has(ch)) depChains.set(ch, []);
      depChains.get(ch)!.push(key);
      continue;
    }
    total++;
    let want = { packets: kc.packets, bytes: kc.bytes };
    let note = '';
    const tc = `${kc.table}:${kc.chain}`;
    if (localOnly && localChains.includes(tc)) {
      if (kc.rule === 0 && !hasRules(tc)) {
        want = { packets: kc.packets - BigInt(localOnly), bytes: kc.bytes - localBytes };
        note = ` (kernel minus its own ${localOnly} packets)`;
      } else {
        note = ` (may include the kernel's own ${localOnly} packets)`;
      }
    }
    const nc = mine.get(key);
    if (nc && nc.packets === want.packets && nc.bytes === want.bytes) agree++;
    else if (nc && want.packets !== kc.packets && nc.packets === kc.packets && nc.bytes === kc.bytes) {
      // The other consistent model: nfreplay generates the router's own packets (counts them exactly
      // as the kernel does) but does not write them to --out (documented there as forwarded packets).
      agree++;
      countedNotWritten = true;
    } else {
      if (note && nc && nc.packets > want.packets && nc.packets <= kc.packets) {
        note += '; nfreplay counts more: some of its own packets not written to --out, or packets the kernel did not forward';
      }
      differences.push(`counter ${key} (${kc.text.trim()}): kernel [${want.packets}:${want.bytes}]${note} nfreplay ${nc ? `[${nc.packets}:${nc.bytes}]` : 'missing'}`);
    }
  }
  if (countedNotWritten) {
    differences.push(`(info) nfreplay counts the router's own ${localOnly} packets in OUTPUT exactly as the kernel but does not write them to --out: their bytes are not compared`);
  }
  for (const [ch, keys] of depChains) {
    // Rules testing a recent list (session affinity: --rcheck/--update) count every repeat
    // connection of a client at the endpoint its first connection drew: clustered, not independent
    // draws, so they are left out of the chi-square (it would see 8 correlated packets as 8 draws),
    // and their sum, the number of repeat connections, must be equal.
    const sticky = keys.filter((x) => /-m recent .*--(rcheck|update)\b/.test(k.counters.get(x)!.text));
    const drawn = keys.filter((x) => !sticky.includes(x));
    total++;
    const a = drawn.map((x) => Number(k.counters.get(x)!.packets));
    const b = drawn.map((x) => Number(mine.get(x)?.packets ?? 0n));
    const p = chiSquareP(a, b);
    if (p > 0.001) agree++;
    else differences.push(`random split in ${ch}: kernel ${a.join('/')} nfreplay ${b.join('/')} (chi-square p=${p.toExponential(2)})`);
    if (sticky.length) {
      total++;
      const ks = sticky.reduce((t, x) => t + k.counters.get(x)!.packets, 0n);
      const ns = sticky.reduce((t, x) => t + (mine.get(x)?.packets ?? 0n), 0n);
      if (ks === ns) agree++;
      else differences.push(`affinity hits in ${ch}: kernel ${ks} nfreplay ${ns} (sum of the recent-list rules)`);
    }
  }
  for (const key of mine.keys()) if (!k.counters.has(key)) { total++; differences.push(`counter ${key} only in nfreplay`); }

  // 3. Conntrack: the set of (proto, state, tuples, ASSURED/UNREPLIED, ctmark); then each matched
  // pair's remaining timeout within the replay's duration (+1 s: both sides truncate to seconds).
  const kEntries = k.conntrack;
  const nEntries = existsSync(ctOut) ? parseConntrack(readFileSync(ctOut, 'utf8')) : [];
  const slack = Math.ceil(k.elapsed) + 1;
  if (!random) {
    const left = [...nEntries];
    for (const e of kEntries) {
      total++;
      const i = left.findIndex((x) => ctKey(x) === ctKey(e));
      if (i < 0) { differences.push(`conntrack only in kernel: ${ctKey(e)}`); continue; }
      const other = left.splice(i, 1)[0];
      if (Math.abs(other.timeout - e.timeout) <= slack) agree++;
      else differences.push(`conntrack timeout of ${ctKey(e)}: kernel ${e.timeout} s, nfreplay ${other.timeout} s`);
    }
    for (const e of left) { total++; differences.push(`conntrack only in nfreplay: ${ctKey(e)}`); }
  } else {
    total++;
    if (kEntries.length === nEntries.length) agree++;
    else differences.push(`conntrack: kernel ${kEntries.length} entries, nfreplay ${nEntries.length}`);
  }

  agree += egressAgree;
  total += egressTotal;
  differences.push(...egressDiffs);
  if (localOnly) differences.push(`(info) ${localOnly} packets sent by the router's own stack, not produced by nfreplay: accounted in OUTPUT`);
  return { agree, total, differences };
}

export function summary(c: Case, cmp: Comparison): string {
  if (cmp.pending) return `${c.name}: ${cmp.pending}`;
  const firsts = cmp.differences.slice(0, 5).map((d) => `  ${d}`).join('\n');
  return `${c.name}: agree ${cmp.agree}/${cmp.total}${firsts ? `\n${firsts}` : ''}`;
}
