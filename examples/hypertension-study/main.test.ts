/**
 * The example runs as a user runs it — a separate process against a running data space —
 * and its numbers equal plaintext DuckDB over the pooled rows.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { GroupResult, Query } from '@veilgate/sdk';
import { startTestSpace, type TestSpace } from '../../test/support/space.ts';
import { expectedResult } from '../../test/support/expected-result.ts';
import { assertMatches } from '../../test/support/compare.ts';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./main.ts', import.meta.url));
let t: TestSpace;

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 2000 });
});
afterAll(async () => t?.close());

function env(): NodeJS.ProcessEnv {
  const { VEILGATE_HUB: _h, VEILGATE_API_KEY: _k, ...rest } = process.env;
  return { ...rest, VEILGATE_DEMO: join(t.dir, 'demo.json') };
}

it('prints a table of the stratified study', async () => {
  const { stdout } = await run(process.execPath, [script], { env: env() });
  expect(stdout).toMatch(/Systolic blood pressure by sex and age band — 3 institutions/);
  expect(stdout).toMatch(/^female\s+\[18,40\)\s+\d+/m);
  expect(stdout).toMatch(/^male\s+\[65,120\]\s+\d+/m);
  expect(stdout).toMatch(/cost: \d+ credits, .*; credits left \d+/);
  expect(stdout).toMatch(/privacy budget left at hosp-a: [0-9.]+ of 0.5/);
});

it('its numbers equal the plaintext oracle', async () => {
  const { stdout } = await run(process.execPath, [script, '--json'], { env: env() });
  const { query, groups } = JSON.parse(stdout) as { query: Query; groups: GroupResult[] };
  expect(query.datasets.sort()).toEqual([...t.datasets].sort());
  assertMatches(query, groups, await expectedResult(t.oracle, query, t.datasetHospital, t.minCell));
});

it('explains what to do when no data space is configured', async () => {
  const { VEILGATE_HUB: _h, VEILGATE_API_KEY: _k, ...rest } = process.env;
  const err = await run(process.execPath, [script], { env: { ...rest, VEILGATE_DEMO: join(t.dir, 'missing.json') } }).catch((e: { code: number; stderr: string }) => e);
  expect(err).toMatchObject({ code: 2 });
  expect((err as { stderr: string }).stderr).toMatch(/npm start/);
});
