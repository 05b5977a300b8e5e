/**
 * Ed25519 (RFC 8032) signing keys of nodes and of the hub — one thin module so that key
 * encoding (32-byte seeds and public keys, base64url) is fixed in one place. The servers use
 * node:crypto (OpenSSL): 15–35× faster than the pure-JS implementation the SDK uses in
 * browsers, and just as strict — it rejects non-canonical S (RFC 8032 §5.1.7 step 1), so
 * signatures are not malleable. Keys are imported once and cached.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { fromBase64Url, toBase64Url } from '@veilgate/sdk';

/** A signing key pair, both halves base64url (RFC 4648 §5, no padding). */
export interface SigningKeyPair {
  secretKey: string;
  publicKey: string;
}

// RFC 8410 §7 / §10.3: DER prefixes of a PKCS#8 Ed25519 private key and of an SPKI public key.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

const privateKeys = new Map<string, KeyObject>();
const publicKeys = new Map<string, KeyObject>();

function remember<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    if (cache.size > 1024) cache.delete(cache.keys().next().value!);
    cache.set(key, value);
  }
  return value;
}

function privateKeyOf(secretKey: string): KeyObject {
  return remember(privateKeys, secretKey, () => {
    const seed = fromBase64Url(secretKey);
    if (seed.length !== 32) throw new RangeError('an Ed25519 secret key is a 32-byte seed');
    return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  });
}

function publicKeyObject(publicKey: string): KeyObject {
  return remember(publicKeys, publicKey, () => {
    const raw = fromBase64Url(publicKey);
    if (raw.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes');
    return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  });
}

/**
 * A fresh Ed25519 key pair from the CSPRNG.
 *
 * @example
 * const { secretKey, publicKey } = generateSigningKey();
 */
export function generateSigningKey(): SigningKeyPair {
  const secretKey = toBase64Url(randomBytes(32));
  return { secretKey, publicKey: publicKeyOf(secretKey) };
}

/**
 * The public half of a base64url secret key.
 *
 * @example
 * publicKeyOf(pair.secretKey) === pair.publicKey; // true
 */
export function publicKeyOf(secretKey: string): string {
  const spki = createPublicKey(privateKeyOf(secretKey)).export({ format: 'der', type: 'spki' });
  return toBase64Url(new Uint8Array(spki.subarray(SPKI_PREFIX.length)));
}

/**
 * Signs a message (here always a SHA-256 digest) with a base64url secret key.
 *
 * @example
 * const sig = signMessage(pair.secretKey, digest);
 */
export function signMessage(secretKey: string, message: Uint8Array): string {
  return toBase64Url(new Uint8Array(sign(null, message, privateKeyOf(secretKey))));
}

/**
 * Verifies a base64url Ed25519 signature; false on any malformed input, never a throw.
 *
 * @example
 * verifyMessage(pair.publicKey, digest, sig); // true
 */
export function verifyMessage(publicKey: string, message: Uint8Array, signature: string): boolean {
  try {
    const sig = fromBase64Url(signature);
    if (sig.length !== 64) return false;
    return verify(null, message, publicKeyObject(publicKey), sig);
  } catch {
    return false;
  }
}
