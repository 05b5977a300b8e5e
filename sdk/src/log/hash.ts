/**
 * The RFC 9162 §2.1.1 Merkle tree hashes with SHA-256 (the RFC 6962 shape). The one-byte
 * prefixes domain-separate leaves from interior nodes, so that no leaf can be passed off as
 * a node (a second-preimage attack on the tree, RFC 9162 §2.1.1 last paragraph).
 */
import { backend } from '../internal/crypto-backend.ts';

/** RFC 9162 §2.1.1: MTH({d(0)}) = HASH(0x00 || d(0)). */
export const RFC6962_LEAF_PREFIX = 0x00;
/** RFC 9162 §2.1.1: MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])). */
export const RFC6962_NODE_PREFIX = 0x01;
/** Size in bytes of every hash here (SHA-256). */
export const RFC6962_HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(RFC6962_LEAF_PREFIX);
const NODE_PREFIX = Uint8Array.of(RFC6962_NODE_PREFIX);

/**
 * The leaf hash of an entry: SHA-256(0x00 || entry) (RFC 9162 §2.1.1).
 *
 * @example
 * hashLeaf(new Uint8Array()); // 6e340b9c…a01d, the root of the one-leaf tree {""}
 */
export function hashLeaf(entry: Uint8Array): Uint8Array {
  return backend.sha256(LEAF_PREFIX, entry);
}

/**
 * The hash of an interior node: SHA-256(0x01 || left || right) (RFC 9162 §2.1.1).
 *
 * @example
 * const root = hashChildren(hashLeaf(a), hashLeaf(b)); // the root of the two-leaf tree {a, b}
 */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return backend.sha256(NODE_PREFIX, left, right);
}

/**
 * The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1, MTH({}) = HASH()).
 *
 * @example
 * bytesToHex(emptyRoot()); // 'e3b0c442…b855'
 */
export function emptyRoot(): Uint8Array {
  return backend.sha256(new Uint8Array(0));
}
