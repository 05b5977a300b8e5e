/**
 * Exactness (issue: "with noise off, every result equals the same statistic computed in
 * plaintext by DuckDB over the pooled rows"): random queries, and random datasets, through
 * the real path — SDK → hub → nodes over HTTP, DuckDB, BFV — against the DuckDB oracle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Query } from '@veilgate/sdk';
import { startTestSpace, type TestSpace } from '../support/space.ts';
import { CODES, expectedResult } from '../support/expected-result.ts';
import { assertMatches } from '../support/compare.ts';
import { queryArb } from '../support/arbitraries.ts';

/** Groups of a query's grouping (the cartesian product of levels). */
function groupCount(query: Query): number {
  return (query.groupBy ?? []).reduce((n, g) => n * (g.buckets ? g.buckets.length - 1 : CODES[g.element]!.length), 1);
}

async function check(t: TestSpace, query: Query): Promise<void> {
  // DataSHIELD nfilter.levels (0.33): too many groups for a dataset's rows is refused outright.
  const rows = await t.oracle.query(`SELECT hospital, count(*) AS n FROM pooled_t GROUP BY hospital`);
  const smallest = Math.min(...query.datasets.map((d) => Number(rows.find((r) => r.hospital === t.datasetHospital[d])?.n ?? 0)));
  if (query.groupBy?.length && groupCount(query) > 0.33 * smallest) {
    const err = await t.client.query(query, { keys: t.keys, identity: t.identity }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'disclosure_control', status: 422, field: 'query.groupBy' });
    expect((err as Error).message).toContain('nfilter.levels');
    return;
  }
  const outcome = await t.client.query(query, { keys: t.keys, identity: t.identity });
  assertMatches(query, outcome.groups, await expectedResult(t.oracle, query, t.datasetHospital, t.minCell));
}

describe('encrypted federated results equal plaintext DuckDB over the pooled rows', () => {
  let t: TestSpace;
  beforeAll(async () => {
    t = await startTestSpace({ patientsPerHospital: 600, cellKey: false });
  });
  afterAll(async () => t?.close());

  it('a stratified query with every statistic', async () => {
    const query: Query = {
      datasets: t.datasets,
      filter: { op: 'range', element: 'age', min: 18 },
      groupBy: [{ element: 'sex' }, { element: 'age', buckets: [18, 40, 65, 120] }],
      aggregates: [
        { op: 'count' }, { op: 'sum', element: 'bmi' }, { op: 'mean', element: 'systolic_bp' },
        { op: 'variance', element: 'hba1c' }, { op: 'stddev', element: 'systolic_bp' },
        { op: 'histogram', element: 'bmi', bins: [10, 18.5, 25, 30, 70] },
      ],
    };
    await check(t, query);
  });

  it('leaves out small groups per institution and says where (minimum cell size 3)', async () => {
    // Fine strata at 600 patients per hospital: some cells fall below 3 somewhere.
    const query: Query = {
      datasets: t.datasets,
      groupBy: [{ element: 'diagnosis' }, { element: 'age', buckets: [0, 20, 25, 30, 95, 120] }],
      aggregates: [{ op: 'count' }, { op: 'mean', element: 'systolic_bp' }],
    };
    const outcome = await t.client.query(query, { keys: t.keys, identity: t.identity });
    const expected = await expectedResult(t.oracle, query, t.datasetHospital, t.minCell);
    expect([...expected.values()].some((g) => g.excludedAt.length > 0)).toBe(true);
    assertMatches(query, outcome.groups, expected);
    // Never the small count itself: a left-out institution adds nothing to the group.
    for (const g of outcome.groups) for (const e of g.excludedAt) expect(outcome.suppressed).toContainEqual(expect.objectContaining({ node: e.node }));
  });

  it('a small histogram bin or non-missing count leaves the whole group out (nfilter.tab on every released count)', async () => {
    // Coarse groups (≥ 3 rows everywhere) with a fine HbA1c histogram: only the bins are small.
    const query: Query = {
      datasets: t.datasets,
      groupBy: [{ element: 'sex' }],
      aggregates: [{ op: 'count' }, { op: 'mean', element: 'hba1c' }, { op: 'histogram', element: 'hba1c', bins: [3, 4.5, 5, 5.5, 6, 6.5, 7, 8, 10, 12, 20] }],
    };
    const outcome = await t.client.query(query, { keys: t.keys, identity: t.identity });
    const expected = await expectedResult(t.oracle, query, t.datasetHospital, t.minCell);
    const perHospital = await t.oracle.query(`SELECT hospital, sex, count(*) AS n FROM pooled_t WHERE sex IS NOT NULL GROUP BY ALL`);
    expect(perHospital.every((r) => Number(r.n) >= 5)).toBe(true);
    expect([...expected.values()].some((g) => g.excludedAt.length > 0)).toBe(true);
    assertMatches(query, outcome.groups, expected);
  });

  it('sums needing several limbs per slot stay exact (Σ systolic² over every row)', async () => {
    await check(t, { datasets: t.datasets, aggregates: [{ op: 'variance', element: 'systolic_bp' }, { op: 'sum', element: 'admissions' }] });
  });

  it('random queries (fast-check)', async () => {
    await fc.assert(fc.asyncProperty(queryArb(t.datasets), (query) => check(t, query)), { numRuns: 100 });
  });
});

describe('random datasets (fast-check over seeds, sizes and hospital counts)', () => {
  it('every random data space answers random queries exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ seed: fc.integer({ min: 1, max: 1_000_000 }), patients: fc.integer({ min: 10, max: 400 }), hospitals: fc.integer({ min: 1, max: 4 }) }),
        async ({ seed, patients, hospitals }) => {
          const t = await startTestSpace({ patientsPerHospital: patients, hospitals, seed, cellKey: false });
          try {
            const queries = fc.sample(queryArb(t.datasets), { numRuns: 3, seed });
            for (const query of queries) await check(t, query);
          } finally {
            await t.close();
          }
        },
      ),
      { numRuns: 8 },
    );
  });
});
