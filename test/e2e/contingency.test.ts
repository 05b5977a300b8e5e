/**
 * A contingency table through the data space (issue 12, first slice): one round of encrypted
 * counts grouped by two categorical elements over three institutions (exact mode: DP and the
 * cell key off), then Pearson's chi-square in the SDK — equal to R's `chisq.test` on the pooled
 * rows, exported from the DuckDB oracle to a CSV that R reads itself.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { chiSquareTest, tableFromGroups, type Query } from '@veilgate/sdk';
import { startTestSpace, type TestSpace } from '../support/space.ts';
import { hasR, runR } from '../support/rscript.ts';

let t: TestSpace;
beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 400 });
});
afterAll(async () => t?.close());

it.skipIf(!hasR)("sex × smoking over three institutions: the SDK's chi-square equals R's chisq.test on the pooled rows", async () => {
  const query: Query = { datasets: t.datasets, groupBy: [{ element: 'sex' }, { element: 'smoking' }], aggregates: [{ op: 'count' }] };
  const outcome = await t.client.query(query, { keys: t.keys, identity: t.identity });
  // No cell was left out anywhere, so the pooled table is complete.
  expect(outcome.suppressed).toEqual([]);
  const table = tableFromGroups(outcome.groups.filter((g) => g.count > 0), 'sex', 'smoking');
  const ours = chiSquareTest(table);
  const csv = join(t.dir, 'pooled.csv');
  await t.oracle.query(`COPY (SELECT sex, smoking FROM pooled_t WHERE sex IS NOT NULL AND smoking IS NOT NULL) TO '${csv}' (HEADER)`);
  const out = await runR(`d <- read.csv("${csv}"); r <- chisq.test(table(d$sex, d$smoking)); cat(format(c(r$statistic, r$parameter, r$p.value, sum(table(d$sex, d$smoking))), digits = 17))`);
  const [stat, df, p, n] = out.trim().split(/\s+/).map(Number);
  expect(table.counts.flat().reduce((a, b) => a + b, 0)).toBe(n);
  expect(ours.df).toBe(df);
  expect(Math.abs(ours.statistic - stat!)).toBeLessThanOrEqual(1e-9 * stat!);
  expect(Math.abs(ours.pValue - p!)).toBeLessThanOrEqual(1e-9 * p! + 1e-300);
});
