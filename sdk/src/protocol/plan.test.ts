/**
 * Unit tests of the slot planner. The no-wrap guarantee, the limb layout and the column
 * count are recomputed here from the dictionary with BigInt (independently of plan.ts).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { QueryValidationError } from '../errors.ts';
import { loadHe } from '../he/params.ts';
import type { DataElement, NumericElement } from './elements.ts';
import { MAX_CIPHERTEXTS, MAX_GROUPS, bucketLabels, elementsOfQuery, planQuery, slotOf, type PlanInput } from './plan.ts';
import type { Aggregate, Filter, GroupBy, Query, SlotPlan } from './query.ts';

const DICTIONARY = (parse(readFileSync(new URL('../../../spec/data-elements.yaml', import.meta.url), 'utf8')) as { elements: DataElement[] }).elements;
const NUMERIC = DICTIONARY.filter((e): e is NumericElement => e.type === 'numeric');
const CATEGORICAL = DICTIONARY.filter((e) => e.type === 'categorical');
const SLOTS = 8192;

let T: bigint;
beforeAll(async () => {
  T = (await loadHe()).plainModulus;
});

const input = (rowBound: bigint, elements: DataElement[] = DICTIONARY, plainModulus = T, slotCount = SLOTS): PlanInput => ({ elements, rowBound, plainModulus, slotCount });
const q = (aggregates: Aggregate[], extra: Partial<Query> = {}): Query => ({ datasets: ['d1'], aggregates, ...extra });

function refusal(f: () => unknown): QueryValidationError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(QueryValidationError);
    return error as QueryValidationError;
  }
  throw new Error('expected a QueryValidationError');
}

// ---------------------------------------------------------------------------------------
// Independent oracle
// ---------------------------------------------------------------------------------------

/** Fixed-point range of a numeric element with integer min/max: (hi − lo) = (max − min)·10^precision. */
function rangeOf(e: NumericElement): { lo: bigint; hi: bigint } {
  // Works for the dictionary (integers) and the generated elements (integers); decimals are
  // handled by scaling the decimal string.
  const scaled = (x: number): bigint => {
    const [int, frac = ''] = String(x).split('.');
    const digits = (frac + '0'.repeat(e.precision)).slice(0, e.precision);
    if (frac.length > e.precision) throw new Error('test element with more decimals than its precision');
    const neg = int!.startsWith('-');
    const mag = BigInt(int!.replace('-', '')) * 10n ** BigInt(e.precision) + BigInt(digits || '0');
    return neg ? -mag : mag;
  };
  return { lo: scaled(e.min), hi: scaled(e.max) };
}

/** Largest k with rowBound · (2^k − 1) ≤ half, by linear search. */
function maxLimbBits(rowBound: bigint, half: bigint): number {
  let k = 0;
  while (rowBound * ((1n << BigInt(k + 1)) - 1n) <= half) k++;
  return k;
}

/** Smallest L ≥ 1 with 2^(L·k) − 1 ≥ m. */
function limbsFor(m: bigint, k: number): number {
  let l = 1;
  while ((1n << BigInt(l * k)) - 1n < m) l++;
  return l;
}

interface Expected {
  groupCount: number;
  columns: number;
  /** element → [limbs of power 1, limbs of power 2?] (1 when unsplit). */
  limbs: Map<string, number[]>;
}

function expectedLayout(query: Query, elements: DataElement[], rowBound: bigint, t: bigint): Expected {
  const byName = new Map(elements.map((e) => [e.name, e]));
  const half = (t - 1n) / 2n;
  let groupCount = 1;
  for (const g of query.groupBy ?? []) {
    const e = byName.get(g.element)!;
    groupCount *= e.type === 'categorical' ? e.codes.length : g.buckets!.length - 1;
  }
  const maxPower = new Map<string, number>();
  const histos: string[] = [];
  for (const a of query.aggregates) {
    if (a.op === 'count') continue;
    if (a.op === 'histogram') {
      const key = JSON.stringify([a.element, a.bins]);
      if (!histos.includes(key)) histos.push(key);
      continue;
    }
    const p = a.op === 'variance' || a.op === 'stddev' ? 2 : 1;
    maxPower.set(a.element, Math.max(maxPower.get(a.element) ?? 0, p));
  }
  let columns = 1;
  const limbs = new Map<string, number[]>();
  for (const [name, p] of maxPower) {
    const { lo, hi } = rangeOf(byName.get(name) as NumericElement);
    const per: number[] = [];
    for (let power = 1; power <= p; power++) {
      const m = (hi - lo) ** BigInt(power);
      per.push(rowBound * m <= half ? 1 : limbsFor(m, maxLimbBits(rowBound, half)));
    }
    limbs.set(name, per);
    columns += 1 + per.reduce((x, y) => x + y, 0);
  }
  for (const key of histos) columns += (JSON.parse(key) as [string, number[]])[1].length - 1;
  return { groupCount, columns, limbs };
}

/** Asserts the no-wrap guarantee and limb coverage of a plan, with BigInt. */
function checkNoWrap(plan: SlotPlan, elements: DataElement[], rowBound: bigint, t: bigint): void {
  const half = (t - 1n) / 2n;
  const byName = new Map(elements.map((e) => [e.name, e]));
  // Count, present and bin slots add at most 1 per row.
  expect(rowBound * 1n <= half).toBe(true);
  const byPower = new Map<string, { limb: number; limbBits: number }[]>();
  for (const c of plan.columns) {
    if (c.kind !== 'power') continue;
    const { lo, hi } = rangeOf(byName.get(c.element!) as NumericElement);
    const maxPerRow = (hi - lo) ** BigInt(c.power!);
    const limbBits = c.limbBits ?? 0;
    const maxLimb = limbBits === 0 ? maxPerRow : (1n << BigInt(limbBits)) - 1n;
    expect(rowBound * maxLimb <= half, `${c.element}^${c.power} limb ${c.limb}`).toBe(true);
    const key = `${c.element}^${c.power}`;
    byPower.set(key, [...(byPower.get(key) ?? []), { limb: c.limb ?? 0, limbBits }]);
  }
  for (const [key, limbs] of byPower) {
    const [name, p] = key.split('^') as [string, string];
    const { lo, hi } = rangeOf(byName.get(name) as NumericElement);
    const maxPerRow = (hi - lo) ** BigInt(p);
    // Limbs are 0..L−1, share one width, and reassemble the largest per-row value.
    expect(limbs.map((l) => l.limb)).toEqual(limbs.map((_, i) => i));
    const k = limbs[0]!.limbBits;
    expect(limbs.every((l) => l.limbBits === k)).toBe(true);
    if (k === 0) {
      expect(limbs.length).toBe(1);
      continue;
    }
    const capacity = limbs.reduce((acc, l) => acc + (1n << BigInt(l.limb * k)) * ((1n << BigInt(k)) - 1n), 0n);
    expect(capacity >= maxPerRow, key).toBe(true);
    // Maximal width: one more bit per limb would overflow; and no limb is superfluous.
    expect(rowBound * ((1n << BigInt(k + 1)) - 1n) > half).toBe(true);
    expect((1n << BigInt((limbs.length - 1) * k)) - 1n < maxPerRow).toBe(true);
  }
}

// ---------------------------------------------------------------------------------------
// Known answers
// ---------------------------------------------------------------------------------------

describe('planQuery known answers', () => {
  it('count + mean(age), no grouping, small rowBound', () => {
    const plan = planQuery(q([{ op: 'count' }, { op: 'mean', element: 'age' }]), input(1000n));
    expect(plan).toEqual({
      version: 1,
      plainModulus: T.toString(),
      slotsPerCiphertext: 8192,
      rowBound: '1000',
      elements: [{ name: 'age', scale: 1, lo: '0', hi: '120' }],
      groupings: [],
      groupCount: 1,
      columns: [
        { kind: 'count' },
        { kind: 'present', element: 'age' },
        { kind: 'power', element: 'age', power: 1, limb: 0, limbBits: 0 },
      ],
      ciphertextCount: 1,
    });
  });

  it('stddev(bmi) grouped by sex and bucketed age, rowBound 10^9: limbs of 9 bits', () => {
    // half = (t − 1)/2 = 549755740160; ⌊half / 10^9⌋ = 549 → k = 9 (2^9 − 1 = 511 ≤ 549 < 1023).
    // bmi: lo = 100, hi = 700, range 600 (10 bits → 2 limbs), 600² = 360000 (19 bits → 3 limbs).
    const plan = planQuery(
      q([{ op: 'stddev', element: 'bmi' }, { op: 'histogram', element: 'age', bins: [0, 40, 120] }], {
        groupBy: [{ element: 'sex' }, { element: 'age', buckets: [0, 18, 65, 120] }],
      }),
      input(1_000_000_000n),
    );
    expect(T).toBe(1099511480321n);
    expect(plan.groupings).toEqual([
      { element: 'sex', codes: ['female', 'male'], labels: ['female', 'male'] },
      { element: 'age', buckets: [0, 18, 65, 120], labels: ['[0,18)', '[18,65)', '[65,120]'] },
    ]);
    expect(plan.groupCount).toBe(6);
    expect(plan.elements).toEqual([{ name: 'bmi', scale: 10, lo: '100', hi: '700' }]);
    expect(plan.columns).toEqual([
      { kind: 'count' },
      { kind: 'present', element: 'bmi' },
      { kind: 'power', element: 'bmi', power: 1, limb: 0, limbBits: 9 },
      { kind: 'power', element: 'bmi', power: 1, limb: 1, limbBits: 9 },
      { kind: 'power', element: 'bmi', power: 2, limb: 0, limbBits: 9 },
      { kind: 'power', element: 'bmi', power: 2, limb: 1, limbBits: 9 },
      { kind: 'power', element: 'bmi', power: 2, limb: 2, limbBits: 9 },
      { kind: 'bin', element: 'age', histogram: 0, bin: 0, lower: 0, upper: 40, closed: false },
      { kind: 'bin', element: 'age', histogram: 0, bin: 1, lower: 40, upper: 120, closed: true },
    ]);
    expect(plan.ciphertextCount).toBe(1);
  });

  it('identical histograms share slots, different ones do not; powers merge per element', () => {
    const plan = planQuery(
      q([
        { op: 'histogram', element: 'age', bins: [0, 50, 120] },
        { op: 'mean', element: 'hba1c' },
        { op: 'histogram', element: 'age', bins: [0, 50, 120] },
        { op: 'histogram', element: 'age', bins: [0, 60, 120] },
        { op: 'variance', element: 'hba1c' },
        { op: 'sum', element: 'hba1c' },
      ]),
      input(100n),
    );
    expect(plan.elements).toEqual([{ name: 'hba1c', scale: 10, lo: '30', hi: '200' }]);
    expect(plan.columns.map((c) => [c.kind, c.element, c.power ?? c.histogram, c.bin ?? c.limb])).toEqual([
      ['count', undefined, undefined, undefined],
      ['present', 'hba1c', undefined, undefined],
      ['power', 'hba1c', 1, 0],
      ['power', 'hba1c', 2, 0],
      ['bin', 'age', 0, 0],
      ['bin', 'age', 0, 1],
      ['bin', 'age', 1, 0],
      ['bin', 'age', 1, 1],
    ]);
  });

  it('rowBound = ⌊(t−1)/2⌋ is accepted with 1-bit limbs', () => {
    const half = (T - 1n) / 2n;
    const plan = planQuery(q([{ op: 'sum', element: 'admissions' }]), input(half));
    // admissions: range 50 = 0b110010 → 6 one-bit limbs.
    expect(plan.columns.filter((c) => c.kind === 'power')).toEqual(
      [0, 1, 2, 3, 4, 5].map((limb) => ({ kind: 'power', element: 'admissions', power: 1, limb, limbBits: 1 })),
    );
  });

  it('switches to limbs exactly when rowBound · range^p exceeds (t−1)/2', () => {
    const half = (T - 1n) / 2n;
    const fits = half / 120n; // age range 120
    const unsplit = planQuery(q([{ op: 'sum', element: 'age' }]), input(fits));
    expect(unsplit.columns.filter((c) => c.kind === 'power')).toEqual([{ kind: 'power', element: 'age', power: 1, limb: 0, limbBits: 0 }]);
    const split = planQuery(q([{ op: 'sum', element: 'age' }]), input(fits + 1n));
    expect(split.columns.filter((c) => c.kind === 'power').length).toBeGreaterThan(1);
  });

  it('exactly MAX_GROUPS groups and exactly MAX_CIPHERTEXTS ciphertexts are accepted', () => {
    // 4096 age buckets × (count + 15 histogram bins) = 65536 = 8 × 8192 slots.
    const buckets = Array.from({ length: MAX_GROUPS + 1 }, (_, i) => i);
    const bins = Array.from({ length: 16 }, (_, i) => i);
    const plan = planQuery(q([{ op: 'histogram', element: 'age', bins }], { groupBy: [{ element: 'age', buckets }] }), input(10n));
    expect(plan.groupCount).toBe(4096);
    expect(plan.columns.length).toBe(16);
    expect(plan.ciphertextCount).toBe(MAX_CIPHERTEXTS);
  });

  it('is deterministic and independent of object identity', () => {
    const query = q([{ op: 'count' }, { op: 'stddev', element: 'systolic_bp' }, { op: 'histogram', element: 'bmi', bins: [10, 25, 30, 70] }], {
      groupBy: [{ element: 'diagnosis' }, { element: 'smoking' }],
      filter: { op: 'and', filters: [{ op: 'eq', element: 'sex', value: 'female' }, { op: 'range', element: 'age', min: 18 }] },
    });
    const a = planQuery(query, input(123_456_789n));
    const b = planQuery(structuredClone(query), input(123_456_789n, structuredClone(DICTIONARY)));
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });
});

describe('planQuery refusals', () => {
  const bins = (...b: number[]): Aggregate => ({ op: 'histogram', element: 'age', bins: b });
  const filtered = (filter: Filter): Query => q([{ op: 'count' }], { filter });
  const grouped = (...groupBy: GroupBy[]): Query => q([{ op: 'count' }], { groupBy });
  const cases: [string, { given: Query; rowBound?: bigint; want: { code: string; field: string } }][] = [
    ['unknown aggregate element', { given: q([{ op: 'count' }, { op: 'mean', element: 'weight' }]), want: { code: 'unknown_element', field: 'query.aggregates[1].element' } }],
    ['mean of a categorical', { given: q([{ op: 'mean', element: 'sex' }]), want: { code: 'wrong_element_type', field: 'query.aggregates[0].element' } }],
    ['histogram of a categorical', { given: q([{ op: 'count' }, { op: 'histogram', element: 'smoking', bins: [0, 1] }]), want: { code: 'wrong_element_type', field: 'query.aggregates[1].element' } }],
    ['histogram with one edge', { given: q([{ op: 'count' }, bins(5)]), want: { code: 'invalid_bins', field: 'query.aggregates[1].bins' } }],
    ['histogram with no edges', { given: q([bins()]), want: { code: 'invalid_bins', field: 'query.aggregates[0].bins' } }],
    ['histogram with repeated edge', { given: q([{ op: 'count' }, bins(0, 10, 10, 20)]), want: { code: 'invalid_bins', field: 'query.aggregates[1].bins[2]' } }],
    ['histogram with decreasing edges', { given: q([bins(0, 50, 40)]), want: { code: 'invalid_bins', field: 'query.aggregates[0].bins[2]' } }],
    ['histogram with NaN edge', { given: q([bins(0, Number.NaN, 40)]), want: { code: 'invalid_bins', field: 'query.aggregates[0].bins[1]' } }],
    ['histogram with infinite edge', { given: q([bins(0, Number.POSITIVE_INFINITY)]), want: { code: 'invalid_bins', field: 'query.aggregates[0].bins[1]' } }],
    ['filter: unknown element', { given: filtered({ op: 'isNull', element: 'nope' }), want: { code: 'unknown_element', field: 'query.filter.element' } }],
    ['filter: unknown code', { given: filtered({ op: 'eq', element: 'sex', value: 'other' }), want: { code: 'unknown_code', field: 'query.filter.value' } }],
    ['filter: unknown code in list', { given: filtered({ op: 'in', element: 'diagnosis', values: ['I10', 'X99'] }), want: { code: 'unknown_code', field: 'query.filter.values[1]' } }],
    ['filter: number for a categorical', { given: filtered({ op: 'eq', element: 'sex', value: 1 }), want: { code: 'wrong_element_type', field: 'query.filter.value' } }],
    ['filter: string for a numeric', { given: filtered({ op: 'in', element: 'age', values: [30, '40'] }), want: { code: 'wrong_element_type', field: 'query.filter.values[1]' } }],
    ['filter: range on a categorical', { given: filtered({ op: 'range', element: 'smoking', min: 0 }), want: { code: 'wrong_element_type', field: 'query.filter.element' } }],
    ['filter: range without bounds', { given: filtered({ op: 'range', element: 'age' }), want: { code: 'invalid_request', field: 'query.filter' } }],
    ['filter: range min > max', { given: filtered({ op: 'range', element: 'age', min: 50, max: 40 }), want: { code: 'invalid_request', field: 'query.filter.min' } }],
    ['filter: range max infinite', { given: filtered({ op: 'range', element: 'age', max: Number.POSITIVE_INFINITY }), want: { code: 'invalid_request', field: 'query.filter.max' } }],
    [
      'filter: nested path',
      {
        given: filtered({ op: 'and', filters: [{ op: 'eq', element: 'sex', value: 'male' }, { op: 'not', filter: { op: 'or', filters: [{ op: 'isNull', element: 'age' }, { op: 'eq', element: 'smoking', value: 'sometimes' }] } }] }),
        want: { code: 'unknown_code', field: 'query.filter.filters[1].filter.filters[1].value' },
      },
    ],
    ['groupBy: unknown element', { given: grouped({ element: 'sex' }, { element: 'ward' }), want: { code: 'unknown_element', field: 'query.groupBy[1].element' } }],
    ['groupBy: element twice', { given: grouped({ element: 'sex' }, { element: 'smoking' }, { element: 'sex' }), want: { code: 'invalid_request', field: 'query.groupBy[2].element' } }],
    ['groupBy: buckets on a categorical', { given: grouped({ element: 'sex', buckets: [0, 1] }), want: { code: 'wrong_element_type', field: 'query.groupBy[0].buckets' } }],
    ['groupBy: numeric without buckets', { given: grouped({ element: 'age' }), want: { code: 'wrong_element_type', field: 'query.groupBy[0].buckets' } }],
    ['groupBy: one bucket edge', { given: grouped({ element: 'age', buckets: [18] }), want: { code: 'invalid_bins', field: 'query.groupBy[0].buckets' } }],
    ['groupBy: unsorted bucket edges', { given: grouped({ element: 'sex' }, { element: 'age', buckets: [0, 65, 18] }), want: { code: 'invalid_bins', field: 'query.groupBy[1].buckets[2]' } }],
    [
      'groupBy: more than MAX_GROUPS groups',
      // 6 × 3 × 2 × 114 = 4104 > 4096, reached at the fourth grouping.
      { given: grouped({ element: 'diagnosis' }, { element: 'smoking' }, { element: 'sex' }, { element: 'age', buckets: Array.from({ length: 115 }, (_, i) => i) }), want: { code: 'too_many_groups', field: 'query.groupBy[3]' } },
    ],
    [
      'more slots than MAX_CIPHERTEXTS ciphertexts',
      // 4096 groups × 17 columns = 69632 > 65536.
      {
        given: q([{ op: 'histogram', element: 'age', bins: Array.from({ length: 17 }, (_, i) => i) }], { groupBy: [{ element: 'age', buckets: Array.from({ length: 4097 }, (_, i) => i) }] }),
        want: { code: 'too_many_groups', field: 'query.groupBy' },
      },
    ],
    ['rowBound above (t−1)/2', { given: q([{ op: 'count' }]), rowBound: -1n, want: { code: 'plan_overflow', field: 'query.datasets' } }],
  ];

  it.each(cases)('%s', (_name, { given, rowBound, want }) => {
    // rowBound −1 stands for ⌊(t−1)/2⌋ + 1, which needs T.
    const bound = rowBound === -1n ? (T - 1n) / 2n + 1n : (rowBound ?? 1000n);
    const error = refusal(() => planQuery(given, input(bound)));
    expect({ code: error.code, field: error.field }).toEqual(want);
  });

  it('checks filters before groupings and groupings before aggregates', () => {
    const query = q([{ op: 'mean', element: 'nope' }], { groupBy: [{ element: 'nope2' }], filter: { op: 'isNull', element: 'nope3' } });
    expect(refusal(() => planQuery(query, input(10n))).field).toBe('query.filter.element');
    expect(refusal(() => planQuery({ ...query, filter: undefined }, input(10n))).field).toBe('query.groupBy[0].element');
  });
});

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

/** Strictly increasing edges (2..max) drawn from integers in [lo, hi]. */
const edges = (lo: number, hi: number, max: number): fc.Arbitrary<number[]> =>
  fc.uniqueArray(fc.integer({ min: lo, max: hi }), { minLength: 2, maxLength: max }).map((xs) => [...xs].sort((a, b) => a - b));

function filterArb(elements: DataElement[]): fc.Arbitrary<Filter> {
  const cats = elements.filter((e) => e.type === 'categorical');
  const nums = elements.filter((e): e is NumericElement => e.type === 'numeric');
  const leaf: fc.Arbitrary<Filter> = fc.oneof(
    fc.constantFrom(...cats).chain((e) => fc.constantFrom(...e.codes).map((value): Filter => ({ op: 'eq', element: e.name, value }))),
    fc.constantFrom(...cats).chain((e) => fc.subarray(e.codes, { minLength: 1 }).map((values): Filter => ({ op: 'in', element: e.name, values }))),
    fc.constantFrom(...nums).chain((e) =>
      fc.tuple(fc.integer({ min: e.min, max: e.max }), fc.integer({ min: e.min, max: e.max }), fc.constantFrom('both', 'min', 'max')).map(([a, b, which]): Filter => {
        const [min, max] = a <= b ? [a, b] : [b, a];
        return which === 'both' ? { op: 'range', element: e.name, min, max } : which === 'min' ? { op: 'range', element: e.name, min } : { op: 'range', element: e.name, max };
      }),
    ),
    fc.constantFrom(...elements).map((e): Filter => ({ op: 'isNull', element: e.name })),
  );
  return fc.letrec<{ f: Filter }>((tie) => ({
    f: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((filters): Filter => ({ op: 'and', filters })),
      fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((filters): Filter => ({ op: 'or', filters })),
      tie('f').map((filter): Filter => ({ op: 'not', filter })),
    ),
  })).f;
}

function queryArb(elements: DataElement[]): fc.Arbitrary<Query> {
  const cats = elements.filter((e) => e.type === 'categorical');
  const nums = elements.filter((e): e is NumericElement => e.type === 'numeric');
  const aggregate: fc.Arbitrary<Aggregate> = fc.oneof(
    fc.constant<Aggregate>({ op: 'count' }),
    fc.record({ op: fc.constantFrom('sum', 'mean', 'variance', 'stddev'), element: fc.constantFrom(...nums.map((e) => e.name)) }) as fc.Arbitrary<Aggregate>,
    fc.constantFrom(...nums).chain((e) => edges(Math.floor(e.min), Math.ceil(e.max), 8).map((b): Aggregate => ({ op: 'histogram', element: e.name, bins: b }))),
  );
  const numericGroup = fc.option(fc.constantFrom(...nums).chain((e) => edges(Math.floor(e.min), Math.ceil(e.max), 6).map((b): GroupBy => ({ element: e.name, buckets: b }))), { nil: undefined });
  const groupBy = fc
    .tuple(fc.shuffledSubarray(cats.map((e) => e.name)), numericGroup, fc.nat())
    .map(([names, numeric, at]) => {
      const gs: GroupBy[] = names.map((element) => ({ element }));
      if (numeric) gs.splice(at % (gs.length + 1), 0, numeric);
      return gs;
    });
  return fc
    .record({
      aggregates: fc.array(aggregate, { minLength: 1, maxLength: 7 }),
      groupBy: fc.option(groupBy, { nil: undefined }),
      filter: fc.option(filterArb(elements), { nil: undefined }),
    })
    .map(({ aggregates, groupBy: g, filter }) => {
      const query: Query = { datasets: ['d1', 'd2'], aggregates };
      if (g) query.groupBy = g;
      if (filter) query.filter = filter;
      return query;
    });
}

/** A numeric element with an integer range and precision 0–4 (up to ≈ 10^13 fixed-point units). */
const customElement: fc.Arbitrary<NumericElement> = fc
  .tuple(fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }), fc.integer({ min: 1, max: 1_000_000_000 }), fc.integer({ min: 0, max: 4 }))
  .map(([min, width, precision]) => ({ name: 'custom', title: 'Custom', type: 'numeric', unit: '1', precision, min, max: min + width }));

function checkPlan(query: Query, elements: DataElement[], rowBound: bigint, t: bigint, slotCount: number): void {
  const want = expectedLayout(query, elements, rowBound, t);
  const slotsNeeded = want.groupCount * want.columns;
  if (slotsNeeded > MAX_CIPHERTEXTS * slotCount) {
    const error = refusal(() => planQuery(query, input(rowBound, elements, t, slotCount)));
    expect(error.code).toBe('too_many_groups');
    return;
  }
  const plan = planQuery(query, input(rowBound, elements, t, slotCount));
  expect(plan.groupCount).toBe(want.groupCount);
  expect(plan.columns.length).toBe(want.columns);
  expect(plan.ciphertextCount).toBe(Math.max(1, Math.ceil(slotsNeeded / slotCount)));
  expect(plan.groupCount * plan.columns.length).toBeLessThanOrEqual(MAX_CIPHERTEXTS * slotCount);
  expect(plan.columns.filter((c) => c.kind === 'count').length).toBe(1);
  expect(plan.columns[0]).toEqual({ kind: 'count' });
  for (const [name, limbs] of want.limbs) {
    limbs.forEach((n, i) => expect(plan.columns.filter((c) => c.kind === 'power' && c.element === name && c.power === i + 1).length).toBe(n));
    const { lo, hi } = rangeOf(elements.find((e) => e.name === name) as NumericElement);
    expect(plan.elements.find((e) => e.name === name)).toMatchObject({ lo: lo.toString(), hi: hi.toString() });
  }
  checkNoWrap(plan, elements, rowBound, t);
  expect(planQuery(structuredClone(query), input(rowBound, elements, t, slotCount))).toEqual(plan);
}

describe('planQuery properties', () => {
  it('dictionary queries, rowBound in [1, 10^9]: no slot can wrap, limbs cover the range, layout size as computed', () => {
    fc.assert(
      fc.property(queryArb(DICTIONARY), fc.oneof(fc.bigInt(1n, 1000n), fc.bigInt(1n, 1_000_000_000n), fc.constant(1_000_000_000n)), (query, rowBound) => {
        checkPlan(query, DICTIONARY, rowBound, T, SLOTS);
      }),
      { numRuns: 300 },
    );
  });

  it('custom wide elements, any odd t and any rowBound ≤ (t−1)/2: no slot can wrap', () => {
    const arb = fc
      .tuple(customElement, fc.bigInt(3n, 1n << 80n))
      .chain(([custom, t0]) => {
        const t = t0 | 1n;
        const half = (t - 1n) / 2n;
        const elements = [...DICTIONARY, custom];
        return fc.tuple(fc.constant(elements), fc.constant(t), fc.oneof(fc.bigInt(1n, half), fc.constant(half), fc.constant(1n)), queryArb(elements));
      });
    fc.assert(
      fc.property(arb, fc.constantFrom(8, 64, 8192), ([elements, t, rowBound, query], slotCount) => {
        checkPlan(query, elements, rowBound, t, slotCount);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any rowBound above (t−1)/2 with plan_overflow', () => {
    fc.assert(
      fc.property(fc.bigInt(3n, 1n << 64n), fc.bigInt(1n, 1n << 64n), (t0, excess) => {
        const t = t0 | 1n;
        const error = refusal(() => planQuery(q([{ op: 'count' }]), input((t - 1n) / 2n + excess, DICTIONARY, t)));
        expect({ code: error.code, field: error.field }).toEqual({ code: 'plan_overflow', field: 'query.datasets' });
      }),
    );
  });
});

describe('helpers', () => {
  it.each([
    ['one bin', { given: [0, 10], want: ['[0,10]'] }],
    ['three bins', { given: [0, 18, 65, 120], want: ['[0,18)', '[18,65)', '[65,120]'] }],
    ['decimals and negatives', { given: [-1.5, 0, 2.25], want: ['[-1.5,0)', '[0,2.25]'] }],
  ])('bucketLabels: %s', (_name, { given, want }) => {
    expect(bucketLabels(given)).toEqual(want);
  });

  it('slotOf is group-major and wraps at slotsPerCiphertext', () => {
    const plan = planQuery(q([{ op: 'mean', element: 'age' }], { groupBy: [{ element: 'diagnosis' }] }), input(10n, DICTIONARY, T, 8));
    // 6 groups × 3 columns = 18 slots in ciphertexts of 8.
    expect(plan.ciphertextCount).toBe(3);
    expect(slotOf(plan, 0, 0)).toEqual({ ciphertext: 0, slot: 0 });
    expect(slotOf(plan, 2, 1)).toEqual({ ciphertext: 0, slot: 7 });
    expect(slotOf(plan, 2, 2)).toEqual({ ciphertext: 1, slot: 0 });
    expect(slotOf(plan, 5, 2)).toEqual({ ciphertext: 2, slot: 1 });
  });

  it('elementsOfQuery lists filter, grouping and aggregate elements once, in order met', () => {
    const query = q([{ op: 'count' }, { op: 'mean', element: 'bmi' }, { op: 'histogram', element: 'age', bins: [0, 1] }], {
      filter: { op: 'and', filters: [{ op: 'not', filter: { op: 'isNull', element: 'bmi' } }, { op: 'eq', element: 'sex', value: 'male' }] },
      groupBy: [{ element: 'smoking' }, { element: 'sex' }],
    });
    expect(elementsOfQuery(query)).toEqual(['bmi', 'sex', 'smoking', 'age']);
  });

  it('the dictionary fixture has the expected shape', () => {
    expect(NUMERIC.map((e) => e.name)).toEqual(['age', 'systolic_bp', 'diastolic_bp', 'bmi', 'hba1c', 'admissions']);
    expect(CATEGORICAL.map((e) => e.name)).toEqual(['sex', 'diagnosis', 'smoking']);
  });
});
