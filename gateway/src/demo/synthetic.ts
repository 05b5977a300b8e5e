/**
 * Deterministic synthetic health data for the demo, the tests and the benchmarks.
 *
 * Every hospital gets one cardiometabolic cohort, generated entirely inside DuckDB over
 * row indexes 0 … n − 1: each random draw is a double DuckDB `hash` of (i, hospital seed,
 * stream k) mapped to [0, 1), so the same seed, size and hospital index always give the same
 * rows (no `random()`). Hospitals differ
 * in seed and in cohort profile (age mix, diabetes and smoking prevalence, BMI, admissions),
 * and — the point of the demo — in their local schema: hospital index 0, 1, 2 write a CSV
 * export, a Parquet extract and a DuckDB database with different column names, codings and
 * units (further hospitals cycle through the three). The returned dataset configurations map
 * each local schema onto the data-element dictionary (spec/data-elements.yaml).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DatasetConfig, ElementMapping } from '../datasets/config.ts';

/** One generated hospital: its node id, display name and the datasets it serves. */
export interface GeneratedHospital {
  nodeId: string;
  name: string;
  datasets: DatasetConfig[];
}

/** Options for {@link generateHospitals}. */
export interface GenerateHospitalsOptions {
  /** Directory the data files are written under (created as needed); config paths are relative to it. */
  dir: string;
  /** Rows (patients) per hospital. */
  patientsPerHospital: number;
  /** Number of hospitals (default 3). */
  hospitals?: number;
  /** Base seed (default 42). */
  seed?: number;
}

/** Which of the three local schemas a hospital uses (index modulo 3). */
type SchemaKind = 'csv' | 'parquet' | 'duckdb';

/** Cohort parameters that make one hospital's patients differ from another's. */
interface CohortProfile {
  city: string;
  ageMean: number;
  ageSd: number;
  pFemale: number;
  bmiMedian: number;
  diabetesFactor: number;
  smokingFactor: number;
  admissionFactor: number;
}

const PROFILES: readonly CohortProfile[] = [
  { city: 'Beijing', ageMean: 56, ageSd: 17, pFemale: 0.5, bmiMedian: 24.8, diabetesFactor: 1, smokingFactor: 1, admissionFactor: 1 },
  { city: 'Shanghai', ageMean: 61, ageSd: 16, pFemale: 0.53, bmiMedian: 24.2, diabetesFactor: 1.25, smokingFactor: 0.8, admissionFactor: 1.2 },
  { city: 'Guangzhou', ageMean: 49, ageSd: 18, pFemale: 0.48, bmiMedian: 23.9, diabetesFactor: 0.8, smokingFactor: 1.2, admissionFactor: 0.8 },
  { city: 'Chengdu', ageMean: 58, ageSd: 17, pFemale: 0.49, bmiMedian: 25.3, diabetesFactor: 1.1, smokingFactor: 1.3, admissionFactor: 1.1 },
  { city: 'Wuhan', ageMean: 53, ageSd: 18, pFemale: 0.51, bmiMedian: 24.6, diabetesFactor: 0.9, smokingFactor: 1.1, admissionFactor: 0.9 },
];

const EXTRA_CITIES = ['Hangzhou', "Xi'an", 'Nanjing', 'Shenyang', 'Kunming', 'Tianjin', 'Chongqing', 'Harbin'];

/** Temporary table holding the row indexes 0 … n − 1. */
const IDS_TABLE = 'veilgate_synthetic_ids';

/** Reference year for birth years in the DuckDB-style schema: age = 2026 − birth_year. */
const REFERENCE_YEAR = 2026;

/** Lowercase ICD-10 subcodes used by the Parquet-style schema, per dictionary category. */
const DX_SUBCODES: Readonly<Record<string, readonly string[]>> = {
  I10: ['i10.9'],
  E11: ['e11.9', 'e11.65', 'e11.22'],
  I25: ['i25.10', 'i25.2'],
  J44: ['j44.9', 'j44.1'],
  N18: ['n18.3', 'n18.4'],
  Z00: ['z00.00', 'z00.01'],
};

/**
 * Generate `hospitals` synthetic hospitals, write their data files under `opts.dir`
 * (overwriting) and return their node ids, names and dataset configurations.
 *
 * @example
 * const hospitals = await generateHospitals({ dir: '/tmp/veilgate-demo', patientsPerHospital: 10_000 });
 * hospitals[0]?.datasets[0]?.source; // { format: 'csv', path: 'hosp-a/cardiometabolic.csv' }
 */
export async function generateHospitals(opts: GenerateHospitalsOptions): Promise<GeneratedHospital[]> {
  const count = opts.hospitals ?? 3;
  const seed = opts.seed ?? 42;
  const n = opts.patientsPerHospital;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`hospitals must be a positive integer, got ${count}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`patientsPerHospital must be a non-negative integer, got ${n}`);
  if (!Number.isSafeInteger(seed * 1000 + count)) throw new RangeError(`seed must be a (small enough) integer, got ${seed}`);

  mkdirSync(opts.dir, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    // range() is scanned by one thread; a materialized id table lets DuckDB parallelize the
    // (expression-heavy) generation. Output order follows insertion order (preserve_insertion_order).
    await con.run(`CREATE TEMP TABLE ${IDS_TABLE} AS SELECT i FROM range(${n}) t(i)`);
    const result: GeneratedHospital[] = [];
    for (let h = 0; h < count; h++) {
      result.push(await writeHospital(con, opts.dir, h, seed, n));
    }
    await con.run(`DROP TABLE ${IDS_TABLE}`);
    return result;
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

/**
 * The node id of the hospital at `index`: hosp-a … hosp-z, then hosp-aa, hosp-ab, ….
 *
 * @example
 * formatNodeId(0); // 'hosp-a'
 * formatNodeId(26); // 'hosp-aa'
 */
export function formatNodeId(index: number): string {
  return `hosp-${formatLetters(index)}`;
}

/** Bijective base-26 letters: 0 → a, 25 → z, 26 → aa. */
function formatLetters(index: number): string {
  let k = index + 1;
  let out = '';
  while (k > 0) {
    const r = (k - 1) % 26;
    out = String.fromCharCode(97 + r) + out;
    k = Math.floor((k - 1) / 26);
  }
  return out;
}

/** Profile of hospital `index`; past the five base profiles, shifted variants of them. */
function selectProfile(index: number): CohortProfile {
  const base = PROFILES[index % PROFILES.length] as CohortProfile;
  const round = Math.floor(index / PROFILES.length);
  if (round === 0) return base;
  const city = EXTRA_CITIES[(index - PROFILES.length) % EXTRA_CITIES.length] ?? base.city;
  const shift = ((round * 3) % 7) - 3;
  return { ...base, city, ageMean: base.ageMean + shift, diabetesFactor: base.diabetesFactor * (1 + shift / 20) };
}

/** Generate and write one hospital's file, returning its configuration. */
async function writeHospital(con: DuckDBConnection, dir: string, h: number, seed: number, n: number): Promise<GeneratedHospital> {
  const nodeId = formatNodeId(h);
  const letters = formatLetters(h).toUpperCase();
  const profile = selectProfile(h);
  const kind: SchemaKind = (['csv', 'parquet', 'duckdb'] as const)[h % 3] ?? 'csv';
  const name = `Hospital ${letters} (${profile.city})`;
  const hospitalSeed = seed * 1000 + h;
  const cohort = buildCohortSql(IDS_TABLE, hospitalSeed, profile);
  const digits = Math.max(8, String(n).length);
  mkdirSync(join(dir, nodeId), { recursive: true });

  const fileName = `cardiometabolic.${kind}`;
  const relPath = posix.join(nodeId, fileName);
  const absPath = join(dir, nodeId, fileName);
  const base: Omit<DatasetConfig, 'source' | 'subjectColumn' | 'elements'> = {
    id: `${nodeId}.cardiometabolic`,
    title: `Cardiometabolic outpatient cohort — ${name}`,
    description:
      `Synthetic adult outpatient cohort of ${name} (${n} patients, seed ${seed}): sex, age, ` +
      `blood pressure, BMI, HbA1c, primary ICD-10 diagnosis, smoking status and hospital admissions ` +
      `in the last 12 months. ${describeSchema(kind)}`,
    translations: {
      'zh-CN': {
        title: `心血管代谢门诊队列 — ${nameZh(letters, profile.city)}`,
        description:
          `${nameZh(letters, profile.city)}的合成成人门诊队列（${n} 名患者，种子 ${seed}）：性别、年龄、血压、体重指数、` +
          `糖化血红蛋白、ICD-10 主要诊断、吸烟状况及过去 12 个月的住院次数。${describeSchemaZh(kind)}`,
      },
    },
    minCellSize: 3,
  };

  if (kind === 'csv') {
    const sql = selectCsvSchema(cohort, letters, digits);
    rmSync(absPath, { force: true });
    await con.run(`COPY (${sql}) TO ${quoteLiteral(absPath)} (FORMAT csv, HEADER true, DELIMITER ',')`);
    return { nodeId, name, datasets: [{ ...base, source: { format: 'csv', path: relPath }, subjectColumn: 'patient_id', elements: mapCsvSchema() }] };
  }
  if (kind === 'parquet') {
    const sql = selectParquetSchema(cohort, h, Math.max(9, String(n).length));
    rmSync(absPath, { force: true });
    await con.run(`COPY (${sql}) TO ${quoteLiteral(absPath)} (FORMAT parquet, COMPRESSION zstd)`);
    return { nodeId, name, datasets: [{ ...base, source: { format: 'parquet', path: relPath }, subjectColumn: 'pid', elements: mapParquetSchema() }] };
  }
  const sql = selectDuckdbSchema(cohort, letters, digits);
  rmSync(absPath, { force: true });
  rmSync(`${absPath}.wal`, { force: true });
  const alias = `gen_${formatLetters(h)}`;
  await con.run(`ATTACH ${quoteLiteral(absPath)} AS ${alias}`);
  try {
    await con.run(`CREATE TABLE ${alias}.patients AS ${sql}`);
  } finally {
    await con.run(`DETACH ${alias}`);
  }
  return {
    nodeId,
    name,
    datasets: [{ ...base, source: { format: 'duckdb', path: relPath, table: 'patients' }, subjectColumn: 'subject', elements: mapDuckdbSchema() }],
  };
}

const CITY_ZH: Record<string, string> = {
  Beijing: '北京', Shanghai: '上海', Guangzhou: '广州', Chengdu: '成都', Wuhan: '武汉', Hangzhou: '杭州', "Xi'an": '西安',
  Nanjing: '南京', Shenyang: '沈阳', Kunming: '昆明', Tianjin: '天津', Chongqing: '重庆', Harbin: '哈尔滨',
};

/** "Hospital A (Beijing)" in Chinese: A 医院（北京）. */
export function nameZh(letters: string, city: string): string {
  return `${letters} 医院（${CITY_ZH[city] ?? city}）`;
}

function describeSchemaZh(kind: SchemaKind): string {
  if (kind === 'csv') return '本地结构：门诊电子病历每晚导出的 CSV（ICD-10 类目，F/M）。';
  if (kind === 'parquet') return '本地结构：Parquet 科研抽取文件（数字编码，BMI×10，小写 ICD-10 亚目）。';
  return '本地结构：DuckDB 登记数据库，patients 表（以出生年份代替年龄，吸烟编码 N/F/C）。';
}

function describeSchema(kind: SchemaKind): string {
  if (kind === 'csv') return 'Local schema: nightly CSV export of the outpatient EHR (ICD-10 categories, F/M).';
  if (kind === 'parquet') return 'Local schema: Parquet research extract (numeric codes, BMI×10, lowercase ICD-10 subcodes).';
  return 'Local schema: DuckDB registry database, table patients (birth year instead of age, N/F/C smoking codes).';
}

/**
 * Draw stream `k` (0 ≤ k < 8) of row `i` as a 64-bit hash. Not `hash(i, seed, k)`: DuckDB
 * combines multi-argument hashes with a final XOR, so streams k and k + 1 would be strongly
 * correlated. Instead the key i·8 + k, XOR-ed with the hashed seed, goes through DuckDB's
 * (deterministic, murmur-style) integer hash twice.
 */
function sqlHash(seed: number, k: number): string {
  return `hash(hash(xor(CAST(i AS UBIGINT) * 8 + ${k}, hash(${seed}::BIGINT))))`;
}

/** Two independent uniforms in (0, 1) from one 64-bit DuckDB hash: its high and low 32 bits. */
function sqlUniformPair(hashColumn: string): [string, string] {
  return [
    `((${hashColumn} >> 32)::DOUBLE + 0.5) / 4294967296.0`,
    `((${hashColumn} & 4294967295)::DOUBLE + 0.5) / 4294967296.0`,
  ];
}

function sqlClamp(expr: string, min: number, max: number): string {
  return `least(${max}, greatest(${min}, ${expr}))`;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Dictionary diagnosis codes in the order of the internal integer code `dx`. */
const DX_ORDER = ['I10', 'E11', 'I25', 'J44', 'N18', 'Z00'] as const;
const SMOKING_ORDER = ['never', 'former', 'current'] as const;

/**
 * SQL for a cohort in standard form (dictionary codes and units), one row per `i` of the
 * table `ids`: i, sex, age, systolic_bp, diastolic_bp, bmi, hba1c, diagnosis, smoking,
 * admissions, plus `u_sub` (a spare uniform for local subcodes). Each row's draws come from
 * {@link sqlHash}; everything else is arithmetic on the draws, so rows are
 * reproducible and independent of thread scheduling. Internally sex, smoking and diagnosis
 * are small integers (cheaper than strings); they become dictionary codes at the end.
 */
function buildCohortSql(ids: string, s: number, p: CohortProfile): string {
  const hashes = Array.from({ length: 7 }, (_, k) => `${sqlHash(s, k)} AS h${k + 1}`);
  const [uSex, uAge] = sqlUniformPair('h1');
  const [uBmiNa, uSmk] = sqlUniformPair('h2');
  const [uDx, uA1cNa] = sqlUniformPair('h3');
  const [uAdm, uSub] = sqlUniformPair('h4');
  const [r1, t1] = sqlUniformPair('h5');
  const [r2, t2] = sqlUniformPair('h6');
  const [r3, t3] = sqlUniformPair('h7');
  const dxCase = DX_ORDER.map((code, k) => `WHEN ${k} THEN '${code}'`).join(' ');
  const smkCase = SMOKING_ORDER.map((code, k) => `WHEN ${k} THEN '${code}'`).join(' ');
  return `
WITH hashed AS (
  SELECT i, ${hashes.join(', ')} FROM ${ids}
), draws AS (
  SELECT i,
    ${uSex} AS u_sex, ${uAge} AS u_age, ${uBmiNa} AS u_bmi_na, ${uSmk} AS u_smk,
    ${uDx} AS u_dx, ${uA1cNa} AS u_a1c_na, ${uAdm} AS u_adm, ${uSub} AS u_sub,
    sqrt(-2.0 * ln(${r1})) AS r1, 2.0 * pi() * ${t1} AS t1,
    sqrt(-2.0 * ln(${r2})) AS r2, 2.0 * pi() * ${t2} AS t2,
    sqrt(-2.0 * ln(${r3})) AS r3, 2.0 * pi() * ${t3} AS t3
  FROM hashed
), normals AS (
  SELECT i, u_sex, u_age, u_bmi_na, u_smk, u_dx, u_a1c_na, u_adm, u_sub,
    r1 * cos(t1) AS z_age, r1 * sin(t1) AS z_bmi,
    r2 * cos(t2) AS z_sbp, r2 * sin(t2) AS z_dbp,
    r3 * cos(t3) AS z_a1c
  FROM draws
), demo AS (
  SELECT *,
    u_sex >= ${p.pFemale} AS male,
    CAST(CASE WHEN ${p.ageMean} + ${p.ageSd} * z_age >= 17.5 AND ${p.ageMean} + ${p.ageSd} * z_age < 95.5
      THEN round(${p.ageMean} + ${p.ageSd} * z_age) ELSE 18 + floor(u_age * 78) END AS INTEGER) AS age
  FROM normals
), body AS (
  SELECT *,
    (${p.bmiMedian} + 0.07 * (least(age, 65) - 45) + CASE WHEN male THEN 0.4 ELSE 0 END) * exp(0.16 * z_bmi) AS bmi_latent,
    CASE
      WHEN u_smk < ${p.smokingFactor} * CASE WHEN male THEN 0.27 ELSE 0.09 END * CASE WHEN age >= 65 THEN 0.6 ELSE 1 END THEN 2
      WHEN u_smk < ${p.smokingFactor} * CASE WHEN male THEN 0.27 ELSE 0.09 END * CASE WHEN age >= 65 THEN 0.6 ELSE 1 END
        + (0.06 + 0.004 * (age - 18)) * CASE WHEN male THEN 1.3 ELSE 0.7 END THEN 1
      ELSE 0
    END AS smk
  FROM demo
), risk AS (
  SELECT *,
    0.05 + 0.0045 * (age - 18) + 0.004 * greatest(0, bmi_latent - 25) AS w0,
    ${p.diabetesFactor} * 0.05 * exp(0.025 * (age - 40)) * (1 + 0.08 * greatest(0, bmi_latent - 25)) AS w1,
    (0.003 + 0.0022 * greatest(0, age - 40)) * CASE WHEN male THEN 1.5 ELSE 0.7 END * CASE WHEN smk = 2 THEN 1.5 ELSE 1 END AS w2,
    0.005 + CASE smk WHEN 2 THEN 0.004 WHEN 1 THEN 0.0025 ELSE 0.0003 END * greatest(0, age - 35) AS w3,
    0.004 + 0.0025 * greatest(0, age - 50) AS w4
  FROM body
), dx AS (
  SELECT *,
    CASE
      WHEN x < w0 THEN 0
      WHEN x < w0 + w1 THEN 1
      WHEN x < w0 + w1 + w2 THEN 2
      WHEN x < w0 + w1 + w2 + w3 THEN 3
      WHEN x < w0 + w1 + w2 + w3 + w4 THEN 4
      ELSE 5
    END AS dx
  FROM (SELECT *, u_dx * greatest(1, (w0 + w1 + w2 + w3 + w4) / 0.95) AS x FROM risk)
), vitals AS (
  SELECT i, male, age, bmi_latent, smk, dx, z_dbp, z_a1c, u_bmi_na, u_a1c_na, u_adm, u_sub,
    CAST(round(${sqlClamp(
      `110 + 0.5 * (age - 40) + 0.8 * (bmi_latent - 25) + CASE WHEN male THEN 4 ELSE 0 END
        + CASE dx WHEN 0 THEN 14 WHEN 2 THEN 6 WHEN 4 THEN 6 ELSE 0 END + 14 * z_sbp`,
      60,
      260,
    )}) AS INTEGER) AS systolic_bp,
    ${p.admissionFactor} * (0.12 + 0.012 * greatest(0, age - 50)
      + CASE dx WHEN 3 THEN 0.8 WHEN 4 THEN 0.9 WHEN 2 THEN 0.6 WHEN 1 THEN 0.3 WHEN 0 THEN 0.1 ELSE 0 END) AS adm_mean
  FROM dx
)
SELECT i,
  CASE WHEN male THEN 'male' ELSE 'female' END AS sex,
  age, systolic_bp,
  CAST(greatest(30, least(160, systolic_bp - 10,
    round(28 + 0.4 * systolic_bp - 0.15 * greatest(0, age - 60) + 0.3 * (bmi_latent - 25) + 7 * z_dbp))) AS INTEGER) AS diastolic_bp,
  CASE WHEN u_bmi_na < 0.03 THEN NULL ELSE round(${sqlClamp('bmi_latent', 10, 70)}, 1) END AS bmi,
  CASE WHEN u_a1c_na < CASE WHEN dx = 1 THEN 0.03 ELSE 0.11 END THEN NULL
    ELSE round(${sqlClamp(
      `CASE WHEN dx = 1 THEN 7.5 + 0.03 * (bmi_latent - 25) + 1.3 * z_a1c
        ELSE 5.3 + 0.007 * (age - 40) + 0.025 * (bmi_latent - 25) + 0.35 * z_a1c END`,
      3,
      20,
    )}, 1) END AS hba1c,
  CASE dx ${dxCase} END AS diagnosis,
  CASE smk ${smkCase} END AS smoking,
  CAST(least(50, floor(ln(u_adm) / ln(adm_mean / (1.0 + adm_mean)))) AS INTEGER) AS admissions,
  u_sub
FROM vitals`;
}

/** Hospital A style: CSV export with F/M, ICD-10 categories and one-decimal BMI/HbA1c. */
function selectCsvSchema(cohort: string, letters: string, digits: number): string {
  return `SELECT
  ${quoteLiteral(letters)} || lpad(CAST(i + 1 AS VARCHAR), ${digits}, '0') AS patient_id,
  CASE sex WHEN 'female' THEN 'F' ELSE 'M' END AS sex,
  age, systolic_bp AS sbp, diastolic_bp AS dbp,
  CAST(bmi AS DECIMAL(4, 1)) AS bmi, CAST(hba1c AS DECIMAL(4, 1)) AS hba1c,
  diagnosis AS dx_icd10, smoking, admissions AS admissions_12m
FROM (${cohort})`;
}

function mapCsvSchema(): Record<string, ElementMapping> {
  return {
    sex: { column: 'sex', codes: { F: 'female', M: 'male' } },
    age: { column: 'age' },
    systolic_bp: { column: 'sbp' },
    diastolic_bp: { column: 'dbp' },
    bmi: { column: 'bmi' },
    hba1c: { column: 'hba1c' },
    diagnosis: { column: 'dx_icd10', codes: identityCodes(Object.keys(DX_SUBCODES)) },
    smoking: { column: 'smoking', codes: identityCodes(['never', 'former', 'current']) },
    admissions: { column: 'admissions_12m' },
  };
}

/** Hospital B style: Parquet with numeric sex/smoking codes, BMI×10 and lowercase subcodes. */
function selectParquetSchema(cohort: string, h: number, digits: number): string {
  const dxCase = Object.entries(DX_SUBCODES)
    .map(([code, subs]) => `WHEN ${quoteLiteral(code)} THEN ${selectSubcodeSql(subs)}`)
    .join('\n    ');
  return `SELECT
  CAST(${h + 1} AS BIGINT) * CAST(10 ** ${digits} AS BIGINT) + i + 1 AS pid,
  CAST(CASE sex WHEN 'male' THEN 1 ELSE 2 END AS INTEGER) AS gender,
  age AS age_years, systolic_bp AS systolic, diastolic_bp AS diastolic,
  CAST(round(bmi * 10) AS INTEGER) AS bmi_x10, CAST(hba1c AS DOUBLE) AS a1c,
  CASE diagnosis
    ${dxCase}
  END AS primary_dx,
  CAST(CASE smoking WHEN 'never' THEN 0 WHEN 'former' THEN 1 ELSE 2 END AS INTEGER) AS smoker_status,
  admissions AS n_admissions
FROM (${cohort})`;
}

/** Pick one of `subs` with u_sub: the first gets 70 %, the rest share the remainder equally. */
function selectSubcodeSql(subs: readonly string[]): string {
  if (subs.length === 1) return quoteLiteral(subs[0] ?? '');
  const rest = subs.slice(1);
  const arms = rest
    .slice(0, -1)
    .map((sub, j) => `WHEN u_sub < ${0.7 + (0.3 * (j + 1)) / rest.length} THEN ${quoteLiteral(sub)}`);
  return `CASE WHEN u_sub < 0.7 THEN ${quoteLiteral(subs[0] ?? '')} ${arms.join(' ')} ELSE ${quoteLiteral(rest.at(-1) ?? '')} END`;
}

function mapParquetSchema(): Record<string, ElementMapping> {
  const dxCodes: Record<string, string> = {};
  for (const [code, subs] of Object.entries(DX_SUBCODES)) for (const sub of subs) dxCodes[sub] = code;
  return {
    sex: { column: 'gender', codes: { '1': 'male', '2': 'female' } },
    age: { column: 'age_years' },
    systolic_bp: { column: 'systolic' },
    diastolic_bp: { column: 'diastolic' },
    bmi: { column: 'bmi_x10', scale: 0.1 },
    hba1c: { column: 'a1c' },
    diagnosis: { column: 'primary_dx', codes: dxCodes },
    smoking: { column: 'smoker_status', codes: { '0': 'never', '1': 'former', '2': 'current' } },
    admissions: { column: 'n_admissions' },
  };
}

/** Hospital C style: DuckDB table with birth year, full-word sex and N/F/C smoking codes. */
function selectDuckdbSchema(cohort: string, letters: string, digits: number): string {
  return `SELECT
  ${quoteLiteral(`${letters}-`)} || lpad(CAST(i + 1 AS VARCHAR), ${digits}, '0') AS subject,
  sex, CAST(${REFERENCE_YEAR} - age AS INTEGER) AS birth_year,
  systolic_bp AS bp_sys, diastolic_bp AS bp_dia,
  CAST(bmi AS DECIMAL(4, 1)) AS body_mass_index, CAST(hba1c AS DECIMAL(4, 1)) AS hba1c_pct,
  diagnosis AS diagnosis_code,
  CASE smoking WHEN 'never' THEN 'N' WHEN 'former' THEN 'F' ELSE 'C' END AS smoking,
  admissions
FROM (${cohort})`;
}

function mapDuckdbSchema(): Record<string, ElementMapping> {
  return {
    sex: { column: 'sex', codes: identityCodes(['female', 'male']) },
    age: { column: 'birth_year', scale: -1, offset: REFERENCE_YEAR },
    systolic_bp: { column: 'bp_sys' },
    diastolic_bp: { column: 'bp_dia' },
    bmi: { column: 'body_mass_index' },
    hba1c: { column: 'hba1c_pct' },
    diagnosis: { column: 'diagnosis_code', codes: identityCodes(Object.keys(DX_SUBCODES)) },
    smoking: { column: 'smoking', codes: { N: 'never', F: 'former', C: 'current' } },
    admissions: { column: 'admissions' },
  };
}

function identityCodes(codes: readonly string[]): Record<string, string> {
  return Object.fromEntries(codes.map((c) => [c, c]));
}
