/**
 * A plaintext oracle for tests: pools every generated hospital's rows, in standard form
 * (dictionary codes and units), into one in-memory DuckDB view `pooled`.
 *
 * The per-schema SQL below is written by hand and deliberately does NOT read the datasets'
 * `elements` mappings: it is an independent second implementation of "local row → standard
 * row", so a wrong mapping in a dataset configuration shows up as a disagreement.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DatasetConfig } from '../datasets/config.ts';
import type { GeneratedHospital } from './synthetic.ts';

/** The pooled plaintext view and a way to query it. */
export interface PooledOracle {
  /** Run SQL (typically over the view `pooled`); BIGINT results come back as numbers when safe. */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** Close the DuckDB connection and instance. */
  close(): void;
}

/** Columns of `pooled`, in order. */
const POOLED_COLUMNS =
  'hospital, subject, sex, age, systolic_bp, diastolic_bp, bmi, hba1c, diagnosis, smoking, admissions';

/**
 * Open an in-memory DuckDB with a view `pooled` over the files `generateHospitals` wrote to
 * `dir`: columns hospital (node id), subject (VARCHAR), sex, age, systolic_bp, diastolic_bp,
 * bmi, hba1c, diagnosis, smoking, admissions — integers as INTEGER, bmi/hba1c as DOUBLE.
 *
 * @example
 * const oracle = await createPooledOracle(dir, hospitals);
 * const [row] = await oracle.query('SELECT avg(systolic_bp) AS sbp FROM pooled');
 * oracle.close();
 */
export async function createPooledOracle(dir: string, hospitals: GeneratedHospital[]): Promise<PooledOracle> {
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    const parts: string[] = [];
    for (const [h, hospital] of hospitals.entries()) {
      for (const [d, dataset] of hospital.datasets.entries()) {
        parts.push(await selectStandardRows(con, dir, hospital.nodeId, dataset, `src_${h}_${d}`));
      }
    }
    const body = parts.length > 0 ? parts.join('\nUNION ALL\n') : selectEmptyRows();
    await con.run(`CREATE VIEW pooled AS SELECT ${POOLED_COLUMNS} FROM (${body})`);
  } catch (err) {
    con.closeSync();
    instance.closeSync();
    throw err;
  }
  return {
    async query(sql: string): Promise<Record<string, unknown>[]> {
      const reader = await con.runAndReadAll(sql);
      return reader.getRowObjectsJS().map(normalizeRow);
    },
    close(): void {
      con.closeSync();
      instance.closeSync();
    },
  };
}

type Connection = Awaited<ReturnType<DuckDBInstance['connect']>>;

/** Hand-written standard-form SELECT for one dataset, chosen by its file format. */
async function selectStandardRows(con: Connection, dir: string, nodeId: string, dataset: DatasetConfig, alias: string): Promise<string> {
  const path = quote(join(dir, dataset.source.path));
  const hospital = quote(nodeId);
  switch (dataset.source.format) {
    case 'csv':
      // Hospital A: CSV export. F/M, ICD-10 categories, one-decimal BMI and HbA1c.
      return `SELECT ${hospital} AS hospital, patient_id AS subject,
  CASE sex WHEN 'F' THEN 'female' WHEN 'M' THEN 'male' END AS sex,
  age, sbp AS systolic_bp, dbp AS diastolic_bp,
  CAST(bmi AS DOUBLE) AS bmi, CAST(hba1c AS DOUBLE) AS hba1c,
  dx_icd10 AS diagnosis, smoking, admissions_12m AS admissions
FROM read_csv(${path}, header = true, delim = ',', quote = '"', auto_detect = false, columns = {
  'patient_id': 'VARCHAR', 'sex': 'VARCHAR', 'age': 'INTEGER', 'sbp': 'INTEGER', 'dbp': 'INTEGER',
  'bmi': 'DECIMAL(4,1)', 'hba1c': 'DECIMAL(4,1)', 'dx_icd10': 'VARCHAR', 'smoking': 'VARCHAR',
  'admissions_12m': 'INTEGER'})`;
    case 'parquet':
      // Hospital B: Parquet extract. 1 = male / 2 = female, BMI × 10, lowercase ICD-10 subcodes,
      // smoking 0/1/2.
      return `SELECT ${hospital} AS hospital, CAST(pid AS VARCHAR) AS subject,
  CASE gender WHEN 1 THEN 'male' WHEN 2 THEN 'female' END AS sex,
  CAST(age_years AS INTEGER) AS age, CAST(systolic AS INTEGER) AS systolic_bp, CAST(diastolic AS INTEGER) AS diastolic_bp,
  CAST(bmi_x10 AS DOUBLE) / 10 AS bmi, CAST(a1c AS DOUBLE) AS hba1c,
  upper(split_part(primary_dx, '.', 1)) AS diagnosis,
  CASE smoker_status WHEN 0 THEN 'never' WHEN 1 THEN 'former' WHEN 2 THEN 'current' END AS smoking,
  CAST(n_admissions AS INTEGER) AS admissions
FROM read_parquet(${path})`;
    case 'duckdb': {
      // Hospital C: registry database. Birth year (age = 2026 − birth_year), N/F/C smoking.
      await con.run(`ATTACH ${path} AS ${alias} (READ_ONLY)`);
      const table = dataset.source.table ?? 'patients';
      return `SELECT ${hospital} AS hospital, subject,
  sex, CAST(2026 - birth_year AS INTEGER) AS age,
  CAST(bp_sys AS INTEGER) AS systolic_bp, CAST(bp_dia AS INTEGER) AS diastolic_bp,
  CAST(body_mass_index AS DOUBLE) AS bmi, CAST(hba1c_pct AS DOUBLE) AS hba1c,
  diagnosis_code AS diagnosis,
  CASE smoking WHEN 'N' THEN 'never' WHEN 'F' THEN 'former' WHEN 'C' THEN 'current' END AS smoking,
  CAST(admissions AS INTEGER) AS admissions
FROM ${alias}.main."${table.replaceAll('"', '""')}"`;
    }
  }
}

function selectEmptyRows(): string {
  return `SELECT NULL::VARCHAR AS hospital, NULL::VARCHAR AS subject, NULL::VARCHAR AS sex, NULL::INTEGER AS age,
  NULL::INTEGER AS systolic_bp, NULL::INTEGER AS diastolic_bp, NULL::DOUBLE AS bmi, NULL::DOUBLE AS hba1c,
  NULL::VARCHAR AS diagnosis, NULL::VARCHAR AS smoking, NULL::INTEGER AS admissions WHERE false`;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** bigint → number where it fits exactly (counts, sums), so tests can compare plainly. */
function normalizeRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] = typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  return out;
}
