/**
 * Idempotency keys of `POST /v1/queries` (draft-ietf-httpapi-idempotency-key-header; protocol.md
 * §11.1): per (account, key) the digest of the request and the outcome of the query it started.
 * The row is written in the transaction that accepts the query and completed in the one that
 * logs its outcome, so a key never names a query that was not accepted, nor an outcome that
 * was not logged. Results are ciphertexts (≈ 131 KB each): a stored body is kept 24 hours and
 * at most `IDEMPOTENT_BODY_LIMIT` bytes; past that only the status is kept.
 */
import type { DatabaseSync } from 'node:sqlite';
import { GatewayError } from '../errors.ts';

export const IDEMPOTENCY_MIGRATION = `
  CREATE TABLE idempotency_keys (
    account_id TEXT NOT NULL, key TEXT NOT NULL, request_sha256 TEXT NOT NULL, query_id TEXT NOT NULL UNIQUE,
    status INTEGER, body TEXT, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
    PRIMARY KEY (account_id, key));
  CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);`;

/** How long an outcome is kept for retries. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** The largest response body kept for a retry (JSON bytes); larger results keep only their status. */
export const IDEMPOTENT_BODY_LIMIT = 16 * 1024 * 1024;

/** What is stored under a key. */
export interface IdempotentRecord {
  requestSha256: string;
  queryId: string;
  /** Absent while the query runs. */
  outcome?: { status: number; body: unknown | undefined };
}

/** The idempotency table, used inside the store's transactions. */
export interface IdempotencyTable {
  /** Claims `key` for a query being accepted; throws `idempotency_in_progress` if taken. */
  claimSync(input: { accountId: string; key: string; requestSha256: string; queryId: string }): void;
  /** Stores the outcome of `queryId`, if it was started under a key. */
  settleSync(queryId: string, status: number, body: unknown): void;
  find(accountId: string, key: string): IdempotentRecord | undefined;
}

/**
 * Opens the idempotency table over the hub's database.
 *
 * @example
 * const keys = openIdempotencyTable(db); keys.find('acc_1', 'f3b1…');
 */
export function openIdempotencyTable(db: DatabaseSync): IdempotencyTable {
  const q = {
    prune: db.prepare('DELETE FROM idempotency_keys WHERE expires_at < ? AND status IS NOT NULL'),
    get: db.prepare('SELECT * FROM idempotency_keys WHERE account_id = ? AND key = ? AND expires_at >= ?'),
    insert: db.prepare('INSERT OR IGNORE INTO idempotency_keys (account_id, key, request_sha256, query_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)'),
    settle: db.prepare('UPDATE idempotency_keys SET status = ?, body = ?, expires_at = ? WHERE query_id = ?'),
  };
  return {
    claimSync({ accountId, key, requestSha256, queryId }) {
      const now = Date.now();
      q.prune.run(new Date(now).toISOString());
      const inserted = q.insert.run(accountId, key, requestSha256, queryId, new Date(now).toISOString(), new Date(now + IDEMPOTENCY_TTL_MS).toISOString());
      // Two requests with one key raced past the lookup: the second accepts nothing.
      if (Number(inserted.changes) !== 1) {
        throw new GatewayError('idempotency_in_progress', 'Idempotency-Key: a request with this key is being processed; retry later', { field: 'Idempotency-Key', retryAfterSeconds: 1 });
      }
    },
    settleSync(queryId, status, body) {
      const json = JSON.stringify(body);
      const kept = Buffer.byteLength(json) <= IDEMPOTENT_BODY_LIMIT ? json : null;
      q.settle.run(status, kept, new Date(Date.now() + IDEMPOTENCY_TTL_MS).toISOString(), queryId);
    },
    find(accountId, key) {
      const r = q.get.get(accountId, key, new Date().toISOString()) as Record<string, unknown> | undefined;
      if (!r) return undefined;
      const record: IdempotentRecord = { requestSha256: r.request_sha256 as string, queryId: r.query_id as string };
      if (r.status !== null) record.outcome = { status: Number(r.status), body: r.body === null ? undefined : (JSON.parse(r.body as string) as unknown) };
      return record;
    },
  };
}
