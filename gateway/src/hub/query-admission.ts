/**
 * Admission of a query at the hub (DESIGN §4 step 4, §7; invariant 2): a valid, unrevoked,
 * in-scope consent token from every institution the query touches, each bound (RFC 7800
 * `cnf.jkt`) to the key that signed the request's DPoP proof (RFC 9449). Tokens are checked
 * with the issuing node's published keys, the algorithm pinned to EdDSA (RFC 8725 §3.1).
 */
import {
  athInput, checkBinding, checkScope, decodeConsentTokenUnverified, sha256Hex, tokenDigests, verifyConsentToken, verifyDpopProof, elementsOfQuery,
  type DatasetSummary, type Query,
} from '@veilgate/sdk';
import { timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors.ts';
import type { AccountRow, StateStore } from '../store/state-store.ts';
import type { NodeRegistration } from './catalog.ts';
import type { JwksCache } from './jwks-cache.ts';

/** An admitted token, per node. */
export interface AdmittedToken {
  node: string;
  token: string;
  jti: string;
  tokenIndex: number;
  quota: number;
  /** The grant's privacy budget (ρ). */
  budget: number;
}

/** The outcome of admission. */
export interface Admission {
  tokens: Map<string, AdmittedToken>;
  tokenDigests: string[];
  dpop: string;
  /** The proof's `vg_req`: digest of the request statement the researcher signed (protocol.md §9.1). */
  requestDigest: string | undefined;
}

const encoder = new TextEncoder();

/**
 * The presented token must be byte for byte the one the node signed and the hub logged in
 * `token.issued` (its `tokenSha256`): a token with the same `jti` and another scope — signed
 * with a node key, say — is not the grant the log vouches for.
 */
async function checkLoggedToken(store: StateStore, token: string, tokenIndex: number, field: string): Promise<void> {
  const logged = (await store.audit.entry(tokenIndex))?.entry as { type?: unknown; tokenSha256?: unknown } | undefined;
  const presented = Buffer.from(sha256Hex(encoder.encode(token)), 'hex');
  const expected = typeof logged?.tokenSha256 === 'string' && /^[0-9a-f]{64}$/.test(logged.tokenSha256) ? Buffer.from(logged.tokenSha256, 'hex') : undefined;
  if (logged?.type !== 'token.issued' || !expected || !timingSafeEqual(presented, expected)) {
    throw new GatewayError('token_revoked', `${field}: this consent token is not the one logged when it was issued`, { field });
  }
}

/**
 * Checks tokens and proof for a query; throws a `ConsentError`/`GatewayError` with a
 * stable code otherwise.
 *
 * @example
 * const admission = await admitQuery({ store, jwks, hubId, nodes }, account, request, datasets, dpop, htu);
 */
export async function admitQuery(
  deps: { store: StateStore; jwks: JwksCache; hubId: string; nodes: () => NodeRegistration[]; seen: (jti: string, exp: number) => boolean },
  account: AccountRow,
  request: { query: Query; purpose: string; tokens: string[] },
  datasets: DatasetSummary[],
  dpop: string | undefined,
  htu: string,
  options: { requireProof?: boolean } = {},
): Promise<Admission> {
  const requireProof = options.requireProof ?? true;
  if (requireProof && !dpop) throw new GatewayError('dpop_missing', 'DPoP: a proof of possession of the identity key is required (RFC 9449)', { field: 'DPoP' });
  const digests = tokenDigests(request.tokens);
  // Estimates spend nothing, so they need no proof; every query that runs does. RFC 9449
  // §4.2 `ath`: the one token itself, or the sorted digests of several (protocol.md §9).
  const proof = requireProof ? await verifyDpopProof(dpop!, { htm: 'POST', htu, accessTokens: athInput(request.tokens), seen: deps.seen }) : undefined;
  if (proof && proof.requestDigest === undefined) {
    throw new GatewayError('dpop_invalid', 'DPoP: the proof does not sign the request statement (claim vg_req, protocol.md §9.1)', { field: 'DPoP' });
  }
  const elements = elementsOfQuery(request.query);
  const operations = [...new Set(request.query.aggregates.map((a) => a.op))];
  const nodesOfQuery = [...new Set(datasets.map((d) => d.node))];
  const admitted = new Map<string, AdmittedToken>();
  for (const [i, token] of request.tokens.entries()) {
    const unverified = (() => {
      try {
        return decodeConsentTokenUnverified(token);
      } catch {
        throw new GatewayError('token_malformed', `tokens[${i}] is not a consent token`, { field: `tokens[${i}]` });
      }
    })();
    const node = deps.nodes().find((n) => n.id === unverified.claims.iss);
    if (!node || !nodesOfQuery.includes(node.id)) continue; // a token for no institution of this query: unused
    const claims = await verifyConsentToken(token, {
      keys: (kid) => deps.jwks.key(node, kid),
      issuer: node.id,
      audience: deps.hubId,
      subject: account.id,
      isRevoked: async (jti) => (await deps.store.decisionByJti(jti))?.state !== 'approved',
    });
    const ownDatasets = datasets.filter((d) => d.node === node.id).map((d) => d.id);
    checkScope(claims, { datasets: ownDatasets, elements, operations, purpose: request.purpose });
    if (proof) checkBinding(claims, proof.jkt);
    const decision = (await deps.store.decisionByJti(claims.jti))!;
    await checkLoggedToken(deps.store, token, decision.tokenIndex!, `tokens[${i}]`);
    admitted.set(node.id, { node: node.id, token, jti: claims.jti, tokenIndex: decision.tokenIndex!, quota: claims.vg_scope.quota, budget: claims.vg_scope.budget });
  }
  datasets.forEach((d) => {
    if (!admitted.has(d.node)) {
      const i = request.query.datasets.indexOf(d.id);
      throw new GatewayError('token_missing', `query.datasets[${i}]: no consent token of ${d.node} covers '${d.id}'`, { field: `query.datasets[${i}]` });
    }
  });
  return { tokens: admitted, tokenDigests: digests, dpop: dpop ?? '', requestDigest: proof?.requestDigest };
}
