// nfreplay replay: a capture through a ruleset, single worker. Prints per table and chain the
// rules with counters (iptables -L -v -n -x layout) and verdict totals; writes --save-counters
// (iptables-save -c), --json, --out (forwarded packets as they leave), --conntrack.
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import type { Command } from '../commands.js';
import { compile, type CompiledImage } from '../compile/image.js';
import { lowerHost, defaultHost, loadHostFile, loadIpJson, type HostModel } from '../host/index.js';
import { Engine } from '../replay/engine.js';
import { replayCapture, TEST_DELAY_MS, TRACE } from '../replay/feed.js';
import { DropsWriter, dropsSideFile, outputFormat } from '../replay/drops.js';
import { CaptureError, type CaptureInfo } from '../pcap/reader.js';
import { PcapWriter } from '../pcap/writer.js';
import { loadRulesApi, matchText, targetText, type RulesApi } from '../replay/rules-adapter.js';
import { withCounters } from '../report/counters.js';
import { formatTables, formatTotals, formatTopDrops } from '../report/text.js';
import { buildJson } from '../report/json.js';
import { fairness, formatFairness } from '../report/fairness.js';
import type { Ruleset } from '../rules/model.js';

export interface ReplayOptions {
  rules: string;
  pcap: string;
  host?: string;
  /** A host model given directly (instead of a file). */
  hostModel?: HostModel;
  ipAddr?: string;
  ipRoute?: string;
  ingress?: string;
  seed?: number;
  hz?: number;
  linear?: boolean;
  trustChecksums?: boolean;
  unsupported?: string;
  out?: string;
  /** --drops: F.pcapng (comments), else classic pcap + F.jsonl (replay/drops.ts). */
  drops?: string;
}

export interface ReplayOutcome {
  rs: Ruleset;
  compiled: CompiledImage;
  engine: Engine;
  drops: Map<number, number>;
  captureError: CaptureError | null;
  info: CaptureInfo | null;
  api: RulesApi;
  /** Interrupted (Ctrl-C): the outcome covers the packets replayed before it. */
  partial?: boolean;
}

/** The line on stdout after the report of an interrupted replay (single worker and pool). */
export function partialNote(packets: number): string {
  return `\nPARTIAL: interrupted by Ctrl-C after ${packets} packets; the report covers only those\n`;
}

/** An error for the user: input errors (ParseError, HostError, CaptureError: `file:line:col: msg`
 *  or `file: ... at byte N`) as they are, anything else prefixed with the command. */
export function errorText(e: unknown, cmd: string): string {
  const err = e as Error;
  if (err && (err.name === 'ParseError' || err.name === 'HostError' || err.name === 'CaptureError')) return err.message;
  return `nfreplay ${cmd}: ${err?.message ?? String(e)}`;
}

/** Write `text` to `path` whole or not at all (temp name + rename). */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function loadHost(o: { host?: string; ipAddr?: string; ipRoute?: string; ingress?: string }): HostModel {
  if (o.host) return loadHostFile(o.host);
  if (o.ipAddr || o.ipRoute) {
    if (!o.ipAddr || !o.ipRoute || !o.ingress) throw new Error('--ip-addr, --ip-route and --ingress go together');
    return loadIpJson(o.ipAddr, o.ipRoute, o.ingress);
  }
  return defaultHost();
}

/** The ruleset of a replay read, parsed and compiled for its host (the single worker and the pool). */
export async function compileReplay(o: ReplayOptions): Promise<{ api: RulesApi; rs: Ruleset; compiled: CompiledImage }> {
  const api = await loadRulesApi();
  const text = readFileSync(o.rules === '-' ? 0 : o.rules, 'utf8');
  const rs = api.parseRuleset(text, o.rules === '-' ? 'stdin' : o.rules, o.unsupported ? { unsupported: o.unsupported } : undefined);
  const host = lowerHost(o.hostModel ?? loadHost(o));
  const compiled = compile(rs, { host, hz: o.hz, seed: o.seed, linear: o.linear, trustChecksums: o.trustChecksums });
  return { api, rs, compiled };
}

/** The whole single-worker replay; the CLI and tests call it. */
export async function replay(o: ReplayOptions): Promise<ReplayOutcome> {
  if (((o as { workers?: number }).workers ?? 1) > 1) return (await import('../replay/pool.js')).runReplay(o);
  const { api, rs, compiled } = await compileReplay(o);
  const engine = new Engine(compiled);
  let writer: PcapWriter | null = null;
  let dropsOut: DropsWriter | null = null;
  let fed: Awaited<ReturnType<typeof replayCapture>>;
  // first Ctrl-C: stop after the batch in flight and report what was replayed; a second: leave now
  let stop = false;
  const onSigint = () => { if (stop) process.exit(130); stop = true; };
  process.on('SIGINT', onSigint);
  try {
    // a classic pcap file is read straight into the core and framed there (replay/feed.ts)
    fed = await replayCapture(engine, o.pcap, {
      hostNames: compiled.ifaceNames,
      sink: o.out ? (linktype, fmt) => {
        writer = new PcapWriter(o.out!, { linktype, nanosecond: fmt.nanosecond });
        const w = writer;
        return (s, ns, frame, wl) => w.writePacket(s, ns, frame, wl);
      } : undefined,
      drops: o.drops ? (fmt) => (dropsOut = new DropsWriter(o.drops!, { compiled, api }, fmt)).write : undefined,
      stop: () => stop,
      onBatch: TRACE || TEST_DELAY_MS ? async (b, packets) => {
        if (TRACE) process.stderr.write(`nfreplay: batch ${b} done (${packets} packets)\n`);
        if (TEST_DELAY_MS) await new Promise((r) => setTimeout(r, TEST_DELAY_MS));
      } : undefined,
    });
    // nothing read: the files are still written (empty), in the capture's format when known
    if (o.out) writer ??= new PcapWriter(o.out, { ...outputFormat(fed.info) });
    if (o.drops) dropsOut ??= new DropsWriter(o.drops, { compiled, api }, outputFormat(fed.info));
    (writer as PcapWriter | null)?.close();
    (dropsOut as DropsWriter | null)?.close();
  } catch (e) {
    (writer as PcapWriter | null)?.abort();
    (dropsOut as DropsWriter | null)?.abort();
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
  const { drops, captureError, info, partial } = fed;
  return { rs, compiled, engine, drops, captureError, info, api, ...(partial ? { partial: true } : {}) };
}

const HELP = `nfreplay replay --rules R --pcap P [options]
Replay a capture (pcap/pcapng, '-' = stdin) through an iptables-save ruleset, as the kernel would.

  --rules R             iptables-save / iptables-restore text
  --pcap P              capture file
  --host H              host model JSON (interfaces, routes, ingress, sysctl); default: eth0 192.0.2.1/24
                        (ingress) and eth1 198.51.100.1/24 with a default route via 198.51.100.254.
                        A pcapng packet arrives on the host interface of its capture interface's name;
                        classic pcap, or a name the host model lacks: on the host's ingress interface.
                        -i/-o names the host model lacks match no interface.
  --seed N              seed of the random draws (statistic random, NAT --random); default 0
  --hz N                jiffies per second for recent/limit/conntrack timeouts (default 250)
  --save-counters F     the ruleset with our counters, as iptables-save -c prints it
  --json F              everything as one JSON object (schema: src/report/SCHEMA.md)
  --out F.pcap          every packet that left the host, as it left: forwarded ones (NAT applied,
                        TTL decremented, fragmented to the MTU) and the host's own (REJECT
                        replies, ICMP errors, echo replies right after their cause; ICMP
                        redirects right before it), with the input's link type and timestamp
                        precision (µs or ns)
  --drops F             every dropped packet, in capture order, with what dropped it:
                        F.pcapng: each packet's comment names it (Wireshark: frame.comment), e.g.
                          'frame 17: filter FORWARD rule 3: -A FORWARD -s 203.0.113.0/24 -j DROP';
                        any other name: classic pcap F plus F.jsonl (F + '.jsonl', e.g.
                          drops.pcap.jsonl), one JSON object per packet
                          {"frame":17,"time":"…","verdict":"droppedByRule","code":4,"table":…,
                           "chain":…,"rule":3,"text":"-A …"} (a policy: "policy":"DROP")
                        frames as the core held them when dropped (NAT/TTL applied up to there)
  --conntrack F         the conntrack table at the end, as conntrack -L prints it
  --linear              one leaf per chain (no decision trees): the reference walk
  --trust-checksums     do not verify L4 checksums (captures taken on the sending host)
  --unsupported MODE    error (default) | assume-match | assume-nomatch | skip-rule
  --workers N           worker threads (default: the number of cores); any N prints the same report
  --quiet               no progress bar, no pool summary on stderr

Ctrl-C stops after the batch in flight: the report and files cover the packets replayed, the
report says PARTIAL (JSON "partial": true), exit code 130; a second Ctrl-C exits at once.

Example:
  nfreplay replay --rules pcaps/rulesets/nat-router.rules --pcap traffic.pcap --save-counters counters.txt
`;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'replay a capture through a ruleset: counters, verdicts, NAT, conntrack',
  help: HELP,
  async run(argv) {
    let v;
    try {
      v = parseArgs({
        args: argv,
        options: {
          rules: { type: 'string' }, pcap: { type: 'string' }, host: { type: 'string' },
          'ip-addr': { type: 'string' }, 'ip-route': { type: 'string' }, ingress: { type: 'string' },
          seed: { type: 'string' }, hz: { type: 'string' }, 'save-counters': { type: 'string' },
          json: { type: 'string' }, out: { type: 'string' }, conntrack: { type: 'string' }, drops: { type: 'string' },
          linear: { type: 'boolean' }, 'trust-checksums': { type: 'boolean' }, unsupported: { type: 'string' },
          workers: { type: 'string' }, quiet: { type: 'boolean' },
        },
        strict: true,
      }).values;
    } catch (e) {
      process.stderr.write(`nfreplay replay: ${(e as Error).message}\n`);
      return 2;
    }
    if (!v.rules || !v.pcap) {
      process.stderr.write('nfreplay replay: --rules and --pcap are required\n');
      return 2;
    }
    const num = (s: string | undefined, what: string) => {
      if (s === undefined) return undefined;
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${what}: bad number '${s}'`);
      return n;
    };
    let r: ReplayOutcome;
    try {
      r = await replay({
        ...{ workers: v.workers === undefined ? availableParallelism() : Math.max(1, num(v.workers, '--workers')!), quiet: v.quiet },
        rules: v.rules, pcap: v.pcap, host: v.host, ipAddr: v['ip-addr'], ipRoute: v['ip-route'], ingress: v.ingress, seed: num(v.seed, '--seed'), hz: num(v.hz, '--hz'),
        linear: v.linear, trustChecksums: v['trust-checksums'], unsupported: v.unsupported, out: v.out, drops: v.drops,
      });
    } catch (e) {
      process.stderr.write(`${errorText(e, 'replay')}\n`);
      return 2;
    }
    const { compiled, engine, api } = r;
    const k = engine.counters();
    const st = engine.stats();
    const mt = (x: Parameters<typeof matchText>[1]) => matchText(api, x);
    const tt = (x: Parameters<typeof matchText>[1]) => targetText(api, x);
    process.stdout.write(formatTables(compiled, k, { matchText: mt, targetText: tt }));
    process.stdout.write(`\n${formatTotals({ packets: engine.packets, ...st })}\n`);
    const top = formatTopDrops(compiled, r.drops, (x) => api.printRule(x));
    if (top) process.stdout.write(`\n${top}\n`);
    const services = fairness(compiled, k);
    const fair = formatFairness(services);
    if (fair) process.stdout.write(`\n${fair}\n`);
    if ('pool' in r) (await import('../replay/pool.js')).writePoolNotes(r as never, !!v.quiet);
    else if (r.partial) {
      process.stdout.write(partialNote(engine.packets));
      if (!v.quiet) process.stderr.write(`replay: 1 worker, PARTIAL (interrupted)\n`);
    }
    if (v['save-counters']) writeAtomic(v['save-counters'], api.printRuleset(withCounters(r.rs, compiled, k), { counters: true }));
    if (v.json) writeAtomic(v.json, `${JSON.stringify(buildJson(r, k, st, services), null, 1)}\n`);
    if (v.conntrack) {
      try {
        const m = await import(new URL('../report/conntrack.js', import.meta.url).href);
        writeAtomic(v.conntrack, m.formatConntrack(engine.core.memory.buffer, engine.ctAddr, engine.lastJiffies(), compiled.hz));
      } catch {
        writeAtomic(v.conntrack, '');
        process.stderr.write('nfreplay replay: --conntrack: the conntrack formatter is not available yet; wrote an empty file\n');
      }
    }
    if ((r as { partial?: boolean }).partial) return 130;
    if (r.captureError) {
      process.stderr.write(`nfreplay replay: ${r.captureError.message} (the ${r.captureError.packetsBefore} packets before it were replayed)\n`);
      return 1;
    }
    return 0;
  },
};
