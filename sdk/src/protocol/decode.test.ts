/**
 * Unit tests of result decoding. The slot vectors are built here from tiny hand-written
 * datasets, in the role of the nodes (u = clamp(round(x · scale)) − lo, limbs, counts, bins);
 * expected statistics are hand computations from the raw numbers.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ResultVerificationError } from '../errors.ts';
import { loadHe } from '../he/params.ts';
import { centerResidue, decodeResult, type AggregateValue, type GroupResult } from './decode.ts';
import type { DataElement, NumericElement } from './elements.ts';
import { planQuery } from './plan.ts';
import type { Aggregate, Query, SlotPlan, Suppression } from './query.ts';

const DICTIONARY = (parse(readFileSync(new URL('../../../spec/data-elements.yaml', import.meta.url), 'utf8')) as { elements: DataElement[] }).elements;
/** A signed element, so that lo < 0 and sums can be negative. */
const DELTA: NumericElement = { name: 'delta', title: 'Signed change', type: 'numeric', unit: '1', precision: 1, min: -50, max: 50 };
const ELEMENTS: DataElement[] = [...DICTIONARY, DELTA];

let T: bigint;
beforeAll(async () => {
  T = (await loadHe()).plainModulus;
});

type Row = Record<string, string | number | null>;

/** Fixed-point parameters, from the dictionary entry (written independently of elements.ts). */
function fixedPoint(name: string): { scale: number; lo: bigint; hi: bigint } {
  const e = ELEMENTS.find((x) => x.name === name) as NumericElement;
  const scale = 10 ** e.precision;
  return { scale, lo: BigInt(e.min * scale), hi: BigInt(e.max * scale) };
}

/** The group index of a row (last grouping varies fastest), or null when it is in no group. */
function groupOf(plan: SlotPlan, row: Row): number | null {
  let g = 0;
  for (const grouping of plan.groupings) {
    const v = row[grouping.element];
    let level = -1;
    if (v !== null && v !== undefined) {
      if (grouping.codes) level = grouping.codes.indexOf(v as string);
      else {
        const b = grouping.buckets!;
        for (let i = 0; i + 1 < b.length; i++) {
          const last = i + 2 === b.length;
          if ((v as number) >= b[i]! && (last ? (v as number) <= b[i + 1]! : (v as number) < b[i + 1]!)) level = i;
        }
      }
    }
    if (level < 0) return null;
    g = g * grouping.labels.length + level;
  }
  return g;
}

/** What a node computes: per group, per column, the integer sum; then residues mod t in ciphertext vectors. */
function encodeRows(plan: SlotPlan, rows: Row[], t: bigint): BigUint64Array[] {
  const width = plan.columns.length;
  const totals = Array.from({ length: plan.groupCount * width }, () => 0n);
  for (const row of rows) {
    const g = groupOf(plan, row);
    if (g === null) continue;
    plan.columns.forEach((c, i) => {
      const v = c.element === undefined ? null : row[c.element];
      let add = 0n;
      switch (c.kind) {
        case 'count':
          add = 1n;
          break;
        case 'present':
          add = v === null || v === undefined ? 0n : 1n;
          break;
        case 'power': {
          if (v === null || v === undefined) break;
          const fp = fixedPoint(c.element!);
          let x = BigInt(Math.round((v as number) * fp.scale));
          x = x < fp.lo ? fp.lo : x > fp.hi ? fp.hi : x;
          const u = (x - fp.lo) ** BigInt(c.power!);
          add = c.limbBits ? (u >> BigInt(c.limb! * c.limbBits)) & ((1n << BigInt(c.limbBits)) - 1n) : u;
          break;
        }
        case 'bin':
          if (typeof v === 'number' && v >= c.lower! && (c.closed ? v <= c.upper! : v < c.upper!)) add = 1n;
          break;
      }
      totals[g * width + i]! += add;
    });
  }
  const out = Array.from({ length: plan.ciphertextCount }, () => new BigUint64Array(plan.slotsPerCiphertext));
  totals.forEach((total, index) => {
    out[Math.floor(index / plan.slotsPerCiphertext)]![index % plan.slotsPerCiphertext] = ((total % t) + t) % t;
  });
  return out;
}

const ROWS: Row[] = [
  { sex: 'female', smoking: 'never', bmi: 22.04, age: 34, delta: -3.2 },
  { sex: 'female', smoking: 'never', bmi: 31.27, age: 70, delta: 1.0 },
  { sex: 'female', smoking: 'never', bmi: null, age: 45, delta: null },
  { sex: 'female', smoking: 'former', bmi: 75.0, age: 120, delta: -49.9 }, // bmi clamped to 70.0
  { sex: 'female', smoking: 'former', bmi: 9.0, age: 0, delta: -60 }, // bmi → 10.0, delta → −50.0
  { sex: 'male', smoking: 'never', bmi: 27.5, age: 65, delta: 0.1 },
  { sex: 'male', smoking: 'current', bmi: 24.0, age: 39, delta: -2.6 },
  { sex: 'male', smoking: 'current', bmi: null, age: 40, delta: 2.5 },
  { sex: 'male', smoking: 'current', bmi: 35.56, age: 130, delta: null }, // age in no bin
  { sex: null, smoking: 'current', bmi: 50, age: 50, delta: 5 }, // in no group
];

const QUERY: Query = {
  datasets: ['d1'],
  groupBy: [{ element: 'sex' }, { element: 'smoking' }],
  aggregates: [
    { op: 'count' },
    { op: 'sum', element: 'bmi' },
    { op: 'mean', element: 'bmi' },
    { op: 'variance', element: 'bmi' },
    { op: 'stddev', element: 'bmi' },
    { op: 'histogram', element: 'age', bins: [0, 40, 65, 120] },
    { op: 'sum', element: 'delta' },
    { op: 'mean', element: 'delta' },
    { op: 'histogram', element: 'age', bins: [0, 40, 65, 120] },
  ],
};

interface Want {
  key: Record<string, string>;
  count: number;
  bmi: { n: number; sum: string; mean: number | null; variance: number | null };
  age: [number, number, number];
  delta: { n: number; sum: string; mean: number | null };
}

/** Hand computations from ROWS (effective bmi values after rounding and clamping in comments). */
const WANT: Want[] = [
  // bmi 22.0, 31.3: mean 26.65, s² = 2 · 4.65² = 43.245; ages 34 | 45 | 70; delta −3.2 + 1.0.
  { key: { sex: 'female', smoking: 'never' }, count: 3, bmi: { n: 2, sum: '53.3', mean: 26.65, variance: 43.245 }, age: [1, 1, 1], delta: { n: 2, sum: '-2.2', mean: -1.1 } },
  // bmi 70.0, 10.0: mean 40, s² = 2 · 30² = 1800; ages 120 (closed last bin), 0; delta −49.9 − 50.0.
  { key: { sex: 'female', smoking: 'former' }, count: 2, bmi: { n: 2, sum: '80.0', mean: 40, variance: 1800 }, age: [1, 0, 1], delta: { n: 2, sum: '-99.9', mean: -49.95 } },
  { key: { sex: 'female', smoking: 'current' }, count: 0, bmi: { n: 0, sum: '0.0', mean: null, variance: null }, age: [0, 0, 0], delta: { n: 0, sum: '0.0', mean: null } },
  { key: { sex: 'male', smoking: 'never' }, count: 1, bmi: { n: 1, sum: '27.5', mean: 27.5, variance: null }, age: [0, 0, 1], delta: { n: 1, sum: '0.1', mean: 0.1 } },
  { key: { sex: 'male', smoking: 'former' }, count: 0, bmi: { n: 0, sum: '0.0', mean: null, variance: null }, age: [0, 0, 0], delta: { n: 0, sum: '0.0', mean: null } },
  // bmi 24.0, 35.6: mean 29.8, s² = 2 · 5.8² = 67.28; ages 39 | 40 | (130: none); delta −2.6 + 2.5.
  { key: { sex: 'male', smoking: 'current' }, count: 3, bmi: { n: 2, sum: '59.6', mean: 29.8, variance: 67.28 }, age: [1, 1, 0], delta: { n: 2, sum: '-0.1', mean: -0.05 } },
];

function expectClose(got: number | null, want: number | null): void {
  if (want === null) {
    expect(got).toBeNull();
    return;
  }
  expect(got).not.toBeNull();
  expect(Math.abs(got! - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
}

function checkGroup(got: GroupResult, want: Want): void {
  expect(got.key).toEqual(want.key);
  expect(got.count).toBe(want.count);
  const a = got.aggregates;
  expect(a.map((x) => x.op)).toEqual(['count', 'sum', 'mean', 'variance', 'stddev', 'histogram', 'sum', 'mean', 'histogram']);
  expect(a[0]).toEqual({ op: 'count', value: want.count });
  const sum = a[1] as Extract<AggregateValue, { op: 'sum' }>;
  expect({ element: sum.element, n: sum.n, exact: sum.exact }).toEqual({ element: 'bmi', n: want.bmi.n, exact: want.bmi.sum });
  expectClose(sum.value, Number(want.bmi.sum));
  for (const [i, value] of [[2, want.bmi.mean], [3, want.bmi.variance], [4, want.bmi.variance === null ? null : Math.sqrt(want.bmi.variance)]] as const) {
    const x = a[i] as Extract<AggregateValue, { op: 'mean' | 'variance' | 'stddev' }>;
    expect(x.element).toBe('bmi');
    expect(x.n).toBe(want.bmi.n);
    expectClose(x.value, value);
  }
  const bins = [
    { lower: 0, upper: 40, count: want.age[0] },
    { lower: 40, upper: 65, count: want.age[1] },
    { lower: 65, upper: 120, count: want.age[2] },
  ];
  expect(a[5]).toEqual({ op: 'histogram', element: 'age', bins });
  expect(a[8]).toEqual({ op: 'histogram', element: 'age', bins });
  const dsum = a[6] as Extract<AggregateValue, { op: 'sum' }>;
  expect({ element: dsum.element, n: dsum.n, exact: dsum.exact }).toEqual({ element: 'delta', n: want.delta.n, exact: want.delta.sum });
  expectClose(dsum.value, Number(want.delta.sum));
  const dmean = a[7] as Extract<AggregateValue, { op: 'mean' | 'variance' | 'stddev' }>;
  expect(dmean.n).toBe(want.delta.n);
  expectClose(dmean.value, want.delta.mean);
}

describe('decodeResult known answers', () => {
  it.each([
    ['small rowBound: whole-value slots', { rowBound: 1000n, t: 0n, slotCount: 8192, limbs: false }],
    ['rowBound 10^9: split into 9-bit limbs', { rowBound: 1_000_000_000n, t: 0n, slotCount: 8192, limbs: true }],
    ['t = 65537: 5-bit limbs', { rowBound: 1000n, t: 65537n, slotCount: 8192, limbs: true }],
    ['16 slots per ciphertext: results span five ciphertexts', { rowBound: 1_000_000_000n, t: 0n, slotCount: 16, limbs: true }],
  ])('%s', (_name, { rowBound, t: t0, slotCount, limbs }) => {
    const t = t0 || T;
    const plan = planQuery(QUERY, { elements: ELEMENTS, rowBound, plainModulus: t, slotCount });
    expect(plan.columns.some((c) => (c.limbBits ?? 0) > 0)).toBe(limbs);
    const groups = decodeResult(QUERY, plan, encodeRows(plan, ROWS, t), []);
    expect(groups.length).toBe(6);
    groups.forEach((g, i) => {
      checkGroup(g, WANT[i]!);
      expect(g.excludedAt).toEqual([]);
    });
  });

  it('hand-built slots: count 3, present 2, Σage 70 → mean 35, sum "70"', () => {
    const query: Query = { datasets: ['d'], aggregates: [{ op: 'count' }, { op: 'mean', element: 'age' }, { op: 'sum', element: 'age' }] };
    const plan = planQuery(query, { elements: ELEMENTS, rowBound: 1000n, plainModulus: T, slotCount: 8192 });
    expect(plan.columns).toEqual([{ kind: 'count' }, { kind: 'present', element: 'age' }, { kind: 'power', element: 'age', power: 1, limb: 0, limbBits: 0 }]);
    const slots = new BigUint64Array(8192);
    slots.set([3n, 2n, 70n]);
    expect(decodeResult(query, plan, [slots], [])).toEqual([
      {
        key: {},
        count: 3,
        excludedAt: [],
        aggregates: [
          { op: 'count', value: 3 },
          { op: 'mean', element: 'age', n: 2, value: 35 },
          { op: 'sum', element: 'age', n: 2, value: 70, exact: '70' },
        ],
      },
    ]);
  });

  it('hand-built slots with lo < 0: values −3.2 and 1.0 of delta (lo = −500) → Σu = 468 + 510 = 978 → sum −2.2', () => {
    const query: Query = { datasets: ['d'], aggregates: [{ op: 'sum', element: 'delta' }, { op: 'variance', element: 'delta' }] };
    const plan = planQuery(query, { elements: ELEMENTS, rowBound: 1000n, plainModulus: T, slotCount: 8192 });
    expect(plan.columns.map((c) => `${c.kind}${c.power ?? ''}`)).toEqual(['count', 'present', 'power1', 'power2']);
    const slots = new BigUint64Array(8192);
    // Σu² = 468² + 510² = 219024 + 260100 = 479124.
    slots.set([2n, 2n, 978n, 479124n]);
    const [group] = decodeResult(query, plan, [slots], []);
    expect(group!.aggregates[0]).toEqual({ op: 'sum', element: 'delta', n: 2, value: -2.2, exact: '-2.2' });
    // s² of −3.2 and 1.0 = 2 · 2.1² = 8.82.
    const variance = group!.aggregates[1] as Extract<AggregateValue, { op: 'mean' | 'variance' | 'stddev' }>;
    expectClose(variance.value, 8.82);
  });

  it('reads residues above (t−1)/2 as negative: a Σu slot of t − 5 is −5', () => {
    const query: Query = { datasets: ['d'], aggregates: [{ op: 'sum', element: 'age' }] };
    const plan = planQuery(query, { elements: ELEMENTS, rowBound: 1000n, plainModulus: T, slotCount: 8192 });
    const slots = new BigUint64Array(8192);
    slots.set([1n, 1n, T - 5n]);
    expect(decodeResult(query, plan, [slots], [])[0]!.aggregates[0]).toEqual({ op: 'sum', element: 'age', n: 1, value: -5, exact: '-5' });
  });

  it('labels bucket groups and decodes their order', () => {
    const query: Query = { datasets: ['d'], groupBy: [{ element: 'age', buckets: [0, 40, 120] }, { element: 'sex' }], aggregates: [{ op: 'count' }] };
    const plan = planQuery(query, { elements: ELEMENTS, rowBound: 1000n, plainModulus: T, slotCount: 8192 });
    const groups = decodeResult(query, plan, encodeRows(plan, ROWS, T), []);
    // ages < 40: 34 (F), 0 (F), 39 (M); ages in [40,120]: 70, 45, 120 (F), 65, 40 (M); 130 and sex null: none.
    expect(groups.map((g) => [g.key, g.count])).toEqual([
      [{ age: '[0,40)', sex: 'female' }, 2],
      [{ age: '[0,40)', sex: 'male' }, 1],
      [{ age: '[40,120]', sex: 'female' }, 3],
      [{ age: '[40,120]', sex: 'male' }, 2],
    ]);
  });

  it('lists each group’s exclusions, in the order reported', () => {
    const plan = planQuery(QUERY, { elements: ELEMENTS, rowBound: 1000n, plainModulus: T, slotCount: 8192 });
    const suppressed: Suppression[] = [
      { group: 3, node: 'node-b', dataset: 'db' },
      { group: 0, node: 'node-a', dataset: 'da' },
      { group: 3, node: 'node-a', dataset: 'dc' },
    ];
    const groups = decodeResult(QUERY, plan, encodeRows(plan, ROWS, T), suppressed);
    expect(groups.map((g) => g.excludedAt)).toEqual([
      [{ node: 'node-a', dataset: 'da' }],
      [],
      [],
      [
        { node: 'node-b', dataset: 'db' },
        { node: 'node-a', dataset: 'dc' },
      ],
      [],
      [],
    ]);
  });
});

describe('decodeResult refusals', () => {
  it('refuses the wrong number of slot vectors with decode_failed', () => {
    const plan = planQuery(QUERY, { elements: ELEMENTS, rowBound: 1000n, plainModulus: T, slotCount: 8 });
    expect(plan.ciphertextCount).toBeGreaterThan(1);
    const slots = encodeRows(plan, ROWS, T);
    for (const given of [slots.slice(1), [...slots, new BigUint64Array(8)], []]) {
      let error: unknown;
      try {
        decodeResult(QUERY, plan, given, []);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ResultVerificationError);
      expect((error as ResultVerificationError).code).toBe('decode_failed');
    }
  });

  it.each<[string, { given: Aggregate }]>([
    ['an element the plan does not encode', { given: { op: 'mean', element: 'age' } }],
    ['a histogram the plan has no bins for', { given: { op: 'histogram', element: 'age', bins: [0, 50, 120] } }],
  ])('refuses a query asking for %s with plan_mismatch', (_name, { given }) => {
    const plan = planQuery(QUERY, { elements: ELEMENTS, rowBound: 1000n, plainModulus: T, slotCount: 8192 });
    let error: unknown;
    try {
      decodeResult({ ...QUERY, aggregates: [...QUERY.aggregates, given] }, plan, encodeRows(plan, ROWS, T), []);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ResultVerificationError);
    expect((error as ResultVerificationError).code).toBe('plan_mismatch');
  });
});

describe('decodeResult property: random bmi samples', () => {
  /** Exact decimal of a scaled integer at one decimal place. */
  const oneDecimal = (v: bigint): string => `${v < 0n ? '-' : ''}${(v < 0n ? -v : v) / 10n}.${(v < 0n ? -v : v) % 10n}`;

  it('sum is exact, mean and sample variance match a two-pass computation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.integer({ min: 0, max: 800 }), { nil: null }), { maxLength: 60 }),
        fc.constantFrom(100n, 1_000_000_000n),
        (tenths, rowBound) => {
          const query: Query = { datasets: ['d'], aggregates: [{ op: 'sum', element: 'bmi' }, { op: 'mean', element: 'bmi' }, { op: 'variance', element: 'bmi' }] };
          const plan = planQuery(query, { elements: ELEMENTS, rowBound, plainModulus: T, slotCount: 8192 });
          const rows = tenths.map((x): Row => ({ bmi: x === null ? null : x / 10 }));
          const [group] = decodeResult(query, plan, encodeRows(plan, rows, T), []);
          // Oracle: clamp the tenths to [100, 700] and compute with BigInt / two-pass floats.
          const values = tenths.filter((x): x is number => x !== null).map((x) => Math.min(700, Math.max(100, x)));
          const n = values.length;
          const exact = values.reduce((s, x) => s + BigInt(x), 0n);
          const [sum, mean, variance] = group!.aggregates as [Extract<AggregateValue, { op: 'sum' }>, Extract<AggregateValue, { op: 'mean' | 'variance' | 'stddev' }>, Extract<AggregateValue, { op: 'mean' | 'variance' | 'stddev' }>];
          expect(group!.count).toBe(tenths.length);
          expect(sum.exact).toBe(oneDecimal(exact));
          expect(sum.n).toBe(n);
          const m = n === 0 ? null : values.reduce((s, x) => s + x / 10, 0) / n;
          expectClose(mean.value, m);
          const s2 = n < 2 ? null : values.reduce((s, x) => s + (x / 10 - m!) ** 2, 0) / (n - 1);
          if (s2 === null) expect(variance.value).toBeNull();
          else expect(Math.abs(variance.value! - s2)).toBeLessThanOrEqual(1e-9 * Math.max(1, s2));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('centerResidue', () => {
  it.each([
    ['0', { given: (t: bigint) => 0n, want: () => 0n }],
    ['1', { given: () => 1n, want: () => 1n }],
    ['(t−1)/2 stays positive', { given: (t: bigint) => (t - 1n) / 2n, want: (t: bigint) => (t - 1n) / 2n }],
    ['(t+1)/2 is the most negative', { given: (t: bigint) => (t + 1n) / 2n, want: (t: bigint) => -(t - 1n) / 2n }],
    ['t − 1 is −1', { given: (t: bigint) => t - 1n, want: () => -1n }],
    ['t − 5 is −5', { given: (t: bigint) => t - 5n, want: () => -5n }],
  ])('%s', (_name, { given, want }) => {
    expect(centerResidue(given(T), T)).toBe(want(T));
  });

  it('t = 7 maps 0..6 to 0, 1, 2, 3, −3, −2, −1', () => {
    expect([0n, 1n, 2n, 3n, 4n, 5n, 6n].map((v) => centerResidue(v, 7n))).toEqual([0n, 1n, 2n, 3n, -3n, -2n, -1n]);
  });

  it('inverts reduction mod t on [−(t−1)/2, (t−1)/2] (property)', () => {
    fc.assert(
      fc.property(fc.bigInt(3n, 1n << 64n), fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }), (t0, x0) => {
        const t = t0 | 1n;
        const half = (t - 1n) / 2n;
        const x = ((x0 % (2n * half + 1n)) + 2n * half + 1n) % (2n * half + 1n) - half; // x ∈ [−half, half]
        expect(centerResidue(((x % t) + t) % t, t)).toBe(x);
      }),
    );
  });
});
