/**
 * Pairwise additive masks for secure aggregation: one-time pads from pairwise Diffie–Hellman
 * (Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine Learning",
 * CCS 2017, §4). Before encrypting, every node u adds to its slot vector
 *
 *   m_u = Σ_{v ≠ u} sign(u, v) · PRF(K_{u,v}, context)  (mod t),   sign(u, v) = +1 if u < v else −1,
 *
 * so each pair's pad enters the sum once with each sign and Σ_u m_u ≡ 0 (mod t): the hub's sum
 * of ciphertexts decrypts to the true aggregate, while any single node's ciphertext decrypts to
 * slots that are uniform in [0, t) to whoever lacks that node's pairwise keys (the hub and the
 * researcher, even together, as long as at least two nodes are honest).
 *
 * Construction (every choice is fixed; both ends of a pair must compute the same bytes):
 *
 * - Shared secret: Z = X25519(sk_u, pk_v) (RFC 7748 §6.1), all-zero Z refused (`x25519-keys.ts`).
 * - Pair key: K_{u,v} = HKDF-Extract(salt, IKM = Z) with SHA-256 (RFC 5869 §2.2), where
 *   salt = SHA-256(RFC 8785 canonical JSON of {"participants": sorted ids, "queryId": id}).
 *   Z is symmetric, so K_{u,v} = K_{v,u}; the salt binds the key to one query and one set.
 * - Stream: HKDF-Expand (RFC 5869 §2.3) stops at 255·32 bytes, less than one 8192-slot vector
 *   (65,536 bytes), so the PRF is HMAC-SHA256 in counter mode keyed with the PRK (the same
 *   primitive HKDF-Expand iterates, but without its length cap):
 *     block_i = HMAC-SHA256(K_{u,v}, info ‖ u32be(i)),  i = 0, 1, 2, …
 *   info = canonical JSON of {"ciphertextIndex": n, "domain": "veilgate/pairwise-mask/v1",
 *   "pair": [min id, max id]}, i.e. separated per ciphertext and per unordered pair.
 * - Slot values: the stream is read as big-endian 64-bit words w; a word is kept only if
 *   w < ⌊2^64 / t⌋·t and then reduced mod t (rejection sampling: exactly uniform in [0, t), no
 *   modulo bias). For t ≈ 2^40 a word is rejected with probability < 2^-24.
 *
 * Dropouts (Bonawitz §4 "handling dropped users"): these pads alone cancel only if every
 * participant contributes. With a threshold below the participants, a node also adds a self mask
 * and secret-shares its seed (secure-aggregation.ts), and the hub removes the pads of the
 * dropped nodes from pair keys the survivors reveal (protocol.md §10.1). The peer
 * public keys must reach each node authenticated (e.g. signed by the peer's node identity):
 * a hub that can swap a public key learns that pair's pad.
 *
 * Ids are compared with JavaScript's `<` and sorted with the default `Array.prototype.sort`,
 * both UTF-16 code-unit order (the order RFC 8785 uses for object keys too).
 */
import { extract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { canonicalBytes } from '../protocol/canonical.ts';
import { x25519SharedSecret } from './x25519-keys.ts';

/** A peer of the aggregation: its participant id and its X25519 mask public key (32 bytes). */
export interface MaskPeer {
  id: string;
  publicKey: Uint8Array;
}

/** Inputs of {@link deriveMask}. */
export interface DeriveMaskOptions {
  /** This node's participant id. */
  self: string;
  /** This node's X25519 secret key (32 bytes). */
  secretKey: Uint8Array;
  /** Every other participant, with its public key. */
  peers: MaskPeer[];
  /** The query the masks belong to; never reuse one for different data. */
  queryId: string;
  /** All participant ids (self and every peer, each once, any order). */
  participants: string[];
  /** Which of this node's ciphertexts for the query the mask is for (0-based). */
  ciphertextIndex: number;
  /** Slots per ciphertext (8192 in the protocol). */
  slots: number;
  /** BFV plain modulus t; 2 ≤ t ≤ 2^64. */
  plainModulus: bigint;
}

/** Domain label inside every stream's `info`, so these keys never feed another protocol. */
export const MASK_DOMAIN = 'veilgate/pairwise-mask/v1';
/** Largest `slots` accepted (the u32 block counter leaves ample room for rejections). */
export const MAX_MASK_SLOTS = 1 << 24;

const TWO_64 = 1n << 64n;
/** HMAC-SHA256 output: 32 bytes = four 64-bit words per block. */
const BLOCK_BYTES = 32;
const MAX_BLOCKS = 2 ** 32;

function checkId(id: unknown, what: string): asserts id is string {
  if (typeof id !== 'string' || id === '') throw new TypeError(`${what} must be a non-empty string`);
}

function checkModulus(t: unknown): asserts t is bigint {
  if (typeof t !== 'bigint' || t < 2n || t > TWO_64) {
    throw new RangeError('plainModulus must be a bigint with 2 <= t <= 2^64');
  }
}

/** Sorted copy of the participant ids; refuses non-strings and duplicates. */
function sortedParticipants(participants: unknown): string[] {
  if (!Array.isArray(participants)) throw new TypeError('participants must be an array of ids');
  const seen = new Set<string>();
  for (const id of participants as unknown[]) {
    checkId(id, 'every participant id');
    if (seen.has(id)) throw new TypeError(`participants lists id ${JSON.stringify(id)} more than once`);
    seen.add(id);
  }
  return [...seen].sort();
}

/** HKDF salt: SHA-256 of canonical {queryId, participants (sorted)} (RFC 5869 §3.1: a salt binds context). */
function maskSalt(queryId: string, sorted: string[]): Uint8Array {
  return sha256(canonicalBytes({ queryId, participants: sorted }));
}

/**
 * Per-stream `info` (RFC 5869 §3.2: context and application-specific information).
 *
 * @example
 * pairStreamInfo('hosp-b', 'hosp-a', 0); // canonical {"ciphertextIndex":0,"domain":…,"pair":["hosp-a","hosp-b"]}
 */
export function pairStreamInfo(a: string, b: string, ciphertextIndex: number): Uint8Array {
  const pair = a < b ? [a, b] : [b, a];
  return canonicalBytes({ ciphertextIndex, domain: MASK_DOMAIN, pair });
}

/** K = HKDF-Extract(salt, X25519(sk, pk)) (RFC 5869 §2.2, RFC 7748 §6.1); wipes Z. */
function pairKey(secretKey: Uint8Array, peerPublicKey: Uint8Array, salt: Uint8Array): Uint8Array {
  const shared = x25519SharedSecret(secretKey, peerPublicKey);
  try {
    return extract(sha256, shared, salt);
  } finally {
    shared.fill(0);
  }
}

/**
 * The pairwise key K_{self,peer} for a query and participant set: HKDF-Extract with SHA-256
 * (RFC 5869 §2.2) of the X25519 shared secret (RFC 7748 §6.1), salted with
 * SHA-256(canonical {queryId, participants sorted}). Symmetric: both ends get the same 32 bytes.
 * It is secret; wipe it (`fill(0)`) after use. Exposed for tests and audits; {@link deriveMask}
 * is what nodes call.
 *
 * @example
 * const a = generateMaskKeyPair();
 * const b = generateMaskKeyPair();
 * const kab = derivePairKey({ secretKey: a.secretKey, peerPublicKey: b.publicKey, queryId: 'q1', participants: ['a', 'b'] });
 * const kba = derivePairKey({ secretKey: b.secretKey, peerPublicKey: a.publicKey, queryId: 'q1', participants: ['b', 'a'] });
 * // kab and kba are equal bytes
 */
export function derivePairKey(options: {
  secretKey: Uint8Array;
  peerPublicKey: Uint8Array;
  queryId: string;
  participants: string[];
}): Uint8Array {
  checkId(options.queryId, 'queryId');
  const sorted = sortedParticipants(options.participants);
  return pairKey(options.secretKey, options.peerPublicKey, maskSalt(options.queryId, sorted));
}

/**
 * Adds sign · PRF(prk, info) to `acc` in place, slot by slot, mod t. The PRF is HMAC-SHA256 in
 * counter mode (block_i = HMAC(prk, info ‖ u32be(i))), read as big-endian u64 words and
 * rejection-sampled to uniform values in [0, t). Shared with the self masks and the hub's
 * unmasking (secure-aggregation.ts), so every party expands a seed into the same words.
 *
 * @example
 * const acc = new BigUint64Array(4);
 * accumulateStream(acc, seed32, pairStreamInfo('a', 'b', 0), 1099511480321n, false);
 */
export function accumulateStream(acc: BigUint64Array, prk: Uint8Array, info: Uint8Array, t: bigint, negate: boolean): void {
  const limit = (TWO_64 / t) * t; // largest multiple of t that is ≤ 2^64: words below it are unbiased mod t
  const keyed = hmac.create(sha256, prk).update(info); // HMAC state after key ‖ info, cloned per block
  const counter = new Uint8Array(4);
  const counterView = new DataView(counter.buffer);
  let slot = 0;
  try {
    for (let block = 0; slot < acc.length; block++) {
      if (block >= MAX_BLOCKS) throw new Error('mask stream exhausted its 2^32-block counter');
      counterView.setUint32(0, block, false);
      const out = keyed.clone().update(counter).digest();
      const words = new DataView(out.buffer, out.byteOffset, BLOCK_BYTES);
      for (let off = 0; off < BLOCK_BYTES && slot < acc.length; off += 8) {
        const w = words.getBigUint64(off, false);
        if (w >= limit) continue; // rejection sampling: drop the biased tail
        const r = w % t;
        const a = acc[slot]!;
        if (negate) acc[slot] = a >= r ? a - r : a + (t - r);
        else acc[slot] = a + r >= t ? a + r - t : a + r;
        slot++;
      }
      out.fill(0);
    }
  } finally {
    keyed.destroy();
  }
}

/**
 * The mask vector node `self` adds to ciphertext number `ciphertextIndex` of query `queryId`
 * (Bonawitz et al. 2017, §4):
 *
 *   Σ_{j ≠ self} sign(self, j) · PRF(K_{self,j}, context) mod t,   sign = +1 if self < j else −1,
 *
 * with K_{self,j} = HKDF-Extract(SHA-256(canonical {queryId, participants sorted}), X25519(sk_self, pk_j))
 * and the PRF stream separated by `ciphertextIndex` and by the pair (min id, max id); see the
 * module comment for the exact bytes. The masks of all participants sum to 0 mod t in every slot.
 *
 * Throws a TypeError when `participants` is not exactly `self` plus the peers' ids, or when an id
 * repeats; a RangeError for fewer than two participants (the mask would be zero) or bad numbers;
 * an Error for a small-order peer public key (RFC 7748 §6.1). No message contains key material.
 *
 * @example
 * const a = generateMaskKeyPair();
 * const b = generateMaskKeyPair();
 * const common = { queryId: 'q1', participants: ['a', 'b'], ciphertextIndex: 0, slots: 8192, plainModulus: 1099511480321n };
 * const ma = deriveMask({ ...common, self: 'a', secretKey: a.secretKey, peers: [{ id: 'b', publicKey: b.publicKey }] });
 * const mb = deriveMask({ ...common, self: 'b', secretKey: b.secretKey, peers: [{ id: 'a', publicKey: a.publicKey }] });
 * // (ma[i] + mb[i]) % 1099511480321n === 0n for every slot i
 */
export function deriveMask(options: DeriveMaskOptions): BigUint64Array {
  const { self, secretKey, peers, queryId, participants, ciphertextIndex, slots, plainModulus } = options;
  checkId(self, 'self');
  checkId(queryId, 'queryId');
  checkModulus(plainModulus);
  if (!Number.isSafeInteger(ciphertextIndex) || ciphertextIndex < 0) {
    throw new RangeError('ciphertextIndex must be a non-negative safe integer');
  }
  if (!Number.isSafeInteger(slots) || slots < 1 || slots > MAX_MASK_SLOTS) {
    throw new RangeError(`slots must be an integer in [1, ${MAX_MASK_SLOTS}]`);
  }
  if (!Array.isArray(peers)) throw new TypeError('peers must be an array');

  const peerIds = new Set<string>();
  for (const peer of peers as unknown[]) {
    if (typeof peer !== 'object' || peer === null) throw new TypeError('every peer must be an object { id, publicKey }');
    const { id, publicKey } = peer as Partial<MaskPeer>;
    checkId(id, 'every peer id');
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
      throw new TypeError(`peer ${JSON.stringify(id)}: publicKey must be a 32-byte Uint8Array`);
    }
    if (id === self) throw new TypeError(`peers must not include self (${JSON.stringify(self)})`);
    if (peerIds.has(id)) throw new TypeError(`peers lists id ${JSON.stringify(id)} more than once`);
    peerIds.add(id);
  }

  const sorted = sortedParticipants(participants);
  if (!sorted.includes(self)) throw new TypeError(`participants must include self (${JSON.stringify(self)})`);
  for (const id of peerIds) {
    if (!sorted.includes(id)) throw new TypeError(`peer ${JSON.stringify(id)} is not among participants`);
  }
  const missing = sorted.find((id) => id !== self && !peerIds.has(id));
  if (missing !== undefined) throw new TypeError(`participant ${JSON.stringify(missing)} has no peer entry (public key)`);
  if (sorted.length < 2) throw new RangeError('masking needs at least two participants (one alone gets a zero mask)');

  const salt = maskSalt(queryId, sorted);
  const mask = new BigUint64Array(slots);
  for (const peer of peers) {
    const prk = pairKey(secretKey, peer.publicKey, salt);
    try {
      accumulateStream(mask, prk, pairStreamInfo(self, peer.id, ciphertextIndex), plainModulus, !(self < peer.id));
    } finally {
      prk.fill(0);
    }
  }
  return mask;
}

/**
 * (values + mask) mod t, element-wise, into a new array. Both inputs must hold values in
 * [0, t) and have the same length.
 *
 * @example
 * addMask(new BigUint64Array([5n, 6n]), new BigUint64Array([10n, 0n]), 11n); // BigUint64Array [4n, 6n]
 */
export function addMask(values: BigUint64Array, mask: BigUint64Array, plainModulus: bigint): BigUint64Array {
  checkModulus(plainModulus);
  if (!(values instanceof BigUint64Array) || !(mask instanceof BigUint64Array)) {
    throw new TypeError('values and mask must be BigUint64Arrays');
  }
  if (values.length !== mask.length) {
    throw new RangeError(`values has ${values.length} slots but mask has ${mask.length}`);
  }
  const t = plainModulus;
  const out = new BigUint64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const m = mask[i]!;
    if (v >= t || m >= t) throw new RangeError(`slot ${i} is not reduced mod plainModulus`);
    const s = v + m;
    out[i] = s >= t ? s - t : s;
  }
  return out;
}
