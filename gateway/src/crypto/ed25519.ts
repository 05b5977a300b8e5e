/**
 * Ed25519 (RFC 8032) signing keys of nodes and of the hub, through @noble/curves — one thin
 * module so that key encoding (32-byte seeds and public keys, base64url) is fixed in one place.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromBase64Url, toBase64Url } from '@veilgate/sdk';

/** A signing key pair, both halves base64url (RFC 4648 §5, no padding). */
export interface SigningKeyPair {
  secretKey: string;
  publicKey: string;
}

/**
 * A fresh Ed25519 key pair from the CSPRNG.
 *
 * @example
 * const { secretKey, publicKey } = generateSigningKey();
 */
export function generateSigningKey(): SigningKeyPair {
  const secret = ed25519.utils.randomSecretKey();
  return { secretKey: toBase64Url(secret), publicKey: toBase64Url(ed25519.getPublicKey(secret)) };
}

/**
 * The public half of a base64url secret key.
 *
 * @example
 * publicKeyOf(pair.secretKey) === pair.publicKey; // true
 */
export function publicKeyOf(secretKey: string): string {
  return toBase64Url(ed25519.getPublicKey(fromBase64Url(secretKey)));
}

/**
 * Signs a message (here always a SHA-256 digest) with a base64url secret key.
 *
 * @example
 * const sig = signMessage(pair.secretKey, digest);
 */
export function signMessage(secretKey: string, message: Uint8Array): string {
  return toBase64Url(ed25519.sign(message, fromBase64Url(secretKey)));
}

/**
 * Verifies a base64url Ed25519 signature; false on any malformed input, never a throw.
 * noble's verify uses the RFC 8032 §5.1.7 checks with ZIP-215 off (strict, non-malleable).
 *
 * @example
 * verifyMessage(pair.publicKey, digest, sig); // true
 */
export function verifyMessage(publicKey: string, message: Uint8Array, signature: string): boolean {
  try {
    return ed25519.verify(fromBase64Url(signature), message, fromBase64Url(publicKey), { zip215: false });
  } catch {
    return false;
  }
}
