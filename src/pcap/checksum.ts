// An independent, deliberately plain internet checksum (RFC 1071) and checksum verifier for IPv4
// packets: tests of NAT rewrites use it as the second implementation beside the core's incremental
// (RFC 1624) updates, so it shares no code with src/pcap/craft.ts or assembly/.
//
// A checksum verifies when the one's-complement sum of the covered bytes, checksum field included,
// is 0xFFFF. For TCP and UDP the covered bytes are the pseudo-header (source, destination, zero,
// protocol, L4 length) followed by the L4 header and payload; ICMP covers the ICMP message only.
// A UDP checksum of 0 means "none" (valid). SCTP uses CRC32c (not handled here; see craft.crc32c).

/** Sum of the 16-bit big-endian words of bytes[start, end), an odd last byte padded with zero. */
export function onesComplementSum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) {
    const hi = bytes[i];
    const lo = i + 1 < end ? bytes[i + 1] : 0;
    sum += hi * 256 + lo;
  }
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/** The internet checksum (complement of the one's-complement sum) of bytes[start, end). */
export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return 0xffff - onesComplementSum(bytes, start, end);
}

export interface ChecksumReport {
  /** IPv4 header checksum verifies. */
  ip: boolean;
  /** L4 checksum: true/false, or null when it cannot be checked (fragment, truncated, other proto, UDP 0). */
  l4: boolean | null;
  proto: number;
  /** Stored and recomputed values, for messages. */
  ipStored: number;
  ipExpected: number;
  l4Stored: number | null;
  l4Expected: number | null;
}

/**
 * Verify the checksums of an IPv4 packet (starting at byte `off` of `bytes`, e.g. after a link
 * header). The L4 length is taken from the IPv4 total length.
 */
export function verifyIPv4(bytes: Uint8Array, off = 0): ChecksumReport {
  const p = bytes.subarray(off);
  const ihl = (p[0] % 16) * 4;
  const totalLen = p[2] * 256 + p[3];
  const proto = p[9];
  const ipStored = p[10] * 256 + p[11];
  const hdr = Uint8Array.from(p.subarray(0, ihl));
  hdr[10] = 0;
  hdr[11] = 0;
  const ipExpected = internetChecksum(hdr);
  const rep: ChecksumReport = { ip: ipStored === ipExpected || (ipExpected === 0 && ipStored === 0xffff), l4: null, proto, ipStored, ipExpected, l4Stored: null, l4Expected: null };

  const fragField = p[6] * 256 + p[7];
  const isFragment = (fragField & 0x1fff) !== 0 || (fragField & 0x2000) !== 0;
  if (isFragment || totalLen > p.length || totalLen < ihl) return rep;
  const l4 = Uint8Array.from(p.subarray(ihl, totalLen));
  const l4len = l4.length;

  let fieldAt: number;
  if (proto === 6) fieldAt = 16;
  else if (proto === 17) fieldAt = 6;
  else if (proto === 1) fieldAt = 2;
  else return rep;
  if (l4len < fieldAt + 2) return rep;
  const stored = l4[fieldAt] * 256 + l4[fieldAt + 1];
  rep.l4Stored = stored;
  if (proto === 17 && stored === 0) return rep; // no checksum
  l4[fieldAt] = 0;
  l4[fieldAt + 1] = 0;

  let covered: Uint8Array;
  if (proto === 1) covered = l4;
  else {
    covered = new Uint8Array(12 + l4len);
    covered.set(p.subarray(12, 20), 0); // source and destination addresses
    covered[8] = 0;
    covered[9] = proto;
    covered[10] = Math.floor(l4len / 256);
    covered[11] = l4len % 256;
    covered.set(l4, 12);
  }
  let expected = internetChecksum(covered);
  if (proto === 17 && expected === 0) expected = 0xffff;
  rep.l4Expected = expected;
  // 0x0000 and 0xFFFF are the same number in one's complement (TCP/ICMP may carry either)
  rep.l4 = stored === expected || (proto !== 17 && (stored ^ expected) === 0xffff && (stored === 0 || expected === 0));
  return rep;
}

/** Offset of the IPv4 header in a frame of the given pcap link type, or -1 when it is not IPv4. */
export function ipv4Offset(frame: Uint8Array, linktype: number): number {
  if (linktype === 101 || linktype === 228) return (frame[0] >> 4) === 4 ? 0 : -1;
  if (linktype === 1) {
    let o = 12;
    let et = frame[o] * 256 + frame[o + 1];
    while (et === 0x8100 || et === 0x88a8) {
      o += 4;
      et = frame[o] * 256 + frame[o + 1];
    }
    return et === 0x0800 ? o + 2 : -1;
  }
  if (linktype === 113) return frame[14] * 256 + frame[15] === 0x0800 ? 16 : -1;
  if (linktype === 276) return frame[0] * 256 + frame[1] === 0x0800 ? 20 : -1;
  return -1;
}
