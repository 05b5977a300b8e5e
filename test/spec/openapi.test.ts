/**
 * spec/openapi.yaml is the single description of the HTTP surface: the committed generated
 * types must be what openapi-typescript makes of it now, every declared operation must be
 * served, and what the servers answer must conform to it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createQueryProof, toBase64, type Query } from '@veilgate/sdk';
import { operationCoverage, responseProblem } from '../../gateway/src/http/openapi.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

it('the committed generated types match a fresh openapi-typescript run', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'veilgate-spec-')), 'openapi.ts');
  const cli = join(root, 'node_modules/openapi-typescript/bin/cli.js');
  await promisify(execFile)(process.execPath, [cli, join(root, 'spec/openapi.yaml'), '-o', out], { cwd: root });
  const committed = readFileSync(join(root, 'sdk/src/generated/openapi.ts'), 'utf8');
  expect(readFileSync(out, 'utf8'), 'run `npm run gen:types` and commit the result').toBe(committed);
});

describe('servers answer what the spec declares', () => {
  let t: TestSpace;
  beforeAll(async () => {
    t = await startTestSpace({ patientsPerHospital: 200 });
  });
  afterAll(async () => t?.close());

  async function call(operationId: string, method: string, url: string, options: { apiKey?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const res = await fetch(url, {
      method,
      headers: { ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}), ...(options.body ? { 'content-type': 'application/json' } : {}), ...options.headers },
      ...(options.body ? { body: JSON.stringify(options.body) } : {}),
    });
    const body = await res.json();
    expect(responseProblem(operationId, res.status, body), `${operationId} ${res.status}`).toBeUndefined();
    return { status: res.status, body };
  }

  it('every operation of the spec is mounted by the hub or a node', () => {
    const { mounted, declared } = operationCoverage();
    expect(mounted).toEqual(declared);
  });

  it('hub and node responses conform to their schemas', async () => {
    const hub = t.space.hubUrl;
    const researcher = t.space.accounts.researcher;
    expect((await call('getHealth', 'GET', `${hub}/v1/health`)).status).toBe(200);
    expect((await call('getHealth', 'GET', `${t.space.nodes[0]!.url}/v1/health`)).body.role).toBe('node');
    expect((await call('getNodeInfo', 'GET', `${t.space.nodes[0]!.url}/v1/node`)).status).toBe(200);
    expect((await call('getMe', 'GET', `${hub}/v1/me`, { apiKey: researcher })).body.role).toBe('researcher');
    expect((await call('getMe', 'GET', `${hub}/v1/me`)).status).toBe(401);
    const catalog = (await call('getCatalog', 'GET', `${hub}/v1/catalog`, { apiKey: researcher })).body as { datasets: { queryable: boolean; classification: string }[] };
    expect(catalog.datasets).toHaveLength(4);
    expect(catalog.datasets.filter((d) => !d.queryable).map((d) => d.classification)).toEqual(['core']);
    expect((await call('createAccount', 'POST', `${hub}/v1/accounts`, { apiKey: t.space.accounts.admin, body: { name: 'n', role: 'auditor' } })).status).toBe(201);
    expect((await call('createAccount', 'POST', `${hub}/v1/accounts`, { apiKey: researcher, body: { name: 'n', role: 'auditor' } })).status).toBe(403);
    expect((await call('listAccounts', 'GET', `${hub}/v1/accounts?role=auditor`, { apiKey: t.space.accounts.admin })).status).toBe(200);
    expect((await call('listAccounts', 'GET', `${hub}/v1/accounts?role=nobody`, { apiKey: t.space.accounts.admin })).status).toBe(400);
    expect((await call('registerKey', 'POST', `${hub}/v1/keys`, { apiKey: researcher, body: { publicKey: toBase64(t.keys.publicKey) } })).status).toBe(201);
    expect((await call('registerKey', 'POST', `${hub}/v1/keys`, { apiKey: researcher, body: { publicKey: 'AAAA'.repeat(8) } })).status).toBe(400);
    expect((await call('getKey', 'GET', `${hub}/v1/keys/${t.keys.keyId}`)).status).toBe(200);
    expect((await call('getKey', 'GET', `${hub}/v1/keys/${'0'.repeat(64)}`)).status).toBe(404);
    const query: Query = { datasets: t.datasets, groupBy: [{ element: 'smoking' }], aggregates: [{ op: 'count' }, { op: 'variance', element: 'hba1c' }] };
    const { purpose, tokens } = await t.client.tokensFor(query, t.identity);
    const participants = [...new Set(query.datasets.map((d) => t.datasetHospital[d]!))];
    const dpop = () => createQueryProof({ identity: t.identity, htu: `${hub}/v1/queries`, request: { keyId: t.keys.keyId, query, purpose, tokens }, participants });
    const result = await call('runQuery', 'POST', `${hub}/v1/queries`, { apiKey: researcher, body: { keyId: t.keys.keyId, query, purpose, tokens }, headers: { DPoP: await dpop() } });
    expect(result.status).toBe(200);
    expect((await call('runQuery', 'POST', `${hub}/v1/queries`, { apiKey: researcher, body: { keyId: t.keys.keyId, query: { ...query, datasets: ['x.y'] }, purpose, tokens }, headers: { DPoP: await dpop() } })).status).toBe(400);
    expect((await call('runQuery', 'POST', `${hub}/v1/queries`, { apiKey: researcher, body: { keyId: t.keys.keyId, query, purpose, tokens } })).status).toBe(401);
    expect((await call('listGrants', 'GET', `${hub}/v1/grants`, { apiKey: researcher })).body.grants.length).toBeGreaterThan(0);
    expect((await call('listAccessRequests', 'GET', `${hub}/v1/access-requests`, { apiKey: researcher })).body.requests.length).toBe(1);
    expect((await call('getJwks', 'GET', `${t.space.nodes[0]!.url}/.well-known/jwks.json`)).body.keys.length).toBe(1);
    const record = await call('getQuery', 'GET', `${hub}/v1/queries/${result.body.queryId}`, { apiKey: researcher });
    expect(record.body).toMatchObject({ status: 'completed', queryId: result.body.queryId });
    expect((await call('getQuery', 'GET', `${hub}/v1/queries/q_${'A'.repeat(22)}`, { apiKey: researcher })).status).toBe(404);
    const compute = await call('computeContribution', 'POST', `${t.space.nodes[0]!.url}/v1/compute`, { body: { queryId: `q_${'B'.repeat(22)}` } });
    expect(compute.status).toBe(401);
  });
});
