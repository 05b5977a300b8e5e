/**
 * Typed errors of the SDK and of the protocol code shared with the gateway. Every error
 * has a stable `code` (the same strings as the spec's `ErrorCode`), keeps its `cause`, and
 * never carries a key, a token, a row or a plaintext aggregate in its message.
 */
import type { components } from './generated/openapi.ts';

/** The stable error codes of the HTTP API (spec/openapi.yaml `ErrorCode`). */
export type ErrorCode = components['schemas']['ErrorCode'];

/** SDK-local codes for failures that never cross the wire. */
export type LocalErrorCode = 'invalid_ciphertext' | 'plan_mismatch' | 'decode_failed' | 'invalid_secret_key' | 'network_error' | 'timeout';

/** Base class: every Veilgate error has a stable `code`. */
export class VeilgateError extends Error {
  readonly code: ErrorCode | LocalErrorCode;
  /** The offending input, as a dotted path or JSON pointer, when there is one. */
  readonly field: string | undefined;
  constructor(code: ErrorCode | LocalErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VeilgateError';
    this.code = code;
    this.field = options?.field;
  }
}

/** A query that the catalog or the slot planner refuses (bad element, overflow, …). */
export class QueryValidationError extends VeilgateError {
  constructor(code: ErrorCode, message: string, field: string) {
    super(code, message, { field });
    this.name = 'QueryValidationError';
  }
}

/** Homomorphic-encryption material that does not load under the protocol parameters. */
export class HeMaterialError extends VeilgateError {
  constructor(code: 'invalid_public_key' | 'invalid_ciphertext' | 'invalid_secret_key', message: string, cause?: unknown) {
    super(code, message, { cause });
    this.name = 'HeMaterialError';
  }
}

/** An HTTP error answered by a hub or node, with the server's `code` and status. */
export class ApiError extends VeilgateError {
  readonly status: number;
  readonly node: string | undefined;
  constructor(status: number, body: { code: ErrorCode; message: string; field?: string; node?: string }) {
    super(body.code, body.message, body.field === undefined ? undefined : { field: body.field });
    this.name = 'ApiError';
    this.status = status;
    this.node = body.node;
  }
}

/** A result whose plan or signatures do not match what the researcher asked for. */
export class ResultVerificationError extends VeilgateError {
  constructor(code: 'plan_mismatch' | 'decode_failed' | 'node_signature_invalid', message: string) {
    super(code, message);
    this.name = 'ResultVerificationError';
  }
}

/**
 * The hub could not be reached or did not answer in time: `network_error` (connection refused,
 * reset, DNS, TLS) or `timeout`. The request may or may not have reached the hub; a query sent
 * with an idempotency key can be retried safely (protocol.md §11.1).
 */
export class NetworkError extends VeilgateError {
  constructor(code: 'network_error' | 'timeout', message: string, cause?: unknown) {
    super(code, message, { cause });
    this.name = 'NetworkError';
  }
}
