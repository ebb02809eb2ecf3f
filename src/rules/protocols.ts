// IP protocol names. iptables' proto_to_name looks in /etc/protocols (getprotobynumber) first and then
// in its built-in list (xtables_chain_protos); -p accepts a number, a built-in name or an
// /etc/protocols name or alias. The /etc/protocols part is Debian netbase's list.

/** xtables_chain_protos, in its order (first match wins when printing). */
const BUILTIN: [string, number][] = [
  ['tcp', 6], ['sctp', 132], ['udp', 17], ['udplite', 136], ['icmp', 1], ['icmpv6', 58],
  ['esp', 50], ['ah', 51], ['ipv6-mh', 135], ['mh', 135], ['all', 0],
];

/** Debian netbase /etc/protocols: [official name, number, aliases...]. */
const ETC: [string, number, ...string[]][] = [
  ['ip', 0, 'IP'], ['hopopt', 0, 'HOPOPT'], ['icmp', 1, 'ICMP'], ['igmp', 2, 'IGMP'], ['ggp', 3, 'GGP'],
  ['ipencap', 4, 'IP-ENCAP'], ['st', 5, 'ST'], ['tcp', 6, 'TCP'], ['egp', 8, 'EGP'], ['igp', 9, 'IGP'],
  ['pup', 12, 'PUP'], ['udp', 17, 'UDP'], ['hmp', 20, 'HMP'], ['xns-idp', 22, 'XNS-IDP'], ['rdp', 27, 'RDP'],
  ['iso-tp4', 29, 'ISO-TP4'], ['dccp', 33, 'DCCP'], ['xtp', 36, 'XTP'], ['ddp', 37, 'DDP'],
  ['idpr-cmtp', 38, 'IDPR-CMTP'], ['ipv6', 41, 'IPv6'], ['ipv6-route', 43, 'IPv6-Route'],
  ['ipv6-frag', 44, 'IPv6-Frag'], ['idrp', 45, 'IDRP'], ['rsvp', 46, 'RSVP'], ['gre', 47, 'GRE'],
  ['esp', 50, 'IPSEC-ESP'], ['ah', 51, 'IPSEC-AH'], ['skip', 57, 'SKIP'], ['ipv6-icmp', 58, 'IPv6-ICMP'],
  ['ipv6-nonxt', 59, 'IPv6-NoNxt'], ['ipv6-opts', 60, 'IPv6-Opts'], ['rspf', 73, 'RSPF', 'CPHB'],
  ['vmtp', 81, 'VMTP'], ['eigrp', 88, 'EIGRP'], ['ospf', 89, 'OSPFIGP'], ['ax.25', 93, 'AX.25'],
  ['ipip', 94, 'IPIP'], ['etherip', 97, 'ETHERIP'], ['encap', 98, 'ENCAP'], ['pim', 103, 'PIM'],
  ['ipcomp', 108, 'IPCOMP'], ['vrrp', 112, 'VRRP'], ['l2tp', 115, 'L2TP'], ['isis', 124, 'ISIS'],
  ['sctp', 132, 'SCTP'], ['fc', 133, 'FC'], ['mobility-header', 135, 'Mobility-Header'],
  ['udplite', 136, 'UDPLite'], ['mpls-in-ip', 137, 'MPLS-in-IP'], ['manet', 138], ['hip', 139, 'HIP'],
  ['shim6', 140, 'Shim6'], ['wesp', 141, 'WESP'], ['rohc', 142, 'ROHC'], ['ethernet', 143, 'Ethernet'],
];

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;

/** -p NAME|NUMBER (iptables lowercases the name first). Undefined when unknown. */
export function parseProto(s: string): number | undefined {
  // the common names first: the same answers as the lookup below (checked when the module loads)
  if (s === 'tcp') return IPPROTO_TCP;
  if (s === 'udp') return IPPROTO_UDP;
  return parseProtoSlow(s);
}

function parseProtoSlow(s: string): number | undefined {
  const n = /^[0-9]+$/.test(s) || /^0[xX]/.test(s) ? parseNum(s) : undefined;
  if (n !== undefined) return n <= 255 ? n : undefined;
  const low = s.toLowerCase();
  for (const e of ETC) {
    if (e[0] === low) return e[1];
    for (let i = 2; i < e.length; i++) if (e[i] === low) return e[1];
  }
  for (const [name, num] of BUILTIN) if (name === low) return num;
  return undefined;
}

function parseNum(s: string): number | undefined {
  const v = /^0[xX][0-9a-fA-F]+$/.test(s) ? parseInt(s.slice(2), 16) : /^[0-9]+$/.test(s) ? parseInt(s, /^0[0-7]+$/.test(s) ? 8 : 10) : NaN;
  return Number.isFinite(v) ? v : undefined;
}

/** The name iptables-save prints for a protocol number, or the number. */
export function protoName(n: number): string {
  // proto_to_name asks getprotobynumber (/etc/protocols) first: 58 prints as ipv6-icmp (measured, v1.8.9).
  for (const e of ETC) if (e[1] === n && n !== 0) return e[0];
  for (const [name, num] of BUILTIN) if (num === n) return name;
  return String(n);
}

if (parseProtoSlow('tcp') !== IPPROTO_TCP || parseProtoSlow('udp') !== IPPROTO_UDP) throw new Error('protocols: tcp/udp fast path out of step');
