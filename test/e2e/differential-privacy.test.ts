/**
 * Differential privacy end to end (issue 4 §2): with DP on, each node adds its Skellam share
 * and the researcher sees the true statistic plus noise of the calibrated variance
 * σ² = k·Δ²/(2ρ) — checked over many queries against the plaintext oracle (mean ≈ 0,
 * variance within a χ² interval, no extreme tails); the cost is stated and spent.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { VeilgateClient, type Query } from '@veilgate/sdk';
import { startTestSpace, type TestSpace } from '../support/space.ts';

let t: TestSpace;
beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 300, differentialPrivacy: true, rateLimitPerMinute: 10_000 });
});
afterAll(async () => t?.close());

it('counts carry zero-mean noise of the calibrated variance; the budget is spent per query', async () => {
  const rho = 0.01;
  const query: Query = { datasets: t.datasets, groupBy: [{ element: 'sex' }], aggregates: [{ op: 'count' }] };
  const truth = new Map((await t.oracle.query('SELECT sex, count(*) AS n FROM pooled_t GROUP BY sex')).map((r) => [r.sex as string, Number(r.n)]));
  const noise: number[] = [];
  const before = await t.client.balance();
  const runs = 40;
  for (let i = 0; i < runs; i++) {
    const outcome = await t.client.query(query, { keys: t.keys, identity: t.identity, rho });
    expect(outcome.cost.rho).toBe(rho);
    for (const g of outcome.groups) noise.push(g.count - truth.get(g.key.sex!)!);
  }
  // One column (count), Δ = 1, ρ = 0.01: the Gaussian would need σ² = Δ²/(2ρ) = 50; Skellam
  // needs a little more by Agarwal et al.'s bound, ρ = Δ²/(2V) + (Δ² + 3Δ)/(2V²) → V ≈ 53.72.
  const sigma2 = 53.72;
  const n = noise.length;
  const mean = noise.reduce((a, b) => a + b, 0) / n;
  const variance = noise.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(sigma2 / n));
  // (n−1)s²/σ² ~ χ²(n−1): for n = 80 the 1e-4 and 1 − 1e-4 quantiles are ≈ 40 and ≈ 131.
  expect(((n - 1) * variance) / sigma2).toBeGreaterThan(40);
  expect(((n - 1) * variance) / sigma2).toBeLessThan(131);
  expect(Math.max(...noise.map(Math.abs))).toBeLessThan(8 * Math.sqrt(sigma2));
  expect(noise.some((x) => x !== 0)).toBe(true);
  const after = await t.client.balance();
  const spent = (b: typeof before) => b.grants.reduce((s, g) => s + g.spent, 0);
  expect(spent(after) - spent(before)).toBeCloseTo(runs * rho * after.grants.length, 9);
});

it('with DP on nothing is decided on exact counts: fine strata with one-patient cells leave nothing out and list nothing', async () => {
  const query: Query = { datasets: t.datasets, groupBy: [{ element: 'diagnosis' }, { element: 'age', buckets: [0, 20, 25, 30, 95, 120] }], aggregates: [{ op: 'count' }, { op: 'histogram', element: 'hba1c', bins: [3, 5, 6, 7, 20] }] };
  // The oracle: some hospital has a cell of 1 or 2 rows here (the old rule listed it, exactly).
  const small = await t.oracle.query(`SELECT hospital, diagnosis, count(*) AS n FROM pooled_t WHERE age >= 0 AND age < 20 GROUP BY ALL HAVING count(*) < 3`);
  expect(small.length).toBeGreaterThan(0);
  const outcome = await t.client.query(query, { keys: t.keys, identity: t.identity, rho: 0.1 });
  expect(outcome.suppressed).toEqual([]);
  for (const g of outcome.groups) expect(g.excludedAt).toEqual([]);
});

it('an estimate states the (ε, δ) of a ρ before anything is spent', async () => {
  const estimate = await t.client.estimate({ datasets: t.datasets, aggregates: [{ op: 'mean', element: 'bmi' }] }, { identity: t.identity, rho: 0.5 });
  expect(estimate.epsilon).toBeGreaterThan(0.5);
  expect(estimate.delta).toBe(1e-6);
});

it("an operator switches differential privacy off for their dataset: exact results, no budget spent", async () => {
  const operator = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.operators['hosp-a']![0]! });
  const other = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.operators['hosp-b']![0]! });
  await expect(other.setPrivacy('hosp-a.cardiometabolic', { differentialPrivacy: false })).rejects.toMatchObject({ code: 'forbidden' });
  expect(await operator.setPrivacy('hosp-a.cardiometabolic', { differentialPrivacy: false })).toEqual({ differentialPrivacy: false });
  expect((await t.client.catalog({ refresh: true })).datasets.find((d) => d.id === 'hosp-a.cardiometabolic')!.differentialPrivacy).toBe(false);
  const query: Query = { datasets: ['hosp-a.cardiometabolic'], aggregates: [{ op: 'count' }] };
  const outcome = await t.client.query(query, { keys: t.keys, identity: t.identity });
  expect(outcome.cost.rho).toBe(0);
  const [truth] = await t.oracle.query(`SELECT count(*) AS n FROM pooled_t WHERE hospital = 'hosp-a'`);
  expect(outcome.groups[0]!.count).toBe(Number(truth!.n));
  // A query over this dataset and a DP-on one elsewhere: every node plans with the noise
  // headroom the signed ρ implies, hosp-a adds no noise and charges nothing, the others do.
  const mixed: Query = { datasets: t.datasets, aggregates: [{ op: 'count' }, { op: 'variance', element: 'systolic_bp' }] };
  const both = await t.client.query(mixed, { keys: t.keys, identity: t.identity, rho: 0.01 });
  expect(both.cost.rho).toBe(0.01);
  expect(both.contributions.map((c) => c.node).sort()).toEqual([...new Set(Object.values(t.datasetHospital))].sort());
  await operator.setPrivacy('hosp-a.cardiometabolic', { differentialPrivacy: true, defaultRho: 0.2 });
  expect((await t.client.query(query, { keys: t.keys, identity: t.identity })).cost.rho).toBe(0.2);
});
