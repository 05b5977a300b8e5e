/**
 * X25519 key agreement (RFC 7748 §5, §6.1) for the pairwise masks of `masks.ts`: each node
 * holds one X25519 key pair per query (or per epoch), publishes the public key, and agrees a
 * shared secret with every other participant. Browser-safe: `@noble/curves` and WebCrypto
 * randomness; under Node the shared secret comes from node:crypto (same bytes,
 * `internal/crypto-backend.ts`).
 *
 * Secret keys and shared secrets never appear in an error message.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { backend } from '../internal/crypto-backend.ts';

/** RFC 7748 §5: X25519 scalars, u-coordinates and shared secrets are 32 bytes. */
export const X25519_KEY_BYTES = 32;

/** A node's mask key pair: the 32-byte X25519 secret scalar and its public u-coordinate. */
export interface MaskKeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

function checkKey(key: unknown, what: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== X25519_KEY_BYTES) {
    throw new TypeError(`${what} must be a ${X25519_KEY_BYTES}-byte Uint8Array`);
  }
}

/**
 * A fresh X25519 key pair from the platform CSPRNG (`crypto.getRandomValues`).
 *
 * @example
 * const { secretKey, publicKey } = generateMaskKeyPair();
 * secretKey.length === 32 && publicKey.length === 32; // true
 */
export function generateMaskKeyPair(): MaskKeyPair {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/**
 * The X25519 public key of a secret key: X25519(sk, 9) (RFC 7748 §6.1).
 *
 * @example
 * const { secretKey, publicKey } = generateMaskKeyPair();
 * maskPublicKey(secretKey); // equal bytes to publicKey
 */
export function maskPublicKey(secretKey: Uint8Array): Uint8Array {
  checkKey(secretKey, 'secretKey');
  return x25519.getPublicKey(secretKey);
}

/**
 * The raw X25519 shared secret X25519(sk_self, pk_peer), symmetric in the two parties.
 *
 * RFC 7748 §6.1: a small-order public key forces the all-zero output, which would make the
 * "shared" secret known to everyone; such a key is refused. `@noble/curves` rejects the known
 * low-order u-coordinates before running the ladder and OpenSSL refuses an all-zero result; the
 * all-zero check on the output is kept as the RFC's own test, in case a library changes. The
 * error names neither key. The caller should wipe the returned bytes once it has run them
 * through HKDF-Extract.
 *
 * @example
 * const a = generateMaskKeyPair();
 * const b = generateMaskKeyPair();
 * x25519SharedSecret(a.secretKey, b.publicKey); // same bytes as x25519SharedSecret(b.secretKey, a.publicKey)
 */
export function x25519SharedSecret(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  checkKey(secretKey, 'secretKey');
  checkKey(peerPublicKey, 'peer publicKey');
  let shared: Uint8Array;
  try {
    // RFC 7748 §5 (native under Node, @noble elsewhere: same bytes; both refuse small-order keys).
    shared = backend.x25519(secretKey, peerPublicKey);
  } catch {
    // The library's message is generic, but we do not forward it (or the inputs) anyway.
    throw new Error('X25519: peer public key is of small order (RFC 7748 §6.1); refusing the all-zero shared secret');
  }
  // RFC 7748 §6.1: "check, without leaking extra information about the value of K, whether K is
  // the all-zero value and abort if so" — OR all bytes together, no early exit.
  let acc = 0;
  for (let i = 0; i < shared.length; i++) acc |= shared[i]!;
  if (acc === 0) {
    throw new Error('X25519: peer public key is of small order (RFC 7748 §6.1); refusing the all-zero shared secret');
  }
  return shared;
}
