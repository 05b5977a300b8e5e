/**
 * Access requests, per-institution decisions, approvals, consent tokens and their use, on
 * the hub's SQLite store. Every change appends its audit event in the same transaction, and
 * each event points back to the entries it rests on (request → approvals → token), so that
 * a trace walks from a query to the operators who allowed it.
 */
import type { DatabaseSync } from 'node:sqlite';
import { sha256Hex } from '@veilgate/sdk';
import { auditEvent, type HubEvent } from '../audit/events.ts';
import type { SignedLog } from '../audit/signed-log.ts';
import { GatewayError } from '../errors.ts';
import type { AccessRequestRow, AccessStore, AccountRow, DecisionRow } from './state-store.ts';

export const ACCESS_MIGRATION = `
  CREATE TABLE access_requests (
    id TEXT PRIMARY KEY, researcher TEXT NOT NULL REFERENCES accounts(id), body TEXT NOT NULL,
    identity_jkt TEXT NOT NULL, withdrawn INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, log_index INTEGER NOT NULL);
  CREATE TABLE access_decisions (
    request_id TEXT NOT NULL REFERENCES access_requests(id), node TEXT NOT NULL, datasets TEXT NOT NULL,
    required_approvals INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT, decided_at TEXT,
    token TEXT, token_jti TEXT UNIQUE, expires_at TEXT, token_index INTEGER, queries_used INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (request_id, node));
  CREATE TABLE access_approvals (
    request_id TEXT NOT NULL, node TEXT NOT NULL, operator TEXT NOT NULL, at TEXT NOT NULL, log_index INTEGER NOT NULL,
    PRIMARY KEY (request_id, node, operator));`;

/** Operators' signed statements (protocol.md §9), kept with each approval and denial. */
export const SIGNED_DECISIONS_MIGRATION = `
  ALTER TABLE access_approvals ADD COLUMN statement TEXT;
  ALTER TABLE access_decisions ADD COLUMN decision_statement TEXT;`;

type Row = Record<string, unknown>;
const enc = new TextEncoder();

/**
 * The access part of the store.
 *
 * @example
 * const access = openAccessStore(db, audit, transaction, findAccount);
 */
export function openAccessStore(
  db: DatabaseSync,
  audit: SignedLog,
  transaction: <T>(work: () => T) => T,
  accountById: (id: string) => AccountRow | undefined,
): AccessStore {
  const q = {
    insertRequest: db.prepare('INSERT INTO access_requests (id, researcher, body, identity_jkt, created_at, log_index) VALUES (?, ?, ?, ?, ?, ?)'),
    insertDecision: db.prepare(`INSERT INTO access_decisions (request_id, node, datasets, required_approvals, state) VALUES (?, ?, ?, ?, 'pending')`),
    request: db.prepare('SELECT * FROM access_requests WHERE id = ?'),
    all: db.prepare('SELECT * FROM access_requests ORDER BY created_at DESC, id'),
    byResearcher: db.prepare('SELECT * FROM access_requests WHERE researcher = ? ORDER BY created_at DESC, id'),
    byNode: db.prepare('SELECT r.* FROM access_requests r JOIN access_decisions d ON d.request_id = r.id WHERE d.node = ? ORDER BY r.created_at DESC, r.id'),
    decisions: db.prepare('SELECT * FROM access_decisions WHERE request_id = ? ORDER BY node'),
    decision: db.prepare('SELECT * FROM access_decisions WHERE request_id = ? AND node = ?'),
    approvals: db.prepare('SELECT * FROM access_approvals WHERE request_id = ? AND node = ? ORDER BY at, operator'),
    insertApproval: db.prepare('INSERT INTO access_approvals (request_id, node, operator, at, log_index, statement) VALUES (?, ?, ?, ?, ?, ?)'),
    withdraw: db.prepare('UPDATE access_requests SET withdrawn = 1 WHERE id = ?'),
    deny: db.prepare(`UPDATE access_decisions SET state = 'denied', reason = ?, decided_at = ?, decision_statement = ? WHERE request_id = ? AND node = ? AND state = 'pending'`),
    approve: db.prepare(`UPDATE access_decisions SET state = 'approved', decided_at = ?, token = ?, token_jti = ?, expires_at = ?, token_index = ? WHERE request_id = ? AND node = ? AND state = 'pending'`),
    revoke: db.prepare(`UPDATE access_decisions SET state = 'revoked', reason = ?, decided_at = ? WHERE request_id = ? AND node = ? AND state = 'approved'`),
    byJti: db.prepare('SELECT * FROM access_decisions WHERE token_jti = ?'),
    grants: db.prepare(`SELECT d.* FROM access_decisions d JOIN access_requests r ON r.id = d.request_id WHERE r.researcher = ? AND d.state = 'approved' AND d.expires_at > ? ORDER BY d.expires_at DESC`),
    releaseToken: db.prepare('UPDATE access_decisions SET queries_used = queries_used - 1 WHERE token_jti = ? AND queries_used > 0'),
    useToken: db.prepare(`UPDATE access_decisions SET queries_used = queries_used + 1 WHERE token_jti = ? AND state = 'approved' AND queries_used < ?`),
  };

  const decisionOf = (r: Row): DecisionRow => ({
    requestId: r.request_id as string,
    node: r.node as string,
    datasets: JSON.parse(r.datasets as string) as string[],
    requiredApprovals: Number(r.required_approvals),
    state: r.state as DecisionRow['state'],
    reason: (r.reason as string | null) ?? null,
    decidedAt: (r.decided_at as string | null) ?? null,
    token: (r.token as string | null) ?? null,
    tokenJti: (r.token_jti as string | null) ?? null,
    expiresAt: (r.expires_at as string | null) ?? null,
    tokenIndex: r.token_index === null ? null : Number(r.token_index),
    queriesUsed: Number(r.queries_used),
    approvals: (q.approvals.all(r.request_id as string, r.node as string) as Row[]).map((a) => ({
      operator: a.operator as string, at: a.at as string, logIndex: Number(a.log_index), statement: (a.statement as string | null) ?? null,
    })),
  });
  const requestOf = (r: Row): AccessRequestRow => ({
    ...(JSON.parse(r.body as string) as Omit<AccessRequestRow, 'id' | 'researcher' | 'withdrawn' | 'createdAt' | 'logIndex' | 'decisions' | 'identityJkt'>),
    id: r.id as string,
    researcher: r.researcher as string,
    identityJkt: r.identity_jkt as string,
    withdrawn: Number(r.withdrawn) === 1,
    createdAt: r.created_at as string,
    logIndex: Number(r.log_index),
    decisions: (q.decisions.all(r.id as string) as Row[]).map(decisionOf),
  });
  const mustRequest = (id: string): AccessRequestRow => {
    const r = q.request.get(id) as Row | undefined;
    if (!r) throw new GatewayError('not_found', `requestId: no access request ${id}`, { field: 'requestId' });
    return requestOf(r);
  };
  const operatorIndex = (operator: string): number => accountById(operator)?.logIndex ?? -1;

  return {
    async createAccessRequest(input, decisions) {
      return transaction(() => {
        const researcher = accountById(input.researcher)!;
        const { id, researcher: _r, identityJkt, createdAt, ...body } = input;
        const logIndex = audit.appendSync(auditEvent<HubEvent>({
          type: 'access.requested', requestId: id, account: researcher.id, accountIndex: researcher.logIndex,
          datasets: body.datasets, elements: body.elements, operations: body.operations, purpose: body.purpose,
          justificationSha256: sha256Hex(enc.encode(body.justification)), durationDays: body.durationDays,
          privacyBudget: body.privacyBudget, queryQuota: body.queryQuota, identityJkt,
        }));
        q.insertRequest.run(id, input.researcher, JSON.stringify(body), identityJkt, createdAt, logIndex);
        for (const d of decisions) q.insertDecision.run(id, d.node, JSON.stringify(d.datasets), d.requiredApprovals);
        return mustRequest(id);
      });
    },
    async getAccessRequest(id) {
      const r = q.request.get(id) as Row | undefined;
      return r && requestOf(r);
    },
    async listAccessRequests(filter) {
      const rows = filter.researcher ? q.byResearcher.all(filter.researcher) : filter.node ? q.byNode.all(filter.node) : q.all.all();
      return (rows as Row[]).map(requestOf);
    },
    async withdrawAccessRequest(id) {
      return transaction(() => {
        const request = mustRequest(id);
        if (request.withdrawn || request.decisions.some((d) => d.state !== 'pending' || d.approvals.length > 0)) {
          throw new GatewayError('request_not_pending', `request ${id} has already been decided on (in part) or withdrawn`, { field: 'requestId' });
        }
        audit.appendSync(auditEvent<HubEvent>({ type: 'access.withdrawn', requestId: id, requestIndex: request.logIndex }));
        q.withdraw.run(id);
        return mustRequest(id);
      });
    },
    async addApproval(requestId, node, operator, statement, token) {
      return transaction(() => {
        const request = mustRequest(requestId);
        const decision = request.decisions.find((d) => d.node === node)!;
        if (request.withdrawn || decision.state !== 'pending') {
          throw new GatewayError('request_not_pending', `the decision of ${node} on request ${requestId} is already ${request.withdrawn ? 'withdrawn' : decision.state}`, { field: 'requestId' });
        }
        if (decision.approvals.some((a) => a.operator === operator)) {
          throw new GatewayError('duplicate_approval', `operator ${operator} has already approved this request; a second approval must come from another operator`, { field: 'decision' });
        }
        const at = new Date().toISOString();
        const approvalIndex = audit.appendSync(auditEvent<HubEvent>({
          type: 'access.approved', requestId, requestIndex: request.logIndex, node, operator, operatorIndex: operatorIndex(operator),
          statementSha256: sha256Hex(enc.encode(statement)),
        }));
        q.insertApproval.run(requestId, node, operator, at, approvalIndex, statement);
        if (token) {
          const tokenIndex = audit.appendSync(auditEvent<HubEvent>({
            type: 'token.issued', requestId, requestIndex: request.logIndex, node, jti: token.jti, expiresAt: token.expiresAt,
            tokenSha256: sha256Hex(enc.encode(token.token)), approvalIndexes: [...decision.approvals.map((a) => a.logIndex), approvalIndex],
          }));
          q.approve.run(at, token.token, token.jti, token.expiresAt, tokenIndex, requestId, node);
        }
        return mustRequest(requestId);
      });
    },
    async denyDecision(requestId, node, operator, reason, statement) {
      return transaction(() => {
        const request = mustRequest(requestId);
        const decision = request.decisions.find((d) => d.node === node)!;
        if (request.withdrawn || decision.state !== 'pending') throw new GatewayError('request_not_pending', `the decision of ${node} on request ${requestId} is already ${decision.state}`, { field: 'requestId' });
        audit.appendSync(auditEvent<HubEvent>({
          type: 'access.denied', requestId, requestIndex: request.logIndex, node, operator, operatorIndex: operatorIndex(operator), reason,
          statementSha256: sha256Hex(enc.encode(statement)),
        }));
        q.deny.run(reason, new Date().toISOString(), statement, requestId, node);
        return mustRequest(requestId);
      });
    },
    async revokeDecision(requestId, node, operator, reason) {
      return transaction(() => {
        const request = mustRequest(requestId);
        const decision = request.decisions.find((d) => d.node === node)!;
        if (decision.state !== 'approved') throw new GatewayError('request_not_pending', `there is no grant of ${node} in force on request ${requestId}`, { field: 'requestId' });
        audit.appendSync(auditEvent<HubEvent>({
          type: 'access.revoked', requestId, node, jti: decision.tokenJti!, tokenIndex: decision.tokenIndex!, operator, operatorIndex: operatorIndex(operator), reason,
        }));
        q.revoke.run(reason, new Date().toISOString(), requestId, node);
        return mustRequest(requestId);
      });
    },
    async decisionByJti(jti) {
      const r = q.byJti.get(jti) as Row | undefined;
      return r && decisionOf(r);
    },
    async grantsOf(researcher, now) {
      return (q.grants.all(researcher, now.toISOString()) as Row[]).map((r) => ({ decision: decisionOf(r), request: mustRequest(r.request_id as string) }));
    },
    useTokensSync(tokens) {
      for (const t of tokens) {
        // Quota (issue: per-grant query quota) is spent atomically with the query's acceptance.
        if (Number(q.useToken.run(t.jti, t.quota).changes) !== 1) {
          throw new GatewayError('quota_exhausted', `the grant of ${t.node} (token ${t.jti}) has no queries left in its quota`, { field: 'tokens' });
        }
      }
    },
    releaseTokensSync(jtis) {
      // protocol.md §11: a failed query gives its quota back, like its credits and ρ.
      for (const jti of jtis) q.releaseToken.run(jti);
    },
  };
}
