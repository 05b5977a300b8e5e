/**
 * Retries of `POST /v1/queries` under an `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header;
 * protocol.md §11.1). The key is looked up before anything else about the request is checked —
 * before its DPoP proof is verified and its `jti` consumed — so a retry that re-signs the same
 * statement is answered from storage: never fanned out again, never charged twice.
 */
import { canonicalSha256 } from '@veilgate/sdk';
import { timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors.ts';
import type { StateStore } from '../store/state-store.ts';
import { receiptFor } from './run-query.ts';

/** draft-ietf-httpapi-idempotency-key-header §2: an sf-string (RFC 8941 §3.3.3); a bare token is the same key. */
const IDEMPOTENCY_KEY = /^"?([A-Za-z0-9._:-]{16,128})"?$/;

/**
 * The key of an `Idempotency-Key` header, or undefined without one; `invalid_request` if malformed.
 *
 * @example
 * parseIdempotencyKey('"6f0c0e1a-3c1d-4b7e-9d2a-3f1e8a2b9c4d"'); // '6f0c0e1a-3c1d-4b7e-9d2a-3f1e8a2b9c4d'
 */
export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = IDEMPOTENCY_KEY.exec(header);
  if (!m || header.startsWith('"') !== header.endsWith('"')) {
    throw new GatewayError('invalid_request', 'Idempotency-Key must be a string of 16 to 128 characters of A-Z a-z 0-9 . _ : -', { field: 'Idempotency-Key' });
  }
  return m[1]!;
}

/**
 * The stored answer to a retried request, or undefined when the key is new (the request runs).
 * Throws `idempotency_key_reused` (another request under this key) or `idempotency_in_progress`
 * (the first request still runs; `Retry-After`), and `result_not_stored` when the result was
 * too large to keep.
 *
 * @example
 * const stored = await replayIdempotent(store, account.id, key, req.body);
 * if (stored) return res.status(stored.status).json(stored.body);
 */
export async function replayIdempotent(store: StateStore, accountId: string, key: string, request: unknown): Promise<{ status: number; body: unknown } | undefined> {
  const record = await store.findIdempotent(accountId, key);
  if (!record) return undefined;
  // Same key, same request: the digest the query was accepted with (`query.accepted` requestSha256).
  if (!timingSafeEqual(Buffer.from(canonicalSha256(request)), Buffer.from(record.requestSha256))) {
    throw new GatewayError('idempotency_key_reused', 'Idempotency-Key: this key was used for a different request', { field: 'Idempotency-Key' });
  }
  if (!record.outcome) {
    throw new GatewayError('idempotency_in_progress', `Idempotency-Key: query ${record.queryId} under this key is still running; retry later`, { field: 'Idempotency-Key', retryAfterSeconds: 1 });
  }
  const { status, body } = record.outcome;
  if (body === undefined) {
    throw new GatewayError('result_not_stored', `Idempotency-Key: query ${record.queryId} completed but its result was too large to keep; GET /v1/queries/${record.queryId} has its record`, { field: 'Idempotency-Key' });
  }
  if (status !== 200) return { status, body };
  // A completed result is kept without its receipt: the receipt is rebuilt from the log (the
  // checkpoint committed with the outcome entry), so it is the one first handed out.
  const query = await store.getQuery(record.queryId);
  return { status, body: { ...(body as object), receipt: await receiptFor(store, query!.endedIndex!) } };
}
