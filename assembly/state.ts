// Process-wide state of one core instance: where things are. Set once by setup exports.
import { P_SIZE } from '../src/layout';

/** The packet scratch record (layout P_* in src/layout.ts). */
export const PKT: usize = memory.data(P_SIZE, 16);

/** Address of the image (Int32 words) in linear memory; word i is at IMG + (i << 2). */
export let IMG: usize = 0;
/** Counters region: per counter index, u64 packets at +0 and u64 bytes at +8. */
export let COUNTERS: usize = 0;

export function setImage(addr: usize): void { IMG = addr; }
export function setCounters(addr: usize): void { COUNTERS = addr; }

/** Image word i. */
// @ts-ignore: decorator
@inline export function imgw(i: i32): i32 {
  return load<i32>(IMG + (<usize>i << 2));
}
