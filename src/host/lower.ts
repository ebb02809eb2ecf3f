// Lower a HostModel to the image sections HOST_* / IF_* / AD_* / RT_* and SYS_* (src/layout.ts).
// Offsets inside a section are relative to the section's start; interface index = position in
// host.interfaces, with `lo` (127.0.0.1/8) appended when the model does not list it.
import {
  HOST_NIFS, HOST_IFS, HOST_NADDRS, HOST_ADDRS, HOST_NROUTES, HOST_ROUTES, HOST_INGRESS, HOST_MACS, HOST_SIZE,
  IF_NAME0, IF_MTU, IF_FLAGS, IF_ROUTE_LOCALNET, IF_RP_FILTER, IF_SIZE, IFX_SEND_REDIRECTS, IFX_SHARED_MEDIA,
  AD_ADDR, AD_MASK, AD_BCAST, AD_IF, AD_SIZE, RT_DST, RT_MASK, RT_GW, RT_IF, RT_TYPE, RT_SIZE,
  SYS_IP_FORWARD, SYS_CT_CHECKSUM, SYS_TCP_LOOSE, SYS_TCP_BE_LIBERAL, SYS_CT_MAX, SYS_TCP_MAX_RETRANS,
  SYS_UDP_TIMEOUT, SYS_UDP_TIMEOUT_STREAM, SYS_ICMP_TIMEOUT, SYS_GENERIC_TIMEOUT,
  SYS_TCP_TIMEOUT_SYN_SENT, SYS_TCP_TIMEOUT_SYN_RECV, SYS_TCP_TIMEOUT_ESTABLISHED,
  SYS_TCP_TIMEOUT_FIN_WAIT, SYS_TCP_TIMEOUT_CLOSE_WAIT, SYS_TCP_TIMEOUT_LAST_ACK,
  SYS_TCP_TIMEOUT_TIME_WAIT, SYS_TCP_TIMEOUT_CLOSE, SYS_TCP_TIMEOUT_MAX_RETRANS,
  SYS_TCP_TIMEOUT_UNACK, SYS_GRE_TIMEOUT, SYS_GRE_TIMEOUT_STREAM, SYS_SCTP_TIMEOUT0,
  SYS_TCP_IGNORE_INVALID_RST, SYS_SIZE_CT,
  SYS_ICMP_MSGS_PER_SEC, SYS_ICMP_MSGS_BURST, SYS_ICMP_RATELIMIT, SYS_ICMP_RATEMASK,
} from '../layout.js';
import { HostModel, HostInterface, SYSCTL_DEFAULTS, parseCidr, parseIPv4 } from './model.js';

export const IFF_UP = 1;
export const IFF_LOOPBACK = 8;
export const RTN_UNICAST = 1;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;

/** Host-order address (a<<24|b<<16|c<<8|d) -> the image/P_SADDR encoding (wire bytes as LE u32). */
export function toWire(n: number): number {
  return (((n >>> 24) & 255) | (((n >>> 16) & 255) << 8) | (((n >>> 8) & 255) << 16) | ((n & 255) << 24)) | 0;
}
/** Inverse of toWire: dotted quad. */
export function wireToString(w: number): string {
  return `${w & 255}.${(w >>> 8) & 255}.${(w >>> 16) & 255}.${(w >>> 24) & 255}`;
}
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** The interfaces as indexed in the image: the model's, then `lo` unless listed. */
export function hostInterfaces(h: HostModel): HostInterface[] {
  const ifs = h.interfaces.map((i) => ({ ...i, addresses: [...i.addresses] }));
  let lo = ifs.find((i) => i.name === 'lo');
  if (!lo) { lo = { name: 'lo', addresses: [], mtu: 65536 }; ifs.push(lo); }
  if (!lo.addresses.some((a) => a.startsWith('127.'))) lo.addresses.unshift('127.0.0.1/8');
  return ifs;
}

/** Effective sysctl value: the model's, else the default. */
export function sysctlValue(h: HostModel, name: string): number {
  const v = h.sysctl?.[name];
  if (v !== undefined) return v;
  if (name === 'net.nf_conntrack_max') return sysctlValue(h, 'net.netfilter.nf_conntrack_max');
  if (name === 'net.netfilter.nf_conntrack_max' && h.sysctl?.['net.nf_conntrack_max'] !== undefined) return h.sysctl['net.nf_conntrack_max'];
  if (name === 'net.ipv4.ip_forward' && h.sysctl?.['net.ipv4.conf.all.forwarding'] !== undefined) return h.sysctl['net.ipv4.conf.all.forwarding'];
  const m = /^net\.ipv4\.conf\.([^.]+)\.(.+)$/.exec(name);
  if (m && m[1] !== 'all' && m[1] !== 'default') return sysctlValue(h, `net.ipv4.conf.default.${m[2]}`);
  return SYSCTL_DEFAULTS[name] ?? 0;
}

export function lowerHost(h: HostModel): { host: number[]; sysctl: number[] } {
  const ifs = hostInterfaces(h);
  const index = new Map(ifs.map((i, k) => [i.name, k]));
  const ifWords: number[] = [];
  const adWords: number[] = [];
  type Rt = { dst: number; len: number; gw: number; dev: number; type: number };
  const connected: Rt[] = [];
  const subnets: { net: number; mask: number; dev: number }[] = [];
  const allLocalnet = sysctlValue(h, 'net.ipv4.conf.all.route_localnet');
  const allRp = sysctlValue(h, 'net.ipv4.conf.all.rp_filter');
  const allRedirects = sysctlValue(h, 'net.ipv4.conf.all.send_redirects');
  const allShared = sysctlValue(h, 'net.ipv4.conf.all.shared_media');
  ifs.forEach((itf, k) => {
    const w = new Array<number>(IF_SIZE).fill(0);
    const name = Buffer.from(itf.name, 'latin1');
    for (let b = 0; b < Math.min(name.length, 15); b++) w[IF_NAME0 + (b >> 2)] |= name[b] << ((b & 3) * 8);
    w[IF_MTU] = itf.mtu ?? (itf.name === 'lo' ? 65536 : 1500);
    w[IF_FLAGS] = IFF_UP | (itf.name === 'lo' ? IFF_LOOPBACK : 0);
    // IN_DEV_TX_REDIRECTS / IN_DEV_SHARED_MEDIA: IN_DEV_ORCONF, conf.all || conf.<dev>
    if (allRedirects || sysctlValue(h, `net.ipv4.conf.${itf.name}.send_redirects`)) w[IF_FLAGS] |= IFX_SEND_REDIRECTS;
    if (allShared || sysctlValue(h, `net.ipv4.conf.${itf.name}.shared_media`)) w[IF_FLAGS] |= IFX_SHARED_MEDIA;
    w[IF_ROUTE_LOCALNET] = allLocalnet || sysctlValue(h, `net.ipv4.conf.${itf.name}.route_localnet`) ? 1 : 0;
    w[IF_RP_FILTER] = Math.max(allRp, sysctlValue(h, `net.ipv4.conf.${itf.name}.rp_filter`));
    ifWords.push(...w.map((x) => x | 0));
    const seen: { net: number; len: number }[] = [];
    for (const a of itf.addresses) {
      const c = parseCidr(a)!;
      const mask = prefixMask(c.len);
      const net = (c.addr & mask) >>> 0;
      const bcast = c.len < 31 ? (net | ~mask) >>> 0 : 0;
      adWords.push(toWire(c.addr), toWire(mask), bcast ? toWire(bcast) : 0, k);
      const secondary = seen.some((s) => s.net === net && s.len === c.len);
      seen.push({ net, len: c.len });
      // a primary address adds its prefix route (lo's goes to the local table instead)
      if (!secondary && itf.name !== 'lo' && (c.len < 32)) {
        connected.push({ dst: net, len: c.len, gw: 0, dev: k, type: RTN_UNICAST });
      }
      subnets.push({ net, mask, dev: k });
    }
  });
  const explicit: Rt[] = [];
  for (const r of h.routes ?? []) {
    const c = r.dst === 'default' ? { addr: 0, len: 0 } : parseCidr(r.dst)!;
    const mask = prefixMask(c.len);
    const t = r.type ?? 'unicast';
    const type = t === 'blackhole' ? RTN_BLACKHOLE : t === 'unreachable' ? RTN_UNREACHABLE : t === 'prohibit' ? RTN_PROHIBIT : RTN_UNICAST;
    const gw = r.via ? parseIPv4(r.via)! : 0;
    let dev = r.dev !== undefined ? index.get(r.dev)! : -1;
    if (dev === -1 && gw) {
      const s = subnets.find((x) => ((gw & x.mask) >>> 0) === x.net && ifs[x.dev].name !== 'lo');
      if (s) dev = s.dev;
    }
    if (type === RTN_UNICAST && dev === -1) throw new Error(`host: no interface reaches gateway ${r.via} of route ${r.dst}`);
    explicit.push({ dst: (c.addr & mask) >>> 0, len: c.len, gw, dev, type });
  }
  // longest prefix first; at equal length connected routes before explicit ones, else file order
  const routes = [...connected, ...explicit].map((r, i) => ({ r, i })).sort((a, b) => b.r.len - a.r.len || a.i - b.i).map((x) => x.r);
  const rtWords: number[] = [];
  for (const r of routes) {
    const w = new Array<number>(RT_SIZE).fill(0);
    w[RT_DST] = toWire(r.dst); w[RT_MASK] = toWire(prefixMask(r.len)); w[RT_GW] = r.gw ? toWire(r.gw) : 0;
    w[RT_IF] = r.dev; w[RT_TYPE] = r.type;
    rtWords.push(...w);
  }
  const head = new Array<number>(HOST_SIZE).fill(0);
  head[HOST_NIFS] = ifs.length;
  head[HOST_IFS] = HOST_SIZE;
  head[HOST_NADDRS] = adWords.length / AD_SIZE;
  head[HOST_ADDRS] = HOST_SIZE + ifWords.length;
  head[HOST_NROUTES] = routes.length;
  head[HOST_ROUTES] = HOST_SIZE + ifWords.length + adWords.length;
  head[HOST_INGRESS] = index.get(h.ingress) ?? 0;
  const macWords: number[] = [];
  if (ifs.some((i) => i.mac)) {
    head[HOST_MACS] = HOST_SIZE + ifWords.length + adWords.length + rtWords.length;
    for (const i of ifs) {
      const b = i.mac ? i.mac.split(/[:-]/).map((x) => parseInt(x, 16)) : [0, 0, 0, 0, 0, 0];
      macWords.push(b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24), b[4] | (b[5] << 8));
    }
  }
  const host = [...head, ...ifWords, ...adWords, ...rtWords, ...macWords];

  const sys = new Array<number>(SYS_SIZE_CT).fill(0);
  const n = 'net.netfilter.nf_conntrack_';
  sys[SYS_IP_FORWARD] = sysctlValue(h, 'net.ipv4.ip_forward');
  sys[SYS_CT_CHECKSUM] = sysctlValue(h, n + 'checksum');
  sys[SYS_TCP_LOOSE] = sysctlValue(h, n + 'tcp_loose');
  sys[SYS_TCP_BE_LIBERAL] = sysctlValue(h, n + 'tcp_be_liberal');
  sys[SYS_CT_MAX] = sysctlValue(h, 'net.netfilter.nf_conntrack_max');
  sys[SYS_TCP_MAX_RETRANS] = sysctlValue(h, n + 'tcp_max_retrans');
  sys[SYS_UDP_TIMEOUT] = sysctlValue(h, n + 'udp_timeout');
  sys[SYS_UDP_TIMEOUT_STREAM] = sysctlValue(h, n + 'udp_timeout_stream');
  sys[SYS_ICMP_TIMEOUT] = sysctlValue(h, n + 'icmp_timeout');
  sys[SYS_GENERIC_TIMEOUT] = sysctlValue(h, n + 'generic_timeout');
  sys[SYS_TCP_TIMEOUT_SYN_SENT] = sysctlValue(h, n + 'tcp_timeout_syn_sent');
  sys[SYS_TCP_TIMEOUT_SYN_RECV] = sysctlValue(h, n + 'tcp_timeout_syn_recv');
  sys[SYS_TCP_TIMEOUT_ESTABLISHED] = sysctlValue(h, n + 'tcp_timeout_established');
  sys[SYS_TCP_TIMEOUT_FIN_WAIT] = sysctlValue(h, n + 'tcp_timeout_fin_wait');
  sys[SYS_TCP_TIMEOUT_CLOSE_WAIT] = sysctlValue(h, n + 'tcp_timeout_close_wait');
  sys[SYS_TCP_TIMEOUT_LAST_ACK] = sysctlValue(h, n + 'tcp_timeout_last_ack');
  sys[SYS_TCP_TIMEOUT_TIME_WAIT] = sysctlValue(h, n + 'tcp_timeout_time_wait');
  sys[SYS_TCP_TIMEOUT_CLOSE] = sysctlValue(h, n + 'tcp_timeout_close');
  sys[SYS_TCP_TIMEOUT_MAX_RETRANS] = sysctlValue(h, n + 'tcp_timeout_max_retrans');
  sys[SYS_TCP_TIMEOUT_UNACK] = sysctlValue(h, n + 'tcp_timeout_unacknowledged');
  sys[SYS_TCP_IGNORE_INVALID_RST] = sysctlValue(h, n + 'tcp_ignore_invalid_rst');
  sys[SYS_GRE_TIMEOUT] = sysctlValue(h, n + 'gre_timeout');
  sys[SYS_GRE_TIMEOUT_STREAM] = sysctlValue(h, n + 'gre_timeout_stream');
  ['closed', 'cookie_wait', 'cookie_echoed', 'established', 'shutdown_sent', 'shutdown_recd', 'shutdown_ack_sent', 'heartbeat_sent']
    .forEach((st, i) => { sys[SYS_SCTP_TIMEOUT0 + i] = sysctlValue(h, `${n}sctp_timeout_${st}`); });
  sys[SYS_ICMP_MSGS_PER_SEC] = sysctlValue(h, 'net.ipv4.icmp_msgs_per_sec');
  sys[SYS_ICMP_MSGS_BURST] = sysctlValue(h, 'net.ipv4.icmp_msgs_burst');
  sys[SYS_ICMP_RATELIMIT] = sysctlValue(h, 'net.ipv4.icmp_ratelimit');
  sys[SYS_ICMP_RATEMASK] = sysctlValue(h, 'net.ipv4.icmp_ratemask');
  return { host: host.map((x) => x | 0), sysctl: sys.map((x) => x | 0) };
}
