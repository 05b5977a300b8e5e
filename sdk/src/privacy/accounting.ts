/**
 * Privacy accounting in zero-concentrated differential privacy (zCDP).
 *
 * A mechanism M is ρ-zCDP if for all neighbouring datasets x, x' and all orders α ∈ (1, ∞),
 * D_α(M(x) ‖ M(x')) ≤ ρ·α (Rényi divergence) — [BS16] Definition 1.1. zCDP composes by
 * adding ρ ([BS16] Lemma 2.3), is closed under post-processing ([BS16] Lemma 1.8), and converts
 * to (ε, δ)-DP ([BS16] Proposition 1.3). Neighbouring here means adding or removing one
 * patient's record.
 *
 * References:
 * - [BS16] M. Bun, T. Steinke, "Concentrated Differential Privacy: Simplifications,
 *   Extensions, and Lower Bounds", TCC 2016.
 * - [CKS20] C. Canonne, G. Kamath, T. Steinke, "The Discrete Gaussian for Differential
 *   Privacy", NeurIPS 2020.
 * - [KLS21] P. Kairouz, Z. Liu, T. Steinke, "The Distributed Discrete Gaussian Mechanism for
 *   Federated Learning with Secure Aggregation", ICML 2021.
 * - [AKL21] N. Agarwal, P. Kairouz, Z. Liu, "The Skellam Mechanism for Differentially Private
 *   Federated Learning", NeurIPS 2021.
 *
 * These functions are plain float arithmetic: they size the noise and report the budget; the
 * noise itself is drawn exactly by `noise.ts`.
 */
import type { NoiseMechanism, Rational } from './noise.ts';

/**
 * ρ of the Gaussian mechanism with ℓ2 sensitivity Δ and noise variance σ²: Δ²/(2σ²)
 * ([BS16] Proposition 1.6). Also exact for the discrete Gaussian N_ℤ(0, σ²) with σ² its scale
 * parameter and Δ an integer ([CKS20] Theorem 4).
 *
 * @example
 * rhoGaussian(1, 50); // 0.01
 */
export function rhoGaussian(sensitivity: number, variance: number): number {
  checkSensitivity(sensitivity);
  checkPositive('variance', variance);
  return (sensitivity * sensitivity) / (2 * variance);
}

/**
 * ρ of the symmetric Skellam mechanism: noise Poisson(μ) − Poisson(μ) (variance V = 2μ) added
 * to an integer query of sensitivity Δ (an integer; in one dimension Δ₁ = Δ₂ = Δ).
 *
 * [AKL21] (Theorem 3.5 / Corollary 3.6, their μ being our V) bound the Rényi divergence by
 *   ε(α) ≤ αΔ²/(2V) + min( ((2α − 1)Δ² + 6Δ)/(4V²), 3Δ/(2V) ).
 * For α ≥ 1, (2α − 1)Δ² + 6Δ ≤ α(2Δ² + 6Δ) and 3Δ/(2V) ≤ α·3Δ/(2V), so ε(α) ≤ ρα with
 *   ρ = Δ²/(2V) + min( (Δ² + 3Δ)/(2V²), 3Δ/(2V) ),
 * the smallest slope this bound certifies: the Gaussian ρ plus a correction that vanishes as
 * O(1/V²) (for Δ = 1, V = 50: 0.01 + 0.0008). We use this conversion rather than the bare
 * approximation ρ ≈ Δ²/(2V), which [AKL21]'s bound does not guarantee.
 *
 * Caveat: reference accountants evaluate [AKL21]'s bound at integer orders α. If a strict
 * reading restricts it to integer α, the ρ above still bounds every integer order (which is
 * what RDP composition and the (ε, δ) conversion at the optimal α use, up to rounding α).
 *
 * @param mu - Poisson parameter of EACH side of the TOTAL noise (the sum of all shares).
 * @example
 * rhoSkellam(1, 25); // V = 50: 0.01 + min(4/5000, 3/100) = 0.0108
 */
export function rhoSkellam(sensitivity: number, mu: number): number {
  checkSensitivity(sensitivity);
  if (!Number.isInteger(sensitivity)) throw new RangeError('Skellam noise needs an integer sensitivity');
  checkPositive('mu', mu);
  const v = 2 * mu;
  const d = sensitivity;
  return (d * d) / (2 * v) + Math.min((d * d + 3 * d) / (2 * v * v), (3 * d) / (2 * v));
}

/**
 * ρ of the distributed discrete Gaussian: each of n nodes adds N_ℤ(0, σ²/n), σ² = `variance`
 * (the total scale), to an integer query of sensitivity Δ. The sum is not a discrete Gaussian;
 * [KLS21] (Proposition 14, used in their Theorem 1) show, for per-node σᵢ = √(σ²/n) ≥ 1/2,
 *   D_α ≤ αΔ²/(2σ²) + τ   and   D_α ≤ (α/2)(Δ/σ + τ)²,
 *   τ = 10·Σ_{k=1}^{n−1} exp(−2π²σᵢ²·k/(k+1)),
 * hence ρ = min( Δ²/(2σ²) + τ, (Δ/σ + τ)²/2 ). With n = 1, τ = 0: the discrete Gaussian's ρ.
 *
 * @example
 * rhoDistributedDiscreteGaussian(1, 2, 4); // σᵢ² = 0.5: τ ≈ 0.0919, ρ ≈ 0.3192
 */
export function rhoDistributedDiscreteGaussian(sensitivity: number, variance: number, participants: number): number {
  checkSensitivity(sensitivity);
  checkPositive('variance', variance);
  checkParticipants(participants);
  const perNode = variance / participants;
  if (perNode < 0.25) throw new RangeError('[KLS21] needs each node’s σᵢ ≥ 1/2, i.e. variance/participants ≥ 1/4');
  let tau = 0;
  for (let k = 1; k < participants; k++) tau += Math.exp((-2 * Math.PI * Math.PI * perNode * k) / (k + 1));
  tau *= 10;
  const d = sensitivity;
  const sigma = Math.sqrt(variance);
  return Math.min((d * d) / (2 * variance) + tau, (d / sigma + tau) ** 2 / 2);
}

/**
 * ε such that ρ-zCDP implies (ε, δ)-DP: ε = ρ + 2·√(ρ·ln(1/δ)) ([BS16] Proposition 1.3).
 *
 * @example
 * rhoToEpsDelta(0.01, 1e-6); // ≈ 0.75338
 */
export function rhoToEpsDelta(rho: number, delta: number): number {
  checkNonNegative('rho', rho);
  checkDelta(delta);
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

/**
 * The largest ρ whose [BS16] Proposition 1.3 conversion gives (ε, δ)-DP: the inverse of
 * {@link rhoToEpsDelta}, ρ = (√(L + ε) − √L)² with L = ln(1/δ), computed without cancellation
 * as (ε / (√(L + ε) + √L))².
 *
 * @example
 * epsDeltaToRho(1, 1e-6); // ≈ 0.01747
 */
export function epsDeltaToRho(eps: number, delta: number): number {
  checkNonNegative('eps', eps);
  checkDelta(delta);
  const l = Math.log(1 / delta);
  return (eps / (Math.sqrt(l + eps) + Math.sqrt(l))) ** 2;
}

/**
 * Variance σ² of Gaussian or discrete-Gaussian noise giving ρ-zCDP at sensitivity Δ:
 * Δ²/(2ρ), the inverse of {@link rhoGaussian}.
 *
 * @example
 * varianceForRho(1, 0.01); // 50
 */
export function varianceForRho(sensitivity: number, rho: number): number {
  checkSensitivity(sensitivity);
  checkPositive('rho', rho);
  return (sensitivity * sensitivity) / (2 * rho);
}

/**
 * Smallest TOTAL noise variance for which `mechanism` with `participants` shares is ρ-zCDP at
 * sensitivity Δ: `skellam` inverts {@link rhoSkellam} (variance = 2μ), `discrete-gaussian`
 * inverts {@link rhoDistributedDiscreteGaussian}. Both ρ(variance) are decreasing, so this is a
 * bisection; the result is rounded up (relative 1e-12) so that its ρ never exceeds the target.
 *
 * @example
 * mechanismVarianceForRho('skellam', 1, 0.01); // ≈ 53.72 (Gaussian: 50)
 */
export function mechanismVarianceForRho(mechanism: NoiseMechanism, sensitivity: number, rho: number, participants = 1): number {
  checkSensitivity(sensitivity);
  checkPositive('rho', rho);
  checkParticipants(participants);
  if (sensitivity === 0) return 0;
  const rhoOf = (v: number): number =>
    mechanism === 'skellam' ? rhoSkellam(sensitivity, v / 2) : rhoDistributedDiscreteGaussian(sensitivity, v, participants);
  // Lower end: the Gaussian variance (both mechanisms cost at least that much) or the [KLS21]
  // domain edge; upper end: double until feasible.
  let lo = varianceForRho(sensitivity, rho);
  if (mechanism === 'discrete-gaussian') lo = Math.max(lo, participants / 4);
  if (rhoOf(lo) <= rho) return lo * (1 + 1e-12);
  let hi = lo * 2;
  while (rhoOf(hi) > rho) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > hi * 1e-14; i++) {
    const mid = (lo + hi) / 2;
    if (rhoOf(mid) <= rho) hi = mid;
    else lo = mid;
  }
  return hi * (1 + 1e-12);
}

/**
 * Sequential composition: running mechanisms that are ρᵢ-zCDP is (Σρᵢ)-zCDP ([BS16] Lemma 2.3).
 *
 * @example
 * composeRho([0.01, 0.02, 0.005]); // 0.035
 */
export function composeRho(rhos: readonly number[]): number {
  let total = 0;
  for (const rho of rhos) {
    checkNonNegative('rho', rho);
    total += rho;
  }
  return total;
}

/**
 * The smallest rational with denominator 2^`denominatorBits` that is ≥ x (x ≥ 0): how to hand
 * a float variance to `distributedNoiseShare` without ever rounding the noise down. Scaling by
 * a power of two is exact in floating point, so only the final ceiling rounds.
 *
 * @example
 * rationalAtLeast(54.25); // { num: 56885248n, den: 1048576n }  (= 54.25 exactly)
 */
export function rationalAtLeast(x: number, denominatorBits = 20): Rational {
  checkNonNegative('x', x);
  if (!Number.isInteger(denominatorBits) || denominatorBits < 0 || denominatorBits > 64) {
    throw new RangeError('denominatorBits must be an integer in [0, 64]');
  }
  const scaled = Math.ceil(x * 2 ** denominatorBits);
  if (!Number.isFinite(scaled)) throw new RangeError('x is too large');
  return { num: BigInt(scaled), den: 1n << BigInt(denominatorBits) };
}

// ---------------------------------------------------------------------------------------
// Budget split for the released statistics of one query

/**
 * The clamp range of one numeric column, in its natural unit, and the fixed-point scale
 * (integer units per 1.0) used to encode it. Nodes clamp each value to [lo, hi] and encode
 * x ↦ round((x − lo)·scale) ∈ [0, (hi − lo)·scale]: with the shift, one record changes the
 * encoded sum by at most Δ = (hi − lo)·scale and the sum of squares by at most Δ², whatever the
 * signs of lo and hi (the decoder adds lo back; see {@link noisyMeanCost}).
 */
export interface ClampRange {
  readonly lo: number;
  readonly hi: number;
  /** Fixed-point units per 1.0 (default 1); (hi − lo)·scale must be an integer. */
  readonly scale?: number;
}

/** One released noisy statistic and its share of the budget. */
export interface StatisticCost {
  readonly statistic: 'count' | 'sum' | 'sumOfSquares';
  /** Sensitivity under add/remove-one-record, in fixed-point units. */
  readonly sensitivity: number;
  /** This statistic's share of the query's ρ. */
  readonly rho: number;
  /** Variance of the TOTAL noise (all shares summed) on this statistic. */
  readonly variance: number;
  /** `variance` rounded up to a rational, ready for `distributedNoiseShare`. */
  readonly varianceRational: Rational;
}

/** A query's released statistics with their noise, and the query's total ρ. */
export interface QueryCost {
  readonly rho: number;
  readonly statistics: readonly StatisticCost[];
}

/** Options of {@link noisyMeanCost} and {@link noisyVarianceCost}. */
export interface QueryCostOptions {
  readonly range: ClampRange;
  /** zCDP budget of the whole query, split equally over its released statistics. */
  readonly rho: number;
  /** Default `skellam`. */
  readonly mechanism?: NoiseMechanism;
  /** Number of noise shares summed (matters for `discrete-gaussian`); default 1. */
  readonly participants?: number;
}

/**
 * Splits a query's ρ equally over the statistics a noisy MEAN releases — the count (Δ = 1)
 * and the shifted sum (Δ = (hi − lo)·scale) — and sizes each one's total noise variance.
 *
 * The mean itself costs nothing extra: lo + (noisy shifted sum)/(scale · noisy count) is a
 * function of the two released noisy statistics only, and zCDP is closed under such
 * post-processing ([BS16] Lemma 1.8). The two releases compose ([BS16] Lemma 2.3): ρ/2 + ρ/2.
 *
 * @example
 * const cost = noisyMeanCost({ range: { lo: 60, hi: 200, scale: 10 }, rho: 0.1 });
 * cost.statistics.map((s) => s.sensitivity); // [1, 1400]
 */
export function noisyMeanCost(options: QueryCostOptions): QueryCost {
  const delta = sumSensitivity(options.range);
  return splitRho(options, [
    { statistic: 'count', sensitivity: 1 },
    { statistic: 'sum', sensitivity: delta },
  ]);
}

/**
 * Splits a query's ρ equally over the statistics a noisy VARIANCE (and mean) releases — count
 * (Δ = 1), shifted sum (Δ = (hi − lo)·scale) and shifted sum of squares (Δ²) — and sizes each
 * one's total noise variance.
 *
 * The variance is post-processing of the three noisy statistics (n, S, Q): with the shifted
 * values y = (x − lo)·scale, Var(x) = (Q/n − (S/n)²)/scale², which is shift-invariant, so it
 * costs nothing beyond the three releases ([BS16] Lemma 1.8). Clamp the result at 0 and at
 * ((hi − lo)/2)², since noise can push it outside the feasible range; that too is free.
 *
 * @example
 * const cost = noisyVarianceCost({ range: { lo: 0, hi: 120 }, rho: 0.3 });
 * cost.statistics.map((s) => s.sensitivity); // [1, 120, 14400]
 */
export function noisyVarianceCost(options: QueryCostOptions): QueryCost {
  const delta = sumSensitivity(options.range);
  return splitRho(options, [
    { statistic: 'count', sensitivity: 1 },
    { statistic: 'sum', sensitivity: delta },
    { statistic: 'sumOfSquares', sensitivity: delta * delta },
  ]);
}

function splitRho(
  options: QueryCostOptions,
  released: readonly { statistic: StatisticCost['statistic']; sensitivity: number }[],
): QueryCost {
  checkPositive('rho', options.rho);
  const mechanism = options.mechanism ?? 'skellam';
  const participants = options.participants ?? 1;
  const share = options.rho / released.length;
  const statistics = released.map(({ statistic, sensitivity }): StatisticCost => {
    if (!Number.isSafeInteger(sensitivity)) throw new RangeError(`${statistic} sensitivity ${sensitivity} is not a safe integer`);
    const variance = mechanismVarianceForRho(mechanism, sensitivity, share, participants);
    return { statistic, sensitivity, rho: share, variance, varianceRational: rationalAtLeast(variance) };
  });
  return { rho: composeRho(statistics.map((s) => s.rho)), statistics };
}

function sumSensitivity(range: ClampRange): number {
  const scale = range.scale ?? 1;
  if (!Number.isFinite(range.lo) || !Number.isFinite(range.hi) || range.hi <= range.lo) {
    throw new RangeError('clamp range needs finite lo < hi');
  }
  checkPositive('scale', scale);
  const delta = (range.hi - range.lo) * scale;
  const rounded = Math.round(delta);
  // Tolerate float noise such as (0.3 − 0.1)·10; anything else is a configuration error.
  if (Math.abs(delta - rounded) > 1e-9 * Math.max(1, delta)) {
    throw new RangeError(`(hi − lo)·scale = ${delta} is not an integer number of fixed-point units`);
  }
  return rounded;
}

// ---------------------------------------------------------------------------------------
// Argument checks

function checkSensitivity(sensitivity: number): void {
  checkNonNegative('sensitivity', sensitivity);
}

function checkPositive(name: string, x: number): void {
  if (!(Number.isFinite(x) && x > 0)) throw new RangeError(`${name} must be a finite number > 0 (got ${x})`);
}

function checkNonNegative(name: string, x: number): void {
  if (!(Number.isFinite(x) && x >= 0)) throw new RangeError(`${name} must be a finite number ≥ 0 (got ${x})`);
}

function checkDelta(delta: number): void {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta must be in (0, 1) (got ${delta})`);
}

function checkParticipants(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`participants must be a positive integer (got ${n})`);
}
