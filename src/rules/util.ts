// Small parsers and formatters shared by the parser and the modules. Semantics follow libxtables
// (xtables_strtoui with base 0, xtables_numeric_to_ipaddr, xtables_save_string).

/** strtoul(s, &end, 0) that must consume the whole string: decimal, 0x hex, leading-0 octal. */
export function parseUint(s: string, max = 0xffffffff): number | undefined {
  // Fast path (most numbers in a dump): plain decimal without a leading zero, read by char code.
  const n = s.length;
  const c0 = n > 0 ? s.charCodeAt(0) : 0;
  if (c0 >= 49 && c0 <= 57 && n <= 15) {
    let x = c0 - 48;
    for (let i = 1; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) return undefined; // /^[1-9][0-9]*$/ fails, and so do the others (no 0 or 0x prefix)
      x = x * 10 + (c - 48);
    }
    return x > max ? undefined : x;
  }
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^0[0-7]*$/.test(s)) v = s.length > 1 ? parseInt(s.slice(1), 8) : 0;
  else if (/^[1-9][0-9]*$/.test(s)) v = Number(s);
  else return undefined;
  if (!Number.isFinite(v) || v > max) return undefined;
  return v;
}

/** Plain decimal (used where iptables uses strtoul base 10 or atoi-like parsing). */
export function parseDec(s: string, max = 0xffffffff): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const v = Number(s);
  return v > max ? undefined : v;
}

/**
 * A dotted IPv4 address as xtables_numeric_to_ipaddr reads it: up to four parts of 0..255
 * (each strtoui base 0); fewer parts are completed with zeros ("10" = 10.0.0.0) unless `isMask`.
 * Returns the address as a host-order u32, or undefined.
 */
export function parseIpv4(s: string, isMask = false): number | undefined {
  const q = dotted4(s);
  if (q >= 0) return q; // four plain decimal parts: the same value as below
  const parts = s.split('.');
  if (parts.length > 4 || parts.length === 0) return undefined;
  if (isMask && parts.length !== 4) return undefined;
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    let b = 0;
    if (p !== undefined) {
      const n = parseUint(p, 255);
      if (n === undefined) return undefined;
      b = n;
    }
    v = v * 256 + b;
  }
  return v >>> 0;
}

/**
 * inet_aton (what getaddrinfo does for numeric hosts, used by iptables' x6 host options: conntrack
 * --ctorigsrc..., recent --mask): 1 to 4 base-0 numbers; the last one fills the remaining bytes
 * ("10" = 0.0.0.10, "192.0.2" = 192.0.0.2, "010.1.2.3" = 8.1.2.3).
 */
export function inetAton(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length > 4) return undefined;
  const nums = parts.map((p) => parseUint(p));
  if (nums.some((n) => n === undefined)) return undefined;
  const n = nums as number[];
  const lastBytes = 5 - n.length;
  for (let i = 0; i < n.length - 1; i++) if (n[i] > 255) return undefined;
  const last = n[n.length - 1];
  if (lastBytes < 4 && last >= 2 ** (8 * lastBytes)) return undefined;
  let v = 0;
  for (let i = 0; i < n.length - 1; i++) v = v * 256 + n[i];
  return (v * 2 ** (8 * lastBytes) + last) >>> 0;
}

/** `a.b.c.d`, each part 0..255 written in decimal without a leading zero (a lone 0 is fine), as a host-order
 *  u32; -1 for anything else. (A char-code scan: the common case of the parsers around it.) */
function dotted4(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let v = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      v = v * 256 + part;
      parts++;
      part = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return -1;
    if (digits === 1 && part === 0) return -1; // leading zero: octal in strtoul, refused by inet_pton
    part = part * 10 + (c - 48);
    digits++;
  }
  return parts === 4 ? v : -1;
}

/** inet_pton: exactly four decimal parts 0..255 without leading zeros (NAT --to-destination/--to-source). */
export function inetPton(s: string): number | undefined {
  const q = dotted4(s); // exactly inet_pton's accepted forms
  return q >= 0 ? q : undefined;
}

export function ipv4ToString(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function prefixToMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The prefix length of a contiguous mask, or -1. */
export function maskToPrefix(mask: number): number {
  if (mask >>> 0 === 0xffffffff) return 32;
  for (let p = 0; p <= 32; p++) if (prefixToMask(p) === mask >>> 0) return p;
  return -1;
}

/**
 * `addr[/mask]` as iptables reads -s/-d and conntrack --ctorigsrc: mask is a prefix length
 * (0..32) or a dotted mask; no mask means /32. Returns addr (masked) and mask, or an error text.
 */
export function parseAddrMask(s: string, applyMask = true, aton = false): { addr: number; mask: number } | string {
  const slash = s.indexOf('/');
  const a = slash < 0 ? s : s.slice(0, slash);
  let mask = 0xffffffff;
  if (slash >= 0) {
    const m = s.slice(slash + 1);
    if (m.includes('.')) {
      const mv = aton ? inetAton(m) : parseIpv4(m, true);
      if (mv === undefined) return `invalid mask '${m}'`;
      mask = mv;
    } else {
      const p = parseUint(m, 32);
      if (p === undefined) return `invalid mask '${m}'`;
      mask = prefixToMask(p);
    }
  }
  // -s/-d: xtables_numeric_to_ipaddr first, then the resolver (inet_aton: "65535" = 0.0.255.255).
  const addr = aton ? inetAton(a) : parseIpv4(a) ?? inetAton(a);
  if (addr === undefined) return `invalid address '${a}' (host names are not resolved)`;
  return { addr: applyMask ? (addr & mask) >>> 0 : addr, mask };
}

/** xtables_save_string: bare when every char is [A-Za-z0-9_-] (and non-empty), else "..." with \" \\ \' escaped. */
export function saveString(s: string): string {
  if (s.length > 0 && /^[A-Za-z0-9_-]+$/.test(s)) return ` ${s}`;
  let out = ' "';
  for (const c of s) {
    if (c === '"' || c === '\\' || c === "'") out += '\\';
    out += c;
  }
  return out + '"';
}

/** The first `max` bytes of `s` in UTF-8 (iptables copies strings into fixed-size fields, silently cut). */
export function truncateBytes(s: string, max: number): string {
  if (s.length * 3 <= max) return s; // a UTF-16 code unit is at most 3 UTF-8 bytes
  const b = Buffer.from(s);
  return b.length <= max ? s : b.subarray(0, max).toString();
}

export function hex(v: number): string {
  return `0x${(v >>> 0).toString(16)}`;
}

/** A port: number 0..65535 or a service name from a small built-in list (/etc/services subset). */
export const SERVICES: Record<string, number> = {
  ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, http: 80, pop3: 110, ntp: 123,
  imap: 143, snmp: 161, ldap: 389, https: 443, submission: 587, ldaps: 636, imaps: 993,
  pop3s: 995, mysql: 3306, postgresql: 5432, bootps: 67, bootpc: 68, tftp: 69, syslog: 514,
};

export function parsePort(s: string): number | undefined {
  const n = parseUint(s, 65535);
  if (n !== undefined) return n;
  return SERVICES[s];
}

/**
 * A port as iptables' x6 XTTYPE_PORTRC parses it (udp, conntrack --ct*port): decimal only, read as a u32 and
 * truncated to 16 bits (65536 = 0, 99999 = 34463), or a service name.
 */
export function parsePortX6(s: string): number | undefined {
  if (s === '') return 0;
  if (/^[0-9]+$/.test(s)) {
    const v = Number(s);
    return v > 0xffffffff ? undefined : v & 0xffff;
  }
  return SERVICES[s];
}

/** `a`, `a:b`, `:b`, `a:` (tcp/udp/sctp --sport/--dport). Returns [min,max] or an error. x6: udp-style parsing,
 *  and min > max is kept as given (the match then never matches). */
export function parsePortRange(s: string, x6 = false): [number, number] | string {
  const one = x6 ? parsePortX6 : parsePort;
  const colon = s.indexOf(':');
  if (colon < 0) {
    const p = one(s);
    return p === undefined ? `invalid port '${s}'` : [p, p];
  }
  const a = s.slice(0, colon);
  const b = s.slice(colon + 1);
  const lo = a === '' ? 0 : one(a);
  const hi = b === '' ? 65535 : one(b);
  if (lo === undefined) return `invalid port '${a}'`;
  if (hi === undefined) return `invalid port '${b}'`;
  if (lo > hi && !x6) return `invalid port range '${s}' (min > max)`;
  return [lo, hi];
}
