/**
 * Statistical tests of the exact samplers. Randomness comes from a seeded SHA-256 counter-mode
 * byte stream, so every run draws the same samples: the tests are reproducible, and a failure
 * is a real deviation, not a flake. Oracles are computed here independently of the samplers
 * (pmfs summed in float64, which is fine for an oracle: it never feeds the sampling path).
 *
 * Bounds: every frequency, mean or variance is compared with its exact expectation within
 * 5 standard errors (two-sided p ≈ 6·10⁻⁷ under the null), and every goodness-of-fit
 * chi-square against the Wilson–Hilferty 5σ quantile of its χ²(df) distribution. Each
 * goodness-of-fit test also shows its power: the same samples are rejected against a pmf with
 * a parameter off by 10–20%.
 */
import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  createRandom,
  distributedNoiseShare,
  sampleBernoulliExp,
  sampleDiscreteGaussian,
  sampleDiscreteLaplace,
  samplePoisson,
  sampleSkellam,
  poissonInternals,
} from './noise.ts';
import type { ByteSource, ExactRandom, Rational } from './noise.ts';

/** SHA-256(seed ‖ counter₆₄) blocks, concatenated: a deterministic stand-in for WebCrypto. */
function seededSource(seed: string): ByteSource {
  const seedBytes = new TextEncoder().encode(seed);
  const input = new Uint8Array(seedBytes.length + 8);
  input.set(seedBytes);
  const view = new DataView(input.buffer);
  let counter = 0n;
  let block: Uint8Array = new Uint8Array(0);
  let pos = 0;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      if (pos === block.length) {
        view.setBigUint64(seedBytes.length, counter++);
        block = sha256(input);
        pos = 0;
      }
      out[i] = block[pos++]!;
    }
  };
}

function seeded(seed: string): ExactRandom {
  return createRandom(seededSource(seed));
}

/** Upper 5σ quantile of χ²(df) by the Wilson–Hilferty cube approximation. */
function chiSquareLimit(df: number): number {
  const c = 2 / (9 * df);
  return df * (1 - c + 5 * Math.sqrt(c)) ** 3;
}

/**
 * Pearson chi-square of observed counts against a pmf on the integers in [lo, hi] (mass
 * outside counted in the end bins), pooling adjacent values until each bin expects ≥ 20.
 */
function chiSquare(counts: Map<number, number>, pmf: (k: number) => number, lo: number, hi: number, n: number): { stat: number; df: number } {
  const cells: { expected: number; observed: number }[] = [];
  let expected = 0;
  let observed = 0;
  let inside = 0;
  for (let k = lo; k <= hi; k++) {
    const p = pmf(k);
    inside += p;
    expected += n * p;
    observed += counts.get(k) ?? 0;
    if (expected >= 20) {
      cells.push({ expected, observed });
      expected = 0;
      observed = 0;
    }
  }
  // Whatever lies outside [lo, hi] goes into the last cell with the leftover.
  let outsideObserved = 0;
  for (const [k, c] of counts) if (k < lo || k > hi) outsideObserved += c;
  expected += n * Math.max(0, 1 - inside);
  observed += outsideObserved;
  if (cells.length > 0) {
    const last = cells[cells.length - 1]!;
    last.expected += expected;
    last.observed += observed;
  }
  let stat = 0;
  for (const cell of cells) stat += (cell.observed - cell.expected) ** 2 / cell.expected;
  return { stat, df: cells.length - 1 };
}

function histogram(samples: readonly bigint[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const s of samples) {
    const k = Number(s);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

function moments(samples: readonly bigint[]): { mean: number; variance: number } {
  let sum = 0;
  for (const s of samples) sum += Number(s);
  const mean = sum / samples.length;
  let sq = 0;
  for (const s of samples) sq += (Number(s) - mean) ** 2;
  return { mean, variance: sq / (samples.length - 1) };
}

function draw(n: number, sampler: () => bigint): bigint[] {
  return Array.from({ length: n }, sampler);
}

/** Normalized pmf of the discrete Gaussian N_ℤ(0, σ²) and its exact moments (float oracle). */
function discreteGaussian(sigma2: number): { pmf: (k: number) => number; variance: number; fourth: number } {
  const reach = Math.ceil(12 * Math.sqrt(sigma2) + 12);
  let z = 0;
  let m2 = 0;
  let m4 = 0;
  for (let k = -reach; k <= reach; k++) {
    const w = Math.exp(-(k * k) / (2 * sigma2));
    z += w;
    m2 += w * k * k;
    m4 += w * k ** 4;
  }
  return { pmf: (k) => Math.exp(-(k * k) / (2 * sigma2)) / z, variance: m2 / z, fourth: m4 / z };
}

function poissonPmf(mu: number): (k: number) => number {
  const logMu = Math.log(mu);
  const cache: number[] = [-mu];
  return (k) => {
    if (k < 0) return 0;
    for (let i = cache.length; i <= k; i++) cache.push(cache[i - 1]! + logMu - Math.log(i));
    return Math.exp(cache[k]!);
  };
}

describe('createRandom', () => {
  it('draws uniform integers below n without modulo bias (chi-square, n = 7 and 2^40 + 3)', () => {
    const rng = seeded('uniform');
    const n = 70_000;
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const v = Number(rng.uniformBelow(7n));
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const { stat, df } = chiSquare(counts, () => 1 / 7, 0, 6, n);
    expect(df).toBe(6);
    expect(stat).toBeLessThan(chiSquareLimit(df));

    // Large n (multi-byte, BigInt path): the top bit of the range is hit about 1/2 the time.
    const big = (1n << 60n) + 3n;
    let high = 0;
    for (let i = 0; i < 4000; i++) {
      const v = rng.uniformBelow(big);
      expect(v >= 0n && v < big).toBe(true);
      if (v >= 1n << 59n) high++;
    }
    expect(Math.abs(high - 2000)).toBeLessThan(5 * Math.sqrt(1000));
  });

  it('is reproducible for a seeded source and uses WebCrypto by default', () => {
    const a = seeded('same');
    const b = seeded('same');
    const xs = Array.from({ length: 50 }, () => a.uniformBelow(1000n));
    const ys = Array.from({ length: 50 }, () => b.uniformBelow(1000n));
    expect(xs).toEqual(ys);
    const fresh = createRandom();
    const v = fresh.uniformBelow(10n ** 30n);
    expect(v >= 0n && v < 10n ** 30n).toBe(true);
  });

  it('flips exact rational coins and rejects invalid parameters', () => {
    const rng = seeded('bernoulli');
    expect(rng.bernoulli(0n, 5n)).toBe(false);
    expect(rng.bernoulli(5n, 5n)).toBe(true);
    let heads = 0;
    const n = 30_000;
    for (let i = 0; i < n; i++) if (rng.bernoulli(1n, 3n)) heads++;
    expect(Math.abs(heads / n - 1 / 3)).toBeLessThan(5 * Math.sqrt((1 / 3) * (2 / 3) / n));
    expect(() => rng.uniformBelow(0n)).toThrow(RangeError);
    expect(() => rng.bernoulli(3n, 2n)).toThrow(RangeError);
    expect(() => rng.bernoulli(-1n, 2n)).toThrow(RangeError);
  });
});

describe('sampleBernoulliExp (CKS20 Algorithm 1)', () => {
  const cases: [bigint, bigint][] = [
    [0n, 1n],
    [1n, 3n],
    [1n, 2n],
    [1n, 1n],
    [3n, 2n],
    [7n, 3n],
    [5n, 1n],
  ];
  it.each(cases)('Bernoulli(exp(−%i/%i)) matches exp(−γ) within 5 standard errors', (num, den) => {
    const rng = seeded(`bexp-${num}/${den}`);
    const p = Math.exp(-Number(num) / Number(den));
    const n = 40_000;
    let hits = 0;
    for (let i = 0; i < n; i++) if (sampleBernoulliExp(num, den, rng)) hits++;
    const se = Math.sqrt((p * (1 - p)) / n);
    expect(Math.abs(hits / n - p)).toBeLessThanOrEqual(5 * se + 1e-12);
  });

  it('would notice a wrong probability (power check: exp(−1/2) vs exp(−0.55))', () => {
    const rng = seeded('bexp-power');
    const n = 40_000;
    let hits = 0;
    for (let i = 0; i < n; i++) if (sampleBernoulliExp(1n, 2n, rng)) hits++;
    const wrong = Math.exp(-0.55);
    expect(Math.abs(hits / n - wrong)).toBeGreaterThan(5 * Math.sqrt((wrong * (1 - wrong)) / n));
  });

  it('rejects negative γ', () => {
    expect(() => sampleBernoulliExp(-1n, 2n, seeded('x'))).toThrow(RangeError);
  });
});

describe('sampleDiscreteLaplace (CKS20 Algorithm 2)', () => {
  it.each([
    [1n, 1n],
    [5n, 2n],
  ])('fits P[x] ∝ exp(−|x|/t) for t = %i/%i (chi-square) and is symmetric', (tNum, tDen) => {
    const t = Number(tNum) / Number(tDen);
    const rng = seeded(`laplace-${t}`);
    const n = 20_000;
    const samples = draw(n, () => sampleDiscreteLaplace(tNum, tDen, rng));
    const q = Math.exp(-1 / t);
    const pmf = (x: number): number => ((1 - q) / (1 + q)) * q ** Math.abs(x);
    const reach = Math.ceil(30 * t);
    const fit = chiSquare(histogram(samples), pmf, -reach, reach, n);
    expect(fit.stat).toBeLessThan(chiSquareLimit(fit.df));
    const { mean } = moments(samples);
    const variance = (2 * q) / (1 - q) ** 2;
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(variance / n));
    // Power: a 20% larger scale is rejected by the same samples.
    const q2 = Math.exp(-1 / (1.2 * t));
    const wrong = chiSquare(histogram(samples), (x) => ((1 - q2) / (1 + q2)) * q2 ** Math.abs(x), -reach, reach, n);
    expect(wrong.stat).toBeGreaterThan(chiSquareLimit(wrong.df));
  });
});

describe('sampleDiscreteGaussian (CKS20 Algorithm 3)', () => {
  const cases: [string, bigint, bigint][] = [
    ['0.5', 1n, 2n],
    ['4', 4n, 1n],
    ['100', 100n, 1n],
    ['10000', 10_000n, 1n],
  ];
  it.each(cases)('σ² = %s: mean 0, variance, 3σ tail and symmetry match the exact pmf', (_label, num, den) => {
    const sigma2 = Number(num) / Number(den);
    const sigma = Math.sqrt(sigma2);
    const rng = seeded(`dgauss-${sigma2}`);
    const n = 20_000;
    const samples = draw(n, () => sampleDiscreteGaussian(num, den, rng));
    const exact = discreteGaussian(sigma2);
    const { mean, variance } = moments(samples);
    // Mean: SE = √(Var/n). Sample variance: SE ≈ √((μ₄ − Var²)/n).
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(exact.variance / n));
    expect(Math.abs(variance - exact.variance)).toBeLessThan(5 * Math.sqrt((exact.fourth - exact.variance ** 2) / n));
    // The pmf-derived variance is σ² up to e^(−2π²σ²)-small terms once σ² ≳ 1.
    if (sigma2 >= 4) expect(Math.abs(exact.variance / sigma2 - 1)).toBeLessThan(1e-12);

    // Tail P[|X| > 3σ], summed from the pmf.
    const cut = Math.floor(3 * sigma);
    let tail = 1;
    for (let k = -cut; k <= cut; k++) tail -= exact.pmf(k);
    const observedTail = samples.filter((s) => Math.abs(Number(s)) > cut).length / n;
    expect(Math.abs(observedTail - tail)).toBeLessThan(5 * Math.sqrt((tail * (1 - tail)) / n) + 1 / n);

    // Symmetry: #positive vs #negative is Binomial(m, 1/2) given m = their sum.
    const positive = samples.filter((s) => s > 0n).length;
    const negative = samples.filter((s) => s < 0n).length;
    expect(Math.abs(positive - negative)).toBeLessThan(5 * Math.sqrt(positive + negative));
  });

  it.each([
    ['0.5', 1n, 2n],
    ['4', 4n, 1n],
  ])('σ² = %s: goodness of fit to the whole pmf, and a 10%%-off σ² is rejected', (_label, num, den) => {
    const sigma2 = Number(num) / Number(den);
    const rng = seeded(`dgauss-fit-${sigma2}`);
    const n = 20_000;
    const counts = histogram(draw(n, () => sampleDiscreteGaussian(num, den, rng)));
    const reach = Math.ceil(10 * Math.sqrt(sigma2)) + 3;
    const fit = chiSquare(counts, discreteGaussian(sigma2).pmf, -reach, reach, n);
    expect(fit.stat).toBeLessThan(chiSquareLimit(fit.df));
    const wrong = chiSquare(counts, discreteGaussian(sigma2 * 1.1).pmf, -reach, reach, n);
    expect(wrong.stat).toBeGreaterThan(chiSquareLimit(wrong.df));
  });

  it('accepts rational σ² with a large denominator and σ² = 0', () => {
    const rng = seeded('dgauss-rational');
    expect(sampleDiscreteGaussian(0n, 7n, rng)).toBe(0n);
    // σ² = 2.5 written as 2_500_000_000 / 1_000_000_000.
    const samples = draw(10_000, () => sampleDiscreteGaussian(2_500_000_000n, 1_000_000_000n, rng));
    const exact = discreteGaussian(2.5);
    const { variance } = moments(samples);
    expect(Math.abs(variance - exact.variance)).toBeLessThan(5 * Math.sqrt((exact.fourth - exact.variance ** 2) / 10_000));
    expect(() => sampleDiscreteGaussian(-1n, 1n, rng)).toThrow(RangeError);
  });
});

describe('samplePoisson (exact rejection sampler)', () => {
  // Both proposal kinds: rational tails (⌊μ⌋ < 128) and exp tails with squeezes (⌊μ⌋ ≥ 128).
  const cases: [string, bigint, bigint][] = [
    ['3/10', 3n, 10n],
    ['5/2', 5n, 2n],
    ['127/2', 127n, 2n],
    ['130', 130n, 1n],
    ['1000', 1000n, 1n],
    ['4097/3', 4097n, 3n],
  ];
  it.each(cases)('μ = %s: fits the Poisson pmf (chi-square); μ·1.1 (or +0.05 for small μ) is rejected', (_label, num, den) => {
    const mu = Number(num) / Number(den);
    const rng = seeded(`poisson-${num}/${den}`);
    const n = 20_000;
    const counts = histogram(draw(n, () => samplePoisson(num, den, rng)));
    const hi = Math.ceil(mu + 12 * Math.sqrt(mu) + 12);
    const fit = chiSquare(counts, poissonPmf(mu), 0, hi, n);
    expect(fit.stat).toBeLessThan(chiSquareLimit(fit.df));
    const wrongMu = mu < 1 ? mu + 0.05 : mu * 1.1;
    const wrong = chiSquare(counts, poissonPmf(wrongMu), 0, hi, n);
    expect(wrong.stat).toBeGreaterThan(chiSquareLimit(wrong.df));
  });

  it('has mean and variance μ for huge μ (10¹²/7 and 10¹⁸), in O(1) time per draw', () => {
    for (const [num, den] of [
      [10n ** 12n, 7n],
      [10n ** 18n, 1n],
    ] as const) {
      const rng = seeded(`poisson-huge-${num}`);
      const n = 4000;
      const mu = Number(num) / Number(den);
      // Center exactly in BigInt before converting, to keep float64 precision.
      const center = num / den;
      const deviations = draw(n, () => samplePoisson(num, den, rng) - center);
      const shift = Number(num - center * den) / Number(den); // μ − ⌊μ⌋
      const { mean, variance } = moments(deviations);
      expect(Math.abs(mean - shift)).toBeLessThan(5 * Math.sqrt(mu / n));
      // Poisson: μ₄ = μ + 3μ², so SE(s²) ≈ √((μ + 2μ²)/n).
      expect(Math.abs(variance - mu)).toBeLessThan(5 * Math.sqrt((mu + 2 * mu * mu) / n));
    }
  });

  it('returns 0 for μ = 0 and rejects invalid μ', () => {
    const rng = seeded('poisson-edge');
    expect(samplePoisson(0n, 3n, rng)).toBe(0n);
    expect(() => samplePoisson(-1n, 3n, rng)).toThrow(RangeError);
    expect(() => samplePoisson(1n, 0n, rng)).toThrow(RangeError);
  });
});

describe('Poisson internals: squeeze bounds and the exact acceptance test', () => {
  const toFloat = (x: Rational): number => {
    // Scale both to ≤ 2^900 before converting, so that huge numerators stay finite.
    const shift = BigInt(Math.max(0, Math.max(x.num.toString(2).length, x.den.toString(2).length) - 900));
    return Number(x.num >> shift) / Number(x.den >> shift);
  };
  /** ln r(m+j) = ln(P[m+j]/P[m]) in float64, as a sum of logs. */
  const logRatio = (mu: number, m: number, j: number): number => {
    let s = 0;
    if (j > 0) for (let i = 1; i <= j; i++) s -= Math.log1p((m + i - mu) / mu);
    else for (let i = 0; i < -j; i++) s += Math.log1p(-(mu - m + i) / mu);
    return s;
  };

  it.each([
    ['130', 130n, 1n],
    ['1000/3', 1000n, 3n],
    ['5000', 5000n, 1n],
    ['(3·10⁶+1)/3', 3_000_001n, 3n],
  ])('μ = %s: lo ≤ ln r(m+j) ≤ hi over the box and both tails, with a gap O(|j|⁵/μ⁴)', (_label, num, den) => {
    const mu = Number(num) / Number(den);
    const p = poissonInternals.plan(num, den);
    const m = Number(p.m);
    const root = Math.sqrt(mu);
    for (let j = -Math.floor(Math.min(m * 0.45, 8 * root)); j <= Math.ceil(6 * root); j += Math.max(1, Math.floor(root / 10))) {
      const bounds = poissonInternals.logRatioBounds(p, BigInt(j));
      if (j < 0 && 2 * (mu - m + (-j - 1)) > mu) {
        expect(bounds).toBeUndefined();
        continue;
      }
      expect(bounds).toBeDefined();
      const lo = toFloat(bounds!.lo);
      const hi = toFloat(bounds!.hi);
      const exact = logRatio(mu, m, j);
      const slack = 1e-12 * Math.max(1, Math.abs(exact));
      expect(lo).toBeLessThanOrEqual(exact + slack);
      expect(hi).toBeGreaterThanOrEqual(exact - slack);
      // Gap: Σz⁴/4 (right) or Σw⁴/2 (left), each term ≤ (|j|/μ)⁴ up to the offset f < 1.
      const k = Math.abs(j) + 1;
      expect(hi - lo).toBeLessThanOrEqual(k * (k / mu) ** 4 + slack);
    }
  });

  it('encloses e^x and e^x − 1 in rigorous, tight intervals', () => {
    const bits = 60;
    const scale = 2 ** bits;
    const xs: [bigint, bigint][] = [
      [-50n, 1n],
      [-7n, 3n],
      [-1n, 3n],
      [1n, 1_000_000n],
      [1n, 2n],
      [7n, 3n],
      [30n, 1n],
    ];
    for (const [num, den] of xs) {
      const x = Number(num) / Number(den);
      const e = poissonInternals.exp({ num, den }, bits);
      const value = Math.exp(x) * scale;
      expect(Number(e.lo)).toBeLessThanOrEqual(value * (1 + 1e-15));
      expect(Number(e.hi)).toBeGreaterThanOrEqual(value * (1 - 1e-15));
      expect(Number(e.hi! - e.lo)).toBeLessThanOrEqual(value * 2 ** -50 + 4);
      if (x > 0) {
        const m = poissonInternals.expm1({ num, den }, bits);
        const v = Math.expm1(x) * scale;
        expect(Number(m.lo)).toBeLessThanOrEqual(v * (1 + 1e-15));
        expect(Number(m.hi)).toBeGreaterThanOrEqual(v * (1 - 1e-15));
        expect(Number(m.hi! - m.lo)).toBeLessThanOrEqual(v * 2 ** -50 + 4);
      }
    }
  });

  it.each([
    ['squeeze, then exact product if needed', true],
    ['exact product only', false],
  ])('accepts each proposal with exactly its probability A (%s)', (_label, squeeze) => {
    // μ = 130 (exp tails, J = 12) for the tails; μ = 2000 (J = 45) for box offsets |j| > 24,
    // which skip the small-rational shortcut.
    const tailFactor = (lambda: number, t: number): number => (lambda * Math.exp(lambda * t)) / Math.expm1(lambda);
    const small = poissonInternals.plan(130n, 1n);
    const large = poissonInternals.plan(2000n, 1n);
    const J = Number(small.J);
    const lambdaR = Number(small.right.lambdaNum) / Number(small.right.lambdaDen);
    const lambdaL = Number(small.left.lambdaNum) / Number(small.left.lambdaDen);
    const cases = [
      { p: large, j: 40, tail: undefined, a: Math.exp(logRatio(2000, 2000, 40)) },
      { p: large, j: -33, tail: undefined, a: Math.exp(logRatio(2000, 2000, -33)) },
      { p: small, j: J + 9, tail: 'right', a: Math.exp(logRatio(130, 130, J + 9)) * tailFactor(lambdaR, 9) },
      { p: small, j: J + 30, tail: 'right', a: Math.exp(logRatio(130, 130, J + 30)) * tailFactor(lambdaR, 30) },
      { p: small, j: -(J + 5), tail: 'left', a: Math.exp(logRatio(130, 130, -(J + 5))) * tailFactor(lambdaL, 5) },
      { p: small, j: -(J + 20), tail: 'left', a: Math.exp(logRatio(130, 130, -(J + 20))) * tailFactor(lambdaL, 20) },
    ] as const;
    const rng = seeded(`accept-${squeeze}`);
    const n = 8000;
    for (const { p, j, tail, a } of cases) {
      expect(a).toBeGreaterThan(0.02);
      expect(a).toBeLessThanOrEqual(1);
      let hits = 0;
      for (let i = 0; i < n; i++) if (poissonInternals.accept(p, BigInt(j), tail, rng, squeeze)) hits++;
      expect(Math.abs(hits / n - a), `j = ${j} ${tail ?? 'box'}`).toBeLessThan(5 * Math.sqrt((a * (1 - a)) / n));
    }
  });
});

describe('sampleSkellam', () => {
  it.each([
    ['1/4', 1n, 4n],
    ['5', 5n, 1n],
    ['5000', 5000n, 1n],
  ])('μ = %s: mean 0 and variance 2μ', (_label, num, den) => {
    const mu = Number(num) / Number(den);
    const rng = seeded(`skellam-${mu}`);
    const n = 20_000;
    const { mean, variance } = moments(draw(n, () => sampleSkellam(num, den, rng)));
    // Skellam(μ, μ): cumulants κ₂ = κ₄ = 2μ, so μ₄ = 2μ + 12μ² and SE(s²) ≈ √((2μ + 8μ²)/n).
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt((2 * mu) / n));
    expect(Math.abs(variance - 2 * mu)).toBeLessThan(5 * Math.sqrt((2 * mu + 8 * mu * mu) / n));
  });

  it('is symmetric: fits the exact Skellam(3/2) pmf, computed by convolving two Poisson pmfs', () => {
    const rng = seeded('skellam-fit');
    const n = 20_000;
    const counts = histogram(draw(n, () => sampleSkellam(3n, 2n, rng)));
    const p = poissonPmf(1.5);
    const pmf = (k: number): number => {
      let s = 0;
      for (let i = Math.max(0, k); i < Math.max(0, k) + 60; i++) s += p(i) * p(i - k);
      return s;
    };
    const fit = chiSquare(counts, pmf, -25, 25, n);
    expect(fit.stat).toBeLessThan(chiSquareLimit(fit.df));
  });
});

describe('distributedNoiseShare', () => {
  it.each([2, 3, 5])('skellam: the sum of %i shares has the intended total variance', (participants) => {
    const rng = seeded(`share-sk-${participants}`);
    const variance: Rational = { num: 30n, den: 1n };
    const n = 10_000;
    const sums = draw(n, () => {
      let s = 0n;
      for (let i = 0; i < participants; i++) s += distributedNoiseShare({ mechanism: 'skellam', variance, participants, rng });
      return s;
    });
    // The sum is exactly Skellam(15, 15): variance 30, μ₄ = 30 + 3·30².
    const { mean, variance: v } = moments(sums);
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(30 / n));
    expect(Math.abs(v - 30)).toBeLessThan(5 * Math.sqrt((30 + 2 * 900) / n));
  });

  it.each([2, 3, 5])('discrete-gaussian: the sum of %i shares has variance n·Var(N_ℤ(0, σ²/n))', (participants) => {
    const rng = seeded(`share-dg-${participants}`);
    const total = 6; // σᵢ² = 3, 2, 1.2: all ≥ 1/4, the [KLS21] regime
    const n = 10_000;
    const sums = draw(n, () => {
      let s = 0n;
      for (let i = 0; i < participants; i++) {
        s += distributedNoiseShare({ mechanism: 'discrete-gaussian', variance: { num: BigInt(total), den: 1n }, participants, rng });
      }
      return s;
    });
    const share = discreteGaussian(total / participants);
    const expected = participants * share.variance;
    // Sum of n iid: μ₄ = n·μ₄ᵢ + 3n(n−1)·σᵢ⁴.
    const fourth = participants * share.fourth + 3 * participants * (participants - 1) * share.variance ** 2;
    const { mean, variance } = moments(sums);
    expect(Math.abs(expected - total)).toBeLessThan(1e-6);
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(expected / n));
    expect(Math.abs(variance - expected)).toBeLessThan(5 * Math.sqrt((fourth - expected ** 2) / n));
  });

  it('splits a rational variance exactly: μᵢ = variance/(2n), σᵢ² = variance/n', () => {
    // Same seed, same draws: the share must be the direct sampler at the split parameter.
    const v: Rational = { num: 7n, den: 3n };
    const viaShare = (mechanism: 'skellam' | 'discrete-gaussian'): bigint[] => {
      const rng = seeded('split');
      return draw(40, () => distributedNoiseShare({ mechanism, variance: v, participants: 4, rng }));
    };
    const skellam = seeded('split');
    expect(viaShare('skellam')).toEqual(draw(40, () => sampleSkellam(7n, 24n, skellam)));
    const gauss = seeded('split');
    expect(viaShare('discrete-gaussian')).toEqual(draw(40, () => sampleDiscreteGaussian(7n, 12n, gauss)));
    // … and not some other parameter.
    const other = seeded('split');
    expect(viaShare('skellam')).not.toEqual(draw(40, () => sampleSkellam(7n, 12n, other)));
  });

  it('rejects bad options', () => {
    const rng = seeded('share-bad');
    const variance: Rational = { num: 1n, den: 1n };
    expect(() => distributedNoiseShare({ mechanism: 'skellam', variance, participants: 0, rng })).toThrow(RangeError);
    expect(() => distributedNoiseShare({ mechanism: 'skellam', variance, participants: 1.5, rng })).toThrow(RangeError);
    expect(() => distributedNoiseShare({ mechanism: 'skellam', variance: { num: 1n, den: 0n }, participants: 2, rng })).toThrow(RangeError);
    // @ts-expect-error: not a mechanism
    expect(() => distributedNoiseShare({ mechanism: 'laplace', variance, participants: 2, rng })).toThrow(RangeError);
  });
});

describe('noise.ts source', () => {
  it('is browser-safe and float-free on the sampling path (no node: imports, Math.random or Math.exp)', () => {
    const source = readFileSync(new URL('./noise.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/from\s+['"]node:/);
    expect(source).not.toMatch(/Math\.(random|exp|log|sqrt|pow)\b/);
  });
});
