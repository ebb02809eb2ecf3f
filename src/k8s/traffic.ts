// Traffic for the Services of a kube-proxy ruleset: TCP connections and UDP exchanges to every
// ClusterIP:port, external IP, load-balancer IP and NodePort (on the node IPs) found in the nat
// table's KUBE-SERVICES and KUBE-NODEPORTS chains, with the endpoints' replies when asked.
//
// Where the capture is taken: on the node, both directions as they arrive there. Requests come
// from clients (outside the cluster) addressed to the Service (pre-DNAT); replies come from the
// endpoint pod, addressed as the pod sends them: source = the endpoint's ip:port, destination =
// the client, or the node's SNAT address (--snat-ip) when kube-proxy's rules masquerade the
// connection (KUBE-MARK-MASQ on its path: ClusterIP from outside the cluster CIDR, NodePort with
// externalTrafficPolicy Cluster, --masquerade-all). So a replay sees the reply path: un-SNAT and
// un-DNAT from the conntrack entry.
//
// Which endpoint: the generator does not know which endpoint a replay will pick, so it walks the
// rules itself (statistic cascade, ClientIP affinity with `recent` tables, Local policy chains,
// loadBalancerSourceRanges) with its own seeded draws, using the kernel's semantics
// ((rand & 0x7fffffff) < lround(p * 2^31); recent lists of 100 entries per name, LRU). The
// replies are exact for a replay that makes the same choice: every single-endpoint Service,
// every connection that session affinity pins, and any replay that pins endpoints the same way.
// With several endpoints and independent draws a replay will pick another endpoint for some
// connections; those replies then do not match a conntrack entry (the replay shows them as new
// or INVALID packets), as on a real wire where the capture came from another choice.
//
// Ports: client ports are unique across the whole capture (1024..65535 without the ruleset's
// NodePorts, then wrapping) so that
// masqueraded connections never collide after SNAT and keep their port (MASQUERADE without
// --random-fully keeps the source port when the tuple is free). With --random-fully in the ruleset
// the kernel would pick random ports: replies then address the original port anyway.
import { readFileSync, unlinkSync } from 'node:fs';
import { splitWords } from '../rules/lex.js';
import { PcapWriter } from '../pcap/writer.js';
import { writeFrame, LINKTYPE_OF, tcpOptions, type FrameSpec } from '../pcap/craft.js';
import { ipToInt, intToIp, isIPv4, parseCIDR } from './manifests.js';
import { mulberry32u } from '../util/random.js';

export class TrafficError extends Error {}

/** One `-A` rule of the nat table, reduced to what the walk evaluates. */
export interface NatRule {
  line: number;
  src: { base: number; mask: number; neg: boolean } | null;
  dst: { base: number; mask: number; neg: boolean } | null;
  proto: string | null;
  protoNeg: boolean;
  dport: number | null;
  comment: string | null;
  /** statistic random: matches when (draw & 0x7fffffff) < prob (u32 as the kernel stores it). */
  prob: number | null;
  probNeg: boolean;
  recent: { name: string; op: 'set' | 'rcheck' | 'update' | 'remove'; seconds: number; neg: boolean } | null;
  srcTypeLocal: boolean | null; // -m addrtype --src-type LOCAL (true) / ! --src-type LOCAL (false)
  dstTypeLocal: boolean | null;
  target: string | null;
  toDestination: string | null;
}

export interface ServiceTarget {
  kind: 'cluster IP' | 'external IP' | 'loadbalancer IP' | 'nodeport';
  ip: string;
  port: number;
  proto: 'tcp' | 'udp';
  /** The chain the capture rule jumps to (KUBE-SVC/SVL/EXT/FW-...). */
  chain: string;
  comment: string | null;
}

const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

function parseAddr(s: string, file: string, line: string): { base: number; mask: number } {
  if (isIPv4(s)) return { base: ipToInt(s), mask: 0xffffffff };
  const c = parseCIDR(s);
  if (!c) throw new TrafficError(`${file}:${line}: bad address '${s}'`);
  return { base: c.base, mask: maskOf(c.prefix) };
}

/** The nat table's rules, per chain, from iptables-save or iptables-restore text (either form). */
export function parseNatTable(text: string, file: string): Map<string, NatRule[]> {
  const chains = new Map<string, NatRule[]>();
  const lines = text.split('\n');
  let table: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    const no = i + 1;
    if (raw === '' || raw.startsWith('#')) continue;
    if (raw.startsWith('*')) {
      table = raw.slice(1).trim();
      continue;
    }
    if (table !== 'nat') continue;
    if (raw === 'COMMIT') {
      table = null;
      continue;
    }
    if (raw.startsWith(':')) {
      const name = raw.slice(1).split(/\s+/)[0];
      if (!chains.has(name)) chains.set(name, []);
      continue;
    }
    let body = raw;
    if (body.startsWith('[')) body = body.replace(/^\[\d+:\d+\]\s*/, ''); // counters prefix
    let words: string[];
    let cols: number[];
    const lead = lines[i].length - lines[i].trimStart().length + (raw.length - body.length);
    try {
      const ws = splitWords(body, file, no);
      words = ws.map((w) => w.text);
      cols = ws.map((w) => w.col + lead);
    } catch (e) {
      throw new TrafficError((e as Error).message);
    }
    if (words[0] === '-X') continue;
    if (words[0] !== '-A' && words[0] !== '--append') throw new TrafficError(`${file}:${no}:${cols[0]}: expected '-A CHAIN ...', got '${words[0]}'`);
    if (words.length < 2) throw new TrafficError(`${file}:${no}:${cols[0]}: '${words[0]}' needs a chain name`);
    const chain = words[1];
    const r: NatRule = { line: no, src: null, dst: null, proto: null, protoNeg: false, dport: null, comment: null, prob: null, probNeg: false, recent: null, srcTypeLocal: null, dstTypeLocal: null, target: null, toDestination: null };
    let neg = false;
    for (let k = 2; k < words.length; k++) {
      const w = words[k];
      const next = (): string => {
        if (k + 1 >= words.length) throw new TrafficError(`${file}:${no}:${cols[k]}: option '${w}' needs a value`);
        return words[++k];
      };
      if (w === '!') {
        neg = true;
        continue;
      }
      switch (w) {
        case '-s':
        case '--source':
        case '--src':
          r.src = { ...parseAddr(next(), file, `${no}:${cols[k]}`), neg };
          break;
        case '-d':
        case '--destination':
        case '--dst':
          r.dst = { ...parseAddr(next(), file, `${no}:${cols[k]}`), neg };
          break;
        case '-p':
        case '--protocol':
          r.proto = next().toLowerCase();
          r.protoNeg = neg;
          break;
        case '--dport':
        case '--destination-port':
          r.dport = Number(next());
          break;
        case '--comment':
          r.comment = next();
          break;
        case '--probability': {
          const p = Number(next());
          r.prob = Math.round(p * 2147483648); // libxt_statistic: lround(0x80000000 * p)
          r.probNeg = neg;
          break;
        }
        case '--name':
          if (!r.recent) r.recent = { name: next(), op: 'set', seconds: 0, neg: false };
          else r.recent.name = next();
          break;
        case '--set':
        case '--rcheck':
        case '--update':
        case '--remove':
          if (!r.recent) r.recent = { name: 'DEFAULT', op: 'set', seconds: 0, neg };
          r.recent.op = w.slice(2) as 'set';
          r.recent.neg = neg;
          break;
        case '--seconds':
          if (!r.recent) r.recent = { name: 'DEFAULT', op: 'rcheck', seconds: 0, neg: false };
          r.recent.seconds = Number(next());
          break;
        case '--src-type':
          r.srcTypeLocal = next() === 'LOCAL' ? !neg : null;
          break;
        case '--dst-type':
          r.dstTypeLocal = next() === 'LOCAL' ? !neg : null;
          break;
        case '-j':
        case '--jump':
        case '-g':
        case '--goto':
          r.target = next();
          break;
        case '--to-destination':
        case '--to':
          r.toDestination = next();
          break;
        case '-m':
        case '--match':
        case '--mode':
        case '--mask':
        case '--ctstate':
        case '--mark':
        case '--or-mark':
        case '--xor-mark':
        case '--set-xmark':
        case '--nfacct-name':
        case '--sport':
          next();
          break;
        default:
          // Flags without a value (--reap, --rsource, --random-fully, ...) and anything else a walk
          // to an endpoint does not need.
          break;
      }
      neg = false;
    }
    let list = chains.get(chain);
    if (!list) chains.set(chain, (list = []));
    list.push(r);
  }
  return chains;
}

/** The Services kube-proxy captures: KUBE-SERVICES (ClusterIP/external/LB IPs) and KUBE-NODEPORTS. */
export function findServices(nat: Map<string, NatRule[]>, nodeIPs: string[]): ServiceTarget[] {
  const out: ServiceTarget[] = [];
  for (const r of nat.get('KUBE-SERVICES') ?? []) {
    if (!r.dst || r.dst.neg || r.dst.mask !== 0xffffffff || r.dport === null || !r.target || r.target === 'KUBE-NODEPORTS') continue;
    if (r.proto !== 'tcp' && r.proto !== 'udp') continue;
    const c = r.comment ?? '';
    const kind = c.endsWith(' external IP') ? 'external IP' : c.endsWith(' loadbalancer IP') ? 'loadbalancer IP' : r.target.startsWith('KUBE-EXT-') || r.target.startsWith('KUBE-FW-') ? 'external IP' : 'cluster IP';
    out.push({ kind, ip: intToIp(r.dst.base), port: r.dport, proto: r.proto, chain: r.target, comment: r.comment });
  }
  for (const r of nat.get('KUBE-NODEPORTS') ?? []) {
    if (r.dst || r.dport === null || !r.target) continue; // the 127.0.0.0/8 nfacct variant has -d
    if (r.proto !== 'tcp' && r.proto !== 'udp') continue;
    for (const ip of nodeIPs) out.push({ kind: 'nodeport', ip, port: r.dport, proto: r.proto, chain: r.target, comment: r.comment });
  }
  return out;
}

/** Node IPs named by the ruleset: `-d IP -j KUBE-NODEPORTS` (kube-proxy --nodeport-addresses). */
export function nodeIPsFromRules(nat: Map<string, NatRule[]>): string[] {
  const ips: string[] = [];
  for (const r of nat.get('KUBE-SERVICES') ?? []) {
    if (r.target === 'KUBE-NODEPORTS' && r.dst && !r.dst.neg && r.dst.mask === 0xffffffff) ips.push(intToIp(r.dst.base));
  }
  return ips;
}

// -------------------------------------------------------------------------------------------
// Deterministic generator and the walk to an endpoint.

export class Rng {
  /** mulberry32 (src/util/random.ts) */
  readonly u32: () => number;
  constructor(seed: number) {
    this.u32 = mulberry32u(seed);
  }
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
}

const RECENT_LIST_TOT = 100; // xt_recent ip_list_tot default

interface WalkResult {
  endpoint: { ip: string; port: number } | null;
  masquerade: boolean;
}

export class Walker {
  /** recent tables: name -> (client ip -> last seen, seconds); Map order = LRU order. */
  private recent = new Map<string, Map<number, number>>();
  constructor(
    private nat: Map<string, NatRule[]>,
    private rng: Rng,
  ) {}

  walk(chain: string, client: number, dst: number, dport: number, proto: string, dstLocal: boolean, now: number): WalkResult {
    const st: WalkResult = { endpoint: null, masquerade: false };
    this.walkChain(chain, client, dst, dport, proto, dstLocal, now, st, 0);
    return st;
  }

  /** Returns true when a terminal target (DNAT, ACCEPT, DROP...) ended the traversal. */
  private walkChain(chain: string, client: number, dst: number, dport: number, proto: string, dstLocal: boolean, now: number, st: WalkResult, depth: number): boolean {
    if (depth > 32) return true;
    const rules = this.nat.get(chain);
    if (!rules) return false;
    for (const r of rules) {
      if (r.src && (((client & r.src.mask) >>> 0) === r.src.base) === r.src.neg) continue;
      if (r.dst && (((dst & r.dst.mask) >>> 0) === r.dst.base) === r.dst.neg) continue;
      if (r.proto && r.proto !== 'all' && (r.proto === proto) === r.protoNeg) continue;
      if (r.dport !== null && r.dport !== dport) continue;
      if (r.srcTypeLocal !== null && r.srcTypeLocal !== false) continue; // clients are never local addresses
      if (r.dstTypeLocal !== null && r.dstTypeLocal !== dstLocal) continue;
      if (r.prob !== null) {
        const hit = (this.rng.u32() & 0x7fffffff) < r.prob;
        if (hit === r.probNeg) continue;
      }
      if (r.recent) {
        const tab = this.recent.get(r.recent.name) ?? new Map<number, number>();
        this.recent.set(r.recent.name, tab);
        let hit: boolean;
        if (r.recent.op === 'set') {
          tab.delete(client);
          tab.set(client, now);
          if (tab.size > RECENT_LIST_TOT) tab.delete(tab.keys().next().value as number);
          hit = true;
        } else {
          const last = tab.get(client);
          hit = last !== undefined && (r.recent.seconds === 0 || now - last <= r.recent.seconds);
          if (hit && r.recent.op === 'update') {
            tab.delete(client);
            tab.set(client, now);
          }
          if (last !== undefined && r.recent.op === 'remove') tab.delete(client);
        }
        if (hit === r.recent.neg) continue;
      }
      const t = r.target;
      if (t === null) continue;
      if (t === 'KUBE-MARK-MASQ') {
        st.masquerade = true;
        continue;
      }
      if (t === 'DNAT') {
        const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?/.exec(r.toDestination ?? '');
        if (m) st.endpoint = { ip: m[1], port: m[2] ? Number(m[2]) : dport };
        return true;
      }
      if (t === 'RETURN') return false;
      if (t === 'ACCEPT' || t === 'DROP' || t === 'REJECT') return true;
      if (this.nat.has(t)) {
        if (this.walkChain(t, client, dst, dport, proto, dstLocal, now, st, depth + 1)) return true;
        continue;
      }
      // MARK and other non-terminating targets: continue.
    }
    return false;
  }
}

// -------------------------------------------------------------------------------------------
// Capture writing.

export interface TrafficOptions {
  connections: number;
  packetsPerConnection?: number; // client data packets per TCP connection / datagrams per UDP exchange (default 1)
  clients?: number; // default 16
  clientCIDRs?: string[]; // default 203.0.113.0/24, 198.51.100.0/24
  replies?: boolean;
  seed?: number;
  nodeIPs?: string[];
  snatIP?: string;
  startTime?: number; // seconds, default 1700000000
  /** Connections in flight at once, their packets interleaved (default 1: one after the other). */
  concurrency?: number;
  /** Each connection is its first packet only (TCP SYN / one UDP datagram): a new-connection load. */
  synOnly?: boolean;
  /** Per connection number: the endpoint and reply address a replay chose (see generateMatchedTraffic). */
  overrides?: Map<number, ReplyOverride>;
}

export interface TrafficSummary {
  services: number;
  connections: number;
  packets: number;
  replies: number;
  noEndpoint: number;
  masqueraded: number;
  perTarget: Map<string, number>;
  /** Timestamp (ns) of each connection's first packet -> connection number. */
  firstPacket: Map<bigint, number>;
  /** Connections whose replies were taken from `overrides` (the replay's own NAT choice). */
  overridden: number;
}

/** What a replay did with a connection's first packet: its DNAT destination and SNAT source. */
export interface ReplyOverride {
  endpoint: { ip: string; port: number };
  /** Where replies go: the post-SNAT source address and port of the request. */
  replyDst: string;
  replyDport: number;
}

const CLIENT_MAC = '02:00:00:00:01:01';
const NODE_MAC = '02:00:00:00:00:10';
const POD_MAC = '02:00:00:00:02:01';
const REQ_PAYLOAD = 40;
const RESP_PAYLOAD = 80;

export function generateTraffic(rulesText: string, rulesFile: string, outPath: string, o: TrafficOptions): TrafficSummary {
  const nat = parseNatTable(rulesText, rulesFile);
  const nodeIPs = o.nodeIPs && o.nodeIPs.length ? o.nodeIPs : nodeIPsFromRules(nat).length ? nodeIPsFromRules(nat) : ['192.0.2.10'];
  const targets = findServices(nat, nodeIPs);
  if (targets.length === 0) throw new TrafficError(`${rulesFile}: no Services found (no nat KUBE-SERVICES / KUBE-NODEPORTS rules with a destination port)`);
  const rng = new Rng(o.seed ?? 1);
  const drawRng = new Rng(((o.seed ?? 1) ^ 0x5bd1e995) >>> 0);
  const walker = new Walker(nat, drawRng);
  const K = o.packetsPerConnection ?? 1;
  if (!Number.isInteger(K) || K < 0 || K > 10000) throw new TrafficError(`--packets-per-connection must be 0..10000 (got ${K})`);
  const W = o.concurrency ?? 1;
  if (!Number.isInteger(W) || W < 1 || W > 100000) throw new TrafficError(`--concurrency must be 1..100000 (got ${W})`);
  // Clients: consecutive host addresses of the client CIDRs.
  const cidrs = (o.clientCIDRs && o.clientCIDRs.length ? o.clientCIDRs : ['203.0.113.0/24', '198.51.100.0/24']).map((c) => {
    const p = parseCIDR(c);
    if (!p || p.prefix > 30) throw new TrafficError(`bad client CIDR '${c}'`);
    return p;
  });
  const nClients = o.clients ?? 16;
  if (!Number.isInteger(nClients) || nClients < 1) throw new TrafficError(`--clients must be at least 1 (got ${nClients})`);
  const clients: number[] = [];
  for (const c of cidrs) {
    const size = 2 ** (32 - c.prefix);
    for (let h = 1; h < size - 1 && clients.length < nClients; h++) clients.push((c.base + h) >>> 0);
  }
  if (clients.length < nClients) throw new TrafficError(`--clients ${nClients}: the client CIDRs hold only ${clients.length} addresses`);
  const snat = ipToInt(o.snatIP ?? nodeIPs[0]);
  const nodeSet = new Set(nodeIPs.map(ipToInt));
  // Client ports: 1024..65535 in turn, skipping the ruleset's NodePorts so that a reply a replay
  // does not match to a connection can never look like a new NodePort connection to the node.
  const nodePorts = new Set(targets.filter((t) => t.kind === 'nodeport').map((t) => t.port));
  let nextPort = 1024;
  const takePort = (): number => {
    for (;;) {
      const p = nextPort;
      nextPort = nextPort === 65535 ? 1024 : nextPort + 1;
      if (!nodePorts.has(p)) return p;
    }
  };

  const mss = tcpOptions({ mss: 1460 });
  const reqPayload = new Uint8Array(REQ_PAYLOAD).fill(0x71); // 'q'
  const respPayload = new Uint8Array(RESP_PAYLOAD).fill(0x72); // 'r'
  const sum: TrafficSummary = { services: targets.length, connections: 0, packets: 0, replies: 0, noEndpoint: 0, masqueraded: 0, perTarget: new Map(), firstPacket: new Map(), overridden: 0 };
  let tNs = BigInt(o.startTime ?? 1700000000) * 1_000_000_000n;

  /** One connection: its packets in order (each a FrameSpec; `reply` marks the endpoint's). */
  const makeConn = (i: number): { pkts: FrameSpec[]; replies: number } => {
    const tg = targets[rng.below(targets.length)];
    const client = clients[rng.below(clients.length)];
    const cport = takePort();
    const dst = ipToInt(tg.ip);
    const res = walker.walk(tg.chain, client, dst, tg.port, tg.proto, nodeSet.has(dst), Number(tNs / 1_000_000_000n));
    const key = `${tg.kind} ${tg.ip}:${tg.port}/${tg.proto}`;
    sum.perTarget.set(key, (sum.perTarget.get(key) ?? 0) + 1);
    if (!res.endpoint) sum.noEndpoint++;
    if (res.masquerade && res.endpoint) sum.masqueraded++;
    let ep = res.endpoint;
    const withReplies = !!o.replies && ep !== null;
    let replyDst = res.masquerade ? snat : client;
    let replyDport = cport;
    const ov = o.overrides?.get(i);
    if (ov && ep) {
      // The replay's choice; only when this walk found an endpoint too, so that the capture keeps
      // the same packets at the same positions (a replay's draws depend on packet ordinals).
      ep = ov.endpoint;
      replyDst = ipToInt(ov.replyDst);
      replyDport = ov.replyDport;
      sum.overridden++;
    }
    const pkts: FrameSpec[] = [];
    let replies = 0;
    const req = (x: FrameSpec): void => {
      pkts.push({ link: 'ether', srcMac: CLIENT_MAC, dstMac: NODE_MAC, src: client, dst, sport: cport, dport: tg.port, proto: tg.proto, window: 64240, ...x });
    };
    const rep = (x: FrameSpec): void => {
      pkts.push({ link: 'ether', srcMac: POD_MAC, dstMac: NODE_MAC, src: ipToInt(ep!.ip), dst: replyDst, sport: ep!.port, dport: replyDport, proto: tg.proto, window: 65160, ...x });
      replies++;
    };
    if (o.synOnly) {
      if (tg.proto === 'udp') req({ payload: reqPayload, ttl: 64, id: (i * 7) & 0xffff });
      else req({ flags: 'S', seq: rng.u32(), ack: 0, tcpOptions: mss, id: (i * 13) & 0xffff, df: true });
      return { pkts, replies };
    }
    if (tg.proto === 'udp') {
      for (let k = 0; k < Math.max(1, K); k++) {
        req({ payload: reqPayload, ttl: 64, id: (i * 7 + k) & 0xffff });
        if (withReplies) rep({ payload: respPayload, ttl: 64, id: (i * 11 + k) & 0xffff });
      }
      return { pkts, replies };
    }
    const c = rng.u32();
    const s = rng.u32();
    const id0 = (i * 13) & 0xffff;
    req({ flags: 'S', seq: c, ack: 0, tcpOptions: mss, id: id0, df: true });
    if (!ep) return { pkts, replies }; // nowhere to go (no endpoint for this client): the SYN alone
    if (withReplies) rep({ flags: 'SA', seq: s, ack: (c + 1) >>> 0, tcpOptions: mss, id: 0, df: true });
    let cs = (c + 1) >>> 0;
    let ss = (s + 1) >>> 0;
    req({ flags: 'A', seq: cs, ack: ss, id: (id0 + 1) & 0xffff, df: true });
    for (let k = 0; k < K; k++) {
      req({ flags: 'PA', seq: cs, ack: ss, payload: reqPayload, id: (id0 + 2 + k) & 0xffff, df: true });
      cs = (cs + REQ_PAYLOAD) >>> 0;
      if (withReplies) {
        rep({ flags: 'PA', seq: ss, ack: cs, payload: respPayload, id: (k + 1) & 0xffff, df: true });
        ss = (ss + RESP_PAYLOAD) >>> 0;
      }
    }
    req({ flags: 'FA', seq: cs, ack: ss, id: (id0 + 2 + K) & 0xffff, df: true });
    if (withReplies) {
      rep({ flags: 'FA', seq: ss, ack: (cs + 1) >>> 0, id: (K + 1) & 0xffff, df: true });
      req({ flags: 'A', seq: (cs + 1) >>> 0, ack: (ss + 1) >>> 0, id: (id0 + 3 + K) & 0xffff, df: true });
    }
    return { pkts, replies };
  };

  const w = new PcapWriter(outPath, { linktype: LINKTYPE_OF.ether, snaplen: 65535 });
  const buf = new Uint8Array(65536);
  try {
    // Up to W connections in flight; the next packet comes from one of them drawn with the seed
    // (W = 1: connections one after the other, 1 ms apart).
    const active: { pkts: FrameSpec[]; next: number; conn: number }[] = [];
    let started = 0;
    while (started < o.connections || active.length > 0) {
      while (active.length < W && started < o.connections) {
        const conn = started++;
        const c = makeConn(conn);
        active.push({ pkts: c.pkts, next: 0, conn });
        sum.connections++;
        sum.packets += c.pkts.length;
        sum.replies += c.replies;
      }
      const j = active.length === 1 ? 0 : rng.below(active.length);
      const a = active[j];
      if (a.next === 0) sum.firstPacket.set(tNs, a.conn);
      const n = writeFrame(buf, 0, a.pkts[a.next++]);
      w.writePacket(Number(tNs / 1_000_000_000n), Number(tNs % 1_000_000_000n), buf.subarray(0, n));
      tNs += 50_000n; // 50 µs between packets
      if (a.next === a.pkts.length) {
        active.splice(j, 1);
        if (W === 1) tNs += 1_000_000n; // 1 ms between connections
      }
    }
    w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
  return sum;
}

/**
 * Replies that match a replay exactly: write the capture, replay it with nfreplay's engine (same
 * host model and seed as the replay the capture is meant for), read which endpoint each
 * connection's first packet was DNATed to and which address/port it was SNATed to, and write the
 * capture again with the replies from that endpoint to that address. The requests keep their
 * positions (packet ordinals), so the replay draws the same way on the final capture.
 */
export async function generateMatchedTraffic(
  rulesText: string,
  rulesPath: string,
  outPath: string,
  o: TrafficOptions,
  replayOpts: { host?: string; seed?: number },
): Promise<TrafficSummary & { notForwarded: number }> {
  const { replay } = (await import('../commands/replay.js')) as typeof import('../commands/replay.js');
  const { parseCaptureBuffer } = await import('../pcap/reader.js');
  const tmp1 = `${outPath}.pass1-${process.pid}.pcap`;
  const tmp2 = `${outPath}.fwd-${process.pid}.pcap`;
  try {
    const first = generateTraffic(rulesText, rulesPath, tmp1, { ...o, overrides: undefined });
    await replay({ rules: rulesPath, pcap: tmp1, out: tmp2, host: replayOpts.host, seed: replayOpts.seed });
    const cap = parseCaptureBuffer(readFileSync(tmp2), tmp2);
    if (cap.error) throw new TrafficError(cap.error.message);
    const b = cap.batch;
    const overrides = new Map<number, ReplyOverride>();
    for (let i = 0; i < b.count; i++) {
      const ts = BigInt(b.tsSec[i]) * 1_000_000_000n + BigInt(b.tsNsec[i]);
      const conn = first.firstPacket.get(ts);
      if (conn === undefined) continue;
      const f = b.data.subarray(b.offset[i], b.offset[i] + b.caplen[i]);
      const ipOff = b.linktype[i] === LINKTYPE_OF.ether ? 14 : 0;
      const ip = f.subarray(ipOff);
      if ((ip[0] >> 4) !== 4) continue;
      const ihl = (ip[0] & 15) * 4;
      const dv = new DataView(ip.buffer, ip.byteOffset, ip.byteLength);
      const a = (k: number): string => `${ip[k]}.${ip[k + 1]}.${ip[k + 2]}.${ip[k + 3]}`;
      overrides.set(conn, { endpoint: { ip: a(16), port: dv.getUint16(ihl + 2) }, replyDst: a(12), replyDport: dv.getUint16(ihl) });
    }
    const sum = generateTraffic(rulesText, rulesPath, outPath, { ...o, overrides });
    return { ...sum, notForwarded: sum.connections - overrides.size };
  } finally {
    for (const t of [tmp1, tmp2]) {
      try {
        unlinkSync(t);
      } catch {
        /* not written */
      }
    }
  }
}

export function readRules(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    throw new TrafficError(`${path}: cannot read: ${(e as Error).message}`);
  }
}
