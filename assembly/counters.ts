// Rule and policy counters: per counter index a u64 packet count at +0 and a u64 byte count at +8
// (CNT_SIZE bytes), in the region the host reserved (state.ts COUNTERS).
import { CNT_SIZE } from '../src/layout';
import { COUNTERS } from './state';

// @ts-ignore: decorator
@inline export function count(idx: i32, bytes: u32): void {
  const a = COUNTERS + <usize>idx * CNT_SIZE;
  store<u64>(a, load<u64>(a) + 1);
  store<u64>(a, load<u64>(a, 8) + <u64>bytes, 8);
}
