/**
 * mulberry32: a small seeded PRNG for reproducible test inputs (simulated cohorts, fuzzed
 * requests). Not for anything secret: the protocol's randomness is the platform CSPRNG.
 */

/**
 * A PRNG in [0, 1) from a 32-bit seed.
 *
 * @example
 * const r = mulberry32(42); r(); // 0.6011037519201636
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
