// Internet checksums (RFC 1071) and incremental updates (RFC 1624 eq. 3, as the kernel's
// csum_replace4/inet_proto_csum_replace{2,4}). Everything works in the "LE-loaded" domain: 16-bit
// words and addresses are loaded from the wire as little-endian, i.e. byte-swapped. One's-complement
// sums commute with byte swapping (RFC 1071 §2(B)), so no swap is ever needed: a field loaded with
// load<u16> and updated with words loaded the same way is correct on the wire.

// @ts-ignore: decorator
@inline export function csumFold(sum: u64): u32 {
  let s = (sum & 0xffffffff) + (sum >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return <u32>s;
}

/** One's-complement sum (unfolded) of `len` bytes at `addr`, as LE-loaded 16-bit words. */
export function csumPartial(addr: usize, len: u32, sum: u64): u64 {
  let p = addr;
  let n = len;
  if (n >= 64) {
    // 16 bytes per step: the four u32 lanes widened into two u64 accumulators
    let acc = i64x2.splat(0);
    while (n >= 16) {
      const v = v128.load(p);
      acc = i64x2.add(acc, i64x2.extend_low_i32x4_u(v));
      acc = i64x2.add(acc, i64x2.extend_high_i32x4_u(v));
      p += 16; n -= 16;
    }
    sum += <u64>i64x2.extract_lane(acc, 0) + <u64>i64x2.extract_lane(acc, 1);
  }
  while (n >= 8) {
    const v = load<u64>(p);
    sum += (v & 0xffffffff) + (v >> 32);
    p += 8; n -= 8;
  }
  while (n >= 2) {
    sum += <u64>load<u16>(p);
    p += 2; n -= 2;
  }
  if (n > 0) sum += <u64>load<u8>(p); // odd byte: high byte of a zero-padded BE word = low byte LE
  return sum;
}

/** Pseudo-header sum for TCP/UDP: saddr, daddr (P_SADDR encoding), protocol, L4 length. */
// @ts-ignore: decorator
@inline export function pseudoSum(saddr: u32, daddr: u32, proto: u32, len: u32): u64 {
  return <u64>(saddr & 0xffff) + <u64>(saddr >> 16) + <u64>(daddr & 0xffff) + <u64>(daddr >> 16) +
    <u64>(proto << 8) + <u64>(((len & 0xff) << 8) | ((len >> 8) & 0xff));
}

/** The 16-bit checksum field at `field` after a 32-bit value changed from `from` to `to`. */
// @ts-ignore: decorator
@inline export function csumReplace4(field: usize, from: u32, to: u32): void {
  const hc = <u32>load<u16>(field);
  const s: u64 = <u64>(~hc & 0xffff) + <u64>(~from & 0xffff) + <u64>((~from >> 16) & 0xffff) +
    <u64>(to & 0xffff) + <u64>(to >> 16);
  store<u16>(field, <u16>(~csumFold(s) & 0xffff));
}

/** Same for a 16-bit value (`from`/`to` as loaded with load<u16>, i.e. LE domain). */
// @ts-ignore: decorator
@inline export function csumReplace2(field: usize, from: u32, to: u32): void {
  const hc = <u32>load<u16>(field);
  const s: u64 = <u64>(~hc & 0xffff) + <u64>(~from & 0xffff) + <u64>(to & 0xffff);
  store<u16>(field, <u16>(~csumFold(s) & 0xffff));
}

/** csumReplace4(field, from4, to4) then csumReplace2(field, from2, to2) in one fold. The same
 *  value: ~HC1 = fold(A) with A = ~HC + ~from4 + to4, and fold(fold(A) + B) = fold(A + B) for the
 *  end-around-carry fold (both 0 when A + B = 0, else the representative in [1, 0xffff] of the
 *  same residue modulo 0xffff). */
// @ts-ignore: decorator
@inline export function csumReplace4and2(field: usize, from4: u32, to4: u32, from2: u32, to2: u32): void {
  const hc = <u32>load<u16>(field);
  const s: u64 = <u64>(~hc & 0xffff) + <u64>(~from4 & 0xffff) + <u64>((~from4 >> 16) & 0xffff) +
    <u64>(to4 & 0xffff) + <u64>(to4 >> 16) + <u64>(~from2 & 0xffff) + <u64>(to2 & 0xffff);
  store<u16>(field, <u16>(~csumFold(s) & 0xffff));
}

/** Full checksum over [addr, addr+len) with an initial sum: the value to store in the field
 *  (the field itself must be zero while summing). */
export function csumCompute(addr: usize, len: u32, init: u64): u16 {
  return <u16>(~csumFold(csumPartial(addr, len, init)) & 0xffff);
}

/** True when the data (checksum field included) sums to 0xffff. */
export function csumVerify(addr: usize, len: u32, init: u64): bool {
  return csumFold(csumPartial(addr, len, init)) == 0xffff;
}

/** csumVerify with the 20-byte case (IP header without options, TCP header without options or
 *  data) inline: five u32 words. A u32 word is congruent to the sum of its two 16-bit halves modulo
 *  0xffff and the fold maps congruent positive sums to the same value (0 only for a zero sum, as
 *  csumPartial's), so the answer is csumVerify's. */
// @ts-ignore: decorator
@inline export function csumVerifyQuick(addr: usize, len: u32, init: u64): bool {
  if (len == 20) {
    return csumFold(init + <u64>load<u32>(addr) + <u64>load<u32>(addr, 4) + <u64>load<u32>(addr, 8) +
      <u64>load<u32>(addr, 12) + <u64>load<u32>(addr, 16)) == 0xffff;
  }
  return csumVerify(addr, len, init);
}

// CRC32c (Castagnoli, reflected polynomial 0x82F63B78) for SCTP, table-driven.
const CRC_TABLE: usize = memory.data(1024, 16);
let crcReady = false;
function crcInit(): void {
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
    store<u32>(CRC_TABLE + (<usize>i << 2), c);
  }
  crcReady = true;
}

/** The SCTP checksum of the packet at `sh` (common header) of `len` bytes, with the checksum field
 *  taken as zero, as stored on the wire (le32 of the final CRC, loaded little-endian). */
export function sctpCrc(sh: usize, len: u32): u32 {
  if (!crcReady) crcInit();
  let crc: u32 = 0xffffffff;
  for (let i: u32 = 0; i < len; i++) {
    const b = (i >= 8 && i < 12) ? 0 : <u32>load<u8>(sh + i);
    crc = load<u32>(CRC_TABLE + (<usize>((crc ^ b) & 0xff) << 2)) ^ (crc >> 8);
  }
  return ~crc;
}
