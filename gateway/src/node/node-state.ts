/**
 * A node's own durable state (`node:sqlite`): its audit log of what it computed and
 * witnessed, and, per hub log it witnesses, the last checkpoint it co-signed.
 */
import { DatabaseSync } from 'node:sqlite';
import type { NodeEvent } from '../audit/events.ts';
import { openSignedLog, type SignedLog } from '../audit/signed-log.ts';
import { withTransaction } from '../store/transaction.ts';

/** The last checkpoint a witness co-signed for one log. */
export interface WitnessedHead {
  size: number;
  root: Uint8Array;
}

/** A node's state. */
export interface NodeState {
  log: SignedLog;
  /** Appends a node event in its own transaction; returns its index. */
  record(event: NodeEvent): number;
  lastWitnessed(origin: string): WitnessedHead | undefined;
  /** Records a co-signed head together with its `witness.cosigned` event. */
  recordWitnessed(origin: string, head: WitnessedHead, event: NodeEvent): void;
  /** An operator's privacy policy for a dataset, overriding its configuration. */
  policy(dataset: string): { differentialPrivacy: boolean; defaultRho?: number } | undefined;
  setPolicy(dataset: string, policy: { differentialPrivacy: boolean; defaultRho?: number }): void;
  /** The persisted consent-token key set (JSON), if any. */
  loadKeys(): string | undefined;
  saveKeys(json: string): void;
  /**
   * Records a hub message's nonce until `expiresAt` (ms), dropping expired ones; false when
   * the nonce is already recorded (a replay). Durable, so a restart does not reopen replays.
   */
  claimNonce(nonce: string, expiresAt: number, now: number): boolean;
  /** The state database itself, for the registries that live in it. */
  db: DatabaseSync;
  close(): void;
}

/**
 * Opens (creating if needed) a node's state file.
 *
 * @example
 * const state = openNodeState('.veilgate/nodes/hosp-a.sqlite', { origin: 'veilgate/hosp-a', signingKey });
 */
export function openNodeState(path: string, log: { origin: string; signingKey: string }): NodeState {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
    CREATE TABLE IF NOT EXISTS witness_state (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS token_keys (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS dataset_policies (dataset TEXT PRIMARY KEY, json TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS hub_nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS issued_tokens (request_id TEXT PRIMARY KEY, jti TEXT NOT NULL UNIQUE, researcher TEXT NOT NULL, content_sha256 TEXT NOT NULL, token TEXT NOT NULL, expires_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS granted_budgets (jti TEXT NOT NULL, researcher TEXT NOT NULL, dataset TEXT NOT NULL, budget REAL NOT NULL, expires_at TEXT NOT NULL, PRIMARY KEY (jti, dataset));`);
  // Nonces go through a second connection with synchronous = NORMAL: in WAL mode a commit
  // survives a crash of this process (it is in the OS's hands), only a power loss can undo the
  // last ones — and a replay after that is still charged by the ledger, which stays FULL. That
  // saves two fsyncs on every computation (the hub message's nonce and the statement's).
  const nonceDb = new DatabaseSync(path);
  nonceDb.exec('PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  const purgeNonces = nonceDb.prepare('DELETE FROM hub_nonces WHERE expires_at < ?');
  const putNonce = nonceDb.prepare('INSERT OR IGNORE INTO hub_nonces (nonce, expires_at) VALUES (?, ?)');
  const getPolicy = db.prepare('SELECT json FROM dataset_policies WHERE dataset = ?');
  const putPolicy = db.prepare('INSERT OR REPLACE INTO dataset_policies (dataset, json, updated_at) VALUES (?, ?, ?)');
  const getKeys = db.prepare('SELECT json FROM token_keys WHERE id = 1');
  const putKeys = db.prepare('INSERT OR REPLACE INTO token_keys (id, json, updated_at) VALUES (1, ?, ?)');
  const signed = openSignedLog(db, { table: 'nodelog', ...log });
  const get = db.prepare('SELECT size, root FROM witness_state WHERE origin = ?');
  const put = db.prepare('INSERT OR REPLACE INTO witness_state (origin, size, root, updated_at) VALUES (?, ?, ?, ?)');
  const transaction = <T>(work: () => T): T => withTransaction(db, work);
  return {
    log: signed,
    record: (event) => transaction(() => signed.appendSync(event)),
    lastWitnessed(origin) {
      const r = get.get(origin) as { size: number; root: Uint8Array } | undefined;
      return r && { size: Number(r.size), root: new Uint8Array(r.root) };
    },
    recordWitnessed(origin, head, event) {
      transaction(() => {
        put.run(origin, head.size, head.root, new Date().toISOString());
        signed.appendSync(event);
      });
    },
    policy: (dataset) => {
      const r = getPolicy.get(dataset) as { json: string } | undefined;
      return r && (JSON.parse(r.json) as { differentialPrivacy: boolean; defaultRho?: number });
    },
    setPolicy: (dataset, policy) => void putPolicy.run(dataset, JSON.stringify(policy), new Date().toISOString()),
    loadKeys: () => (getKeys.get() as { json: string } | undefined)?.json,
    saveKeys: (json) => void putKeys.run(json, new Date().toISOString()),
    claimNonce: (nonce, expiresAt, now) =>
      withTransaction(nonceDb, () => {
        purgeNonces.run(now);
        return Number(putNonce.run(nonce, expiresAt).changes) === 1;
      }),
    db,
    close: () => {
      nonceDb.close();
      db.close();
    },
  };
}
