/**
 * Dropout-tolerant secure aggregation by double masking (Bonawitz et al., "Practical Secure
 * Aggregation for Privacy-Preserving Machine Learning", CCS 2017, §4; spec/protocol.md §10.1).
 * With a threshold t below the n participants, node u releases
 *
 *   y_u = x_u + PRG(b_u) + Σ_{v ≠ u} sign(u, v) · PRF(K_{u,v})   (mod t_BFV)
 *
 * b_u a fresh 32-byte seed per query (the "self mask", Bonawitz §4 "double masking"), shared
 * t − 1-of-(n − 1) among its peers (secure-aggregation-shares.ts). Once the hub knows who
 * answered (survivors S, dropped D), every survivor reveals per peer EITHER its share of b_v
 * (v ∈ S) OR its pair key K_{u,v} (v ∈ D) — never both for one peer (Bonawitz §4, "an honest
 * user … never reveals both kinds of shares for the same user"), and the hub subtracts
 *
 *   Σ_{u ∈ S} PRG(b_u) + Σ_{u ∈ S} Σ_{v ∈ D} sign(u, v) · PRF(K_{u,v})
 *
 * from the sum of the survivors' ciphertexts (`unmaskingCorrection`).
 *
 * One deviation from Bonawitz, and why: for a dropped v the survivors reveal their per-query pair
 * keys K_{u,v} themselves instead of Shamir shares of v's key s_v^SK. Our pair keys derive from
 * each node's long-term pinned X25519 key, salted per query (masks.ts), so sharing the key
 * itself would expose every query of v; Bonawitz's fresh per-round keys would need two more
 * rounds (AdvertiseKeys, ShareKeys) before the data round. K_{u,v} is exactly what the server
 * computes from the reconstructed s_v^SK in Bonawitz's round 4, for this query only. To strip
 * a live node v, a lying hub needs b_v (t − 1 shares from peers told "v answered") AND every
 * K_{u,v} (from all n − 1 peers told "v dropped"): disjoint among honest peers, so it needs
 * t − 1 colluding peers of v (Bonawitz needs t shares of s_v^SK from anyone: ours is no weaker).
 * The price: a survivor that vanishes during the unmasking round while others dropped before
 * fails the query (its K_{u,v} cannot be rebuilt).
 */
import { MASK_DOMAIN, accumulateStream, pairStreamInfo } from './masks.ts';
import { canonicalBytes } from '../protocol/canonical.ts';

/** Domain of the self-mask stream. */
export const SELF_MASK_DOMAIN = 'veilgate/self-mask/v1';
/** Participants from which the SDK's default threshold tolerates dropouts (below: everyone must answer). */
export const DROPOUT_TOLERANCE_FROM = 10;
/** The pairwise-mask stream domain the correction re-derives (masks.ts). */
export const PAIR_MASK_DOMAIN = MASK_DOMAIN;

/**
 * The lowest threshold a node accepts for n participants (protocol.md §10.1): a strict majority
 * (⌊n/2⌋ + 1, so two disjoint "survivor" sets cannot both be accepted — Bonawitz §6's honest
 * majority), at least 2 (one survivor's sum is its own aggregate) and, below n, at least 3
 * (a seed is shared t − 1-of-(n − 1); one share alone would be the seed).
 *
 * @example
 * minimumThreshold(200); // 101
 */
export function minimumThreshold(n: number): number {
  if (n <= 1) return n;
  const majority = Math.max(2, Math.floor(n / 2) + 1);
  return majority < n ? Math.max(3, majority) : n;
}

/**
 * The SDK's default threshold: everyone for fewer than {@link DROPOUT_TOLERANCE_FROM}
 * participants (waiting is cheap, and the noise shares stay σ²/n); above, ⌊2n/3⌋ + 1, the
 * bound Bonawitz et al. (§6) use against an active server.
 *
 * @example
 * defaultThreshold(3); // 3
 * defaultThreshold(200); // 134
 */
export function defaultThreshold(n: number): number {
  if (n < DROPOUT_TOLERANCE_FROM) return n;
  return Math.max(minimumThreshold(n), Math.floor((2 * n) / 3) + 1);
}

/**
 * Why a threshold is not acceptable for n participants, or undefined if it is.
 *
 * @example
 * thresholdProblem(10, 5); // 'threshold 5 is below the minimum 6 for 10 participants'
 */
export function thresholdProblem(n: number, threshold: number): string | undefined {
  if (!Number.isSafeInteger(threshold) || threshold > n) return `threshold ${threshold} is not an integer in [1, ${n}]`;
  const min = minimumThreshold(n);
  if (threshold < min) return `threshold ${threshold} is below the minimum ${min} for ${n} participants`;
  if (threshold < n && n - 1 > 255) return `dropout tolerance shares seeds among at most 256 participants (${n} given)`;
  return undefined;
}

/**
 * Adds PRG(seed) — HMAC-SHA256 in counter mode keyed with the seed, rejection-sampled mod t
 * (masks.ts) under info JCS{ciphertextIndex, domain} — to `acc`, or subtracts it (`negate`).
 *
 * @example
 * addSelfMask(slots, seed, 0, 1099511480321n, false);
 */
export function addSelfMask(acc: BigUint64Array, seed: Uint8Array, ciphertextIndex: number, plainModulus: bigint, negate: boolean): void {
  if (seed.length !== 32) throw new RangeError('a self-mask seed is 32 bytes');
  accumulateStream(acc, seed, canonicalBytes({ ciphertextIndex, domain: SELF_MASK_DOMAIN }), plainModulus, negate);
}

/** What the hub learned in the unmasking round. */
export interface Unmasking {
  /** Rebuilt self-mask seeds of the survivors. */
  seeds: Uint8Array[];
  /** Pair keys K_{u,v} revealed by survivor u for dropped peer v. */
  pairKeys: { survivor: string; dropped: string; key: Uint8Array }[];
}

/**
 * The vector the hub subtracts from the survivors' sum (Bonawitz §4, round 4 "Unmasking"):
 * Σ PRG(b_u) over survivors + Σ sign(u, v)·PRF(K_{u,v}) over survivor u, dropped v, on the
 * first `slots` slots of ciphertext `ciphertextIndex`. Returned as t − that, i.e. ready to add.
 *
 * @example
 * const minus = unmaskingCorrection({ seeds, pairKeys }, 0, 40, t); // add to the sum's slots
 */
export function unmaskingCorrection(unmasking: Unmasking, ciphertextIndex: number, slots: number, plainModulus: bigint): BigUint64Array {
  const acc = new BigUint64Array(slots);
  // Subtract each term: negate = true for +terms, false for −terms.
  for (const seed of unmasking.seeds) addSelfMask(acc, seed, ciphertextIndex, plainModulus, true);
  for (const { survivor, dropped, key } of unmasking.pairKeys) {
    // masks.ts (MASK_DOMAIN): node u adds +PRF when u < v, −PRF otherwise; remove what the survivor added.
    accumulateStream(acc, key, pairStreamInfo(survivor, dropped, ciphertextIndex), plainModulus, survivor < dropped);
  }
  return acc;
}
