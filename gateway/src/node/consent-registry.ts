/**
 * The patient consent registry of a node (DESIGN §6): per dataset, each subject's latest
 * decision per purpose (a DUO CURIE, or `*` for every purpose). Kept durably in the node's
 * state file and mirrored into DuckDB as the set of withdrawals in force, which every
 * aggregate excludes for the purpose of the consent token it runs under.
 *
 * Imports arrive in batches (protocol.md §9, "Patient consent"): each batch is staged under
 * its import id and nothing reaches the registry until the commit, which applies every staged
 * record and the import's one log entry in a single transaction. A half-finished import —
 * aborted, refused, idle past `CONSENT_IMPORT_IDLE_MS`, or cut by a node restart — is
 * discarded and changes nothing.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { DatasetEngine } from '../datasets/duckdb-dataset.ts';
import { GatewayError } from '../errors.ts';
import { withTransaction } from '../store/transaction.ts';

/** One consent record. */
export interface ConsentRecord {
  subject: string;
  purpose: string;
  status: 'granted' | 'withdrawn';
  recordedAt: string;
}

/** What is staged for an import. */
export interface StagedImport {
  importId: string;
  batches: number;
  records: number;
}

/** An import left without a batch or commit for this long is discarded (protocol.md §9). */
export const CONSENT_IMPORT_IDLE_MS = 15 * 60_000;

/** The registry. */
export interface ConsentRegistry {
  /**
   * Stages batch `seq` of an import (the next one, or the last one again: a retry changes
   * nothing). Refuses a batch out of order, or for an import of another dataset.
   */
  stage(importId: string, dataset: string, seq: number, records: ConsentRecord[]): StagedImport;
  /**
   * Applies an import's staged records (the latest per subject and purpose wins) — when the
   * node staged exactly the batches and records the hub counted — together with `logEntry`
   * (called inside the transaction with the withdrawals in force); returns that count.
   */
  commit(importId: string, expected: { dataset: string; batches: number; records: number }, logEntry: (withdrawnSubjects: number) => void): Promise<number>;
  /** Discards what is staged for an import. */
  abort(importId: string): void;
  /** Discards every staged import (a restart ends them) and loads the withdrawals into DuckDB (at node start). */
  load(): Promise<void>;
}

/**
 * A registry over the node's state database and its DuckDB engine.
 *
 * @example
 * const registry = openConsentRegistry(stateDb, engine); await registry.load();
 */
export function openConsentRegistry(db: DatabaseSync, engine: DatasetEngine, now: () => number = Date.now): ConsentRegistry {
  db.exec(`CREATE TABLE IF NOT EXISTS patient_consent (
    dataset TEXT NOT NULL, subject TEXT NOT NULL, purpose TEXT NOT NULL, status TEXT NOT NULL, recorded_at TEXT NOT NULL,
    PRIMARY KEY (dataset, subject, purpose));
  CREATE TABLE IF NOT EXISTS consent_imports (
    import_id TEXT PRIMARY KEY, dataset TEXT NOT NULL, batches INTEGER NOT NULL, records INTEGER NOT NULL, touched_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS consent_staged (
    import_id TEXT NOT NULL, subject TEXT NOT NULL, purpose TEXT NOT NULL, status TEXT NOT NULL, recorded_at TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS consent_staged_by_import ON consent_staged (import_id);`);
  const q = {
    importOf: db.prepare('SELECT * FROM consent_imports WHERE import_id = ?'),
    open: db.prepare('INSERT INTO consent_imports (import_id, dataset, batches, records, touched_at) VALUES (?, ?, 0, 0, ?)'),
    advance: db.prepare('UPDATE consent_imports SET batches = batches + 1, records = records + ?, touched_at = ? WHERE import_id = ?'),
    stageRow: db.prepare('INSERT INTO consent_staged (import_id, subject, purpose, status, recorded_at) VALUES (?, ?, ?, ?, ?)'),
    // Staged rows in arrival order, so a later line of the file wins a tie on recorded_at.
    // (SQLite: an upsert from a SELECT needs the SELECT's WHERE to parse unambiguously.)
    apply: db.prepare(`INSERT INTO patient_consent (dataset, subject, purpose, status, recorded_at)
      SELECT ?, subject, purpose, status, recorded_at FROM consent_staged WHERE import_id = ? ORDER BY rowid
      ON CONFLICT (dataset, subject, purpose) DO UPDATE SET status = excluded.status, recorded_at = excluded.recorded_at
      WHERE excluded.recorded_at >= patient_consent.recorded_at`),
    dropStaged: db.prepare('DELETE FROM consent_staged WHERE import_id = ?'),
    dropImport: db.prepare('DELETE FROM consent_imports WHERE import_id = ?'),
    idle: db.prepare('SELECT import_id FROM consent_imports WHERE touched_at < ?'),
    all: db.prepare('SELECT import_id FROM consent_imports'),
    withdrawnCount: db.prepare(`SELECT count(DISTINCT subject) AS n FROM patient_consent WHERE dataset = ? AND status = 'withdrawn'`),
    withdrawn: db.prepare(`SELECT subject, purpose FROM patient_consent WHERE dataset = ? AND status = 'withdrawn'`),
    datasets: db.prepare('SELECT DISTINCT dataset FROM patient_consent'),
  };
  type ImportRow = { import_id: string; dataset: string; batches: number; records: number; touched_at: number };
  const discard = (importId: string): void => {
    withTransaction(db, () => {
      q.dropStaged.run(importId);
      q.dropImport.run(importId);
    });
  };
  const sweep = (): void => {
    for (const { import_id } of q.idle.all(now() - CONSENT_IMPORT_IDLE_MS) as { import_id: string }[]) discard(import_id);
  };
  const mirror = async (dataset: string): Promise<void> => {
    await engine.replaceWithdrawn(dataset, q.withdrawn.all(dataset) as { subject: string; purpose: string }[]);
  };
  const unknown = (importId: string) => new GatewayError('not_found', `importId: no consent import ${importId} is staged at this node (discarded after a failure, a restart or ${CONSENT_IMPORT_IDLE_MS / 60_000} idle minutes)`, { field: 'importId' });
  return {
    stage(importId, dataset, seq, records) {
      sweep();
      return withTransaction(db, () => {
        let row = q.importOf.get(importId) as ImportRow | undefined;
        if (!row && seq === 0) {
          q.open.run(importId, dataset, now());
          row = { import_id: importId, dataset, batches: 0, records: 0, touched_at: now() };
        }
        if (!row) throw unknown(importId);
        if (row.dataset !== dataset) throw new GatewayError('invalid_request', `dataset: import ${importId} is for another dataset`, { field: 'dataset' });
        const staged = { importId, batches: Number(row.batches), records: Number(row.records) };
        if (seq === staged.batches - 1) return staged; // the last batch again: a retry
        if (seq !== staged.batches) throw new GatewayError('invalid_request', `seq: expected batch ${staged.batches}, got ${seq}`, { field: 'seq' });
        for (const r of records) q.stageRow.run(importId, r.subject, r.purpose, r.status, r.recordedAt);
        q.advance.run(records.length, now(), importId);
        return { importId, batches: staged.batches + 1, records: staged.records + records.length };
      });
    },
    async commit(importId, expected, logEntry) {
      sweep();
      let mismatch = false;
      let withdrawnSubjects: number;
      try {
        withdrawnSubjects = withTransaction(db, () => {
        const row = q.importOf.get(importId) as ImportRow | undefined;
        // An import of no records was never opened here: committing it changes nothing but the log.
        if (!row && !(expected.batches === 0 && expected.records === 0)) throw unknown(importId);
        if (row && (row.dataset !== expected.dataset || Number(row.batches) !== expected.batches || Number(row.records) !== expected.records)) {
          mismatch = true;
          throw new GatewayError('invalid_request', `importId: this node staged ${row.batches} batches and ${row.records} records of ${row.dataset}, not ${expected.batches} and ${expected.records} of ${expected.dataset}`, { field: 'importId' });
        }
        if (row) {
          q.apply.run(expected.dataset, importId);
          q.dropStaged.run(importId);
          q.dropImport.run(importId);
        }
        const count = Number((q.withdrawnCount.get(expected.dataset) as { n: number }).n);
        logEntry(count);
        return count;
        });
      } catch (err) {
        if (mismatch) discard(importId);
        throw err;
      }
      await mirror(expected.dataset);
      return withdrawnSubjects;
    },
    abort(importId) {
      discard(importId);
    },
    async load() {
      for (const { import_id } of q.all.all() as { import_id: string }[]) discard(import_id);
      for (const { dataset } of q.datasets.all() as { dataset: string }[]) await mirror(dataset);
    },
  };
}
