import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as L from '../../src/layout.js';
import { defaultHost, lowerHost, loadHostFile, loadIpJson, HostError, type HostModel } from '../../src/host/index.js';
import { makeCore, put, P, w } from './harness.js';

const RTN_UNICAST = 1, RTN_LOCAL = 2, RTN_BROADCAST = 3, RTN_MULTICAST = 5;

function route(c: ReturnType<typeof makeCore>, src: string, dst: string, ifindex = 0, dstMac?: string): number {
  expect(put(c, { proto: 'udp', src, dst, dstMac }, { ifindex })).toBe(L.RES_NONE);
  return c.x.routeInput();
}

describe('lowerHost', () => {
  it('default host: eth0, eth1, lo; connected + default routes, longest prefix first; sysctl defaults', () => {
    const { host, sysctl } = lowerHost(defaultHost());
    expect(host[L.HOST_NIFS]).toBe(3);
    expect(host[L.HOST_NADDRS]).toBe(3);
    expect(host[L.HOST_INGRESS]).toBe(0);
    const ifs = host[L.HOST_IFS];
    // name "eth0" packed little-endian: 'e' 't' 'h' '0'
    expect(host[ifs + L.IF_NAME0]).toBe(0x30687465);
    expect(host[ifs + 2 * L.IF_SIZE + L.IF_FLAGS] & 8).toBe(8); // lo
    const ad = host[L.HOST_ADDRS];
    expect(host[ad + L.AD_ADDR] >>> 0).toBe(w('192.0.2.1'));
    expect(host[ad + L.AD_MASK] >>> 0).toBe(w('255.255.255.0'));
    expect(host[ad + L.AD_BCAST] >>> 0).toBe(w('192.0.2.255'));
    const rt = host[L.HOST_ROUTES];
    expect(host[L.HOST_NROUTES]).toBe(3); // 192.0.2.0/24, 198.51.100.0/24, default
    expect(host[rt + 2 * L.RT_SIZE + L.RT_MASK]).toBe(0);
    expect(host[rt + 2 * L.RT_SIZE + L.RT_GW] >>> 0).toBe(w('198.51.100.254'));
    expect(host[rt + 2 * L.RT_SIZE + L.RT_IF]).toBe(1);
    expect(sysctl[L.SYS_IP_FORWARD]).toBe(1);
    expect(sysctl[L.SYS_CT_CHECKSUM]).toBe(1);
    expect(sysctl[L.SYS_TCP_LOOSE]).toBe(1);
    expect(sysctl[L.SYS_TCP_BE_LIBERAL]).toBe(0);
    expect(sysctl[L.SYS_CT_MAX]).toBe(262144);
    expect(sysctl[L.SYS_TCP_TIMEOUT_ESTABLISHED]).toBe(432000);
  });
});

describe('loaders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nfreplay-host-'));
  it('host file: DESIGN.md shape, sysctl names', () => {
    const p = join(dir, 'h.json');
    writeFileSync(p, JSON.stringify({
      interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'], mtu: 9000 }],
      routes: [{ dst: 'default', via: '192.0.2.254', dev: 'eth0' }], ingress: 'eth0',
      sysctl: { 'net.ipv4.conf.all.route_localnet': 1, 'net.ipv4.conf.eth0.rp_filter': 2 },
    }, null, 1));
    const h = loadHostFile(p);
    const { host } = lowerHost(h);
    const ifs = host[L.HOST_IFS];
    expect(host[ifs + L.IF_MTU]).toBe(9000);
    expect(host[ifs + L.IF_ROUTE_LOCALNET]).toBe(1);
    expect(host[ifs + L.IF_RP_FILTER]).toBe(2);
  });
  it('sysctls without effect on a replay are accepted; SCTP/GRE timeouts are lowered', () => {
    const p = join(dir, 'noeff.json');
    writeFileSync(p, JSON.stringify({ interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24'] }], ingress: 'eth0',
      sysctl: { 'net.netfilter.nf_conntrack_acct': 1, 'net.netfilter.nf_conntrack_gre_timeout': 45, 'net.netfilter.nf_conntrack_sctp_timeout_established': 7 } }));
    const { sysctl } = lowerHost(loadHostFile(p));
    expect(sysctl[L.SYS_GRE_TIMEOUT]).toBe(45);
    expect(sysctl[L.SYS_GRE_TIMEOUT_STREAM]).toBe(180);
    expect(sysctl[L.SYS_SCTP_TIMEOUT0 + 3]).toBe(7);   // ESTABLISHED = state 4
    expect(sysctl[L.SYS_SCTP_TIMEOUT0]).toBe(10);      // CLOSED
  });
  it('unknown sysctl: file:line:column naming it', () => {
    const p = join(dir, 'bad.json');
    writeFileSync(p, '{\n  "interfaces": [{"name": "eth0", "addresses": ["192.0.2.1/24"]}],\n  "ingress": "eth0",\n  "sysctl": {"net.ipv4.bogus": 1}\n}\n');
    expect(() => loadHostFile(p)).toThrow(HostError);
    try { loadHostFile(p); } catch (e) {
      expect((e as Error).message).toBe(`${p}:4:14: host: unknown sysctl 'net.ipv4.bogus'`);
    }
  });
  it('bad JSON and bad addresses are reported, not thrown raw', () => {
    const p = join(dir, 'bad2.json');
    writeFileSync(p, '{"interfaces": [{"name": "eth0", "addresses": ["192.0.2.300/24"]}], "ingress": "eth0"}');
    expect(() => loadHostFile(p)).toThrow(/:1:\d+: host: bad address '192.0.2.300\/24' on 'eth0'/);
    writeFileSync(p, '{"interfaces": [');
    expect(() => loadHostFile(p)).toThrow(HostError);
  });
  it('ip -j addr / ip -j route', () => {
    const a = join(dir, 'a.json'), r = join(dir, 'r.json');
    writeFileSync(a, JSON.stringify([
      { ifindex: 1, ifname: 'lo', mtu: 65536, addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }, { family: 'inet6', local: '::1', prefixlen: 128 }] },
      { ifindex: 2, ifname: 'ens3', mtu: 1500, link_type: 'ether', address: '52:54:00:12:34:56', addr_info: [{ family: 'inet', local: '198.51.100.10', prefixlen: 24 }] },
      { ifindex: 3, ifname: 'cni0', mtu: 1450, addr_info: [{ family: 'inet', local: '198.18.0.1', prefixlen: 24 }] },
    ]));
    writeFileSync(r, JSON.stringify([
      { dst: 'default', gateway: '198.51.100.1', dev: 'ens3', protocol: 'dhcp', flags: [] },
      { dst: '198.51.100.0/24', dev: 'ens3', protocol: 'kernel', scope: 'link', prefsrc: '198.51.100.10', flags: [] },
      { dst: '198.18.0.0/24', dev: 'cni0', protocol: 'kernel', scope: 'link', prefsrc: '198.18.0.1', flags: [] },
      { type: 'blackhole', dst: '203.0.113.0/24', flags: [] },
    ]));
    const h = loadIpJson(a, r, 'ens3');
    expect(h.interfaces.map((i) => i.name)).toEqual(['lo', 'ens3', 'cni0']);
    expect(h.interfaces.map((i) => i.mac)).toEqual([undefined, '52:54:00:12:34:56', undefined]);
    const c = makeCore({ host: h });
    // ens3's MAC is known: a frame for another station is dropped in ip_rcv
    expect(put(c, { proto: 'udp', src: '203.0.113.5', dst: '198.18.0.7' }, { ifindex: 1 })).toBe(L.RES_DROP_OTHERHOST);
    expect(route(c, '203.0.113.5', '198.18.0.7', 1, '52:54:00:12:34:56')).toBe(L.HOOK_FORWARD);
    expect(P.u8(c, L.P_OIF)).toBe(2);
    expect(route(c, '198.18.0.7', '203.0.113.5', 2)).toBe(-L.RES_DROP_NOROUTE); // blackhole
    expect(route(c, '198.18.0.7', '192.0.2.9', 2)).toBe(L.HOOK_FORWARD);
    expect(P.u8(c, L.P_OIF)).toBe(1);
  });
});

describe('routing decision (default host)', () => {
  it('local vs forward, martians, broadcast, no route', () => {
    const c = makeCore();
    expect(route(c, '192.0.2.50', '192.0.2.1')).toBe(L.HOOK_INPUT);
    expect(route(c, '192.0.2.50', '198.51.100.1')).toBe(L.HOOK_INPUT); // any local address
    expect(route(c, '192.0.2.50', '203.0.113.9')).toBe(L.HOOK_FORWARD);
    expect(P.u8(c, L.P_OIF)).toBe(1);
    expect(c.x.routeNexthop() >>> 0).toBe(w('198.51.100.254'));
    expect(route(c, '192.0.2.50', '198.51.100.7')).toBe(L.HOOK_FORWARD); // on-link
    expect(c.x.routeNexthop() >>> 0).toBe(w('198.51.100.7'));
    expect(route(c, '192.0.2.50', '192.0.2.255')).toBe(L.HOOK_INPUT);    // subnet broadcast
    expect(route(c, '192.0.2.50', '255.255.255.255')).toBe(L.HOOK_INPUT);
    expect(route(c, '192.0.2.1', '203.0.113.9')).toBe(-L.RES_DROP_MARTIAN); // our own source
    expect(route(c, '224.0.0.9', '192.0.2.1')).toBe(-L.RES_DROP_MARTIAN);
    expect(route(c, '0.0.0.5', '192.0.2.1')).toBe(-L.RES_DROP_MARTIAN);
    expect(route(c, '192.0.2.50', '127.0.0.1')).toBe(-L.RES_DROP_MARTIAN); // no route_localnet
    expect(route(c, '127.0.0.1', '192.0.2.1')).toBe(-L.RES_DROP_MARTIAN);
    expect(route(c, '192.0.2.50', '224.0.0.1')).toBe(L.HOOK_INPUT);
  });
  it('ip_forward 0, no default route, rp_filter strict and loose', () => {
    const noFwd = makeCore({ host: { ...defaultHost(), sysctl: { 'net.ipv4.ip_forward': 0 } } });
    expect(route(noFwd, '192.0.2.50', '203.0.113.9')).toBe(-L.RES_DROP_NOROUTE);
    expect(route(noFwd, '192.0.2.50', '192.0.2.1')).toBe(L.HOOK_INPUT);
    const noDef = makeCore({ host: { ...defaultHost(), routes: [] } });
    expect(route(noDef, '192.0.2.50', '203.0.113.9')).toBe(-L.RES_DROP_NOROUTE);
    const strict: HostModel = { ...defaultHost(), sysctl: { 'net.ipv4.conf.all.rp_filter': 1 } };
    const s = makeCore({ host: strict });
    // 203.0.113.9 is reached via eth1 (default route): arriving on eth0 fails the strict check
    expect(route(s, '203.0.113.9', '198.51.100.7', 0)).toBe(-L.RES_DROP_MARTIAN);
    expect(route(s, '203.0.113.9', '192.0.2.50', 1)).toBe(L.HOOK_FORWARD);
    const loose = makeCore({ host: { ...defaultHost(), sysctl: { 'net.ipv4.conf.all.rp_filter': 2 } } });
    expect(route(loose, '203.0.113.9', '198.51.100.7', 0)).toBe(L.HOOK_FORWARD);
    const looseNoDef = makeCore({ host: { ...defaultHost(), routes: [], sysctl: { 'net.ipv4.conf.all.rp_filter': 2 } } });
    expect(route(looseNoDef, '203.0.113.9', '192.0.2.50', 1)).toBe(-L.RES_DROP_MARTIAN);
  });
});

describe('addrType and ifAddr', () => {
  it('xt_addrtype classes, with and without a device limit', () => {
    const c = makeCore();
    const t = (a: string, dev = -1) => c.x.addrType(w(a), dev);
    expect(t('192.0.2.1')).toBe(RTN_LOCAL);
    expect(t('198.51.100.1')).toBe(RTN_LOCAL);
    expect(t('127.0.0.1')).toBe(RTN_LOCAL);
    expect(t('127.1.2.3')).toBe(RTN_LOCAL);     // lo's 127.0.0.0/8 is a local route
    expect(t('192.0.2.255')).toBe(RTN_BROADCAST);
    expect(t('255.255.255.255')).toBe(RTN_BROADCAST);
    expect(t('0.0.0.0')).toBe(RTN_BROADCAST);
    expect(t('239.1.1.1')).toBe(RTN_MULTICAST);
    expect(t('203.0.113.9')).toBe(RTN_UNICAST);
    // --limit-iface-in eth1: eth0's address reads UNICAST there
    expect(t('192.0.2.1', 1)).toBe(RTN_UNICAST);
    expect(t('192.0.2.1', 0)).toBe(RTN_LOCAL);
  });
  it('inet_select_addr: the primary address, preferring the next hop\'s subnet', () => {
    const h: HostModel = {
      interfaces: [{ name: 'eth0', addresses: ['192.0.2.1/24', '192.0.2.2/24', '203.0.113.1/24'] }, { name: 'eth1', addresses: [] }],
      routes: [], ingress: 'eth0', sysctl: {},
    };
    const c = makeCore({ host: h });
    expect(c.x.ifAddr(0, w('203.0.113.77')) >>> 0).toBe(w('203.0.113.1'));
    expect(c.x.ifAddr(0, w('198.18.0.1')) >>> 0).toBe(w('192.0.2.1'));   // first primary
    expect(c.x.ifAddr(0, w('192.0.2.99')) >>> 0).toBe(w('192.0.2.1'));   // 192.0.2.2 is secondary
    expect(c.x.ifAddr(1, 0) >>> 0).toBe(w('192.0.2.1'));                 // no address: another device's
    expect(c.x.ifFirstAddr(0) >>> 0).toBe(w('192.0.2.1'));
  });
});
