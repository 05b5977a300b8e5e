/**
 * The patient consent registry of a node (DESIGN §6): per dataset, each subject's latest
 * decision per purpose (a DUO CURIE, or `*` for every purpose). Kept durably in the node's
 * state file and mirrored into DuckDB as the set of withdrawals in force, which every
 * aggregate excludes for the purpose of the consent token it runs under.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { DatasetEngine } from '../datasets/duckdb-dataset.ts';
import { withTransaction } from '../store/transaction.ts';

/** One consent record. */
export interface ConsentRecord {
  subject: string;
  purpose: string;
  status: 'granted' | 'withdrawn';
  recordedAt: string;
}

/** The registry. */
export interface ConsentRegistry {
  /** Applies records (the latest per subject and purpose wins); returns the withdrawals in force. */
  apply(dataset: string, records: ConsentRecord[]): Promise<number>;
  /** Loads every dataset's withdrawals into DuckDB (at node start). */
  load(): Promise<void>;
}

/**
 * A registry over the node's state database and its DuckDB engine.
 *
 * @example
 * const registry = openConsentRegistry(stateDb, engine); await registry.load();
 */
export function openConsentRegistry(db: DatabaseSync, engine: DatasetEngine): ConsentRegistry {
  db.exec(`CREATE TABLE IF NOT EXISTS patient_consent (
    dataset TEXT NOT NULL, subject TEXT NOT NULL, purpose TEXT NOT NULL, status TEXT NOT NULL, recorded_at TEXT NOT NULL,
    PRIMARY KEY (dataset, subject, purpose))`);
  const upsert = db.prepare(`INSERT INTO patient_consent (dataset, subject, purpose, status, recorded_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (dataset, subject, purpose) DO UPDATE SET status = excluded.status, recorded_at = excluded.recorded_at
    WHERE excluded.recorded_at >= patient_consent.recorded_at`);
  const withdrawn = db.prepare(`SELECT subject, purpose FROM patient_consent WHERE dataset = ? AND status = 'withdrawn'`);
  const datasets = db.prepare('SELECT DISTINCT dataset FROM patient_consent');
  const mirror = async (dataset: string): Promise<number> => {
    const rows = withdrawn.all(dataset) as { subject: string; purpose: string }[];
    await engine.replaceWithdrawn(dataset, rows);
    return new Set(rows.map((r) => r.subject)).size;
  };
  return {
    async apply(dataset, records) {
      withTransaction(db, () => {
        for (const r of records) upsert.run(dataset, r.subject, r.purpose, r.status, r.recordedAt);
      });
      return mirror(dataset);
    },
    async load() {
      for (const { dataset } of datasets.all() as { dataset: string }[]) await mirror(dataset);
    },
  };
}
