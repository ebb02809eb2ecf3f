// Address encodings shared by the compiler and the lowerings.

/** host-order u32 -> P_SADDR encoding (the 4 wire bytes loaded as a little-endian u32), as i32 */
export function wireAddr(a: number): number {
  return ((a & 0xff) << 24) | ((a >>> 8 & 0xff) << 16) | ((a >>> 16 & 0xff) << 8) | (a >>> 24);
}

export function prefixMask(plen: number): number {
  return plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
}
