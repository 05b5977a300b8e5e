/**
 * A reference, in-memory Merkle tree: the recursive definitions of RFC 9162 §2.1.1 (tree
 * hash), §2.1.3.1 (inclusion path) and §2.1.4.1 (consistency proof), written as the RFC
 * writes them. It recomputes subtree hashes on every call (O(n) hashes per proof), which is
 * right for tests, tooling and small trees, and the wrong choice for a production log.
 *
 * Every function takes the leaf hashes (see `hashLeaf`), not the entries.
 */
import { emptyRoot, hashChildren } from './hash.ts';

/** The largest power of two strictly smaller than n, for n ≥ 2 (RFC 9162 §2.1.1 "k"). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[lo:hi]) for a non-empty range (RFC 9162 §2.1.1). */
function subtreeHash(leaves: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  // RFC 9162 §2.1.1: the hash of a one-leaf list is that leaf's hash.
  if (n === 1) return leaves[lo]!;
  const k = splitPoint(n);
  // RFC 9162 §2.1.1: MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
  return hashChildren(subtreeHash(leaves, lo, lo + k), subtreeHash(leaves, lo + k, hi));
}

function checkLeaves(leafHashes: readonly Uint8Array[]): void {
  if (!Array.isArray(leafHashes) || !leafHashes.every((h) => h instanceof Uint8Array)) {
    throw new TypeError('leafHashes must be an array of Uint8Array');
  }
}

/**
 * The root hash MTH of a list of leaf hashes (RFC 9162 §2.1.1); the empty list has
 * `emptyRoot()`.
 *
 * @example
 * const root = rootOf(entries.map(hashLeaf));
 */
export function rootOf(leafHashes: readonly Uint8Array[]): Uint8Array {
  checkLeaves(leafHashes);
  // RFC 9162 §2.1.1: MTH({}) = HASH().
  if (leafHashes.length === 0) return emptyRoot();
  return subtreeHash(leafHashes, 0, leafHashes.length);
}

/** PATH(m, D[lo:hi]) of RFC 9162 §2.1.3.1, ordered from the leaf up. */
function path(leaves: readonly Uint8Array[], m: number, lo: number, hi: number): Uint8Array[] {
  const n = hi - lo;
  // RFC 9162 §2.1.3.1: PATH(0, {d(0)}) = {}.
  if (n === 1) return [];
  const k = splitPoint(n);
  // RFC 9162 §2.1.3.1: m < k → PATH(m, D[0:k]) : MTH(D[k:n]).
  if (m < k) return [...path(leaves, m, lo, lo + k), subtreeHash(leaves, lo + k, hi)];
  // RFC 9162 §2.1.3.1: m ≥ k → PATH(m - k, D[k:n]) : MTH(D[0:k]).
  return [...path(leaves, m - k, lo + k, hi), subtreeHash(leaves, lo, lo + k)];
}

/**
 * The inclusion proof (audit path) of the leaf at `index` in the tree of all `leafHashes`
 * (RFC 9162 §2.1.3.1). Throws RangeError unless 0 ≤ index < leafHashes.length.
 *
 * @example
 * const proof = inclusionProof(leaves, 3);
 * verifyInclusion({ leafHash: leaves[3]!, index: 3, treeSize: leaves.length, proof, root: rootOf(leaves) });
 */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number): Uint8Array[] {
  checkLeaves(leafHashes);
  if (!Number.isSafeInteger(index) || index < 0 || index >= leafHashes.length) {
    throw new RangeError(`index ${index} is outside the tree of size ${leafHashes.length}`);
  }
  return path(leafHashes, index, 0, leafHashes.length);
}

/** SUBPROOF(m, D[lo:hi], b) of RFC 9162 §2.1.4.1. */
function subproof(leaves: readonly Uint8Array[], m: number, lo: number, hi: number, complete: boolean): Uint8Array[] {
  const n = hi - lo;
  if (m === n) {
    // RFC 9162 §2.1.4.1: SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}.
    return complete ? [] : [subtreeHash(leaves, lo, hi)];
  }
  const k = splitPoint(n);
  // RFC 9162 §2.1.4.1: m ≤ k → SUBPROOF(m, D[0:k], b) : MTH(D[k:n]).
  if (m <= k) return [...subproof(leaves, m, lo, lo + k, complete), subtreeHash(leaves, lo + k, hi)];
  // RFC 9162 §2.1.4.1: m > k → SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]).
  return [...subproof(leaves, m - k, lo + k, hi, false), subtreeHash(leaves, lo, lo + k)];
}

/**
 * The consistency proof from the tree of the first `size1` leaves to the tree of all
 * `leafHashes` (RFC 9162 §2.1.4.1, PROOF(m, D[n]) = SUBPROOF(m, D[n], true)). The RFC defines
 * it for 0 < m < n; for m = n, and for m = 0 (where there is nothing to prove), it is empty.
 * Throws RangeError unless 0 ≤ size1 ≤ leafHashes.length.
 *
 * @example
 * const proof = consistencyProof(leaves, 5);
 * verifyConsistency({ size1: 5, size2: leaves.length, root1: rootOf(leaves.slice(0, 5)), root2: rootOf(leaves), proof });
 */
export function consistencyProof(leafHashes: readonly Uint8Array[], size1: number): Uint8Array[] {
  checkLeaves(leafHashes);
  const n = leafHashes.length;
  if (!Number.isSafeInteger(size1) || size1 < 0 || size1 > n) {
    throw new RangeError(`size1 ${size1} is outside 0..${n}`);
  }
  if (size1 === 0 || size1 === n) return [];
  return subproof(leafHashes, size1, 0, n, true);
}
