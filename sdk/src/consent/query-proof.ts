/**
 * The proof a query travels with (spec/protocol.md §9, §9.1): an RFC 9449 DPoP proof by the
 * researcher's identity key, whose `ath` binds the consent tokens and whose `vg_req` claim
 * signs the request statement — query, HE key, purpose, ρ, participants and tokens.
 */
import { athInput, queryStatement, queryStatementDigest } from '../protocol/query-statement.ts';
import type { Query } from '../protocol/query.ts';
import { createDpopProof } from './dpop.ts';
import type { Ed25519PrivateJwk, Ed25519PublicJwk } from './identity.ts';

/** What {@link createQueryProof} signs. */
export interface QueryProofInput {
  identity: { privateJwk: Ed25519PrivateJwk; publicJwk: Ed25519PublicJwk };
  /** The hub's query endpoint, e.g. `https://hub.example/v1/queries`. */
  htu: string;
  /** The request body as sent: `rho` is the ρ the query spends (0 or absent without differential privacy). */
  request: { keyId: string; query: Query; purpose: string; rho?: number; tokens: string[]; threshold?: number };
  /** Node ids of the institutions holding the query's datasets. */
  participants: readonly string[];
  /** Seconds since the epoch (default: the clock). */
  now?: number;
}

/**
 * Signs a query request: the `DPoP` header value for `POST /v1/queries`.
 *
 * @example
 * const dpop = await createQueryProof({ identity, htu: `${hub}/v1/queries`, request: body, participants: ['hosp-a', 'hosp-b'] });
 * await fetch(`${hub}/v1/queries`, { method: 'POST', headers: { DPoP: dpop, … }, body: JSON.stringify(body) });
 */
export async function createQueryProof(input: QueryProofInput): Promise<string> {
  const { request } = input;
  const statement = queryStatement({
    keyId: request.keyId, query: request.query, purpose: request.purpose, rho: request.rho ?? 0, participants: input.participants, tokens: request.tokens,
    ...(request.threshold === undefined ? {} : { threshold: request.threshold }),
  });
  return createDpopProof({
    privateJwk: input.identity.privateJwk, publicJwk: input.identity.publicJwk, htm: 'POST', htu: input.htu,
    accessTokens: athInput(request.tokens), requestDigest: queryStatementDigest(statement),
    ...(input.now === undefined ? {} : { now: input.now }),
  });
}
