/**
 * The one error of the consent-token and DPoP code. Every failure has a stable `code` that a
 * hub or node can map to an HTTP answer without parsing messages.
 *
 * Messages name claims, header parameters and (for scope checks) dataset, element or
 * operation names — never a token, a key, a signature, a thumbprint or any other value taken
 * from the input, so that an error can be logged or sent back as is. (hono's
 * `JwtTokenInvalid`, which puts the whole token into its message, is what this avoids.) The
 * `cause` — usually a jose error — is kept for debugging; it stays out of `message` and
 * `toJSON()`, but jose's claim errors hold the decoded payload, so do not serialize `cause`.
 */

/**
 * Stable codes:
 * - `token_malformed`: not a compact JWS, bad JSON, wrong `typ`, missing or wrongly typed claims;
 * - `token_signature_invalid`: bad signature, unknown `kid`, any `alg` other than `EdDSA`
 *   (`none` and HS256 included);
 * - `token_expired` / `token_not_yet_valid`: `exp` / `nbf` outside the clock tolerance;
 * - `token_audience_invalid` / `token_issuer_invalid` / `token_subject_invalid`: `aud` / `iss` / `sub`;
 * - `token_scope_exceeded`: the request needs a dataset, element, operation or purpose the
 *   token does not grant;
 * - `token_revoked`: the token's `jti` is revoked;
 * - `token_binding_invalid`: the token's `cnf.jkt` is not the DPoP proof's key;
 * - `dpop_missing`: no DPoP proof;
 * - `dpop_invalid`: a proof that fails any RFC 9449 §4.3 check but freshness and replay;
 * - `dpop_replayed`: a proof whose `jti` was already used;
 * - `dpop_stale`: a proof whose `iat` is too old or in the future;
 * - `approval_invalid`: an operator's signed decision (./approval.ts) that is malformed, signed
 *   by a key the verifier did not enrol, stale, or whose content differs from what it approves.
 */
export type ConsentErrorCode =
  | 'token_malformed'
  | 'token_signature_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_audience_invalid'
  | 'token_issuer_invalid'
  | 'token_subject_invalid'
  | 'token_scope_exceeded'
  | 'token_revoked'
  | 'token_binding_invalid'
  | 'dpop_missing'
  | 'dpop_invalid'
  | 'dpop_replayed'
  | 'dpop_stale'
  | 'approval_invalid';

/** Every code, for exhaustive mapping (e.g. to HTTP statuses) and tests. */
export const CONSENT_ERROR_CODES: readonly ConsentErrorCode[] = [
  'token_malformed',
  'token_signature_invalid',
  'token_expired',
  'token_not_yet_valid',
  'token_audience_invalid',
  'token_issuer_invalid',
  'token_subject_invalid',
  'token_scope_exceeded',
  'token_revoked',
  'token_binding_invalid',
  'dpop_missing',
  'dpop_invalid',
  'dpop_replayed',
  'dpop_stale',
  'approval_invalid',
];

/** Options of a {@link ConsentError}. */
export interface ConsentErrorOptions {
  /** The claim or header parameter at fault as a dotted path (`exp`, `vg_scope.elements`, `jwk`). */
  field?: string;
  /** For `token_scope_exceeded` only: the dataset, element or operation name (never secret). */
  item?: string;
  cause?: unknown;
}

/**
 * A consent-token or DPoP failure with a stable `code`.
 *
 * @example
 * try {
 *   await verifyConsentToken(token, { keys, issuer: 'node-a', audience: 'hub' });
 * } catch (e) {
 *   if (e instanceof ConsentError && e.code === 'token_expired') askForANewToken();
 *   else throw e;
 * }
 */
export class ConsentError extends Error {
  readonly code: ConsentErrorCode;
  /** The claim or header parameter at fault, as a dotted path, when there is one. */
  readonly field: string | undefined;
  /** The offending dataset, element or operation name of a scope check. */
  readonly item: string | undefined;
  constructor(code: ConsentErrorCode, message: string, options: ConsentErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConsentError';
    this.code = code;
    this.field = options.field;
    this.item = options.item;
  }

  /** A JSON form for an API error body or a log line: no `cause`, so no decoded payload. */
  toJSON(): { name: string; code: ConsentErrorCode; message: string; field?: string; item?: string } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.field === undefined ? {} : { field: this.field }),
      ...(this.item === undefined ? {} : { item: this.item }),
    };
  }
}

/**
 * Whether `error` is a {@link ConsentError}, optionally of one code.
 *
 * @example
 * if (isConsentError(e, 'dpop_replayed')) res.status(401);
 */
export function isConsentError(error: unknown, code?: ConsentErrorCode): error is ConsentError {
  return error instanceof ConsentError && (code === undefined || error.code === code);
}
