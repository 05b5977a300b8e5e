/**
 * Consent and access end to end (issue 3): requests decided per institution, consent tokens
 * signed by nodes and checked at hub and node, DPoP, revocation, patient consent — and the
 * attacks, each refused with its stable code. Real hub, nodes, DuckDB and node-seal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import {
  ApiError, VeilgateClient, createQueryProof, decisionContentOf, fromBase64Url, generateIdentityKey, importOperatorKey, signConsentToken, signDecision,
  type IdentityKey, type OperatorKey, type Query,
} from '@veilgate/sdk';
import { fromSeed } from '../../gateway/src/consent/node-keys.ts';
import { signHubMessage } from '../../gateway/src/hub/node-call.ts';
import { grantAccess } from '../../gateway/src/demo/grant-access.ts';
import { openNodeState } from '../../gateway/src/node/node-state.ts';
import { tokenKeys } from '../../gateway/src/node/token-keys.ts';
import { logOrigin } from '../../gateway/src/server/origin.ts';
import type { HubConfig, NodeConfig } from '../../gateway/src/server/config.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';

let t: TestSpace;
let hubConfig: HubConfig;
const nodeConfigs: Record<string, NodeConfig> = {};
const A = 'hosp-a';
const C = 'hosp-c';
let datasetA: string;
let datasetB: string;
let datasetC: string;
let me: string;

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 400 });
  hubConfig = JSON.parse(readFileSync(join(t.dir, 'hub.json'), 'utf8')) as HubConfig;
  for (const f of readdirSync(join(t.dir, 'nodes')).filter((n) => n.endsWith('.json'))) {
    const c = JSON.parse(readFileSync(join(t.dir, 'nodes', f), 'utf8')) as NodeConfig;
    nodeConfigs[c.id] = c;
  }
  datasetA = `${A}.cardiometabolic`;
  datasetB = 'hosp-b.cardiometabolic';
  datasetC = `${C}.cardiometabolic`;
  me = (await t.client.me()).id;
});
afterAll(async () => t?.close());

const count = (datasets: string[]): Query => ({ datasets, aggregates: [{ op: 'count' }] });
const operator = (node: string, i = 0) => new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.operators[node]![i]! });
/** The operator's own key, from the file the demo wrote for them. */
const keyOf = (node: string, i = 0): Promise<OperatorKey> => importOperatorKey(readFileSync(t.space.accounts.operatorKeys[node]![i]!, 'utf8'));
/** An operator decides, signing with their key. */
const decide = async (node: string, i: number, id: string, decision: 'approve' | 'deny', reason?: string) =>
  operator(node, i).decide(id, decision, { key: await keyOf(node, i), ...(reason ? { reason } : {}) });

/** A grant of `A`'s token for `identity`, as the real one. */
async function realTokenOf(node: string, identity = t.identity): Promise<string> {
  const grants = await t.client.grants();
  return grants.find((g) => g.node === node && g.identityJkt === identity.jkt)!.token;
}

/** A token signed with the node's real key but with chosen claims. */
async function forged(node: string, changes: { aud?: string; sub?: string; now?: number; durationSeconds?: number; jkt?: string }): Promise<string> {
  const key = fromSeed(nodeConfigs[node]!.signingKey).signingKey();
  return signConsentToken(
    {
      iss: node, sub: changes.sub ?? me, aud: changes.aud ?? 'hub', request: 'ar_forged', approvals: ['acc_x'],
      cnf: { jkt: changes.jkt ?? t.identity.jkt },
      vg_scope: { datasets: [`${node}.cardiometabolic`], elements: ['age'], operations: ['count'], purpose: 'DUO:0000006', budget: 1, quota: 5 },
      durationSeconds: changes.durationSeconds ?? 3600,
      ...(changes.now !== undefined ? { now: changes.now } : {}),
    },
    key,
  );
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err, 'expected the query to be refused').toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('tokens the hub refuses', () => {
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, { token: () => Promise<string>; code: string; status: number }][] = [
    ['an unsigned token (alg: none)', {
      token: async () => {
        const [, payload] = (await realTokenOf(A)).split('.');
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'vg-consent+jwt' })).toString('base64url');
        return `${header}.${payload}.`;
      },
      code: 'token_signature_invalid', status: 401,
    }],
    ['HS256 with the node public key as the secret', {
      token: async () => {
        const real = await realTokenOf(A);
        const claims = JSON.parse(Buffer.from(real.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
        const x = fromBase64Url(fromSeed(nodeConfigs[A]!.signingKey).current().publicJwk.x);
        return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'vg-consent+jwt', kid: fromSeed(nodeConfigs[A]!.signingKey).current().kid }).sign(x);
      },
      code: 'token_signature_invalid', status: 401,
    }],
    ['a wrong signature', {
      token: async () => {
        const real = await realTokenOf(A);
        const flip = real.at(-2) === 'A' ? 'B' : 'A';
        return `${real.slice(0, -2)}${flip}${real.at(-1)}`;
      },
      code: 'token_signature_invalid', status: 401,
    }],
    ['an expired token', { token: () => forged(A, { now: now - 7200, durationSeconds: 3600 }), code: 'token_expired', status: 401 }],
    ['a token not yet valid', { token: () => forged(A, { now: now + 7200 }), code: 'token_not_yet_valid', status: 401 }],
    ['a token for another hub', { token: () => forged(A, { aud: 'other-hub' }), code: 'token_audience_invalid', status: 401 }],
    ['a token for another researcher', { token: () => forged(A, { sub: 'acc_someone_else' }), code: 'token_subject_invalid', status: 403 }],
    ['a token the hub never saw issued', { token: () => forged(A, {}), code: 'token_revoked', status: 403 }],
  ];
  it.each(cases)('%s', async (_name, c) => {
    const err = await refusal(t.client.query(count([datasetA]), { keys: t.keys, identity: t.identity, tokens: [await c.token()], purpose: 'DUO:0000006' }));
    expect(err).toMatchObject({ code: c.code, status: c.status });
    expect(err.message).not.toContain('eyJ'); // never the token itself
  });

  it("institution A's token for B's dataset", async () => {
    const err = await refusal(t.client.query(count([datasetB]), { keys: t.keys, identity: t.identity, tokens: [await realTokenOf(A)], purpose: 'DUO:0000006' }));
    expect(err).toMatchObject({ code: 'token_missing', status: 403, field: 'query.datasets[0]' });
  });
});

describe('scope', () => {
  let narrow: IdentityKey;
  beforeAll(async () => {
    narrow = await generateIdentityKey();
    await grantAccess({ hubUrl: t.space.hubUrl, researcher: t.space.accounts.researcher, operators: t.space.accounts.operators }, narrow, {
      datasets: [datasetA], elements: ['sex', 'age'], operations: ['count', 'mean'], queryQuota: 3,
    });
  });

  it.each([
    ['an element outside the grant', { aggregates: [{ op: 'mean' as const, element: 'hba1c' }] }, 'DUO:0000006', 'vg_scope.elements'],
    ['an operation outside the grant', { aggregates: [{ op: 'variance' as const, element: 'age' }] }, 'DUO:0000006', 'vg_scope.operations'],
    ['another purpose', { aggregates: [{ op: 'count' as const }] }, 'DUO:0000042', 'vg_scope.purpose'],
  ])('%s is refused (token_scope_exceeded)', async (_name, q, purpose, field) => {
    const token = await realTokenOf(A, narrow);
    const err = await refusal(t.client.query({ datasets: [datasetA], ...q }, { keys: t.keys, identity: narrow, tokens: [token], purpose }));
    expect(err).toMatchObject({ code: 'token_scope_exceeded', status: 403, field });
  });

  it('the query quota is spent atomically: the fourth query of a quota of three is refused (429)', async () => {
    for (let i = 0; i < 3; i++) await t.client.query(count([datasetA]), { keys: t.keys, identity: narrow });
    const token = await realTokenOf(A, narrow);
    const err = await refusal(t.client.query(count([datasetA]), { keys: t.keys, identity: narrow, tokens: [token], purpose: 'DUO:0000006' }));
    expect(err).toMatchObject({ code: 'quota_exhausted', status: 429 });
  });
});

describe('DPoP (RFC 9449)', () => {
  async function send(proof: string | undefined, tokens: string[]) {
    const res = await fetch(`${t.space.hubUrl}/v1/queries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.space.accounts.researcher}`, ...(proof ? { DPoP: proof } : {}) },
      body: JSON.stringify({ keyId: t.keys.keyId, purpose: 'DUO:0000006', tokens, query: count([datasetA]) }),
    });
    return { status: res.status, body: (await res.json()) as { code: string }, challenge: res.headers.get('www-authenticate') };
  }
  const proof = (identity: IdentityKey, tokens: string[], now?: number) =>
    createQueryProof({
      identity, htu: `${t.space.hubUrl}/v1/queries`, request: { keyId: t.keys.keyId, purpose: 'DUO:0000006', tokens, query: count([datasetA]) },
      participants: [t.datasetHospital[datasetA]!], ...(now ? { now } : {}),
    });

  it('a fresh proof works once; the same proof again is a replay', async () => {
    const tokens = [await realTokenOf(A)];
    const p = await proof(t.identity, tokens);
    expect((await send(p, tokens)).status).toBe(200);
    const again = await send(p, tokens);
    expect(again).toMatchObject({ status: 401, body: { code: 'dpop_replayed' } });
    expect(again.challenge).toMatch(/^DPoP /);
  });
  it('a stale proof is refused', async () => {
    const tokens = [await realTokenOf(A)];
    expect(await send(await proof(t.identity, tokens, Math.floor(Date.now() / 1000) - 600), tokens)).toMatchObject({ status: 401, body: { code: 'dpop_stale' } });
  });
  it('no proof: a stolen token alone is useless', async () => {
    expect(await send(undefined, [await realTokenOf(A)])).toMatchObject({ status: 401, body: { code: 'dpop_missing' } });
  });
  it('a proof by another key than the bound one', async () => {
    const tokens = [await realTokenOf(A)];
    expect(await send(await proof(await generateIdentityKey(), tokens), tokens)).toMatchObject({ status: 401, body: { code: 'token_binding_invalid' } });
  });
  it('a proof for other tokens (ath) is refused', async () => {
    const tokens = [await realTokenOf(A)];
    const other = [await realTokenOf('hosp-b')];
    expect(await send(await proof(t.identity, other), tokens)).toMatchObject({ status: 401, body: { code: 'dpop_invalid' } });
  });
});

describe('decisions', () => {
  let request: string;
  beforeAll(async () => {
    const identity = await generateIdentityKey();
    request = (await t.client.requestAccess({
      datasets: [datasetA, datasetC], elements: ['age'], operations: ['count'], purpose: 'DUO:0000006',
      justification: 'Age structure of the cohorts.', durationDays: 1, privacyBudget: 1, queryQuota: 1,
    }, identity)).id;
  });

  it('an important dataset needs two approvals, by two distinct operators, each signed', async () => {
    const first = await decide(C, 0, request, 'approve');
    expect(first.decisions.find((d) => d.node === C)).toMatchObject({ state: 'pending', requiredApprovals: 2 });
    await expect(decide(C, 0, request, 'approve')).rejects.toMatchObject({ code: 'duplicate_approval', status: 409 });
    const second = await decide(C, 1, request, 'approve');
    const mine = second.decisions.find((d) => d.node === C)!;
    expect(mine).toMatchObject({ state: 'approved' });
    // The hub keeps each signed statement; the log holds its hash.
    expect(mine.approvals.map((a) => a.statement?.split('.').length)).toEqual([3, 3]);
  });
  it('an operator of another institution cannot decide (403)', async () => {
    // They cannot even read it through the SDK…
    await expect(decide('hosp-b', 0, request, 'approve')).rejects.toMatchObject({ code: 'not_found', status: 404 });
    // Even with a statement signed by their own key for their own node, the hub refuses.
    const r = await t.client.accessRequest(request);
    const b = await operator('hosp-b').me();
    const content = { ...decisionContentOf({ ...r, decisions: [{ node: 'hosp-b', datasets: [datasetA] }] }, { operator: b.id, node: 'hosp-b', decision: 'approve' }) };
    const res = await fetch(`${t.space.hubUrl}/v1/access-requests/${request}/decisions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.space.accounts.operators['hosp-b']![0]!}` },
      body: JSON.stringify({ decision: 'approve', statement: await signDecision(content, await keyOf('hosp-b')) }),
    });
    expect(res.status).toBe(403);
  });
  it('the hub refuses a statement that does not say what the decision says', async () => {
    const r = await t.client.accessRequest(request);
    const a = await operator(A).me();
    const post = async (body: unknown) => fetch(`${t.space.hubUrl}/v1/access-requests/${request}/decisions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.space.accounts.operators[A]![0]!}` }, body: JSON.stringify(body),
    }).then(async (x) => ({ status: x.status, body: (await x.json()) as { code: string; field?: string } }));
    const approve = decisionContentOf(r, { operator: a.id, node: A, decision: 'approve' });
    // A signed approval sent as a denial, a wider budget, another operator, no statement at all.
    expect(await post({ decision: 'deny', reason: 'Not covered.', statement: await signDecision(approve, await keyOf(A)) })).toMatchObject({ status: 403, body: { code: 'approval_invalid', field: 'statement' } });
    expect(await post({ decision: 'approve', statement: await signDecision({ ...approve, privacyBudget: 2 }, await keyOf(A)) })).toMatchObject({ status: 403, body: { code: 'approval_invalid', field: 'statement' } });
    expect(await post({ decision: 'approve', statement: await signDecision({ ...approve, operator: 'acct_other' }, await keyOf(A)) })).toMatchObject({ status: 403, body: { code: 'approval_invalid' } });
    expect(await post({ decision: 'approve' })).toMatchObject({ status: 400, body: { code: 'invalid_request', field: 'statement' } });
    expect((await t.client.accessRequest(request)).decisions.find((d) => d.node === A)!.approvals).toEqual([]);
  });
  it('a denial needs a reason, is signed, and ends that institution’s part', async () => {
    await expect(decide(A, 0, request, 'deny')).rejects.toMatchObject({ code: 'invalid_request', field: 'reason' });
    const denied = await decide(A, 0, request, 'deny', 'Purpose not covered by our ethics approval.');
    expect(denied.decisions.find((d) => d.node === A)).toMatchObject({ state: 'denied', reason: 'Purpose not covered by our ethics approval.' });
    expect(denied.state).toBe('active'); // C approved
    await expect(t.client.withdrawAccessRequest(request)).rejects.toMatchObject({ code: 'request_not_pending' });
  });
  it('operators see only requests touching their institution', async () => {
    const seenByB = await operator('hosp-b').accessRequests();
    expect(seenByB.some((r) => r.id === request)).toBe(false);
    expect((await operator(C).accessRequests()).some((r) => r.id === request)).toBe(true);
  });
  it('a pending request can be withdrawn by its researcher', async () => {
    const r = await t.client.requestAccess({ datasets: [datasetB], elements: ['age'], operations: ['count'], purpose: 'DUO:0000006', justification: 'Changed my mind later.', durationDays: 1, privacyBudget: 1, queryQuota: 1 }, t.identity);
    expect((await t.client.withdrawAccessRequest(r.id)).state).toBe('withdrawn');
    await expect(decide('hosp-b', 0, r.id, 'approve')).rejects.toMatchObject({ code: 'request_not_pending' });
  });
});

describe('budgets at grant time', () => {
  it('a request cannot ask for more than ρ = 2; a node holds each researcher to its ceiling per dataset across grants', async () => {
    const admin = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.admin });
    const lab = await admin.createAccount({ name: 'Ceiling lab', role: 'researcher' });
    const researcher = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: lab.apiKey });
    const identity = await generateIdentityKey();
    const ask = { datasets: [datasetB], elements: ['age'], operations: ['count' as const], purpose: 'DUO:0000006', justification: 'Budget ceiling study.', durationDays: 1, queryQuota: 1 };
    await expect(researcher.requestAccess({ ...ask, privacyBudget: 2.01 }, identity)).rejects.toMatchObject({ code: 'invalid_request', field: 'privacyBudget', status: 400 });
    const space = { hubUrl: t.space.hubUrl, researcher: lab.apiKey, operators: t.space.accounts.operators, operatorKeys: t.space.accounts.operatorKeys };
    const grant = (privacyBudget: number) => grantAccess(space, identity, { ...ask, privacyBudget });
    expect((await grant(1.5)).state).toBe('active');
    // 1.5 + 0.6 > 2 (the default ceiling): the node refuses to sign, the approval is not recorded.
    const err = await grant(0.6).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'budget_exhausted', status: 403, field: 'privacyBudget' });
    const refused = (await researcher.accessRequests()).find((r) => r.privacyBudget === 0.6)!;
    expect(refused.decisions[0]).toMatchObject({ state: 'pending', approvals: [] });
    // Up to the ceiling exactly is allowed; another researcher's grants are not counted.
    expect((await grant(0.5)).state).toBe('active');
  });
});

describe('core datasets', () => {
  it('are listed but never queryable, nor requestable', async () => {
    const catalog = await t.client.catalog({ refresh: true });
    const core = catalog.datasets.find((d) => d.classification === 'core')!;
    expect(core.queryable).toBe(false);
    const err = await refusal(t.client.query(count([core.id]), { keys: t.keys, identity: t.identity, tokens: [await realTokenOf(A)], purpose: 'DUO:0000006' }));
    expect(err).toMatchObject({ code: 'dataset_not_queryable', status: 403, field: 'query.datasets[0]' });
    await expect(t.client.requestAccess({ datasets: [core.id], elements: ['age'], operations: ['count'], purpose: 'DUO:0000006', justification: 'Trying the core extract.', durationDays: 1, privacyBudget: 1, queryQuota: 1 }, t.identity))
      .rejects.toMatchObject({ code: 'dataset_not_queryable', field: 'datasets[0]' });
  });
});

describe('revocation takes effect at the next query', () => {
  it('at the hub', async () => {
    const identity = await generateIdentityKey();
    const r = await grantAccess({ hubUrl: t.space.hubUrl, researcher: t.space.accounts.researcher, operators: t.space.accounts.operators }, identity, { datasets: [datasetB], elements: ['age'], operations: ['count'], privacyBudget: 0.25 });
    expect((await t.client.query(count([datasetB]), { keys: t.keys, identity })).groups[0]!.count).toBeGreaterThan(0);
    const token = await realTokenOf('hosp-b', identity); // the researcher still holds it after revocation
    await operator('hosp-b').revoke(r.id, 'Ethics approval lapsed.');
    const err = await refusal(t.client.query(count([datasetB]), { keys: t.keys, identity, tokens: [token], purpose: 'DUO:0000006' }));
    expect(err).toMatchObject({ code: 'token_revoked', status: 403 });
  });

  it('at the node, even if the hub still let the token through', async () => {
    const identity = await generateIdentityKey();
    await grantAccess({ hubUrl: t.space.hubUrl, researcher: t.space.accounts.researcher, operators: t.space.accounts.operators }, identity, { datasets: [datasetB], elements: ['age'], operations: ['count'], privacyBudget: 0.25 });
    const token = await realTokenOf('hosp-b', identity);
    const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;
    // Tell only the node (as the hub would), leaving the hub's own record approved.
    const raw = new TextEncoder().encode(JSON.stringify({ jti, requestId: 'ar_x', issuedAt: Date.now() }));
    const node = t.space.nodes.find((n) => n.id === 'hosp-b')!;
    const url = new URL(`${node.url}/v1/revocations`);
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...signHubMessage({ hubSigningKey: hubConfig.signingKey, node: node.id, url, body: raw }) }, body: raw });
    expect(res.status).toBe(204);
    // The node's refusal reaches the researcher with its own code, naming the node.
    const err = await refusal(t.client.query(count([datasetB]), { keys: t.keys, identity }));
    expect(err).toMatchObject({ code: 'token_revoked', status: 403, node: 'hosp-b' });
    expect(err.message).toContain('hosp-b');
  });
});

describe('patient consent', () => {
  it('withdrawing consent for subjects drops the count by exactly those who match the query', async () => {
    const subjects = (await t.oracle.query(`SELECT subject FROM pooled_t WHERE hospital = '${A}' AND age >= 50 ORDER BY subject LIMIT 25`)).map((r) => r.subject as string);
    const others = (await t.oracle.query(`SELECT subject FROM pooled_t WHERE hospital = '${A}' AND age < 50 ORDER BY subject LIMIT 7`)).map((r) => r.subject as string);
    const q: Query = { datasets: [datasetA], filter: { op: 'range', element: 'age', min: 50 }, aggregates: [{ op: 'count' }] };
    const before = (await t.client.query(q, { keys: t.keys, identity: t.identity })).groups[0]!.count;
    const csv = ['subject,purpose,status,recorded_at',
      ...subjects.slice(0, 20).map((s) => `${s},DUO:0000006,withdrawn,2026-11-01T00:00:00Z`),
      ...subjects.slice(20).map((s) => `${s},*,withdrawn,2026-11-01T00:00:00Z`), // every purpose
      ...others.map((s) => `${s},DUO:0000006,withdrawn,2026-11-01T00:00:00Z`), // do not match the filter
      `${subjects[0]},DUO:0000006,granted,2020-01-01T00:00:00Z`, // older: does not undo the withdrawal
    ].join('\n');
    const imported = await operator(A).importConsent(datasetA, csv);
    expect(imported).toMatchObject({ dataset: datasetA, imported: 33, withdrawnSubjects: 32 });
    const after = (await t.client.query(q, { keys: t.keys, identity: t.identity })).groups[0]!.count;
    expect(before - after).toBe(25);
  });

  it('a withdrawal for another purpose does not apply', async () => {
    const q: Query = { datasets: [datasetB], aggregates: [{ op: 'count' }] };
    const before = (await t.client.query(q, { keys: t.keys, identity: t.identity })).groups[0]!.count;
    const subjects = (await t.oracle.query(`SELECT subject FROM pooled_t WHERE hospital = 'hosp-b' LIMIT 10`)).map((r) => r.subject as string);
    await operator('hosp-b').importConsent(datasetB, ['subject,purpose,status,recorded_at', ...subjects.map((s) => `${s},DUO:0000007,withdrawn,2026-11-01T00:00:00Z`)].join('\n'));
    expect((await t.client.query(q, { keys: t.keys, identity: t.identity })).groups[0]!.count).toBe(before);
  });

  it('bad CSV is refused with the line named, and only operators of the institution may import', async () => {
    await expect(operator(A).importConsent(datasetA, 'subject,purpose,status,recorded_at\nA1,research,withdrawn,2026-01-01\n')).rejects.toMatchObject({ code: 'invalid_request', field: 'body[2].purpose' });
    // The file's own line numbers, even after a blank line.
    await expect(operator(A).importConsent(datasetA, 'subject,purpose,status,recorded_at\n\nA1,research,withdrawn,2026-01-01\n')).rejects.toMatchObject({ code: 'invalid_request', field: 'body[3].purpose' });
    await expect(operator('hosp-b').importConsent(datasetA, 'subject,purpose,status,recorded_at\n')).rejects.toMatchObject({ code: 'forbidden' });
    // Malformed CSV: the parser's complaint quotes the value; the answer names the line, not the patient.
    const err = (await operator(A).importConsent(datasetA, 'subject,purpose,status,recorded_at\nPATIENT-7731"x,DUO:0000006,withdrawn,2026-01-01\n').catch((e: unknown) => e)) as { code: string; field: string; message: string };
    expect(err).toMatchObject({ code: 'invalid_request', field: 'body' });
    expect(err.message).toMatch(/line 2/);
    expect(err.message).not.toContain('PATIENT-7731');
  });
});

describe('key rotation', () => {
  it('new tokens carry the new kid; tokens signed with the old key still verify; the JWKS lists both', async () => {
    const node = nodeConfigs['hosp-b']!;
    const before = await realTokenOf('hosp-b');
    const oldKid = JSON.parse(Buffer.from(before.split('.')[0]!, 'base64url').toString()).kid as string;
    const state = openNodeState(node.stateFile, { origin: logOrigin(node.id), signingKey: node.signingKey });
    const rotated = tokenKeys(state, node.signingKey).rotate();
    state.close();
    expect(rotated.kid).not.toBe(oldKid);
    const jwks = (await (await fetch(`${t.space.nodes.find((n) => n.id === 'hosp-b')!.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, rotated.kid].sort());
    const identity = await generateIdentityKey();
    await grantAccess({ hubUrl: t.space.hubUrl, researcher: t.space.accounts.researcher, operators: t.space.accounts.operators }, identity, { datasets: [datasetB], elements: ['age'], operations: ['count'], privacyBudget: 0.25 });
    const fresh = await realTokenOf('hosp-b', identity);
    expect(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid).toBe(rotated.kid);
    expect((await t.client.query(count([datasetB]), { keys: t.keys, identity })).groups[0]!.count).toBeGreaterThan(0);
    expect((await t.client.query(count([datasetB]), { keys: t.keys, identity: t.identity, tokens: [before], purpose: 'DUO:0000006' })).groups[0]!.count).toBeGreaterThan(0);
  });
});
