/**
 * The hub's state store interface. `node:sqlite` implements it for the embedded default
 * (sqlite-store.ts); PostgreSQL will implement the same interface for production, which is
 * why every method is async even though SQLite answers synchronously.
 *
 * Every state change that is an auditable event appends that event to the audit log in the
 * same transaction (DESIGN §9, invariants 4–5): the store builds the event, because only it
 * knows the log indexes the event refers back to.
 */
import type { components } from '@veilgate/sdk';
import type { SignedLog } from '../audit/signed-log.ts';
import type { Charge, Ledger } from './sqlite-ledger.ts';
import type { IdempotentRecord } from './sqlite-idempotency.ts';

export type { IdempotentRecord } from './sqlite-idempotency.ts';

type S = components['schemas'];
export type Role = S['Role'];
export type ErrorCode = S['ErrorCode'];

/** An account as stored: the API key only as its SHA-256. */
export interface AccountRow {
  id: string;
  name: string;
  role: Role;
  node: string | null;
  keyHash: string;
  createdAt: string;
  /** Index of its `account.created` log entry. */
  logIndex: number;
}

/** A registered BFV public key. */
export interface HeKeyRow {
  keyId: string;
  accountId: string;
  publicKey: Uint8Array;
  createdAt: string;
  /** Index of its `key.registered` log entry. */
  logIndex: number;
}

/** A query's status record (never ciphertexts, never plaintext). */
export interface QueryRow {
  id: string;
  accountId: string;
  keyId: string;
  datasets: string[];
  requestSha256: string;
  status: 'running' | 'completed' | 'failed';
  createdAt: string;
  finishedAt: string | null;
  errorCode: ErrorCode | null;
  resultSha256: string | null;
  /** Index of its `query.accepted` entry, and of its `query.completed`/`query.failed` entry. */
  acceptedIndex: number;
  endedIndex: number | null;
}

/** How a query ended, as recorded. */
export type QueryOutcome =
  | {
      status: 'completed';
      resultSha256: string;
      contributions: { node: string; datasets: string[]; ciphertextSha256: string[]; signature: string }[];
      groupsLeftOut: number;
    }
  | { status: 'failed'; errorCode: ErrorCode; node?: string };

/** One institution's decision on an access request. */
export interface DecisionRow {
  requestId: string;
  node: string;
  datasets: string[];
  requiredApprovals: number;
  state: 'pending' | 'approved' | 'denied' | 'revoked';
  reason: string | null;
  decidedAt: string | null;
  token: string | null;
  tokenJti: string | null;
  expiresAt: string | null;
  /** Index of the `token.issued` entry. */
  tokenIndex: number | null;
  queriesUsed: number;
  /** Each approval with the operator's signed statement (protocol.md §9; null before statements existed). */
  approvals: { operator: string; at: string; logIndex: number; statement: string | null }[];
}

/** An access request as stored, with its decisions. */
export interface AccessRequestRow {
  id: string;
  researcher: string;
  datasets: string[];
  elements: string[];
  operations: S['Operation'][];
  purpose: string;
  justification: string;
  durationDays: number;
  privacyBudget: number;
  queryQuota: number;
  identityJkt: string;
  identityKey: S['PublicJwk'];
  withdrawn: boolean;
  createdAt: string;
  logIndex: number;
  decisions: DecisionRow[];
}

/** Access requests, decisions and consent-token bookkeeping. */
export interface AccessStore {
  createAccessRequest(
    input: Omit<AccessRequestRow, 'withdrawn' | 'logIndex' | 'decisions'>,
    decisions: { node: string; datasets: string[]; requiredApprovals: number }[],
  ): Promise<AccessRequestRow>;
  getAccessRequest(id: string): Promise<AccessRequestRow | undefined>;
  listAccessRequests(filter: { researcher?: string; node?: string }): Promise<AccessRequestRow[]>;
  withdrawAccessRequest(id: string): Promise<AccessRequestRow>;
  /** Records one operator's approval; with `token`, also the consent token it completed. */
  /** Records an approval with the operator's signed statement (its hash goes into the log). */
  addApproval(requestId: string, node: string, operator: string, statement: string, token?: { token: string; jti: string; expiresAt: string }): Promise<AccessRequestRow>;
  denyDecision(requestId: string, node: string, operator: string, reason: string, statement: string): Promise<AccessRequestRow>;
  revokeDecision(requestId: string, node: string, operator: string, reason: string): Promise<AccessRequestRow>;
  decisionByJti(jti: string): Promise<DecisionRow | undefined>;
  grantsOf(researcher: string, now: Date): Promise<{ decision: DecisionRow; request: AccessRequestRow }[]>;
  /** Spends one query of each token's quota (inside the caller's transaction). */
  useTokensSync(tokens: { node: string; jti: string; quota: number }[]): void;
  /** Gives back one query of each grant's quota (a failed query; inside the caller's transaction). */
  releaseTokensSync(jtis: string[]): void;
}

/** Everything the hub persists. */
export interface StateStore extends AccessStore {
  /** The audit log, in the same database. */
  audit: SignedLog;
  createAccount(account: Omit<AccountRow, 'logIndex'>): Promise<AccountRow>;
  findAccountByKeyHash(keyHash: string): Promise<AccountRow | undefined>;
  findAccount(id: string): Promise<AccountRow | undefined>;
  countAccounts(): Promise<number>;
  /** Every account (optionally of one role), oldest first: by `createdAt`, then `id`. */
  listAccounts(filter?: { role?: Role }): Promise<AccountRow[]>;
  /** Inserts the key unless present; returns the stored row (first registration wins). */
  putHeKey(key: Omit<HeKeyRow, 'logIndex'>): Promise<HeKeyRow>;
  getHeKey(keyId: string): Promise<HeKeyRow | undefined>;
  /**
   * Records an accepted query and appends `query.accepted`; returns the entry's index. With
   * `idempotencyKey`, claims the key for this query in the same transaction (protocol.md §11.1;
   * `idempotency_in_progress` if another request holds it).
   */
  insertQuery(
    query: Omit<QueryRow, 'status' | 'finishedAt' | 'errorCode' | 'resultSha256' | 'acceptedIndex' | 'endedIndex'>,
    plan: { planSha256: string; nodes: string[]; purpose: string; tokens: { node: string; jti: string; tokenIndex: number; quota: number }[] },
    charge: Charge,
    idempotencyKey?: string,
  ): Promise<number>;
  /** The request digest and outcome stored under an idempotency key, unless expired. */
  findIdempotent(accountId: string, key: string): Promise<IdempotentRecord | undefined>;
  /**
   * Fails every query still `running` (the hub stopped while it ran) with `interrupted`, as
   * `finishQuery` does — reservation, ρ and quota released, `query.failed` logged, the stored
   * idempotent outcome set. Run at start, before any query is accepted. Returns their ids.
   */
  recoverInterrupted(): Promise<string[]>;
  /** Adds credits to a researcher (admin). Returns the new balance in millicredits. */
  topUpCredits(researcher: string, milli: number, admin: string): Promise<number>;
  /** Sets a dataset's price (operator), in millicredits per query. */
  setDatasetPrice(dataset: string, node: string, milli: number, operator: string): Promise<void>;
  /** Records an operator's privacy policy change (the node applies it). */
  recordPrivacyPolicy(e: { dataset: string; node: string; operator: string; differentialPrivacy: boolean; defaultRho?: number }): Promise<number>;
  /** The ledger, for reads. */
  ledger: Pick<Ledger, 'balance' | 'budget' | 'price' | 'usage' | 'total'>;
  /** Records a consent import relayed to a node. */
  recordConsentImport(event: { node: string; dataset: string; operator: string; records: number; csvSha256: string }): Promise<number>;
  /**
   * Moves a running query to its final state and appends `query.completed` or
   * `query.failed` — exactly once: a query already final is left alone (returns undefined).
   * A failure releases credits, ρ and quota. `respond` builds the HTTP answer kept for
   * retries under the query's idempotency key (called inside the transaction, after the
   * ledger moved, with the outcome's log index); without it a failure keeps `{code, message}`.
   */
  finishQuery(id: string, outcome: QueryOutcome, respond?: (endedIndex: number) => { status: number; body: unknown }): Promise<number | undefined>;
  getQuery(id: string): Promise<QueryRow | undefined>;
  close(): Promise<void>;
}
