// A small stand-in for the CONNTRACK engineer's src/host (HostModel, lowerHost, defaultHost) used
// by the compiler until that lands. Same section layout (HOST_*, IF_*, AD_*, RT_*, SYS_* in
// src/layout.ts): interface index = position in `interfaces`, `lo` 127.0.0.1/8 appended when
// absent, routes longest prefix first (connected routes implied by the addresses).
import {
  HOST_NIFS, HOST_IFS, HOST_NADDRS, HOST_ADDRS, HOST_NROUTES, HOST_ROUTES, HOST_INGRESS, HOST_SIZE,
  IF_SIZE, IF_MTU, IF_FLAGS, AD_SIZE, AD_ADDR, AD_MASK, AD_BCAST, AD_IF, RT_SIZE, RT_DST, RT_MASK,
  RT_GW, RT_IF, RT_TYPE, SYS_SIZE, SYS_IP_FORWARD, SYS_CT_CHECKSUM, SYS_TCP_LOOSE, SYS_CT_MAX,
  SYS_TCP_MAX_RETRANS, SYS_UDP_TIMEOUT, SYS_UDP_TIMEOUT_STREAM, SYS_ICMP_TIMEOUT, SYS_GENERIC_TIMEOUT,
  SYS_TCP_TIMEOUT_SYN_SENT, SYS_TCP_TIMEOUT_SYN_RECV, SYS_TCP_TIMEOUT_ESTABLISHED, SYS_TCP_TIMEOUT_FIN_WAIT,
  SYS_TCP_TIMEOUT_CLOSE_WAIT, SYS_TCP_TIMEOUT_LAST_ACK, SYS_TCP_TIMEOUT_TIME_WAIT, SYS_TCP_TIMEOUT_CLOSE,
  SYS_TCP_TIMEOUT_MAX_RETRANS, SYS_TCP_TIMEOUT_UNACK, IF_ROUTE_LOCALNET,
} from '../layout.js';

export interface HostLite {
  interfaces: { name: string; addresses: string[]; mtu?: number }[];
  routes: { dst: string; via?: string; dev: string }[];
  ingress: string;
  sysctl?: Record<string, number>;
}

export function defaultHostLite(): HostLite {
  return {
    interfaces: [
      { name: 'eth0', addresses: ['192.0.2.1/24'] },
      { name: 'eth1', addresses: ['198.51.100.1/24'] },
    ],
    routes: [{ dst: 'default', via: '198.51.100.254', dev: 'eth1' }],
    ingress: 'eth0',
  };
}

function ip4(s: string): number {
  const p = s.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 address '${s}'`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}
/** host-order u32 -> P_SADDR encoding (wire bytes loaded little-endian) */
export function wire(a: number): number {
  return (((a & 0xff) << 24) | ((a >>> 8 & 0xff) << 16) | ((a >>> 16 & 0xff) << 8) | (a >>> 24)) >>> 0;
}
function maskOf(plen: number): number {
  return plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
}

export function lowerHostLite(h: HostLite): { host: number[]; sysctl: number[]; names: string[] } {
  const ifs = h.interfaces.slice();
  if (!ifs.some((i) => i.name === 'lo')) ifs.push({ name: 'lo', addresses: ['127.0.0.1/8'] });
  const idx = (n: string) => {
    const i = ifs.findIndex((x) => x.name === n);
    if (i < 0) throw new Error(`unknown interface '${n}'`);
    return i;
  };
  const sys = h.sysctl ?? {};
  const addrs: number[][] = [];
  const routes: { dst: number; plen: number; gw: number; dev: number; type: number }[] = [];
  ifs.forEach((itf, i) => {
    for (const a of itf.addresses) {
      const [ip, pl] = a.split('/');
      const plen = pl === undefined ? 32 : Number(pl);
      const addr = ip4(ip), m = maskOf(plen);
      const bcast = plen >= 31 ? 0 : ((addr & m) | (~m >>> 0)) >>> 0;
      addrs.push([wire(addr), wire(m), wire(bcast), i]);
      if (itf.name !== 'lo') routes.push({ dst: (addr & m) >>> 0, plen, gw: 0, dev: i, type: 1 });
    }
  });
  for (const r of h.routes) {
    const [d, pl] = r.dst === 'default' ? ['0.0.0.0', '0'] : r.dst.split('/');
    const plen = pl === undefined ? 32 : Number(pl);
    routes.push({ dst: (ip4(d) & maskOf(plen)) >>> 0, plen, gw: r.via ? ip4(r.via) : 0, dev: idx(r.dev), type: 1 });
  }
  routes.sort((a, b) => b.plen - a.plen);
  const w: number[] = new Array(HOST_SIZE).fill(0);
  w[HOST_NIFS] = ifs.length;
  w[HOST_IFS] = w.length;
  for (const itf of ifs) {
    const rec = new Array(IF_SIZE).fill(0);
    const nb = Buffer.alloc(16);
    nb.write(itf.name.slice(0, 15), 'latin1');
    for (let k = 0; k < 4; k++) rec[k] = nb.readInt32LE(k * 4);
    rec[IF_MTU] = itf.mtu ?? (itf.name === 'lo' ? 65536 : 1500);
    rec[IF_FLAGS] = itf.name === 'lo' ? 8 : 0;
    rec[IF_ROUTE_LOCALNET] = (sys['net.ipv4.conf.all.route_localnet'] ?? 0) || (sys[`net.ipv4.conf.${itf.name}.route_localnet`] ?? 0) ? 1 : 0;
    w.push(...rec);
  }
  w[HOST_NADDRS] = addrs.length;
  w[HOST_ADDRS] = w.length;
  for (const a of addrs) {
    const rec = new Array(AD_SIZE).fill(0);
    rec[AD_ADDR] = a[0] | 0; rec[AD_MASK] = a[1] | 0; rec[AD_BCAST] = a[2] | 0; rec[AD_IF] = a[3];
    w.push(...rec);
  }
  w[HOST_NROUTES] = routes.length;
  w[HOST_ROUTES] = w.length;
  for (const r of routes) {
    const rec = new Array(RT_SIZE).fill(0);
    rec[RT_DST] = wire(r.dst) | 0; rec[RT_MASK] = wire(maskOf(r.plen)) | 0; rec[RT_GW] = wire(r.gw) | 0;
    rec[RT_IF] = r.dev; rec[RT_TYPE] = r.type;
    w.push(...rec);
  }
  w[HOST_INGRESS] = idx(h.ingress);
  const s = new Array(SYS_SIZE).fill(0);
  s[SYS_IP_FORWARD] = sys['net.ipv4.ip_forward'] ?? 1;
  s[SYS_CT_CHECKSUM] = sys['net.netfilter.nf_conntrack_checksum'] ?? 1;
  s[SYS_TCP_LOOSE] = sys['net.netfilter.nf_conntrack_tcp_loose'] ?? 1;
  s[SYS_CT_MAX] = sys['net.netfilter.nf_conntrack_max'] ?? 262144;
  s[SYS_TCP_MAX_RETRANS] = 3;
  s[SYS_UDP_TIMEOUT] = 30; s[SYS_UDP_TIMEOUT_STREAM] = 120; s[SYS_ICMP_TIMEOUT] = 30; s[SYS_GENERIC_TIMEOUT] = 600;
  s[SYS_TCP_TIMEOUT_SYN_SENT] = 120; s[SYS_TCP_TIMEOUT_SYN_RECV] = 60; s[SYS_TCP_TIMEOUT_ESTABLISHED] = 432000;
  s[SYS_TCP_TIMEOUT_FIN_WAIT] = 120; s[SYS_TCP_TIMEOUT_CLOSE_WAIT] = 60; s[SYS_TCP_TIMEOUT_LAST_ACK] = 30;
  s[SYS_TCP_TIMEOUT_TIME_WAIT] = 120; s[SYS_TCP_TIMEOUT_CLOSE] = 10; s[SYS_TCP_TIMEOUT_MAX_RETRANS] = 300;
  s[SYS_TCP_TIMEOUT_UNACK] = 300;
  return { host: w, sysctl: s, names: ifs.map((i) => i.name) };
}
