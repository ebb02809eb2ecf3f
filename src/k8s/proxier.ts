// The iptables-restore text kube-proxy (iptables mode, v1.28, IPv4) programs for a cluster, built
// the way pkg/proxy/iptables/proxier.go syncProxyRules builds it: rules are argument lists written
// into line buffers (filterChains, filterRules, natChains, natRules), one function per chain kind,
// and the text is assembled once. Then the rules are put in the deterministic order kube-proxy's
// own tests compare in (sortIPTablesRules in proxier_test.go), because kube-proxy iterates its
// service map in Go's random map order.
//
// Two output forms:
//  - 'restore': exactly what kube-proxy feeds to `iptables-restore --noflush` (sorted).
//  - 'full' (default): a complete ruleset that loads on an empty machine and replays: builtin chains
//    with ACCEPT policies, the jump rules kube-proxy installs with `iptables -I` (EnsureRule Prepend)
//    from PREROUTING/INPUT/FORWARD/OUTPUT/POSTROUTING, the KUBE-PROXY-CANARY chains, then the same
//    restore text.
import type { Cluster, Endpoint, ServicePort } from './manifests.js';
import { parseCIDR, ipToInt } from './manifests.js';
import { masqueradeMark, portProtoHash, probability, sepChain } from './names.js';

export interface ProxierOptions {
  /** --cluster-cidr: the local traffic detector (`! -s CIDR` masquerade, "pod traffic" EXT rule). */
  clusterCIDR?: string;
  /** --masquerade-all */
  masqueradeAll?: boolean;
  /** --masquerade-bit (default 14). */
  masqueradeBit?: number;
  /** Override the mark text (kube-proxy's unit tests use "0x4000"; real kube-proxy "%#08x" = "0x00004000"). */
  masqueradeMarkText?: string;
  /** iptables supports --random-fully (>= 1.6.2): MASQUERADE --random-fully. */
  randomFully?: boolean;
  /** --iptables-localhost-nodeports (default true): NodePorts on 127.0.0.1 and the KUBE-FIREWALL rule. */
  localhostNodePorts?: boolean;
  /** --node-ip (the first is kube-proxy's nodeIP: loadBalancerSourceRanges containing it allow the LB IP itself). */
  nodeIPs?: string[];
  /** --nodeport-addresses: CIDRs; empty = all local addresses (`-m addrtype --dst-type LOCAL`). */
  nodePortAddresses?: string[];
  /** Large-cluster mode (comments dropped) above this many endpoints (kube-proxy: 1000). */
  largeClusterThreshold?: number;
  /** 'full' (default) or 'restore'. */
  form?: 'full' | 'restore';
}

const KUBE_SERVICES = 'KUBE-SERVICES';
const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
const KUBE_FORWARD = 'KUBE-FORWARD';
const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
const KUBE_FIREWALL = 'KUBE-FIREWALL';
const KUBE_PROXY_CANARY = 'KUBE-PROXY-CANARY';

type Arg = string | readonly string[];

/** One restore line plus what the sort needs (its chain and the service name in its comment). */
interface Entry {
  chain: string;
  text: string;
  comment: string | null;
}

/** kube-proxy's LineBuffer: arguments joined by single spaces, one line per Write. */
class LineBuffer {
  entries: Entry[] = [];
  write(...args: Arg[]): void {
    let flat: readonly string[];
    if (args.length === 1 && typeof args[0] !== 'string') flat = args[0];
    else {
      const f: string[] = [];
      for (const a of args) {
        if (typeof a === 'string') f.push(a);
        else for (const x of a) f.push(x);
      }
      flat = f;
    }
    const chain = flat[0] === '-A' ? flat[1] : flat[0].slice(1, flat[0].indexOf(' '));
    // Only the sorted chains need the comment (sortIPTablesRules orders them by service name).
    let comment: string | null = null;
    if (chain === KUBE_SERVICES || chain === KUBE_NODEPORTS) {
      const ci = flat.indexOf('--comment');
      if (ci >= 0 && ci + 1 < flat.length) {
        // The comment may have been quoted by the caller (as kube-proxy does); the value is unquoted.
        const c = flat[ci + 1];
        comment = c.length >= 2 && c.startsWith('"') && c.endsWith('"') ? c.slice(1, -1) : c;
      }
    }
    this.entries.push({ chain, text: flat.join(' '), comment });
  }
  get lines(): number {
    return this.entries.length;
  }
}

/** utiliptables.MakeChainLine */
const chainLine = (c: string): string => `:${c} - [0:0]`;

export interface ProxierResult {
  text: string;
  /** Counts as kube-proxy logs them. */
  filterRules: number;
  natRules: number;
  natChains: number;
  totalEndpoints: number;
  largeClusterMode: boolean;
}

/** Categorise endpoints as proxy.CategorizeEndpoints (v1.28) does, without topology hints. */
function categorize(sp: ServicePort, eps: Endpoint[], hostname: string | null) {
  const externallyAccessible = sp.nodePort !== 0 || sp.loadBalancerIPs.length > 0 || sp.externalIPs.length > 0;
  const usesCluster = !sp.internalPolicyLocal || (externallyAccessible && !sp.externalPolicyLocal);
  const usesLocal = sp.internalPolicyLocal || (externallyAccessible && sp.externalPolicyLocal);
  let cluster: Endpoint[] = [];
  let local: Endpoint[] = [];
  let hasAny = false;
  const isLocal = (e: Endpoint): boolean => hostname !== null && e.nodeName === hostname;
  if (usesCluster) {
    cluster = eps.filter((e) => e.ready);
    if (cluster.length === 0) cluster = eps.filter((e) => e.serving && e.terminating);
    if (cluster.length > 0) hasAny = true;
  }
  if (!usesLocal) return { cluster, local, all: cluster, hasAny, externallyAccessible, usesCluster, usesLocal };
  let localReady = false;
  let localServingTerminating = false;
  for (const e of eps) {
    if (e.ready) {
      hasAny = true;
      if (isLocal(e)) localReady = true;
    } else if (e.serving && e.terminating) {
      hasAny = true;
      if (isLocal(e)) localServingTerminating = true;
    }
  }
  if (localReady) local = eps.filter((e) => isLocal(e) && e.ready);
  else if (localServingTerminating) local = eps.filter((e) => isLocal(e) && e.serving && e.terminating);
  if (!usesCluster) return { cluster, local, all: local, hasAny, externallyAccessible, usesCluster, usesLocal };
  const seen = new Map<string, Endpoint>();
  for (const e of cluster) seen.set(e.endpoint, e);
  for (const e of local) seen.set(e.endpoint, e);
  const all = [...seen.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
  return { cluster, local, all, hasAny, externallyAccessible, usesCluster, usesLocal };
}

function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCIDR(cidr);
  if (!c) return false;
  const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
  return ((ipToInt(ip) & mask) >>> 0) === c.base;
}

export function generateRules(cluster: Cluster, opts: ProxierOptions = {}, hostname: string | null = null): ProxierResult {
  const mark = opts.masqueradeMarkText ?? masqueradeMark(opts.masqueradeBit ?? 14);
  // NodePortAddresses: a 0.0.0.0/0 entry means all addresses; localhost NodePorts are switched off
  // unless the addresses include 127.0.0.0 (NewProxier: !nodePortAddresses.ContainsIPv4Loopback()).
  let nodePortAddresses = opts.nodePortAddresses ?? [];
  if (nodePortAddresses.some((c) => parseCIDR(c)?.prefix === 0)) nodePortAddresses = [];
  const containsLoopback = nodePortAddresses.length === 0 || nodePortAddresses.some((c) => cidrContains(c, '127.0.0.0'));
  const localhostNodePorts = (opts.localhostNodePorts ?? true) && containsLoopback;
  const localDetector = opts.clusterCIDR ?? null;
  const nodeIP = opts.nodeIPs?.[0] ?? null;
  const threshold = opts.largeClusterThreshold ?? 1000;

  const filterChains = new LineBuffer();
  const filterRules = new LineBuffer();
  const natChains = new LineBuffer();
  const natRules = new LineBuffer();

  for (const c of [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL]) filterChains.write(chainLine(c));
  for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) natChains.write(chainLine(c));

  writePostroutingRules(natRules, mark, !!opts.randomFully);
  natRules.write('-A', KUBE_MARK_MASQ, '-j', 'MARK', '--or-mark', mark);
  if (localhostNodePorts) {
    filterChains.write(chainLine(KUBE_FIREWALL));
    filterRules.write(
      '-A', KUBE_FIREWALL,
      '-m', 'comment', '--comment', '"block incoming localnet connections"',
      '-d', '127.0.0.0/8',
      '!', '-s', '127.0.0.0/8',
      '-m', 'conntrack',
      '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT',
      '-j', 'DROP',
    );
  }

  let totalEndpoints = 0;
  for (const sp of cluster.servicePorts) totalEndpoints += (cluster.endpoints.get(`${sp.svcPortName}/${sp.protocol}`) ?? []).length;
  const largeClusterMode = totalEndpoints > threshold;
  const ctx: Ctx = { mark, masqueradeAll: !!opts.masqueradeAll, localDetector, nodeIP, largeClusterMode, hostname };

  for (const sp of cluster.servicePorts) {
    writeServicePort(ctx, sp, cluster.endpoints.get(`${sp.svcPortName}/${sp.protocol}`) ?? [], filterRules, natChains, natRules);
  }

  writeNodePortsTail(natRules, nodePortAddresses, opts.nodeIPs ?? [], localhostNodePorts);
  writeForwardRules(filterRules, mark);

  const restore = assembleSorted(filterChains, filterRules, natChains, natRules);
  const text = opts.form === 'restore' ? restoreText(restore) : fullText(restore, localhostNodePorts);
  return {
    text,
    filterRules: filterRules.lines,
    natRules: natRules.lines,
    natChains: natChains.lines,
    totalEndpoints,
    largeClusterMode,
  };
}

interface Ctx {
  mark: string;
  masqueradeAll: boolean;
  localDetector: string | null;
  nodeIP: string | null;
  largeClusterMode: boolean;
  hostname: string | null;
}

// ---------------------------------------------------------------------------------------------
// One function per chain kind.

function writePostroutingRules(natRules: LineBuffer, mark: string, randomFully: boolean): void {
  natRules.write('-A', KUBE_POSTROUTING, '-m', 'mark', '!', '--mark', `${mark}/${mark}`, '-j', 'RETURN');
  // Clear the mark to avoid re-masquerading if the packet re-traverses the network stack.
  natRules.write('-A', KUBE_POSTROUTING, '-j', 'MARK', '--xor-mark', mark);
  const masq = ['-A', KUBE_POSTROUTING, '-m', 'comment', '--comment', '"kubernetes service traffic requiring SNAT"', '-j', 'MASQUERADE'];
  if (randomFully) masq.push('--random-fully');
  natRules.write(masq);
}

function writeForwardRules(filterRules: LineBuffer, mark: string): void {
  filterRules.write('-A', KUBE_FORWARD, '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP');
  filterRules.write('-A', KUBE_FORWARD, '-m', 'comment', '--comment', '"kubernetes forwarding rules"', '-m', 'mark', '--mark', `${mark}/${mark}`, '-j', 'ACCEPT');
  filterRules.write('-A', KUBE_FORWARD, '-m', 'comment', '--comment', '"kubernetes forwarding conntrack rule"', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');
}

function writeNodePortsTail(natRules: LineBuffer, nodePortAddresses: string[], nodeIPs: string[], localhostNodePorts: boolean): void {
  const comment = '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
  if (nodePortAddresses.length === 0) {
    const destinations = ['-m', 'addrtype', '--dst-type', 'LOCAL'];
    if (!localhostNodePorts) destinations.push('!', '-d', '127.0.0.0/8');
    natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', comment, destinations, '-j', KUBE_NODEPORTS);
    return;
  }
  // --nodeport-addresses: one rule per node IP inside those CIDRs.
  for (const ip of nodeIPs) {
    if (!nodePortAddresses.some((c) => cidrContains(c, ip))) continue;
    if (ip.startsWith('127.') && !localhostNodePorts) continue;
    natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', comment, '-d', ip, '-j', KUBE_NODEPORTS);
  }
}

/** All the rules of one service port (the body of syncProxyRules' per-service loop). */
function writeServicePort(ctx: Ctx, sp: ServicePort, allEndpoints: Endpoint[], filterRules: LineBuffer, natChains: LineBuffer, natRules: LineBuffer): void {
  const protocol = sp.protocol.toLowerCase();
  const S = sp.svcPortName;
  const port = String(sp.port);
  const cat = categorize(sp, allEndpoints, ctx.hostname);
  const { cluster: clusterEndpoints, local: localEndpoints, all: allLocallyReachable, hasAny: hasEndpoints } = cat;

  const h = portProtoHash(S, protocol);
  const sepNames = new Map<string, string>();
  const sep = (ep: Endpoint): string => {
    let n = sepNames.get(ep.endpoint);
    if (n === undefined) sepNames.set(ep.endpoint, (n = sepChain(S, protocol, ep.endpoint)));
    return n;
  };
  const clusterPolicyChain = `KUBE-SVC-${h}`;
  const usesClusterPolicyChain = clusterEndpoints.length > 0 && cat.usesCluster;
  const localPolicyChain = `KUBE-SVL-${h}`;
  const usesLocalPolicyChain = localEndpoints.length > 0 && cat.usesLocal;

  let internalTrafficChain = clusterPolicyChain;
  let hasInternalEndpoints = hasEndpoints;
  if (sp.internalPolicyLocal) {
    internalTrafficChain = localPolicyChain;
    if (localEndpoints.length === 0) hasInternalEndpoints = false;
  }
  let externalPolicyChain = clusterPolicyChain;
  let hasExternalEndpoints = hasEndpoints;
  if (sp.externalPolicyLocal) {
    externalPolicyChain = localPolicyChain;
    if (localEndpoints.length === 0) hasExternalEndpoints = false;
  }
  const externalTrafficChain = `KUBE-EXT-${h}`;
  const usesExternalTrafficChain = hasEndpoints && cat.externallyAccessible;
  const fw = `KUBE-FW-${h}`;
  const usesFWChain = hasEndpoints && sp.loadBalancerIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
  const loadBalancerTrafficChain = usesFWChain ? fw : externalTrafficChain;

  let internalFilterTarget = '';
  let internalFilterComment = '';
  let externalFilterTarget = '';
  let externalFilterComment = '';
  if (!hasEndpoints) {
    internalFilterTarget = externalFilterTarget = 'REJECT';
    internalFilterComment = externalFilterComment = `"${S} has no endpoints"`;
  } else {
    if (!hasInternalEndpoints) {
      internalFilterTarget = 'DROP';
      internalFilterComment = `"${S} has no local endpoints"`;
    }
    if (!hasExternalEndpoints) {
      externalFilterTarget = 'DROP';
      externalFilterComment = `"${S} has no local endpoints"`;
    }
  }

  // Capture the clusterIP.
  if (hasInternalEndpoints) {
    natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', `"${S} cluster IP"`, '-m', protocol, '-p', protocol, '-d', sp.clusterIP, '--dport', port, '-j', internalTrafficChain);
  } else {
    filterRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', internalFilterComment, '-m', protocol, '-p', protocol, '-d', sp.clusterIP, '--dport', port, '-j', internalFilterTarget);
  }

  // Capture externalIPs.
  for (const externalIP of sp.externalIPs) {
    if (hasEndpoints) {
      natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', `"${S} external IP"`, '-m', protocol, '-p', protocol, '-d', externalIP, '--dport', port, '-j', externalTrafficChain);
    }
    if (!hasExternalEndpoints) {
      filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment, '-m', protocol, '-p', protocol, '-d', externalIP, '--dport', port, '-j', externalFilterTarget);
    }
  }

  // Capture load-balancer ingress.
  for (const lbip of sp.loadBalancerIPs) {
    if (hasEndpoints) {
      natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', `"${S} loadbalancer IP"`, '-m', protocol, '-p', protocol, '-d', lbip, '--dport', port, '-j', loadBalancerTrafficChain);
    }
    if (usesFWChain) {
      filterRules.write('-A', KUBE_PROXY_FIREWALL, '-m', 'comment', '--comment', `"${S} traffic not accepted by ${fw}"`, '-m', protocol, '-p', protocol, '-d', lbip, '--dport', port, '-j', 'DROP');
    }
  }
  if (!hasExternalEndpoints) {
    for (const lbip of sp.loadBalancerIPs) {
      filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment, '-m', protocol, '-p', protocol, '-d', lbip, '--dport', port, '-j', externalFilterTarget);
    }
  }

  // Capture nodeports.
  if (sp.nodePort !== 0) {
    if (hasEndpoints) {
      natRules.write('-A', KUBE_NODEPORTS, '-m', 'comment', '--comment', S, '-m', protocol, '-p', protocol, '--dport', String(sp.nodePort), '-j', externalTrafficChain);
    }
    if (!hasExternalEndpoints) {
      filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment, '-m', 'addrtype', '--dst-type', 'LOCAL', '-m', protocol, '-p', protocol, '--dport', String(sp.nodePort), '-j', externalFilterTarget);
    }
  }

  // Capture healthCheckNodePorts.
  if (sp.healthCheckNodePort !== 0) {
    filterRules.write('-A', KUBE_NODEPORTS, '-m', 'comment', '--comment', `"${S} health check node port"`, '-m', 'tcp', '-p', 'tcp', '--dport', String(sp.healthCheckNodePort), '-j', 'ACCEPT');
  }

  // Internal traffic handling: masquerade off-cluster traffic to the ClusterIP.
  if (hasInternalEndpoints) {
    const args = ['-m', 'comment', '--comment', `"${S} cluster IP"`, '-m', protocol, '-p', protocol, '-d', sp.clusterIP, '--dport', port];
    if (ctx.masqueradeAll) natRules.write('-A', internalTrafficChain, args, '-j', KUBE_MARK_MASQ);
    else if (ctx.localDetector) natRules.write('-A', internalTrafficChain, args, '!', '-s', ctx.localDetector, '-j', KUBE_MARK_MASQ);
  }

  if (usesExternalTrafficChain) {
    natChains.write(chainLine(externalTrafficChain));
    writeExtChain(ctx, sp, natRules, externalTrafficChain, clusterPolicyChain, externalPolicyChain, hasExternalEndpoints);
  }
  if (usesFWChain) {
    natChains.write(chainLine(fw));
    writeFwChain(ctx, sp, natRules, fw, externalTrafficChain);
  }
  if (usesClusterPolicyChain) {
    natChains.write(chainLine(clusterPolicyChain));
    writeServiceToEndpointRules(ctx, natRules, sp, clusterPolicyChain, clusterEndpoints, sep);
  }
  if (usesLocalPolicyChain) {
    natChains.write(chainLine(localPolicyChain));
    writeServiceToEndpointRules(ctx, natRules, sp, localPolicyChain, localEndpoints, sep);
  }
  for (const ep of allLocallyReachable) {
    const chain = sep(ep);
    natChains.write(chainLine(chain));
    writeSepChain(ctx, natRules, sp, chain, ep);
  }
}

/** KUBE-EXT-<h>: external destinations (NodePort, externalIPs, LB IPs). */
function writeExtChain(ctx: Ctx, sp: ServicePort, natRules: LineBuffer, ext: string, clusterPolicyChain: string, externalPolicyChain: string, hasExternalEndpoints: boolean): void {
  const S = sp.svcPortName;
  if (!sp.externalPolicyLocal) {
    natRules.write('-A', ext, '-m', 'comment', '--comment', `"masquerade traffic for ${S} external destinations"`, '-j', KUBE_MARK_MASQ);
  } else {
    if (ctx.localDetector) {
      natRules.write('-A', ext, '-m', 'comment', '--comment', `"pod traffic for ${S} external destinations"`, '-s', ctx.localDetector, '-j', clusterPolicyChain);
    }
    natRules.write('-A', ext, '-m', 'comment', '--comment', `"masquerade LOCAL traffic for ${S} external destinations"`, '-m', 'addrtype', '--src-type', 'LOCAL', '-j', KUBE_MARK_MASQ);
    natRules.write('-A', ext, '-m', 'comment', '--comment', `"route LOCAL traffic for ${S} external destinations"`, '-m', 'addrtype', '--src-type', 'LOCAL', '-j', clusterPolicyChain);
  }
  if (hasExternalEndpoints) natRules.write('-A', ext, '-j', externalPolicyChain);
}

/** KUBE-FW-<h>: loadBalancerSourceRanges. */
function writeFwChain(ctx: Ctx, sp: ServicePort, natRules: LineBuffer, fw: string, ext: string): void {
  const S = sp.svcPortName;
  const args = ['-A', fw, '-m', 'comment', '--comment', `"${S} loadbalancer IP"`];
  let allowFromNode = false;
  for (const src of sp.loadBalancerSourceRanges) {
    natRules.write(args, '-s', src, '-j', ext);
    if (ctx.nodeIP && cidrContains(src, ctx.nodeIP)) allowFromNode = true;
  }
  if (allowFromNode) {
    for (const lbip of sp.loadBalancerIPs) natRules.write(args, '-s', lbip, '-j', ext);
  }
  natRules.write('-A', fw, '-m', 'comment', '--comment', `"other traffic to ${S} will be dropped by KUBE-PROXY-FIREWALL"`);
}

/** KUBE-SVC-<h> / KUBE-SVL-<h>: affinity checks, then the statistic cascade. */
function writeServiceToEndpointRules(ctx: Ctx, natRules: LineBuffer, sp: ServicePort, chain: string, endpoints: Endpoint[], sepName: (ep: Endpoint) => string): void {
  const S = sp.svcPortName;
  if (sp.sessionAffinityClientIP) {
    for (const ep of endpoints) {
      const sep = sepName(ep);
      const args: string[] = ['-A', chain];
      if (!ctx.largeClusterMode) args.push('-m', 'comment', '--comment', `"${S} -> ${ep.endpoint}"`);
      args.push('-m', 'recent', '--name', sep, '--rcheck', '--seconds', String(sp.stickyMaxAgeSeconds), '--reap', '-j', sep);
      natRules.write(args);
    }
  }
  const n = endpoints.length;
  endpoints.forEach((ep, i) => {
    const sep = sepName(ep);
    const args: string[] = ['-A', chain];
    if (!ctx.largeClusterMode) args.push('-m', 'comment', '--comment', `"${S} -> ${ep.endpoint}"`);
    if (i < n - 1) args.push('-m', 'statistic', '--mode', 'random', '--probability', probability(n - i));
    natRules.write(args, '-j', sep);
  });
}

/** KUBE-SEP-<h>: hairpin masquerade, then DNAT (with the affinity --set). */
function writeSepChain(ctx: Ctx, natRules: LineBuffer, sp: ServicePort, chain: string, ep: Endpoint): void {
  const protocol = sp.protocol.toLowerCase();
  const args: string[] = ['-A', chain];
  if (!ctx.largeClusterMode) args.push('-m', 'comment', '--comment', sp.svcPortName);
  natRules.write(args, '-s', ep.ip, '-j', KUBE_MARK_MASQ);
  if (sp.sessionAffinityClientIP) args.push('-m', 'recent', '--name', chain, '--set');
  args.push('-m', protocol, '-p', protocol, '-j', 'DNAT', '--to-destination', ep.endpoint);
  natRules.write(args);
}

// ---------------------------------------------------------------------------------------------
// Assembly in the sorted order of kube-proxy's tests (sortIPTablesRules).

interface SortedTable {
  name: 'filter' | 'nat';
  chains: string[]; // chain names, sorted
  rules: Map<string, string[]>; // chain -> rule lines, sorted within KUBE-SERVICES/KUBE-NODEPORTS
}

/** orderByCommentServiceName's key: the comment up to the first space or colon. */
function svcNameOf(e: Entry): string | null {
  if (e.comment === null) return null;
  const i = e.comment.search(/[ :]/);
  return i === -1 ? e.comment : e.comment.slice(0, i);
}

function stableSortByService(list: Entry[], keepLastRule: boolean): Entry[] {
  // sort.SliceStable with "less(i, j) = name_i < name_j" where rules without a comment compare
  // as not-less both ways: a merge sort keeps that stable.
  const less = (a: Entry, b: Entry): boolean => {
    if (keepLastRule) {
      if (a.comment !== null && a.comment.includes('must be the last rule')) return false;
      if (b.comment !== null && b.comment.includes('must be the last rule')) return true;
    }
    const na = svcNameOf(a);
    const nb = svcNameOf(b);
    if (na === null || nb === null) return false;
    return na < nb;
  };
  return mergeSort(list, less);
}

function mergeSort<T>(a: T[], less: (x: T, y: T) => boolean): T[] {
  if (a.length <= 1) return a.slice();
  const mid = a.length >> 1;
  const l = mergeSort(a.slice(0, mid), less);
  const r = mergeSort(a.slice(mid), less);
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < l.length && j < r.length) {
    if (less(r[j], l[i])) out.push(r[j++]);
    else out.push(l[i++]);
  }
  while (i < l.length) out.push(l[i++]);
  while (j < r.length) out.push(r[j++]);
  return out;
}

function sortTable(name: 'filter' | 'nat', chains: LineBuffer, rules: LineBuffer): SortedTable {
  // The test's chain order: KUBE-NODEPORTS, KUBE-SERVICES, other KUBE-* alphabetically, then the
  // rest alphabetically. Done as partition + native sort (sort without a comparator compares
  // UTF-16 code units: Go's bytewise order for ASCII names).
  const uniq = [...new Set(chains.entries.map((e) => e.chain))];
  const kube = uniq.filter((c) => c !== KUBE_NODEPORTS && c !== KUBE_SERVICES && c.startsWith('KUBE-')).sort();
  const other = uniq.filter((c) => !c.startsWith('KUBE-')).sort();
  const names = [...uniq.filter((c) => c === KUBE_NODEPORTS), ...uniq.filter((c) => c === KUBE_SERVICES), ...kube, ...other];
  const byChain = new Map<string, Entry[]>();
  for (const n of names) byChain.set(n, []);
  for (const e of rules.entries) {
    let l = byChain.get(e.chain);
    if (!l) {
      // A rule for a chain without a chain line would be a generator bug (restore would reject it).
      throw new Error(`internal: rule for undeclared chain ${e.chain}`);
    }
    l.push(e);
  }
  const out = new Map<string, string[]>();
  for (const [c, list] of byChain) {
    const sorted = c === KUBE_NODEPORTS || c === KUBE_SERVICES ? stableSortByService(list, name === 'nat' && c === KUBE_SERVICES) : list;
    out.set(c, sorted.map((e) => e.text));
  }
  return { name, chains: names, rules: out };
}

function assembleSorted(filterChains: LineBuffer, filterRules: LineBuffer, natChains: LineBuffer, natRules: LineBuffer): SortedTable[] {
  return [sortTable('filter', filterChains, filterRules), sortTable('nat', natChains, natRules)];
}

function restoreText(tables: SortedTable[]): string {
  const out: string[] = [];
  for (const t of tables) {
    out.push(`*${t.name}`);
    for (const c of t.chains) out.push(chainLine(c));
    for (const c of t.chains) for (const r of t.rules.get(c)!) out.push(r);
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}

/**
 * The jump rules ensured with `iptables -I` (EnsureRule Prepend), in the order they are first
 * inserted on a node: kubelet's `-j KUBE-FIREWALL` (kubelet runs before the kube-proxy pod; kube-proxy's
 * iptablesKubeletJumpChains then finds them present), then kube-proxy's iptablesJumpChains.
 */
const JUMPS: { table: 'filter' | 'nat'; dst: string; src: string; comment: string; extra: string[] }[] = [
  { table: 'filter', dst: KUBE_FIREWALL, src: 'INPUT', comment: '', extra: [] },
  { table: 'filter', dst: KUBE_FIREWALL, src: 'OUTPUT', comment: '', extra: [] },
  { table: 'filter', dst: KUBE_EXTERNAL_SERVICES, src: 'INPUT', comment: 'kubernetes externally-visible service portals', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', dst: KUBE_EXTERNAL_SERVICES, src: 'FORWARD', comment: 'kubernetes externally-visible service portals', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', dst: KUBE_NODEPORTS, src: 'INPUT', comment: 'kubernetes health check service ports', extra: [] },
  { table: 'filter', dst: KUBE_SERVICES, src: 'FORWARD', comment: 'kubernetes service portals', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', dst: KUBE_SERVICES, src: 'OUTPUT', comment: 'kubernetes service portals', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', dst: KUBE_FORWARD, src: 'FORWARD', comment: 'kubernetes forwarding rules', extra: [] },
  { table: 'filter', dst: KUBE_PROXY_FIREWALL, src: 'INPUT', comment: 'kubernetes load balancer firewall', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', dst: KUBE_PROXY_FIREWALL, src: 'OUTPUT', comment: 'kubernetes load balancer firewall', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', dst: KUBE_PROXY_FIREWALL, src: 'FORWARD', comment: 'kubernetes load balancer firewall', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'nat', dst: KUBE_SERVICES, src: 'OUTPUT', comment: 'kubernetes service portals', extra: [] },
  { table: 'nat', dst: KUBE_SERVICES, src: 'PREROUTING', comment: 'kubernetes service portals', extra: [] },
  { table: 'nat', dst: KUBE_POSTROUTING, src: 'POSTROUTING', comment: 'kubernetes postrouting rules', extra: [] },
];

const BUILTINS: Record<'filter' | 'nat', string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

function fullText(tables: SortedTable[], _localhostNodePorts: boolean): string {
  const out: string[] = ['# Generated by nfreplay k8s (kube-proxy v1.28 iptables mode, IPv4)'];
  for (const t of tables) {
    out.push(`*${t.name}`);
    for (const b of BUILTINS[t.name]) out.push(`:${b} ACCEPT [0:0]`);
    const userChains = [...t.chains];
    // Chains kube-proxy creates outside the restore input: the canary, and KUBE-FIREWALL (the
    // kubelet jump target) when the restore text did not declare it.
    userChains.push(KUBE_PROXY_CANARY);
    if (t.name === 'filter' && !userChains.includes(KUBE_FIREWALL)) userChains.push(KUBE_FIREWALL);
    for (const c of userChains) out.push(chainLine(c));
    // Jump rules: each EnsureRule(Prepend) inserts at position 1, so per builtin chain the last
    // one in the list ends up first.
    for (const b of BUILTINS[t.name]) {
      const rules: string[] = [];
      for (const j of JUMPS) {
        if (j.table !== t.name || j.src !== b) continue;
        const args = ['-A', b, ...j.extra];
        if (j.comment) args.push('-m', 'comment', '--comment', `"${j.comment}"`);
        args.push('-j', j.dst);
        rules.unshift(args.join(' '));
      }
      out.push(...rules);
    }
    for (const c of t.chains) for (const r of t.rules.get(c)!) out.push(r);
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}
