/**
 * What a query's DPoP proof binds (spec/protocol.md §9): RFC 9449 §4.2 `ath` is the hash of
 * the one access token; a Veilgate query carries one consent token per institution, so the
 * proof's `ath` covers the sorted SHA-256 hex digests of all of them, joined by spaces. Each
 * node receives the digests (not the other institutions' tokens) and checks its own is there.
 */
import { sha256Hex } from '../internal/bytes.ts';

/**
 * The sorted SHA-256 hex digests of consent tokens.
 *
 * @example
 * const digests = tokenDigests(tokens); // what createDpopProof({ accessTokens: digests }) binds
 */
export function tokenDigests(tokens: string[]): string[] {
  return tokens.map((t) => sha256Hex(new TextEncoder().encode(t))).sort();
}
