/** One SQLite write transaction (BEGIN IMMEDIATE: the write lock up front, so no deadlock on upgrade). */
import type { DatabaseSync } from 'node:sqlite';

/**
 * Runs `work` in one transaction: everything it writes commits together, or nothing does.
 *
 * @example
 * withTransaction(db, () => { insert.run(…); log.appendSync(event); });
 */
export function withTransaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}
