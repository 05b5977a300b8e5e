/**
 * Verification of Merkle inclusion and consistency proofs: the iterative algorithms of
 * RFC 9162 §2.1.3.2 and §2.1.4.2, for a client that holds only a root hash and a proof.
 *
 * Every input here is attacker-controlled (a log or a mirror sends it), so the proof's shape
 * is checked before a single hash is computed: sizes are uint64, index < size, each hash is
 * 32 bytes, and the proof has exactly the length that the sizes imply (at most 64; the length
 * rule is transparency-dev/merkle `proof/verify.go` `decompInclProof`). Digests are compared
 * in constant time. Failures throw `LogVerificationError` carrying the evidence.
 */
import { equalBytes } from '../internal/bytes.ts';
import { LogVerificationError, hexOf, hexProof } from './errors.ts';
import type { LogEvidence } from './errors.ts';
import { RFC6962_HASH_SIZE, emptyRoot, hashChildren } from './hash.ts';
import { MAX_PROOF_HASHES, consistencyProofLength, inclusionProofLength, toUint64 } from './tree-math.ts';

/** An inclusion proof for a leaf, without the root it should lead to. */
export interface InclusionProofInput {
  /** The leaf hash, SHA-256(0x00 || entry) (see `hashLeaf`). */
  leafHash: Uint8Array;
  /** The leaf's 0-based index. */
  index: number | bigint;
  /** The size of the tree the proof is for. */
  treeSize: number | bigint;
  /** The audit path, from the leaf up (RFC 9162 §2.1.3.1). */
  proof: readonly Uint8Array[];
}

/** An inclusion proof and the root it must lead to. */
export interface InclusionCheck extends InclusionProofInput {
  root: Uint8Array;
}

/** A consistency proof between two tree heads (RFC 9162 §2.1.4). */
export interface ConsistencyCheck {
  size1: number | bigint;
  size2: number | bigint;
  root1: Uint8Array;
  root2: Uint8Array;
  proof: readonly Uint8Array[];
}

function malformed(message: string, evidence: LogEvidence = {}): LogVerificationError {
  return new LogVerificationError('proof_malformed', message, evidence);
}

/** Checks that a proof is an array of at most 64 hashes of 32 bytes each. */
function checkProofHashes(proof: unknown): asserts proof is readonly Uint8Array[] {
  if (!Array.isArray(proof)) throw malformed('proof must be an array of hashes');
  // A tree of at most 2^64 leaves never needs more: refuse before looking at the elements.
  if (proof.length > MAX_PROOF_HASHES) throw malformed(`proof has ${proof.length} hashes, more than ${MAX_PROOF_HASHES}`);
  for (const h of proof) {
    if (!(h instanceof Uint8Array) || h.length !== RFC6962_HASH_SIZE) throw malformed('every proof hash must be 32 bytes');
  }
}

function isHash(h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === RFC6962_HASH_SIZE;
}

/**
 * The root that an inclusion proof leads to (RFC 9162 §2.1.3.2 without the final compare).
 * Throws `proof_malformed` if the proof's shape does not fit the index and tree size.
 *
 * @example
 * const root = rootFromInclusionProof({ leafHash, index: 2, treeSize: 3, proof });
 */
export function rootFromInclusionProof(input: InclusionProofInput): Uint8Array {
  const index = toUint64(input.index, 'index');
  const size = toUint64(input.treeSize, 'treeSize');
  const { leafHash, proof } = input;
  const evidence = (): LogEvidence => ({
    index: index.toString(),
    treeSize: size.toString(),
    ...(leafHash instanceof Uint8Array ? { leafHash: hexOf(leafHash) } : {}),
  });
  // RFC 9162 §2.1.3.2 step 1: "If leaf_index is greater than or equal to tree_size, then stop
  // and fail the proof verification."
  if (index >= size) throw malformed(`index ${index} is not below the tree size ${size}`, evidence());
  if (!isHash(leafHash)) throw malformed('leafHash must be 32 bytes', evidence());
  checkProofHashes(proof);
  const { inner, border } = inclusionProofLength(index, size);
  if (proof.length !== inner + border) {
    throw malformed(`inclusion proof has ${proof.length} hashes, the tree shape needs ${inner + border}`, { ...evidence(), proof: hexProof(proof) });
  }

  // RFC 9162 §2.1.3.2 step 2: fn = leaf_index, sn = tree_size - 1; step 3: r = hash.
  let fn = index;
  let sn = size - 1n;
  let r = leafHash;
  for (const p of proof) {
    // Step 4a: a proof longer than the path (ruled out above; kept as the RFC states it).
    if (sn === 0n) throw malformed('inclusion proof is longer than the path', evidence());
    if ((fn & 1n) === 1n || fn === sn) {
      // Step 4b: p is a left sibling (or we are on the right border): r = HASH(0x01 || p || r).
      r = hashChildren(p, r);
      // … then skip the levels where the node has no right sibling.
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      // Otherwise p is a right sibling: r = HASH(0x01 || r || p).
      r = hashChildren(r, p);
    }
    // Step 4c: up one level.
    fn >>= 1n;
    sn >>= 1n;
  }
  // Step 5: "compare sn to 0" — a proof too short never reaches the root.
  if (sn !== 0n) throw malformed('inclusion proof is shorter than the path', evidence());
  return r;
}

/**
 * Verifies that `leafHash` is at `index` in the tree of `treeSize` leaves with root `root`
 * (RFC 9162 §2.1.3.2). Returns on success; throws `LogVerificationError` with code
 * `proof_malformed` (shape) or `inclusion_invalid` (wrong root, with expected and computed
 * roots as evidence).
 *
 * @example
 * verifyInclusion({ leafHash: hashLeaf(entry), index: 5, treeSize: 8, proof, root });
 */
export function verifyInclusion(check: InclusionCheck): void {
  const computed = rootFromInclusionProof(check);
  // RFC 9162 §2.1.3.2 step 5: "compare r against the root_hash"; constant time, so a forger
  // learns nothing about how close a guess came.
  if (!(check.root instanceof Uint8Array) || !equalBytes(computed, check.root)) {
    throw new LogVerificationError('inclusion_invalid', 'inclusion proof does not lead to the expected root', {
      expectedRoot: check.root instanceof Uint8Array ? hexOf(check.root) : '',
      computedRoot: hexOf(computed),
      leafHash: hexOf(check.leafHash),
      index: check.index.toString(),
      treeSize: check.treeSize.toString(),
      proof: hexProof(check.proof),
    });
  }
}

/**
 * Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves
 * with root `root1` (RFC 9162 §2.1.4.2). Returns on success; throws `LogVerificationError`:
 * `proof_malformed` for a proof of the wrong shape (including any proof from size 0, which
 * proves nothing: trust a first checkpoint on its signature), `consistency_invalid` when the
 * proof does not reproduce both roots, when size1 > size2, or when equal sizes have different
 * roots (a fork), with both tree heads and the proof as evidence.
 *
 * @example
 * verifyConsistency({ size1: 3, size2: 7, root1, root2, proof });
 */
export function verifyConsistency(check: ConsistencyCheck): void {
  const size1 = toUint64(check.size1, 'size1');
  const size2 = toUint64(check.size2, 'size2');
  const { root1, root2, proof } = check;
  if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) throw malformed('root1 and root2 must be byte arrays');
  checkProofHashes(proof);
  const evidence = (extra: LogEvidence = {}): LogEvidence => ({
    from: { size: size1.toString(), root: hexOf(root1) },
    to: { size: size2.toString(), root: hexOf(root2) },
    proof: hexProof(proof),
    ...extra,
  });
  const inconsistent = (message: string, extra: LogEvidence = {}): LogVerificationError =>
    new LogVerificationError('consistency_invalid', message, evidence(extra));

  if (size2 < size1) throw inconsistent(`size2 ${size2} is smaller than size1 ${size1}`);
  if (size1 === size2) {
    if (proof.length !== 0) throw malformed('trees of equal size need an empty consistency proof', evidence());
    // RFC 9162 §2.1.1: MTH({}) = HASH(); an empty tree with any other root is no tree at all.
    if (size1 === 0n && !equalBytes(root1, emptyRoot())) {
      throw inconsistent('the empty tree has a root other than SHA-256("")', { expectedRoot: hexOf(emptyRoot()), computedRoot: hexOf(root1) });
    }
    // Same size, different root: the log has shown two different trees (a fork).
    if (!equalBytes(root1, root2)) throw inconsistent('equal tree sizes with different roots', { expectedRoot: hexOf(root1), computedRoot: hexOf(root2) });
    return;
  }
  // RFC 9162 §2.1.4: a consistency proof is defined for 0 < m < n only.
  if (size1 === 0n) throw malformed('there is no consistency proof from the empty tree', evidence());
  if (!isHash(root1) || !isHash(root2)) throw malformed('root1 and root2 must be 32 bytes', evidence());
  const want = consistencyProofLength(size1, size2);
  // RFC 9162 §2.1.4.2 step 1 ("if consistency_path is an empty array, stop and fail") is the
  // want ≥ 1 case of this exact-length check.
  if (proof.length !== want) throw malformed(`consistency proof has ${proof.length} hashes, the tree shapes need ${want}`, evidence());

  // Step 2: "If first is an exact power of 2, then prepend first_hash to consistency_path."
  const path = (size1 & (size1 - 1n)) === 0n ? [root1, ...proof] : [...proof];
  // Step 3: fn = first - 1, sn = second - 1.
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  // Step 4: "If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set."
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  // Step 5: fr and sr start at the first value of the path.
  let fr = path[0]!;
  let sr = fr;
  // Step 6: for each subsequent value c …
  for (const c of path.slice(1)) {
    // 6a: a path longer than the tree (ruled out by the length check; kept as the RFC has it).
    if (sn === 0n) throw malformed('consistency proof is longer than the path', evidence());
    if ((fn & 1n) === 1n || fn === sn) {
      // 6b: c is a left sibling in both trees: fr = HASH(0x01 || c || fr), sr = HASH(0x01 || c || sr) …
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      // … then skip the levels where fn has no right sibling.
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      // 6b otherwise: c is a right sibling that only the newer tree has: sr = HASH(0x01 || sr || c).
      sr = hashChildren(sr, c);
    }
    // 6c: up one level.
    fn >>= 1n;
    sn >>= 1n;
  }
  // Step 7: sn must be 0, fr must equal first_hash and sr must equal second_hash.
  if (sn !== 0n) throw malformed('consistency proof is shorter than the path', evidence());
  if (!equalBytes(fr, root1)) throw inconsistent('consistency proof does not reproduce root1', { expectedRoot: hexOf(root1), computedRoot: hexOf(fr) });
  if (!equalBytes(sr, root2)) throw inconsistent('consistency proof does not reproduce root2', { expectedRoot: hexOf(root2), computedRoot: hexOf(sr) });
}
