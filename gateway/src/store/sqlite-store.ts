/**
 * The embedded state store on `node:sqlite` (WAL mode, one file). Schema changes go
 * through `MIGRATIONS`, applied in order and recorded in `user_version`. The audit log lives
 * in the same file, so every state change and its log entry commit in one transaction.
 */
import { DatabaseSync } from 'node:sqlite';
import { auditEvent, type HubEvent } from '../audit/events.ts';
import { openSignedLog } from '../audit/signed-log.ts';
import type { AccountRow, HeKeyRow, QueryOutcome, QueryRow, StateStore } from './state-store.ts';
import { ACCESS_MIGRATION, SIGNED_DECISIONS_MIGRATION, openAccessStore } from './sqlite-access.ts';
import { withTransaction } from './transaction.ts';
import { IDEMPOTENCY_MIGRATION, openIdempotencyTable } from './sqlite-idempotency.ts';
import { STATUS_OF } from '../errors.ts';
import { LEDGER_MIGRATION, fromMilli, openLedger, researcherAccount } from './sqlite-ledger.ts';

const MIGRATIONS = [
  `CREATE TABLE accounts (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, node TEXT,
     key_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, log_index INTEGER NOT NULL);
   CREATE TABLE he_keys (
     key_id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id),
     public_key BLOB NOT NULL, created_at TEXT NOT NULL, log_index INTEGER NOT NULL);
   CREATE TABLE queries (
     id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), key_id TEXT NOT NULL,
     datasets TEXT NOT NULL, request_sha256 TEXT NOT NULL, status TEXT NOT NULL,
     created_at TEXT NOT NULL, finished_at TEXT, error_code TEXT, result_sha256 TEXT,
     accepted_index INTEGER NOT NULL, ended_index INTEGER);`,
  ACCESS_MIGRATION,
  LEDGER_MIGRATION,
  SIGNED_DECISIONS_MIGRATION,
  IDEMPOTENCY_MIGRATION,
];

/** What a client retrying an interrupted query is told (protocol.md §11.1). */
const INTERRUPTED_MESSAGE = 'the hub stopped while this query ran; it was recorded as failed and nothing was charged — run it again with a new idempotency key';

type Row = Record<string, unknown>;

function toAccount(r: Row): AccountRow {
  return {
    id: r.id as string, name: r.name as string, role: r.role as AccountRow['role'], node: (r.node as string | null) ?? null,
    keyHash: r.key_hash as string, createdAt: r.created_at as string, logIndex: Number(r.log_index),
  };
}

function toQuery(r: Row): QueryRow {
  return {
    id: r.id as string, accountId: r.account_id as string, keyId: r.key_id as string,
    datasets: JSON.parse(r.datasets as string) as string[], requestSha256: r.request_sha256 as string,
    status: r.status as QueryRow['status'], createdAt: r.created_at as string,
    finishedAt: (r.finished_at as string | null) ?? null, errorCode: (r.error_code as QueryRow['errorCode']) ?? null,
    resultSha256: (r.result_sha256 as string | null) ?? null,
    acceptedIndex: Number(r.accepted_index), endedIndex: r.ended_index === null ? null : Number(r.ended_index),
  };
}

function toKey(r: Row): HeKeyRow {
  return {
    keyId: r.key_id as string, accountId: r.account_id as string, publicKey: new Uint8Array(r.public_key as Uint8Array),
    createdAt: r.created_at as string, logIndex: Number(r.log_index),
  };
}

/**
 * Opens (and migrates) a SQLite state store; `:memory:` for tests. `log` names the audit
 * log (its origin, also the key name of its checkpoints) and its Ed25519 signing key.
 *
 * @example
 * const store = openSqliteStore('.veilgate/hub.sqlite', { origin: 'veilgate/hub', signingKey });
 */
export function openSqliteStore(path: string, log: { origin: string; signingKey: string }): StateStore {
  const db = new DatabaseSync(path);
  // synchronous stays FULL: a commit that a receipt or checkpoint already vouches for must
  // survive power loss, or the log could re-grow differently at the same index (a fork).
  db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;');
  const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.exec('BEGIN');
    db.exec(MIGRATIONS[v]!);
    db.exec(`PRAGMA user_version = ${v + 1}`);
    db.exec('COMMIT');
  }
  const audit = openSignedLog(db, { table: 'audit', ...log });
  const q = {
    insertAccount: db.prepare('INSERT INTO accounts (id, name, role, node, key_hash, created_at, log_index) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    accountByHash: db.prepare('SELECT * FROM accounts WHERE key_hash = ?'),
    accountById: db.prepare('SELECT * FROM accounts WHERE id = ?'),
    countAccounts: db.prepare('SELECT count(*) AS n FROM accounts'),
    // Oldest first; accounts made in the same millisecond in the order they were logged.
    allAccounts: db.prepare('SELECT * FROM accounts ORDER BY created_at, log_index'),
    accountsOfRole: db.prepare('SELECT * FROM accounts WHERE role = ? ORDER BY created_at, log_index'),
    insertKey: db.prepare('INSERT INTO he_keys (key_id, account_id, public_key, created_at, log_index) VALUES (?, ?, ?, ?, ?)'),
    keyById: db.prepare('SELECT * FROM he_keys WHERE key_id = ?'),
    // The log index alone: the public key blob (≈ 262 KB) is not needed to log a query.
    keyIndexById: db.prepare('SELECT log_index FROM he_keys WHERE key_id = ?'),
    insertQuery: db.prepare(`INSERT INTO queries (id, account_id, key_id, datasets, request_sha256, status, created_at, accepted_index) VALUES (?, ?, ?, ?, ?, 'running', ?, ?)`),
    finishQuery: db.prepare(`UPDATE queries SET status = ?, finished_at = ?, error_code = ?, result_sha256 = ?, ended_index = ? WHERE id = ? AND status = 'running'`),
    queryById: db.prepare('SELECT * FROM queries WHERE id = ?'),
    running: db.prepare(`SELECT id FROM queries WHERE status = 'running' ORDER BY accepted_index`),
  };
  const idempotency = openIdempotencyTable(db);
  /** State changes and their log entries commit together. */
  const transaction = <T>(work: () => T): T => withTransaction(db, work);
  const access = openAccessStore(db, audit, transaction, (id) => {
    const r = q.accountById.get(id) as Row | undefined;
    return r && toAccount(r);
  });
  const ledger = openLedger(db);
  /** The outcome of a running query, its ledger moves and its log entry (inside a transaction). */
  const finishSync = (id: string, outcome: QueryOutcome, respond?: (endedIndex: number) => { status: number; body: unknown }, failedMessage?: string): number | undefined => {
    const row = q.queryById.get(id) as Row | undefined;
    if (!row || row.status !== 'running') return undefined;
    const acceptedIndex = Number(row.accepted_index);
    const event = outcome.status === 'completed'
      ? auditEvent<HubEvent>({ type: 'query.completed', queryId: id, acceptedIndex, resultSha256: outcome.resultSha256, contributions: outcome.contributions, groupsLeftOut: outcome.groupsLeftOut })
      : auditEvent<HubEvent>({ type: 'query.failed', queryId: id, acceptedIndex, errorCode: outcome.errorCode, ...(outcome.node ? { node: outcome.node } : {}) });
    // Commit or release the reservation in the transaction that logs the outcome.
    if (outcome.status === 'completed') ledger.commitSync(id);
    // A failure gives back credits, ρ and the grants' quota (protocol.md §11).
    else access.releaseTokensSync(ledger.releaseSync(id));
    const endedIndex = audit.appendSync(event);
    const finishedAt = event.time;
    q.finishQuery.run(outcome.status, finishedAt, outcome.status === 'failed' ? outcome.errorCode : null, outcome.status === 'completed' ? outcome.resultSha256 : null, endedIndex, id);
    // The receipt's checkpoint (RFC 9162 §2.1.3 proofs are against it) commits with the
    // entry: one synchronous=FULL commit per outcome instead of two, and both durable
    // before any receipt is handed out.
    audit.checkpointSync();
    // The answer a retry under the same idempotency key gets (protocol.md §11.1).
    const answer = respond?.(endedIndex)
      ?? (outcome.status === 'failed' ? { status: STATUS_OF[outcome.errorCode], body: { code: outcome.errorCode, message: failedMessage ?? `the query failed (${outcome.errorCode})`, ...(outcome.node ? { node: outcome.node } : {}) } } : undefined);
    if (answer) idempotency.settleSync(id, answer.status, answer.body);
    return endedIndex;
  };
  return {
    ...access,
    audit,
    ledger,
    async topUpCredits(researcher, milli, admin) {
      return transaction(() => {
        const account = toAccount(q.accountById.get(researcher) as Row);
        const adminRow = toAccount(q.accountById.get(admin) as Row);
        ledger.topUpSync(researcherAccount(researcher), milli);
        audit.appendSync(auditEvent<HubEvent>({ type: 'credits.topped_up', account: researcher, accountIndex: account.logIndex, amount: fromMilli(milli), admin, adminIndex: adminRow.logIndex }));
        return ledger.balance(researcherAccount(researcher));
      });
    },
    async recordPrivacyPolicy(e) {
      return transaction(() => {
        const op = toAccount(q.accountById.get(e.operator) as Row);
        return audit.appendSync(auditEvent<HubEvent>({ type: 'privacy.set', ...e, operatorIndex: op.logIndex }));
      });
    },
    async setDatasetPrice(dataset, node, milli, operator) {
      transaction(() => {
        const op = toAccount(q.accountById.get(operator) as Row);
        ledger.setPriceSync(dataset, milli, operator);
        audit.appendSync(auditEvent<HubEvent>({ type: 'price.set', dataset, node, pricePerQuery: fromMilli(milli), operator, operatorIndex: op.logIndex }));
      });
    },
    async recordConsentImport(e) {
      return transaction(() => {
        const operator = toAccount(q.accountById.get(e.operator) as Row);
        return audit.appendSync(auditEvent<HubEvent>({ type: 'consent.imported', ...e, operatorIndex: operator.logIndex }));
      });
    },
    async createAccount(a) {
      return transaction(() => {
        const event = auditEvent<HubEvent>({ type: 'account.created', account: a.id, role: a.role, ...(a.node ? { node: a.node } : {}) });
        const logIndex = audit.appendSync(event);
        q.insertAccount.run(a.id, a.name, a.role, a.node, a.keyHash, a.createdAt, logIndex);
        return { ...a, logIndex };
      });
    },
    async findAccountByKeyHash(keyHash) {
      const r = q.accountByHash.get(keyHash) as Row | undefined;
      return r && toAccount(r);
    },
    async findAccount(id) {
      const r = q.accountById.get(id) as Row | undefined;
      return r && toAccount(r);
    },
    async countAccounts() {
      return Number((q.countAccounts.get() as { n: number }).n);
    },
    async listAccounts(filter = {}) {
      const rows = (filter.role ? q.accountsOfRole.all(filter.role) : q.allAccounts.all()) as Row[];
      return rows.map(toAccount);
    },
    async putHeKey(key) {
      return transaction(() => {
        const existing = q.keyById.get(key.keyId) as Row | undefined;
        if (existing) return toKey(existing);
        const account = toAccount(q.accountById.get(key.accountId) as Row);
        const logIndex = audit.appendSync(auditEvent<HubEvent>({ type: 'key.registered', account: account.id, accountIndex: account.logIndex, keyId: key.keyId }));
        q.insertKey.run(key.keyId, key.accountId, key.publicKey, key.createdAt, logIndex);
        return { ...key, logIndex };
      });
    },
    async getHeKey(keyId) {
      const r = q.keyById.get(keyId) as Row | undefined;
      return r && toKey(r);
    },
    async insertQuery(x, plan, charge, idempotencyKey) {
      return transaction(() => {
        if (idempotencyKey !== undefined) idempotency.claimSync({ accountId: x.accountId, key: idempotencyKey, requestSha256: x.requestSha256, queryId: x.id });
        const keyIndex = Number((q.keyIndexById.get(x.keyId) as Row).log_index);
        access.useTokensSync(plan.tokens);
        // DESIGN §8: credits and privacy budget are reserved before fan-out, atomically with
        // the acceptance entry; a refusal here leaves nothing behind.
        ledger.reserveSync(x.id, x.accountId, charge);
        const acceptedIndex = audit.appendSync(auditEvent<HubEvent>({
          type: 'query.accepted', queryId: x.id, account: x.accountId, keyId: x.keyId, keyIndex,
          datasets: x.datasets, nodes: plan.nodes, requestSha256: x.requestSha256, planSha256: plan.planSha256,
          purpose: plan.purpose, tokens: plan.tokens.map(({ node, jti, tokenIndex }) => ({ node, jti, tokenIndex })),
          reserved: { rho: charge.rho, credits: fromMilli(charge.lines.reduce((n, l) => n + l.amount, 0)) },
        }));
        q.insertQuery.run(x.id, x.accountId, x.keyId, JSON.stringify(x.datasets), x.requestSha256, x.createdAt, acceptedIndex);
        return acceptedIndex;
      });
    },
    async finishQuery(id, outcome, respond) {
      return transaction(() => finishSync(id, outcome, respond));
    },
    async findIdempotent(accountId, key) {
      return idempotency.find(accountId, key);
    },
    async recoverInterrupted() {
      const ids = (q.running.all() as Row[]).map((r) => r.id as string);
      // One transaction per query, exactly like the normal failure path (invariant 8).
      for (const id of ids) transaction(() => finishSync(id, { status: 'failed', errorCode: 'interrupted' }, undefined, INTERRUPTED_MESSAGE));
      return ids;
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
