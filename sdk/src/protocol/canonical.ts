/**
 * Canonical JSON (RFC 8785, JSON Canonicalization Scheme) and its SHA-256: the one way
 * every party hashes a structured value before signing or logging it. Uses the
 * `canonicalize` package (the reference implementation by the RFC's authors).
 */
import canonicalizeJson from 'canonicalize';
import { sha256Bytes, sha256Hex } from '../internal/bytes.ts';

const encoder = new TextEncoder();

/**
 * RFC 8785 canonical UTF-8 bytes of a JSON value.
 *
 * @example
 * new TextDecoder().decode(canonicalBytes({ b: 1, a: 2 })); // '{"a":2,"b":1}'
 */
export function canonicalBytes(value: unknown): Uint8Array {
  const text = (canonicalizeJson as unknown as (v: unknown) => string | undefined)(value);
  if (text === undefined) throw new TypeError('value has no JSON representation');
  return encoder.encode(text);
}

/**
 * SHA-256 (hex) of the canonical JSON of a value.
 *
 * @example
 * canonicalSha256({ a: 1 }) === canonicalSha256({ a: 1 }); // true
 */
export function canonicalSha256(value: unknown): string {
  return sha256Hex(canonicalBytes(value));
}

/** SHA-256 bytes of the canonical JSON of a value (what Ed25519 signs, protocol.md §6). */
export function canonicalDigest(value: unknown): Uint8Array {
  return sha256Bytes(canonicalBytes(value));
}
