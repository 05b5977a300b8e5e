/**
 * The embedded state store on `node:sqlite` (WAL mode, one file). Schema changes go
 * through `MIGRATIONS`, applied in order and recorded in `user_version`.
 */
import { DatabaseSync } from 'node:sqlite';
import type { AccountRow, HeKeyRow, QueryRow, StateStore } from './state-store.ts';

const MIGRATIONS = [
  `CREATE TABLE accounts (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, node TEXT,
     key_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
   CREATE TABLE he_keys (
     key_id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),
     public_key BLOB NOT NULL, created_at TEXT NOT NULL);
   CREATE TABLE queries (
     id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), key_id TEXT NOT NULL,
     datasets TEXT NOT NULL, request_sha256 TEXT NOT NULL, status TEXT NOT NULL,
     created_at TEXT NOT NULL, finished_at TEXT, error_code TEXT, result_sha256 TEXT);`,
];

type Row = Record<string, unknown>;

function toAccount(r: Row): AccountRow {
  return {
    id: r.id as string, name: r.name as string, role: r.role as AccountRow['role'], node: (r.node as string | null) ?? null,
    keyHash: r.key_hash as string, createdAt: r.created_at as string,
  };
}

function toQuery(r: Row): QueryRow {
  return {
    id: r.id as string, accountId: r.account_id as string, keyId: r.key_id as string,
    datasets: JSON.parse(r.datasets as string) as string[], requestSha256: r.request_sha256 as string,
    status: r.status as QueryRow['status'], createdAt: r.created_at as string,
    finishedAt: (r.finished_at as string | null) ?? null, errorCode: (r.error_code as QueryRow['errorCode']) ?? null,
    resultSha256: (r.result_sha256 as string | null) ?? null,
  };
}

/**
 * Opens (and migrates) a SQLite state store; `:memory:` for tests.
 *
 * @example
 * const store = openSqliteStore('.veilgate/hub.sqlite');
 */
export function openSqliteStore(path: string): StateStore {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
  const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.exec('BEGIN');
    db.exec(MIGRATIONS[v]!);
    db.exec(`PRAGMA user_version = ${v + 1}`);
    db.exec('COMMIT');
  }
  const q = {
    insertAccount: db.prepare('INSERT INTO accounts (id, name, role, node, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    accountByHash: db.prepare('SELECT * FROM accounts WHERE key_hash = ?'),
    countAccounts: db.prepare('SELECT count(*) AS n FROM accounts'),
    insertKey: db.prepare('INSERT INTO he_keys (key_id, account_id, public_key, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (key_id) DO NOTHING'),
    keyById: db.prepare('SELECT * FROM he_keys WHERE key_id = ?'),
    insertQuery: db.prepare(`INSERT INTO queries (id, account_id, key_id, datasets, request_sha256, status, created_at) VALUES (?, ?, ?, ?, ?, 'running', ?)`),
    finishQuery: db.prepare(`UPDATE queries SET status = ?, finished_at = ?, error_code = ?, result_sha256 = ? WHERE id = ? AND status = 'running'`),
    queryById: db.prepare('SELECT * FROM queries WHERE id = ?'),
  };
  const keyRow = (r: Row): HeKeyRow => ({
    keyId: r.key_id as string, accountId: r.account_id as string, publicKey: new Uint8Array(r.public_key as Uint8Array), createdAt: r.created_at as string,
  });
  return {
    async createAccount(a) {
      q.insertAccount.run(a.id, a.name, a.role, a.node, a.keyHash, a.createdAt);
    },
    async findAccountByKeyHash(keyHash) {
      const r = q.accountByHash.get(keyHash) as Row | undefined;
      return r && toAccount(r);
    },
    async countAccounts() {
      return Number((q.countAccounts.get() as { n: number }).n);
    },
    async putHeKey(key) {
      q.insertKey.run(key.keyId, key.accountId, key.publicKey, key.createdAt);
      return keyRow(q.keyById.get(key.keyId) as Row);
    },
    async getHeKey(keyId) {
      const r = q.keyById.get(keyId) as Row | undefined;
      return r && keyRow(r);
    },
    async insertQuery(x) {
      q.insertQuery.run(x.id, x.accountId, x.keyId, JSON.stringify(x.datasets), x.requestSha256, x.createdAt);
    },
    async finishQuery(id, o) {
      q.finishQuery.run(o.status, o.finishedAt, o.errorCode ?? null, o.resultSha256 ?? null, id);
    },
    async getQuery(id) {
      const r = q.queryById.get(id) as Row | undefined;
      return r && toQuery(r);
    },
    async close() {
      db.close();
    },
  };
}
