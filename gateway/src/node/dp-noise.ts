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

/** Where the slots of a release are: groups × columns, group-major, `slotsPerCiphertext` per vector. */
export interface SlotLayout {
  groupCount: number;
  /** Columns per group. */
  width: number;
  slotsPerCiphertext: number;
}

/**
 * Adds this node's noise share to every used slot (in place, mod t). `sensitivities[c]` is
 * Δ_c of slot column c (see `columnSensitivity`); ρ is split equally over the columns.
 * Called only by the release gate (release-gate.ts).
 *
 * @example
 * addNoiseShare({ groupCount: 2, width: 1, slotsPerCiphertext: 8192 }, [1n], slots, { rho: 0.5, participants: 3, plainModulus: t, headroom: NOISE_HEADROOM });
 */
export function addNoiseShare(
  layout: SlotLayout,
  sensitivities: readonly bigint[],
  slots: BigUint64Array[],
  options: { rho: number; participants: number; plainModulus: bigint; headroom: bigint; rng?: ExactRandom },
): void {
  if (!(options.rho > 0)) throw new GatewayError('invalid_request', 'rho must be positive when differential privacy is on', { field: 'rho' });
  const k = layout.width;
  const rng = options.rng ?? createRandom();
  const t = options.plainModulus;
  const variances = sensitivities.map((delta) => {
    const variance = rationalAtLeast(mechanismVarianceForRho('skellam', Number(delta), options.rho / k));
    // The plan reserved `headroom` per slot for noise: refuse a ρ so small that 20σ exceeds it.
    if (variance.num > ((options.headroom / 20n) ** 2n) * variance.den) {
      throw new GatewayError('invalid_request', `rho: ${options.rho} is too small for this query (the noise would not fit its slots)`, { field: 'rho' });
    }
    return variance;
  });
  for (let g = 0; g < layout.groupCount; g++) {
    for (let c = 0; c < k; c++) {
      const index = g * k + c;
      const vector = slots[Math.floor(index / layout.slotsPerCiphertext)]!;
      const at = index % layout.slotsPerCiphertext;
      const share = distributedNoiseShare({ mechanism: 'skellam', variance: variances[c]!, participants: options.participants, rng });
      vector[at] = (((vector[at]! + share) % t) + t) % t;
    }
  }
}
