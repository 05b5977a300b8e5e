/**
 * Gateway errors: the SDK's `VeilgateError` (one code union, spec `ErrorCode`) plus the
 * HTTP status each code maps to. Handlers throw; the one error middleware answers.
 */
import { VeilgateError, type ErrorCode } from '@veilgate/sdk';

/** HTTP status per stable error code (spec/openapi.yaml responses). */
export const STATUS_OF: Record<ErrorCode, number> = {
  invalid_json: 400,
  too_few_participants: 503,
  unmask_refused: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_request: 400,
  not_found: 404,
  unauthorized: 401,
  forbidden: 403,
  unknown_dataset: 400,
  unknown_element: 400,
  element_not_in_dataset: 400,
  wrong_element_type: 400,
  unknown_code: 400,
  invalid_bins: 400,
  too_many_groups: 400,
  plan_overflow: 400,
  unknown_key: 404,
  invalid_public_key: 400,
  row_bound_exceeded: 409,
  hub_signature_invalid: 401,
  replayed_request: 409,
  node_unavailable: 502,
  node_timeout: 504,
  node_error: 502,
  node_signature_invalid: 502,
  node_ciphertext_invalid: 502,
  checkpoint_inconsistent: 409,
  dataset_not_queryable: 403,
  request_not_pending: 409,
  duplicate_approval: 409,
  token_missing: 403,
  token_malformed: 401,
  token_signature_invalid: 401,
  token_expired: 401,
  token_not_yet_valid: 401,
  token_audience_invalid: 401,
  token_issuer_invalid: 401,
  token_subject_invalid: 403,
  token_scope_exceeded: 403,
  token_revoked: 403,
  token_binding_invalid: 401,
  dpop_missing: 401,
  dpop_invalid: 401,
  dpop_replayed: 401,
  dpop_stale: 401,
  quota_exhausted: 429,
  budget_exhausted: 403,
  approval_invalid: 403,
  insufficient_credits: 402,
  rate_limited: 429,
  disclosure_control: 422,
  statement_mismatch: 403,
  rho_too_large: 422,
  participant_unknown: 403,
  mask_key_invalid: 403,
  not_ready: 503,
  // protocol.md §11.1: the hub stopped while the query ran; it was failed at restart, nothing charged.
  interrupted: 503,
  // draft-ietf-httpapi-idempotency-key-header §2.7: same key, another request; a retry while the first runs.
  idempotency_key_reused: 422,
  idempotency_in_progress: 409,
  result_not_stored: 410,
  internal: 500,
};

/** An error raised by the gateway, optionally naming the node at fault. */
export class GatewayError extends VeilgateError {
  readonly node: string | undefined;
  /** For 429s: when to try again (the `Retry-After` header). */
  readonly retryAfterSeconds: number | undefined;
  constructor(code: ErrorCode, message: string, options?: { field?: string; node?: string; cause?: unknown; retryAfterSeconds?: number }) {
    super(code, message, options);
    this.name = 'GatewayError';
    this.node = options?.node;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}
