/**
 * Tests of the zCDP accounting. Known answers were computed independently (Python, float64)
 * from the formulas in the cited papers; the rest are monotonicity and round-trip properties.
 */
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  composeRho,
  epsDeltaToRho,
  mechanismVarianceForRho,
  noisyMeanCost,
  noisyVarianceCost,
  rationalAtLeast,
  rhoDistributedDiscreteGaussian,
  rhoGaussian,
  rhoSkellam,
  rhoToEpsDelta,
  varianceForRho,
} from './accounting.ts';
import { createRandom, distributedNoiseShare } from './noise.ts';

describe('known answers', () => {
  it('Gaussian / discrete Gaussian: ρ = Δ²/(2σ²)', () => {
    expect(rhoGaussian(1, 50)).toBeCloseTo(0.01, 15);
    expect(rhoGaussian(3, 2)).toBeCloseTo(2.25, 15);
    expect(varianceForRho(1, 0.01)).toBeCloseTo(50, 12);
    expect(varianceForRho(120, 0.1)).toBeCloseTo(72_000, 9);
  });

  it('Bun–Steinke Prop. 1.3: ε = ρ + 2√(ρ ln(1/δ)) and its inverse', () => {
    expect(rhoToEpsDelta(0.01, 1e-6)).toBeCloseTo(0.7533844377699678, 13);
    expect(rhoToEpsDelta(0.0108, 1e-6)).toBeCloseTo(0.7833477694641651, 13);
    expect(epsDeltaToRho(1, 1e-6)).toBeCloseTo(0.01746890476912338, 15);
    expect(epsDeltaToRho(0.7533844377699678, 1e-6)).toBeCloseTo(0.01, 14);
    expect(rhoToEpsDelta(0, 1e-6)).toBe(0);
  });

  it('Skellam (AKL21 bound, as zCDP): ρ = Δ²/(2V) + min((Δ²+3Δ)/(2V²), 3Δ/(2V)), V = 2μ', () => {
    expect(rhoSkellam(1, 25)).toBeCloseTo(0.0108, 15); // 0.01 + min(0.0008, 0.03)
    expect(rhoSkellam(1, 0.5)).toBeCloseTo(2, 15); // V = 1: 0.5 + min(2, 1.5)
    expect(rhoSkellam(2, 50)).toBeCloseTo(0.02 + 10 / 20_000, 15);
    // Solving 1/(2V) + 2/V² = 0.01: V = (0.5 + √0.33)/0.02.
    expect(mechanismVarianceForRho('skellam', 1, 0.01)).toBeCloseTo(53.72281323269014, 9);
  });

  it('distributed discrete Gaussian (KLS21): τ-corrected ρ', () => {
    // σᵢ² = 0.5, n = 4: τ = 10·Σ_{k=1..3} e^{−π²k/(k+1)} ≈ 0.0919, ρ = min(1/4 + τ, (1/√2 + τ)²/2).
    expect(rhoDistributedDiscreteGaussian(1, 2, 4)).toBeCloseTo(0.3192059676499768, 13);
    // One node: exactly the discrete Gaussian's ρ; large σᵢ: τ vanishes.
    expect(rhoDistributedDiscreteGaussian(1, 50, 1)).toBe(rhoGaussian(1, 50));
    expect(rhoDistributedDiscreteGaussian(1, 50, 5)).toBeCloseTo(0.01, 15);
  });

  it('composes by summing ρ', () => {
    expect(composeRho([0.01, 0.02, 0.005])).toBeCloseTo(0.035, 15);
    expect(composeRho([])).toBe(0);
  });
});

describe('monotonicity and round trips', () => {
  const rho = fc.double({ min: 1e-6, max: 10, noNaN: true });
  const delta = fc.double({ min: 1e-15, max: 0.5, noNaN: true });
  const sens = fc.integer({ min: 1, max: 1_000_000 });

  it('ε(ρ, δ) increases with ρ, decreases with δ, and inverts through epsDeltaToRho', () => {
    fc.assert(
      fc.property(rho, rho, delta, delta, (r1, r2, d1, d2) => {
        const [a, b] = r1 <= r2 ? [r1, r2] : [r2, r1];
        const [dSmall, dLarge] = d1 <= d2 ? [d1, d2] : [d2, d1];
        expect(rhoToEpsDelta(a, dSmall)).toBeLessThanOrEqual(rhoToEpsDelta(b, dSmall));
        expect(rhoToEpsDelta(a, dLarge)).toBeLessThanOrEqual(rhoToEpsDelta(a, dSmall));
        const back = epsDeltaToRho(rhoToEpsDelta(a, dSmall), dSmall);
        expect(Math.abs(back - a)).toBeLessThanOrEqual(1e-9 * a);
      }),
    );
  });

  it('variance ↔ ρ round trips, and Skellam / distributed DG never cost less than the Gaussian', () => {
    fc.assert(
      fc.property(sens, rho, fc.integer({ min: 1, max: 20 }), (d, r, n) => {
        const v = varianceForRho(d, r);
        expect(Math.abs(rhoGaussian(d, v) - r)).toBeLessThanOrEqual(1e-12 * r);
        const vs = mechanismVarianceForRho('skellam', d, r);
        expect(rhoSkellam(d, vs / 2)).toBeLessThanOrEqual(r);
        expect(rhoSkellam(d, (vs / 2) * (1 - 1e-9))).toBeGreaterThan(r * (1 - 1e-6));
        expect(vs).toBeGreaterThanOrEqual(v * (1 - 1e-12));
        // Equal up to floating-point rounding (a few ULPs) at the boundary.
        expect(rhoSkellam(d, v / 2)).toBeGreaterThanOrEqual(r * (1 - 1e-12));
        const vg = mechanismVarianceForRho('discrete-gaussian', d, r, n);
        expect(rhoDistributedDiscreteGaussian(d, vg, n)).toBeLessThanOrEqual(r);
        expect(vg).toBeGreaterThanOrEqual(Math.max(v, n / 4) * (1 - 1e-12));
      }),
    );
  });

  it('ρ decreases with the variance and increases with the sensitivity', () => {
    for (const f of [
      (d: number, v: number) => rhoGaussian(d, v),
      (d: number, v: number) => rhoSkellam(d, v / 2),
      (d: number, v: number) => rhoDistributedDiscreteGaussian(d, v, 4),
    ]) {
      let previous = Infinity;
      for (const v of [1, 2, 5, 10, 100, 1e4, 1e8]) {
        const r = f(3, v);
        expect(r).toBeLessThan(previous);
        expect(f(4, v)).toBeGreaterThan(r);
        previous = r;
      }
    }
    // The Skellam correction vanishes relative to the Gaussian ρ as the variance grows.
    expect(rhoSkellam(1, 5e5) / rhoGaussian(1, 1e6)).toBeCloseTo(1, 5);
    expect(rhoSkellam(1, 5) / rhoGaussian(1, 10)).toBeGreaterThan(1.3);
  });

  it('rejects out-of-domain arguments', () => {
    expect(() => rhoGaussian(1, 0)).toThrow(RangeError);
    expect(() => rhoGaussian(-1, 1)).toThrow(RangeError);
    expect(() => rhoSkellam(1.5, 10)).toThrow(RangeError);
    expect(() => rhoToEpsDelta(0.1, 0)).toThrow(RangeError);
    expect(() => rhoToEpsDelta(0.1, 1)).toThrow(RangeError);
    expect(() => epsDeltaToRho(Number.NaN, 1e-6)).toThrow(RangeError);
    expect(() => rhoDistributedDiscreteGaussian(1, 1, 5)).toThrow(RangeError); // σᵢ² = 0.2 < 1/4
    expect(() => rhoDistributedDiscreteGaussian(1, 10, 0)).toThrow(RangeError);
    expect(() => varianceForRho(1, 0)).toThrow(RangeError);
  });
});

describe('rationalAtLeast', () => {
  it('rounds up to a dyadic rational, exactly when possible', () => {
    expect(rationalAtLeast(54.25)).toEqual({ num: 56_885_248n, den: 1_048_576n });
    expect(rationalAtLeast(3)).toEqual({ num: 3n << 20n, den: 1n << 20n });
    expect(rationalAtLeast(0)).toEqual({ num: 0n, den: 1n << 20n });
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e12, noNaN: true }), (x) => {
        const r = rationalAtLeast(x);
        const value = Number(r.num) / Number(r.den);
        expect(value).toBeGreaterThanOrEqual(x);
        expect(value - x).toBeLessThanOrEqual(2 ** -20 + x * 2 ** -52);
      }),
    );
    expect(() => rationalAtLeast(-1)).toThrow(RangeError);
  });
});

describe('noisyMeanCost / noisyVarianceCost', () => {
  it('splits ρ equally over count and shifted sum, with Δ = 1 and (hi − lo)·scale', () => {
    const cost = noisyMeanCost({ range: { lo: 60, hi: 200, scale: 10 }, rho: 0.1 });
    expect(cost.rho).toBeCloseTo(0.1, 15);
    expect(cost.statistics.map((s) => [s.statistic, s.sensitivity])).toEqual([
      ['count', 1],
      ['sum', 1400],
    ]);
    for (const s of cost.statistics) {
      expect(s.rho).toBeCloseTo(0.05, 15);
      // Default mechanism: Skellam, sized by inverting its ρ.
      expect(rhoSkellam(s.sensitivity, s.variance / 2)).toBeLessThanOrEqual(0.05);
      expect(s.variance).toBeGreaterThanOrEqual(varianceForRho(s.sensitivity, 0.05));
      expect(Number(s.varianceRational.num) / Number(s.varianceRational.den)).toBeGreaterThanOrEqual(s.variance);
    }
  });

  it('adds the sum of squares with Δ = ((hi − lo)·scale)² for a variance query', () => {
    const cost = noisyVarianceCost({ range: { lo: 0, hi: 120 }, rho: 0.3, mechanism: 'discrete-gaussian', participants: 1 });
    expect(cost.statistics.map((s) => s.sensitivity)).toEqual([1, 120, 14_400]);
    expect(cost.rho).toBeCloseTo(0.3, 15);
    // One discrete-Gaussian share: exactly Δ²/(2ρᵢ) (up to the 1e-12 round-up).
    for (const s of cost.statistics) {
      expect(s.variance / varianceForRho(s.sensitivity, 0.1)).toBeCloseTo(1, 10);
    }
    const negative = noisyVarianceCost({ range: { lo: -2.5, hi: 1.5, scale: 100 }, rho: 1 });
    expect(negative.statistics.map((s) => s.sensitivity)).toEqual([1, 400, 160_000]);
  });

  it('rejects ranges that are not whole fixed-point units', () => {
    expect(() => noisyMeanCost({ range: { lo: 0, hi: 1.5 }, rho: 1 })).toThrow(RangeError);
    expect(() => noisyMeanCost({ range: { lo: 2, hi: 1 }, rho: 1 })).toThrow(RangeError);
    expect(noisyMeanCost({ range: { lo: 0.1, hi: 0.3, scale: 10 }, rho: 1 }).statistics[1]!.sensitivity).toBe(2);
  });

  it('end to end: 3 nodes add shares sized by noisyMeanCost; the decoded mean is unbiased', () => {
    // Seeded SHA-256 counter-mode randomness, as in noise.test.ts.
    let counter = 0;
    let block: Uint8Array = new Uint8Array(0);
    let pos = 0;
    const rng = createRandom((out) => {
      for (let i = 0; i < out.length; i++) {
        if (pos === block.length) {
          block = sha256(new TextEncoder().encode(`accounting-e2e/${counter++}`));
          pos = 0;
        }
        out[i] = block[pos++]!;
      }
    });
    const range = { lo: 60, hi: 200, scale: 10 };
    const cost = noisyMeanCost({ range, rho: 0.5, participants: 3 });
    const [countCost, sumCost] = cost.statistics;
    // True data: 3 hospitals, 500 patients each, systolic 130.0 mmHg on average.
    const count = 1500n;
    const shiftedSum = count * BigInt((130 - range.lo) * range.scale);
    const trials = 400;
    let meanOfMeans = 0;
    for (let t = 0; t < trials; t++) {
      let noisyCount = count;
      let noisySum = shiftedSum;
      for (let node = 0; node < 3; node++) {
        noisyCount += distributedNoiseShare({ mechanism: 'skellam', variance: countCost!.varianceRational, participants: 3, rng });
        noisySum += distributedNoiseShare({ mechanism: 'skellam', variance: sumCost!.varianceRational, participants: 3, rng });
      }
      meanOfMeans += range.lo + Number(noisySum) / range.scale / Number(noisyCount);
    }
    meanOfMeans /= trials;
    // Per-trial SD ≈ √(Var_sum)/(scale·n) ⊕ 70·√(Var_count)/n ≈ 0.13 ⊕ 0.07 ≈ 0.15 mmHg, so the
    // mean of 400 trials has SE ≈ 0.0075: 0.05 is over 6 SE.
    expect(Math.abs(meanOfMeans - 130)).toBeLessThan(0.05);
  });
});
