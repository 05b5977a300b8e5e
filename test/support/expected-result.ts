/**
 * The exactness oracle: what a query must return, computed by DuckDB in plaintext over the
 * pooled standard rows of every hospital (gateway/src/demo/oracle.ts). Written separately
 * from the product's SQL compiler and decoder: group keys, filters and the minimum-cell
 * rule (every released count: group rows, non-missing counts, histogram bins) are
 * expressed here directly in SQL over `pooled`, and DuckDB computes the statistics
 * (count, sum, avg, var_samp, stddev_samp) itself.
 */
import type { Filter, Query } from '@veilgate/sdk';
import type { PooledOracle } from '../../gateway/src/demo/oracle.ts';

/** Numeric elements' declared ranges (spec/data-elements.yaml), for clamping as the protocol does. */
export const RANGES: Record<string, { min: number; max: number; precision: number }> = {
  age: { min: 0, max: 120, precision: 0 },
  systolic_bp: { min: 60, max: 260, precision: 0 },
  diastolic_bp: { min: 30, max: 160, precision: 0 },
  bmi: { min: 10, max: 70, precision: 1 },
  hba1c: { min: 3, max: 20, precision: 1 },
  admissions: { min: 0, max: 50, precision: 0 },
};
export const CODES: Record<string, string[]> = {
  sex: ['female', 'male'],
  diagnosis: ['I10', 'E11', 'I25', 'J44', 'N18', 'Z00'],
  smoking: ['never', 'former', 'current'],
};

/** The expected statistics of one group. */
export interface ExpectedGroup {
  key: Record<string, string>;
  count: number;
  excludedAt: string[];
  /** Per aggregate, in query order. */
  values: (number | null | number[] | bigint)[];
}

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
const lit = (v: string | number) => (typeof v === 'number' ? String(v) : q(v));

function whereSql(f: Filter): string {
  switch (f.op) {
    case 'eq': return `${f.element} = ${lit(f.value)}`;
    case 'in': return `${f.element} IN (${f.values.map(lit).join(',')})`;
    case 'range': return [f.min !== undefined ? `${f.element} >= ${f.min}` : 'TRUE', f.max !== undefined ? `${f.element} <= ${f.max}` : 'TRUE'].join(' AND ');
    case 'isNull': return `${f.element} IS NULL`;
    case 'and': return f.filters.map((x) => `(${whereSql(x)})`).join(' AND ');
    case 'or': return f.filters.map((x) => `(${whereSql(x)})`).join(' OR ');
    case 'not': return `NOT (${whereSql(f.filter)})`;
  }
}

/** The label a bucket or bin gets: [a,b) or, for the last one, [a,b]. */
export function intervalLabel(edges: number[], i: number): string {
  return `[${edges[i]},${edges[i + 1]}${i === edges.length - 2 ? ']' : ')'}`;
}

/** SQL giving the level label of each grouping for a row (NULL when outside every level). */
function levelSql(g: NonNullable<Query['groupBy']>[number]): string {
  if (!g.buckets) return g.element;
  const e = g.buckets;
  const arms = e.slice(1).map((_, i) => {
    const upper = i === e.length - 2 ? `${g.element} <= ${e[i + 1]}` : `${g.element} < ${e[i + 1]}`;
    return `WHEN ${g.element} >= ${e[i]} AND ${upper} THEN ${q(intervalLabel(e, i))}`;
  });
  return `CASE ${arms.join(' ')} END`;
}

/**
 * Computes the expected result of a query over `pooled_t` (the materialised pooled view).
 * `minCell` maps a hospital id to its minimum cell size.
 */
export async function expectedResult(oracle: PooledOracle, query: Query, datasetHospital: Record<string, string>, minCell: Record<string, number>): Promise<Map<string, ExpectedGroup>> {
  const hospitals = query.datasets.map((d) => datasetHospital[d]!);
  const groupBy = query.groupBy ?? [];
  const keys = groupBy.map((g, i) => `${levelSql(g)} AS k${i}`);
  const keyCols = groupBy.map((_, i) => `k${i}`);
  const base = `SELECT *${keys.length ? ', ' + keys.join(', ') : ''} FROM pooled_t WHERE hospital IN (${hospitals.map(q).join(',')})${query.filter ? ` AND (${whereSql(query.filter)})` : ''}`;
  const notNullKeys = keyCols.map((k) => `${k} IS NOT NULL`).join(' AND ') || 'TRUE';
  // Minimum cell size per hospital and group (DataSHIELD nfilter.tab) for every released
  // count: the group's rows, each non-missing count a statistic needs, each histogram bin.
  const counts = ['count(*) AS n'];
  const numeric = [...new Set(query.aggregates.filter((a) => a.op !== 'count' && a.op !== 'histogram').map((a) => (a as { element: string }).element))];
  numeric.forEach((e, i) => counts.push(`count(${e}) AS p${i}`));
  query.aggregates.forEach((a, i) => {
    if (a.op !== 'histogram') return;
    a.bins.slice(1).forEach((upper, b) => counts.push(`count(*) FILTER (WHERE ${a.element} >= ${a.bins[b]} AND ${a.element} ${b === a.bins.length - 2 ? '<=' : '<'} ${upper}) AS b${i}_${b}`));
  });
  const perHospital = await oracle.query(`SELECT hospital${keyCols.map((k) => `, ${k}`).join('')}, ${counts.join(', ')} FROM (${base}) WHERE ${notNullKeys} GROUP BY ALL`);
  const keyOf = (row: Record<string, unknown>) => JSON.stringify(keyCols.map((k) => row[k]));
  const excluded = new Map<string, string[]>();
  for (const row of perHospital) {
    const min = minCell[row.hospital as string]!;
    const small = Object.entries(row).some(([name, v]) => /^(n|p\d+|b\d+_\d+)$/.test(name) && Number(v) > 0 && Number(v) < min);
    if (small) excluded.set(keyOf(row), [...(excluded.get(keyOf(row)) ?? []), row.hospital as string]);
  }
  const exclusionSql = [...excluded].flatMap(([k, hs]) => {
    const levels = JSON.parse(k) as string[];
    return hs.map((h) => `(hospital = ${q(h)}${levels.map((l, i) => ` AND k${i} = ${q(l)}`).join('')})`);
  });
  const kept = `SELECT * FROM (${base}) WHERE ${notNullKeys}${exclusionSql.length ? ` AND NOT (${exclusionSql.join(' OR ')})` : ''}`;
  const stats: string[] = ['count(*) AS n'];
  query.aggregates.forEach((a, i) => {
    if (a.op === 'count') return;
    const r = RANGES[a.element]!;
    // CASE, not least/greatest: DuckDB's greatest(NULL, 10) is 10, and a missing value must stay missing.
    const clamped = `CASE WHEN ${a.element} < ${r.min} THEN ${r.min} WHEN ${a.element} > ${r.max} THEN ${r.max} ELSE ${a.element} END`;
    if (a.op === 'histogram') {
      a.bins.slice(1).forEach((_, b) => {
        const upper = b === a.bins.length - 2 ? `<= ${a.bins[b + 1]}` : `< ${a.bins[b + 1]}`;
        stats.push(`count(*) FILTER (WHERE ${a.element} >= ${a.bins[b]} AND ${a.element} ${upper}) AS a${i}_${b}`);
      });
      return;
    }
    const fn = { sum: `sum(CAST(round(${clamped} * ${10 ** r.precision}) AS BIGINT))`, mean: `avg(${clamped})`, variance: `var_samp(${clamped})`, stddev: `stddev_samp(${clamped})` }[a.op];
    stats.push(`${fn} AS a${i}`);
  });
  const rows = await oracle.query(`SELECT ${keyCols.map((k) => `${k}, `).join('')}${stats.join(', ')} FROM (${kept}) GROUP BY ALL`);
  const result = new Map<string, ExpectedGroup>();
  for (const row of rows) {
    const values = query.aggregates.map((a, i) => {
      if (a.op === 'count') return Number(row.n);
      if (a.op === 'histogram') return a.bins.slice(1).map((_, b) => Number(row[`a${i}_${b}`]));
      const v = row[`a${i}`];
      if (a.op === 'sum') return BigInt((v as number | bigint | null) ?? 0);
      return v === null || v === undefined ? null : Number(v);
    });
    const key = Object.fromEntries(groupBy.map((g, i) => [g.element, row[`k${i}`] as string]));
    result.set(keyOf(row), { key, count: Number(row.n), excludedAt: [], values });
  }
  for (const [k, hs] of excluded) {
    const entry = result.get(k);
    if (entry) entry.excludedAt = hs.sort();
    else {
      const levels = JSON.parse(k) as string[];
      result.set(k, {
        key: Object.fromEntries(groupBy.map((g, i) => [g.element, levels[i]!])), count: 0, excludedAt: hs.sort(),
        values: query.aggregates.map((a) => (a.op === 'count' ? 0 : a.op === 'histogram' ? a.bins.slice(1).map(() => 0) : a.op === 'sum' ? 0n : null)),
      });
    }
  }
  return result;
}
