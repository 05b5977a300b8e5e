/**
 * A node's share of differential-privacy noise (DESIGN §6, spec/protocol.md §10). The query's
 * ρ (zCDP) is split equally over the k columns of a group (composition, Bun & Steinke 2016
 * Lemma 2.3); a row changes each column c of its one group by at most Δ_c (1 for counts and
 * bins, (hi − lo)^p for a sum of u^p with u = v − lo ≥ 0), and column c gets the Skellam
 * variance that gives ρ/k for Δ_c by Agarwal, Kairouz & Liu 2021's Rényi bound
 * (`mechanismVarianceForRho`; slightly above the Gaussian k·Δ_c²/(2ρ)). Each of the n
 * participating nodes adds a Skellam share of that variance / n: the sum is exactly Skellam
 * (closure under convolution). Samples are exact, from the CSPRNG (sdk/src/privacy/noise.ts).
 */
import { createRandom, distributedNoiseShare, mechanismVarianceForRho, rationalAtLeast, type ExactRandom, type SlotPlan } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';

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
  if (!(options.rho > 0)) throw new GatewayError('invalid_request', 'rho must be positive when differential privacy is on', { field: 'rho' });
  const k = plan.columns.length;
  const rng = options.rng ?? createRandom();
  const t = options.plainModulus;
  const variances = plan.columns.map((c) => {
    const delta = columnSensitivity(plan, c);
    const variance = rationalAtLeast(mechanismVarianceForRho('skellam', Number(delta), options.rho / k));
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
