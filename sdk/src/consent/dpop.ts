/**
 * DPoP proofs (RFC 9449): with every request the researcher signs a short-lived JWT with their
 * identity key, bound to the HTTP method and URI and to the consent tokens it carries. A
 * consent token is only usable together with a proof by the key its `cnf.jkt` names, so a
 * leaked token is useless without the researcher's private key.
 *
 * One deviation from RFC 9449: a request may carry several consent tokens (one per node), so
 * `ath` hashes all of them, in the order they travel, joined with single spaces (see
 * {@link accessTokenHash}). With one token it is exactly RFC 9449 §4.2 `ath`.
 *
 * Browser-safe: jose over WebCrypto, @noble/hashes for the synchronous SHA-256.
 */
import { SignJWT, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify } from 'jose';
import type { JWK, JWTPayload } from 'jose';
import { sha256Bytes, toBase64Url } from '../internal/bytes.ts';
import type { ConsentClaims } from './consent-token.ts';
import { ConsentError } from './errors.ts';
import { PRIVATE_JWK_MEMBERS, ed25519PrivateJwk, ed25519PublicJwk, jwkThumbprint } from './identity.ts';
import type { Ed25519PrivateJwk, Ed25519PublicJwk } from './identity.ts';

/** The JWS `typ` of a DPoP proof (RFC 9449 §4.2). */
export const DPOP_TYPE = 'dpop+jwt';
/** The only accepted proof algorithm: Ed25519 (RFC 8037 §3.1). */
export const DPOP_ALG = 'EdDSA';
/** Default oldest accepted proof, in seconds since its `iat`. */
export const DEFAULT_DPOP_MAX_AGE_SECONDS = 60;
/** Default skew accepted for an `iat` ahead of the server's clock, in seconds. */
export const DEFAULT_DPOP_FUTURE_SKEW_SECONDS = 5;
/** Longest proof accepted, in characters (a proof with an Ed25519 key is about 500). */
export const MAX_DPOP_PROOF_LENGTH = 4096;
/**
 * Shortest `jti` accepted: RFC 9449 §4.2 asks for at least 96 bits of randomness, 16
 * base64url characters. (A UUID is 36.)
 */
export const MIN_DPOP_JTI_LENGTH = 16;
/** Longest `jti` accepted, so that a replay cache entry stays small. */
export const MAX_DPOP_JTI_LENGTH = 256;

/** What {@link createDpopProof} needs. */
export interface CreateDpopProofInput {
  privateJwk: Ed25519PrivateJwk | JWK;
  publicJwk: Ed25519PublicJwk | JWK;
  /** The HTTP method, e.g. `POST` (RFC 9449 §4.2 `htm`). */
  htm: string;
  /** The request URI; its query and fragment are dropped (RFC 9449 §4.2 `htu`). */
  htu: string;
  /** The consent tokens sent with the request, in the order they are sent. */
  accessTokens: readonly string[];
  /** Seconds since the epoch; defaults to the clock. */
  now?: number;
  /** Proof id; defaults to 16 random bytes, base64url. */
  jti?: string;
  /**
   * Digest of the signed request statement (spec/protocol.md §9.1), carried as the `vg_req`
   * claim: RFC 9449 §4.2 lets a deployment add claims to a proof.
   */
  requestDigest?: string;
}

/** What {@link verifyDpopProof} checks a proof against. */
export interface VerifyDpopProofOptions {
  /** The method of the request the proof came with. */
  htm: string;
  /** The full URI of that request (query and fragment are ignored). */
  htu: string;
  /** The consent tokens that came with the request, in the order they came. */
  accessTokens: readonly string[];
  /** Seconds since the epoch; defaults to the clock. */
  now?: number;
  /** Oldest accepted proof (default 60 s). */
  maxAgeSeconds?: number;
  /** Accepted `iat` ahead of `now` (default 5 s). */
  futureSkewSeconds?: number;
  /**
   * Replay check: true when `jti` was already seen; otherwise records it until `expiresAt`
   * (seconds since the epoch, after which the proof is stale anyway). Called last, only for
   * a proof that passed every other check. See gateway `createReplayCache`.
   */
  seen: (jti: string, expiresAt: number) => boolean | Promise<boolean>;
}

/** A verified proof: the thumbprint of its key, to compare with every token's `cnf.jkt`. */
export interface DpopProofResult {
  jkt: string;
  jti: string;
  iat: number;
  /** The `vg_req` claim (digest of the signed request statement), when the proof has one. */
  requestDigest?: string;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** RFC 6750 §2.1 b64token: what an access token may hold — no space, so the join is unambiguous. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const encoder = new TextEncoder();

function invalid(message: string, field?: string, cause?: unknown): ConsentError {
  return new ConsentError('dpop_invalid', `DPoP proof ${message}`, {
    ...(field === undefined ? {} : { field }),
    ...(cause === undefined ? {} : { cause }),
  });
}

function nowSeconds(now: number | undefined): number {
  const value = now ?? Date.now() / 1000;
  if (!Number.isFinite(value)) throw new TypeError('"now" must be a finite number of seconds');
  return value;
}

/**
 * The `htu` form of a URI: scheme, host, port and path, normalized by the WHATWG URL parser
 * (lowercase scheme and host, default port dropped), without query and fragment
 * (RFC 9449 §4.2, and §4.3 step 9 which asks for RFC 3986 §6.2.2/§6.2.3 normalization).
 * Undefined when it is not an absolute http(s) URI.
 *
 * @example
 * htuOf('HTTPS://Hub.example:443/v1/queries?x=1#f'); // 'https://hub.example/v1/queries'
 */
export function htuOf(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') return undefined;
  return `${url.origin}${url.pathname}`;
}

/**
 * The `ath` of a request's consent tokens: base64url(SHA-256(ASCII(tokens.join(' ')))).
 * DEVIATION from RFC 9449 §4.2, where `ath` hashes the one access token: Veilgate sends one
 * consent token per node, so it hashes all of them in the order they are sent, joined by a
 * single space (tokens hold no spaces, RFC 6750 §2.1). For one token both agree.
 *
 * @example
 * accessTokenHash([tokenA, tokenB]); // 43 base64url characters
 */
export function accessTokenHash(accessTokens: readonly string[]): string {
  if (!Array.isArray(accessTokens) || accessTokens.length === 0) throw new TypeError('at least one access token is needed');
  for (const token of accessTokens) {
    if (typeof token !== 'string' || !B64TOKEN.test(token)) throw new TypeError('an access token must be a non-empty b64token');
  }
  // RFC 9449 §4.2 "ath": base64url of the SHA-256 of the ASCII encoding of the token value(s).
  return toBase64Url(sha256Bytes(encoder.encode(accessTokens.join(' '))));
}

/**
 * Creates the DPoP proof for one request (RFC 9449 §4.2): header
 * `{ typ: 'dpop+jwt', alg: 'EdDSA', jwk: <public key only> }`, claims `{ jti, htm, htu, iat, ath }`.
 * Send it as the `DPoP` header; make a new one for every request.
 *
 * @example
 * const proof = await createDpopProof({
 *   privateJwk: identity.privateJwk, publicJwk: identity.publicJwk,
 *   htm: 'POST', htu: 'https://hub.example/v1/queries', accessTokens: [tokenA, tokenB],
 * });
 * await fetch(url, { method: 'POST', headers: { DPoP: proof, 'Consent-Tokens': `${tokenA} ${tokenB}` } });
 */
export async function createDpopProof(input: CreateDpopProofInput): Promise<string> {
  const privateJwk = ed25519PrivateJwk(input.privateJwk);
  const publicJwk = ed25519PublicJwk(input.publicJwk);
  if (privateJwk.x !== publicJwk.x) throw new TypeError('the private and public JWKs are not one key pair');
  if (typeof input.htm !== 'string' || input.htm === '') throw new TypeError('"htm" must be an HTTP method');
  const htu = htuOf(input.htu);
  if (htu === undefined) throw new TypeError('"htu" must be an absolute http(s) URI');
  const jti = input.jti ?? toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
  if (jti.length < MIN_DPOP_JTI_LENGTH || jti.length > MAX_DPOP_JTI_LENGTH) throw new TypeError('"jti" has the wrong length');
  const claims = {
    jti, // RFC 9449 §4.2: unique per proof, ≥ 96 bits of randomness.
    htm: input.htm,
    htu,
    iat: Math.floor(nowSeconds(input.now)),
    ath: accessTokenHash(input.accessTokens),
    ...(input.requestDigest === undefined ? {} : { vg_req: input.requestDigest }),
  } satisfies JWTPayload;
  return new SignJWT(claims)
    // RFC 9449 §4.2: typ dpop+jwt, an asymmetric alg, and the public key — never `d` (§4.3 step 7).
    .setProtectedHeader({ typ: DPOP_TYPE, alg: DPOP_ALG, jwk: publicJwk })
    .sign(privateJwk);
}

/** One header value, or the reason there is none. RFC 9449 §4.3 step 1: at most one header. */
function singleProof(proof: string | readonly string[] | undefined | null): string {
  if (proof === undefined || proof === null || proof === '' || (Array.isArray(proof) && proof.length === 0)) {
    throw new ConsentError('dpop_missing', 'no DPoP proof with the request');
  }
  if (Array.isArray(proof)) {
    if (proof.length > 1) throw invalid('header appears more than once');
    return singleProof(proof[0]);
  }
  if (typeof proof !== 'string') throw invalid('is not a string');
  return proof;
}

function isStringOfLength(value: unknown, min: number, max: number): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

/** RFC 7515 §4.1.9: "application/" may be left out of a typ, and media types ignore case. */
function sameType(typ: unknown, expected: string): boolean {
  if (typeof typ !== 'string') return false;
  const lower = typ.toLowerCase();
  return (lower.startsWith('application/') ? lower.slice('application/'.length) : lower) === expected;
}

/**
 * Verifies a request's DPoP proof, RFC 9449 §4.3 step by step, and returns the thumbprint of
 * its key. The caller then checks every consent token with {@link checkBinding}.
 * `proof` is the raw header value (an array when the header came more than once).
 *
 * Codes: `dpop_missing` (no proof), `dpop_stale` (`iat` older than `maxAgeSeconds` or more
 * than `futureSkewSeconds` ahead), `dpop_replayed` (`jti` seen before), `dpop_invalid`
 * (everything else, with `field` naming the header parameter or claim).
 *
 * @example
 * const { jkt } = await verifyDpopProof(req.headers['dpop'], {
 *   htm: req.method, htu: `https://hub.example${req.originalUrl}`, accessTokens: tokens,
 *   seen: replayCache,
 * });
 * for (const claims of verifiedTokens) checkBinding(claims, jkt);
 */
export async function verifyDpopProof(
  proof: string | readonly string[] | undefined | null,
  options: VerifyDpopProofOptions,
): Promise<DpopProofResult> {
  const value = singleProof(proof);
  const now = nowSeconds(options.now);
  const maxAge = options.maxAgeSeconds ?? DEFAULT_DPOP_MAX_AGE_SECONDS;
  const skew = options.futureSkewSeconds ?? DEFAULT_DPOP_FUTURE_SKEW_SECONDS;

  // §4.3 step 2: a well-formed JWT (bounded before anything is decoded).
  if (value.length > MAX_DPOP_PROOF_LENGTH || !COMPACT_JWS.test(value)) throw invalid('is not a JWS compact JWT');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(value);
  } catch (error) {
    throw invalid('header is not valid JSON', undefined, error);
  }
  // §4.3 step 4: typ is dpop+jwt.
  if (!sameType(header.typ, DPOP_TYPE)) throw invalid(`"typ" is not ${DPOP_TYPE}`, 'typ');
  // §4.3 step 5: an asymmetric algorithm, not none, one we support — here EdDSA only.
  if (header.alg !== DPOP_ALG) throw invalid('"alg" is not EdDSA', 'alg');
  // §4.3 step 7: the jwk header holds a public key and no private key material.
  const jwk: unknown = header.jwk;
  if (typeof jwk !== 'object' || jwk === null) throw invalid('has no "jwk" header', 'jwk');
  if (PRIVATE_JWK_MEMBERS.some((member) => Object.hasOwn(jwk, member))) throw invalid('"jwk" holds private key material', 'jwk');
  let publicJwk: Ed25519PublicJwk;
  try {
    publicJwk = ed25519PublicJwk(jwk);
  } catch (error) {
    throw invalid('"jwk" is not an Ed25519 public key', 'jwk', error);
  }

  // §4.3 step 6: the signature verifies with the public key in the jwk header.
  let payload: JWTPayload;
  try {
    const key = await importJWK(publicJwk, DPOP_ALG);
    ({ payload } = await jwtVerify(value, key, {
      algorithms: [DPOP_ALG],
      typ: DPOP_TYPE,
      currentDate: new Date(Math.floor(now) * 1000),
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) throw invalid('signature is invalid', 'signature', error);
    throw invalid('does not verify', undefined, error);
  }

  // §4.3 step 3: the required claims, with the right types.
  const { jti, htm, htu, iat, ath, vg_req } = payload;
  if (!isStringOfLength(jti, MIN_DPOP_JTI_LENGTH, MAX_DPOP_JTI_LENGTH)) throw invalid('"jti" is missing or has the wrong length', 'jti');
  if (typeof htm !== 'string') throw invalid('"htm" is missing', 'htm');
  if (typeof htu !== 'string') throw invalid('"htu" is missing', 'htu');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('"iat" is missing', 'iat');
  if (typeof ath !== 'string') throw invalid('"ath" is missing', 'ath');
  if (vg_req !== undefined && (typeof vg_req !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(vg_req))) throw invalid('"vg_req" is not a SHA-256 digest', 'vg_req');

  // §4.3 step 8: htm is the request's method (methods are case-sensitive, RFC 9110 §9.1).
  if (htm !== options.htm) throw invalid('"htm" does not match the request', 'htm');
  // §4.3 step 9: htu is the request's URI, ignoring query and fragment, after normalization.
  const expectedHtu = htuOf(options.htu);
  if (expectedHtu === undefined) throw new TypeError('the request URI given to verifyDpopProof must be absolute http(s)');
  if (htuOf(htu) !== expectedHtu) throw invalid('"htu" does not match the request', 'htu');
  // §4.3 step 11 and §11.1: iat within the acceptable window.
  if (now - iat > maxAge) throw new ConsentError('dpop_stale', 'DPoP proof is too old', { field: 'iat' });
  if (iat - now > skew) throw new ConsentError('dpop_stale', 'DPoP proof is issued in the future', { field: 'iat' });
  // §4.3 step 12: ath is the hash of the access tokens (all of them: see accessTokenHash).
  let expectedAth: string;
  try {
    expectedAth = accessTokenHash(options.accessTokens);
  } catch (error) {
    throw invalid('comes without a well-formed access token to bind', 'ath', error);
  }
  if (ath !== expectedAth) throw invalid('"ath" does not match the access tokens', 'ath');

  // §11.1: a jti is accepted once within the window; recorded only for an otherwise valid proof.
  if (await options.seen(jti, iat + maxAge)) throw new ConsentError('dpop_replayed', 'DPoP proof was already used', { field: 'jti' });

  return { jkt: await jwkThumbprint(publicJwk), jti, iat, ...(typeof vg_req === 'string' ? { requestDigest: vg_req } : {}) };
}

/**
 * Throws `token_binding_invalid` unless a consent token is bound to the DPoP proof's key:
 * its `cnf.jkt` (RFC 7800 §3.1) equals the proof key's thumbprint (RFC 9449 §6.1, §7.1).
 *
 * @example
 * const { jkt } = await verifyDpopProof(proof, options);
 * for (const claims of tokens) checkBinding(claims, jkt);
 */
export function checkBinding(claims: Pick<ConsentClaims, 'cnf'>, jkt: string): void {
  if (typeof jkt !== 'string' || jkt === '' || claims.cnf?.jkt !== jkt) {
    throw new ConsentError('token_binding_invalid', 'consent token is not bound to the DPoP proof key', { field: 'cnf.jkt' });
  }
}
