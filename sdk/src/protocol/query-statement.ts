/**
 * What a researcher signs for a query (spec/protocol.md §9.1, DESIGN §4 step 3): the whole
 * request as the researcher meant it — the query (hence its datasets), the HE key the result
 * is encrypted under, the purpose, the ρ it spends, the institutions that take part (hence
 * the pairwise masks) with the least number of them that make a result, and the consent
 * tokens it runs under. The statement's digest travels
 * as the `vg_req` claim of the request's DPoP proof (RFC 9449 §4.2 allows further claims),
 * so its time is the proof's `iat` and its nonce the proof's `jti`. Every node rebuilds the
 * statement from what the hub sends it and refuses a computation whose statement the
 * researcher did not sign: the hub cannot change the query, the key, ρ or the participants.
 */
import { toBase64Url } from '../internal/bytes.ts';
import { canonicalDigest } from './canonical.ts';
import type { Query } from './query.ts';
import { tokenDigests } from './token-digests.ts';

/** Version of the statement layout. */
export const QUERY_STATEMENT_VERSION = 1;
/** Name of the DPoP claim that carries the statement digest. */
export const QUERY_STATEMENT_CLAIM = 'vg_req';

/** The signed statement of a query. */
export interface QueryStatement {
  v: typeof QUERY_STATEMENT_VERSION;
  /** SHA-256 (hex) of the researcher's registered BFV public key. */
  keyId: string;
  query: Query;
  /** Data Use Ontology purpose. */
  purpose: string;
  /** zCDP ρ the query spends at every institution (0 when none has differential privacy on). */
  rho: number;
  /** Node ids of the institutions taking part, sorted. */
  participants: string[];
  /** SHA-256 hex digests of the consent tokens, sorted. */
  tokens: string[];
  /**
   * Least number of participants whose contributions make a result (protocol.md §10.1), present
   * only when below the number of participants: absent, every participant must answer (the
   * statement of such a query is byte for byte what it was before dropout tolerance).
   */
  threshold?: number;
}

/** What a statement is built from. */
export interface QueryStatementInput {
  keyId: string;
  query: Query;
  purpose: string;
  rho: number;
  participants: readonly string[];
  /** Either the tokens themselves or their SHA-256 hex digests (`tokenDigests`). */
  tokens?: readonly string[];
  tokenDigests?: readonly string[];
  /** Dropout threshold; omitted or equal to the number of participants means everyone must answer. */
  threshold?: number;
}

/**
 * Builds the statement, sorting participants and token digests so that the order things
 * travel in never matters.
 *
 * @example
 * const s = queryStatement({ keyId, query, purpose: 'DUO:0000006', rho: 0.015, participants: ['hosp-a'], tokens: [token] });
 */
export function queryStatement(input: QueryStatementInput): QueryStatement {
  const digests = input.tokenDigests ? [...input.tokenDigests].sort() : tokenDigests([...(input.tokens ?? [])]);
  const participants = [...new Set(input.participants)].sort();
  // The threshold is signed so a hub cannot lower it (protocol.md §10.1); t = n is the default.
  const threshold = input.threshold !== undefined && input.threshold < participants.length ? { threshold: input.threshold } : {};
  return {
    v: QUERY_STATEMENT_VERSION,
    keyId: input.keyId,
    query: input.query,
    purpose: input.purpose,
    rho: input.rho,
    participants,
    tokens: digests,
    ...threshold,
  };
}

/**
 * base64url(SHA-256(RFC 8785 canonical JSON of the statement)): the `vg_req` claim.
 *
 * @example
 * const vg_req = queryStatementDigest(queryStatement(input)); // 43 characters
 */
export function queryStatementDigest(statement: QueryStatement): string {
  return toBase64Url(canonicalDigest(statement));
}

/**
 * What a query's DPoP `ath` hashes (RFC 9449 §4.2): with one consent token, that token —
 * exactly as RFC 9449 says, so a plain DPoP client interoperates; with several, their sorted
 * SHA-256 hex digests (a node sees the digests, not the other institutions' tokens).
 *
 * @example
 * createDpopProof({ …, accessTokens: athInput(tokens) });
 */
export function athInput(tokens: readonly string[]): string[] {
  return tokens.length === 1 ? [tokens[0]!] : tokenDigests([...tokens]);
}
