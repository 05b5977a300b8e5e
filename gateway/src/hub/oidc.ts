/**
 * OpenID Connect bearer tokens as an identity option next to API keys: a JWT access token
 * (RFC 7519; the RFC 9068 profile) issued by an external OpenID Provider, verified against the
 * provider's JWK Set URL, and mapped to a Veilgate role through a claim of the token.
 *
 * Verification follows RFC 8725 (JWT Best Current Practices) and OpenID Connect Core §3.1.3.7
 * (the same checks a relying party makes of an ID token, applied here to the access token):
 * the algorithm is pinned to an asymmetric allow-list before any key is looked up (§3.1, so
 * `none` and HS256 signed with the public key end there), the key comes from the issuer's
 * JWKS by `kid` and never from the token, `iss` must match exactly (§3.8), `aud` must name
 * this gateway (§3.9), and `exp`/`nbf` are checked with a small clock tolerance.
 *
 * Error messages never carry the token nor claim values from it (the roles and the subject
 * may be personal data); they say which check failed.
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import type { FlattenedJWSInput, JWSHeaderParameters, JWTPayload } from 'jose';
import { GatewayError } from '../errors.ts';
import type { Role } from '../store/state-store.ts';

/** Where the identity provider is and how its tokens map onto Veilgate. */
export interface OidcConfig {
  /** The exact `iss` of the provider (OpenID Connect Discovery `issuer`), compared as a string. */
  issuer: string;
  /** The accepted `aud` value(s); a token is accepted when its `aud` contains one of them. */
  audience: string | string[];
  /**
   * The provider's JWK Set URL (Discovery `jwks_uri`). Fetched with jose's
   * `createRemoteJWKSet`: cached, and fetched again when a token names an unknown `kid`
   * (key rotation) once the cooldown has passed. Must be `https:`, or `http:` on a loopback
   * host (tests, a provider on the same machine).
   */
  jwksUrl: string;
  /**
   * Accepted JWS algorithms, default `['RS256', 'ES256', 'EdDSA']`. Asymmetric ones only:
   * a list naming `none`, an `HS*` algorithm or anything unknown is refused (RFC 8725 §3.1).
   */
  algorithms?: string[];
  /**
   * Path of the roles claim, default `'roles'`. A claim of exactly this name is used when the
   * token has one (namespaced claims such as `https://example.org/roles` contain dots);
   * otherwise the path is followed through nested objects (`'realm_access.roles'` for
   * Keycloak). The claim may be an array of strings or one space-separated string.
   */
  roleClaim?: string;
  /**
   * External role name → Veilgate role. When several of the token's roles map, the most
   * privileged wins: admin > auditor > operator > researcher.
   */
  roleMapping: Record<string, Role>;
  /**
   * Claim naming an operator's institution node id (spec `NodeId`), default `'veilgate_node'`.
   * Required for operators, ignored for the other roles.
   */
  nodeClaim?: string;
  /** Allowed clock skew for `exp` and `nbf` in seconds, default 30. */
  clockToleranceSeconds?: number;
  /**
   * Minimum time between two JWKS fetches triggered by an unknown `kid`, in seconds,
   * default 30 (bounds how often a stream of forged `kid`s can make the gateway fetch).
   */
  jwksCooldownSeconds?: number;
  /** Timeout of a JWKS fetch in seconds, default 5. */
  jwksTimeoutSeconds?: number;
  /**
   * Require the RFC 9068 §4 header `typ: at+jwt`, so that an ID token or another JWT of the
   * same provider cannot stand in for an access token. Default false, because several
   * providers (Keycloak among them) still type their access tokens `JWT`.
   */
  requireAccessTokenType?: boolean;
}

/** Who an OIDC bearer token speaks for, once verified and mapped. */
export interface OidcIdentity {
  /** The token's `sub`. */
  subject: string;
  /** The token's `iss` (equal to the configured issuer). */
  issuer: string;
  /** The Veilgate role the provider's roles map to. */
  role: Role;
  /** For operators, the institution node they act for; otherwise null. */
  node: string | null;
  /** A display name: `name`, else `preferred_username`, else the subject. */
  name: string;
}

/** The algorithms accepted when the configuration names none. */
export const DEFAULT_OIDC_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'EdDSA'];

/** Asymmetric JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1, RFC 9864) a configuration may name. */
const ASYMMETRIC_ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);

/** Most privileged first: the first of these the token's roles map to is the identity's role. */
const ROLE_PRIORITY: readonly Role[] = ['admin', 'auditor', 'operator', 'researcher'];

/** Spec `NodeId`. */
const NODE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Longest bearer token looked at; larger ones are refused before any parsing. */
export const MAX_OIDC_TOKEN_LENGTH = 16_384;

const JWT_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Whether a bearer credential has the shape of a JWS compact JWT (three base64url segments,
 * RFC 7515 §7.1), as opposed to a Veilgate API key (`vg_…`, which has no dots). Only a
 * routing hint: it says nothing about validity. An empty signature segment (`alg: none`)
 * still counts, so that such tokens are refused by the verifier with a clear reason.
 *
 * @example
 * looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'); // true
 * looksLikeJwt('vg_' + 'A'.repeat(43)); // false
 */
export function looksLikeJwt(bearer: string): boolean {
  return typeof bearer === 'string' && bearer.length <= MAX_OIDC_TOKEN_LENGTH && JWT_PATTERN.test(bearer);
}

/**
 * The Veilgate account id of an OIDC identity: `oidc:` + base64url(SHA-256(iss + "\n" + sub))
 * cut to 22 characters (132 bits). Stable across logins and key rotations, distinct per
 * issuer, and unable to collide with API-key accounts (`acc_…`). The subject is hashed so
 * the id does not expose it. An issuer may not contain a newline (which keeps the pair
 * unambiguous).
 *
 * @example
 * oidcAccountId('https://idp.example.org/realms/health', '2c4e…'); // 'oidc:Vq3…' (27 characters)
 */
export function oidcAccountId(issuer: string, subject: string): string {
  if (issuer.includes('\n')) throw new TypeError('an OIDC issuer cannot contain a newline');
  const digest = createHash('sha256').update(`${issuer}\n${subject}`, 'utf8').digest('base64url');
  return `oidc:${digest.slice(0, 22)}`;
}

/** Failure to obtain the provider's keys (network, HTTP status, bad JSON, timeout). */
class IdpKeysUnavailable extends Error {}

function unauthorized(reason: string, cause?: unknown): GatewayError {
  return new GatewayError('unauthorized', `Authorization: ${reason}`, { field: 'Authorization', cause });
}

/** A jose failure as a 401 with a reason; never the token or its claim values. */
function fromJoseError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof IdpKeysUnavailable) {
    // Without the provider's keys no token can be checked; the caller is not authenticated.
    return unauthorized("the identity provider's signing keys could not be obtained", error.cause);
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) {
    // RFC 8725 §3.1: only the pinned asymmetric algorithms; "none" and HS* end here.
    return unauthorized('bearer token algorithm is not allowed', error);
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) {
    // RFC 7515 §4.1.4: the kid names no (or no single) key of the provider's JWKS.
    return unauthorized('bearer token is signed by a key the identity provider does not publish', error);
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return unauthorized('bearer token signature is invalid', error);
  }
  if (error instanceof joseErrors.JWTExpired) {
    // RFC 7519 §4.1.4 exp.
    return unauthorized('bearer token has expired', error);
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = error.claim;
    if (error.reason === 'check_failed') {
      // RFC 7519 §4.1.5 nbf; RFC 8725 §3.8 iss, §3.9 aud; RFC 9068 §4 typ.
      if (claim === 'nbf') return unauthorized('bearer token is not valid yet', error);
      if (claim === 'iss') return unauthorized('bearer token is from another issuer', error);
      if (claim === 'aud') return unauthorized('bearer token is for another audience', error);
      if (claim === 'typ') return unauthorized('bearer token is not typed as an access token (at+jwt)', error);
    }
    return unauthorized(`bearer token claim "${claim}" is missing or invalid`, error);
  }
  if (error instanceof joseErrors.JOSEError) {
    // JWSInvalid, JWTInvalid, JOSENotSupported (unknown "crit"), …
    return unauthorized('bearer token is not a well-formed JWT', error);
  }
  return unauthorized('bearer token could not be verified', error);
}

/** The claim at `path`: a claim of exactly that name, else the dotted path through objects. */
function claimAt(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let value: unknown = payload;
  for (const step of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, step)) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/** The external role names in a roles claim (array of strings, or a space-separated string). */
function roleNames(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(/\s+/).filter((s) => s !== '');
  if (Array.isArray(claim)) return claim.filter((r): r is string => typeof r === 'string');
  return [];
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function checkConfig(config: OidcConfig): void {
  if (typeof config.issuer !== 'string' || config.issuer === '' || config.issuer.includes('\n')) {
    throw new TypeError('OIDC issuer must be a non-empty string without newlines');
  }
  const audiences = Array.isArray(config.audience) ? config.audience : [config.audience];
  if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === '')) {
    throw new TypeError('OIDC audience must be one or more non-empty strings');
  }
  for (const alg of config.algorithms ?? DEFAULT_OIDC_ALGORITHMS) {
    // RFC 8725 §3.1: never "none", never a MAC keyed with what is meant as a public key.
    if (!ASYMMETRIC_ALGORITHMS.has(alg)) throw new TypeError(`OIDC algorithm ${JSON.stringify(alg)} is not allowed (asymmetric JWS algorithms only)`);
  }
  if (config.algorithms !== undefined && config.algorithms.length === 0) throw new TypeError('OIDC algorithms cannot be empty');
  const mapped = Object.entries(config.roleMapping ?? {});
  if (mapped.length === 0) throw new TypeError('OIDC roleMapping must map at least one external role');
  for (const [, role] of mapped) {
    if (!ROLE_PRIORITY.includes(role)) throw new TypeError(`OIDC roleMapping names an unknown Veilgate role ${JSON.stringify(role)}`);
  }
  for (const [name, value] of [['roleClaim', config.roleClaim], ['nodeClaim', config.nodeClaim]] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw new TypeError(`OIDC ${name} must be a non-empty string`);
  }
  for (const [name, value] of [['clockToleranceSeconds', config.clockToleranceSeconds], ['jwksCooldownSeconds', config.jwksCooldownSeconds], ['jwksTimeoutSeconds', config.jwksTimeoutSeconds]] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) throw new TypeError(`OIDC ${name} must be a non-negative number`);
  }
}

function jwksUrlOf(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError('OIDC jwksUrl is not a URL');
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  // The JWKS decides which signatures are trusted: it must come over an authenticated channel.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError('OIDC jwksUrl must be https: (http: only on a loopback host)');
  }
  return url;
}

/**
 * Creates a verifier of OIDC bearer tokens: a function from the bearer credential to the
 * identity it proves. Rejects with 401 `unauthorized` when the token is not valid (signature,
 * algorithm, unknown key, issuer, audience, expiry, not-before, missing `sub`, keys
 * unobtainable) and with 403 `forbidden` when it is valid but maps to no Veilgate role, or to
 * operator without a node. Throws a `TypeError` at once for an unsafe or incomplete config.
 *
 * @example
 * const verifyOidc = createOidcVerifier({
 *   issuer: 'https://idp.example.org/realms/health',
 *   audience: 'veilgate',
 *   jwksUrl: 'https://idp.example.org/realms/health/protocol/openid-connect/certs',
 *   roleClaim: 'realm_access.roles',
 *   roleMapping: { 'vg-researcher': 'researcher', 'vg-dac': 'operator', 'vg-admin': 'admin' },
 * });
 * const identity = await verifyOidc(bearer); // { subject, issuer, role, node, name }
 * const accountId = oidcAccountId(identity.issuer, identity.subject);
 */
export function createOidcVerifier(config: OidcConfig): (bearer: string) => Promise<OidcIdentity> {
  checkConfig(config);
  const algorithms = [...(config.algorithms ?? DEFAULT_OIDC_ALGORITHMS)];
  const roleClaim = config.roleClaim ?? 'roles';
  const nodeClaim = config.nodeClaim ?? 'veilgate_node';
  const roleMapping = config.roleMapping;
  const jwks = createRemoteJWKSet(jwksUrlOf(config.jwksUrl), {
    cooldownDuration: Math.round((config.jwksCooldownSeconds ?? 30) * 1000),
    timeoutDuration: Math.round((config.jwksTimeoutSeconds ?? 5) * 1000),
  });
  // Key lookup with fetch failures told apart from "no such kid": jose lets network errors
  // (TypeError: fetch failed) through as they are, and they must not become 500s.
  const keyFor = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    try {
      return await jwks(header, token);
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) throw error;
      throw new IdpKeysUnavailable('JWKS unavailable', { cause: error });
    }
  };

  return async (bearer) => {
    if (!looksLikeJwt(bearer)) throw unauthorized('bearer token is not a well-formed JWT');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(bearer, keyFor, {
        // RFC 8725 §3.1: the allow-list is checked before the key is looked up.
        algorithms,
        // RFC 7519 §4.1.1 / OIDC Core §3.1.3.7 item 2: exact issuer.
        issuer: config.issuer,
        // RFC 7519 §4.1.3 / OIDC Core §3.1.3.7 item 3 / RFC 8725 §3.9: our audience.
        audience: config.audience,
        // RFC 9068 §2.2: exp and sub are required of a JWT access token.
        requiredClaims: ['exp', 'sub'],
        clockTolerance: config.clockToleranceSeconds ?? 30,
        ...(config.requireAccessTokenType ? { typ: 'at+jwt' } : {}),
      }));
    } catch (error) {
      throw fromJoseError(error);
    }
    // Compared and hashed as is (no trimming): " a" and "a" are different subjects.
    const subject = payload.sub;
    if (typeof subject !== 'string' || subject === '') throw unauthorized('bearer token claim "sub" is missing or invalid');

    // Own properties only: a role named "__proto__" or "constructor" maps to nothing.
    const mapped = new Set<Role>();
    for (const name of roleNames(claimAt(payload, roleClaim))) {
      if (Object.hasOwn(roleMapping, name)) mapped.add(roleMapping[name]!);
    }
    const role = ROLE_PRIORITY.find((r) => mapped.has(r));
    if (role === undefined) {
      throw new GatewayError('forbidden', 'the identity provider grants this subject no role that maps to a Veilgate role');
    }
    let node: string | null = null;
    if (role === 'operator') {
      const claimed = claimAt(payload, nodeClaim);
      if (typeof claimed !== 'string' || !NODE_ID_PATTERN.test(claimed)) {
        throw new GatewayError('forbidden', `operator identities need a "${nodeClaim}" claim naming their institution node`);
      }
      node = claimed;
    }
    const name = stringClaim(payload, 'name') ?? stringClaim(payload, 'preferred_username') ?? subject;
    return { subject, issuer: config.issuer, role, node, name };
  };
}
