// Independent Internet-checksum verification of IPv4 packets (header, TCP/UDP with the pseudo-header,
// ICMP), for assertions on what the kernel sent.

function sum16(b: Uint8Array, start: number, end: number, acc = 0): number {
  for (let i = start; i + 1 < end; i += 2) acc += (b[i] << 8) | b[i + 1];
  if ((end - start) & 1) acc += b[end - 1] << 8;
  return acc;
}
function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

/** 'ok' or what is wrong: 'ip', 'tcp', 'udp', 'icmp'. Non-first fragments: only the IP header is checked. */
export function checksumProblem(ip: Uint8Array): string | null {
  const ihl = (ip[0] & 15) * 4;
  if (fold(sum16(ip, 0, ihl)) !== 0xffff) return 'ip';
  const total = (ip[2] << 8) | ip[3];
  const frag = ((ip[6] & 0x1f) << 8) | ip[7];
  const mf = (ip[6] & 0x20) !== 0;
  if (frag !== 0 || mf) return null;
  const proto = ip[9];
  const l4len = total - ihl;
  if (proto === 1) return fold(sum16(ip, ihl, total)) === 0xffff ? null : 'icmp';
  if (proto === 6 || proto === 17) {
    if (proto === 17 && ip[ihl + 6] === 0 && ip[ihl + 7] === 0) return null; // UDP without checksum
    let acc = sum16(ip, 12, 20) + proto + l4len;
    acc = sum16(ip, ihl, total, acc);
    return fold(acc) === 0xffff ? null : proto === 6 ? 'tcp' : 'udp';
  }
  return null;
}
