/**
 * Bad input at the hub: every case gets the status the spec declares, a stable `code`, a
 * message naming the field, and leaves nothing behind. Sent over real HTTP to a running hub.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { ApiError, generateHeKeyPair, toBase64 } from '@veilgate/sdk';
import { startTestSpace, type TestSpace } from '../support/space.ts';

let t: TestSpace;
beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 300 });
});
afterAll(async () => t?.close());

async function post(path: string, body: string | object, options: { apiKey?: string | null; type?: string } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const apiKey = options.apiKey === undefined ? t.space.accounts.researcher : options.apiKey;
  const res = await fetch(`${t.space.hubUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': options.type ?? 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

const query = (q: object) => ({ keyId: t.keys.keyId, purpose: 'DUO:0000006', tokens: [], query: { datasets: [t.datasets[0]], aggregates: [{ op: 'count' }], ...q } });

describe('POST /v1/queries with bad input', () => {
  const cases: [string, { given: () => Parameters<typeof post>; want: { status: number; code: string; field?: string } }][] = [
    ['malformed JSON', { given: () => ['/v1/queries', '{"keyId": '], want: { status: 400, code: 'invalid_json' } }],
    ['a body over the size limit', { given: () => ['/v1/queries', JSON.stringify({ pad: 'x'.repeat(3_000_000) })], want: { status: 413, code: 'payload_too_large' } }],
    ['not JSON at all (text/plain)', { given: () => ['/v1/queries', 'count please', { type: 'text/plain' }], want: { status: 415, code: 'unsupported_media_type', field: 'body' } }],
    ['a missing field', { given: () => ['/v1/queries', { keyId: t.keys.keyId }], want: { status: 400, code: 'invalid_request', field: 'query' } }],
    ['a wrong type', { given: () => ['/v1/queries', query({ aggregates: [{ op: 'mean', element: 42 }] })], want: { status: 400, code: 'invalid_request', field: 'query.aggregates[0].element' } }],
    ['an unknown operation', { given: () => ['/v1/queries', query({ aggregates: [{ op: 'median', element: 'age' }] })], want: { status: 400, code: 'invalid_request', field: 'query.aggregates[0].op' } }],
    ['an extra property', { given: () => ['/v1/queries', query({ limit: 10 })], want: { status: 400, code: 'invalid_request', field: 'query.limit' } }],
    ['an unknown dataset', { given: () => ['/v1/queries', query({ datasets: ['nowhere.cohort'] })], want: { status: 400, code: 'unknown_dataset', field: 'query.datasets[0]' } }],
    ['an unknown element', { given: () => ['/v1/queries', query({ aggregates: [{ op: 'mean', element: 'cholesterol' }] })], want: { status: 400, code: 'unknown_element', field: 'query.aggregates[0].element' } }],
    ['an unknown element in a filter', { given: () => ['/v1/queries', query({ filter: { op: 'and', filters: [{ op: 'isNull', element: 'egfr' }] } })], want: { status: 400, code: 'unknown_element', field: 'query.filter.filters[0].element' } }],
    ['a statistic on a categorical element', { given: () => ['/v1/queries', query({ aggregates: [{ op: 'mean', element: 'sex' }] })], want: { status: 400, code: 'wrong_element_type', field: 'query.aggregates[0].element' } }],
    ['a number compared with a code', { given: () => ['/v1/queries', query({ filter: { op: 'eq', element: 'sex', value: 1 } })], want: { status: 400, code: 'wrong_element_type', field: 'query.filter.value' } }],
    ['a code not in the code list', { given: () => ['/v1/queries', query({ filter: { op: 'in', element: 'smoking', values: ['never', 'vaping'] } })], want: { status: 400, code: 'unknown_code', field: 'query.filter.values[1]' } }],
    ['a numeric grouping without buckets', { given: () => ['/v1/queries', query({ groupBy: [{ element: 'age' }] })], want: { status: 400, code: 'wrong_element_type', field: 'query.groupBy[0].buckets' } }],
    ['empty bins (one edge)', { given: () => ['/v1/queries', query({ aggregates: [{ op: 'histogram', element: 'bmi', bins: [20] }] })], want: { status: 400, code: 'invalid_request', field: 'query.aggregates[0].bins' } }],
    ['bins out of order', { given: () => ['/v1/queries', query({ aggregates: [{ op: 'histogram', element: 'bmi', bins: [20, 30, 25] }] })], want: { status: 400, code: 'invalid_bins', field: 'query.aggregates[0].bins[2]' } }],
    ['too many groups', {
      given: () => ['/v1/queries', query({ groupBy: [{ element: 'sex' }, { element: 'age', buckets: Array.from({ length: 65 }, (_, i) => i) }, { element: 'systolic_bp', buckets: Array.from({ length: 65 }, (_, i) => 60 + 3 * i) }] })],
      want: { status: 400, code: 'too_many_groups', field: 'query.groupBy[2]' },
    }],
    ['a range with min above max', { given: () => ['/v1/queries', query({ filter: { op: 'range', element: 'age', min: 70, max: 20 } })], want: { status: 400, code: 'invalid_request', field: 'query.filter.min' } }],
    ['a key id that is not registered', { given: () => ['/v1/queries', { ...query({}), keyId: 'ab'.repeat(32) }], want: { status: 404, code: 'unknown_key', field: 'keyId' } }],
    ['a malformed key id', { given: () => ['/v1/queries', { ...query({}), keyId: 'xyz' }], want: { status: 400, code: 'invalid_request', field: 'keyId' } }],
    ['no credentials', { given: () => ['/v1/queries', query({}), { apiKey: null }], want: { status: 401, code: 'unauthorized', field: 'Authorization' } }],
    ['an unknown API key', { given: () => ['/v1/queries', query({}), { apiKey: `vg_${'A'.repeat(43)}` }], want: { status: 401, code: 'unauthorized', field: 'Authorization' } }],
  ];

  it.each(cases)('%s', async (_name, { given, want }) => {
    const res = await post(...given());
    expect(res.status).toBe(want.status);
    expect(res.body.code).toBe(want.code);
    if (want.field) {
      expect(res.body.field).toBe(want.field);
      expect(res.body.message).toContain(want.field);
    }
    expect(Object.keys(res.body).every((k) => ['code', 'message', 'field', 'node'].includes(k))).toBe(true);
    if (want.status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('an auditor may not run queries (403)', async () => {
    const res = await post('/v1/queries', query({}), { apiKey: t.space.accounts.auditor });
    expect(res).toMatchObject({ status: 403, body: { code: 'forbidden' } });
  });

  it('rejected queries leave no record behind', async () => {
    const res = await post('/v1/queries', query({ datasets: ['nowhere.cohort'] }));
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).not.toMatch(/q_[A-Za-z0-9_-]{16,}/);
  });
});

describe('keys', () => {
  it.each([
    ['random bytes', () => toBase64(randomBytes(4096))],
    ['a ciphertext-sized blob', () => toBase64(randomBytes(131_200))],
  ])('registering %s as a public key is refused (400 invalid_public_key)', async (_name, blob) => {
    const res = await post('/v1/keys', { publicKey: blob() });
    expect(res).toMatchObject({ status: 400, body: { code: 'invalid_public_key', field: 'publicKey' } });
  });

  it('a key already registered by another researcher is refused', async () => {
    const admin = await post('/v1/accounts', { name: 'second researcher', role: 'researcher' }, { apiKey: t.space.accounts.admin });
    expect(admin.status).toBe(201);
    const res = await post('/v1/keys', { publicKey: toBase64(t.keys.publicKey) }, { apiKey: admin.body.apiKey });
    expect(res).toMatchObject({ status: 400, body: { code: 'invalid_public_key' } });
  });

  it('another researcher cannot query under my key (404 unknown_key)', async () => {
    const other = await post('/v1/accounts', { name: 'third researcher', role: 'researcher' }, { apiKey: t.space.accounts.admin });
    const res = await post('/v1/queries', query({}), { apiKey: other.body.apiKey });
    expect(res).toMatchObject({ status: 404, body: { code: 'unknown_key', field: 'keyId' } });
  });

  it('only admins create accounts; operators must name a registered node', async () => {
    expect((await post('/v1/accounts', { name: 'x', role: 'admin' })).body.code).toBe('forbidden');
    expect((await post('/v1/accounts', { name: 'op', role: 'operator' }, { apiKey: t.space.accounts.admin })).body).toMatchObject({ code: 'invalid_request', field: 'node' });
    expect((await post('/v1/accounts', { name: 'op', role: 'operator', node: 'hosp-zz' }, { apiKey: t.space.accounts.admin })).body).toMatchObject({ code: 'invalid_request', field: 'node' });
  });
});

describe('routes', () => {
  it('an unknown route is 404 not_found', async () => {
    const res = await fetch(`${t.space.hubUrl}/v1/rows`);
    expect(res.status).toBe(404);
    expect((await res.json()).code).toBe('not_found');
  });

  it('the SDK raises ApiError with the code and field', async () => {
    const err = await t.client.query({ datasets: ['nowhere.cohort'], aggregates: [{ op: 'count' }] }, { keys: t.keys, identity: t.identity }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'unknown_dataset', status: 400, field: 'query.datasets[0]' });
  });

  it('a freshly generated key must be registered before use', async () => {
    const keys = await generateHeKeyPair();
    const err = await t.client.query({ datasets: [t.datasets[0]!], aggregates: [{ op: 'count' }] }, { keys, identity: t.identity }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unknown_key', status: 404 });
  });
});

/**
 * Sends a request with a declared body of `size` bytes, writing it in 64 KiB chunks until the
 * server answers or closes; returns the answer's status line and headers, how much the client
 * wrote, and how many bytes the server read from the connection (its socket's `bytesRead`).
 */
async function upload(path: string, size: number, headers: Record<string, string>): Promise<{ head: string; written: number; serverRead: number }> {
  const server = t.space.hub.server;
  const accepted: Socket[] = [];
  const onConnection = (s: Socket) => accepted.push(s);
  server.on('connection', onConnection);
  const url = new URL(t.space.hubUrl);
  const socket = connect(Number(url.port), url.hostname);
  socket.on('error', () => {}); // EPIPE / ECONNRESET once the server closes: expected
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const lines = Object.entries({ host: url.host, 'content-length': String(size), ...headers }).map(([k, v]) => `${k}: ${v}`);
  socket.write(`POST ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let written = 0;
  let done = false;
  void closed.then(() => (done = true));
  while (!done && written < size && !answer.includes('\r\n\r\n')) {
    written += chunk.length;
    if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed, new Promise((r) => setTimeout(r, 1_000))]);
  }
  // Wait for the answer (and for the server to close), without sending more.
  await Promise.race([closed, new Promise((r) => setTimeout(r, 3_000))]);
  socket.destroy();
  server.off('connection', onConnection);
  await new Promise((r) => setTimeout(r, 50));
  return { head: answer.split('\r\n\r\n')[0] ?? '', written, serverRead: accepted.reduce((n, s) => n + s.bytesRead, 0) };
}

describe('bodies are read only after authentication, up to the route\'s limit', () => {
  const MB = 1024 * 1024;
  const consent = () => `/v1/datasets/${t.datasets[0]}/consent`;

  it('a 32 MB upload without a key is refused 401 having read almost none of it, and the connection closed', async () => {
    const r = await upload(consent(), 32 * MB, { 'content-type': 'text/csv' });
    expect(r.head).toMatch(/^HTTP\/1\.1 401/);
    expect(r.head.toLowerCase()).toContain('connection: close');
    expect(r.written).toBeLessThan(32 * MB);
    // The old global text/csv parser read all 32 MB before authenticating.
    expect(r.serverRead).toBeLessThan(2 * MB);
  });

  it('with a key but the wrong role (a researcher uploading consent): 403, body unread', async () => {
    const r = await upload(consent(), 32 * MB, { 'content-type': 'text/csv', authorization: `Bearer ${t.space.accounts.researcher}` });
    expect(r.head).toMatch(/^HTTP\/1\.1 403/);
    expect(r.serverRead).toBeLessThan(2 * MB);
  });

  it('an operator declaring more than the route\'s 32 MB limit: 413 before a byte of body is read', async () => {
    const operator = t.space.accounts.operators[t.datasetHospital[t.datasets[0]!]!]![0]!;
    const r = await upload(consent(), 33 * MB, { 'content-type': 'text/csv', authorization: `Bearer ${operator}` });
    expect(r.head).toMatch(/^HTTP\/1\.1 413/);
    expect(r.serverRead).toBeLessThan(2 * MB);
  });

  it('a JSON route keeps its own smaller limit (256 KB for a query)', async () => {
    const res = await post('/v1/queries', JSON.stringify({ pad: 'x'.repeat(300_000) }));
    expect(res).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
  });
});

/** A filter `depth` levels deep: `not` around `not` … around a leaf. */
function deepFilter(depth: number): object {
  let f: object = { op: 'isNull', element: 'age' };
  for (let i = 1; i < depth; i++) f = { op: 'not', filter: f };
  return f;
}

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.space.hubUrl}${path}`, { headers });
  return { status: res.status, body: await res.json() };
}

describe('issue 11: input the spec does not allow is a 4xx, never a 500', () => {
  it.each([
    ['gzip', () => gzipSync(JSON.stringify(query({})))],
    ['br', () => brotliCompressSync(JSON.stringify(query({})))],
    ['deflate (corrupt)', () => Buffer.from('not deflate at all')],
    ['x-unknown', () => Buffer.from(JSON.stringify(query({})))],
  ])('Content-Encoding: %s on a POST is 415 naming the header', async (encoding, body) => {
    const res = await fetch(`${t.space.hubUrl}/v1/queries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': encoding.split(' ')[0]!, authorization: `Bearer ${t.space.accounts.researcher}` },
      body: body(),
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: 'unsupported_media_type', field: 'Content-Encoding' });
  });

  it.each([
    ['/v1/keys/%E0%A4%A'],
    ['/v1/keys/%ZZ'],
    ['/v1/access-requests/%C0%80'],
    ['/v1/audit/trace/%'],
  ])('bad percent-encoding in %s is 400 invalid_request', async (path) => {
    const res = await get(path, { authorization: `Bearer ${t.space.accounts.admin}` });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalid_request' });
  });

  it.each([
    ['/v1/audit/proof/consistency', 'from', 'is required'],
    ['/v1/audit/proof/consistency?from=1&from=2', 'from', 'once'],
    ['/v1/audit/proof/consistency?from=abc', 'from', 'pattern'],
    ['/v1/audit/proof/inclusion?index=-1', 'index', 'pattern'],
    ['/v1/audit/proof/inclusion?index=1&debug=1', 'debug', 'not a parameter'],
    ['/v1/audit/entries?limit=999999', 'limit', 'pattern'],
    ['/v1/usage?format=xml', 'format', 'must be one of'],
  ])('%s is 400 naming the parameter %s', async (path, field, message) => {
    const res = await get(path, { authorization: `Bearer ${t.space.accounts.auditor}` });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalid_request', field });
    expect(res.body.message).toContain(message);
  });

  it('a malformed Veilgate-Progress header is 400 naming it', async () => {
    const res = await fetch(`${t.space.hubUrl}/v1/queries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'veilgate-progress': '../../etc', authorization: `Bearer ${t.space.accounts.researcher}` },
      body: JSON.stringify(query({})),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'invalid_request', field: 'Veilgate-Progress' });
  });

  it.each([
    [4_000, 'body'],
    [1_000, 'body'],
    [40, 'query.filter'],
  ])('a filter %i deep in a raw request is refused (400, field %s) and logs nothing', async (depth, field) => {
    const before = await t.space.hub.store.audit.size();
    const res = await post('/v1/queries', query({ filter: deepFilter(depth) }));
    expect(res).toMatchObject({ status: 400, body: { code: 'invalid_request', field } });
    expect(await t.space.hub.store.audit.size()).toBe(before);
  });

  it.each([
    [17, 'query.filter'],
  ])('a filter %i deep is refused by the SDK (field %s) before it is sent: no quota, credit or log entry is spent', async (depth, field) => {
    const before = { log: await t.space.hub.store.audit.size(), grants: await t.client.grants() };
    const err = await t.client.query({ datasets: [t.datasets[0]!], aggregates: [{ op: 'count' }], filter: deepFilter(depth) as never }, { keys: t.keys, identity: t.identity }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_request', field });
    expect(await t.space.hub.store.audit.size()).toBe(before.log);
    expect((await t.client.grants()).map((g) => g.queriesUsed)).toEqual(before.grants.map((g) => g.queriesUsed));
  });

  it('a filter at the depth limit (16) is accepted and runs at every node', async () => {
    const dataset = t.datasets[0]!;
    const out = await t.client.query({ datasets: [dataset], aggregates: [{ op: 'count' }], filter: deepFilter(16) as never }, { keys: t.keys, identity: t.identity });
    // 15 `not`s around `isNull age` is `age IS NOT NULL`: the oracle counts those rows directly.
    const [want] = await t.oracle.query(`SELECT count(*) AS n FROM pooled_t WHERE hospital = '${t.datasetHospital[dataset]}' AND age IS NOT NULL`);
    expect(out.groups[0]!.count).toBe(Number(want!.n));
  });
});
