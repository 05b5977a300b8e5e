/**
 * A malicious hub tries to obtain consent tokens without the operators' approval (issue 10,
 * "operator approvals are signed by the operator"; protocol.md §9). The test plays the hub: it
 * holds the hub's signing key (from hub.json) and its database (the genuine statements the
 * operators sent it), and posts hub-signed `POST /v1/tokens` straight to the nodes — with
 * approvals absent, forged, signed by keys the node never enrolled, or genuine but replayed
 * for another request or a wider grant. Every attempt must be refused and no token signed;
 * only the exact approved grant is ever answered (with the token already issued for it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  VeilgateClient, decisionContentOf, generateIdentityKey, generateOperatorKey, importOperatorKey, jwkThumbprint, signDecision,
  type IdentityKey, type OperatorKey, type components,
} from '@veilgate/sdk';
import { publicKeyOf } from '../../gateway/src/crypto/ed25519.ts';
import { postSigned } from '../../gateway/src/hub/node-call.ts';
import type { HubConfig, NodeConfig } from '../../gateway/src/server/config.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';

type S = components['schemas'];
type TokenIssueRequest = S['TokenIssueRequest'];

let t: TestSpace;
let hub: HubConfig;
let identity: IdentityKey;
const A = 'hosp-a';
const C = 'hosp-c';
/** R1: approved honestly at hosp-a (a genuine statement and token exist). R2: pending at hosp-a. R3: one of two approvals at hosp-c. */
let r1: S['AccessRequest'];
let r2: S['AccessRequest'];
let r3: S['AccessRequest'];
let r1Statement: string;
let r3Statement: string;
let r1Jti: string;

const operator = (node: string, i = 0) => new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.operators[node]![i]! });
const keyOf = (node: string, i = 0): Promise<OperatorKey> => importOperatorKey(readFileSync(t.space.accounts.operatorKeys[node]![i]!, 'utf8'));
const nodeConfig = (node: string) => JSON.parse(readFileSync(join(t.dir, 'nodes', `${node}.json`), 'utf8')) as NodeConfig;

/** The token request an honest hub would send for `r` at `node`, with the given statements. */
function issueRequest(r: S['AccessRequest'], node: string, signedApprovals: string[]): TokenIssueRequest {
  const d = r.decisions.find((x) => x.node === node)!;
  return {
    requestId: r.id, issuedAt: Date.now(), researcher: r.researcher, identityJkt: r.identityJkt, datasets: d.datasets, elements: r.elements,
    operations: r.operations, purpose: r.purpose, privacyBudget: r.privacyBudget, queryQuota: r.queryQuota, durationDays: r.durationDays, signedApprovals,
  };
}

/** Posts as the hub (its real signing key) to a node. */
async function asHub(node: string, body: unknown): Promise<{ status: number; body: { code?: string; field?: string; token?: string; jti?: string } }> {
  const registration = hub.nodes.find((n) => n.id === node)!;
  const res = await postSigned(registration, '/v1/tokens', hub.signingKey, body);
  return { status: res.status, body: (await res.json()) as { code?: string; field?: string; token?: string } };
}

/** Tokens the node has signed, from its own state file. */
function tokensSignedBy(node: string): number {
  const db = new DatabaseSync(nodeConfig(node).stateFile, { readOnly: true });
  try {
    return Number((db.prepare('SELECT count(*) AS n FROM issued_tokens').get() as { n: number }).n);
  } finally {
    db.close();
  }
}

/** The genuine statements the hub holds for a request (its database). */
async function storedStatements(id: string, node: string): Promise<string[]> {
  const row = await t.space.hub.store.getAccessRequest(id);
  return row!.decisions.find((d) => d.node === node)!.approvals.map((a) => a.statement!);
}

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 150 });
  hub = JSON.parse(readFileSync(join(t.dir, 'hub.json'), 'utf8')) as HubConfig;
  identity = await generateIdentityKey();
  const ask = (datasets: string[]) => t.client.requestAccess({
    datasets, elements: ['age'], operations: ['count'], purpose: 'DUO:0000006', justification: 'Age structure, narrow grant.',
    durationDays: 7, privacyBudget: 0.25, queryQuota: 5,
  }, identity);
  r1 = await operator(A).decide((await ask([`${A}.cardiometabolic`])).id, 'approve', { key: await keyOf(A) });
  r1Jti = r1.decisions[0]!.tokenJti!;
  [r1Statement] = await storedStatements(r1.id, A) as [string];
  r2 = await ask([`${A}.cardiometabolic`]);
  r3 = await operator(C).decide((await ask([`${C}.cardiometabolic`])).id, 'approve', { key: await keyOf(C) });
  [r3Statement] = await storedStatements(r3.id, C) as [string];
});
afterAll(async () => t?.close());

describe('a hub with its signing key and database cannot obtain a token without the operators', () => {
  const cases: [string, () => Promise<{ node: string; body: unknown }>, { status: number; code: string; field?: string }][] = [
    ['no approvals at all', async () => ({ node: A, body: issueRequest(r2, A, []) }), { status: 400, code: 'invalid_request' }],
    ['operator account ids instead of signed statements (the old protocol)', async () => {
      const accounts = (await t.space.hub.store.getAccessRequest(r1.id))!.decisions[0]!.approvals.map((a) => a.operator);
      return { node: A, body: issueRequest(r2, A, accounts) };
    }, { status: 400, code: 'invalid_request' }],
    ['a statement naming a real operator, signed with the hub\'s own key', async () => {
      const x = publicKeyOf(hub.signingKey);
      const jwk = { kty: 'OKP' as const, crv: 'Ed25519' as const, x, d: hub.signingKey };
      const me = await operator(A).me();
      const content = decisionContentOf(r2, { operator: me.id, node: A, decision: 'approve' });
      return { node: A, body: issueRequest(r2, A, [await signDecision(content, { kid: await jwkThumbprint(jwk), publicJwk: { kty: 'OKP', crv: 'Ed25519', x }, privateKey: jwk })]) };
    }, { status: 403, code: 'approval_invalid', field: 'signedApprovals[0]' }],
    ['a statement by a fresh key the node never enrolled, under an enrolled key\'s kid', async () => {
      const rogue = await generateOperatorKey();
      const me = await operator(A).me();
      const content = decisionContentOf(r2, { operator: me.id, node: A, decision: 'approve' });
      const enrolledKid = (await keyOf(A)).kid;
      return { node: A, body: issueRequest(r2, A, [await signDecision(content, { kid: enrolledKid, publicJwk: rogue.publicJwk, privateKey: rogue.privateJwk })]) };
    }, { status: 403, code: 'approval_invalid', field: 'signedApprovals[0]' }],
    ['R1\'s genuine approval replayed for another request (R2)', async () => ({ node: A, body: issueRequest(r2, A, [r1Statement]) }),
      { status: 403, code: 'approval_invalid', field: 'signedApprovals[0]' }],
    ...([
      ['a wider budget', { privacyBudget: 2 }],
      ['more queries', { queryQuota: 500 }],
      ['a longer duration', { durationDays: 30 }],
      ['more elements', { elements: ['age', 'hba1c'] }],
      ['more operations', { operations: ['count', 'mean'] }],
      ['another purpose', { purpose: 'DUO:0000007' }],
      ['the hub\'s own identity key', { identityJkt: 'A'.repeat(43) }],
      ['another researcher', { researcher: 'acct_colluder' }],
    ] as [string, Partial<TokenIssueRequest>][]).map(([what, change]) => [
      `R1's genuine approval replayed for R1 with ${what}`,
      async () => ({ node: A, body: { ...issueRequest(r1, A, [r1Statement]), ...change } }),
      { status: 403, code: 'approval_invalid', field: 'signedApprovals[0]' },
    ] as (typeof cases)[number]),
    ['R1\'s approval with its payload edited and its signature kept', async () => {
      const [h, p, s] = r1Statement.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { request: string };
      claims.request = r2.id;
      return { node: A, body: issueRequest(r2, A, [`${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`]) };
    }, { status: 403, code: 'approval_invalid', field: 'signedApprovals[0]' }],
    ['an operator\'s genuine denial presented as an approval', async () => {
      const denied = await operator(A).decide(r2.id, 'deny', { key: await keyOf(A), reason: 'Not this time.' });
      expect(denied.decisions[0]!.state).toBe('denied');
      const row = (await t.space.hub.store.getAccessRequest(r2.id))!;
      expect(row.decisions[0]!.approvals).toEqual([]);
      // The hub kept the signed denial; replay it as an approval of the same request.
      const me = await operator(A).me();
      const denial = await signDecision(decisionContentOf(r2, { operator: me.id, node: A, decision: 'deny', reason: 'Not this time.' }), await keyOf(A));
      return { node: A, body: issueRequest(r2, A, [denial]) };
    }, { status: 403, code: 'approval_invalid', field: 'signedApprovals[0]' }],
    ['hosp-a\'s operator approving at hosp-c (a key enrolled elsewhere)', async () => {
      const me = await operator(A).me();
      const content = decisionContentOf(r3, { operator: me.id, node: C, decision: 'approve' });
      return { node: C, body: issueRequest(r3, C, [r3Statement, await signDecision(content, await keyOf(A))]) };
    }, { status: 403, code: 'approval_invalid', field: 'signedApprovals[1]' }],
    ['one operator\'s approval twice for an important dataset', async () => ({ node: C, body: issueRequest(r3, C, [r3Statement, r3Statement]) }),
      { status: 403, code: 'forbidden', field: 'signedApprovals' }],
    ['one operator\'s approval re-signed with a fresh jti, as if from a second operator', async () => {
      const me = await operator(C).me();
      const again = await signDecision(decisionContentOf(r3, { operator: me.id, node: C, decision: 'approve' }), await keyOf(C));
      return { node: C, body: issueRequest(r3, C, [r3Statement, again]) };
    }, { status: 403, code: 'forbidden', field: 'signedApprovals' }],
  ];

  it.each(cases)('%s: refused, no token', async (_name, attack, want) => {
    const { node, body } = await attack();
    const before = tokensSignedBy(node);
    const answer = await asHub(node, body);
    expect(answer).toMatchObject({ status: want.status, body: { code: want.code, ...(want.field ? { field: want.field } : {}) } });
    expect(answer.body.token).toBeUndefined();
    expect(tokensSignedBy(node)).toBe(before);
  });

  it('the exact approved grant, asked again, gets the token already issued: no second grant', async () => {
    const before = tokensSignedBy(A);
    const answer = await asHub(A, issueRequest(r1, A, [r1Statement]));
    expect(answer).toMatchObject({ status: 200, body: { jti: r1Jti } });
    expect(tokensSignedBy(A)).toBe(before);
  });

  it('the second operator\'s genuine approval completes the important grant (the positive control)', async () => {
    const done = await operator(C, 1).decide(r3.id, 'approve', { key: await keyOf(C, 1) });
    expect(done.decisions[0]).toMatchObject({ state: 'approved' });
    const claims = JSON.parse(Buffer.from(((await t.space.hub.store.getAccessRequest(r3.id))!.decisions[0]!.token!).split('.')[1]!, 'base64url').toString()) as { approvals: string[] };
    expect(new Set(claims.approvals)).toEqual(new Set([(await operator(C, 0).me()).id, (await operator(C, 1).me()).id]));
  });
});
