/**
 * The DuckDB dataset adapter (DESIGN §10): reads CSV, Parquet or DuckDB files and
 * materialises each dataset once, at node start, as a table of standard data elements —
 * local column names, codings and units mapped through the dataset's configuration. Every
 * aggregate then runs on that table inside DuckDB (SQL push-down); rows never leave it.
 */
import { isAbsolute, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { fixedPointOf, type DataElement } from '@veilgate/sdk';
import type { DatasetConfig, ElementMapping } from './config.ts';
import { ident, literal, numberLiteral } from './sql-text.ts';

/** A dataset ready to answer aggregates. */
export interface LoadedDataset {
  config: DatasetConfig;
  /** The DuckDB table holding the standardised rows. */
  table: string;
  rowCount: number;
  /** Declared upper bound on rows (configured, or derived from the row count). */
  maxRows: number;
  minCellSize: number;
  classification: 'core' | 'important' | 'general';
  /** Distinct operators who must approve access: 2 for important datasets, else 1. */
  requiredApprovals: number;
}

/** The table of patient-consent withdrawals in force: (dataset, subject, purpose). */
export const WITHDRAWN_TABLE = 'consent_withdrawn';

/** The subject-id column of every standardised table. */
export const SUBJECT_COLUMN = '__subject';

/**
 * Derived columns computed once at load so that queries only add integers:
 * `__u_<element>` = clamp(round(x · scale), lo, hi) − lo (protocol.md §3, NULL when missing),
 * `__c_<element>` = index of the code in the dictionary's code list (NULL when missing).
 */
export function offsetColumn(element: string): string {
  return `__u_${element}`;
}
export function codeIndexColumn(element: string): string {
  return `__c_${element}`;
}

/** The smallest 1- or 2-significant-figure bound ≥ n (e.g. 100 000 → 100 000, 123 456 → 130 000). */
export function roundUpBound(n: number): number {
  if (n <= 1000) return 1000;
  const p = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.ceil(n / p) * p;
}

/** n rounded to two significant figures (what the catalog shows). */
export function roundTwoFigures(n: number): number {
  if (n < 100) return n;
  const p = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.round(n / p) * p;
}

function sourceSql(config: DatasetConfig, dataDir: string, alias: string): { attach?: string; from: string } {
  const path = isAbsolute(config.source.path) ? config.source.path : resolve(dataDir, config.source.path);
  switch (config.source.format) {
    case 'csv':
      return { from: `read_csv(${literal(path)}, header = true)` };
    case 'parquet':
      return { from: `read_parquet(${literal(path)})` };
    case 'duckdb':
      return {
        attach: `ATTACH ${literal(path)} AS ${ident(alias)} (READ_ONLY)`,
        from: `${ident(alias)}.${ident(config.source.table ?? 'patients')}`,
      };
  }
}

/** The SQL expression reading one element from its local column (protocol.md §3). */
function elementSql(element: DataElement, mapping: ElementMapping): string {
  const column = ident(mapping.column);
  if (element.type === 'categorical') {
    const codes = mapping.codes ?? Object.fromEntries(element.codes.map((c) => [c, c]));
    const arms = Object.entries(codes)
      .filter(([, standard]) => element.codes.includes(standard))
      .map(([local, standard]) => `WHEN ${literal(local)} THEN ${literal(standard)}`);
    return arms.length ? `CASE CAST(${column} AS VARCHAR) ${arms.join(' ')} END` : 'CAST(NULL AS VARCHAR)';
  }
  const scale = mapping.scale ?? 1;
  const offset = mapping.offset ?? 0;
  // Values are rounded to the declared precision here, once, so that filters, bins and
  // sums all see the same fixed-point value.
  return `round(CAST(${column} AS DOUBLE) * ${numberLiteral(scale)} + ${numberLiteral(offset)}, ${element.precision})`;
}

/** The derived integer column of an element (see `offsetColumn`, `codeIndexColumn`). */
function derivedSql(element: DataElement): string {
  const x = ident(element.name);
  if (element.type === 'categorical') {
    const arms = element.codes.map((code, i) => `WHEN ${literal(code)} THEN ${i}`).join(' ');
    return `CAST(CASE ${x} ${arms} END AS INTEGER) AS ${ident(codeIndexColumn(element.name))}`;
  }
  const { scale, lo, hi } = fixedPointOf(element);
  const v = `CAST(round(${x} * ${scale}) AS HUGEINT)`;
  // CASE rather than least/greatest: DuckDB's greatest(NULL, lo) is lo, and a missing value
  // must stay missing (sums and counts skip it).
  return `CAST(CASE WHEN ${v} < ${lo} THEN ${lo} WHEN ${v} > ${hi} THEN ${hi} ELSE ${v} END - ${lo} AS BIGINT) AS ${ident(offsetColumn(element.name))}`;
}

/** A node's datasets inside one DuckDB instance. */
export interface DatasetEngine {
  datasets: Map<string, LoadedDataset>;
  /** Runs a read-only statement with bound parameters; rows as objects. */
  query(sql: string, params?: DuckDBValue[]): Promise<Record<string, unknown>[]>;
  /** Replaces a dataset's withdrawn-consent rows in the `consent_withdrawn` table. */
  replaceWithdrawn(dataset: string, rows: { subject: string; purpose: string }[]): Promise<void>;
  close(): void;
}

/**
 * Loads and standardises a node's datasets.
 *
 * @example
 * const engine = await openDatasets(configs, '.veilgate/data', loadDictionary());
 */
export async function openDatasets(configs: DatasetConfig[], dataDir: string, dictionary: DataElement[], options: { threads?: number } = {}): Promise<DatasetEngine> {
  const instance = await DuckDBInstance.create(':memory:', options.threads ? { threads: String(options.threads) } : {});
  const connection = await instance.connect();
  const byName = new Map(dictionary.map((e) => [e.name, e]));
  const datasets = new Map<string, LoadedDataset>();
  for (const [i, config] of configs.entries()) {
    const table = `ds_${i}`;
    const source = sourceSql(config, dataDir, `src_${i}`);
    if (source.attach) await connection.run(source.attach);
    const columns = [`CAST(${ident(config.subjectColumn)} AS VARCHAR) AS ${ident(SUBJECT_COLUMN)}`];
    const derived: string[] = [];
    for (const [name, mapping] of Object.entries(config.elements)) {
      const element = byName.get(name);
      if (!element) throw new Error(`dataset ${config.id}: maps unknown element ${name}`);
      columns.push(`${elementSql(element, mapping)} AS ${ident(name)}`);
      derived.push(derivedSql(element));
    }
    await connection.run(`CREATE TABLE ${ident(table)} AS SELECT *, ${derived.join(', ')} FROM (SELECT ${columns.join(', ')} FROM ${source.from})`);
    if (source.attach) await connection.run(`DETACH ${ident(`src_${i}`)}`);
    const reader = await connection.runAndReadAll(`SELECT count(*) AS n FROM ${ident(table)}`);
    const rowCount = Number(reader.getRowObjects()[0]!.n);
    if (config.maxRows !== undefined && rowCount > config.maxRows) {
      throw new Error(`dataset ${config.id}: ${rowCount} rows exceed its declared maxRows ${config.maxRows}`);
    }
    datasets.set(config.id, {
      config,
      table,
      rowCount,
      maxRows: config.maxRows ?? roundUpBound(rowCount),
      // DESIGN §6: important datasets get stricter defaults (a larger minimum cell).
      minCellSize: config.minCellSize ?? (config.classification === 'important' ? 5 : 3),
      classification: config.classification ?? 'general',
      requiredApprovals: config.classification === 'important' ? 2 : 1,
    });
  }
  // Patient consent withdrawals in force (node/consent-registry.ts), read by every aggregate.
  await connection.run(`CREATE TABLE ${WITHDRAWN_TABLE} (dataset VARCHAR, subject VARCHAR, purpose VARCHAR)`);
  connection.closeSync();
  return {
    datasets,
    async replaceWithdrawn(dataset, rows) {
      const con = await instance.connect();
      try {
        await con.run('BEGIN TRANSACTION');
        await con.run(`DELETE FROM ${WITHDRAWN_TABLE} WHERE dataset = $1`, [dataset]);
        // DuckDB's appender, inside the transaction: a million withdrawals in about a second,
        // where one parameterised INSERT per 500 rows took tens of seconds (issue 11).
        const appender = await con.createAppender(WITHDRAWN_TABLE);
        try {
          for (const r of rows) {
            appender.appendVarchar(dataset);
            appender.appendVarchar(r.subject);
            appender.appendVarchar(r.purpose);
            appender.endRow();
          }
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
        await con.run('COMMIT');
      } catch (err) {
        await con.run('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        con.closeSync();
      }
    },
    async query(sql, params) {
      const con = await instance.connect();
      try {
        const reader = await con.runAndReadAll(sql, params);
        return reader.getRowObjects() as Record<string, unknown>[];
      } finally {
        con.closeSync();
      }
    },
    close() {
      instance.closeSync();
    },
  };
}
