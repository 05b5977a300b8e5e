/**
 * The compiled aggregate statement, run by DuckDB on a tiny dataset written here (loaded and
 * standardised through openDatasets), against hand-computed slot integers and — through
 * decodeResult — hand-computed statistics.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeResult, loadHe, planQuery, type AggregateValue, type DataElement, type NumericElement, type Query, type SlotPlan } from '@veilgate/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAggregate } from './aggregate-sql.ts';
import { loadDictionary } from './dictionary.ts';
import { openDatasets, type DatasetEngine } from './duckdb-dataset.ts';
import { cellKeyOf, cellKeySecretOf, ensureRecordKeys, recordKeyOf } from '../node/cell-key.ts';

const DELTA: NumericElement = { name: 'delta', title: 'Signed change', type: 'numeric', unit: '1', precision: 1, min: -50, max: 50 };
let ELEMENTS: DataElement[];
let T: bigint;
let engine: DatasetEngine;
let table: string;
const dir = mkdtempSync(join(tmpdir(), 'veilgate-aggregate-sql-'));

type Row = [sex: string | null, smoking: string | null, bmi: number | null, age: number | null, delta: number | null];
const ROWS: Row[] = [
  ['female', 'never', 22.04, 34, -3.2],
  ['female', 'never', 31.27, 70, 1.0],
  ['female', 'never', null, 45, null],
  ['female', 'former', 75.0, 120, -49.9],
  ['female', 'former', 9.0, 0, -60],
  ['male', 'never', 27.5, 65, 0.1],
  ['male', 'current', 24.0, 39, -2.6],
  ['male', 'current', null, 40, 2.5],
  ['male', 'current', 35.56, 130, null],
  [null, 'current', 50, 50, 5],
];

beforeAll(async () => {
  ELEMENTS = [...loadDictionary(), DELTA];
  T = (await loadHe()).plainModulus;
  const csv = ['id,sex,smoking,bmi,age,delta', ...ROWS.map((r, i) => [`p${i}`, ...r.map((v) => (v === null ? '' : String(v)))].join(','))].join('\n');
  writeFileSync(join(dir, 'd1.csv'), `${csv}\n`);
  const column = (name: string) => ({ column: name });
  engine = await openDatasets(
    [
      {
        id: 'd1',
        title: 'Tiny',
        description: 'Ten hand-written rows',
        source: { format: 'csv', path: 'd1.csv' },
        subjectColumn: 'id',
        elements: { sex: column('sex'), smoking: column('smoking'), bmi: column('bmi'), age: column('age'), delta: column('delta') },
      },
    ],
    dir,
    ELEMENTS,
  );
  table = engine.datasets.get('d1')!.table;
}, 30_000);

afterAll(() => {
  engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(query: Query, plan: SlotPlan): Promise<Record<string, unknown>[]> {
  const { sql, params } = compileAggregate(query, plan, table);
  return engine.query(sql, params);
}

/** Rows → slot vectors, as a node copies them (c_i of group g at g · width + i, mod t). */
function toSlots(plan: SlotPlan, rows: Record<string, unknown>[], t: bigint): BigUint64Array[] {
  const out = Array.from({ length: plan.ciphertextCount }, () => new BigUint64Array(plan.slotsPerCiphertext));
  for (const row of rows) {
    plan.columns.forEach((_, c) => {
      const index = Number(row.g) * plan.columns.length + c;
      out[Math.floor(index / plan.slotsPerCiphertext)]![index % plan.slotsPerCiphertext] = (BigInt((row[`c${c}`] as bigint | number | null) ?? 0) % t + t) % t;
    });
  }
  return out;
}

const QUERY: Query = {
  datasets: ['d1'],
  groupBy: [{ element: 'sex' }, { element: 'smoking' }],
  aggregates: [
    { op: 'count' },
    { op: 'sum', element: 'bmi' },
    { op: 'variance', element: 'bmi' },
    { op: 'histogram', element: 'age', bins: [0, 40, 65, 120] },
    { op: 'mean', element: 'delta' },
  ],
};

describe('compileAggregate on DuckDB', () => {
  it('rowBound 10^9: per-group slot integers with 9-bit limbs, by hand', async () => {
    const plan = planQuery(QUERY, { elements: ELEMENTS, rowBound: 1_000_000_000n, plainModulus: T, slotCount: 8192 });
    expect(plan.columns.map((c) => (c.kind === 'power' ? `${c.element}^${c.power}.${c.limb}/${c.limbBits}` : c.kind === 'bin' ? `bin${c.bin}` : `${c.kind}${c.element ? ` ${c.element}` : ''}`))).toEqual([
      'count', 'present bmi', 'bmi^1.0/9', 'bmi^1.1/9', 'bmi^2.0/9', 'bmi^2.1/9', 'bmi^2.2/9', 'present delta', 'delta^1.0/9', 'delta^1.1/9', 'bin0', 'bin1', 'bin2',
    ]);
    const rows = await run(QUERY, plan);
    const byGroup = new Map(rows.map((r) => [Number(r.g), Array.from({ length: 13 }, (_, i) => BigInt(r[`c${i}`] as bigint))]));
    // Only non-empty groups: F/never 0, F/former 1, M/never 3, M/current 5 (the row without sex is in none).
    expect([...byGroup.keys()].sort((a, b) => a - b)).toEqual([0, 1, 3, 5]);
    // F/never. bmi u = 220−100 = 120, 313−100 = 213 → Σ = 333 (< 512). u² = 14400 = 28·512 + 64,
    // 45369 = 88·512 + 313 → limbs 64 + 313 = 377, 28 + 88 = 116, 0. delta u = −32+500 = 468,
    // 10+500 = 510 → 978 = 1·512 + 466, but limbs split per row: 468 + 510 = 978 in limb 0, 0 in limb 1.
    // ages 34 | 45 | 70.
    expect(byGroup.get(0)).toEqual([3n, 2n, 333n, 0n, 377n, 116n, 0n, 2n, 978n, 0n, 1n, 1n, 1n]);
    // F/former. bmi 70.0 → u = 600 = 1·512 + 88; 10.0 → u = 0. u² = 360000 = 1·262144 + 191·512 + 64.
    // delta −49.9 → u = 1 ; −60 → clamped −500 → u = 0. ages 120 (closed last bin) | 0.
    expect(byGroup.get(1)).toEqual([2n, 2n, 88n, 1n, 64n, 191n, 1n, 2n, 1n, 0n, 1n, 0n, 1n]);
    // M/never. bmi 27.5 → u = 175, u² = 30625 = 59·512 + 417. delta 0.1 → u = 501. age 65.
    expect(byGroup.get(3)).toEqual([1n, 1n, 175n, 0n, 417n, 59n, 0n, 1n, 501n, 0n, 0n, 0n, 1n]);
    // M/current. bmi 24.0 → u = 140, u² = 19600 = 38·512 + 144; 35.56 → 356 → u = 256, u² = 65536 = 128·512.
    // delta −2.6 → 474, 2.5 → 525 = 1·512 + 13 → limb0 474 + 13 = 487, limb1 1. ages 39 | 40 | 130 (none).
    expect(byGroup.get(5)).toEqual([3n, 2n, 396n, 0n, 144n, 166n, 0n, 2n, 487n, 1n, 1n, 1n, 0n]);
  });

  it.each([
    ['rowBound 1000', { rowBound: 1000n }],
    ['rowBound 10^9', { rowBound: 1_000_000_000n }],
  ])('%s: decoded statistics equal the hand computation', async (_name, { rowBound }) => {
    const plan = planQuery(QUERY, { elements: ELEMENTS, rowBound, plainModulus: T, slotCount: 8192 });
    const groups = decodeResult(QUERY, plan, toSlots(plan, await run(QUERY, plan), T), []);
    const summary = groups.map((g) => {
      const [count, sum, variance, histogram, mean] = g.aggregates as [
        Extract<AggregateValue, { op: 'count' }>,
        Extract<AggregateValue, { op: 'sum' }>,
        Extract<AggregateValue, { op: 'mean' | 'variance' | 'stddev' }>,
        Extract<AggregateValue, { op: 'histogram' }>,
        Extract<AggregateValue, { op: 'mean' | 'variance' | 'stddev' }>,
      ];
      return {
        key: `${g.key.sex}/${g.key.smoking}`,
        count: count.value,
        sum: sum.exact,
        variance: variance.value === null ? null : Number(variance.value.toFixed(9)),
        bins: histogram.bins.map((b) => b.count),
        mean: mean.value === null ? null : Number(mean.value.toFixed(9)),
      };
    });
    expect(summary).toEqual([
      // bmi 22.0, 31.3 → s² = 2 · 4.65² = 43.245; delta (−3.2 + 1.0)/2 = −1.1
      { key: 'female/never', count: 3, sum: '53.3', variance: 43.245, bins: [1, 1, 1], mean: -1.1 },
      // bmi 70.0, 10.0 → s² = 1800; delta (−49.9 − 50.0)/2 = −49.95
      { key: 'female/former', count: 2, sum: '80.0', variance: 1800, bins: [1, 0, 1], mean: -49.95 },
      { key: 'female/current', count: 0, sum: '0.0', variance: null, bins: [0, 0, 0], mean: null },
      { key: 'male/never', count: 1, sum: '27.5', variance: null, bins: [0, 0, 1], mean: 0.1 },
      { key: 'male/former', count: 0, sum: '0.0', variance: null, bins: [0, 0, 0], mean: null },
      // bmi 24.0, 35.6 → s² = 2 · 5.8² = 67.28; delta (−2.6 + 2.5)/2 = −0.05
      { key: 'male/current', count: 3, sum: '59.6', variance: 67.28, bins: [1, 1, 0], mean: -0.05 },
    ]);
  });

  it('applies filters with bound parameters', async () => {
    const query: Query = {
      datasets: ['d1'],
      groupBy: [{ element: 'sex' }],
      filter: {
        op: 'and',
        filters: [
          { op: 'range', element: 'age', min: 30, max: 70 },
          { op: 'in', element: 'smoking', values: ['never', 'current'] },
          { op: 'not', filter: { op: 'isNull', element: 'bmi' } },
        ],
      },
      aggregates: [{ op: 'count' }, { op: 'sum', element: 'bmi' }],
    };
    const plan = planQuery(query, { elements: ELEMENTS, rowBound: 1000n, plainModulus: T, slotCount: 8192 });
    const { params } = compileAggregate(query, plan, table);
    expect(params).toEqual(expect.arrayContaining(['never', 'current', 30, 70]));
    const groups = decodeResult(query, plan, toSlots(plan, await run(query, plan), T), []);
    // age in [30, 70], smoking never/current, bmi present: F 22.04 (34), 31.27 (70); M 27.5 (65), 24.0 (39).
    expect(groups.map((g) => [g.key.sex, g.count, (g.aggregates[1] as Extract<AggregateValue, { op: 'sum' }>).exact])).toEqual([
      ['female', 2, '53.3'],
      ['male', 2, '51.5'],
    ]);
  });

  it('numeric eq and or filters', async () => {
    const query: Query = {
      datasets: ['d1'],
      filter: { op: 'or', filters: [{ op: 'eq', element: 'age', value: 40 }, { op: 'eq', element: 'sex', value: 'female' }] },
      aggregates: [{ op: 'count' }],
    };
    const plan = planQuery(query, { elements: ELEMENTS, rowBound: 1000n, plainModulus: T, slotCount: 8192 });
    const [group] = decodeResult(query, plan, toSlots(plan, await run(query, plan), T), []);
    // 5 female rows + the male row aged 40.
    expect(group!.count).toBe(6);
  });

  it('groups by buckets with the last bucket closed', async () => {
    const query: Query = { datasets: ['d1'], groupBy: [{ element: 'age', buckets: [0, 40, 120] }, { element: 'sex' }], aggregates: [{ op: 'count' }] };
    const plan = planQuery(query, { elements: ELEMENTS, rowBound: 1000n, plainModulus: T, slotCount: 8192 });
    const groups = decodeResult(query, plan, toSlots(plan, await run(query, plan), T), []);
    // < 40: F 34, 0; M 39. [40, 120]: F 70, 45, 120; M 65, 40. Age 130 and the row without sex: none.
    expect(groups.map((g) => [g.key.age, g.key.sex, g.count])).toEqual([
      ['[0,40)', 'female', 2],
      ['[0,40)', 'male', 1],
      ['[40,120]', 'female', 3],
      ['[40,120]', 'male', 2],
    ]);
  });
});

describe('cell keys (spec/protocol.md §10, cell-key method)', () => {
  it('k<c> is Σ record keys mod 2^32 over exactly the rows contributing to column c (oracle: recordKeyOf per row, by hand)', async () => {
    const secret = cellKeySecretOf('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
    await ensureRecordKeys(engine, engine.datasets.get('d1')!, secret);
    const query: Query = { datasets: ['d1'], groupBy: [{ element: 'sex' }], aggregates: [{ op: 'count' }, { op: 'mean', element: 'bmi' }, { op: 'histogram', element: 'age', bins: [0, 40, 65, 120] }] };
    const plan = planQuery(query, { elements: ELEMENTS, rowBound: 1000n, plainModulus: T, slotCount: 8192 });
    const { sql, params } = compileAggregate(query, plan, table, undefined, { cellKeys: true });
    const rows = await engine.query(sql, params);
    const key = (i: number) => BigInt(recordKeyOf(secret, 'd1', `p${i}`));
    const sumOf = (pick: (r: Row) => boolean, sex: string) => ROWS.reduce((s, r, i) => (r[0] === sex && pick(r) ? s + key(i) : s), 0n) % (1n << 32n);
    for (const sex of ['female', 'male']) {
      const row = rows.find((r) => Number(r.g) === ['female', 'male'].indexOf(sex))!;
      // Columns: count, present(bmi), Σu(bmi), bins [0,40), [40,65), [65,120] (closed).
      const expected = [
        sumOf(() => true, sex), sumOf((r) => r[2] !== null, sex), sumOf((r) => r[2] !== null, sex),
        sumOf((r) => r[3]! >= 0 && r[3]! < 40, sex), sumOf((r) => r[3]! >= 40 && r[3]! < 65, sex), sumOf((r) => r[3]! >= 65 && r[3]! <= 120, sex),
      ];
      expect(plan.columns.map((_, c) => cellKeyOf(row[`k${c}`]))).toEqual(expected);
    }
  });
});
