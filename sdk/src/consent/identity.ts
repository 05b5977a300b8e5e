/**
 * A researcher's identity key: an Ed25519 key pair (RFC 8032) as JWKs (RFC 8037 §2) whose
 * RFC 7638 thumbprint is what a node writes into a consent token's `cnf.jkt` (RFC 9449 §6.1),
 * and whose private half signs the DPoP proof of every request (RFC 9449 §4.2).
 *
 * Browser-safe: WebCrypto through jose, and the SDK's Ed25519 (`internal/crypto-backend.ts`:
 * node:crypto under Node, @noble/curves in browsers) to check that an imported private
 * key matches its public key.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import { fromBase64Url, toBase64Url } from '../internal/bytes.ts';
import { backend } from '../internal/crypto-backend.ts';

/** An Ed25519 public JWK reduced to its RFC 8037 §2 members. */
export interface Ed25519PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  /** The 32-byte public key, base64url without padding. */
  x: string;
}

/** An Ed25519 private JWK: the public members and `d`, the 32-byte RFC 8032 seed. */
export interface Ed25519PrivateJwk extends Ed25519PublicJwk {
  d: string;
}

/** A researcher's identity: both halves and the RFC 7638 thumbprint of the public one. */
export interface IdentityKey {
  publicJwk: Ed25519PublicJwk;
  privateJwk: Ed25519PrivateJwk;
  /** RFC 7638 SHA-256 thumbprint of `publicJwk`, base64url: the value of `cnf.jkt`. */
  jkt: string;
}

/** JWK members that hold private key material, for any key type (RFC 7518 §6, RFC 8037 §2). */
export const PRIVATE_JWK_MEMBERS: readonly string[] = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];

const IDENTITY_FILE_VERSION = 1;
const IDENTITY_FILE_TYPE = 'veilgate-identity';

function isBase64Url32(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== 43) return false;
  try {
    return fromBase64Url(value).length === 32;
  } catch {
    return false;
  }
}

/**
 * The RFC 8037 §2 public members of an Ed25519 JWK (public or private), checked; drops
 * `d`, `kid`, `alg`, `use` and anything else. Throws a TypeError naming no key material.
 *
 * @example
 * const pub = ed25519PublicJwk({ kty: 'OKP', crv: 'Ed25519', x, d, kid }); // { kty, crv, x }
 */
export function ed25519PublicJwk(jwk: unknown): Ed25519PublicJwk {
  if (typeof jwk !== 'object' || jwk === null) throw new TypeError('an Ed25519 JWK must be an object');
  const { kty, crv, x } = jwk as Record<string, unknown>;
  // RFC 8037 §2: "kty" is "OKP", "crv" names the subtype, "x" is the public key.
  if (kty !== 'OKP' || crv !== 'Ed25519') throw new TypeError('not an Ed25519 JWK (kty OKP, crv Ed25519)');
  if (!isBase64Url32(x)) throw new TypeError('an Ed25519 JWK "x" must be 32 bytes base64url');
  return { kty: 'OKP', crv: 'Ed25519', x };
}

/**
 * The private members of an Ed25519 JWK, checked: `d` must be a 32-byte seed whose public
 * key is `x` (RFC 8032 §5.1.5). Throws a TypeError naming no key material.
 *
 * @example
 * const priv = ed25519PrivateJwk(JSON.parse(file).privateJwk);
 */
export function ed25519PrivateJwk(jwk: unknown): Ed25519PrivateJwk {
  const pub = ed25519PublicJwk(jwk);
  const { d } = jwk as Record<string, unknown>;
  if (!isBase64Url32(d)) throw new TypeError('an Ed25519 private JWK "d" must be 32 bytes base64url');
  // RFC 8032 §5.1.5 (native under Node, @noble elsewhere: same bytes).
  if (toBase64Url(backend.ed25519PublicKey(fromBase64Url(d))) !== pub.x) {
    throw new TypeError('the Ed25519 private JWK "d" does not match its "x"');
  }
  return { ...pub, d };
}

/**
 * The RFC 7638 JWK thumbprint of an Ed25519 key: SHA-256 over the canonical JSON of its
 * required members in lexicographic order, `{"crv":"Ed25519","kty":"OKP","x":"…"}`
 * (RFC 7638 §3.2, members per RFC 8037 §2), base64url without padding (RFC 7638 §3.1).
 * A private JWK gives the same thumbprint as its public half.
 *
 * @example
 * const jkt = await jwkThumbprint(identity.publicJwk); // 43 characters
 */
export async function jwkThumbprint(publicJwk: JWK | Ed25519PublicJwk): Promise<string> {
  return calculateJwkThumbprint(ed25519PublicJwk(publicJwk), 'sha256');
}

/**
 * A fresh identity key from the platform CSPRNG (WebCrypto Ed25519, extractable so that it
 * can be saved with {@link exportIdentity}).
 *
 * @example
 * const identity = await generateIdentityKey();
 * await hub.registerIdentity({ jwk: identity.publicJwk }); // the nodes bind tokens to identity.jkt
 */
export async function generateIdentityKey(): Promise<IdentityKey> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const privateJwk = ed25519PrivateJwk(await exportJWK(privateKey));
  const publicJwk = ed25519PublicJwk(privateJwk);
  return { publicJwk, privateJwk, jkt: await jwkThumbprint(publicJwk) };
}

/**
 * Serializes an identity for storage: `{"v":1,"type":"veilgate-identity","jkt",…,"publicJwk","privateJwk"}`.
 * The result holds the private key: store it like a password (mode 0600, or IndexedDB).
 *
 * @example
 * await writeFile('identity.json', exportIdentity(identity), { mode: 0o600 });
 */
export function exportIdentity(identity: IdentityKey): string {
  const privateJwk = ed25519PrivateJwk(identity.privateJwk);
  return JSON.stringify({
    v: IDENTITY_FILE_VERSION,
    type: IDENTITY_FILE_TYPE,
    jkt: identity.jkt,
    publicJwk: ed25519PublicJwk(privateJwk),
    privateJwk,
  });
}

/**
 * Parses what {@link exportIdentity} wrote, checking that the private key matches the public
 * key and recomputing the thumbprint (a stored `jkt` that differs is refused).
 *
 * @example
 * const identity = await importIdentity(await readFile('identity.json', 'utf8'));
 */
export async function importIdentity(text: string): Promise<IdentityKey> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TypeError('an identity file must be JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new TypeError('an identity file must be a JSON object');
  const file = parsed as Record<string, unknown>;
  if (file.v !== IDENTITY_FILE_VERSION || file.type !== IDENTITY_FILE_TYPE) {
    throw new TypeError(`not a version ${IDENTITY_FILE_VERSION} ${IDENTITY_FILE_TYPE} file`);
  }
  const privateJwk = ed25519PrivateJwk(file.privateJwk);
  const publicJwk = ed25519PublicJwk(file.publicJwk);
  if (publicJwk.x !== privateJwk.x) throw new TypeError('the identity file\'s public and private keys differ');
  const jkt = await jwkThumbprint(publicJwk);
  if (file.jkt !== undefined && file.jkt !== jkt) throw new TypeError('the identity file\'s "jkt" is not its key\'s thumbprint');
  return { publicJwk, privateJwk, jkt };
}
