/**
 * Internal: tree sizes and indices as unsigned 64-bit integers (RFC 9162 §4.x uses uint64),
 * and the bit arithmetic that the proof algorithms need. Sizes are bigints inside the library
 * so that a log past 2^53 leaves, or an attacker's 2^64 − 1, is handled exactly rather than
 * rounded by a float. Not exported from the SDK.
 */
import { LogVerificationError } from './errors.ts';

/** 2^64 − 1: the largest tree size or index (RFC 9162 §4.2 and §4.3 encode them as uint64). */
export const UINT64_MAX = (1n << 64n) - 1n;
/** No proof for a tree of at most 2^64 leaves has more than 64 hashes. */
export const MAX_PROOF_HASHES = 64;

/**
 * A size or index from a caller (number or bigint) as a bigint in 0..2^64−1; anything else
 * (negative, fractional, unsafe float, NaN, a string from JSON) is a malformed proof.
 *
 * @example
 * toUint64(12, 'treeSize'); // 12n
 */
export function toUint64(value: unknown, what: string): bigint {
  if (typeof value === 'bigint') {
    if (value >= 0n && value <= UINT64_MAX) return value;
  } else if (typeof value === 'number') {
    // A float past 2^53 is already rounded: refuse it rather than verify the wrong index.
    if (Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  }
  throw new LogVerificationError('proof_malformed', `${what} must be an integer in 0..2^64-1`);
}

/**
 * Number of significant bits of x ≥ 0 (Go's bits.Len64).
 *
 * @example
 * bitLength(5n); // 3
 */
export function bitLength(x: bigint): number {
  let n = 0;
  while (x > 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

/**
 * Number of set bits of x ≥ 0 (Go's bits.OnesCount64).
 *
 * @example
 * popCount(5n); // 2
 */
export function popCount(x: bigint): number {
  let n = 0;
  while (x > 0n) {
    n += Number(x & 1n);
    x >>= 1n;
  }
  return n;
}

/**
 * Number of trailing zero bits of x > 0 (Go's bits.TrailingZeros64).
 *
 * @example
 * trailingZeros(8n); // 3
 */
export function trailingZeros(x: bigint): number {
  let n = 0;
  while (x > 0n && (x & 1n) === 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

/**
 * The expected length of the inclusion proof of leaf `index` in a tree of `size` leaves
 * (0 ≤ index < size): the hashes below the point where the paths to `index` and to
 * `size − 1` diverge ("inner"), plus one per left-hand subtree above it ("border")
 * (transparency-dev/merkle `decompInclProof`).
 *
 * @example
 * inclusionProofLength(2n, 3n); // 1
 */
export function inclusionProofLength(index: bigint, size: bigint): { inner: number; border: number } {
  const inner = bitLength(index ^ (size - 1n));
  const border = popCount(index >> BigInt(inner));
  return { inner, border };
}

/**
 * The expected length of the consistency proof from `size1` to `size2` (0 < size1 < size2):
 * the inclusion path of leaf size1 − 1 in the larger tree, less the levels below the largest
 * complete subtree ending at size1, plus that subtree's hash unless size1 is a power of two.
 *
 * @example
 * consistencyProofLength(3n, 7n); // 3
 */
export function consistencyProofLength(size1: bigint, size2: bigint): number {
  const { inner, border } = inclusionProofLength(size1 - 1n, size2);
  const shift = trailingZeros(size1);
  const seedFromProof = size1 === 1n << BigInt(shift) ? 0 : 1;
  return seedFromProof + (inner - shift) + border;
}
