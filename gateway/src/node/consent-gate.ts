/**
 * The node's side of consent (DESIGN §7, issue 3): it signs consent tokens for its own
 * datasets once its policy is met, keeps the revocations, and before every computation
 * re-verifies its token and the researcher's DPoP proof itself — the hub's word is not
 * enough for data this institution holds.
 */
import type { DatabaseSync } from 'node:sqlite';
import {
  ConsentError, canonicalSha256, checkBinding, checkScope, decisionDifference, decodeConsentTokenUnverified, fromBase64Url, isConsentError,
  jwkThumbprint, queryStatement, queryStatementDigest, signConsentToken, tokenDigests, verifyConsentToken, verifyDecision, verifyDpopProof, elementsOfQuery,
  type ComputeRequestBody, type DecisionContent, type DecisionStatement, type EnrolledOperator, type components,
} from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import type { DatasetEngine } from '../datasets/duckdb-dataset.ts';
import type { NodeKeySet } from '../consent/node-keys.ts';
import type { NodeOperator } from '../server/config.ts';
import type { IssuedGrants } from './issued-grants.ts';

type TokenIssueRequest = components['schemas']['TokenIssueRequest'];

/** What the gate needs. */
export interface ConsentGateDeps {
  nodeId: string;
  hubId: string;
  engine: DatasetEngine;
  keys: NodeKeySet;
  /** DPoP `jti` replay check: true when already seen (records it otherwise). */
  seen: (jti: string, expiresAt: number) => boolean;
  /** The operators this node enrolled (its configuration, never the hub). */
  operators: () => NodeOperator[];
  /** The tokens this node signed and the budgets they grant (its state file). */
  issued: IssuedGrants;
}

/** Revoked token ids, durable in the node's state file. */
export interface RevocationList {
  add(jti: string): void;
  has(jti: string): boolean;
}

/**
 * A revocation list in the node's state database.
 *
 * @example
 * const revoked = openRevocationList(db); revoked.add(jti);
 */
export function openRevocationList(db: DatabaseSync): RevocationList {
  db.exec('CREATE TABLE IF NOT EXISTS revoked_tokens (jti TEXT PRIMARY KEY, at TEXT NOT NULL)');
  const add = db.prepare('INSERT OR IGNORE INTO revoked_tokens (jti, at) VALUES (?, ?)');
  const has = db.prepare('SELECT 1 FROM revoked_tokens WHERE jti = ?');
  return {
    add: (jti) => void add.run(jti, new Date().toISOString()),
    has: (jti) => has.get(jti) !== undefined,
  };
}

/** The default ρ ceiling per researcher and dataset across all unexpired grants (protocol.md §9). */
export const DEFAULT_RESEARCHER_BUDGET_CEILING = 2;

/** The enrolled operators by key id (RFC 7638 thumbprint): the node's own, from its configuration. */
async function enrolledByKid(operators: NodeOperator[]): Promise<Map<string, EnrolledOperator>> {
  const byKid = new Map<string, EnrolledOperator>();
  for (const o of operators) {
    const publicJwk = { kty: 'OKP', crv: 'Ed25519', x: o.publicKey } as const;
    byKid.set(await jwkThumbprint(publicJwk), { account: o.account, publicJwk });
  }
  return byKid;
}

/**
 * Verifies the operators' signed approvals (protocol.md §9): each against THIS node's enrolled
 * keys (the hub cannot add one), each an approval whose content equals the token request
 * exactly (a statement for another request, node, researcher, key or a narrower scope is
 * refused), and enough DISTINCT enrolled operators. Returns their account ids.
 */
async function verifyApprovals(deps: ConsentGateDeps, body: TokenIssueRequest, expected: DecisionContent, required: number): Promise<string[]> {
  const enrolled = await enrolledByKid(deps.operators());
  const approvers = new Set<string>();
  for (const [i, statement] of body.signedApprovals.entries()) {
    const field = `signedApprovals[${i}]`;
    let s: DecisionStatement;
    try {
      s = await verifyDecision(statement, { operators: (kid) => enrolled.get(kid), audience: deps.nodeId });
    } catch (e) {
      if (isConsentError(e)) throw new GatewayError('approval_invalid', `${field}: ${e.message}`, { field });
      throw e;
    }
    const differs = decisionDifference(s, { ...expected, operator: s.operator });
    if (differs) throw new GatewayError('approval_invalid', `${field}: the approval's ${differs} is not what this token would grant`, { field });
    approvers.add(s.operator);
  }
  if (approvers.size < required) {
    throw new GatewayError('forbidden', `signedApprovals: ${required} distinct enrolled operators must approve, got ${approvers.size}`, { field: 'signedApprovals' });
  }
  return [...approvers];
}

/**
 * Signs a consent token after checking the request against this node's own policy: its own,
 * non-core datasets, the elements they provide, approvals signed by enough distinct enrolled
 * operators over exactly this grant, and each dataset's ρ ceiling per researcher across all
 * their unexpired grants. Asked again for the same request, it returns the same token.
 *
 * @example
 * const { token, jti, expiresAt, approvals } = await issueToken(deps, body);
 */
export async function issueToken(deps: ConsentGateDeps, body: TokenIssueRequest): Promise<{ token: string; jti: string; expiresAt: string; kid: string; approvals: string[]; fresh: boolean }> {
  let required = 1;
  const budgets = body.datasets.map((id, i) => {
    const d = deps.engine.datasets.get(id);
    if (!d) throw new GatewayError('unknown_dataset', `datasets[${i}]: this node holds no dataset '${id}'`, { field: `datasets[${i}]` });
    if (d.classification === 'core') throw new GatewayError('dataset_not_queryable', `datasets[${i}]: '${id}' is core (核心): never computed on in the data space`, { field: `datasets[${i}]` });
    const missing = body.elements.find((e) => !(e in d.config.elements));
    if (missing) throw new GatewayError('element_not_in_dataset', `datasets[${i}]: '${id}' does not provide '${missing}'`, { field: `datasets[${i}]` });
    required = Math.max(required, d.requiredApprovals);
    return { dataset: id, budget: body.privacyBudget, ceiling: d.config.differentialPrivacy?.researcherBudgetCeiling ?? DEFAULT_RESEARCHER_BUDGET_CEILING };
  });
  const expected: DecisionContent = {
    request: body.requestId, decision: 'approve', operator: '', node: deps.nodeId, researcher: body.researcher, identityJkt: body.identityJkt,
    datasets: body.datasets, elements: body.elements, operations: body.operations, purpose: body.purpose,
    privacyBudget: body.privacyBudget, queryQuota: body.queryQuota, durationDays: body.durationDays,
  };
  const approvals = await verifyApprovals(deps, body, expected, required);
  const contentSha256 = canonicalSha256({ ...expected, operator: undefined });
  const already = deps.issued.byRequest(body.requestId);
  if (already) {
    // A retry (the hub lost our answer) gets the same token: one request, one grant, one budget.
    if (already.contentSha256 !== contentSha256) throw new GatewayError('request_not_pending', `requestId: this node already signed a token for request ${body.requestId}`, { field: 'requestId' });
    const kid = String(decodeConsentTokenUnverified(already.token).header.kid);
    return { token: already.token, jti: already.jti, expiresAt: already.expiresAt, kid, approvals, fresh: false };
  }
  const now = new Date();
  deps.issued.checkCeilings(body.researcher, budgets, now);
  const key = deps.keys.signingKey();
  const durationSeconds = body.durationDays * 86_400;
  // A rotated key stays published for this long; a longer token would outlive its key.
  if (durationSeconds > deps.keys.maxTokenLifetimeSeconds) {
    throw new GatewayError('invalid_request', `durationDays: at most ${deps.keys.maxTokenLifetimeSeconds / 86_400} days`, { field: 'durationDays' });
  }
  const token = await signConsentToken(
    {
      iss: deps.nodeId, sub: body.researcher, aud: deps.hubId, request: body.requestId, approvals,
      cnf: { jkt: body.identityJkt },
      vg_scope: { datasets: body.datasets, elements: body.elements, operations: body.operations, purpose: body.purpose, budget: body.privacyBudget, quota: body.queryQuota },
      durationSeconds,
    },
    key,
  );
  const { claims } = decodeConsentTokenUnverified(token);
  const expiresAt = new Date(claims.exp * 1000).toISOString();
  // Checked again with the insert, atomically: a concurrent grant cannot slip past the ceiling.
  deps.issued.record({ requestId: body.requestId, researcher: body.researcher, token, jti: claims.jti, expiresAt, contentSha256, budgets }, now);
  return { token, jti: claims.jti, expiresAt, kid: key.kid, approvals, fresh: true };
}

/** The `htu` a proof states (read before verification, to check its path; then verified). */
function statedHtu(proof: string): string {
  try {
    const payload = JSON.parse(new TextDecoder().decode(fromBase64Url(proof.split('.')[1] ?? ''))) as { htu?: unknown };
    if (typeof payload.htu === 'string' && new URL(payload.htu).pathname === '/v1/queries') return payload.htu;
  } catch {
    // fall through
  }
  throw new ConsentError('dpop_invalid', 'DPoP proof htu is not the hub query endpoint', { field: 'DPoP' });
}

/** The operations a query performs, for scope checks. */
export function operationsOfQuery(query: ComputeRequestBody['query']): string[] {
  return [...new Set(query.aggregates.map((a) => a.op))];
}

/** What the node admitted a computation under. */
export interface AdmittedComputation {
  jti: string;
  purpose: string;
  /** The token's privacy budget (ρ) and query quota, which the node's own ledger enforces. */
  budget: number;
  quota: number;
}

/**
 * Verifies this node's consent token and the researcher's signature over the whole request
 * for a computation: the DPoP proof (RFC 9449) by the key the token is bound to, whose
 * `vg_req` claim must be the digest of the statement this node rebuilds from what the hub
 * sent — query, HE key, purpose, ρ, participants and tokens (protocol.md §9.1). The hub can
 * change none of them; the datasets this node computes on must be exactly the query's
 * datasets that this node holds.
 *
 * @example
 * const { jti, purpose, budget, quota } = await admitComputation(deps, revoked, body);
 */
export async function admitComputation(deps: ConsentGateDeps, revoked: RevocationList, body: ComputeRequestBody): Promise<AdmittedComputation> {
  const claims = await verifyConsentToken(body.token, {
    keys: (kid) => deps.keys.lookup(kid),
    issuer: deps.nodeId,
    audience: deps.hubId,
    subject: body.account,
    isRevoked: (jti) => revoked.has(jti),
  });
  checkScope(claims, { datasets: body.datasets, elements: elementsOfQuery(body.query), operations: operationsOfQuery(body.query), purpose: body.purpose });
  const own = body.query.datasets.filter((id) => deps.engine.datasets.has(id));
  if (own.length !== body.datasets.length || own.some((id, i) => body.datasets[i] !== id)) {
    throw new GatewayError('statement_mismatch', 'datasets: not the query\'s datasets held by this node', { field: 'datasets' });
  }
  // RFC 9449 §4.3: the node checks the proof itself. The hub checked htu against the URL it
  // was sent to; here only its path can be known. `ath` covers this node's token: the token
  // itself when it travels alone (RFC 9449 §4.2), else the sorted digests of all of them.
  const own256 = tokenDigests([body.token])[0]!;
  if (!body.tokenDigests.includes(own256)) {
    throw new ConsentError('dpop_invalid', 'tokenDigests: the proof does not cover this node\'s token', { field: 'tokenDigests' });
  }
  const accessTokens = body.tokenDigests.length === 1 ? [body.token] : body.tokenDigests;
  const proof = await verifyDpopProof(body.dpop, { htm: 'POST', htu: statedHtu(body.dpop), accessTokens, seen: deps.seen });
  checkBinding(claims, proof.jkt);
  // protocol.md §9.1: the researcher signed this exact request, or nothing is computed.
  const statement = queryStatement({
    keyId: body.keyId, query: body.query, purpose: body.purpose, rho: body.rho,
    participants: body.participants.map((p) => p.node), tokenDigests: body.tokenDigests,
    ...(body.threshold === undefined ? {} : { threshold: body.threshold }),
  });
  if (proof.requestDigest === undefined || proof.requestDigest !== queryStatementDigest(statement)) {
    throw new GatewayError('statement_mismatch', 'DPoP: the researcher did not sign this request (query, key, purpose, ρ, participants or tokens differ)', { field: 'dpop' });
  }
  return { jti: claims.jti, purpose: claims.vg_scope.purpose, budget: claims.vg_scope.budget, quota: claims.vg_scope.quota };
}
