/**
 * The hub's state store interface. `node:sqlite` implements it for the embedded default
 * (sqlite-store.ts); PostgreSQL will implement the same interface for production, which is
 * why every method is async even though SQLite answers synchronously.
 */
import type { components } from '@veilgate/sdk';

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
}

/** A registered BFV public key. */
export interface HeKeyRow {
  keyId: string;
  accountId: string;
  publicKey: Uint8Array;
  createdAt: string;
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
}

/** Everything the hub persists. */
export interface StateStore {
  createAccount(account: AccountRow): Promise<void>;
  findAccountByKeyHash(keyHash: string): Promise<AccountRow | undefined>;
  countAccounts(): Promise<number>;
  /** Inserts the key unless present; returns the stored row (first registration wins). */
  putHeKey(key: HeKeyRow): Promise<HeKeyRow>;
  getHeKey(keyId: string): Promise<HeKeyRow | undefined>;
  insertQuery(query: Omit<QueryRow, 'status' | 'finishedAt' | 'errorCode' | 'resultSha256'>): Promise<void>;
  /** Moves a running query to its final state; a query already final is left alone. */
  finishQuery(id: string, outcome: { status: 'completed' | 'failed'; finishedAt: string; errorCode?: ErrorCode; resultSha256?: string }): Promise<void>;
  getQuery(id: string): Promise<QueryRow | undefined>;
  close(): Promise<void>;
}
