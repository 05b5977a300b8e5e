/**
 * A node's X25519 key for pairwise masks (spec/protocol.md §10), derived from its Ed25519
 * signing seed with HKDF (RFC 5869) under its own label, so that the two keys are
 * independent (no key reuse across algorithms) and need no extra configuration.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { canonicalDigest, fromBase64Url, maskPublicKey, toBase64Url } from '@veilgate/sdk';

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

/**
 * What a node signs about its mask key (protocol.md §10): SHA-256 of the RFC 8785 canonical
 * JSON `{v: 1, type: "veilgate-mask-key", node, maskKey}`. Peers verify the signature under
 * the signing key they pinned for that node, so a hub cannot slip in a mask key of its own
 * (it would then hold the pairwise secret and could strip that pair's mask).
 *
 * @example
 * const signature = signMessage(seed, maskKeyDigest('hosp-a', maskKeyOf(seed).publicKey));
 */
export function maskKeyDigest(node: string, maskKey: string): Uint8Array {
  return canonicalDigest({ v: 1, type: 'veilgate-mask-key', node, maskKey });
}
