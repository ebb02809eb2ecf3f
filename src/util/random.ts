// mulberry32: the small seeded generator every generator and test in the project uses (capture
// generators, synthetic clusters, fuzzers). Deterministic across platforms; not the core's draw()
// (assembly/rng.ts), which is counter-based so replays do not depend on worker count.

/** A generator of u32 values. */
export function mulberry32u(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A generator of floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  const next = mulberry32u(seed);
  return () => next() / 4294967296;
}
