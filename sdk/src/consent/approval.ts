/**
 * Operators' signed decisions (spec/protocol.md §9): an operator approves or denies an access
 * request by signing a statement with their own Ed25519 key, so that the hub — untrusted for
 * privacy — relays approvals but cannot make one up. The institution's node enrolled its
 * operators' public keys itself (never through the hub) and verifies every approval against
 * them before it signs a consent token.
 *
 * A statement is a JWT (RFC 7519) in JWS compact serialization (RFC 7515 §7.1), header
 * `{ alg: 'EdDSA', typ: 'vg-approval+jwt', kid }` with `kid` the RFC 7638 thumbprint of the
 * operator's key; claims `iss` (operator account), `aud` (node), `sub` (researcher account),
 * `jti`, `iat`, `request`, `decision`, `vg_scope` (as in a consent token), `duration_days`,
 * `cnf.jkt` (the researcher's identity key, RFC 7800 §3.1) and, for a denial, `reason`. It
 * covers everything the token will grant, so a statement for one request or scope cannot be
 * replayed for another: the node compares its content with the token request field by field.
 *
 * Browser-safe: jose over WebCrypto. A key loaded with {@link importOperatorKey} is a
 * non-extractable `CryptoKey`: a page can sign with it but never read it back.
 */
import { SignJWT, decodeJwt, decodeProtectedHeader, errors as joseErrors, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import type { JWK, JWTPayload } from 'jose';
import { toBase64Url } from '../internal/bytes.ts';
import { ConsentError } from './errors.ts';
import { ed25519PrivateJwk, ed25519PublicJwk, jwkThumbprint } from './identity.ts';
import type { Ed25519PrivateJwk, Ed25519PublicJwk } from './identity.ts';

/** The JWS `typ` of a signed decision (explicit typing, RFC 8725 §3.11). */
export const APPROVAL_TYPE = 'vg-approval+jwt';
/** The only accepted algorithm (RFC 8037 §3.1; pinned as RFC 8725 §3.1 asks). */
export const APPROVAL_ALG = 'EdDSA';
/** A statement older than this is refused: a request waits at most 30 days for its approvals. */
export const APPROVAL_MAX_AGE_SECONDS = 30 * 86_400;
/** Clock skew accepted on `iat` in the future. */
export const APPROVAL_CLOCK_TOLERANCE_SECONDS = 60;
/** Longest statement accepted, in characters (the spec's SignedDecision maxLength). */
export const MAX_APPROVAL_LENGTH = 16 * 1024;

const KEY_FILE_VERSION = 1;
const KEY_FILE_TYPE = 'veilgate-operator-key';

/** What an operator decides on: everything the consent token will grant, and the decision. */
export interface DecisionContent {
  /** The access request id. */
  request: string;
  decision: 'approve' | 'deny';
  /** The operator's account id (`iss`). */
  operator: string;
  /** The institution's node id (`aud`): the only verifier of this statement. */
  node: string;
  /** The researcher's account id (`sub`): the token's subject. */
  researcher: string;
  /** RFC 7638 thumbprint of the researcher's identity key: the token's `cnf.jkt`. */
  identityJkt: string;
  /** This institution's datasets in the request. */
  datasets: string[];
  elements: string[];
  operations: string[];
  /** A Data Use Ontology CURIE. */
  purpose: string;
  /** ρ (zCDP) for the whole grant. */
  privacyBudget: number;
  queryQuota: number;
  durationDays: number;
  /** Why, for a denial. */
  reason?: string;
}

/** A verified (or decoded) statement: its content, `iat`, `jti` and the signing key's `kid`. */
export interface DecisionStatement extends DecisionContent {
  iat: number;
  jti: string;
  kid: string;
}

/** An operator's key pair, as generated and written to their key file. */
export interface OperatorKeyPair {
  publicJwk: Ed25519PublicJwk;
  privateJwk: Ed25519PrivateJwk;
  /** RFC 7638 thumbprint of `publicJwk`: the statements' `kid`. */
  kid: string;
}

/** An operator's key ready to sign: the private half may be a non-extractable WebCrypto key. */
export interface OperatorKey {
  kid: string;
  publicJwk: Ed25519PublicJwk;
  privateKey: CryptoKey | JWK;
  /** The operator account the key file was written for, if it says. */
  account?: string;
}

/** An enrolled operator as a verifier knows it: their account and public key. */
export interface EnrolledOperator {
  account: string;
  publicJwk: Ed25519PublicJwk;
}

/** What {@link verifyDecision} checks a statement against. */
export interface VerifyDecisionOptions {
  /** The enrolled operator whose key has this `kid`, or undefined when none. */
  operators: (kid: string) => EnrolledOperator | undefined | Promise<EnrolledOperator | undefined>;
  /** The verifier's node id: the statement's `aud`. */
  audience: string;
  /** Current time in seconds since the epoch; defaults to the clock. */
  now?: number;
  maxAgeSeconds?: number;
}

/** The access request as the hub presents it (the fields a statement is built from). */
export interface DecidedRequest {
  id: string;
  researcher: string;
  identityJkt: string;
  elements: string[];
  operations: string[];
  purpose: string;
  privacyBudget: number;
  queryQuota: number;
  durationDays: number;
  decisions: { node: string; datasets: string[] }[];
}

function invalid(message: string, field?: string, cause?: unknown): ConsentError {
  return new ConsentError('approval_invalid', message, { ...(field === undefined ? {} : { field }), ...(cause === undefined ? {} : { cause }) });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw invalid(`signed decision claim "${field}" must be a non-empty string`, field);
  return value;
}

function texts(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid(`signed decision claim "${field}" must be a non-empty array of strings`, field);
  return value.map((v, i) => text(v, `${field}[${i}]`));
}

function finite(value: unknown, field: string, integer: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value))) {
    throw invalid(`signed decision claim "${field}" must be a positive ${integer ? 'integer' : 'number'}`, field);
  }
  return value;
}

/** Checks a claims set's shape; returns the content, `iat` and `jti` (never trusts stray members). */
function parseClaims(payload: unknown): Omit<DecisionStatement, 'kid'> {
  if (!isObject(payload)) throw invalid('signed decision claims must be a JSON object');
  const scope = payload.vg_scope;
  if (!isObject(scope)) throw invalid('signed decision claim "vg_scope" must be an object', 'vg_scope');
  const cnf = payload.cnf;
  if (!isObject(cnf)) throw invalid('signed decision claim "cnf" must be an object', 'cnf');
  const decision = payload.decision;
  if (decision !== 'approve' && decision !== 'deny') throw invalid('signed decision claim "decision" must be approve or deny', 'decision');
  const iat = payload.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('signed decision claim "iat" must be a NumericDate', 'iat');
  const reason = payload.reason;
  if (reason !== undefined && typeof reason !== 'string') throw invalid('signed decision claim "reason" must be a string', 'reason');
  return {
    request: text(payload.request, 'request'),
    decision,
    operator: text(payload.iss, 'iss'),
    node: text(payload.aud, 'aud'),
    researcher: text(payload.sub, 'sub'),
    identityJkt: text(cnf.jkt, 'cnf.jkt'),
    datasets: texts(scope.datasets, 'vg_scope.datasets'),
    elements: texts(scope.elements, 'vg_scope.elements'),
    operations: texts(scope.operations, 'vg_scope.operations'),
    purpose: text(scope.purpose, 'vg_scope.purpose'),
    privacyBudget: finite(scope.budget, 'vg_scope.budget', false),
    queryQuota: finite(scope.quota, 'vg_scope.quota', true),
    durationDays: finite(payload.duration_days, 'duration_days', true),
    ...(reason === undefined ? {} : { reason }),
    iat,
    jti: text(payload.jti, 'jti'),
  };
}

/** The JWT claims of a content (the wire names of {@link DecisionContent}). */
function claimsOf(content: DecisionContent): JWTPayload {
  return {
    iss: content.operator, aud: content.node, sub: content.researcher,
    request: content.request, decision: content.decision,
    vg_scope: {
      datasets: content.datasets, elements: content.elements, operations: content.operations, purpose: content.purpose,
      budget: content.privacyBudget, quota: content.queryQuota,
    },
    duration_days: content.durationDays,
    cnf: { jkt: content.identityJkt },
    ...(content.reason === undefined ? {} : { reason: content.reason }),
  };
}

const CONTENT_FIELDS = [
  'request', 'decision', 'operator', 'node', 'researcher', 'identityJkt', 'datasets', 'elements', 'operations', 'purpose',
  'privacyBudget', 'queryQuota', 'durationDays', 'reason',
] as const satisfies readonly (keyof DecisionContent)[];

/**
 * The first field in which two decision contents differ, or undefined when they are equal.
 * Arrays compare element by element, in order: the statement must say exactly what is granted.
 *
 * @example
 * const field = decisionDifference(statement, expected); // e.g. 'privacyBudget'
 */
export function decisionDifference(a: DecisionContent, b: DecisionContent): keyof DecisionContent | undefined {
  return CONTENT_FIELDS.find((field) => JSON.stringify(a[field] ?? null) !== JSON.stringify(b[field] ?? null));
}

/**
 * The content an operator of `node` signs to decide on `request` (as the hub presents it).
 *
 * @example
 * const content = decisionContentOf(request, { operator: me.id, node: me.node!, decision: 'approve' });
 */
export function decisionContentOf(
  request: DecidedRequest,
  by: { operator: string; node: string; decision: 'approve' | 'deny'; reason?: string },
): DecisionContent {
  const mine = request.decisions.find((d) => d.node === by.node);
  if (!mine) throw new TypeError(`request ${request.id} asks for no dataset of ${by.node}`);
  return {
    request: request.id, decision: by.decision, operator: by.operator, node: by.node, researcher: request.researcher,
    identityJkt: request.identityJkt, datasets: [...mine.datasets], elements: [...request.elements], operations: [...request.operations],
    purpose: request.purpose, privacyBudget: request.privacyBudget, queryQuota: request.queryQuota, durationDays: request.durationDays,
    ...(by.reason === undefined ? {} : { reason: by.reason }),
  };
}

/**
 * Signs a decision with the operator's key: `iat` = now, a random `jti`.
 *
 * @example
 * const statement = await signDecision(decisionContentOf(request, { operator, node, decision: 'approve' }), key);
 */
export async function signDecision(content: DecisionContent, key: OperatorKey, options: { now?: number; jti?: string } = {}): Promise<string> {
  const iat = Math.floor(options.now ?? Date.now() / 1000);
  const jti = options.jti ?? toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
  // Check the shape before signing: nothing malformed leaves the operator's hands.
  parseClaims({ ...claimsOf(content), iat, jti });
  const privateKey = isCryptoKey(key.privateKey) ? key.privateKey : await importJWK(ed25519PrivateJwk(key.privateKey), APPROVAL_ALG);
  return new SignJWT({ ...claimsOf(content), jti })
    .setProtectedHeader({ alg: APPROVAL_ALG, typ: APPROVAL_TYPE, kid: key.kid })
    .setIssuedAt(iat)
    .sign(privateKey);
}

function isCryptoKey(key: unknown): key is CryptoKey {
  return typeof CryptoKey !== 'undefined' && key instanceof CryptoKey;
}

/**
 * Reads a statement's content WITHOUT verifying its signature — for the hub, which relays
 * statements and checks that they say what the request says, but cannot verify them (only
 * the node holds the enrolled keys). Throws `approval_invalid` on malformed input.
 *
 * @example
 * const content = decodeDecisionUnverified(body.statement);
 */
export function decodeDecisionUnverified(statement: string): DecisionStatement {
  if (typeof statement !== 'string' || statement.length > MAX_APPROVAL_LENGTH) throw invalid('signed decision is missing or too long');
  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(statement);
    payload = decodeJwt(statement);
  } catch (error) {
    throw invalid('signed decision is not a JWS compact JWT', undefined, error);
  }
  if (header.alg !== APPROVAL_ALG) throw invalid('signed decision "alg" is not EdDSA', 'alg');
  if (header.typ !== APPROVAL_TYPE) throw invalid(`signed decision "typ" is not ${APPROVAL_TYPE}`, 'typ');
  if (typeof header.kid !== 'string' || header.kid === '') throw invalid('signed decision header has no "kid"', 'kid');
  return { ...parseClaims(payload), kid: header.kid };
}

/**
 * Verifies a statement against the verifier's own enrolled operators: algorithm pinned to
 * EdDSA (RFC 8725 §3.1), `typ` (§3.11), the key chosen by `kid` among the ENROLLED keys only
 * (a key the statement or the hub brings is never used), `iss` = the account that key was
 * enrolled for, `aud` = this node, and `iat` neither in the future nor older than 30 days.
 * Returns the content; the caller compares it with what it is about to grant.
 *
 * @example
 * const s = await verifyDecision(statement, { operators: (kid) => enrolled.get(kid), audience: 'hosp-a' });
 */
export async function verifyDecision(statement: string, options: VerifyDecisionOptions): Promise<DecisionStatement> {
  const decoded = decodeDecisionUnverified(statement);
  const enrolled = await options.operators(decoded.kid);
  if (!enrolled) throw invalid('signed decision is by a key this node has not enrolled', 'kid');
  let payload: JWTPayload;
  try {
    const key = await importJWK(ed25519PublicJwk(enrolled.publicJwk), APPROVAL_ALG);
    ({ payload } = await jwtVerify(statement, key, { algorithms: [APPROVAL_ALG], typ: APPROVAL_TYPE, audience: options.audience, requiredClaims: ['iat', 'jti'] }));
  } catch (error) {
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') throw invalid('signed decision is for another node', 'aud', error);
    if (error instanceof joseErrors.JOSEError) throw invalid('signed decision signature is invalid', 'signature', error);
    throw error;
  }
  const verified = { ...parseClaims(payload), kid: decoded.kid };
  // The key speaks for the account it was enrolled for, and for no other.
  if (verified.operator !== enrolled.account) throw invalid('signed decision names an operator other than the key\'s enrolled account', 'iss');
  const now = options.now ?? Date.now() / 1000;
  if (verified.iat > now + APPROVAL_CLOCK_TOLERANCE_SECONDS) throw invalid('signed decision is issued in the future', 'iat');
  if (verified.iat < now - (options.maxAgeSeconds ?? APPROVAL_MAX_AGE_SECONDS)) throw invalid('signed decision is too old', 'iat');
  return verified;
}

/**
 * A fresh operator key from the platform CSPRNG (extractable, to be written to a key file).
 *
 * @example
 * const pair = await generateOperatorKey();
 * writeFileSync('operator-key.json', exportOperatorKey(pair, { account }), { mode: 0o600 });
 */
export async function generateOperatorKey(): Promise<OperatorKeyPair> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const privateJwk = ed25519PrivateJwk(await exportJWK(privateKey));
  const publicJwk = ed25519PublicJwk(privateJwk);
  return { publicJwk, privateJwk, kid: await jwkThumbprint(publicJwk) };
}

/**
 * Serializes an operator key: `{"v":1,"type":"veilgate-operator-key","kid",…,"publicJwk","privateJwk"}`.
 * It holds the private key: store it like a password (mode 0600).
 *
 * @example
 * writeFileSync(path, exportOperatorKey(pair, { account: 'acct_…' }), { mode: 0o600 });
 */
export function exportOperatorKey(pair: OperatorKeyPair, options: { account?: string } = {}): string {
  const privateJwk = ed25519PrivateJwk(pair.privateJwk);
  return JSON.stringify({
    v: KEY_FILE_VERSION, type: KEY_FILE_TYPE, kid: pair.kid, ...(options.account ? { account: options.account } : {}),
    publicJwk: ed25519PublicJwk(privateJwk), privateJwk,
  });
}

/**
 * Parses an operator key file and imports the private key as a NON-extractable WebCrypto key
 * (a page can sign with it, never read it back). Checks that `d` matches `x` and recomputes
 * the `kid`. Errors name no key material.
 *
 * @example
 * const key = await importOperatorKey(await file.text());
 */
export async function importOperatorKey(text: string): Promise<OperatorKey> {
  let file: unknown;
  try {
    file = JSON.parse(text);
  } catch {
    throw new TypeError('an operator key file must be JSON');
  }
  if (!isObject(file) || file.v !== KEY_FILE_VERSION || file.type !== KEY_FILE_TYPE) {
    throw new TypeError(`not a version ${KEY_FILE_VERSION} ${KEY_FILE_TYPE} file`);
  }
  const privateJwk = ed25519PrivateJwk(file.privateJwk);
  const publicJwk = ed25519PublicJwk(privateJwk);
  const kid = await jwkThumbprint(publicJwk);
  if (file.kid !== undefined && file.kid !== kid) throw new TypeError('the operator key file\'s "kid" is not its key\'s thumbprint');
  const privateKey = await importJWK({ ...privateJwk, ext: false }, APPROVAL_ALG, { extractable: false });
  if (!isCryptoKey(privateKey)) throw new TypeError('the platform cannot import Ed25519 keys');
  return { kid, publicJwk, privateKey, ...(typeof file.account === 'string' ? { account: file.account } : {}) };
}
