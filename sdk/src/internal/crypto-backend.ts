/**
 * The SDK's hot primitives — SHA-256, Ed25519 (RFC 8032), X25519 (RFC 7748) and base64
 * (RFC 4648 §4) — with two implementations that give the same bytes:
 *
 * - `nobleBackend`: pure JS (@noble, @scure), everywhere (browsers);
 * - `nodeBackend` (`node-crypto.ts`): Node's own crypto (OpenSSL) and Buffer, 5–20× faster,
 *   used when the SDK runs under Node and it passes a known-answer self-test at load. It is
 *   reached with `process.getBuiltinModule`, not an import, so a browser bundle never
 *   references node:crypto and simply keeps the noble code.
 *
 * The public API stays synchronous, so browsers keep noble here: WebCrypto's Ed25519 is async.
 * `backend` is the one the SDK uses. `crypto-backend.test.ts` checks that both give identical
 * bytes on known-answer vectors and random inputs, and that the native Ed25519 verifier
 * accepts nothing that noble's strict mode (`zip215: false`) rejects (OpenSSL checks the
 * cofactorless equation of RFC 8032 §5.1.7, so a few mixed-order signatures that no RFC 8032
 * signer produces verify only under noble).
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64 } from '@scure/base';
import { loadNodeBackend } from './node-crypto.ts';

/** The primitives; every input and output is a plain Uint8Array (never a Buffer). */
export interface CryptoBackend {
  name: 'node' | 'noble';
  /** SHA-256 of the concatenation of `parts` (FIPS 180-4). */
  sha256(...parts: Uint8Array[]): Uint8Array;
  /** RFC 8032 §5.1.5: the public key of a 32-byte seed. */
  ed25519PublicKey(seed: Uint8Array): Uint8Array;
  /** RFC 8032 §5.1.6: the 64-byte signature of `message` by a 32-byte seed. */
  ed25519Sign(message: Uint8Array, seed: Uint8Array): Uint8Array;
  /**
   * RFC 8032 §5.1.7, strict: S < L, canonical encodings (no ZIP-215 leniency). False for any
   * malformed input, never a throw.
   */
  ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /** RFC 7748 §5/§6.1: X25519(k, u), 32 bytes; throws when the result would be all zero. */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  /** RFC 4648 §4 base64 with padding. */
  base64Encode(bytes: Uint8Array): string;
  /** Strict: only the canonical RFC 4648 §4 encoding (alphabet, padding, zero pad bits); throws otherwise. */
  base64Decode(text: string): Uint8Array;
}

/** The pure-JS implementation (browsers, and the reference in tests). */
export const nobleBackend: CryptoBackend = {
  name: 'noble',
  sha256(...parts) {
    if (parts.length === 1) return sha256(parts[0]!);
    const h = sha256.create();
    for (const p of parts) h.update(p);
    return h.digest();
  },
  ed25519PublicKey: (seed) => ed25519.getPublicKey(seed),
  ed25519Sign: (message, seed) => ed25519.sign(message, seed),
  ed25519Verify(signature, message, publicKey) {
    try {
      return signature.length === 64 && ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
  x25519: (secretKey, publicKey) => x25519.getSharedSecret(secretKey, publicKey),
  base64Encode: (bytes) => base64.encode(bytes),
  base64Decode: (text) => base64.decode(text),
};

/** Node's crypto when available (undefined in browsers). */
export const nodeBackend: CryptoBackend | undefined = loadNodeBackend();

/** What the SDK uses: native under Node, noble elsewhere. */
export const backend: CryptoBackend = nodeBackend ?? nobleBackend;
