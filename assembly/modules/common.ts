// Shared helpers of the module twins: hotdrop flag, per-rule state slots, params access.
import { PKT, imgw } from '../state';

/** Set by a match that cannot read what it must (truncated header): the table returns DROP. */
export let hotdrop: bool = false;
export function setHotdrop(): void { hotdrop = true; }
export function clearHotdrop(): void { hotdrop = false; }

/** Per-rule state slots (nth counters, limit buckets): 4 words each, zeroed at setup. */
export let STATE_BASE: usize = 0;
export function setStateBase(a: usize): void { STATE_BASE = a; }
// @ts-ignore: decorator
@inline export function slotAddr(slot: i32): usize { return STATE_BASE + (<usize>slot << 4); }

/** Param word k of a module whose params start at image word p. */
// @ts-ignore: decorator
@inline export function pw(p: i32, k: i32): i32 { return imgw(p + k); }
// @ts-ignore: decorator
@inline export function pu(p: i32, k: i32): u32 { return <u32>imgw(p + k); }

// @ts-ignore: decorator
@inline export function inRange(v: u32, lo: u32, hi: u32): bool { return v >= lo && v <= hi; }

export { PKT };
