// Shared by DNAT, SNAT, MASQUERADE, REDIRECT (libxt_NAT.c, libxt_MASQUERADE.c, libxt_REDIRECT.c; nf_nat.h ranges).
import { NAT_MAP_IPS, NAT_PROTO_SPECIFIED, NAT_PROTO_RANDOM, NAT_PERSISTENT, NAT_PROTO_RANDOM_FULLY } from '../../layout.js';
import type { ArgReader } from './types.js';
import type { Rule } from '../model.js';
import { inetPton, parsePort, ipv4ToString } from '../util.js';
import { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP } from '../protocols.js';

export interface NatRange {
  /** NAT_* flags (NAT_MAP_IPS, NAT_PROTO_SPECIFIED, NAT_PROTO_RANDOM, NAT_PERSISTENT, NAT_PROTO_RANDOM_FULLY). */
  flags: number;
  /** Host-order u32 addresses (valid with NAT_MAP_IPS). */
  minIp: number;
  maxIp: number;
  /** Ports (valid with NAT_PROTO_SPECIFIED). */
  minPort: number;
  maxPort: number;
}

export function emptyRange(): NatRange {
  return { flags: 0, minIp: 0, maxIp: 0, minPort: 0, maxPort: 0 };
}

/** Protocols with ports (or ICMP ids) for NAT: tcp, udp, sctp, dccp, udplite, icmp (measured: -p icmp passes). */
const PORT_PROTOS = [IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, 33, 136, 1];

export function portProtoOk(rule: Rule): boolean {
  // libxt_NAT looks at the protocol number only: `! -p tcp` passes (measured).
  return !!rule.proto && PORT_PROTOS.includes(rule.proto.proto);
}

/** s.split('-') for the first three parts; a word without '-' (nearly all) is [s] without a new array. */
const ONE: [string, string | undefined, string | undefined] = ['', undefined, undefined];
function splitDash(s: string): [string, string | undefined, string | undefined] {
  if (s.indexOf('-') < 0) { ONE[0] = s; return ONE; }
  const p = s.split('-');
  return [p[0], p[1], p[2]];
}

/** `p[-p]` into r.minPort/maxPort. */
export function readPorts(r: NatRange, s: string, args: ArgReader, what: string): void {
  const [a, b, extra] = splitDash(s);
  const lo = parsePort(a);
  const hi = b === undefined ? lo : parsePort(b);
  if (lo === undefined || hi === undefined || extra !== undefined || lo > hi) return args.fail(`${what}: bad port range '${s}'`);
  r.minPort = lo;
  r.maxPort = hi;
  r.flags |= NAT_PROTO_SPECIFIED;
}

/** `ip[-ip][:port[-port]]` (--to-destination / --to-source). */
export function readNatSpec(r: NatRange, args: ArgReader, what: string): void {
  const w = args.next(what);
  const colon = w.indexOf(':');
  const ips = colon < 0 ? w : w.slice(0, colon);
  if (colon >= 0) readPorts(r, w.slice(colon + 1), args, what);
  if (ips !== '') {
    const [a, b, extra] = splitDash(ips);
    const lo = inetPton(a);
    const hi = b === undefined ? lo : inetPton(b);
    if (lo === undefined || hi === undefined || extra !== undefined) {
      args.fail(`${what}: bad IP address in '${w}'`);
    }
    if (lo > hi) return args.fail(`${what}: bad IP range '${ips}' (min > max)`);
    r.minIp = lo;
    r.maxIp = hi;
    r.flags |= NAT_MAP_IPS;
  } else if (colon < 0) {
    args.fail(`${what}: empty address`);
  }
}

export function natSpecText(r: NatRange): string {
  let s = '';
  if (r.flags & NAT_MAP_IPS) {
    s += ipv4ToString(r.minIp);
    if (r.maxIp !== r.minIp) s += `-${ipv4ToString(r.maxIp)}`;
  }
  if (r.flags & NAT_PROTO_SPECIFIED) {
    s += `:${r.minPort}`;
    if (r.maxPort !== r.minPort) s += `-${r.maxPort}`;
  }
  return s;
}

export function portsText(r: NatRange): string {
  return r.maxPort !== r.minPort ? `${r.minPort}-${r.maxPort}` : `${r.minPort}`;
}

export function flagsText(flags: number, order: ('random' | 'random-fully' | 'persistent')[]): string {
  const bit = { random: NAT_PROTO_RANDOM, 'random-fully': NAT_PROTO_RANDOM_FULLY, persistent: NAT_PERSISTENT };
  return order.filter((n) => flags & bit[n]).map((n) => ` --${n}`).join('');
}

export { NAT_PROTO_RANDOM, NAT_PERSISTENT, NAT_PROTO_RANDOM_FULLY, NAT_PROTO_SPECIFIED };
