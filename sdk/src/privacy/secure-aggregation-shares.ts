/**
 * The self-mask seed's t-of-n Shamir shares, each sealed to one peer (Bonawitz et al.,
 * "Practical Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017, §4 and
 * Fig. 4 round 1 "ShareKeys": b_u is shared with t-out-of-n Shamir, each share encrypted to its
 * recipient under a key agreed with it; spec/protocol.md §10.1).
 *
 * - Shamir: `shamir-secret-sharing` (Privy; zero-dependency, independently audited by Cure53
 *   and Zellic). It shares byte-wise over GF(2^8): each of the 32 seed bytes is its own
 *   polynomial of degree threshold − 1, so fewer than `threshold` shares reveal nothing about
 *   any byte (information-theoretic), whatever the secret's length — the field only bounds the
 *   number of shares (≤ 255 peers). A share is 33 bytes: 32 bytes of y values, then x.
 * - Sealing: ChaCha20-Poly1305 (RFC 8439) with @noble/ciphers (audited, synchronous, in Node
 *   and browsers). A node seals and opens up to 255 33-byte shares per query, each under its
 *   own key: WebCrypto's async AES-GCM and noble's AES-GCM (per-key GHASH tables) both cost
 *   ≈ 0.5–1 ms a share, ChaCha20-Poly1305 has no per-key set-up (BENCHMARKS.md "Scale");
 *   key = HKDF-SHA256(X25519(sk_u, pk_v), salt = SHA-256(JCS{domain, queryId, participants}),
 *   info = domain) (RFC 5869, RFC 7748). The salt differs from the pairwise-mask key's, so a
 *   revealed mask key K_{u,v} (protocol.md §10.1, for a dropped peer) does not open the seed
 *   shares sealed between u and v: Bonawitz's separation of c_u (encryption) and s_u (masks).
 *   AAD = JCS{from, queryId, to}: a share cannot be replayed into another query or pair.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { combine, split } from 'shamir-secret-sharing';
import { fromBase64Url, toBase64Url } from '../internal/bytes.ts';
import { canonicalBytes } from '../protocol/canonical.ts';
import { x25519SharedSecret } from './x25519-keys.ts';

/** Domain of the share-sealing key and of its salt. */
export const SEED_SHARE_DOMAIN = 'veilgate/seed-share/v1';
/** Bytes of a self-mask seed. */
export const SEED_BYTES = 32;
const NONCE_BYTES = 12;

/** One sealed share: from a node, to a peer; `box` = base64url(nonce ‖ ChaCha20-Poly1305 ciphertext ‖ tag). */
export interface SealedShare {
  from: string;
  to: string;
  box: string;
}

const DOMAIN_BYTES = new TextEncoder().encode(SEED_SHARE_DOMAIN);
/** The last salt computed: a node seals or opens up to 255 shares of one query in a row. */
let lastSalt: { key: string; salt: Uint8Array } | undefined;

/** SHA-256(JCS{domain, participants sorted, queryId}); sorting and hashing 200 ids per share was most of the sealing time. */
function shareSalt(queryId: string, participants: string[]): Uint8Array {
  const key = `${queryId}\u0000${participants.join('\u0000')}`;
  if (lastSalt?.key !== key) lastSalt = { key, salt: sha256(canonicalBytes({ domain: SEED_SHARE_DOMAIN, participants: [...participants].sort(), queryId })) };
  return lastSalt.salt;
}

function sealKeyBytes(secretKey: Uint8Array, peerPublicKey: Uint8Array, queryId: string, participants: string[]): Uint8Array {
  const shared = x25519SharedSecret(secretKey, peerPublicKey);
  try {
    return hkdf(sha256, shared, shareSalt(queryId, participants), DOMAIN_BYTES, 32);
  } finally {
    shared.fill(0);
  }
}

function aad(queryId: string, from: string, to: string): Uint8Array {
  return canonicalBytes({ from, queryId, to });
}

/**
 * Splits `seed` into one Shamir share per peer, any `threshold` of which rebuild it, and seals
 * each to its peer. `threshold` must be in [2, peers.length] (the library's bounds, ≤ 255).
 *
 * @example
 * const sealed = await sealSeedShares({ self: 'a', secretKey, peers: [{ id: 'b', publicKey }, …], queryId, participants, seed, threshold: 2 });
 */
export async function sealSeedShares(options: {
  self: string;
  secretKey: Uint8Array;
  peers: { id: string; publicKey: Uint8Array }[];
  queryId: string;
  participants: string[];
  seed: Uint8Array;
  threshold: number;
}): Promise<SealedShare[]> {
  const { self, peers, threshold } = options;
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > peers.length || peers.length > 255) {
    throw new RangeError(`seed shares need 2 <= threshold (${threshold}) <= peers (${peers.length}) <= 255`);
  }
  const shares = await split(options.seed, peers.length, threshold);
  try {
    return peers.map((peer, i) => {
      const key = sealKeyBytes(options.secretKey, peer.publicKey, options.queryId, options.participants);
      const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
      try {
        const sealed = chacha20poly1305(key, nonce, aad(options.queryId, self, peer.id)).encrypt(shares[i]!);
        const box = new Uint8Array(NONCE_BYTES + sealed.length);
        box.set(nonce, 0);
        box.set(sealed, NONCE_BYTES);
        return { from: self, to: peer.id, box: toBase64Url(box) };
      } finally {
        key.fill(0);
      }
    });
  } finally {
    for (const s of shares) s.fill(0);
  }
}

/**
 * Opens a share sealed to this node by `share.from`; throws if it was not sealed by that peer
 * for this query and this node (the Poly1305 tag does not verify) — the hub cannot forge one.
 *
 * @example
 * const share = await openSeedShare({ self: 'b', secretKey, peerPublicKey: pkA, queryId, participants, share: sealed });
 */
export async function openSeedShare(options: {
  self: string;
  secretKey: Uint8Array;
  peerPublicKey: Uint8Array;
  queryId: string;
  participants: string[];
  share: SealedShare;
}): Promise<Uint8Array> {
  const { share } = options;
  if (share.to !== options.self) throw new Error('the share is sealed to another node');
  const box = fromBase64Url(share.box);
  if (box.length !== NONCE_BYTES + SEED_BYTES + 1 + 16) throw new Error('the sealed share has the wrong length');
  const key = sealKeyBytes(options.secretKey, options.peerPublicKey, options.queryId, options.participants);
  try {
    // Throws unless the tag verifies: sealed by `from`, for this query and this node.
    return chacha20poly1305(key, box.subarray(0, NONCE_BYTES), aad(options.queryId, share.from, options.self)).decrypt(box.subarray(NONCE_BYTES));
  } finally {
    key.fill(0);
  }
}

/**
 * Rebuilds a seed from at least `threshold` of its shares (fewer give a wrong seed, not an error:
 * the caller counts them).
 *
 * @example
 * const seed = await combineSeedShares([s1, s2, s3]);
 */
export async function combineSeedShares(shares: Uint8Array[]): Promise<Uint8Array> {
  if (shares.length < 2) throw new RangeError('a seed needs at least two shares');
  return combine(shares);
}
