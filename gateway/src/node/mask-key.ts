/**
 * A node's X25519 key for pairwise masks (spec/protocol.md §10), derived from its Ed25519
 * signing seed with HKDF (RFC 5869) under its own label, so that the two keys are
 * independent (no key reuse across algorithms) and need no extra configuration.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64Url, maskPublicKey, toBase64Url } from '@veilgate/sdk';

const LABEL = new TextEncoder().encode('veilgate/x25519-mask-key/v1');

/**
 * The mask key pair of a node from its signing seed.
 *
 * @example
 * const { secretKey, publicKey } = maskKeyOf(config.signingKey);
 */
export function maskKeyOf(signingSeed: string): { secretKey: Uint8Array; publicKey: string } {
  const secretKey = hkdf(sha256, fromBase64Url(signingSeed), LABEL, LABEL, 32);
  return { secretKey, publicKey: toBase64Url(maskPublicKey(secretKey)) };
}
