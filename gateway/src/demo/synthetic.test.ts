import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetConfig } from '../datasets/config.ts';
import { createPooledOracle } from './oracle.ts';
import type { PooledOracle } from './oracle.ts';
import { formatNodeId, generateHospitals } from './synthetic.ts';
import type { GeneratedHospital } from './synthetic.ts';

interface DictionaryElement {
  name: string;
  type: 'numeric' | 'categorical';
  codes?: string[];
  precision?: number;
  min?: number;
  max?: number;
}

const DICTIONARY = (
  parse(readFileSync(new URL('../../../spec/data-elements.yaml', import.meta.url), 'utf8')) as { elements: DictionaryElement[] }
).elements;

const N = 2000;
const root = mkdtempSync(join(tmpdir(), 'veilgate-synthetic-'));
const dirA = join(root, 'a');
const dirB = join(root, 'b');
const dirOther = join(root, 'other');

let hospitals: GeneratedHospital[];
let oracle: PooledOracle;
let oracleB: PooledOracle;
let db: DuckDBInstance;
let con: DuckDBConnection;

beforeAll(async () => {
  hospitals = await generateHospitals({ dir: dirA, patientsPerHospital: N });
  const again = await generateHospitals({ dir: dirB, patientsPerHospital: N, seed: 42, hospitals: 3 });
  expect(again).toEqual(hospitals);
  oracle = await createPooledOracle(dirA, hospitals);
  oracleB = await createPooledOracle(dirB, again);
  db = await DuckDBInstance.create(':memory:');
  con = await db.connect();
}, 60_000);

afterAll(() => {
  oracle?.close();
  oracleB?.close();
  con?.closeSync();
  db?.closeSync();
  rmSync(root, { recursive: true, force: true });
});

const ORDERED = 'SELECT * FROM pooled ORDER BY hospital, subject';

/** SQL that reads a dataset's raw local rows, as the gateway would (CSV types auto-detected). */
async function selectRaw(dir: string, dataset: DatasetConfig, alias: string): Promise<string> {
  const path = `'${join(dir, dataset.source.path)}'`;
  if (dataset.source.format === 'csv') return `read_csv(${path})`;
  if (dataset.source.format === 'parquet') return `read_parquet(${path})`;
  await con.run(`ATTACH IF NOT EXISTS ${path} AS ${alias} (READ_ONLY)`);
  return `${alias}.${dataset.source.table ?? 'patients'}`;
}

async function readRows(sql: string): Promise<Record<string, unknown>[]> {
  return (await con.runAndReadAll(sql)).getRowObjectsJS();
}

describe('generateHospitals', () => {
  it('returns three hospitals with one dataset each, relative paths and cell size 3', () => {
    expect(hospitals.map((h) => h.nodeId)).toEqual(['hosp-a', 'hosp-b', 'hosp-c']);
    expect(hospitals.map((h) => h.datasets[0]?.source.format)).toEqual(['csv', 'parquet', 'duckdb']);
    for (const h of hospitals) {
      expect(h.datasets).toHaveLength(1);
      const ds = h.datasets[0] as DatasetConfig;
      expect(ds.id).toBe(`${h.nodeId}.cardiometabolic`);
      expect(ds.minCellSize).toBe(3);
      expect(ds.source.path.startsWith(`${h.nodeId}/`)).toBe(true);
      expect(ds.title.length).toBeGreaterThan(10);
      expect(ds.description.length).toBeGreaterThan(40);
      expect(Object.keys(ds.elements).sort()).toEqual(DICTIONARY.map((e) => e.name).sort());
    }
    expect(hospitals[2]?.datasets[0]?.source.table).toBe('patients');
  });

  it('is deterministic: same seed gives the same rows and byte-identical CSV/Parquet', async () => {
    const a = await oracle.query(ORDERED);
    const b = await oracleB.query(ORDERED);
    expect(a).toHaveLength(3 * N);
    expect(b).toEqual(a);
    for (const h of hospitals.slice(0, 2)) {
      const path = h.datasets[0]?.source.path as string;
      expect(readFileSync(join(dirB, path)).equals(readFileSync(join(dirA, path)))).toBe(true);
    }
  });

  it('gives different rows for a different seed', async () => {
    const other = await generateHospitals({ dir: dirOther, patientsPerHospital: N, seed: 7 });
    const otherOracle = await createPooledOracle(dirOther, other);
    try {
      const a = await oracle.query(ORDERED);
      const c = await otherOracle.query(ORDERED);
      expect(c).toHaveLength(a.length);
      const same = a.filter((row, k) => JSON.stringify(row) === JSON.stringify(c[k])).length;
      expect(same).toBeLessThan(a.length / 100);
    } finally {
      otherOracle.close();
    }
  }, 30_000);

  it('writes a different local schema per hospital', async () => {
    const columns: string[][] = [];
    for (const [k, h] of hospitals.entries()) {
      const raw = await selectRaw(dirA, h.datasets[0] as DatasetConfig, `schema_${k}`);
      columns.push((await con.runAndReadAll(`SELECT * FROM ${raw} LIMIT 0`)).columnNames());
    }
    expect(columns).toEqual([
      ['patient_id', 'sex', 'age', 'sbp', 'dbp', 'bmi', 'hba1c', 'dx_icd10', 'smoking', 'admissions_12m'],
      ['pid', 'gender', 'age_years', 'systolic', 'diastolic', 'bmi_x10', 'a1c', 'primary_dx', 'smoker_status', 'n_admissions'],
      ['subject', 'sex', 'birth_year', 'bp_sys', 'bp_dia', 'body_mass_index', 'hba1c_pct', 'diagnosis_code', 'smoking', 'admissions'],
    ]);
    const csvHead = readFileSync(join(dirA, 'hosp-a/cardiometabolic.csv'), 'utf8').split('\n').slice(1, 200).join('\n');
    expect(csvHead).toMatch(/,\d+\.\d,/); // one decimal written for bmi/hba1c
  });

  it('keeps every standard value in range, at declared precision and in the code lists', async () => {
    for (const el of DICTIONARY) {
      const col = el.name;
      if (el.type === 'numeric') {
        const scale = 10 ** (el.precision ?? 0);
        const [row] = await oracle.query(
          `SELECT count(*) FILTER (WHERE ${col} < ${el.min} OR ${col} > ${el.max}) AS out_of_range,
                  count(*) FILTER (WHERE abs(round(${col} * ${scale}) - ${col} * ${scale}) > 1e-9) AS off_precision,
                  count(*) FILTER (WHERE ${col} IS NULL) AS missing
           FROM pooled`,
        );
        expect(row, col).toMatchObject({ out_of_range: 0, off_precision: 0 });
        if (col !== 'bmi' && col !== 'hba1c') expect(row?.missing, col).toBe(0);
      } else {
        const codes = (el.codes ?? []).map((c) => `'${c}'`).join(', ');
        const [row] = await oracle.query(`SELECT count(*) FILTER (WHERE ${col} IS NULL OR ${col} NOT IN (${codes})) AS bad FROM pooled`);
        expect(row?.bad, col).toBe(0);
        const seen = await oracle.query(`SELECT DISTINCT ${col} AS v FROM pooled ORDER BY v`);
        expect(seen.map((r) => r.v).sort(), col).toEqual([...(el.codes ?? [])].sort());
      }
    }
    const [row] = await oracle.query(`SELECT count(DISTINCT subject) AS n FROM pooled`);
    expect(row?.n).toBe(3 * N); // ids unique within and across hospitals
  });

  it('produces plausible, correlated cohorts that differ between hospitals', async () => {
    const [all] = await oracle.query(`SELECT
        avg(systolic_bp) AS sbp, avg(diastolic_bp) AS dbp, avg(hba1c) AS a1c,
        avg(hba1c) FILTER (WHERE diagnosis = 'E11') AS a1c_e11,
        avg((hba1c IS NULL)::INTEGER) AS a1c_missing, avg((bmi IS NULL)::INTEGER) AS bmi_missing,
        avg((sex = 'female')::INTEGER) AS female, avg(bmi) AS bmi, avg(age) AS age,
        corr(age, systolic_bp) AS r_age_sbp, corr(bmi, systolic_bp) AS r_bmi_sbp, corr(systolic_bp, diastolic_bp) AS r_sbp_dbp,
        avg((admissions <= 3)::INTEGER) AS adm_le3
      FROM pooled`);
    const v = all as Record<string, number>;
    expect(v.sbp).toBeGreaterThan(110);
    expect(v.sbp).toBeLessThan(150);
    expect(v.dbp).toBeGreaterThan(65);
    expect(v.dbp).toBeLessThan(90);
    expect(v.a1c_e11).toBeGreaterThan((v.a1c as number) + 1);
    expect(v.a1c_missing).toBeGreaterThan(0.05);
    expect(v.a1c_missing).toBeLessThan(0.15);
    expect(v.bmi_missing).toBeGreaterThan(0.01);
    expect(v.bmi_missing).toBeLessThan(0.06);
    expect(v.female).toBeGreaterThan(0.45);
    expect(v.female).toBeLessThan(0.55);
    expect(v.bmi).toBeGreaterThan(23);
    expect(v.bmi).toBeLessThan(28);
    expect(v.age).toBeGreaterThan(45);
    expect(v.age).toBeLessThan(65);
    expect(v.r_age_sbp).toBeGreaterThan(0.3);
    expect(v.r_bmi_sbp).toBeGreaterThan(0.1);
    expect(v.r_sbp_dbp).toBeGreaterThan(0.5);
    expect(v.adm_le3).toBeGreaterThan(0.9);
    const ages = await oracle.query(`SELECT hospital, avg(age) AS age FROM pooled GROUP BY hospital ORDER BY hospital`);
    const [a, b, c] = ages.map((r) => r.age as number);
    expect(b).toBeGreaterThan((a as number) + 2); // Shanghai older than Beijing
    expect(c).toBeLessThan((a as number) - 2); // Guangzhou younger
    const dx = await oracle.query(`SELECT diagnosis, avg(age) AS age FROM pooled GROUP BY ALL`);
    const age = Object.fromEntries(dx.map((r) => [r.diagnosis, r.age as number]));
    expect(age.N18).toBeGreaterThan(age.Z00 as number); // prevalence depends on age
  });

  it('has element mappings that agree with the independent oracle, row for row', async () => {
    const dictionary = new Map(DICTIONARY.map((e) => [e.name, e]));
    for (const [k, h] of hospitals.entries()) {
      const ds = h.datasets[0] as DatasetConfig;
      const raw = await selectRaw(dirA, ds, `mapped_${k}`);
      const selects = DICTIONARY.map((el) => {
        const m = ds.elements[el.name];
        if (!m) throw new Error(`${ds.id}: ${el.name} not mapped`);
        const col = `"${m.column}"`;
        if (el.type === 'categorical') {
          expect(m.codes, `${ds.id}.${el.name}`).toBeDefined();
          expect(new Set(Object.values(m.codes ?? {}))).toEqual(new Set(dictionary.get(el.name)?.codes));
          const arms = Object.entries(m.codes ?? {}).map(([local, code]) => `WHEN '${local}' THEN '${code}'`);
          return `CASE CAST(${col} AS VARCHAR) ${arms.join(' ')} END AS ${el.name}`;
        }
        expect(m.codes, `${ds.id}.${el.name}`).toBeUndefined();
        const p = el.precision ?? 0;
        const value = `round(CAST(${col} AS DOUBLE) * ${m.scale ?? 1} + ${m.offset ?? 0}, ${p})`;
        return `${p === 0 ? `CAST(${value} AS INTEGER)` : value} AS ${el.name}`;
      });
      const mapped = await readRows(
        `SELECT '${h.nodeId}' AS hospital, CAST("${ds.subjectColumn}" AS VARCHAR) AS subject, ${selects.join(', ')}
         FROM ${raw} ORDER BY subject`,
      );
      const expected = await oracle.query(`SELECT * FROM pooled WHERE hospital = '${h.nodeId}' ORDER BY subject`);
      expect(mapped).toHaveLength(N);
      expect(mapped, ds.id).toEqual(expected);
    }
  });

  it('cycles schemas with distinct ids and cohorts for five hospitals', async () => {
    const dir = join(root, 'five');
    const five = await generateHospitals({ dir, patientsPerHospital: 500, hospitals: 5, seed: 42 });
    expect(five.map((h) => h.nodeId)).toEqual(['hosp-a', 'hosp-b', 'hosp-c', 'hosp-d', 'hosp-e']);
    expect(five.map((h) => h.datasets[0]?.source.format)).toEqual(['csv', 'parquet', 'duckdb', 'csv', 'parquet']);
    expect(new Set(five.map((h) => h.name)).size).toBe(5);
    const o = await createPooledOracle(dir, five);
    try {
      const [ids] = await o.query(`SELECT count(*) AS n, count(DISTINCT subject) AS ids FROM pooled`);
      expect(ids).toEqual({ n: 2500, ids: 2500 });
      const rows = await o.query(`SELECT hospital, list(age ORDER BY subject) AS ages FROM pooled GROUP BY hospital ORDER BY hospital`);
      const fingerprints = new Set(rows.map((r) => JSON.stringify(r.ages)));
      expect(fingerprints.size).toBe(5);
    } finally {
      o.close();
    }
    expect(formatNodeId(25)).toBe('hosp-z');
    expect(formatNodeId(26)).toBe('hosp-aa');
  }, 30_000);
});
