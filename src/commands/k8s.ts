// `nfreplay k8s rules | synth | traffic`: kube-proxy rules from manifests, synthetic clusters, and
// traffic for the Services of a ruleset.
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Command } from '../commands.js';
import { buildCluster, ManifestError, parseCIDR, isIPv4, readManifestFile, type SourcedObject } from '../k8s/manifests.js';
import { generateRules, type ProxierOptions } from '../k8s/proxier.js';
import { objectsToListJSON, synthObjects, SYNTH_CLUSTER } from '../k8s/synth.js';
import { generateMatchedTraffic, generateTraffic, readRules, TrafficError, type TrafficSummary } from '../k8s/traffic.js';

export class UsageError extends Error {}

interface Spec {
  flags: string[]; // boolean options
  values: string[]; // options taking a value (repeatable ones collect all)
}

/** Parse `--opt value`, `--opt=value`, boolean `--flag`, and positional arguments. */
export function parseArgs(cmd: string, args: string[], spec: Spec): { opts: Map<string, string[]>; flags: Set<string>; positional: string[] } {
  const opts = new Map<string, string[]>();
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (spec.flags.includes(name)) {
        if (eq > 0) throw new UsageError(`${cmd}: --${name} takes no value`);
        flags.add(name);
        continue;
      }
      if (!spec.values.includes(name)) throw new UsageError(`${cmd}: unknown option '--${name}' (see --help)`);
      let v: string;
      if (eq > 0) v = a.slice(eq + 1);
      else {
        if (i + 1 >= args.length) throw new UsageError(`${cmd}: --${name} needs a value`);
        v = args[++i];
      }
      const l = opts.get(name) ?? [];
      l.push(v);
      opts.set(name, l);
      continue;
    }
    if (a.startsWith('-') && a !== '-') throw new UsageError(`${cmd}: unknown option '${a}' (see --help)`);
    positional.push(a);
  }
  return { opts, flags, positional };
}

function one(opts: Map<string, string[]>, name: string, cmd: string): string | undefined {
  const l = opts.get(name);
  if (!l) return undefined;
  if (l.length > 1) throw new UsageError(`${cmd}: --${name} given more than once`);
  return l[0];
}

function num(opts: Map<string, string[]>, name: string, cmd: string, def: number | undefined, check: (n: number) => boolean, what: string): number | undefined {
  const v = one(opts, name, cmd);
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`${cmd}: --${name} '${v}': expected ${what}`);
  return n;
}

function cidrOpt(v: string | undefined, name: string, cmd: string): string | undefined {
  if (v === undefined) return undefined;
  if (!parseCIDR(v)) throw new UsageError(`${cmd}: --${name} '${v}': expected an IPv4 CIDR like 198.18.0.0/16`);
  return v;
}

/** Write to `path` through a temporary file and a rename, or to stdout for '-'/undefined. */
export function writeOutput(path: string | undefined, text: string | Uint8Array): void {
  if (path === undefined || path === '-') {
    process.stdout.write(text);
    return;
  }
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* not created */
    }
    throw e;
  }
}

const RULE_FLAGS = ['masquerade-all', 'random-fully', 'no-localhost-nodeports', 'restore-form'];
const RULE_VALUES = ['cluster-cidr', 'node-ip', 'masquerade-bit', 'nodeport-addresses', 'out'];

function proxierOptions(cmd: string, opts: Map<string, string[]>, flags: Set<string>, defaults: { clusterCIDR?: string; nodeIP?: string } = {}): ProxierOptions {
  const nodeIPs = opts.get('node-ip') ?? (defaults.nodeIP ? [defaults.nodeIP] : []);
  for (const ip of nodeIPs) if (!isIPv4(ip)) throw new UsageError(`${cmd}: --node-ip '${ip}': expected an IPv4 address`);
  const npa = opts.get('nodeport-addresses') ?? [];
  for (const c of npa) cidrOpt(c, 'nodeport-addresses', cmd);
  return {
    clusterCIDR: cidrOpt(one(opts, 'cluster-cidr', cmd), 'cluster-cidr', cmd) ?? defaults.clusterCIDR,
    masqueradeAll: flags.has('masquerade-all'),
    masqueradeBit: num(opts, 'masquerade-bit', cmd, 14, (n) => Number.isInteger(n) && n >= 0 && n <= 31, 'an integer 0..31'),
    randomFully: flags.has('random-fully'),
    localhostNodePorts: !flags.has('no-localhost-nodeports'),
    nodeIPs,
    nodePortAddresses: npa,
    form: flags.has('restore-form') ? 'restore' : 'full',
  };
}

function handleErrors(fn: () => number): number {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UsageError || e instanceof ManifestError || e instanceof RangeError || e instanceof TrafficError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/**
 * `run` of a command that prints a ruleset: its own options `values` beside the proxier's, and the
 * text `make` returns written to --out (after `make`, so its usage errors come first as before).
 */
function printRules(cmd: string, values: string[], make: (cmd: string, a: ReturnType<typeof parseArgs>) => string): Command['run'] {
  return async (args) =>
    handleErrors(() => {
      const a = parseArgs(cmd, args, { flags: RULE_FLAGS, values: [...RULE_VALUES, ...values] });
      const text = make(cmd, a);
      writeOutput(one(a.opts, 'out', cmd), text);
      return 0;
    });
}

const RULES_OPTIONS = `
  --cluster-cidr CIDR        pod network (kube-proxy's local traffic detector); without it no
                             "! -s CIDR -j KUBE-MARK-MASQ" rules, as kube-proxy without --cluster-cidr
  --node-ip IP               this node's address (repeatable); used for loadBalancerSourceRanges
                             and --nodeport-addresses
  --masquerade-bit N         mark bit for SNAT (default 14 -> 0x00004000)
  --masquerade-all           masquerade all traffic to ClusterIPs
  --random-fully             MASQUERADE --random-fully (iptables >= 1.6.2 on the node)
  --no-localhost-nodeports   --iptables-localhost-nodeports=false
  --nodeport-addresses CIDR  NodePorts only on node IPs in CIDR (repeatable)
  --restore-form             print only what kube-proxy feeds to iptables-restore --noflush
                             (default: a complete ruleset with builtin chains and kube-proxy's
                             jump rules, loadable into an empty namespace and replayable)
  --out FILE                 write to FILE (atomically) instead of stdout`;

const rulesCommand: Command = {
  name: 'k8s rules',
  summary: 'kube-proxy (iptables mode) rules from Service/EndpointSlice/Deployment manifests',
  help: `
usage: nfreplay k8s rules --manifests FILE... [options]

Prints the iptables rules kube-proxy v1.28+ (iptables mode, IPv4) would program for the Services,
Endpoints, EndpointSlices, Pods and Deployments in FILE (JSON or YAML; single objects, List kinds,
multi-document YAML as \`kubectl get -o yaml\` writes). Rules are in the sorted order kube-proxy's
own tests use, so the output is deterministic. A Service with a selector and no endpoints takes its
endpoints from matching Pods, or else from matching Deployments' replicas with pod IPs synthesised
from --pod-cidr (host-local style: .2, .3, ... in the order Deployments sort by namespace/name).
NodePorts are taken as the manifest says (none are allocated).

options:
  --manifests FILE           manifest file (repeatable; also FILEs as plain arguments; - = stdin)
  --hostname NAME            this node's name: endpoints with this nodeName are local
                             (externalTrafficPolicy / internalTrafficPolicy Local)
  --pod-cidr CIDR            addresses for synthesised pods of Deployments (they run on --hostname)
  --scale deployment/NAME=N  replicas of a Deployment (what-if; repeatable). When its Services
                             have endpoints in the manifests (EndpointSlices, Endpoints, Pods), its
                             endpoints there (pods named NAME-...) are cut to the first N by
                             ip:port, or new pods with --pod-cidr addresses are added${RULES_OPTIONS}

example:
  nfreplay k8s rules --manifests pcaps/k8s/service3/manifests.yaml --cluster-cidr 198.18.0.0/16 \\
      --pod-cidr 198.18.32.0/24 --node-ip 192.0.2.10 --hostname node-0 --scale deployment/nginx-79959=5
`,
  run: printRules('nfreplay k8s rules', ['manifests', 'pod-cidr', 'scale', 'hostname'], (cmd, { opts, flags, positional }) => {
    const files = [...(opts.get('manifests') ?? []), ...positional];
    if (files.length === 0) throw new UsageError(`${cmd}: no manifests given (--manifests FILE)`);
    const scale = new Map<string, number>();
    for (const s of opts.get('scale') ?? []) {
      const m = /^(?:(?:deployment|deploy|deployments|replicaset|statefulset)(?:\.apps)?\/)?([^=]+)=(\d+)$/.exec(s);
      if (!m) throw new UsageError(`${cmd}: --scale '${s}': expected deployment/NAME=N`);
      scale.set(m[1], Number(m[2]));
    }
    const objs: SourcedObject[] = [];
    for (const f of files) objs.push(...readManifestFile(f));
    const hostname = one(opts, 'hostname', cmd) ?? null;
    const cluster = buildCluster(objs, { hostname: hostname ?? undefined, podCIDR: cidrOpt(one(opts, 'pod-cidr', cmd), 'pod-cidr', cmd), scale });
    return generateRules(cluster, proxierOptions(cmd, opts, flags), hostname).text;
  }),
};

const synthCommand: Command = {
  name: 'k8s synth',
  summary: 'rules of a synthetic cluster: N services x M endpoints',
  help: `
usage: nfreplay k8s synth --services N --endpoints M [options]

Builds N Services with M endpoints each (Service + EndpointSlice objects) and prints the rules
kube-proxy would program for them, through the same code as \`k8s rules\`. ClusterIPs come from
198.19.0.0/16, pod IPs from 198.18.0.0/16 (the cluster CIDR), this node is node-0 / 192.0.2.10.
Above 1000 endpoints in total kube-proxy's large-cluster mode drops the per-endpoint comments.

options:
  --services N               number of Services (0..65534)
  --endpoints M              endpoints per Service
  --nodeport-fraction F      fraction of Services of type NodePort (nodePorts from 30000)
  --affinity-fraction F      fraction with sessionAffinity ClientIP
  --local-fraction F         fraction with Local traffic policy (external for NodePort Services,
                             internal for the others)
  --udp-fraction F           fraction of UDP Services (port 53 -> 5353)
  --nodes K                  nodes the endpoints are spread over (default 3; node-0 is this node)
  --seed S                   seed for the draws (default 1)
  --manifests-out FILE       also write the objects as a JSON List (\`k8s rules\` on it with the
                             options in its nfreplay/rules-options annotation prints the same rules)${RULES_OPTIONS}

example:
  nfreplay k8s synth --services 10000 --endpoints 5 --nodeport-fraction 0.2 --affinity-fraction 0.1 \\
      --seed 7 --out /tmp/k8s-10k.rules --manifests-out /tmp/k8s-10k.json
`,
  run: printRules('nfreplay k8s synth',
    ['services', 'endpoints', 'nodeport-fraction', 'affinity-fraction', 'local-fraction', 'udp-fraction', 'nodes', 'seed', 'manifests-out'],
    (cmd, { opts, flags, positional }) => {
      if (positional.length) throw new UsageError(`${cmd}: unexpected argument '${positional[0]}'`);
      const intOpt = (n: string, def?: number): number | undefined => num(opts, n, cmd, def, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
      const frac = (n: string): number | undefined => num(opts, n, cmd, undefined, (x) => x >= 0 && x <= 1, 'a fraction between 0 and 1');
      const services = intOpt('services');
      const endpoints = intOpt('endpoints');
      if (services === undefined || endpoints === undefined) throw new UsageError(`${cmd}: --services and --endpoints are required`);
      const objs = synthObjects({
        services,
        endpoints,
        nodeportFraction: frac('nodeport-fraction'),
        affinityFraction: frac('affinity-fraction'),
        localFraction: frac('local-fraction'),
        udpFraction: frac('udp-fraction'),
        nodes: intOpt('nodes', 3),
        seed: intOpt('seed', 1),
      });
      const popts = proxierOptions(cmd, opts, flags, { clusterCIDR: SYNTH_CLUSTER.clusterCIDR, nodeIP: SYNTH_CLUSTER.nodeIP });
      const cluster = buildCluster(objs, { hostname: SYNTH_CLUSTER.hostname });
      const r = generateRules(cluster, popts, SYNTH_CLUSTER.hostname);
      const mo = one(opts, 'manifests-out', cmd);
      if (mo !== undefined) {
        const note = [
          `--hostname ${SYNTH_CLUSTER.hostname}`,
          popts.clusterCIDR ? `--cluster-cidr ${popts.clusterCIDR}` : '',
          ...(popts.nodeIPs ?? []).map((ip) => `--node-ip ${ip}`),
          popts.masqueradeBit !== 14 ? `--masquerade-bit ${popts.masqueradeBit}` : '',
          ...[...flags].map((f) => `--${f}`),
          ...(popts.nodePortAddresses ?? []).map((c) => `--nodeport-addresses ${c}`),
        ].filter(Boolean).join(' ');
        writeOutput(mo, objectsToListJSON(objs, note));
      }
      return r.text;
    }),
};

const trafficCommand: Command = {
  name: 'k8s traffic',
  summary: 'a capture of connections to the Services of a kube-proxy ruleset',
  help: `
usage: nfreplay k8s traffic --rules R --connections N --out F.pcap [options]

Finds the Services in ruleset R (nat KUBE-SERVICES: ClusterIPs, external IPs, load-balancer IPs;
KUBE-NODEPORTS: NodePorts on the node IPs) and writes N connections to them (Ethernet pcap), each
to a Service and from a client drawn with the seed: TCP = SYN, [SYN-ACK], ACK, K x (data,
[data reply]), FIN/ACK, [FIN/ACK, ACK]; UDP = K x (request, [reply]). Brackets: with --replies.
The capture is taken on the node: requests addressed to the Service, replies as the endpoint pod
sends them (from its ip:port, to the client or, when the rules masquerade the connection, to
--snat-ip). The endpoint is chosen by walking the rules with seeded draws (statistic, ClientIP
affinity, Local policy, source ranges) with the kernel's semantics; a replay that draws
differently sees some replies without a matching connection, unless --match-replay is given.
Clients: 203.0.113.0/24 then 198.51.100.0/24 (or --client-cidr); client ports are unique across
the capture (1024..65535 without NodePorts); timestamps from 1700000000 s, 50 us apart.

options:
  --rules R                   iptables-save or kube-proxy restore text (k8s rules / k8s synth output)
  --connections N             number of connections / UDP exchanges
  --packets-per-connection K  client data packets per connection (default 1; 0 = handshake + FIN)
  --clients C                 number of client addresses (default 16)
  --client-cidr CIDR          where clients come from (repeatable)
  --replies                   also write the endpoints' packets
  --syn-only                  each connection is its first packet only (TCP SYN, one UDP
                              datagram): a load of new connections for benchmarks
  --node-ip IP                node addresses for NodePorts (repeatable; default from the ruleset's
                              --nodeport-addresses rules, else 192.0.2.10)
  --snat-ip IP                the node's address replies of masqueraded connections go to
                              (default: the first node IP)
  --concurrency W             connections in flight at once, their packets interleaved in a
                              seeded order (default 1: one after the other, 1 ms apart)
  --seed S                    seed (default 1)
  --match-replay              make the replies match nfreplay's replay exactly: write the capture,
                              replay it (--replay-host H, --replay-seed S: give the same host model
                              and seed as the replay it is for), take each connection's endpoint and
                              SNAT address from what the replay did, and write the capture again
  --out F.pcap                output capture (written atomically)

example:
  nfreplay k8s traffic --rules pcaps/k8s/service3/rules.txt --connections 2000 --clients 50 \\
      --replies --seed 1 --match-replay --replay-host pcaps/k8s/service3/host.json --replay-seed 1 \\
      --out /tmp/service3.pcap
`,
  async run(args) {
    const cmd = 'nfreplay k8s traffic';
    let job: (() => Promise<TrafficSummary & { notForwarded?: number }>) | null = null;
    let out = '';
    const code = handleErrors(() => {
      const { opts, flags, positional } = parseArgs(cmd, args, {
        flags: ['replies', 'match-replay', 'syn-only'],
        values: ['rules', 'connections', 'packets-per-connection', 'clients', 'client-cidr', 'node-ip', 'snat-ip', 'seed', 'out', 'concurrency', 'replay-host', 'replay-seed'],
      });
      if (positional.length) throw new UsageError(`${cmd}: unexpected argument '${positional[0]}'`);
      const rules = one(opts, 'rules', cmd);
      out = one(opts, 'out', cmd) ?? '';
      if (!rules) throw new UsageError(`${cmd}: --rules R is required`);
      if (!out || out === '-') throw new UsageError(`${cmd}: --out F.pcap is required`);
      const intOpt = (n: string, def?: number): number | undefined => num(opts, n, cmd, def, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
      const connections = intOpt('connections');
      if (connections === undefined) throw new UsageError(`${cmd}: --connections N is required`);
      const nodeIPs = opts.get('node-ip') ?? [];
      for (const ip of [...nodeIPs, ...(opts.get('snat-ip') ?? [])]) if (!isIPv4(ip)) throw new UsageError(`${cmd}: '${ip}': expected an IPv4 address`);
      for (const c of opts.get('client-cidr') ?? []) cidrOpt(c, 'client-cidr', cmd);
      const match = flags.has('match-replay');
      if (!match && (opts.has('replay-host') || opts.has('replay-seed'))) throw new UsageError(`${cmd}: --replay-host/--replay-seed go with --match-replay`);
      if (match && !flags.has('replies')) throw new UsageError(`${cmd}: --match-replay needs --replies`);
      if (flags.has('syn-only') && flags.has('replies')) throw new UsageError(`${cmd}: --syn-only and --replies exclude each other`);
      if (match && rules === '-') throw new UsageError(`${cmd}: --match-replay needs --rules as a file`);
      const text = readRules(rules);
      const topts = {
        connections,
        packetsPerConnection: intOpt('packets-per-connection', 1),
        clients: intOpt('clients', 16),
        clientCIDRs: opts.get('client-cidr'),
        replies: flags.has('replies'),
        synOnly: flags.has('syn-only'),
        seed: intOpt('seed', 1),
        nodeIPs,
        snatIP: one(opts, 'snat-ip', cmd),
        concurrency: num(opts, 'concurrency', cmd, 1, (x) => Number.isInteger(x) && x >= 1 && x <= 100000, 'an integer 1..100000'),
      };
      if (match) {
        const ro = { host: one(opts, 'replay-host', cmd), seed: intOpt('replay-seed') };
        job = () => generateMatchedTraffic(text, rules, out, topts, ro);
      } else {
        const s = generateTraffic(text, rules, out, topts);
        job = async () => s;
      }
      return 0;
    });
    if (code !== 0 || !job) return code;
    try {
      const s = await (job as () => Promise<TrafficSummary & { notForwarded?: number }>)();
      const m = s.notForwarded !== undefined ? `; replies follow the replay's choice for ${s.overridden} connections (${s.notForwarded} not forwarded by it)` : '';
      process.stderr.write(`${s.services} service targets, ${s.connections} connections, ${s.packets} packets (${s.replies} replies), ${s.masqueraded} masqueraded, ${s.noEndpoint} without an endpoint${m} -> ${out}\n`);
      return 0;
    } catch (e) {
      const err = e as Error;
      if (e instanceof TrafficError || err?.name === 'ParseError' || err?.name === 'HostError' || err?.name === 'CaptureError') {
        process.stderr.write(`${err.message}\n`);
        return 2;
      }
      throw e;
    }
  },
};

export const k8sCommands: Command[] = [rulesCommand, synthCommand, trafficCommand];
