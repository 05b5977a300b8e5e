/**
 * Metering (issue 4 §3–4): budgets and credits reserved before fan-out and committed or
 * released atomically — 50 concurrent queries against a budget that fits 10 — a balanced
 * double-entry ledger, prices, estimates, rate limits and usage reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { ApiError, VeilgateClient, generateHeKeyPair, generateIdentityKey, type IdentityKey, type Query } from '@veilgate/sdk';
import { grantAccess } from '../../gateway/src/demo/grant-access.ts';
import { ISSUANCE } from '../../gateway/src/store/sqlite-ledger.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';

let t: TestSpace;
const A = 'hosp-a.cardiometabolic';
const count = (datasets: string[]): Query => ({ datasets, aggregates: [{ op: 'count' }] });
const admin = () => new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.admin });
const operator = (node: string) => new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.operators[node]![0]! });

async function post(path: string, body: unknown, apiKey: string, method = 'POST') {
  const res = await fetch(`${t.space.hubUrl}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 200, differentialPrivacy: true, rateLimitPerMinute: 1000 });
});
afterAll(async () => t?.close());

describe('privacy budget', () => {
  it('50 concurrent queries against a budget that fits 10: exactly 10 succeed, the ledger balances', async () => {
    const identity = await generateIdentityKey();
    await grantAccess({ hubUrl: t.space.hubUrl, researcher: t.space.accounts.researcher, operators: t.space.accounts.operators }, identity, {
      datasets: [A], elements: ['age'], operations: ['count'], queryQuota: 1000, privacyBudget: 1,
    });
    const creditsBefore = (await t.client.balance()).credits;
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => t.client.query(count([A]), { keys: t.keys, identity, rho: 0.1 })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as ApiError);
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const e of refused) expect(e).toMatchObject({ code: 'budget_exhausted', status: 403 });
    const balance = await t.client.balance();
    const grant = balance.grants.find((g) => g.node === 'hosp-a' && g.budget === 1)!;
    expect(grant.spent).toBeCloseTo(1, 12);
    expect(grant.reserved).toBeCloseTo(0, 12);
    // Credits: exactly ten charges of A's price, and the double entry sums to zero.
    const price = (await t.client.catalog()).datasets.find((d) => d.id === A)!.pricePerQuery;
    expect(creditsBefore - balance.credits).toBeCloseTo(10 * price, 9);
    expect(t.space.hub.store.ledger.total()).toBe(0);
    expect(t.space.hub.store.ledger.balance(ISSUANCE)).toBeLessThan(0);
  });

  it('an estimate states ρ, (ε, δ) and credits and reserves nothing', async () => {
    const before = await t.client.balance();
    const estimate = await t.client.estimate(count([A]), { identity: t.identity, rho: 0.25 });
    expect(estimate).toMatchObject({ rho: 0.25, delta: 1e-6 });
    expect(estimate.epsilon).toBeCloseTo(0.25 + 2 * Math.sqrt(0.25 * Math.log(1e6)), 9);
    expect(estimate.creditsLeft).toBeCloseTo(before.credits - estimate.credits, 9);
    expect(await t.client.balance()).toEqual(before);
  });
});

describe('query quota', () => {
  it('a query that fails after acceptance gives its quota back, like its credits and ρ (protocol.md §11)', async () => {
    const identity = await generateIdentityKey();
    const request = await grantAccess({ hubUrl: t.space.hubUrl, researcher: t.space.accounts.researcher, operators: t.space.accounts.operators }, identity, {
      datasets: [A], elements: ['sex', 'age'], operations: ['count'], queryQuota: 2, privacyBudget: 0.1,
    });
    const grant = async () => (await t.client.grants()).find((g) => g.requestId === request.id)!;
    // DataSHIELD nfilter.levels at the node: 120 sex × age groups over ≈200 rows is refused
    // after the hub accepted the query (and spent its quota).
    const refused: Query = { datasets: [A], groupBy: [{ element: 'sex' }, { element: 'age', buckets: Array.from({ length: 61 }, (_, i) => 20 + i) }], aggregates: [{ op: 'count' }] };
    for (let i = 0; i < 3; i++) {
      await expect(t.client.query(refused, { keys: t.keys, identity })).rejects.toMatchObject({ code: 'disclosure_control' });
    }
    expect((await grant()).queriesUsed).toBe(0);
    // The whole quota is still there: two queries run, the third is refused.
    for (let i = 0; i < 2; i++) await t.client.query(count([A]), { keys: t.keys, identity, rho: 0.01 });
    expect((await grant()).queriesUsed).toBe(2);
    await expect(t.client.query(count([A]), { keys: t.keys, identity, rho: 0.01 })).rejects.toMatchObject({ code: 'quota_exhausted', status: 429 });
  });
});

describe('credits', () => {
  it('a researcher cannot spend more credits than they hold; concurrent top-ups and charges balance', async () => {
    const { id, apiKey } = await admin().createAccount({ name: 'Small budget lab', role: 'researcher' });
    const lab = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey });
    const keys = await generateHeKeyPair();
    await lab.registerKey(keys);
    const identity: IdentityKey = await generateIdentityKey();
    await grantAccess({ hubUrl: t.space.hubUrl, researcher: apiKey, operators: t.space.accounts.operators }, identity, { datasets: [A], elements: ['age'], operations: ['count'], queryQuota: 100, privacyBudget: 1 });
    const price = (await lab.catalog()).datasets.find((d) => d.id === A)!.pricePerQuery;
    await admin().topUp(id, price * 3);
    // 10 concurrent queries and 4 concurrent top-ups of one price each: 7 queries can be paid.
    const queries = Array.from({ length: 10 }, () => lab.query(count([A]), { keys, identity, rho: 0.01 }));
    const topUps = Array.from({ length: 4 }, () => admin().topUp(id, price));
    const settled = await Promise.allSettled([...queries, ...topUps]);
    const done = settled.slice(0, 10).filter((r) => r.status === 'fulfilled').length;
    const refused = settled.slice(0, 10).filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'insufficient_credits', status: 402 });
    const balance = await lab.balance();
    expect(balance.credits).toBeGreaterThanOrEqual(0);
    expect(balance.credits).toBeCloseTo(price * 7 - done * price, 9);
    expect(t.space.hub.store.ledger.total()).toBe(0);
  });

  it.each([
    ['a negative top-up', '/v1/credits/top-ups', { account: 'x', amount: -5 }, 'amount'],
    ['a zero top-up', '/v1/credits/top-ups', { account: 'x', amount: 0 }, 'amount'],
    ['a non-finite top-up', '/v1/credits/top-ups', { account: 'x', amount: 'Infinity' }, 'amount'],
  ])('%s is refused (400)', async (_name, path, body, field) => {
    expect(await post(path, body, t.space.accounts.admin)).toMatchObject({ status: 400, body: { code: 'invalid_request', field } });
  });

  it('budgets must be positive and finite in access requests', async () => {
    for (const privacyBudget of [0, -1, 'NaN']) {
      const r = await post('/v1/access-requests', { datasets: [A], elements: ['age'], operations: ['count'], purpose: 'DUO:0000006', justification: 'Bad budget test.', durationDays: 1, privacyBudget, queryQuota: 1, identityKey: t.identity.publicJwk }, t.space.accounts.researcher);
      expect(r).toMatchObject({ status: 400, body: { code: 'invalid_request', field: 'privacyBudget' } });
    }
  });

  it('operators price their own datasets only; prices must be non-negative', async () => {
    expect((await operator('hosp-a').setPrice(A, 12.5)).pricePerQuery).toBe(12.5);
    expect((await t.client.estimate(count([A]), { identity: t.identity })).credits).toBe(12.5);
    // The catalog states the price in force, not the node's configured one.
    expect((await t.client.catalog({ refresh: true })).datasets.find((d) => d.id === A)!.pricePerQuery).toBe(12.5);
    await expect(operator('hosp-b').setPrice(A, 1)).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    expect(await post(`/v1/datasets/${A}/price`, { pricePerQuery: -1 }, t.space.accounts.operators['hosp-a']![0]!, 'PUT')).toMatchObject({ status: 400, body: { field: 'pricePerQuery' } });
  });
});

describe('rate limits and usage', () => {
  it('a grant used too often gets 429 with Retry-After', async () => {
    const small = await startTestSpace({ patientsPerHospital: 60, hospitals: 1, rateLimitPerMinute: 3 });
    try {
      for (let i = 0; i < 3; i++) await small.client.query(count(small.datasets), { keys: small.keys, identity: small.identity });
      const { purpose, tokens } = await small.client.tokensFor(count(small.datasets), small.identity);
      const err = await small.client.query(count(small.datasets), { keys: small.keys, identity: small.identity, purpose, tokens }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'rate_limited', status: 429 });
    } finally {
      await small.close();
    }
  });

  it('usage reports per researcher, dataset and day, as JSON and CSV, scoped by role', async () => {
    const mine = await t.client.usage();
    expect(mine.rows.length).toBeGreaterThan(0);
    expect(mine.totals.queries).toBe(mine.rows.reduce((n, r) => n + r.queries, 0));
    const me = (await t.client.me()).id;
    expect(mine.rows.every((r) => r.researcher === me)).toBe(true);
    const earnings = await operator('hosp-a').usage();
    expect(earnings.rows.every((r) => r.node === 'hosp-a')).toBe(true);
    expect(earnings.totals.credits).toBeGreaterThan(0);
    const csv = await t.client.usageCsv();
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(rows.length).toBe(mine.rows.length);
    expect(Object.keys(rows[0]!)).toEqual(['day', 'researcher', 'dataset', 'node', 'queries', 'completed', 'failed', 'credits', 'rho']);
  });
});
