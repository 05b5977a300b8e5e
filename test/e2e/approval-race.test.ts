/**
 * Approval races (issue 11): operators deciding one request at once — two operators
 * approving, approve racing deny, the same operator twice, the two approvals of an important
 * dataset — must leave hub and node in agreement (protocol.md §9): the node signs a token only
 * for a decision the hub commits, once, and the hub records exactly the token the node signed.
 * Real hub and nodes over HTTP, 20 decisions sent together with Promise.all; the oracle is the
 * node's own state file (issued_tokens) and its own log (token.signed), held against the hub's
 * store and log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ApiError, VeilgateClient, generateIdentityKey, importOperatorKey, sha256Hex, type IdentityKey, type OperatorKey, type components } from '@veilgate/sdk';
import type { NodeConfig } from '../../gateway/src/server/config.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';

type S = components['schemas'];

let t: TestSpace;
let identity: IdentityKey;
const A = 'hosp-a';
const C = 'hosp-c';

const operator = (node: string, i: number) => new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.operators[node]![i]! });
const keyOf = (node: string, i: number): Promise<OperatorKey> => importOperatorKey(readFileSync(t.space.accounts.operatorKeys[node]![i]!, 'utf8'));

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 150 });
  identity = await generateIdentityKey();
});
afterAll(async () => t?.close());

const ask = (node: string): Promise<S['AccessRequest']> => t.client.requestAccess({
  datasets: [`${node}.cardiometabolic`], elements: ['age'], operations: ['count'], purpose: 'DUO:0000006', justification: 'Race test grant.',
  durationDays: 7, privacyBudget: 0.25, queryQuota: 5,
}, identity);

/** One decision by operator `i` of `node`; resolves to the outcome (a stable error code, or 'ok'). */
async function decide(node: string, i: number, id: string, decision: 'approve' | 'deny'): Promise<string> {
  try {
    await operator(node, i).decide(id, decision, { key: await keyOf(node, i), ...(decision === 'deny' ? { reason: 'Not in the public interest.' } : {}) });
    return 'ok';
  } catch (err) {
    if (err instanceof ApiError) return err.code;
    throw err;
  }
}

/** What the node holds for a request: its issued_tokens row and its `token.signed` log entries. */
async function atNode(node: string, requestId: string): Promise<{ rows: { jti: string; token: string }[]; signed: Record<string, unknown>[] }> {
  const config = JSON.parse(readFileSync(join(t.dir, 'nodes', `${node}.json`), 'utf8')) as NodeConfig;
  const db = new DatabaseSync(config.stateFile, { readOnly: true });
  let rows: { jti: string; token: string }[];
  try {
    rows = db.prepare('SELECT jti, token FROM issued_tokens WHERE request_id = ?').all(requestId) as typeof rows;
  } finally {
    db.close();
  }
  const url = t.space.nodes.find((n) => n.id === node)!.url;
  const page = (await (await fetch(`${url}/v1/audit/entries?start=0&limit=1000`)).json()) as { entries: { entry: Record<string, unknown> }[] };
  return { rows, signed: page.entries.map((e) => e.entry).filter((e) => e.type === 'token.signed' && e.requestId === requestId) };
}

/** The hub's side: the decision in its store and its `token.issued` log entries for the request. */
async function atHub(node: string, requestId: string) {
  const row = (await t.space.hub.store.getAccessRequest(requestId))!;
  const decision = row.decisions.find((d) => d.node === node)!;
  const auditor = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.auditor });
  const entries = (await auditor.auditEntries(0, 10_000)).entries.map((e) => e.entry as Record<string, unknown>);
  const logged = (type: string) => entries.filter((e) => e.type === type && e.requestId === requestId);
  return { decision, issued: logged('token.issued'), approved: logged('access.approved'), denied: logged('access.denied') };
}

/** Hub and node agree: a token exists at both or at neither, the same one, logged once on each side. */
async function expectAgreement(node: string, requestId: string): Promise<'approved' | 'denied' | 'pending'> {
  const hub = await atHub(node, requestId);
  const nodeSide = await atNode(node, requestId);
  if (hub.decision.state === 'approved') {
    expect(nodeSide.rows).toHaveLength(1);
    expect(nodeSide.signed).toHaveLength(1);
    expect(hub.issued).toHaveLength(1);
    const token = hub.decision.token!;
    expect(nodeSide.rows[0]!.token).toBe(token);
    expect(nodeSide.signed[0]).toMatchObject({ jti: hub.decision.tokenJti, tokenSha256: sha256Hex(new TextEncoder().encode(token)) });
    expect(hub.issued[0]).toMatchObject({ jti: hub.decision.tokenJti, tokenSha256: nodeSide.signed[0]!.tokenSha256 });
    // The token names exactly the approvals the hub committed (its claims, decoded).
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { approvals: string[] };
    expect(claims.approvals).toHaveLength(hub.decision.approvals.length);
    expect(hub.approved).toHaveLength(hub.decision.approvals.length);
    expect(hub.denied).toHaveLength(0);
  } else {
    expect(nodeSide.rows).toHaveLength(0);
    expect(nodeSide.signed).toHaveLength(0);
    expect(hub.issued).toHaveLength(0);
  }
  return hub.decision.state as 'approved' | 'denied' | 'pending';
}

describe('20 decisions on one request at once: hub and node agree', () => {
  it('two operators approving a general dataset: one approval wins, one token, signed and logged once', async () => {
    const r = await ask(A);
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, k) => decide(A, k % 2, r.id, 'approve')));
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o !== 'ok').every((o) => o === 'request_not_pending' || o === 'duplicate_approval')).toBe(true);
    expect(await expectAgreement(A, r.id)).toBe('approved');
  });

  it('approve racing deny (10 each): whichever the hub commits first, the node signed only if it was the approval', async () => {
    for (let round = 0; round < 3; round++) {
      const r = await ask(A);
      const outcomes = await Promise.all(Array.from({ length: 20 }, (_, k) => decide(A, k % 2, r.id, k % 2 === 0 ? 'approve' : 'deny')));
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
      expect(['approved', 'denied']).toContain(await expectAgreement(A, r.id));
    }
  });

  it('deny first, then 20 approvals at once: no token anywhere', async () => {
    const r = await ask(A);
    expect(await decide(A, 1, r.id, 'deny')).toBe('ok');
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, k) => decide(A, k % 2, r.id, 'approve')));
    expect(new Set(outcomes)).toEqual(new Set(['request_not_pending']));
    expect(await expectAgreement(A, r.id)).toBe('denied');
  });

  it('the same operator twenty times: one approval, one token', async () => {
    const r = await ask(A);
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => decide(A, 0, r.id, 'approve')));
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(await expectAgreement(A, r.id)).toBe('approved');
  });

  it('an important dataset (two approvals), both operators ten times each: both approvals, then exactly one token naming both', async () => {
    const r = await ask(C);
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, k) => decide(C, k % 2, r.id, 'approve')));
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(2);
    expect(await expectAgreement(C, r.id)).toBe('approved');
    expect((await atHub(C, r.id)).decision.approvals).toHaveLength(2);
  });

  it('20 approvals spread over 10 requests at once: every request ends in agreement', async () => {
    const requests = await Promise.all(Array.from({ length: 10 }, () => ask(A)));
    await Promise.all(requests.flatMap((r) => [decide(A, 0, r.id, 'approve'), decide(A, 1, r.id, 'deny')]));
    for (const r of requests) expect(['approved', 'denied']).toContain(await expectAgreement(A, r.id));
  });
});
