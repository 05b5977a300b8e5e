/**
 * Disclosure attacks of issue 10, played against the node's release gate
 * (gateway/src/node/release-gate.ts) and, end to end, through a real data space over HTTP.
 *
 * 1. DP on, one-patient membership: a filter matching one patient, released with ρ. Whether
 *    the patient is present may show only as much as ρ-zCDP allows. The bound: the release is
 *    ρ-zCDP with every column's share composed (Bun & Steinke 2016, Lemma 2.3); for a
 *    sensitivity-1 Gaussian-like release that is √(2ρ)-GDP, whose optimal test between
 *    neighbours succeeds (equal priors) with probability Φ(√(2ρ)/2) (Dong, Roth & Su 2019,
 *    "Gaussian differential privacy", §2.1, Eq. (2): the trade-off curve of N(0,1) vs N(μ,1),
 *    μ = Δ/σ, σ² = Δ²/(2ρ)). For any ρ-zCDP mechanism, KL ≤ ρ (Bun & Steinke 2016,
 *    Def. 1.1 at α → 1) and Pinsker give the looser 1/2 + √(ρ/8), asserted strictly too.
 * 2. DP off, two-query differencing: a group and the same group without one patient. With the
 *    cell-key method (default policy) the difference of the two sums is not the patient's value;
 *    in exact mode it is (the negative control). The residual risk is measured and printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOISE_HEADROOM, VeilgateClient, centerResidue, decodeResult, loadHe, mechanismVarianceForRho, planQuery, type Filter, type Query, type SlotPlan } from '@veilgate/sdk';
import { loadDictionary } from '../../gateway/src/datasets/dictionary.ts';
import { releaseContribution, statisticsOfPlan, type DatasetAggregates, type GroupAggregate } from '../../gateway/src/node/release-gate.ts';
import { cellKeySecretOf, recordKeyOf } from '../../gateway/src/node/cell-key.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';
import { mulberry32 } from '../support/prng.ts';

const he = await loadHe();
const T = he.plainModulus;
const dictionary = loadDictionary();

/** Φ by Abramowitz & Stegun 26.2.17 (|error| < 7.5·10⁻⁸). */
function phi(x: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  const upper = (Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI)) * poly;
  return x >= 0 ? 1 - upper : upper;
}

/** A seeded PRNG, so that the simulated cohorts are reproducible. */
const seeded = mulberry32;

function planOf(query: Query, dp: boolean): SlotPlan {
  return planQuery(query, { elements: dictionary, rowBound: 100_000n, plainModulus: T, slotCount: he.slotCount, ...(dp ? { privacy: { headroom: NOISE_HEADROOM } } : {}) });
}

async function release(plan: SlotPlan, groups: GroupAggregate[], options: { rho?: number; cellKey: boolean }) {
  const dataset: DatasetAggregates = { dataset: 'hosp-a.cardiometabolic', policy: { minCellSize: 3, minSubsetSize: 3, cellKey: options.cellKey, maxRows: 100_000n }, groups };
  return releaseContribution({
    layout: { groupCount: plan.groupCount, width: plan.columns.length, slotsPerCiphertext: he.slotCount, ciphertextCount: plan.ciphertextCount },
    statistics: statisticsOfPlan(plan), rowsStatistic: 0, datasets: [dataset], plainModulus: T,
    privacy: options.rho ? { rho: options.rho, headroom: NOISE_HEADROOM } : null,
    // One participant: this node's share is the whole noise, and nothing to mask against.
    masking: { self: 'hosp-a', maskSecret: new Uint8Array(32), maskKey: 'k', queryId: 'q', participants: [{ node: 'hosp-a', maskKey: 'k' }] },
  });
}

/** A patient's rows as the aggregate SQL would sum them: per plan column (count, present, Σu^p, bins), with cell keys. */
interface Patient {
  subject: string;
  hba1c: number;
}
function aggregateOf(plan: SlotPlan, patients: Patient[], secret: Uint8Array): GroupAggregate {
  const lo = 30n; // hba1c: 3.0 % at precision 0.1
  const values = plan.columns.map(() => 0n);
  const keys = plan.columns.map(() => 0n);
  for (const p of patients) {
    const u = BigInt(Math.round(p.hba1c * 10)) - lo;
    const rk = BigInt(recordKeyOf(secret, 'hosp-a.cardiometabolic', p.subject));
    plan.columns.forEach((c, i) => {
      const add = c.kind === 'count' || c.kind === 'present' ? 1n : c.kind === 'power' ? u ** BigInt(c.power ?? 1) : p.hba1c >= c.lower! && (c.closed ? p.hba1c <= c.upper! : p.hba1c < c.upper!) ? 1n : 0n;
      if (c.kind === 'bin' && add === 0n) return;
      values[i]! += add;
      keys[i] = (keys[i]! + rk) % (1n << 32n);
    });
  }
  return { group: 0, values, cellKeys: keys };
}

describe('DP on: the one-patient membership attack succeeds no more often than ρ allows', () => {
  const rho = 0.5;
  const gaussianBound = phi(Math.sqrt(2 * rho) / 2);
  const pinskerBound = 0.5 + Math.sqrt(rho / 8);
  // The attack of issue 10: count, mean and a fine HbA1c histogram of a one-patient filter.
  const query: Query = { datasets: ['hosp-a.cardiometabolic'], aggregates: [{ op: 'count' }, { op: 'mean', element: 'hba1c' }, { op: 'histogram', element: 'hba1c', bins: [3, 5, 5.5, 6, 6.5, 7, 7.5, 8, 20] }] };
  const patient: Patient = { subject: 'P-target', hba1c: 7.2 };
  const secret = cellKeySecretOf('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');

  /**
   * The best test: the likelihood ratio of "present" (slots shifted by the patient's d_c) to
   * "absent", Gaussian-approximated with the mechanism's variances V_c: Σ y_c·d_c/V_c against
   * Σ d_c²/(2V_c). The attacker even knows the patient's HbA1c. Plus the naive count test.
   */
  async function play(trials: number, releaseOnce: (present: boolean) => Promise<{ y: bigint[]; suppressed: unknown[] }>, plan: SlotPlan) {
    const d = aggregateOf(plan, [patient], secret).values.map(Number);
    const stats = statisticsOfPlan(plan);
    const delta = plan.columns.map((_, c) => Number(stats.find((s) => s.columns.includes(c))!.bound));
    const v = delta.map((x) => mechanismVarianceForRho('skellam', x, rho / plan.columns.length));
    const threshold = d.reduce((s, dc, c) => s + (dc * dc) / (2 * v[c]!), 0);
    let lr = 0;
    let count = 0;
    let listed = 0;
    for (let i = 0; i < trials; i++) {
      const present = i % 2 === 0;
      const { y, suppressed } = await releaseOnce(present);
      if (suppressed.length > 0) listed++;
      const statistic = y.reduce((s, yc, c) => s + (Number(yc) * d[c]!) / v[c]!, 0);
      if (statistic >= threshold === present) lr++;
      if (Number(y[0]) >= 0.5 === present) count++;
    }
    return { lr: lr / trials, count: count / trials, listed };
  }

  it(`played 4000 times against the gate: success ≤ Φ(√(2ρ)/2) (ρ = ${rho})`, async () => {
    const plan = planOf(query, true);
    const trials = 4000;
    const result = await play(trials, async (present) => {
      const { slots, suppressed } = await release(plan, present ? [aggregateOf(plan, [patient], secret)] : [], { rho, cellKey: true });
      return { y: Array.from(slots[0]!.subarray(0, plan.columns.length), (x) => centerResidue(x, T)), suppressed };
    }, plan);
    const se = Math.sqrt((gaussianBound * (1 - gaussianBound)) / trials);
    console.info(`membership attack, ρ=${rho}: LR success ${result.lr.toFixed(4)}, count-only ${result.count.toFixed(4)}, bound Φ(√(2ρ)/2) = ${gaussianBound.toFixed(4)}, Pinsker ${pinskerBound.toFixed(4)}, trials ${trials}`);
    // Nothing exact leaks on the side: no left-out list under DP, present or absent.
    expect(result.listed).toBe(0);
    expect(result.lr).toBeLessThanOrEqual(gaussianBound + 4 * se);
    expect(result.count).toBeLessThanOrEqual(gaussianBound + 4 * se);
    expect(result.lr).toBeLessThan(pinskerBound);
    // And the attacker is not crippled by a broken harness: with k = 11 columns each gets ρ/11,
    // Skellam V ≈ 14.1 for Δ = 1 (Agarwal et al.'s bound), so the LR test should win
    // ≈ Φ(√(3/14.1 + 42²/(170²·V_Σ))/2) ≈ 0.59 — well above a coin.
    expect(result.lr).toBeGreaterThan(0.55);
  });

  it('negative control: the same attacker against an exact release always wins (the harness sees a leak)', async () => {
    const plan = planOf(query, false);
    const result = await play(200, async (present) => {
      const { slots, suppressed } = await release(plan, present ? [aggregateOf(plan, [patient], secret)] : [], { cellKey: false });
      return { y: Array.from(slots[0]!.subarray(0, plan.columns.length), (x) => centerResidue(x, T)), suppressed };
    }, plan);
    // Without DP the one-patient group is left out by nfilter.tab, and the list says so: the
    // DataSHIELD behaviour, a membership signal that only DP on removes.
    expect(result.listed).toBe(100);
    expect(Math.max(result.lr, result.listed / 100)).toBeGreaterThan(gaussianBound + 0.2);
  });
});

describe('DP off, default policy: the two-query differencing attack does not return the value', () => {
  const secret = cellKeySecretOf('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
  const random = seeded(20_240_610);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const cohort: Patient[] = Array.from({ length: 400 }, (_, i) => ({ subject: `S${i}`, hba1c: Math.min(14, Math.max(4, Math.round((6.4 + 1.2 * gauss()) * 10) / 10)) }));
  const sumQuery: Query = { datasets: ['hosp-a.cardiometabolic'], aggregates: [{ op: 'sum', element: 'hba1c' }] };

  async function sumOf(plan: SlotPlan, patients: Patient[], cellKey: boolean): Promise<number> {
    const { slots, suppressed } = await release(plan, [aggregateOf(plan, patients, secret)], { cellKey });
    const [group] = decodeResult(sumQuery, plan, slots, suppressed.map((s) => ({ ...s, node: 'hosp-a' })));
    return (group!.aggregates[0] as { value: number }).value;
  }

  it('over 400 patients: the difference is rarely within ±0.5 %-points and almost never exact; exact mode always is', async () => {
    const plan = planOf(sumQuery, false);
    expect(await sumOf(plan, cohort, true)).toBe(await sumOf(plan, cohort, true)); // repeating returns the same perturbation
    const errors: number[] = [];
    let exactModeHits = 0;
    for (const [i, p] of cohort.entries()) {
      // Each trial its own cohort (other subject ids, so other record keys): the unconditional error.
      const renamed = cohort.map((x) => ({ ...x, subject: `${i}/${x.subject}` }));
      const without = renamed.filter((_, j) => j !== i);
      errors.push((await sumOf(plan, renamed, true)) - (await sumOf(plan, without, true)) - p.hba1c);
      if (i < 50 && Math.abs((await sumOf(plan, renamed, false)) - (await sumOf(plan, without, false)) - p.hba1c) < 1e-9) exactModeHits++;
    }
    const abs = errors.map(Math.abs).sort((a, b) => a - b);
    const within = (x: number) => abs.filter((e) => e <= x + 1e-9).length / abs.length;
    const quantile = (q: number) => abs[Math.floor(q * (abs.length - 1))]!;
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    const sd = Math.sqrt(errors.reduce((a, b) => a + (b - mean) ** 2, 0) / (errors.length - 1));
    console.info(`differencing attack (HbA1c, Δ = 17.0 %-points, 400 trials): exact ${(100 * within(0.05)).toFixed(1)} %, within ±0.5 ${(100 * within(0.5)).toFixed(1)} %, within ±1 ${(100 * within(1)).toFixed(1)} %; |error| median ${quantile(0.5).toFixed(2)}, p90 ${quantile(0.9).toFixed(2)}; error mean ${mean.toFixed(2)}, sd ${sd.toFixed(2)}`);
    expect(exactModeHits).toBe(50);
    expect(within(0.05)).toBeLessThan(0.05);
    expect(within(0.5)).toBeLessThan(0.15);
    expect(quantile(0.5)).toBeGreaterThan(2);
  });

  it('residual risk: averaging m different pairs (S_i ∪ {p}, S_i) shrinks the error like 1/√m', async () => {
    const plan = planOf(sumQuery, false);
    const figures: string[] = [];
    for (const m of [1, 4, 16, 64]) {
      const squared: number[] = [];
      let hits = 0;
      for (let target = 0; target < 20; target++) {
        const p = cohort[target]!;
        const others = cohort.filter((_, j) => j !== target);
        let total = 0;
        for (let i = 0; i < m; i++) {
          const subset = others.filter(() => random() < 0.5);
          total += (await sumOf(plan, [...subset, p], true)) - (await sumOf(plan, subset, true));
        }
        const err = total / m - p.hba1c;
        squared.push(err * err);
        if (Math.abs(err) <= 0.5) hits++;
      }
      const rmse = Math.sqrt(squared.reduce((a, b) => a + b, 0) / squared.length);
      figures.push(`m=${m} (${2 * m} queries): RMSE ${rmse.toFixed(2)}, within ±0.5 ${hits}/20`);
      if (m === 1) expect(rmse).toBeGreaterThan(3);
    }
    console.info(`averaging attack (distinct padding sets): ${figures.join('; ')}`);
  });

  it('residual risk, attribute by counts (is HbA1c ≥ 6.5?): an unchanged answer tells that the record set did not change', async () => {
    const query: Query = { datasets: ['hosp-a.cardiometabolic'], aggregates: [{ op: 'count' }] };
    const plan = planOf(query, false);
    const countOf = async (patients: Patient[], cellKey: boolean) => {
      const { slots } = await release(plan, [aggregateOf(plan, patients.filter((p) => p.hba1c >= 6.5), secret)], { cellKey });
      return Number(centerResidue(slots[0]![0]!, T));
    };
    // The best test: the same records always get the same perturbation, so a difference of
    // exactly 0 means "not in the cell"; any other difference means "in it". It fails only when
    // p₂ − p₁ = 1 by chance: 4/25 for the uniform table, so success ≈ ½ + ½·21/25 = 0.92.
    let right = 0;
    let exactRight = 0;
    const n = 400;
    for (let i = 0; i < n; i++) {
      const renamed = cohort.map((x) => ({ ...x, subject: `${i}/${x.subject}` }));
      const without = renamed.filter((_, j) => j !== i);
      const diff = (await countOf(renamed, true)) - (await countOf(without, true));
      if ((diff !== 0) === cohort[i]!.hba1c >= 6.5) right++;
      if ((await countOf(renamed, false)) - (await countOf(without, false)) === 1 === cohort[i]!.hba1c >= 6.5) exactRight++;
    }
    console.info(`attribute attack by counts (cell key): right ${((100 * right) / n).toFixed(1)} % (exact mode: ${((100 * exactRight) / n).toFixed(1)} %)`);
    expect(exactRight).toBe(n);
    expect(right / n).toBeLessThan(0.97);
  });
});

describe('end to end over HTTP', () => {
  describe('DP on: the membership attack through a real data space', () => {
    let t: TestSpace;
    beforeAll(async () => {
      t = await startTestSpace({ patientsPerHospital: 300, differentialPrivacy: true, rateLimitPerMinute: 10_000 });
    });
    afterAll(async () => t?.close());

    it('a one-patient filter releases no left-out detail; present vs absent (consent withdrawn) is hard to tell', async () => {
      const [target] = await t.oracle.query(`
        SELECT subject, sex, age, systolic_bp, diastolic_bp, bmi FROM (
          SELECT *, count(*) OVER (PARTITION BY sex, age, systolic_bp, diastolic_bp, bmi) AS k FROM pooled_t
          WHERE hospital = 'hosp-a' AND sex IS NOT NULL AND age IS NOT NULL AND systolic_bp IS NOT NULL AND diastolic_bp IS NOT NULL AND bmi IS NOT NULL
        ) WHERE k = 1 ORDER BY subject LIMIT 1`);
      const r = target!;
      const range = (element: string, v: number, half = 0): Filter => ({ op: 'range', element, min: v - half, max: v + half });
      const query: Query = {
        datasets: ['hosp-a.cardiometabolic'],
        filter: { op: 'and', filters: [{ op: 'eq', element: 'sex', value: r.sex as string }, range('age', Number(r.age)), range('systolic_bp', Number(r.systolic_bp)), range('diastolic_bp', Number(r.diastolic_bp)), range('bmi', Number(r.bmi), 0.05)] },
        aggregates: [{ op: 'count' }, { op: 'histogram', element: 'hba1c', bins: [3, 5, 6, 6.5, 7, 8, 20] }],
      };
      const rho = 0.03; // 20 queries: 0.6 of the demo grant's ρ = 0.75
      const runs = 10;
      let right = 0;
      const play = async (present: boolean) => {
        for (let i = 0; i < runs; i++) {
          const outcome = await t.client.query(query, { keys: t.keys, identity: t.identity, rho });
          expect(outcome.suppressed).toEqual([]);
          expect(outcome.groups[0]!.excludedAt).toEqual([]);
          if (outcome.groups[0]!.count >= 0.5 === present) right++;
        }
      };
      await play(true);
      const operator = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.operators['hosp-a']![0]! });
      await operator.importConsent('hosp-a.cardiometabolic', `subject,purpose,status,recorded_at\n${r.subject as string},*,withdrawn,2026-11-01T00:00:00Z\n`);
      await play(false);
      const bound = phi(Math.sqrt(2 * rho) / 2);
      const se = Math.sqrt((bound * (1 - bound)) / (2 * runs));
      console.info(`membership over HTTP, ρ=${rho}: ${right}/${2 * runs} right, bound ${bound.toFixed(3)}`);
      // With exact-count suppression (before issue 10) every run named hosp-a exactly when present.
      expect(right / (2 * runs)).toBeLessThanOrEqual(bound + 3 * se);
    });
  });

  describe('DP off, default policy: differencing through a real data space', () => {
    let t: TestSpace;
    beforeAll(async () => {
      t = await startTestSpace({ patientsPerHospital: 300, differentialPrivacy: false, cellKey: true, rateLimitPerMinute: 10_000 });
    });
    afterAll(async () => t?.close());

    it("a group minus one patient does not return that patient's exact HbA1c; repeating returns the same answer", async () => {
      const targets = await t.oracle.query(`
        SELECT subject, sex, age, systolic_bp, diastolic_bp, bmi, hba1c FROM (
          SELECT *, count(*) OVER (PARTITION BY sex, age, systolic_bp, diastolic_bp, bmi) AS k FROM pooled_t
          WHERE hospital = 'hosp-a' AND sex = 'female' AND age IS NOT NULL AND systolic_bp IS NOT NULL AND diastolic_bp IS NOT NULL AND bmi IS NOT NULL AND hba1c IS NOT NULL
        ) WHERE k = 1 ORDER BY subject LIMIT 6`);
      const group: Filter = { op: 'eq', element: 'sex', value: 'female' };
      const sumQuery = (filter: Filter): Query => ({ datasets: ['hosp-a.cardiometabolic'], filter, aggregates: [{ op: 'sum', element: 'hba1c' }] });
      const sum = async (filter: Filter) => {
        const outcome = await t.client.query(sumQuery(filter), { keys: t.keys, identity: t.identity });
        return (outcome.groups[0]!.aggregates[0] as { value: number }).value;
      };
      const all = await sum(group);
      expect(await sum(group)).toBe(all);
      const [truth] = await t.oracle.query(`SELECT sum(hba1c) AS s FROM pooled_t WHERE hospital = 'hosp-a' AND sex = 'female'`);
      expect(all).not.toBeCloseTo(Number(truth!.s), 6); // the default policy perturbs
      let exact = 0;
      const errors: string[] = [];
      for (const r of targets) {
        const patient: Filter = { op: 'and', filters: [{ op: 'range', element: 'age', min: Number(r.age), max: Number(r.age) }, { op: 'range', element: 'systolic_bp', min: Number(r.systolic_bp), max: Number(r.systolic_bp) }, { op: 'range', element: 'diastolic_bp', min: Number(r.diastolic_bp), max: Number(r.diastolic_bp) }, { op: 'range', element: 'bmi', min: Number(r.bmi) - 0.05, max: Number(r.bmi) + 0.05 }] };
        const diff = all - (await sum({ op: 'and', filters: [group, { op: 'not', filter: patient }] }));
        errors.push((diff - Number(r.hba1c)).toFixed(1));
        if (Math.abs(diff - Number(r.hba1c)) < 0.05) exact++;
      }
      console.info(`differencing over HTTP: errors ${errors.join(', ')} %-points`);
      expect(targets.length).toBe(6);
      expect(exact).toBeLessThanOrEqual(1);
    });
  });
});
