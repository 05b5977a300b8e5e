/**
 * Account administration over real HTTP: an admin lists every account (never a key or its
 * hash), filters by role, and reads any researcher's balance; nobody else may do either.
 * Every answer is checked against the spec.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, VeilgateClient, type components } from '@veilgate/sdk';
import { responseProblem } from '../../gateway/src/http/openapi.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';

type Account = components['schemas']['Account'];

let t: TestSpace;
const client = (apiKey: string) => new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey });
const admin = () => client(t.space.accounts.admin);

/** GET as `apiKey`; the answer must be what the spec declares for that status. */
async function get(operationId: string, path: string, apiKey?: string) {
  const res = await fetch(`${t.space.hubUrl}${path}`, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
  const text = await res.text();
  const body = JSON.parse(text) as Record<string, any>;
  expect(responseProblem(operationId, res.status, body), `${operationId} ${res.status}: ${text}`).toBeUndefined();
  return { status: res.status, body, text };
}

/** Every string anywhere in a JSON value. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 200 });
});
afterAll(async () => t?.close());

describe('GET /v1/accounts', () => {
  it('lists every account to an admin, oldest first, without keys or key hashes', async () => {
    const created = await admin().createAccount({ name: 'Cohort lab', role: 'researcher' });
    const { status, body, text } = await get('listAccounts', '/v1/accounts', t.space.accounts.admin);
    expect(status).toBe(200);
    const accounts = body.accounts as Account[];
    // admin, researcher, auditor, two operators per hospital, and the one just created.
    expect(accounts).toHaveLength(3 + 2 * t.space.nodes.length + 1);
    expect(accounts.at(-1)).toEqual({ id: created.id, name: 'Cohort lab', role: 'researcher', createdAt: created.createdAt });
    expect(accounts.map((a) => a.role).slice(0, 3)).toEqual(['admin', 'researcher', 'auditor']);
    // Oldest first; ties (the same millisecond) in the order they were made, as the roles above show.
    accounts.slice(1).forEach((a, i) => expect(a.createdAt >= accounts[i]!.createdAt).toBe(true));
    for (const a of accounts) expect(Object.keys(a).sort()).toEqual(a.role === 'operator' ? ['createdAt', 'id', 'name', 'node', 'role'] : ['createdAt', 'id', 'name', 'role']);
    // No secret in any form: no API key, no stored hash of one.
    expect(text).not.toContain('vg_');
    const hashes = (await t.space.hub.store.listAccounts()).map((a) => a.keyHash);
    expect(hashes).toHaveLength(accounts.length);
    for (const s of strings(body)) {
      expect(s).not.toContain('vg_');
      expect(s).not.toMatch(/[0-9a-f]{64}/i);
      expect(hashes).not.toContain(s);
    }
    for (const key of [t.space.accounts.admin, t.space.accounts.researcher, created.apiKey]) expect(text).not.toContain(key);
  });

  it('filters by role, and the SDK does the same', async () => {
    const { status, body } = await get('listAccounts', '/v1/accounts?role=operator', t.space.accounts.admin);
    expect(status).toBe(200);
    const operators = body.accounts as Account[];
    expect(operators).toHaveLength(2 * t.space.nodes.length);
    expect(new Set(operators.map((a) => a.role))).toEqual(new Set(['operator']));
    expect(new Set(operators.map((a) => a.node))).toEqual(new Set(t.space.nodes.map((n) => n.id)));
    expect((await admin().listAccounts('operator')).map((a) => a.id)).toEqual(operators.map((a) => a.id));
    const auditors = await admin().listAccounts('auditor');
    expect(auditors.map((a) => a.name)).toEqual(['Audit office']);
    expect((await admin().listAccounts()).length).toBeGreaterThan(operators.length + auditors.length);
  });

  it('answers 400 naming the field role for an unknown role', async () => {
    for (const query of ['role=superuser', 'role=', 'role=admin&role=auditor', 'role=Admin']) {
      const { status, body } = await get('listAccounts', `/v1/accounts?${query}`, t.space.accounts.admin);
      expect(status, query).toBe(400);
      expect(body, query).toMatchObject({ code: 'invalid_request', field: 'role' });
    }
  });

  it('refuses researchers, operators and auditors with 403 forbidden, and anonymous callers with 401', async () => {
    for (const key of [t.space.accounts.researcher, t.space.accounts.operators['hosp-a']![0]!, t.space.accounts.auditor]) {
      const { status, body } = await get('listAccounts', '/v1/accounts', key);
      expect(status).toBe(403);
      expect(body.code).toBe('forbidden');
      expect(JSON.stringify(body)).not.toContain('acc_');
    }
    await expect(client(t.space.accounts.auditor).listAccounts()).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    expect((await get('listAccounts', '/v1/accounts')).status).toBe(401);
  });
});

describe('GET /v1/balance?account=', () => {
  it("an admin reads any researcher's balance, and sees a top-up in it", async () => {
    const researcher = await t.client.me();
    const own = await t.client.balance();
    const { status, body } = await get('getBalance', `/v1/balance?account=${encodeURIComponent(researcher.id)}`, t.space.accounts.admin);
    expect(status).toBe(200);
    expect(body).toEqual(own);
    const lab = await admin().createAccount({ name: 'Topped-up lab', role: 'researcher' });
    expect(await admin().balance(lab.id)).toEqual({ account: lab.id, credits: 0, grants: [] });
    await admin().topUp(lab.id, 12.5);
    expect((await admin().balance(lab.id)).credits).toBe(12.5);
    expect((await client(lab.apiKey).balance()).credits).toBe(12.5);
  });

  it("a researcher reads only their own balance: someone else's is 403 forbidden", async () => {
    const researcher = await t.client.me();
    const other = await admin().createAccount({ name: 'Other lab', role: 'researcher' });
    const own = await get('getBalance', `/v1/balance?account=${researcher.id}`, t.space.accounts.researcher);
    expect(own.status).toBe(200);
    expect(own.body.account).toBe(researcher.id);
    for (const account of [other.id, 'acc_nobody', (await admin().listAccounts('admin'))[0]!.id]) {
      const { status, body } = await get('getBalance', `/v1/balance?account=${account}`, t.space.accounts.researcher);
      expect(status, account).toBe(403);
      expect(body, account).toMatchObject({ code: 'forbidden', field: 'account' });
      expect(JSON.stringify(body)).not.toMatch(/credits/);
    }
    const refused = await t.client.balance(other.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('an admin must name a researcher; other roles cannot read balances', async () => {
    const missing = await get('getBalance', '/v1/balance', t.space.accounts.admin);
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ code: 'invalid_request', field: 'account' });
    const auditor = (await admin().listAccounts('auditor'))[0]!;
    for (const account of [auditor.id, 'acc_nobody']) {
      const { status, body } = await get('getBalance', `/v1/balance?account=${account}`, t.space.accounts.admin);
      expect(status, account).toBe(404);
      expect(body, account).toMatchObject({ code: 'not_found', field: 'account' });
    }
    const researcher = await t.client.me();
    for (const key of [t.space.accounts.auditor, t.space.accounts.operators['hosp-b']![1]!]) {
      const { status, body } = await get('getBalance', `/v1/balance?account=${researcher.id}`, key);
      expect(status).toBe(403);
      expect(body.code).toBe('forbidden');
    }
  });
});
