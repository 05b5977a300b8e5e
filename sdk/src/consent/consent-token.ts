/**
 * Consent tokens: what a hospital's node signs to grant one researcher access to some of its
 * datasets, and what the hub and the node check on every query.
 *
 * A consent token is a JWT (RFC 7519) in JWS compact serialization (RFC 7515 §7.1), signed by
 * the node with Ed25519, header `{ alg: 'EdDSA', typ: 'vg-consent+jwt', kid }` where `kid` is
 * the RFC 7638 thumbprint of the node's signing key (published in the node's JWKS). It is
 * sender-constrained: `cnf.jkt` (RFC 7800 §3.1, RFC 9449 §6.1) is the thumbprint of the
 * researcher's identity key, and every request carries a DPoP proof by that key (./dpop.ts).
 *
 * **`vg_scope`, not `scope`.** The grant is an object (datasets, elements, operations,
 * purpose, budget, quota). The registered JWT claim `scope` (RFC 8693 §4.2, used by RFC 9068
 * §2.2.3 access tokens) is a space-delimited string of OAuth scopes, and generic OAuth tooling
 * splits it as such; an object under that name would clash. So the claim is `vg_scope`, a
 * private claim name with a project prefix (RFC 7519 §4.3). Everything else is as briefed.
 *
 * Verification follows RFC 8725: the algorithm is pinned to EdDSA (§3.1, so `none` and HS256
 * with the public key as HMAC secret are refused before any key is looked up), the key comes
 * from the issuer's key set by `kid` only, the type is explicit (§3.11), and issuer, audience
 * and subject are checked (§3.8, §3.9).
 */
import { SignJWT, decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify } from 'jose';
import type { JWK, JWTPayload, KeyObject } from 'jose';
import { toBase64Url } from '../internal/bytes.ts';
import { ConsentError } from './errors.ts';
import { ed25519PublicJwk } from './identity.ts';

/** The JWS `typ` of a consent token (RFC 7515 §4.1.9, explicit typing per RFC 8725 §3.11). */
export const CONSENT_TOKEN_TYPE = 'vg-consent+jwt';
/** The only accepted JWS algorithm: Ed25519 (RFC 8037 §3.1). */
export const CONSENT_TOKEN_ALG = 'EdDSA';
/** The aggregate operations a consent can grant. */
export const CONSENT_OPERATIONS = ['count', 'sum', 'mean', 'variance', 'stddev', 'histogram'] as const;
/** Default clock skew accepted on `exp` and `nbf`, in seconds. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
/** Longest token accepted, in characters: larger input is refused before any parsing. */
export const MAX_CONSENT_TOKEN_LENGTH = 64 * 1024;

/** One aggregate operation. */
export type ConsentOperation = (typeof CONSENT_OPERATIONS)[number];

/** What a consent grants. */
export interface ConsentScope {
  /** Dataset ids of the issuing node. */
  datasets: string[];
  /** Data element names (spec/data-elements.yaml). */
  elements: string[];
  operations: ConsentOperation[];
  /** A Data Use Ontology CURIE, e.g. `DUO:0000006` (health/medical/biomedical research). */
  purpose: string;
  /** Privacy budget granted (≥ 0). */
  budget: number;
  /** Number of queries granted (integer ≥ 0). */
  quota: number;
}

/** A GA4GH Passport visa object of type ControlledAccessGrants (GA4GH AAI / Passport v1.2). */
export interface ConsentVisa {
  type: 'ControlledAccessGrants';
  /** When the access was asserted (seconds since the epoch): the token's `iat`. */
  asserted: number;
  /** What was granted: by default the dataset ids joined with `,`. */
  value: string;
  /** Who asserts it: the issuing node (= `iss`). */
  source: string;
  by: 'dac';
}

/** The claims of a consent token. */
export interface ConsentClaims {
  /** The issuing node id (RFC 7519 §4.1.1). */
  iss: string;
  /** The researcher's account id (RFC 7519 §4.1.2). */
  sub: string;
  /** The hub id (RFC 7519 §4.1.3); a single string, never an array. */
  aud: string;
  /** Token id, for revocation (RFC 7519 §4.1.7). */
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
  /** The grant (a private claim, see the module comment for why not `scope`). */
  vg_scope: ConsentScope;
  /** The access request id this token answers. */
  request: string;
  /** The operator account ids that approved the request. */
  approvals: string[];
  /** RFC 7800 §3.1 confirmation: `jkt` = RFC 7638 thumbprint of the researcher's key (RFC 9449 §6.1). */
  cnf: { jkt: string };
  ga4gh_visa_v1: ConsentVisa;
}

/** The claims a signer supplies; `iat`, `nbf`, `exp`, `jti` and the visa are filled in. */
export type ConsentTokenInput = Omit<ConsentClaims, 'iat' | 'nbf' | 'exp' | 'jti' | 'ga4gh_visa_v1'> & {
  /** Lifetime: `exp` = `iat` + this (a positive integer). */
  durationSeconds: number;
  /** Issue time in seconds since the epoch; defaults to the clock. */
  now?: number;
  /** Token id; defaults to 16 random bytes, base64url. */
  jti?: string;
  /** The visa's `value`; defaults to the dataset ids joined with `,`. */
  visaValue?: string;
};

/** A node's signing key: its `kid` (RFC 7638 thumbprint) and the Ed25519 private key. */
export interface ConsentSigningKey {
  kid: string;
  /** A WebCrypto or Node key, or a private JWK with `d`. (jose v6 has no `KeyLike` any more.) */
  privateKey: CryptoKey | KeyObject | JWK;
}

/** The issuer's key set: the public key of a `kid`, or undefined when it is unknown. */
export type ConsentKeyLookup = (
  kid: string,
) => Promise<JWK | CryptoKey | undefined> | JWK | CryptoKey | undefined;

/** What {@link verifyConsentToken} checks the token against. */
export interface VerifyConsentTokenOptions {
  keys: ConsentKeyLookup;
  /** The node id the token must come from (`iss`). */
  issuer: string;
  /** The hub id the token must be for (`aud`). */
  audience: string;
  /** The researcher account id the token must be for (`sub`), when known. */
  subject?: string;
  /** Current time in seconds since the epoch; defaults to the clock. */
  now?: number;
  /** Skew accepted on `exp` and `nbf` (default 30 s). */
  clockToleranceSeconds?: number;
  /** Whether a token id is revoked. */
  isRevoked?: (jti: string) => boolean | Promise<boolean>;
}

/** What a query needs from a consent. */
export interface ScopeNeed {
  datasets: string[];
  elements: string[];
  operations: string[];
  purpose: string;
}

/** A decoded but NOT verified token: for display only. */
export interface UnverifiedConsentToken {
  header: { alg: unknown; typ: unknown; kid: unknown };
  claims: ConsentClaims;
}

// ---------------------------------------------------------------------------------------------
// Claim shapes
// ---------------------------------------------------------------------------------------------

const DUO_CURIE = /^DUO:\d{7}$/;
/** base64url of a 32-byte SHA-256 digest (RFC 7638 §3.1 thumbprint). */
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;
const OPERATIONS: ReadonlySet<string> = new Set(CONSENT_OPERATIONS);

function malformed(field: string, what: string): ConsentError {
  return new ConsentError('token_malformed', `consent token claim "${field}" ${what}`, { field });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw malformed(field, 'must be a non-empty string');
  return value;
}

function texts(value: unknown, field: string, options: { nonEmpty?: boolean } = {}): string[] {
  if (!Array.isArray(value)) throw malformed(field, 'must be an array of strings');
  if (options.nonEmpty && value.length === 0) throw malformed(field, 'must not be empty');
  return value.map((item, i) => text(item, `${field}[${i}]`));
}

function time(value: unknown, field: string): number {
  // RFC 7519 §2 NumericDate: seconds since the epoch, possibly fractional.
  if (typeof value !== 'number' || !Number.isFinite(value)) throw malformed(field, 'must be a NumericDate');
  return value;
}

function scopeOf(value: unknown): ConsentScope {
  if (!isObject(value)) throw malformed('vg_scope', 'must be an object');
  const operations = texts(value.operations, 'vg_scope.operations', { nonEmpty: true });
  operations.forEach((op, i) => {
    if (!OPERATIONS.has(op)) throw malformed(`vg_scope.operations[${i}]`, 'is not a known operation');
  });
  const purpose = text(value.purpose, 'vg_scope.purpose');
  if (!DUO_CURIE.test(purpose)) throw malformed('vg_scope.purpose', 'must be a DUO CURIE (DUO:nnnnnnn)');
  const { budget, quota } = value;
  if (typeof budget !== 'number' || !Number.isFinite(budget) || budget < 0) {
    throw malformed('vg_scope.budget', 'must be a finite number ≥ 0');
  }
  if (typeof quota !== 'number' || !Number.isSafeInteger(quota) || quota < 0) {
    throw malformed('vg_scope.quota', 'must be an integer ≥ 0');
  }
  return {
    datasets: texts(value.datasets, 'vg_scope.datasets', { nonEmpty: true }),
    elements: texts(value.elements, 'vg_scope.elements'),
    operations: operations as ConsentOperation[],
    purpose,
    budget,
    quota,
  };
}

/**
 * Checks the shape of a claims set and returns a fresh copy holding only the known claims.
 * Throws `token_malformed` with `field` naming the first bad claim.
 */
function parseConsentClaims(payload: unknown): ConsentClaims {
  if (!isObject(payload)) throw new ConsentError('token_malformed', 'consent token claims set must be a JSON object');
  const iss = text(payload.iss, 'iss');
  const iat = time(payload.iat, 'iat');
  const nbf = time(payload.nbf, 'nbf');
  const exp = time(payload.exp, 'exp');
  if (exp <= nbf) throw malformed('exp', 'must be after "nbf"');
  const cnf = payload.cnf;
  // RFC 7800 §3.1 "cnf" object; RFC 9449 §6.1 "jkt" member = base64url SHA-256 thumbprint.
  if (!isObject(cnf)) throw malformed('cnf', 'must be an object');
  if (typeof cnf.jkt !== 'string' || !THUMBPRINT.test(cnf.jkt)) throw malformed('cnf.jkt', 'must be a SHA-256 JWK thumbprint');
  const visa = payload.ga4gh_visa_v1;
  if (!isObject(visa)) throw malformed('ga4gh_visa_v1', 'must be an object');
  if (visa.type !== 'ControlledAccessGrants') throw malformed('ga4gh_visa_v1.type', 'must be "ControlledAccessGrants"');
  if (visa.by !== 'dac') throw malformed('ga4gh_visa_v1.by', 'must be "dac"');
  if (text(visa.source, 'ga4gh_visa_v1.source') !== iss) throw malformed('ga4gh_visa_v1.source', 'must equal "iss"');
  return {
    iss,
    sub: text(payload.sub, 'sub'),
    // RFC 7519 §4.1.3 allows an array; a consent token is for exactly one hub.
    aud: text(payload.aud, 'aud'),
    jti: text(payload.jti, 'jti'),
    iat,
    nbf,
    exp,
    vg_scope: scopeOf(payload.vg_scope),
    request: text(payload.request, 'request'),
    approvals: texts(payload.approvals, 'approvals'),
    cnf: { jkt: cnf.jkt },
    ga4gh_visa_v1: {
      type: 'ControlledAccessGrants',
      asserted: time(visa.asserted, 'ga4gh_visa_v1.asserted'),
      value: text(visa.value, 'ga4gh_visa_v1.value'),
      source: iss,
      by: 'dac',
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------

function randomId(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}

function nowSeconds(now: number | undefined): number {
  const value = now ?? Date.now() / 1000;
  if (!Number.isFinite(value)) throw new TypeError('"now" must be a finite number of seconds');
  return Math.floor(value);
}

/**
 * Signs a consent token with the node's key. Fills `iat` = `nbf` = now, `exp` = now +
 * `durationSeconds`, a random `jti` and the GA4GH visa; checks every claim's shape first
 * (a bad input throws `token_malformed` naming the claim, so nothing malformed is signed).
 *
 * @example
 * const token = await signConsentToken(
 *   {
 *     iss: 'node-a', sub: 'acct_r1', aud: 'hub', request: 'ar_1', approvals: ['acct_op1'],
 *     vg_scope: { datasets: ['cohort'], elements: ['age'], operations: ['count', 'mean'],
 *                 purpose: 'DUO:0000006', budget: 1, quota: 100 },
 *     cnf: { jkt: researcher.jkt },
 *     durationSeconds: 30 * 86400,
 *   },
 *   { kid: key.kid, privateKey: key.privateJwk },
 * );
 */
export async function signConsentToken(input: ConsentTokenInput, key: ConsentSigningKey): Promise<string> {
  const { durationSeconds } = input;
  if (!Number.isSafeInteger(durationSeconds) || durationSeconds <= 0) {
    throw new TypeError('"durationSeconds" must be a positive integer');
  }
  if (typeof key.kid !== 'string' || key.kid === '') throw new TypeError('the signing key needs a "kid"');
  const iat = nowSeconds(input.now);
  const scope = isObject(input.vg_scope) ? input.vg_scope : undefined;
  const datasets = Array.isArray(scope?.datasets) ? scope.datasets : [];
  // Copy the known claims only (never durationSeconds, now or visaValue), then check them.
  const claims = parseConsentClaims({
    iss: input.iss,
    sub: input.sub,
    aud: input.aud,
    jti: input.jti ?? randomId(),
    iat,
    nbf: iat,
    exp: iat + durationSeconds,
    vg_scope: input.vg_scope,
    request: input.request,
    approvals: input.approvals,
    cnf: input.cnf,
    ga4gh_visa_v1: {
      type: 'ControlledAccessGrants',
      asserted: iat,
      value: input.visaValue ?? datasets.join(','),
      source: input.iss,
      by: 'dac',
    },
  });
  return new SignJWT({ ...claims } satisfies JWTPayload)
    // RFC 7515 §4.1.1 alg, §4.1.4 kid, §4.1.9 typ (explicit typing, RFC 8725 §3.11).
    .setProtectedHeader({ alg: CONSENT_TOKEN_ALG, typ: CONSENT_TOKEN_TYPE, kid: key.kid })
    .sign(key.privateKey);
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

function isCryptoKey(key: unknown): key is CryptoKey {
  return typeof CryptoKey !== 'undefined' && key instanceof CryptoKey;
}

/** The public key of `kid` from the issuer's key set, as a WebCrypto key. */
async function resolveKey(kid: unknown, lookup: ConsentKeyLookup): Promise<CryptoKey> {
  // RFC 7515 §4.1.4: the key is chosen by "kid" from the issuer's key set, never from the token.
  if (typeof kid !== 'string' || kid === '') {
    throw new ConsentError('token_malformed', 'consent token header has no "kid"', { field: 'kid' });
  }
  const key = await lookup(kid);
  if (key === undefined) {
    throw new ConsentError('token_signature_invalid', 'consent token signed by an unknown key', { field: 'kid' });
  }
  if (isCryptoKey(key)) {
    if (key.type !== 'public' || key.algorithm.name !== 'Ed25519') {
      throw new TypeError('the consent key lookup must return Ed25519 public keys');
    }
    return key;
  }
  // Only the RFC 8037 public members: a private JWK or stray "alg"/"use" members are not used.
  const imported = await importJWK(ed25519PublicJwk(key), CONSENT_TOKEN_ALG);
  if (!isCryptoKey(imported)) throw new TypeError('the consent key lookup must return Ed25519 public keys');
  return imported;
}

/** A jose failure as a ConsentError with a stable code; any other error is rethrown as is. */
function fromJoseError(error: unknown): unknown {
  if (error instanceof ConsentError) return error;
  const options = { cause: error };
  if (error instanceof joseErrors.JOSEAlgNotAllowed) {
    // RFC 8725 §3.1: only the pinned algorithm; "none" and HS256 end here.
    return new ConsentError('token_signature_invalid', 'consent token "alg" is not EdDSA', { ...options, field: 'alg' });
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new ConsentError('token_signature_invalid', 'consent token signature is invalid', options);
  }
  if (error instanceof joseErrors.JWTExpired) {
    return new ConsentError('token_expired', 'consent token has expired', { ...options, field: error.claim });
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const field = error.claim;
    if (error.reason === 'check_failed') {
      // RFC 7519 §4.1.5 nbf, RFC 8725 §3.8 iss/sub, §3.9 aud, §3.11 typ.
      if (field === 'nbf') return new ConsentError('token_not_yet_valid', 'consent token is not valid yet', { ...options, field });
      if (field === 'aud') return new ConsentError('token_audience_invalid', 'consent token is for another audience', { ...options, field });
      if (field === 'iss') return new ConsentError('token_issuer_invalid', 'consent token is from another issuer', { ...options, field });
      if (field === 'sub') return new ConsentError('token_subject_invalid', 'consent token is for another subject', { ...options, field });
      if (field === 'typ') return new ConsentError('token_malformed', `consent token "typ" is not ${CONSENT_TOKEN_TYPE}`, { ...options, field });
    }
    return new ConsentError('token_malformed', `consent token claim "${field}" is missing or invalid`, { ...options, field });
  }
  if (error instanceof joseErrors.JOSEError) {
    // JWSInvalid, JWTInvalid, JOSENotSupported (unknown "crit"), …: not a well-formed token.
    return new ConsentError('token_malformed', 'consent token is not a well-formed JWS compact JWT', options);
  }
  return error;
}

/**
 * Verifies a consent token and returns its claims: signature by the issuer's key of the
 * header's `kid` (EdDSA only), `typ`, `iss`, `aud`, `sub` (when given), `nbf` and `exp` with
 * a clock tolerance, the shape of every claim, and revocation. Does not check the DPoP
 * binding (see `checkBinding`) nor the scope (see {@link checkScope}).
 *
 * @example
 * const claims = await verifyConsentToken(token, {
 *   keys: (kid) => nodeJwks.keys.find((k) => k.kid === kid),
 *   issuer: 'node-a', audience: 'hub', subject: account.id,
 *   isRevoked: (jti) => revoked.has(jti),
 * });
 */
export async function verifyConsentToken(token: string, options: VerifyConsentTokenOptions): Promise<ConsentClaims> {
  if (typeof token !== 'string' || token === '' || token.length > MAX_CONSENT_TOKEN_LENGTH) {
    throw new ConsentError('token_malformed', 'consent token is missing or too long');
  }
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, (header) => resolveKey(header.kid, options.keys), {
      // RFC 8725 §3.1: pin the algorithm, checked before the key is even looked up.
      algorithms: [CONSENT_TOKEN_ALG],
      // RFC 8725 §3.11 explicit typing; jose compares "typ" without the "application/" prefix.
      typ: CONSENT_TOKEN_TYPE,
      issuer: options.issuer,
      audience: options.audience,
      ...(options.subject === undefined ? {} : { subject: options.subject }),
      // RFC 7519 §4.1.4 exp and §4.1.5 nbf are required here, and compared with the tolerance.
      requiredClaims: ['exp', 'nbf', 'iat', 'jti'],
      clockTolerance: tolerance,
      ...(options.now === undefined ? {} : { currentDate: new Date(nowSeconds(options.now) * 1000) }),
    }));
  } catch (error) {
    throw fromJoseError(error);
  }
  const claims = parseConsentClaims(payload);
  if (options.isRevoked !== undefined && (await options.isRevoked(claims.jti))) {
    throw new ConsentError('token_revoked', 'consent token has been revoked', { field: 'jti' });
  }
  return claims;
}

/** An item name for a message: JSON-quoted (no control characters) and short. */
function quoted(name: string): string {
  const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
  return JSON.stringify(shown);
}

/**
 * Throws `token_scope_exceeded` unless the consent grants everything a query needs: every
 * dataset, element and operation, and exactly the purpose (DUO terms are compared as strings;
 * DUO's hierarchy, e.g. GRU covering HMB, is not applied). `field` names the part of the
 * scope (`vg_scope.datasets`, …) and `item` the first missing name.
 *
 * @example
 * checkScope(claims, { datasets: ['cohort'], elements: ['age', 'bmi'], operations: ['mean'], purpose: 'DUO:0000006' });
 */
export function checkScope(claims: ConsentClaims, need: ScopeNeed): void {
  const scope = claims.vg_scope;
  const parts: [keyof ScopeNeed & keyof ConsentScope, readonly string[], readonly string[], string][] = [
    ['datasets', need.datasets, scope.datasets, 'dataset'],
    ['elements', need.elements, scope.elements, 'element'],
    ['operations', need.operations, scope.operations, 'operation'],
  ];
  for (const [part, needed, granted, noun] of parts) {
    const allowed = new Set(granted);
    const missing = needed.find((item) => !allowed.has(item));
    if (missing !== undefined) {
      throw new ConsentError('token_scope_exceeded', `${noun} ${quoted(missing)} is not granted by the consent`, {
        field: `vg_scope.${part}`,
        item: missing,
      });
    }
  }
  if (need.purpose !== scope.purpose) {
    throw new ConsentError('token_scope_exceeded', `purpose ${quoted(need.purpose)} is not the consented purpose`, {
      field: 'vg_scope.purpose',
      item: need.purpose,
    });
  }
}

/**
 * Decodes a consent token WITHOUT verifying it — for display only (e.g. showing a researcher
 * what they hold). Never authorize anything on its result. Throws `token_malformed` when the
 * token or a claim is not well-formed.
 *
 * @example
 * const { claims } = decodeConsentTokenUnverified(token);
 * console.log(`valid until ${new Date(claims.exp * 1000).toISOString()}`);
 */
export function decodeConsentTokenUnverified(token: string): UnverifiedConsentToken {
  if (typeof token !== 'string' || token === '' || token.length > MAX_CONSENT_TOKEN_LENGTH) {
    throw new ConsentError('token_malformed', 'consent token is missing or too long');
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch (error) {
    throw new ConsentError('token_malformed', 'consent token is not a well-formed JWS compact JWT', { cause: error });
  }
  return { header: { alg: header.alg, typ: header.typ, kid: header.kid }, claims: parseConsentClaims(payload) };
}
