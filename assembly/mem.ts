// Setup-time memory: a bump allocator over memory.grow. Never called per packet.
let top: usize = 0;

/** Reserve `bytes` (16-byte aligned, zeroed by memory.grow or explicitly) and return the address. */
export function reserve(bytes: usize): usize {
  if (top == 0) top = (__heap_base + 63) & ~63;
  const at = top;
  const end = (at + bytes + 63) & ~(<usize>63);
  const have = <usize>memory.size() << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) unreachable();
  }
  // pages memory.grow just added are zero already: clear only what lay below the old size
  // (touching a fresh 60 MB conntrack table here cost every core instance ~40 ms of page faults)
  if (at < have) memory.fill(at, 0, (end < have ? end : have) - at);
  top = end;
  return at;
}

/** Current end of reserved memory (for memory reports). */
export function reservedTop(): usize {
  return top;
}
