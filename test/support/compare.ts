/** Compares decoded groups with the oracle's expected groups (exact counts/sums, 1e-9 relative otherwise). */
import { expect } from 'vitest';
import type { GroupResult, Query } from '@veilgate/sdk';
import type { ExpectedGroup } from './expected-result.ts';

const RELATIVE = 1e-9;

function close(actual: number | null, expected: number | null, what: string): void {
  if (expected === null) {
    expect(actual, what).toBeNull();
    return;
  }
  expect(actual, what).not.toBeNull();
  const tolerance = RELATIVE * Math.max(1, Math.abs(expected));
  expect(Math.abs(actual! - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

/**
 * Asserts that every decoded group equals the oracle's (groups the oracle lacks are empty).
 *
 * @example
 * assertMatches(query, outcome.groups, await expectedResult(...));
 */
export function assertMatches(query: Query, groups: GroupResult[], expected: Map<string, ExpectedGroup>): void {
  const groupBy = query.groupBy ?? [];
  const seen = new Set<string>();
  for (const g of groups) {
    const k = JSON.stringify(groupBy.map((x) => g.key[x.element]));
    seen.add(k);
    const want = expected.get(k);
    const label = `group ${k}`;
    expect(g.excludedAt.map((e) => e.node).sort(), `${label} exclusions`).toEqual(want?.excludedAt ?? []);
    expect(g.count, `${label} count`).toBe(want?.count ?? 0);
    query.aggregates.forEach((a, i) => {
      const got = g.aggregates[i]!;
      const w = want?.values[i];
      const what = `${label} ${a.op}${a.op === 'count' ? '' : `(${a.element})`}`;
      if (got.op === 'count') expect(got.value, what).toBe(w ?? 0);
      else if (got.op === 'histogram') expect(got.bins.map((b) => b.count), what).toEqual(w ?? got.bins.map(() => 0));
      else if (got.op === 'sum') {
        // Exact: the decoded decimal string, scaled to an integer, equals DuckDB's integer sum.
        expect(BigInt(got.exact.replace('.', '')), what).toBe((w as bigint | undefined) ?? 0n);
      } else close(got.value, (w as number | null | undefined) ?? null, what);
    });
  }
  for (const k of expected.keys()) expect(seen.has(k), `oracle group ${k} missing from the result`).toBe(true);
}
