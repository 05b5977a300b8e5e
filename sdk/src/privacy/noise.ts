/**
 * Exact integer noise samplers for distributed differential privacy.
 *
 * Every node adds an integer noise share to its integer aggregates before encryption; the
 * homomorphic SUM then carries the calibrated total noise. Floating-point noise is unsafe
 * here (Mironov 2012: the low-order bits of a float sample leak the input), so every sampler
 * below is EXACT: it uses only BigInt integer and rational arithmetic and uniform integers
 * drawn by rejection from a byte source. No float randomness, no float exp or log, no float anywhere
 * on the sampling path.
 *
 * References:
 * - [CKS20] C. Canonne, G. Kamath, T. Steinke, "The Discrete Gaussian for Differential
 *   Privacy", NeurIPS 2020 (Algorithms 1–3).
 * - [KLS21] P. Kairouz, Z. Liu, T. Steinke, "The Distributed Discrete Gaussian Mechanism for
 *   Federated Learning with Secure Aggregation", ICML 2021.
 * - [AKL21] N. Agarwal, P. Kairouz, Z. Liu, "The Skellam Mechanism for Differentially
 *   Private Federated Learning", NeurIPS 2021.
 * - [Dev86] L. Devroye, "Non-Uniform Random Variate Generation", Springer 1986 (rejection
 *   sampling, §II.3; squeezes, §II.5.4).
 *
 * Browser-safe: the default randomness is WebCrypto `crypto.getRandomValues`.
 */

/** An exact rational number `num / den` (`den > 0`). */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

/** Fills its argument with uniformly random bytes (e.g. `crypto.getRandomValues`). */
export type ByteSource = (bytes: Uint8Array) => void;

/** Exact uniform randomness over integers. */
export interface ExactRandom {
  /** Uniform integer in `[0, n)` (`n ≥ 1`), by rejection sampling: no modulo bias. */
  uniformBelow(n: bigint): bigint;
  /** `true` with probability exactly `num / den` (`0 ≤ num ≤ den`, `den ≥ 1`). */
  bernoulli(num: bigint, den: bigint): boolean;
}

/** The two distributed mechanisms: the sum of the nodes' shares is the total noise. */
export type NoiseMechanism = 'skellam' | 'discrete-gaussian';

const BUFFER_BYTES = 512;

const webCryptoSource: ByteSource = (bytes) => {
  crypto.getRandomValues(bytes);
};

/**
 * Exact integer randomness over a byte source (WebCrypto by default). Bytes are pulled in
 * blocks of 512 and consumed in order, so a deterministic source gives reproducible draws.
 *
 * @example
 * const rng = createRandom();            // crypto.getRandomValues
 * const die = rng.uniformBelow(6n) + 1n; // 1..6, exactly uniform
 * const coin = rng.bernoulli(1n, 3n);    // true with probability exactly 1/3
 */
export function createRandom(source: ByteSource = webCryptoSource): ExactRandom {
  const buffer = new Uint8Array(BUFFER_BYTES);
  let position = BUFFER_BYTES;
  const nextByte = (): number => {
    if (position === BUFFER_BYTES) {
      source(buffer);
      position = 0;
    }
    return buffer[position++]!;
  };

  const uniformBelow = (n: bigint): bigint => {
    if (n < 1n) throw new RangeError('uniformBelow needs n ≥ 1');
    if (n === 1n) return 0n;
    const bits = bitLength(n - 1n);
    const bytes = Math.ceil(bits / 8);
    const topMask = 0xff >> (bytes * 8 - bits);
    // Rejection: draw `bits` uniform bits until the value is below n (accepts with p > 1/2).
    if (bytes <= 6) {
      const limit = Number(n);
      for (;;) {
        let v = nextByte() & topMask;
        for (let i = 1; i < bytes; i++) v = v * 256 + nextByte();
        if (v < limit) return BigInt(v);
      }
    }
    for (;;) {
      let hex = (nextByte() & topMask).toString(16).padStart(2, '0');
      for (let i = 1; i < bytes; i++) hex += nextByte().toString(16).padStart(2, '0');
      const v = BigInt(`0x${hex}`);
      if (v < n) return v;
    }
  };

  const bernoulli = (num: bigint, den: bigint): boolean => {
    if (den < 1n || num < 0n || num > den) throw new RangeError(`bernoulli needs 0 ≤ ${num} ≤ ${den}, den ≥ 1`);
    if (num === 0n) return false;
    if (num === den) return true;
    return uniformBelow(den) < num;
  };

  return { uniformBelow, bernoulli };
}

let defaultRandom: ExactRandom | undefined;
function defaultRng(): ExactRandom {
  defaultRandom ??= createRandom();
  return defaultRandom;
}

/**
 * Bernoulli(exp(−γ)) for a rational γ = gammaNum/gammaDen ≥ 0, exactly.
 * [CKS20] Algorithm 1: for γ ∈ [0,1], draw A_k ~ Bernoulli(γ/k) for k = 1, 2, … until the
 * first failure at k = K; then P[K odd] = Σ_k (−γ)^k / k! = exp(−γ). For γ > 1,
 * exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)), a conjunction of independent trials.
 * Expected cost O(1) uniform draws whatever γ (the loop over ⌊γ⌋ stops at the first failure).
 *
 * @example
 * const rng = createRandom();
 * sampleBernoulliExp(1n, 2n, rng); // true with probability exp(−1/2) ≈ 0.6065
 */
export function sampleBernoulliExp(gammaNum: bigint, gammaDen: bigint, rng: ExactRandom = defaultRng()): boolean {
  if (gammaDen < 1n || gammaNum < 0n) throw new RangeError('sampleBernoulliExp needs γ = num/den ≥ 0, den ≥ 1');
  if (gammaNum <= gammaDen) {
    // [CKS20] Alg. 1, case γ ≤ 1.
    let k = 1n;
    while (rng.bernoulli(gammaNum, gammaDen * k)) k++;
    return (k & 1n) === 1n;
  }
  // [CKS20] Alg. 1, case γ > 1.
  const whole = gammaNum / gammaDen;
  for (let i = 0n; i < whole; i++) {
    if (!sampleBernoulliExp(1n, 1n, rng)) return false;
  }
  return sampleBernoulliExp(gammaNum - whole * gammaDen, gammaDen, rng);
}

/**
 * G ≥ 0 with P[G = g] ∝ exp(−g·s/t): the geometric core of [CKS20] Algorithm 2.
 * X = U + t·V with U uniform on [0, t) accepted w.p. exp(−U/t) and V ~ Geometric(exp(−1))
 * gives P[X = x] ∝ exp(−x/t); then ⌊X/s⌋ has P ∝ exp(−g·s/t).
 */
function sampleGeometricExp(s: bigint, t: bigint, rng: ExactRandom): bigint {
  for (;;) {
    const u = rng.uniformBelow(t);
    if (!sampleBernoulliExp(u, t, rng)) continue;
    let v = 0n;
    while (sampleBernoulliExp(1n, 1n, rng)) v++;
    return (u + t * v) / s;
  }
}

/**
 * Discrete Laplace on ℤ with scale t = tNum/tDen > 0: P[X = x] ∝ exp(−|x|/t), exactly.
 * [CKS20] Algorithm 2 (their Lap_ℤ(t/s) with t = tNum, s = tDen): a geometric magnitude,
 * a fair sign, and rejection of the "−0" outcome so that 0 is not counted twice.
 *
 * @example
 * const x = sampleDiscreteLaplace(3n, 1n, createRandom()); // P[x] ∝ exp(−|x|/3)
 */
export function sampleDiscreteLaplace(tNum: bigint, tDen: bigint, rng: ExactRandom = defaultRng()): bigint {
  if (tNum < 1n || tDen < 1n) throw new RangeError('sampleDiscreteLaplace needs a scale t = num/den > 0');
  for (;;) {
    const y = sampleGeometricExp(tDen, tNum, rng);
    const negative = rng.bernoulli(1n, 2n);
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/**
 * Discrete Gaussian N_ℤ(0, σ²) for a rational σ² = sigma2Num/sigma2Den ≥ 0, exactly:
 * P[X = x] ∝ exp(−x²/(2σ²)). [CKS20] Algorithm 3: propose Y ~ Lap_ℤ(t) with t = ⌊σ⌋ + 1,
 * accept with probability exp(−(|Y| − σ²/t)²/(2σ²)), itself drawn by Algorithm 1. With
 * σ² = a/b the exponent is the rational (|Y|·b·t − a)² / (2·a·b·t²). Expected O(1) rounds.
 *
 * Note σ² is the distribution's scale parameter; its variance is < σ² ([CKS20] §2), equal to
 * it up to a relative 2·10⁻⁷ at σ² = 1 and 10⁻¹⁵ at σ² = 2 (0.2% low at σ² = 1/2).
 *
 * @example
 * const noise = sampleDiscreteGaussian(100n, 1n, createRandom()); // σ = 10
 */
export function sampleDiscreteGaussian(sigma2Num: bigint, sigma2Den: bigint, rng: ExactRandom = defaultRng()): bigint {
  if (sigma2Num < 0n || sigma2Den < 1n) throw new RangeError('sampleDiscreteGaussian needs σ² = num/den ≥ 0');
  if (sigma2Num === 0n) return 0n;
  const g = gcd(sigma2Num, sigma2Den);
  const a = sigma2Num / g;
  const b = sigma2Den / g;
  const t = isqrt(a / b) + 1n; // ⌊σ⌋ + 1, since ⌊√(a/b)⌋ = ⌊√⌊a/b⌋⌋
  const den = 2n * a * b * t * t;
  for (;;) {
    const y = sampleDiscreteLaplace(t, 1n, rng);
    const d = abs(y) * b * t - a;
    if (sampleBernoulliExp(d * d, den, rng)) return y;
  }
}

/**
 * Poisson(μ) for a rational μ = muNum/muDen ≥ 0, exactly, in O(1) expected time for large μ.
 *
 * Method: rejection sampling ([Dev86] §II.3) with squeezes (§II.5.4). Let m = ⌊μ⌋ (a mode)
 * and r(k) = P[k]/P[m] = m!·μ^(k−m)/k!, a RATIONAL number ≤ 1. The proposal has, with
 * J = ⌊√m⌋ + 1, a flat box over k ∈ [m − min(J, m), m + J] (weight 1 per point) and two
 * geometric tails k = m ± (J + t), t ≥ 1, of ratio
 *   right: ρ = μ/(m+J+1), since r(m+J+t) ≤ ρ^t (each further factor μ/(m+i) ≤ ρ);
 *   left:  ρ = (m−J)/μ,   since r(m−J−t) ≤ ρ^t (each further factor (m−i)/μ ≤ ρ).
 * For m < 128 the tails are drawn with ratio ρ itself (counting Bernoulli(ρ) successes) and a
 * proposal is accepted with the exact rational probability r(k) (box) or r(k)/ρ^t (tail).
 * For larger μ, counting would cost O(√μ) flips, so the tails use ratio e^(−λ) ≥ ρ with the
 * rational λ = 1 − ρ (as ρ ≤ e^(ρ−1)), drawn by [CKS20]'s exact geometric (Alg. 2 core, O(1)),
 * with tail weight 1/λ; a tail proposal is then accepted with probability
 * r(k)·λ·e^(λt)/(e^λ − 1) ≤ 1. Either way P[output = k] ∝ r(k): exactly Poisson(μ). About
 * 1.6 proposals per draw.
 *
 * The acceptance test U < A for an irrational A, or for a rational r(k) that is a product of
 * |k − m| ≈ √μ factors, is decided exactly against a uniform U ∈ [0,1) whose bits are drawn
 * lazily: it is settled as soon as a rigorous interval around A (directed-rounding fixed-point
 * BigInt arithmetic; exp by its Taylor series plus a remainder bound) excludes U's current
 * dyadic interval. That interval comes first from closed-form (Faulhaber) bounds on ln r(k)
 * — third/fourth-order Taylor bounds of ln(1+z) and ln(1−w), see `logRatioBounds` — and only
 * when U falls in their gap, with probability O(μ^(−3/2)), from the O(√μ) exact product.
 *
 * The classic exact alternative (Duchon & Duvignau 2016's Poisson(1) sampler summed ⌊μ⌋
 * times, plus a binomial thinning, as in public exact-Skellam reference code) costs O(μ) per
 * draw, which is unusable for the variances that sums of fixed-point values need.
 *
 * @example
 * const k = samplePoisson(7n, 2n, createRandom()); // Poisson(3.5)
 */
export function samplePoisson(muNum: bigint, muDen: bigint, rng: ExactRandom = defaultRng()): bigint {
  if (muNum < 0n || muDen < 1n) throw new RangeError('samplePoisson needs μ = num/den ≥ 0');
  if (muNum === 0n) return 0n;
  const g = gcd(muNum, muDen);
  const p = cachedPlan(muNum / g, muDen / g);
  for (;;) {
    const pick = rng.uniformBelow(p.weightTotal);
    let j: bigint;
    let tail: TailDraw | undefined;
    if (pick < p.weightBox) {
      j = rng.uniformBelow(p.boxCount) - p.leftBox;
    } else {
      const side = pick < p.weightBox + p.weightRight ? p.right : p.left;
      const t = 1n + sampleTailOffset(p, side, rng);
      j = side === p.right ? p.J + t : -(p.J + t);
      if (p.m + j < 0n) continue; // r(k) = 0 for k < 0
      tail = { ...side, t };
    }
    if (acceptPoisson(p, j, tail, rng)) return p.m + j;
  }
}

/**
 * Symmetric Skellam: Poisson(μ) − Poisson(μ), μ = muNum/muDen, with both Poissons from the
 * exact {@link samplePoisson}. Variance 2μ. Skellam is closed under convolution
 * (Sk(μ₁) + Sk(μ₂) = Sk(μ₁ + μ₂)), which is why [AKL21] use it for distributed noise.
 *
 * @example
 * const noise = sampleSkellam(25n, 1n, createRandom()); // variance 50
 */
export function sampleSkellam(muNum: bigint, muDen: bigint, rng: ExactRandom = defaultRng()): bigint {
  return samplePoisson(muNum, muDen, rng) - samplePoisson(muNum, muDen, rng);
}

/** Options of {@link distributedNoiseShare}. */
export interface NoiseShareOptions {
  readonly mechanism: NoiseMechanism;
  /**
   * Variance of the TOTAL noise (the sum of all `participants` shares). For `skellam` it is
   * the exact variance 2μ of the summed Skellam; for `discrete-gaussian` it is the sum of the
   * nodes' scale parameters σ² (each node's variance is < its σ², equal for σ² ≳ 1).
   */
  readonly variance: Rational;
  /** Number of nodes n whose shares are summed. */
  readonly participants: number;
  readonly rng?: ExactRandom;
}

/**
 * One node's integer noise share, such that the sum of the `participants` shares is the
 * intended total noise.
 *
 * - `skellam`: each node draws Sk(μᵢ) with μᵢ = variance/(2n); by closure under convolution the
 *   sum is EXACTLY Sk(variance/2), i.e. variance `variance`, and [AKL21]'s analysis applies to
 *   the sum as is (`rhoSkellam` in accounting.ts, with μ = variance/2).
 * - `discrete-gaussian`: each node draws N_ℤ(0, variance/n). The sum is NOT a discrete Gaussian,
 *   only close to one: [KLS21] (Theorem 1 via their Proposition 14) bound the Rényi divergence
 *   with an extra term τ = 10·Σ_{k=1}^{n−1} exp(−2π²·(σ²/n)·k/(k+1)); account it with
 *   `rhoDistributedDiscreteGaussian`, not the centralized `rhoGaussian`.
 *
 * If some nodes drop out, the sum carries less noise than intended: the accounting must use
 * the number of shares actually summed (or each node must add noise for the worst case).
 *
 * @example
 * const rng = createRandom();
 * const share = distributedNoiseShare({ mechanism: 'skellam', variance: { num: 50n, den: 1n }, participants: 5, rng });
 * const noisyCount = 1234n + share; // then encrypt
 */
export function distributedNoiseShare(options: NoiseShareOptions): bigint {
  const { mechanism, variance, participants } = options;
  const rng = options.rng ?? defaultRng();
  if (!Number.isSafeInteger(participants) || participants < 1) throw new RangeError('participants must be a positive integer');
  if (variance.den < 1n || variance.num < 0n) throw new RangeError('variance must be a rational ≥ 0 with den ≥ 1');
  const n = BigInt(participants);
  switch (mechanism) {
    case 'skellam':
      return sampleSkellam(variance.num, 2n * n * variance.den, rng);
    case 'discrete-gaussian':
      return sampleDiscreteGaussian(variance.num, n * variance.den, rng);
    default:
      throw new RangeError(`unknown mechanism ${String(mechanism satisfies never)}`);
  }
}

/**
 * @internal Exported for the unit tests only (not part of the API): the Poisson proposal plan,
 * the closed-form bounds on ln r(m+j), the interval exponentials, and the exact acceptance
 * test of one proposal.
 */
export const poissonInternals = {
  plan: (muNum: bigint, muDen: bigint) => {
    const g = gcd(muNum, muDen);
    return poissonPlan(muNum / g, muDen / g);
  },
  logRatioBounds: (p: PoissonPlan, j: bigint) => logRatioBounds(p, j),
  /** Interval (scale 2^bits) around e^x, and around e^x − 1 for x > 0. */
  exp: (x: Rational, bits: number) => expInterval(x, bits),
  expm1: (x: Rational, bits: number) => expm1Interval(x, bits),
  accept: (p: PoissonPlan, j: bigint, tail: 'right' | 'left' | undefined, rng: ExactRandom, squeeze = true): boolean => {
    const draw = tail === undefined ? undefined : { ...(tail === 'right' ? p.right : p.left), t: abs(j) - p.J };
    return acceptPoisson(p, j, draw, rng, squeeze);
  },
};

// ---------------------------------------------------------------------------------------
// Poisson internals

/** One geometric tail of the Poisson proposal: ratio ρ ∈ (0,1), λ = 1 − ρ. */
interface TailParams {
  readonly rhoNum: bigint;
  readonly rhoDen: bigint;
  readonly lambdaNum: bigint;
  readonly lambdaDen: bigint;
}

interface TailDraw extends TailParams {
  readonly t: bigint;
}

interface PoissonPlan {
  readonly a: bigint; // μ = a/b, reduced
  readonly b: bigint;
  readonly m: bigint; // ⌊μ⌋
  readonly J: bigint;
  readonly leftBox: bigint; // min(J, m)
  readonly boxCount: bigint; // J + 1 + leftBox
  /** Tails with rational ratio ρ (small μ) or with ratio e^(−λ) ≥ ρ (large μ). */
  readonly rationalTails: boolean;
  readonly right: TailParams;
  readonly left: TailParams;
  readonly weightBox: bigint; // the three mixture weights over a common denominator
  readonly weightRight: bigint;
  readonly weightTotal: bigint;
  /** Memoized interval constants λ/(e^λ − 1), keyed by λ and precision. */
  readonly constants: Map<string, Interval>;
}

/** Below this ⌊μ⌋ the tails are rational geometrics: O(√μ) coin flips, but no exp. */
const RATIONAL_TAILS_BELOW = 128n;

const planCache = new Map<string, PoissonPlan>();

function cachedPlan(a: bigint, b: bigint): PoissonPlan {
  const key = `${a}/${b}`;
  let plan = planCache.get(key);
  if (plan === undefined) {
    plan = poissonPlan(a, b);
    if (planCache.size >= 32) planCache.clear();
    planCache.set(key, plan);
  }
  return plan;
}

function poissonPlan(a: bigint, b: bigint): PoissonPlan {
  const m = a / b;
  const J = isqrt(m) + 1n;
  const leftBox = m < J ? m : J;
  const boxCount = J + 1n + leftBox;
  const rationalTails = m < RATIONAL_TAILS_BELOW;
  // Right: ρ = μ/(m+J+1) < 1. Left (only if m − J ≥ 1): ρ = (m−J)/μ < 1.
  const right = tailParams(a, (m + J + 1n) * b);
  const hasLeft = m - J >= 1n;
  const left = hasLeft ? tailParams((m - J) * b, a) : tailParams(1n, 2n);
  // Tail weights (total proposal mass of a tail, box points weighing 1 each): ρ/λ for the
  // rational geometric Σ_{t≥1} ρ^t; 1/λ ≥ 1/(e^λ − 1) = Σ_{t≥1} e^(−λt) for the exp one.
  const weight = (tp: TailParams): Rational =>
    rationalTails
      ? { num: tp.rhoNum * tp.lambdaDen, den: tp.rhoDen * tp.lambdaNum }
      : { num: tp.lambdaDen, den: tp.lambdaNum };
  const wR = weight(right);
  const wL = hasLeft ? weight(left) : { num: 0n, den: 1n };
  const weightBox = boxCount * wR.den * wL.den;
  const weightRight = wR.num * wL.den;
  const weightLeft = wL.num * wR.den;
  return {
    a, b, m, J, leftBox, boxCount, rationalTails, right, left, weightBox, weightRight,
    weightTotal: weightBox + weightRight + weightLeft,
    constants: new Map(),
  };
}

function tailParams(rhoNum: bigint, rhoDen: bigint): TailParams {
  const g = gcd(rhoNum, rhoDen);
  const n = rhoNum / g;
  const d = rhoDen / g;
  return { rhoNum: n, rhoDen: d, lambdaNum: d - n, lambdaDen: d };
}

/**
 * t − 1 ≥ 0 for a tail proposal: P[t] ∝ ρ^t by counting Bernoulli(ρ) successes (rational
 * tails), or P[t] ∝ e^(−λt) by [CKS20]'s exact geometric (exp tails, O(1) for any λ).
 */
function sampleTailOffset(p: PoissonPlan, tail: TailParams, rng: ExactRandom): bigint {
  if (!p.rationalTails) return sampleGeometricExp(tail.lambdaNum, tail.lambdaDen, rng);
  let g = 0n;
  while (rng.bernoulli(tail.rhoNum, tail.rhoDen)) g++;
  return g;
}

/** Decides U < A(j) exactly, A(j) = r(m+j) (box) or r(m+j)·λe^(λt)/(e^λ − 1) (tail). */
function acceptPoisson(p: PoissonPlan, j: bigint, tail: TailDraw | undefined, rng: ExactRandom, useSqueeze = true): boolean {
  if (j === 0n && tail === undefined) return true; // r(m) = 1
  // Rational tails: A = r(m+j)/ρ^t ≤ 1 exactly. Small box offsets: A = r(m+j), a small
  // exact rational. Either way, one exact Bernoulli.
  if (tail !== undefined && p.rationalTails) {
    const r = ratioExact(p, j);
    return rng.bernoulli(r.num * tail.rhoDen ** tail.t, r.den * tail.rhoNum ** tail.t);
  }
  if (tail === undefined && abs(j) <= 24n) {
    const r = ratioExact(p, j);
    return rng.bernoulli(r.num, r.den);
  }
  const u = new LazyUniform(rng);
  const squeeze = useSqueeze ? logRatioBounds(p, j) : undefined;
  if (squeeze !== undefined) {
    // lowA ≤ A ≤ highA in closed form: accept when U < lowA, reject when U ≥ highA; refine the
    // precision until one holds or U is known to lie strictly between them.
    for (let bits = SQUEEZE_BITS; ; bits *= 2) {
      if (bits > MAX_BITS) throw new Error('samplePoisson: acceptance did not resolve (internal error)');
      const x = u.prefix(bits);
      const lowA = squeezeAt(bits, squeeze.lo, tail, p);
      if (x + 1n <= lowA.lo) return true;
      const highA = squeezeAt(bits, squeeze.hi, tail, p);
      if (highA.hi !== null && x >= highA.hi) return false;
      if (lowA.hi !== null && x >= lowA.hi && x + 1n <= highA.lo) break;
    }
  }
  for (let bits = EXACT_BITS; ; bits *= 2) {
    if (bits > MAX_BITS) throw new Error('samplePoisson: acceptance did not resolve (internal error)');
    const verdict = u.compare(exactAt(bits, p, j, tail), bits);
    if (verdict !== undefined) return verdict;
  }
}

const SQUEEZE_BITS = 24;
const EXACT_BITS = 48;
const MAX_BITS = 1 << 20;

/**
 * Interval (scale 2^bits) around e^x (box) or e^(x + λt)·λ/(e^λ − 1) (tail), x a bound on
 * ln r. The tail's exponents are merged so that one exp is evaluated.
 */
function squeezeAt(bits: number, x: Rational, tail: TailDraw | undefined, p: PoissonPlan): Interval {
  const W = bits + 8;
  if (tail === undefined) return rescale(expInterval(x, W), W, bits);
  const e = expInterval(addRat(x, { num: tail.lambdaNum * tail.t, den: tail.lambdaDen }), W);
  return rescale(ivMul(e, tailConstant(p, tail, W), W), W, bits);
}

/** Interval (scale 2^bits) around A(j) from the exact product r(m+j). */
function exactAt(bits: number, p: PoissonPlan, j: bigint, tail: TailDraw | undefined): Interval {
  const W = bits + 8 + bitLength(abs(j));
  let r = ratioInterval(p, j, W);
  if (tail !== undefined) {
    const e = expInterval({ num: tail.lambdaNum * tail.t, den: tail.lambdaDen }, W);
    r = ivMul(ivMul(r, e, W), tailConstant(p, tail, W), W);
  }
  return rescale(r, W, bits);
}

/** λ/(e^λ − 1) at scale 2^W, memoized per plan and precision. */
function tailConstant(p: PoissonPlan, tail: TailParams, W: number): Interval {
  const key = `${tail.lambdaNum}/${tail.lambdaDen}@${W}`;
  let c = p.constants.get(key);
  if (c === undefined) {
    const one = 1n << BigInt(W);
    c = ivDiv(ivMulRat({ lo: one, hi: one }, tail.lambdaNum, tail.lambdaDen), expm1Interval({ num: tail.lambdaNum, den: tail.lambdaDen }, W), W);
    if (p.constants.size < 64) p.constants.set(key, c);
  }
  return c;
}

/** r(m+j) as an exact reduced fraction (for small |j|). */
function ratioExact(p: PoissonPlan, j: bigint): Rational {
  let num = 1n;
  let den = 1n;
  if (j > 0n) {
    for (let i = 1n; i <= j; i++) {
      num *= p.a;
      den *= p.b * (p.m + i);
    }
  } else {
    for (let i = 0n; i < -j; i++) {
      num *= (p.m - i) * p.b;
      den *= p.a;
    }
  }
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

/**
 * Closed-form rational bounds lo ≤ ln r(m+j) ≤ hi, or undefined where they do not apply.
 * Right (j > 0): r = Π_{i=1..j} 1/(1+zᵢ), zᵢ = (i − f)/μ > 0, f = μ − m. For every z ≥ 0,
 *   z − z²/2 + z³/3 − z⁴/4 ≤ ln(1+z) ≤ z − z²/2 + z³/3
 * (differentiate: the gaps have derivatives z⁴/(1+z) ≥ 0 and z³/(1+z) ≥ 0), so with Z_k = Σzᵢᵏ:
 *   −(Z₁ − Z₂/2 + Z₃/3) ≤ ln r ≤ −(Z₁ − Z₂/2 + Z₃/3 − Z₄/4).
 * Left (j < 0, n = −j): r = Π_{i=0..n−1} (1 − wᵢ), wᵢ = (f + i)/μ; if every wᵢ ≤ 1/2, then
 *   −w − w²/2 − w³/3 − w⁴/2 ≤ ln(1−w) ≤ −w − w²/2 − w³/3
 * (the Taylor tail Σ_{k≥4} wᵏ/k is ≥ 0 and ≤ (w⁴/4)/(1−w) ≤ w⁴/2), so with W_k = Σwᵢᵏ:
 *   −(W₁ + W₂/2 + W₃/3 + W₄/2) ≤ ln r ≤ −(W₁ + W₂/2 + W₃/3).
 * The power sums are closed-form (Faulhaber), so the bounds cost O(1); their gap is
 * O(|j|⁵/μ⁴), i.e. O(μ^(−3/2)) for typical |j| ≈ √μ.
 */
function logRatioBounds(p: PoissonPlan, j: bigint): { lo: Rational; hi: Rational } | undefined {
  const { a, b, m } = p;
  const fb = a - m * b; // f·b, with 0 ≤ f < 1
  if (j > 0n) {
    // zᵢ = (b·i' + (b − fb))/a for i' = 0..j−1.
    const [t1, t2, t3, t4] = shiftedPowerSums(j, b, b - fb);
    const a2 = a * a;
    const a3 = a2 * a;
    const a4 = a3 * a;
    // P3 = Z₁ − Z₂/2 + Z₃/3 = (6a²T₁ − 3aT₂ + 2T₃)/(6a³); P4 = P3 − T₄/(4a⁴).
    const p3 = { num: 6n * a2 * t1 - 3n * a * t2 + 2n * t3, den: 6n * a3 };
    const p4 = addRat(p3, { num: -t4, den: 4n * a4 });
    return { lo: negRat(p3), hi: negRat(p4) };
  }
  const n = -j;
  // All wᵢ ≤ 1/2 ⇔ 2(f + n − 1) ≤ μ ⇔ 2(fb + (n−1)b) ≤ a.
  if (2n * (fb + (n - 1n) * b) > a) return undefined;
  // wᵢ = (b·i + fb)/a for i = 0..n−1.
  const [t1, t2, t3, t4] = shiftedPowerSums(n, b, fb);
  const a2 = a * a;
  const a3 = a2 * a;
  const a4 = a3 * a;
  // Q3 = W₁ + W₂/2 + W₃/3 = (6a²T₁ + 3aT₂ + 2T₃)/(6a³); Q4 = Q3 + T₄/(2a⁴).
  const q3 = { num: 6n * a2 * t1 + 3n * a * t2 + 2n * t3, den: 6n * a3 };
  const q4 = addRat(q3, { num: t4, den: 2n * a4 });
  return { lo: negRat(q4), hi: negRat(q3) };
}

/** [Σ_{i=0}^{n−1} (s·i + c)^k for k = 1..4], exactly, via the power sums Pₗ(n) = Σ_{i<n} iˡ. */
function shiftedPowerSums(n: bigint, s: bigint, c: bigint): [bigint, bigint, bigint, bigint] {
  const N = n - 1n; // Σ_{i=0}^{n−1} iˡ = Σ_{i=1}^{N} iˡ
  const p0 = n;
  const p1 = (N * (N + 1n)) / 2n;
  const p2 = (N * (N + 1n) * (2n * N + 1n)) / 6n;
  const p3 = p1 * p1;
  const p4 = (N * (N + 1n) * (2n * N + 1n) * (3n * N * N + 3n * N - 1n)) / 30n;
  const P = [p0, p1, p2, p3, p4];
  const binom = [[1n], [1n, 1n], [1n, 2n, 1n], [1n, 3n, 3n, 1n], [1n, 4n, 6n, 4n, 1n]];
  const out: bigint[] = [];
  for (let k = 1; k <= 4; k++) {
    let total = 0n;
    for (let l = 0; l <= k; l++) total += binom[k]![l]! * s ** BigInt(l) * c ** BigInt(k - l) * P[l]!;
    out.push(total);
  }
  return [out[0]!, out[1]!, out[2]!, out[3]!];
}

function negRat(x: Rational): Rational {
  return { num: -x.num, den: x.den };
}

function addRat(x: Rational, y: Rational): Rational {
  return { num: x.num * y.den + y.num * x.den, den: x.den * y.den };
}

/** r(m+j) with directed rounding at scale 2^W. */
function ratioInterval(p: PoissonPlan, j: bigint, W: number): Interval {
  let x: Interval = { lo: 1n << BigInt(W), hi: 1n << BigInt(W) };
  if (j > 0n) {
    for (let i = 1n; i <= j; i++) x = ivMulRat(x, p.a, p.b * (p.m + i));
  } else {
    for (let i = 0n; i < -j; i++) x = ivMulRat(x, (p.m - i) * p.b, p.a);
  }
  return x;
}

// ---------------------------------------------------------------------------------------
// Rigorous fixed-point interval arithmetic (non-negative values, scale 2^W, hi = null: +∞)

interface Interval {
  readonly lo: bigint;
  readonly hi: bigint | null;
}

/** ⌈x/y⌉ for y > 0. */
function ceilDiv(x: bigint, y: bigint): bigint {
  const q = x / y; // truncates toward zero
  return x > 0n && q * y !== x ? q + 1n : q;
}

function ceilShift(x: bigint, s: number): bigint {
  if (s === 0) return x;
  const sb = BigInt(s);
  const q = x >> sb;
  return (q << sb) === x ? q : q + 1n;
}

function ivMul(x: Interval, y: Interval, W: number): Interval {
  const hi = x.hi === null || y.hi === null ? null : ceilShift(x.hi * y.hi, W);
  return { lo: (x.lo * y.lo) >> BigInt(W), hi };
}

function ivMulRat(x: Interval, num: bigint, den: bigint): Interval {
  return { lo: (x.lo * num) / den, hi: x.hi === null ? null : ceilDiv(x.hi * num, den) };
}

function ivDiv(x: Interval, y: Interval, W: number): Interval {
  const sW = BigInt(W);
  const lo = y.hi === null ? 0n : y.hi === 0n ? 0n : (x.lo << sW) / y.hi;
  const hi = x.hi === null || y.lo === 0n ? null : ceilDiv(x.hi << sW, y.lo);
  return { lo, hi };
}

function rescale(x: Interval, from: number, to: number): Interval {
  const s = from - to;
  return { lo: x.lo >> BigInt(s), hi: x.hi === null ? null : ceilShift(x.hi, s) };
}

/** e^x for a rational x, at scale 2^W. */
function expInterval(x: Rational, W: number): Interval {
  const one = 1n << BigInt(W);
  if (x.num === 0n) return { lo: one, hi: one };
  if (x.num > 0n) return expPositive(x.num, x.den, W);
  const a = -x.num;
  // e^(−a/d) < 2^(−W) once a/d > W·ln 2; W + 2 is a safe (larger) threshold.
  if (a > x.den * BigInt(W + 2)) return { lo: 0n, hi: 1n };
  const e = expPositive(a, x.den, W); // ≥ 1, so e.lo ≥ 2^W > 0
  const two = 1n << BigInt(2 * W);
  return { lo: e.hi === null ? 0n : two / e.hi, hi: ceilDiv(two, e.lo) };
}

/**
 * e^(a/d) for a/d > 0 at scale 2^W: halve s times to y = a/(d·2^s) ≤ 1/2, sum the Taylor
 * series of e^y (all terms positive; once a term is below one ulp the remainder is at most
 * that term, as successive ratios are ≤ 1/4), then square s times. Every step rounds
 * outward, so [lo, hi] always contains the true value.
 */
function expPositive(a: bigint, d: bigint, W: number): Interval {
  let s = 0;
  while (2n * a > d << BigInt(s)) s++;
  const G = W + s + 16;
  const sG = BigInt(G);
  const one = 1n << sG;
  const yNum = a << sG;
  const yDen = d << BigInt(s);
  const y: Interval = { lo: yNum / yDen, hi: ceilDiv(yNum, yDen) };
  let term: Interval = { lo: one, hi: one };
  let lo = one;
  let hi = one;
  for (let k = 1n; ; k++) {
    const t = ivMul(term, y, G);
    term = { lo: t.lo / k, hi: ceilDiv(t.hi!, k) };
    lo += term.lo;
    hi += term.hi!;
    if (term.hi! <= 1n) {
      hi += term.hi!; // remainder bound
      break;
    }
  }
  let v: Interval = { lo, hi };
  for (let i = 0; i < s; i++) v = ivMul(v, v, G);
  return rescale(v, G, W);
}

/** e^x − 1 for a rational x > 0 at scale 2^W, without cancellation for small x. */
function expm1Interval(x: Rational, W: number): Interval {
  if (2n * x.num > x.den) {
    const e = expPositive(x.num, x.den, W);
    const one = 1n << BigInt(W);
    return { lo: e.lo - one, hi: e.hi === null ? null : e.hi - one };
  }
  // x ≤ 1/2: Σ_{k≥1} x^k/k!, positive terms with ratio ≤ 1/4.
  const G = W + 16;
  const sG = BigInt(G);
  const xNum = x.num << sG;
  const y: Interval = { lo: xNum / x.den, hi: ceilDiv(xNum, x.den) };
  let term: Interval = y;
  let lo = y.lo;
  let hi = y.hi!;
  for (let k = 2n; ; k++) {
    const t = ivMul(term, y, G);
    term = { lo: t.lo / k, hi: ceilDiv(t.hi!, k) };
    lo += term.lo;
    hi += term.hi!;
    if (term.hi! <= 1n) {
      hi += term.hi!;
      break;
    }
  }
  return rescale({ lo, hi }, G, W);
}

/**
 * A uniform U ∈ [0,1) whose binary digits are drawn only when needed. `compare` decides
 * U < p given an interval [lo, hi] ∋ p·2^bits, or returns undefined if U's first `bits`
 * digits do not settle it (P[U = p] = 0, so every comparison eventually settles).
 */
class LazyUniform {
  #value = 0n;
  #bits = 0;
  readonly #rng: ExactRandom;

  constructor(rng: ExactRandom) {
    this.#rng = rng;
  }

  compare(p: Interval, bits: number): boolean | undefined {
    const u = this.prefix(bits);
    if (u + 1n <= p.lo) return true; // U < (u+1)/2^bits ≤ lo/2^bits ≤ p
    if (p.hi !== null && u >= p.hi) return false; // U ≥ u/2^bits ≥ hi/2^bits ≥ p
    return undefined;
  }

  /** U's first `bits` binary digits as an integer in [0, 2^bits). */
  prefix(bits: number): bigint {
    if (bits > this.#bits) {
      const extra = bits - this.#bits;
      this.#value = (this.#value << BigInt(extra)) | this.#rng.uniformBelow(1n << BigInt(extra));
      this.#bits = bits;
    }
    return this.#value >> BigInt(this.#bits - bits);
  }
}

// ---------------------------------------------------------------------------------------
// Integer helpers

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

function gcd(x: bigint, y: bigint): bigint {
  let a = abs(x);
  let b = abs(y);
  while (b !== 0n) [a, b] = [b, a % b];
  return a === 0n ? 1n : a;
}

function bitLength(x: bigint): number {
  if (x < 0n) x = -x;
  if (x <= 0xffffffffn) return 32 - Math.clz32(Number(x));
  if (x <= 0x1fffffffffffffn) {
    const high = Math.floor(Number(x) / 0x100000000); // exact: x < 2^53
    return 64 - Math.clz32(high);
  }
  return x.toString(2).length;
}

/** ⌊√n⌋ for n ≥ 0 (Newton's method on integers). */
function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}
