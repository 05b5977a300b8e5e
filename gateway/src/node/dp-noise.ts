/**
 * A node's share of differential-privacy noise (DESIGN §6, spec/protocol.md §10). The query's
 * ρ (zCDP) is split equally over the k columns of a group; a row changes each column c of its
 * one group by at most Δ_c (1 for counts and bins, (hi − lo)^p for a sum of u^p), so noise of
 * variance σ_c² = k·Δ_c² / (2ρ) in every column gives ρ-zCDP for the released vector (Gaussian
 * mechanism, Bun & Steinke 2016 Prop. 1.6; the discrete and Skellam cases as in CKS 2020 and
 * AKL 2021 for these variances). Each of the n participating nodes adds Skellam noise of
 * variance σ_c²/n: the sum is exactly Skellam with variance σ_c² (closure under convolution).
 * Samples are exact, from the CSPRNG (sdk/src/privacy/noise.ts); no floating point.
 */
import { createRandom, distributedNoiseShare, type ExactRandom, type SlotPlan } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';

/** ρ is carried as a rational with this denominator (micro-ρ). */
const RHO_DENOMINATOR = 1_000_000n;

/** Per-column sensitivity Δ_c for add/remove-one-row neighbours. */
export function columnSensitivity(plan: SlotPlan, column: SlotPlan['columns'][number]): bigint {
  if (column.kind !== 'power') return 1n;
  const e = plan.elements.find((x) => x.name === column.element)!;
  return (BigInt(e.hi) - BigInt(e.lo)) ** BigInt(column.power ?? 1);
}

/**
 * Adds this node's noise share to every slot of the plan (in place, mod t).
 *
 * @example
 * addNoiseShare(plan, slots, { rho: 0.5, participants: 3, plainModulus: t, headroom: NOISE_HEADROOM });
 */
export function addNoiseShare(
  plan: SlotPlan,
  slots: BigUint64Array[],
  options: { rho: number; participants: number; plainModulus: bigint; headroom: bigint; rng?: ExactRandom },
): void {
  const rhoNum = BigInt(Math.round(options.rho * Number(RHO_DENOMINATOR)));
  if (rhoNum <= 0n) throw new GatewayError('invalid_request', 'rho must be positive when differential privacy is on', { field: 'rho' });
  const k = BigInt(plan.columns.length);
  const rng = options.rng ?? createRandom();
  const t = options.plainModulus;
  const variances = plan.columns.map((c) => {
    const delta = columnSensitivity(plan, c);
    // σ_c² = k·Δ_c²/(2ρ), as a rational: num = k·Δ²·D, den = 2·ρ·D.
    const variance = { num: k * delta * delta * RHO_DENOMINATOR, den: 2n * rhoNum };
    // The plan reserved `headroom` per slot for noise: refuse a ρ so small that 20σ exceeds it.
    if (variance.num > ((options.headroom / 20n) ** 2n) * variance.den) {
      throw new GatewayError('invalid_request', `rho: ${options.rho} is too small for this query (the noise would not fit its slots)`, { field: 'rho' });
    }
    return variance;
  });
  const width = plan.columns.length;
  for (let g = 0; g < plan.groupCount; g++) {
    for (let c = 0; c < width; c++) {
      const index = g * width + c;
      const vector = slots[Math.floor(index / plan.slotsPerCiphertext)]!;
      const at = index % plan.slotsPerCiphertext;
      const share = distributedNoiseShare({ mechanism: 'skellam', variance: variances[c]!, participants: options.participants, rng });
      vector[at] = (((vector[at]! + share) % t) + t) % t;
    }
  }
}
