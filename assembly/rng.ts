// Counter-based random draws: a packet's draws depend only on (seed, packet ordinal, key, how many
// draws the packet made before), never on batch size or worker count.
import { H_SEED_LO, H_SEED_HI, P_ORDINAL, P_DRAWS } from '../src/layout';
import { PKT, imgw } from './state';

// @ts-ignore: decorator
@inline function mix64(z0: u64): u64 {
  // splitmix64 finaliser
  let z = z0;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

/** Next 32-bit random number for this packet under `key` (a rule id, or a NAT key). */
export function draw(key: u32): u32 {
  const seed = (<u64><u32>imgw(H_SEED_HI) << 32) | <u64><u32>imgw(H_SEED_LO);
  const n = load<u16>(PKT, P_DRAWS);
  store<u16>(PKT, n + 1, P_DRAWS);
  let h = mix64(seed + 0x9e3779b97f4a7c15 * (<u64>load<u32>(PKT, P_ORDINAL) + 1));
  h = mix64(h ^ ((<u64>key << 32) | <u64>n));
  return <u32>(h >> 32);
}

/** Key of NAT port draws (rule ids are far below it). */
export const NAT_DRAW_KEY: u32 = 0xfffff000;
