// Host model: interfaces, addresses, routes and sysctls from the image (HOST_*/IF_*/AD_*/RT_*/SYS_*
// sections written by src/host/lower.ts). Used for the routing decision (INPUT vs FORWARD, martian
// drops), addrtype, MASQUERADE and REDIRECT.
import {
  H_HOST, H_SYSCTL, HOST_NIFS, HOST_IFS, HOST_NADDRS, HOST_ADDRS, HOST_NROUTES, HOST_ROUTES,
  IF_SIZE, IF_FLAGS, IF_MTU, IF_ROUTE_LOCALNET, IF_RP_FILTER, AD_ADDR, AD_MASK, AD_BCAST, AD_IF, AD_SIZE,
  RT_DST, RT_MASK, RT_GW, RT_IF, RT_TYPE, RT_SIZE, SYS_IP_FORWARD,
  P_SADDR, P_DADDR, P_IIF, P_OIF, IF_NONE, HOOK_INPUT, HOOK_FORWARD,
  RES_DROP_MARTIAN, RES_DROP_NOROUTE, IFX_SEND_REDIRECTS, IFX_SHARED_MEDIA,
} from '../src/layout';
import { PKT, IMG, imgw } from './state';

// Route types (RTN_*), as xt_addrtype numbers them
export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_ANYCAST = 4;
export const RTN_MULTICAST = 5;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;
export const IFF_LOOPBACK = 8;

/** Next hop of the last routeInput() that chose FORWARD (gateway, or the destination when on-link). */
let lastNexthop: u32 = 0;

/** IPSKB_DOREDIRECT of the last forwarding decision (routeInput, or hooks.ts routeCt's memo). */
let lastRedirect: bool = false;
/** ip_forward sends a redirect for the packet just routed (IPSKB_DOREDIRECT). */
// @ts-ignore: decorator
@inline export function routeRedirect(): bool { return lastRedirect; }
// @ts-ignore: decorator
@inline export function setRouteRedirect(v: bool): void { lastRedirect = v; }
/** Bit 7 of the out-device byte the route caches keep (devices are < 32): IPSKB_DOREDIRECT. */
export const OIF_REDIRECT: u32 = 0x80;

// Host section pointers, recomputed when the image address changes (setImage). Images are never
// rewritten in place (reserve() only bumps), so the address identifies the image.
let cImg: usize = 0;
let cIfs: usize = 0;     // address of interface 0
let cAds: usize = 0;     // address of address 0
let cRts: usize = 0;     // address of route 0
let cNifs: i32 = 0;
let cNads: i32 = 0;
let cNrts: i32 = 0;
let cSys: usize = 0;

function refresh(): void {
  cImg = IMG;
  const h = IMG == 0 ? 0 : imgw(H_HOST);
  cSys = IMG + (<usize>imgw(H_SYSCTL) << 2);
  if (h == 0) { cNifs = 0; cNads = 0; cNrts = 0; return; }
  const base = IMG + (<usize>h << 2);
  cNifs = imgw(h + HOST_NIFS);
  cNads = imgw(h + HOST_NADDRS);
  cNrts = imgw(h + HOST_NROUTES);
  cIfs = base + (<usize>imgw(h + HOST_IFS) << 2);
  cAds = base + (<usize>imgw(h + HOST_ADDRS) << 2);
  cRts = base + (<usize>imgw(h + HOST_ROUTES) << 2);
}
// @ts-ignore: decorator
@inline function ready(): void { if (cImg != IMG) refresh(); }

// @ts-ignore: decorator
@inline export function sysctl(idx: i32): i32 { ready(); return load<i32>(cSys + (<usize>idx << 2)); }

// @ts-ignore: decorator
@inline export function nIfs(): i32 { ready(); return cNifs; }
// @ts-ignore: decorator
@inline export function ifWord(dev: i32, field: i32): i32 {
  ready();
  return load<i32>(cIfs + (<usize>(dev * IF_SIZE + field) << 2));
}
// @ts-ignore: decorator
@inline function nAddrs(): i32 { ready(); return cNads; }
// @ts-ignore: decorator
@inline function adWord(i: i32, field: i32): u32 {
  return load<u32>(cAds + (<usize>(i * AD_SIZE + field) << 2));
}
// @ts-ignore: decorator
@inline function nRoutes(): i32 { ready(); return cNrts; }
// @ts-ignore: decorator
@inline function rtWord(i: i32, field: i32): u32 {
  return load<u32>(cRts + (<usize>(i * RT_SIZE + field) << 2));
}

// Address classes (addr in P_SADDR encoding: first wire byte is the low byte)
// @ts-ignore: decorator
@inline export function isMulticast(a: u32): bool { return (a & 0xf0) == 0xe0; }
// @ts-ignore: decorator
@inline export function isLbcast(a: u32): bool { return a == 0xffffffff; }
// @ts-ignore: decorator
@inline export function isZeronet(a: u32): bool { return (a & 0xff) == 0; }
// @ts-ignore: decorator
@inline export function isLoopback(a: u32): bool { return (a & 0xff) == 127; }

export function isLoopbackDev(dev: i32): bool {
  return dev >= 0 && dev < nIfs() && (ifWord(dev, IF_FLAGS) & IFF_LOOPBACK) != 0;
}

/** The device's MTU (IF_MTU), 65535 when unknown. */
export function ifMtu(dev: i32): i32 {
  if (dev < 0 || dev >= nIfs()) return 65535;
  const m = ifWord(dev, IF_MTU);
  return m > 0 ? m : 65535;
}

/** Lookup in the kernel's *local* table (host addresses, subnet broadcasts, loopback prefixes):
 *  RTN_LOCAL / RTN_BROADCAST, or RTN_UNSPEC when nothing there matches. Sets `localDev`. */
let localDev: i32 = -1;
function localLookup(addr: u32): i32 {
  const n = nAddrs();
  // one pass: a /32 host address wins, then a /32 broadcast, then a loopback device's prefix
  let bdev = -1;
  let ldev = -1;
  for (let i = 0; i < n; i++) {
    const a = adWord(i, AD_ADDR);
    if (a == addr) { localDev = <i32>adWord(i, AD_IF); return RTN_LOCAL; }
    const b = adWord(i, AD_BCAST);
    if (b == addr && b != 0) { if (bdev < 0) bdev = <i32>adWord(i, AD_IF); continue; }
    if (ldev < 0) {
      const m = adWord(i, AD_MASK);
      if ((addr & m) == (a & m)) {
        const dev = <i32>adWord(i, AD_IF);
        if (isLoopbackDev(dev)) ldev = dev;
      }
    }
  }
  if (bdev >= 0) { localDev = bdev; return RTN_BROADCAST; }
  if (ldev >= 0) { localDev = ldev; return RTN_LOCAL; }
  return RTN_UNSPEC;
}

/** xt_addrtype's inet_dev_addr_type: the route type of `addr`, the lookup restricted to `dev`
 *  (-1 = any device: inet_addr_type). */
export function addrType(addr: u32, dev: i32): i32 {
  if (addr == 0 || isLbcast(addr)) return RTN_BROADCAST;
  if (isMulticast(addr)) return RTN_MULTICAST;
  const t = localLookup(addr);
  if (t == RTN_UNSPEC) return RTN_UNICAST;
  if (dev >= 0 && dev != localDev) return RTN_UNICAST;
  return t;
}

/** True when `addr` is one of the host's interface addresses (inet_lookup_ifaddr). */
export function isLocalAddr(addr: u32): bool {
  const n = nAddrs();
  for (let i = 0; i < n; i++) if (adWord(i, AD_ADDR) == addr) return true;
  return false;
}

/** Main-table lookup: route index, or -1. Routes are stored longest prefix first. */
function mainLookup(addr: u32): i32 {
  const n = nRoutes();
  for (let i = 0; i < n; i++) {
    if ((addr & rtWord(i, RT_MASK)) == rtWord(i, RT_DST)) return i;
  }
  return -1;
}

/** The main-table route towards `addr` (for the host's own replies and errors): its RT_TYPE, or -1
 *  with none. */
export function mainRouteType(addr: u32): i32 {
  const r = mainLookup(addr);
  return r < 0 ? -1 : <i32>rtWord(r, RT_TYPE);
}

/** The main-table route's out device towards `addr`, IF_NONE with none. */
export function mainRouteDev(addr: u32): i32 {
  const r = mainLookup(addr);
  return r < 0 ? IF_NONE : <i32>rtWord(r, RT_IF);
}

/** fib_validate_source: 0 ok, else a RES_DROP_* code (martian). */
function validateSource(saddr: u32, iif: i32): i32 {
  const rpf = iif >= 0 && iif < nIfs() ? ifWord(iif, IF_RP_FILTER) : 0;
  if (rpf == 0) {
    // without rp_filter the kernel only rejects a source that is one of our own addresses
    return isLocalAddr(saddr) ? RES_DROP_MARTIAN : 0;
  }
  const lt = localLookup(saddr);
  if (lt != RTN_UNSPEC) return RES_DROP_MARTIAN;          // local or broadcast source
  const r = mainLookup(saddr);
  if (r < 0) return RES_DROP_MARTIAN;                     // last_resort with rp_filter: -EXDEV
  if (<i32>rtWord(r, RT_TYPE) != RTN_UNICAST) return RES_DROP_MARTIAN;
  if (<i32>rtWord(r, RT_IF) == iif) return 0;
  return rpf == 1 ? RES_DROP_MARTIAN : 0;                 // strict needs the reverse path via iif
}

// Route cache: routeSlow is a pure function of (saddr, daddr, iif) and the image (host model,
// sysctls), so its answers are kept in a direct-mapped table of 16-byte records [saddr, daddr,
// iif u8, valid u8, oif u8, result i8, nexthop], cleared when the image changes. A hit gives what
// routeSlow would: the result, P_OIF for a forward, the next hop.
const RC_N: u32 = 2048; // = 1 << 11: the hash is the top 11 bits of a product
const RC: usize = memory.data(<i32>RC_N * 16, 16);
let rcImg: usize = 0;

/** The routing decision for a packet received on P_IIF (ip_route_input_slow), after DNAT:
 *  HOOK_INPUT, HOOK_FORWARD (P_OIF set), or -RES_DROP_* (martian / no route / forwarding off). */
export function routeInput(): i32 {
  const saddr = load<u32>(PKT, P_SADDR);
  const daddr = load<u32>(PKT, P_DADDR);
  const iifb = <u32>load<u8>(PKT, P_IIF);
  if (rcImg != IMG) { memory.fill(RC, 0, <usize>RC_N * 16); rcImg = IMG; }
  // the top bits of a 64-bit product depend on every input bit (addresses are wire bytes loaded
  // little-endian: the bytes that vary most are the high ones)
  const h = <u32>((((<u64>saddr | (<u64>daddr << 32)) ^ <u64>iifb) * 0x9e3779b97f4a7c15) >> 53);
  const c = RC + (<usize>h << 4);
  if (load<u32>(c) == saddr && load<u32>(c, 4) == daddr && <u32>load<u16>(c, 8) == (iifb | 0x100)) {
    const r = <i32>load<i8>(c, 11);
    lastNexthop = load<u32>(c, 12);
    const o = <u32>load<u8>(c, 10);
    lastRedirect = o >= OIF_REDIRECT;
    if (r == HOOK_FORWARD) store<u8>(PKT, <u8>(o & 0x7f), P_OIF);
    return r;
  }
  const r = routeSlow(saddr, daddr, <i32>iifb);
  store<u32>(c, saddr);
  store<u32>(c, daddr, 4);
  store<u16>(c, <u16>(iifb | 0x100), 8);
  store<u8>(c, r == HOOK_FORWARD ? <u8>(<u32>load<u8>(PKT, P_OIF) | (lastRedirect ? OIF_REDIRECT : 0)) : 0, 10);
  store<i8>(c, <i8>r, 11);
  store<u32>(c, lastNexthop, 12);
  return r;
}

function routeSlow(saddr: u32, daddr: u32, iifb: i32): i32 {
  const iif = iifb == IF_NONE ? -1 : iifb;
  lastNexthop = 0;
  lastRedirect = false;
  if (isMulticast(saddr) || isLbcast(saddr)) return -RES_DROP_MARTIAN;
  if (isMulticast(daddr)) {
    // the host is a member of 224.0.0.1 (all hosts) only; no multicast forwarding
    if (isZeronet(saddr) && saddr != 0) return -RES_DROP_MARTIAN;
    return daddr == 0x010000e0 ? HOOK_INPUT : -RES_DROP_NOROUTE;
  }
  if (isLbcast(daddr) || (saddr == 0 && daddr == 0)) return brdInput(saddr, iif);
  if (isZeronet(saddr)) return -RES_DROP_MARTIAN;
  if (isZeronet(daddr)) return -RES_DROP_MARTIAN;
  const localnet = iif >= 0 && iif < nIfs() ? ifWord(iif, IF_ROUTE_LOCALNET) : 0;
  if (isLoopback(daddr)) {
    if (localnet == 0) return -RES_DROP_MARTIAN;
  } else if (isLoopback(saddr)) {
    if (localnet == 0) return -RES_DROP_MARTIAN;
  }
  const lt = localLookup(daddr);
  if (lt == RTN_BROADCAST) return brdInput(saddr, iif);
  if (lt == RTN_LOCAL) {
    const v = validateSource(saddr, iif);
    return v != 0 ? -v : HOOK_INPUT;
  }
  const r = mainLookup(daddr);
  if (r < 0) return -RES_DROP_NOROUTE;
  if (sysctl(SYS_IP_FORWARD) == 0) return -RES_DROP_NOROUTE;
  const t = <i32>rtWord(r, RT_TYPE);
  if (t != RTN_UNICAST) return -RES_DROP_NOROUTE;          // blackhole / unreachable / prohibit
  const gw = rtWord(r, RT_GW);
  const oif = <i32>rtWord(r, RT_IF);
  if (oif == iif && (ifWord(iif, IF_FLAGS) & IFX_SEND_REDIRECTS) != 0) {
    // __mkroute_input: out_dev == in_dev and IN_DEV_TX_REDIRECTS: fib_validate_source takes its full
    // path (__fib_validate_source, even without rp_filter) and returns 1 when the source is reachable
    // on-link through this device; then IPSKB_DOREDIRECT if the medium is shared or the source (and
    // the gateway) are on one of the device's subnets (inet_addr_onlink).
    const v = validateSourceFull(saddr, iif);
    if (v < 0) return v;
    lastRedirect = v > 0 && ((ifWord(iif, IF_FLAGS) & IFX_SHARED_MEDIA) != 0 || addrOnlink(iif, saddr, gw));
  } else {
    const v = validateSource(saddr, iif);
    if (v != 0) return -v;
  }
  lastNexthop = gw != 0 ? gw : daddr;
  store<u8>(PKT, <u8>oif, P_OIF);
  return HOOK_FORWARD;
}

/** __fib_validate_source for a packet leaving by the device it came in on (iif >= 0): -RES_DROP_MARTIAN,
 *  0, or 1 when the reverse route to the source is a direct (gateway-less: nh scope host) route
 *  through iif. The reverse lookup is a main-table lookup of the source (fl4.daddr = saddr). */
function validateSourceFull(saddr: u32, iif: i32): i32 {
  const rpf = ifWord(iif, IF_RP_FILTER);
  // local table first: a local or broadcast source is not RTN_UNICAST -> -EINVAL (accept_local 0)
  if (localLookup(saddr) != RTN_UNSPEC) return -RES_DROP_MARTIAN;
  const r = mainLookup(saddr);
  if (r < 0 || !hasAddr(iif)) return rpf != 0 ? -RES_DROP_MARTIAN : 0;   // last_resort
  if (<i32>rtWord(r, RT_TYPE) != RTN_UNICAST) return -RES_DROP_MARTIAN;
  if (<i32>rtWord(r, RT_IF) == iif) return rtWord(r, RT_GW) == 0 ? 1 : 0;
  if (rpf == 1) return -RES_DROP_MARTIAN;
  // loose (or no) rp_filter: a second lookup restricted to routes through iif (flowi4_oif = iif)
  const n = nRoutes();
  for (let i = 0; i < n; i++) {
    if ((saddr & rtWord(i, RT_MASK)) != rtWord(i, RT_DST) || <i32>rtWord(i, RT_IF) != iif) continue;
    return <i32>rtWord(i, RT_TYPE) == RTN_UNICAST && rtWord(i, RT_GW) == 0 ? 1 : 0;
  }
  return 0;
}

/** The device has an IPv4 address (in_dev->ifa_list != NULL). */
function hasAddr(dev: i32): bool {
  const n = nAddrs();
  for (let i = 0; i < n; i++) if (<i32>adWord(i, AD_IF) == dev) return true;
  return false;
}

/** inet_addr_onlink(dev, a, b): one of dev's addresses has a subnet holding a, and b when b != 0. */
function addrOnlink(dev: i32, a: u32, b: u32): bool {
  const n = nAddrs();
  for (let i = 0; i < n; i++) {
    if (<i32>adWord(i, AD_IF) != dev) continue;
    const m = adWord(i, AD_MASK), x = adWord(i, AD_ADDR);
    if (((a ^ x) & m) == 0 && (b == 0 || ((b ^ x) & m) == 0)) return true;
  }
  return false;
}

/** rt_nexthop of the forwarding route towards `daddr`: its gateway, or daddr itself when on-link
 *  (for a packet whose route came from a memo that does not keep the next hop). */
export function forwardNexthop(daddr: u32): u32 {
  const r = mainLookup(daddr);
  const gw = r < 0 ? 0 : rtWord(r, RT_GW);
  return gw != 0 ? gw : daddr;
}

function brdInput(saddr: u32, iif: i32): i32 {
  if (!isZeronet(saddr)) {
    const v = validateSource(saddr, iif);
    if (v != 0) return -v;
  }
  return HOOK_INPUT;
}

/** Next hop of the last forwarding decision (rt_nexthop), for MASQUERADE. */
export function routeNexthop(): u32 { return lastNexthop; }

/** Is address i a secondary address (an earlier address on the same device covers its subnet)? */
function isSecondary(i: i32): bool {
  const dev = adWord(i, AD_IF);
  const m = adWord(i, AD_MASK);
  const net = adWord(i, AD_ADDR) & m;
  for (let j = 0; j < i; j++) {
    if (adWord(j, AD_IF) == dev && adWord(j, AD_MASK) == m && (adWord(j, AD_ADDR) & m) == net) return true;
  }
  return false;
}

function selectOnDev(dev: i32, nexthop: u32): u32 {
  const n = nAddrs();
  let first: u32 = 0;
  for (let i = 0; i < n; i++) {
    if (<i32>adWord(i, AD_IF) != dev) continue;
    const a = adWord(i, AD_ADDR);
    if (isLoopback(a)) continue;               // scope host: never chosen for RT_SCOPE_UNIVERSE
    if (isSecondary(i)) continue;
    const m = adWord(i, AD_MASK);
    if (nexthop == 0 || (nexthop & m) == (a & m)) return a;
    if (first == 0) first = a;
  }
  return first;
}

/** inet_select_addr(dev, nexthop, RT_SCOPE_UNIVERSE): the primary address of `dev`, preferring
 *  one on the next hop's subnet; falling back to another device's address; 0 when none. */
export function ifAddr(dev: i32, nexthop: u32): u32 {
  if (dev >= 0 && dev < nIfs()) {
    const a = selectOnDev(dev, nexthop);
    if (a != 0) return a;
  }
  const n = nIfs();
  for (let d = 0; d < n; d++) {
    if (d == dev) continue;
    const a = selectOnDev(d, 0);
    if (a != 0) return a;
  }
  return 0;
}

/** The first address of `dev` in list order (REDIRECT: indev->ifa_list), 0 when none. */
export function ifFirstAddr(dev: i32): u32 {
  const n = nAddrs();
  for (let i = 0; i < n; i++) if (<i32>adWord(i, AD_IF) == dev) return adWord(i, AD_ADDR);
  return 0;
}
