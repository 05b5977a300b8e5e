/** fast-check arbitraries for random queries over the data-element dictionary. */
import fc from 'fast-check';
import type { Aggregate, Filter, GroupBy, Query } from '@veilgate/sdk';
import { CODES, RANGES } from './expected-result.ts';

const NUMERIC = Object.keys(RANGES);
const CATEGORICAL = Object.keys(CODES);

/** A value at an element's precision inside (or slightly outside) its range. */
function valueOf(element: string, slack = 0): fc.Arbitrary<number> {
  const r = RANGES[element]!;
  const scale = 10 ** r.precision;
  return fc.integer({ min: Math.round((r.min - slack) * scale), max: Math.round((r.max + slack) * scale) }).map((v) => v / scale);
}

/** Strictly increasing edges, 2..maxEdges of them, at the element's precision. */
export function edgesOf(element: string, maxEdges: number): fc.Arbitrary<number[]> {
  return fc.uniqueArray(valueOf(element, 5), { minLength: 2, maxLength: maxEdges }).map((xs) => [...xs].sort((a, b) => a - b));
}

const leaf: fc.Arbitrary<Filter> = fc.oneof(
  fc.constantFrom(...CATEGORICAL).chain((e) => fc.constantFrom(...CODES[e]!).map((value): Filter => ({ op: 'eq', element: e, value }))),
  fc.constantFrom(...CATEGORICAL).chain((e) => fc.subarray(CODES[e]!, { minLength: 1 }).map((values): Filter => ({ op: 'in', element: e, values }))),
  fc.constantFrom(...NUMERIC).chain((e) =>
    fc.tuple(fc.option(valueOf(e, 2), { nil: undefined }), fc.option(valueOf(e, 2), { nil: undefined })).filter(([a, b]) => a !== undefined || b !== undefined).map(([a, b]): Filter => {
      const [min, max] = a !== undefined && b !== undefined && a > b ? [b, a] : [a, b];
      return { op: 'range', element: e, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
    }),
  ),
  fc.constantFrom('bmi', 'hba1c', 'age').map((e): Filter => ({ op: 'isNull', element: e })),
  fc.constantFrom('age', 'admissions').chain((e) => valueOf(e).map((value): Filter => ({ op: 'eq', element: e, value }))),
);

/** Filter trees up to depth 2. */
export const filterArb: fc.Arbitrary<Filter> = fc.oneof(
  { weight: 3, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { minLength: 1, maxLength: 3 }).map((filters): Filter => ({ op: 'and', filters })) },
  { weight: 1, arbitrary: fc.array(leaf, { minLength: 1, maxLength: 3 }).map((filters): Filter => ({ op: 'or', filters })) },
  { weight: 1, arbitrary: leaf.map((filter): Filter => ({ op: 'not', filter })) },
);

const groupArb: fc.Arbitrary<GroupBy> = fc.oneof(
  fc.constantFrom(...CATEGORICAL).map((element): GroupBy => ({ element })),
  fc.constantFrom(...NUMERIC).chain((element) => edgesOf(element, 4).map((buckets): GroupBy => ({ element, buckets }))),
);

const aggregateArb: fc.Arbitrary<Aggregate> = fc.oneof(
  fc.constant<Aggregate>({ op: 'count' }),
  fc.tuple(fc.constantFrom('sum', 'mean', 'variance', 'stddev') as fc.Arbitrary<'sum' | 'mean' | 'variance' | 'stddev'>, fc.constantFrom(...NUMERIC)).map(([op, element]): Aggregate => ({ op, element })),
  fc.constantFrom(...NUMERIC).chain((element) => edgesOf(element, 6).map((bins): Aggregate => ({ op: 'histogram', element, bins }))),
);

/**
 * Random valid queries over the given datasets.
 *
 * @example
 * fc.assert(fc.asyncProperty(queryArb(['a', 'b']), async (q) => …));
 */
export function queryArb(datasets: string[]): fc.Arbitrary<Query> {
  return fc.record({
    datasets: fc.subarray(datasets, { minLength: 1 }),
    filter: fc.option(filterArb, { nil: undefined }),
    groupBy: fc.uniqueArray(groupArb, { maxLength: 2, selector: (g) => g.element }),
    aggregates: fc.array(aggregateArb, { minLength: 1, maxLength: 4 }),
  }).map((q): Query => ({
    datasets: q.datasets,
    aggregates: q.aggregates,
    ...(q.filter ? { filter: q.filter } : {}),
    ...(q.groupBy.length ? { groupBy: q.groupBy } : {}),
  }));
}
