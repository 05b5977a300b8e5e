/**
 * Access requests at the hub (DESIGN §4 step 2, §7): researchers ask, each institution's
 * operators decide on their own datasets, the institution's node signs the consent token.
 * Operators sign each decision with their own key (protocol.md §9); the hub checks that a
 * statement says what the request says, keeps it, logs its hash and relays the approvals to
 * the node — which verifies them against its own enrolled keys and applies its own policy
 * again before it signs. The hub cannot make an approval up.
 */
import { randomBytes } from 'node:crypto';
import type { Router } from 'express';
import {
  decisionContentOf, decisionDifference, decodeDecisionUnverified, isConsentError, jwkThumbprint, toBase64Url,
  type components, type DataElement,
} from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import { mountOperation, type SecurityHandlers } from '../http/openapi.ts';
import type { AccessRequestRow, AccountRow, StateStore } from '../store/state-store.ts';
import { accountOf, requireRole } from './accounts.ts';
import type { CatalogSource, NodeRegistration } from './catalog.ts';
import { callNode } from './node-call.ts';
import { serializeByKey } from './serialize-by-key.ts';

type S = components['schemas'];

/** What the access routes need. */
export interface AccessDeps {
  store: StateStore;
  catalog: CatalogSource;
  nodes: () => NodeRegistration[];
  dictionary: DataElement[];
  hubSigningKey: string;
  onLogged: () => void;
}

/** The overall state of a request, from its decisions (issue: submitted → approved/denied…). */
export function requestState(r: AccessRequestRow, now = new Date()): S['AccessRequestState'] {
  if (r.withdrawn) return 'withdrawn';
  const live = r.decisions.filter((d) => d.state === 'approved' && d.expiresAt !== null && d.expiresAt > now.toISOString());
  if (live.length > 0) return 'active';
  if (r.decisions.some((d) => d.state === 'pending')) return 'submitted';
  if (r.decisions.some((d) => d.state === 'approved')) return 'expired';
  if (r.decisions.some((d) => d.state === 'revoked')) return 'revoked';
  return 'denied';
}

/** The wire form of a stored request. */
export function presentRequest(r: AccessRequestRow, now = new Date()): S['AccessRequest'] {
  return {
    id: r.id, researcher: r.researcher, state: requestState(r, now), datasets: r.datasets, elements: r.elements,
    operations: r.operations, purpose: r.purpose, justification: r.justification, durationDays: r.durationDays,
    privacyBudget: r.privacyBudget, queryQuota: r.queryQuota, identityJkt: r.identityJkt, createdAt: r.createdAt,
    decisions: r.decisions.map((d) => ({
      node: d.node, datasets: d.datasets,
      state: d.state === 'approved' && d.expiresAt !== null && d.expiresAt <= now.toISOString() ? 'expired' : d.state,
      approvals: d.approvals.map((a) => ({ operator: a.operator, at: a.at, ...(a.statement ? { statement: a.statement } : {}) })),
      requiredApprovals: d.requiredApprovals,
      ...(d.reason ? { reason: d.reason } : {}), ...(d.decidedAt ? { decidedAt: d.decidedAt } : {}),
      ...(d.tokenJti ? { tokenJti: d.tokenJti } : {}), ...(d.expiresAt ? { expiresAt: d.expiresAt } : {}),
    })),
  };
}

/** Who may see a request: its researcher, operators of an institution it touches, auditors, admins. */
function maySee(account: AccountRow, r: AccessRequestRow): boolean {
  if (account.role === 'auditor' || account.role === 'admin') return true;
  if (account.role === 'researcher') return r.researcher === account.id;
  return r.decisions.some((d) => d.node === account.node);
}

/**
 * Mounts the access-request routes.
 *
 * @example
 * mountAccessRoutes(app, security, deps);
 */
export function mountAccessRoutes(router: Router, security: SecurityHandlers, deps: AccessDeps): void {
  // protocol.md §9 (approval races): every change to one request — approve (read → node signs
  // → commit), deny, withdraw, revoke — runs alone, so the node is asked to sign only for a
  // decision still pending here, and what it signs is what the hub then commits. Without it,
  // approve racing deny left a token signed and logged at the node that the hub refused.
  const perRequest = serializeByKey();
  const load = async (id: string, account: AccountRow): Promise<AccessRequestRow> => {
    const r = await deps.store.getAccessRequest(id);
    if (!r || !maySee(account, r)) throw new GatewayError('not_found', `requestId: no access request ${id}`, { field: 'requestId' });
    return r;
  };
  /** For operators' decisions: a request that exists but is not theirs is forbidden, not hidden. */
  const loadForOperator = async (id: string, account: AccountRow): Promise<AccessRequestRow> => {
    const r = await deps.store.getAccessRequest(id);
    if (!r) throw new GatewayError('not_found', `requestId: no access request ${id}`, { field: 'requestId' });
    return r;
  };
  const operatorDecision = (r: AccessRequestRow, account: AccountRow) => {
    // Only the institution that holds a dataset can grant access to it (issue 3).
    const decision = r.decisions.find((d) => d.node === account.node);
    if (!decision) throw new GatewayError('forbidden', `operators of ${account.node ?? 'no institution'} cannot decide on request ${r.id}: it asks for no dataset of theirs`);
    return decision;
  };

  /**
   * The operator's signed statement must say what this request says, for this operator, their
   * institution, this decision and reason. The hub cannot verify the signature (only the node
   * holds the enrolled keys) but refuses a statement that could never be accepted there.
   */
  const checkStatement = (r: AccessRequestRow, node: string, account: AccountRow, body: S['DecisionInput']): void => {
    let differs: string | undefined;
    try {
      const stated = decodeDecisionUnverified(body.statement);
      const expected = decisionContentOf(presentRequest(r), { operator: account.id, node, decision: body.decision, ...(body.reason === undefined ? {} : { reason: body.reason }) });
      differs = decisionDifference(stated, expected);
    } catch (e) {
      if (isConsentError(e)) throw new GatewayError('approval_invalid', `statement: ${e.message}`, { field: 'statement' });
      throw e;
    }
    if (differs) throw new GatewayError('approval_invalid', `statement: its ${differs} differs from this request and decision`, { field: 'statement' });
  };

  mountOperation(router, 'createAccessRequest', security, requireRole('researcher'), async (req, res) => {
    const body = req.body as S['AccessRequestInput'];
    const account = accountOf(res);
    const catalog = await deps.catalog.get({ refresh: true });
    const byNode = new Map<string, { datasets: string[]; requiredApprovals: number }>();
    body.datasets.forEach((id, i) => {
      const d = catalog.datasets.get(id);
      if (!d) throw new GatewayError('unknown_dataset', `datasets[${i}]: no dataset '${id}' in the catalog`, { field: `datasets[${i}]` });
      if (!d.queryable) throw new GatewayError('dataset_not_queryable', `datasets[${i}]: '${id}' is classified core (核心) and is never computed on in the data space`, { field: `datasets[${i}]` });
      const missing = body.elements.find((e) => !d.elements.includes(e));
      if (missing) throw new GatewayError('element_not_in_dataset', `datasets[${i}]: '${id}' does not provide element '${missing}'`, { field: `datasets[${i}]` });
      const entry = byNode.get(d.node) ?? { datasets: [], requiredApprovals: 1 };
      entry.datasets.push(id);
      entry.requiredApprovals = Math.max(entry.requiredApprovals, d.requiredApprovals);
      byNode.set(d.node, entry);
    });
    body.elements.forEach((e, i) => {
      if (!deps.dictionary.some((x) => x.name === e)) throw new GatewayError('unknown_element', `elements[${i}]: unknown data element '${e}'`, { field: `elements[${i}]` });
    });
    const { d: _private, ...identityKey } = body.identityKey as S['PublicJwk'] & { d?: unknown };
    if (_private !== undefined) throw new GatewayError('invalid_request', 'identityKey must be a public key (no "d" member)', { field: 'identityKey.d' });
    const created = await deps.store.createAccessRequest(
      {
        id: `ar_${toBase64Url(randomBytes(16))}`, researcher: account.id, datasets: body.datasets, elements: body.elements,
        operations: body.operations, purpose: body.purpose, justification: body.justification, durationDays: body.durationDays,
        privacyBudget: body.privacyBudget, queryQuota: body.queryQuota, identityKey, identityJkt: await jwkThumbprint(identityKey),
        createdAt: new Date().toISOString(),
      },
      [...byNode].map(([node, v]) => ({ node, ...v })),
    );
    deps.onLogged();
    res.status(201).json(presentRequest(created));
  });

  mountOperation(router, 'listAccessRequests', security, async (req, res) => {
    const account = accountOf(res);
    const filter = account.role === 'researcher' ? { researcher: account.id } : account.role === 'operator' ? { node: account.node ?? '-' } : {};
    const rows = await deps.store.listAccessRequests(filter);
    const state = req.query.state as string | undefined;
    const requests = rows.map((r) => presentRequest(r)).filter((r) => !state || r.state === state);
    res.json({ requests });
  });

  mountOperation(router, 'getAccessRequest', security, async (req, res) => {
    res.json(presentRequest(await load(req.params.requestId as string, accountOf(res))));
  });

  mountOperation(router, 'withdrawAccessRequest', security, requireRole('researcher'), async (req, res) => {
    const updated = await perRequest.run(req.params.requestId as string, async () => {
      const r = await load(req.params.requestId as string, accountOf(res));
      return deps.store.withdrawAccessRequest(r.id);
    });
    deps.onLogged();
    res.json(presentRequest(updated));
  });

  mountOperation(router, 'decideAccessRequest', security, requireRole('operator'), async (req, res) => {
    const account = accountOf(res);
    const body = req.body as S['DecisionInput'];
    const updated = await perRequest.run(req.params.requestId as string, () => decide(req.params.requestId as string, account, body));
    deps.onLogged();
    res.json(presentRequest(updated));
  });

  /** One operator's decision, alone on its request (see `perRequest`). */
  const decide = async (requestId: string, account: AccountRow, body: S['DecisionInput']): Promise<AccessRequestRow> => {
    const r = await loadForOperator(requestId, account);
    const decision = operatorDecision(r, account);
    if (body.decision === 'deny') {
      if (!body.reason) throw new GatewayError('invalid_request', 'reason is required to deny a request', { field: 'reason' });
      checkStatement(r, decision.node, account, body);
      return deps.store.denyDecision(r.id, decision.node, account.id, body.reason, body.statement);
    }
    if (r.withdrawn || decision.state !== 'pending') throw new GatewayError('request_not_pending', `the decision of ${decision.node} on request ${r.id} is already ${r.withdrawn ? 'withdrawn' : decision.state}`, { field: 'requestId' });
    if (decision.approvals.some((a) => a.operator === account.id)) {
      throw new GatewayError('duplicate_approval', 'this operator has already approved; the second approval of an important dataset must come from another operator', { field: 'decision' });
    }
    checkStatement(r, decision.node, account, body);
    const approvals = [...decision.approvals.flatMap((a) => (a.statement ? [a.statement] : [])), body.statement];
    let token: { token: string; jti: string; expiresAt: string } | undefined;
    if (decision.approvals.length + 1 >= decision.requiredApprovals) {
      // The node signs — after checking the approvals against its own policy (no half-done
      // approval is recorded if it refuses or cannot be reached).
      const node = deps.nodes().find((n) => n.id === decision.node);
      if (!node) throw new GatewayError('node_unavailable', `node ${decision.node} is not registered`, { node: decision.node });
      token = (await callNode(node, '/v1/tokens', deps.hubSigningKey, {
        requestId: r.id, issuedAt: Date.now(), researcher: r.researcher, identityJkt: r.identityJkt, datasets: decision.datasets,
        elements: r.elements, operations: r.operations, purpose: r.purpose, privacyBudget: r.privacyBudget, queryQuota: r.queryQuota,
        durationDays: r.durationDays, signedApprovals: approvals,
      } satisfies S['TokenIssueRequest'])) as { token: string; jti: string; expiresAt: string };
    }
    return deps.store.addApproval(r.id, decision.node, account.id, body.statement, token);
  };

  mountOperation(router, 'revokeAccess', security, requireRole('operator'), async (req, res) => {
    const account = accountOf(res);
    const { decision, updated } = await perRequest.run(req.params.requestId as string, async () => {
      const r = await loadForOperator(req.params.requestId as string, account);
      const decision = operatorDecision(r, account);
      return { decision, updated: await deps.store.revokeDecision(r.id, decision.node, account.id, (req.body as { reason: string }).reason) };
    });
    deps.onLogged();
    // The hub refuses the token from now on; tell the node too (it refuses at its next computation).
    const node = deps.nodes().find((n) => n.id === decision.node);
    if (node && decision.tokenJti) await callNode(node, '/v1/revocations', deps.hubSigningKey, { jti: decision.tokenJti, requestId: req.params.requestId as string, issuedAt: Date.now() }).catch(() => undefined);
    res.json(presentRequest(updated));
  });

  mountOperation(router, 'listGrants', security, requireRole('researcher'), async (_req, res) => {
    const grants = await deps.store.grantsOf(accountOf(res).id, new Date());
    res.json({
      grants: grants.map(({ decision: d, request: r }) => ({
        requestId: r.id, node: d.node, datasets: d.datasets, elements: r.elements, operations: r.operations, purpose: r.purpose,
        token: d.token!, jti: d.tokenJti!, expiresAt: d.expiresAt!, queryQuota: r.queryQuota, queriesUsed: d.queriesUsed, identityJkt: r.identityJkt,
      })),
    });
  });
}
