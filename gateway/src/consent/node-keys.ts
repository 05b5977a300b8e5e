/**
 * A node's consent-token signing keys, with rotation. Each key is Ed25519 (RFC 8032) as a JWK
 * (RFC 8037 §2) whose `kid` is its RFC 7638 thumbprint. The newest active key signs; `rotate()`
 * retires it and adds a fresh one. A retired key stays published in the node's JWKS (RFC 7517
 * §5) until every token it signed could have expired — `retiredAt + maxTokenLifetimeSeconds +
 * clockToleranceSeconds` — so rotation never invalidates a token early. The node must
 * therefore never sign a token longer than `maxTokenLifetimeSeconds` (see that accessor).
 *
 * The first key may come from the node's existing Ed25519 signing key (32-byte seed,
 * base64url): {@link fromSeed} (a key set) or {@link keyFromSeed} (one stored key).
 */
import { createHash, randomBytes } from 'node:crypto';
import { fromBase64Url, toBase64Url } from '@veilgate/sdk';
import { publicKeyOf } from '../crypto/ed25519.ts';

/** A published key: RFC 8037 §2 members plus `kid`, `alg` and `use` (RFC 7517 §4). */
export interface NodePublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

/** The private half: the RFC 8037 §2 members and `d`, the 32-byte RFC 8032 seed. */
export interface NodePrivateJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  d: string;
}

/** A key as persisted. Times are seconds since the epoch. */
export interface StoredKey {
  /** RFC 7638 thumbprint of the public key. */
  kid: string;
  privateJwk: NodePrivateJwk;
  publicJwk: NodePublicJwk;
  createdAt: number;
  /** Set when a newer key took over; the key then verifies but no longer signs. */
  retiredAt?: number;
}

/** Options of a key set. */
export interface NodeKeySetOptions {
  /** Current time in seconds since the epoch; defaults to the clock. */
  now?: () => number;
  /** The longest consent token the node signs (default 90 days). */
  maxTokenLifetimeSeconds?: number;
  /** Clock skew verifiers accept on `exp` (default 30 s, as verifyConsentToken). */
  clockToleranceSeconds?: number;
}

/** The persisted form: every key, private halves included. */
export interface NodeKeySetJson {
  keys: StoredKey[];
}

/** A node's signing keys. */
export interface NodeKeySet {
  /** The newest active key: the one that signs. */
  current(): StoredKey;
  /** `{ kid, privateKey }` of the current key, as `signConsentToken` takes it. */
  signingKey(): { kid: string; privateKey: NodePrivateJwk };
  /** Retires the current key and makes a fresh one current; returns the new key. */
  rotate(): StoredKey;
  /** The public keys verifiers must know: active keys and retired ones still in their grace time. */
  jwks(): { keys: NodePublicJwk[] };
  /** The published public key of `kid`, or undefined (unknown, or retired past its grace time). */
  lookup(kid: string): NodePublicJwk | undefined;
  /** Drops retired keys past their grace time; returns them. */
  prune(): StoredKey[];
  /** The longest token lifetime this set's grace time covers. */
  readonly maxTokenLifetimeSeconds: number;
  /** Everything to persist — INCLUDING THE PRIVATE KEYS: store it like a secret, never log it. */
  toJSON(): NodeKeySetJson;
}

/** Default longest consent-token lifetime covered by a retired key's grace time: 90 days. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 90 * 86_400;
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
const encoder = new TextEncoder();

function isKeyBytes(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== 43) return false;
  try {
    return fromBase64Url(value).length === 32;
  } catch {
    return false;
  }
}

/**
 * The RFC 7638 thumbprint of an Ed25519 public key (base64url): SHA-256 over the required
 * members in lexicographic order without whitespace, `{"crv":"Ed25519","kty":"OKP","x":"…"}`
 * (RFC 7638 §3.2, RFC 8037 §2), base64url without padding (RFC 7638 §3.1). Synchronous; the
 * SDK's `jwkThumbprint` computes the same through jose.
 *
 * @example
 * ed25519Thumbprint('11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo'); // 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k' (RFC 8037 §A.3)
 */
export function ed25519Thumbprint(x: string): string {
  if (!isKeyBytes(x)) throw new TypeError('an Ed25519 public key must be 32 bytes base64url');
  // x is base64url, so it needs no JSON escaping; the string is the exact RFC 7638 §3.3 input.
  return toBase64Url(createHash('sha256').update(encoder.encode(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`)).digest());
}

/**
 * A stored key from a 32-byte Ed25519 seed (base64url), e.g. the node's existing signing key:
 * `d` = the seed, `x` = its public key, `kid` = the thumbprint. Deterministic but for
 * `createdAt` (default: now, seconds since the epoch).
 *
 * @example
 * const keys = createNodeKeySet({ keys: [keyFromSeed(config.node.secretKey)] });
 */
export function keyFromSeed(seedBase64url: string, createdAt: number = Math.floor(Date.now() / 1000)): StoredKey {
  if (!isKeyBytes(seedBase64url)) throw new TypeError('an Ed25519 seed must be 32 bytes base64url');
  // RFC 8032 §5.1.5: the public key is derived from the seed; RFC 8037 §2: d = seed, x = public key.
  const x = publicKeyOf(seedBase64url);
  const kid = ed25519Thumbprint(x);
  return {
    kid,
    privateJwk: { kty: 'OKP', crv: 'Ed25519', x, d: seedBase64url },
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' },
    createdAt,
  };
}

/** A fresh key from the CSPRNG. */
function freshKey(createdAt: number): StoredKey {
  return keyFromSeed(toBase64Url(randomBytes(32)), createdAt);
}

/** Checks a persisted key (the message names its index, never key material) and copies it. */
function loadKey(value: unknown, index: number): StoredKey {
  const bad = (what: string): TypeError => new TypeError(`stored signing key ${index}: ${what}`);
  if (typeof value !== 'object' || value === null) throw bad('not an object');
  const { kid, privateJwk, publicJwk, createdAt, retiredAt } = value as Record<string, unknown>;
  if (typeof privateJwk !== 'object' || privateJwk === null) throw bad('no private JWK');
  const { kty, crv, d } = privateJwk as Record<string, unknown>;
  if (kty !== 'OKP' || crv !== 'Ed25519' || !isKeyBytes(d)) throw bad('not an Ed25519 private JWK');
  if (typeof createdAt !== 'number' || !Number.isFinite(createdAt)) throw bad('"createdAt" is not a time');
  if (retiredAt !== undefined && (typeof retiredAt !== 'number' || !Number.isFinite(retiredAt))) throw bad('"retiredAt" is not a time');
  const key = keyFromSeed(d, createdAt);
  if (kid !== key.kid) throw bad('"kid" is not the thumbprint of its key');
  const stored = publicJwk as Record<string, unknown> | null;
  if (stored?.x !== key.publicJwk.x || (privateJwk as Record<string, unknown>).x !== key.privateJwk.x) {
    throw bad('the public key does not match the private key');
  }
  return retiredAt === undefined ? key : { ...key, retiredAt };
}

function copyKey(key: StoredKey): StoredKey {
  return {
    ...key,
    privateJwk: { ...key.privateJwk },
    publicJwk: { ...key.publicJwk },
  };
}

/**
 * A key set from persisted keys, or a fresh one. When no loaded key is active, a new one is
 * made (check `toJSON()` after creating, to persist it).
 *
 * @example
 * const keys = createNodeKeySet(await store.load('consent-keys'));
 * const token = await signConsentToken(input, keys.signingKey());
 * app.get('/.well-known/jwks.json', (_req, res) => res.json(keys.jwks()));
 * // verifier side: verifyConsentToken(token, { keys: (kid) => keys.lookup(kid), … })
 */
export function createNodeKeySet(initial?: NodeKeySetJson, options: NodeKeySetOptions = {}): NodeKeySet {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const maxTokenLifetimeSeconds = options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!Number.isFinite(maxTokenLifetimeSeconds) || maxTokenLifetimeSeconds <= 0) throw new TypeError('"maxTokenLifetimeSeconds" must be positive');
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new TypeError('"clockToleranceSeconds" must be ≥ 0');

  const loaded = initial?.keys;
  if (loaded !== undefined && !Array.isArray(loaded)) throw new TypeError('stored signing keys must be an array');
  const keys: StoredKey[] = (loaded ?? []).map(loadKey);
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) throw new TypeError('stored signing keys hold the same key twice');

  /** A retired key verifies until every token it signed has expired, skew included. */
  const published = (key: StoredKey, at: number): boolean =>
    key.retiredAt === undefined || at < key.retiredAt + maxTokenLifetimeSeconds + tolerance;

  const currentKey = (): StoredKey | undefined => {
    let newest: StoredKey | undefined;
    for (const key of keys) {
      if (key.retiredAt === undefined && (newest === undefined || key.createdAt >= newest.createdAt)) newest = key;
    }
    return newest;
  };

  if (currentKey() === undefined) keys.push(freshKey(now()));

  const set: NodeKeySet = {
    maxTokenLifetimeSeconds,
    current() {
      const key = currentKey();
      if (key === undefined) throw new Error('no active signing key'); // unreachable: one is always kept
      return copyKey(key);
    },
    signingKey() {
      const key = set.current();
      return { kid: key.kid, privateKey: key.privateJwk };
    },
    rotate() {
      const at = now();
      for (const key of keys) if (key.retiredAt === undefined) key.retiredAt = at;
      const fresh = freshKey(at);
      keys.push(fresh);
      return copyKey(fresh);
    },
    jwks() {
      const at = now();
      return { keys: keys.filter((key) => published(key, at)).map((key) => ({ ...key.publicJwk })) };
    },
    lookup(kid) {
      const key = keys.find((k) => k.kid === kid);
      return key !== undefined && published(key, now()) ? { ...key.publicJwk } : undefined;
    },
    prune() {
      const at = now();
      const dropped = keys.filter((key) => !published(key, at));
      const kept = keys.filter((key) => published(key, at));
      keys.splice(0, keys.length, ...kept);
      return dropped.map(copyKey);
    },
    toJSON() {
      return { keys: keys.map(copyKey) };
    },
  };
  return set;
}

/**
 * A key set whose first key is the node's existing Ed25519 signing key (32-byte seed,
 * base64url), so the first consent-token `kid` is the thumbprint of the key the node already
 * has. Persist `toJSON()` after creating it; later, load with {@link createNodeKeySet}.
 *
 * @example
 * const keys = fromSeed(config.node.signingKey.secretKey);
 * state.saveKeys(JSON.stringify(keys.toJSON()));
 */
export function fromSeed(seedBase64url: string, options: NodeKeySetOptions = {}): NodeKeySet {
  const createdAt = (options.now ?? (() => Math.floor(Date.now() / 1000)))();
  return createNodeKeySet({ keys: [keyFromSeed(seedBase64url, createdAt)] }, options);
}
