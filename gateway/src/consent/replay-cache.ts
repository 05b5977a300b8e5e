/**
 * The in-memory `jti` cache behind DPoP replay detection (RFC 9449 §11.1): a proof id is
 * accepted once while its proof could still be accepted, i.e. until `expiresAt` (the proof's
 * `iat` + the verifier's max age). Expired ids are pruned as new ones arrive.
 *
 * **Bound.** At most `maxEntries` ids are kept (default 100 000 — about 10 MB with 22-character
 * ids — which covers ~1 600 requests/s over a 60 s window). When full, the oldest id is evicted
 * even if it has not expired: under such a flood a proof whose id was evicted could be replayed
 * within its remaining window. This is the trade-off the bound buys (memory cannot be
 * exhausted). Only proofs that passed every other check (signature by a key, htm, htu, ath
 * over a valid token, fresh iat) reach the cache, so a flood needs valid consent tokens. A
 * process that restarts forgets every id; a multi-instance hub needs a shared store with the
 * same `(jti, expiresAt) => boolean` contract.
 */

/** Default most ids kept. */
export const DEFAULT_REPLAY_CACHE_MAX_ENTRIES = 100_000;

/** Options of a replay cache. */
export interface ReplayCacheOptions {
  /** Current time in seconds since the epoch; defaults to the clock. */
  now?: () => number;
  /** Most ids kept; the oldest is evicted past it (default 100 000). */
  maxEntries?: number;
}

/** `true` when `jti` was seen and has not expired (a replay); otherwise records it until `expiresAt`. */
export type ReplayCache = (jti: string, expiresAt: number) => boolean;

/**
 * A bounded replay cache for `verifyDpopProof`'s `seen` option.
 *
 * @example
 * const seen = createReplayCache();
 * const { jkt } = await verifyDpopProof(proof, { htm, htu, accessTokens, seen });
 */
export function createReplayCache(options: ReplayCacheOptions = {}): ReplayCache {
  const now = options.now ?? (() => Date.now() / 1000);
  const maxEntries = options.maxEntries ?? DEFAULT_REPLAY_CACHE_MAX_ENTRIES;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new TypeError('"maxEntries" must be a positive integer');
  /** jti → expiresAt, in insertion order (a Map iterates in insertion order). */
  const entries = new Map<string, number>();

  const pruneExpired = (at: number): void => {
    // Proofs arrive with expiry times in near insertion order, so expired ids gather at the
    // front; stop at the first live one (amortized O(1)). A live id ahead of expired ones only
    // delays their removal, and the bound still holds.
    for (const [jti, expiresAt] of entries) {
      if (expiresAt > at) break;
      entries.delete(jti);
    }
  };

  return (jti, expiresAt) => {
    const at = now();
    pruneExpired(at);
    const known = entries.get(jti);
    if (known !== undefined && known > at) return true;
    entries.delete(jti);
    entries.set(jti, expiresAt);
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done === true) break;
      entries.delete(oldest.value);
    }
    return false;
  };
}
