// The host model: the node whose netfilter we replay. Interfaces with addresses, routes, the
// ingress interface and sysctls (kernel names). See DESIGN.md "Host model".
import { readFileSync } from 'node:fs';

export interface HostInterface {
  name: string;
  /** CIDR strings, in the order `ip addr` lists them (the first one per subnet is primary). */
  addresses: string[];
  mtu?: number;
  /** The interface's MAC ("02:00:00:00:00:01"): frames to other MACs are dropped as PACKET_OTHERHOST. */
  mac?: string;
}

export interface HostRoute {
  /** "default" or a CIDR ("10.0.0.0/8", a bare address is /32). */
  dst: string;
  via?: string;
  dev?: string;
  /** unicast (default), blackhole, unreachable, prohibit */
  type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';
}

export interface HostModel {
  interfaces: HostInterface[];
  routes: HostRoute[];
  ingress: string;
  /** Kernel sysctl names -> values, only those given (defaults come from SYSCTL_DEFAULTS). */
  sysctl: Record<string, number>;
}

/** Thrown for a bad host description: `file:line:column: message`. */
export class HostError extends Error {
  constructor(readonly file: string, readonly line: number, readonly column: number, readonly detail: string) {
    super(`${file}:${line}:${column}: ${detail}`);
    this.name = 'HostError';
  }
  format(): string { return this.message; }
}

/** Sysctls a host file may set, with the values of a Kubernetes node (ip_forward 1, the rest the
 *  kernel's defaults). Per-interface names (net.ipv4.conf.IFACE.*) are checked separately. */
export const SYSCTL_DEFAULTS: Record<string, number> = {
  'net.ipv4.ip_forward': 1,
  'net.ipv4.conf.all.forwarding': 1,
  'net.ipv4.conf.all.route_localnet': 0,
  'net.ipv4.conf.all.rp_filter': 0,
  'net.ipv4.conf.default.route_localnet': 0,
  'net.ipv4.conf.default.rp_filter': 0,
  'net.ipv4.conf.all.send_redirects': 1,
  'net.ipv4.conf.default.send_redirects': 1,
  'net.ipv4.conf.all.shared_media': 1,
  'net.ipv4.conf.default.shared_media': 1,
  'net.netfilter.nf_conntrack_checksum': 1,
  'net.netfilter.nf_conntrack_tcp_loose': 1,
  'net.netfilter.nf_conntrack_tcp_be_liberal': 0,
  'net.netfilter.nf_conntrack_max': 262144,
  'net.nf_conntrack_max': 262144,
  'net.netfilter.nf_conntrack_tcp_max_retrans': 3,
  'net.netfilter.nf_conntrack_udp_timeout': 30,
  'net.netfilter.nf_conntrack_udp_timeout_stream': 120,
  'net.netfilter.nf_conntrack_icmp_timeout': 30,
  'net.netfilter.nf_conntrack_generic_timeout': 600,
  'net.netfilter.nf_conntrack_tcp_timeout_syn_sent': 120,
  'net.netfilter.nf_conntrack_tcp_timeout_syn_recv': 60,
  'net.netfilter.nf_conntrack_tcp_timeout_established': 432000,
  'net.netfilter.nf_conntrack_tcp_timeout_fin_wait': 120,
  'net.netfilter.nf_conntrack_tcp_timeout_close_wait': 60,
  'net.netfilter.nf_conntrack_tcp_timeout_last_ack': 30,
  'net.netfilter.nf_conntrack_tcp_timeout_time_wait': 120,
  'net.netfilter.nf_conntrack_tcp_timeout_close': 10,
  'net.netfilter.nf_conntrack_tcp_timeout_max_retrans': 300,
  'net.netfilter.nf_conntrack_tcp_timeout_unacknowledged': 300,
  'net.netfilter.nf_conntrack_tcp_ignore_invalid_rst': 0,
  'net.netfilter.nf_conntrack_gre_timeout': 30,
  'net.netfilter.nf_conntrack_gre_timeout_stream': 180,
  'net.netfilter.nf_conntrack_sctp_timeout_closed': 10,
  'net.netfilter.nf_conntrack_sctp_timeout_cookie_wait': 3,
  'net.netfilter.nf_conntrack_sctp_timeout_cookie_echoed': 3,
  'net.netfilter.nf_conntrack_sctp_timeout_established': 210,
  'net.netfilter.nf_conntrack_sctp_timeout_shutdown_sent': 3,
  'net.netfilter.nf_conntrack_sctp_timeout_shutdown_recd': 3,
  'net.netfilter.nf_conntrack_sctp_timeout_shutdown_ack_sent': 3,
  'net.netfilter.nf_conntrack_sctp_timeout_heartbeat_sent': 30,
  // the host's ICMP error limits (net/ipv4/icmp.c, per netns since 6.12): the global token bucket
  // (msgs_per_sec refill, msgs_burst size), the per-destination cost (ms) and the limited types
  'net.ipv4.icmp_msgs_per_sec': 1000,
  'net.ipv4.icmp_msgs_burst': 50,
  'net.ipv4.icmp_ratelimit': 1000,
  'net.ipv4.icmp_ratemask': 0x1818,
};

/** Kernel sysctls accepted in a host file that do not change what a replay computes
 *  (accounting, logging, event and helper switches, read-only counters, bucket count). */
export const SYSCTL_NO_EFFECT = new Set([
  'net.netfilter.nf_conntrack_acct', 'net.netfilter.nf_conntrack_timestamp', 'net.netfilter.nf_conntrack_helper',
  'net.netfilter.nf_conntrack_log_invalid', 'net.netfilter.nf_conntrack_buckets', 'net.netfilter.nf_conntrack_count',
  'net.netfilter.nf_conntrack_events', 'net.netfilter.nf_conntrack_expect_max', 'net.netfilter.nf_log_all_netns',
]);

const PER_IF = /^net\.ipv4\.conf\.([^.]+)\.(route_localnet|rp_filter|forwarding|send_redirects|shared_media)$/;

/** The default host: ingress `eth0` 192.0.2.1/24, egress `eth1` 198.51.100.1/24, default route via
 *  198.51.100.254 on eth1, plus `lo` 127.0.0.1/8 (added by lowerHost). Nothing else is local;
 *  forwarding on. */
export function defaultHost(): HostModel {
  return {
    interfaces: [
      { name: 'eth0', addresses: ['192.0.2.1/24'], mtu: 1500 },
      { name: 'eth1', addresses: ['198.51.100.1/24'], mtu: 1500 },
    ],
    routes: [{ dst: 'default', via: '198.51.100.254', dev: 'eth1' }],
    ingress: 'eth0',
    sysctl: {},
  };
}

/** Line and column (1-based) of the first occurrence of `needle` in `text` after `from`. */
function locate(text: string, needle: string, from = 0): { line: number; column: number } {
  let at = text.indexOf(needle, from);
  if (at < 0) at = 0;
  let line = 1, col = 1;
  for (let i = 0; i < at; i++) {
    if (text.charCodeAt(i) === 10) { line++; col = 1; } else col++;
  }
  return { line, column: col };
}

function fail(file: string, text: string, token: string, detail: string): never {
  const p = locate(text, token);
  throw new HostError(file, p.line, p.column, detail);
}

export function parseIPv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const b = m.slice(1, 5).map(Number);
  if (b.some((x) => x > 255)) return null;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

export function parseCidr(s: string): { addr: number; len: number } | null {
  const [a, l] = s.split('/');
  const addr = parseIPv4(a);
  if (addr === null) return null;
  if (l === undefined) return { addr, len: 32 };
  if (!/^\d{1,2}$/.test(l) || Number(l) > 32) return null;
  return { addr, len: Number(l) };
}

/** Check a model (from any source); `text` is used to locate tokens in error messages. */
export function validateHost(h: HostModel, file: string, text: string): HostModel {
  const names = new Set<string>();
  if (!Array.isArray(h.interfaces) || h.interfaces.length === 0) fail(file, text, 'interfaces', 'host: "interfaces" must be a non-empty array');
  for (const i of h.interfaces) {
    if (typeof i.name !== 'string' || i.name.length === 0 || i.name.length > 15) fail(file, text, String(i.name), `host: bad interface name '${i.name}'`);
    if (names.has(i.name)) fail(file, text, `"${i.name}"`, `host: duplicate interface '${i.name}'`);
    names.add(i.name);
    if (!Array.isArray(i.addresses)) fail(file, text, `"${i.name}"`, `host: interface '${i.name}' needs "addresses" (an array of CIDRs)`);
    for (const a of i.addresses) if (typeof a !== 'string' || !parseCidr(a)) fail(file, text, String(a), `host: bad address '${a}' on '${i.name}'`);
    if (i.mac !== undefined && (typeof i.mac !== 'string' || !/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(i.mac))) fail(file, text, String(i.mac), `host: bad mac '${i.mac}' on '${i.name}'`);
    if (i.mtu !== undefined && (!Number.isInteger(i.mtu) || i.mtu < 68 || i.mtu > 0x7fffffff)) fail(file, text, `${i.mtu}`, `host: bad mtu '${i.mtu}' on '${i.name}'`);
  }
  const withLo = names.has('lo') ? names.size : names.size + 1;
  if (withLo > 31) fail(file, text, 'interfaces', `host: at most 31 interfaces (lo included) are supported, got ${withLo}`);
  for (const r of h.routes ?? []) {
    if (typeof r.dst !== 'string' || (r.dst !== 'default' && !parseCidr(r.dst))) fail(file, text, String(r.dst), `host: bad route destination '${r.dst}'`);
    if (r.via !== undefined && parseIPv4(r.via) === null) fail(file, text, String(r.via), `host: bad gateway '${r.via}'`);
    const t = r.type ?? 'unicast';
    if (!['unicast', 'blackhole', 'unreachable', 'prohibit'].includes(t)) fail(file, text, String(t), `host: unknown route type '${t}'`);
    if (t === 'unicast') {
      if (r.dev === undefined && r.via === undefined) fail(file, text, r.dst, `host: route '${r.dst}' needs "dev" or "via"`);
      if (r.dev !== undefined && !names.has(r.dev) && r.dev !== 'lo') fail(file, text, `"${r.dev}"`, `host: route '${r.dst}' names unknown interface '${r.dev}'`);
    }
  }
  if (typeof h.ingress !== 'string' || !names.has(h.ingress)) fail(file, text, String(h.ingress), `host: ingress '${h.ingress}' is not one of the interfaces`);
  for (const [k, v] of Object.entries(h.sysctl ?? {})) {
    const m = PER_IF.exec(k);
    if (!(k in SYSCTL_DEFAULTS) && !SYSCTL_NO_EFFECT.has(k) && !(m && (names.has(m[1]) || m[1] === 'lo'))) fail(file, text, `"${k}"`, `host: unknown sysctl '${k}'`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(file, text, `"${k}"`, `host: sysctl '${k}' needs a non-negative integer, got '${v}'`);
    // the kernel keeps every one of these in an int (proc_dointvec*), and lowerHost writes i32 words
    if (v > 0x7fffffff) fail(file, text, `"${k}"`, `host: sysctl '${k}' must be at most 2147483647, got '${v}'`);
  }
  return h;
}

/** Load the JSON host description of DESIGN.md. */
export function loadHostFile(path: string): HostModel {
  const text = readFileSync(path, 'utf8');
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec(String((e as Error).message));
    const pos = m ? Number(m[1]) : 0;
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    throw new HostError(path, line, column, `host: invalid JSON: ${(e as Error).message}`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new HostError(path, 1, 1, 'host: expected a JSON object');
  const o = j as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['interfaces', 'routes', 'ingress', 'sysctl'].includes(k)) fail(path, text, `"${k}"`, `host: unknown key '${k}'`);
  }
  const h: HostModel = {
    interfaces: o.interfaces as HostInterface[],
    routes: (o.routes as HostRoute[]) ?? [],
    ingress: (o.ingress as string) ?? (Array.isArray(o.interfaces) && o.interfaces[0] ? (o.interfaces[0] as HostInterface).name : ''),
    sysctl: (o.sysctl as Record<string, number>) ?? {},
  };
  if (h.sysctl === null || typeof h.sysctl !== 'object' || Array.isArray(h.sysctl)) fail(path, text, '"sysctl"', 'host: "sysctl" must be an object');
  if (!Array.isArray(h.routes)) fail(path, text, '"routes"', 'host: "routes" must be an array');
  return validateHost(h, path, text);
}

interface IpAddrJson { ifname: string; mtu?: number; link_type?: string; address?: string; addr_info?: { family: string; local: string; prefixlen: number }[] }
interface IpRouteJson { dst: string; gateway?: string; dev?: string; type?: string; protocol?: string; scope?: string }

/** Build the model from a node's `ip -j addr show` and `ip -j route show` output. */
export function loadIpJson(addrJsonPath: string, routeJsonPath: string, ingress: string): HostModel {
  const at = readFileSync(addrJsonPath, 'utf8');
  const rt = readFileSync(routeJsonPath, 'utf8');
  let addrs: IpAddrJson[];
  let routes: IpRouteJson[];
  try { addrs = JSON.parse(at); } catch (e) { throw new HostError(addrJsonPath, 1, 1, `ip addr: invalid JSON: ${(e as Error).message}`); }
  try { routes = JSON.parse(rt); } catch (e) { throw new HostError(routeJsonPath, 1, 1, `ip route: invalid JSON: ${(e as Error).message}`); }
  if (!Array.isArray(addrs)) throw new HostError(addrJsonPath, 1, 1, 'ip addr: expected the array `ip -j addr show` prints');
  if (!Array.isArray(routes)) throw new HostError(routeJsonPath, 1, 1, 'ip route: expected the array `ip -j route show` prints');
  const interfaces: HostInterface[] = addrs.map((a) => ({
    name: a.ifname,
    mtu: a.mtu,
    mac: a.link_type === 'ether' && a.address && a.address !== '00:00:00:00:00:00' ? a.address : undefined,
    addresses: (a.addr_info ?? []).filter((x) => x.family === 'inet').map((x) => `${x.local}/${x.prefixlen}`),
  }));
  const hr: HostRoute[] = [];
  for (const r of routes) {
    const t = r.type ?? 'unicast';
    if (t === 'local' || t === 'broadcast' || t === 'multicast') continue; // local table, implied by addresses
    if (r.protocol === 'kernel' && r.scope === 'link' && !r.gateway) continue; // connected: implied by addresses
    if (!['unicast', 'blackhole', 'unreachable', 'prohibit'].includes(t)) {
      const p = locate(rt, `"${t}"`);
      throw new HostError(routeJsonPath, p.line, p.column, `ip route: unsupported route type '${t}'`);
    }
    hr.push({ dst: r.dst, via: r.gateway, dev: r.dev, type: t as HostRoute['type'] });
  }
  const h: HostModel = { interfaces, routes: hr, ingress, sysctl: {} };
  const names = new Set(interfaces.map((i) => i.name));
  if (!names.has(ingress)) throw new HostError(addrJsonPath, 1, 1, `ip addr: ingress interface '${ingress}' is not listed`);
  return validateHost(h, routeJsonPath, rt);
}
