/**
 * Retries of a query (protocol.md §11.1, draft-ietf-httpapi-idempotency-key-header): a real TCP
 * proxy between the SDK and the hub drops the client's connection just as the hub's answer
 * comes back — after the hub committed — and the SDK's retry (same key, new DPoP proof) gets
 * the stored result: one `query.accepted`, one charge, one computation at the node. A key
 * reused for another request, a malformed key, and a retry of a failed query.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { NetworkError, VeilgateClient, createQueryProof, type Query } from '@veilgate/sdk';
import { startTestSpace, type TestSpace } from '../support/space.ts';

let t: TestSpace;
let proxy: Server;
let proxyUrl: string;
/** Connections whose hub → client stream the proxy cuts at its first byte. */
let cutNext = 0;
const A = 'hosp-a.cardiometabolic';
const count: Query = { datasets: [A], aggregates: [{ op: 'count' }] };

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 150, hospitals: 1 });
  const hub = new URL(t.space.hubUrl);
  proxy = createServer((client: Socket) => {
    const upstream = connect(Number(hub.port), hub.hostname);
    let isQuery = false;
    client.on('data', (chunk: Buffer) => {
      if (!isQuery && chunk.toString('latin1').startsWith('POST /v1/queries ')) isQuery = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (isQuery && cutNext > 0) {
        cutNext--;
        // The hub has answered, so it has committed: the client never sees the answer.
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address() as { port: number };
  proxyUrl = `http://127.0.0.1:${address.port}`;
}, 120_000);
afterAll(async () => {
  proxy?.close();
  await t?.close();
});

function hubDb<T>(read: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(join(t.dir, 'hub.sqlite'), { readOnly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

it('a connection dropped after the hub committed: the retry gets the stored result, charged once, computed once', async () => {
  const client = new VeilgateClient({ baseUrl: proxyUrl, apiKey: t.space.accounts.researcher });
  const before = { credits: (await t.client.balance()).credits, queries: hubDb((db) => Number((db.prepare('SELECT count(*) AS n FROM queries').get() as { n: number }).n)) };
  cutNext = 1;
  const outcome = await client.query(count, { keys: t.keys, identity: t.identity });
  expect(cutNext).toBe(0); // the first answer really was dropped
  const rows = await t.oracle.query(`SELECT count(*) AS n FROM pooled_t`);
  expect(outcome.groups[0]!.count).toBe(Number(rows[0]!.n));
  // One query accepted and completed, one charge.
  const after = hubDb((db) => ({
    queries: Number((db.prepare('SELECT count(*) AS n FROM queries').get() as { n: number }).n),
    last: { ...(db.prepare('SELECT id, status FROM queries ORDER BY rowid DESC LIMIT 1').get() as object) },
    accepted: Number((db.prepare(`SELECT count(*) AS n FROM query_charges WHERE query_id = ?`).get(outcome.queryId) as { n: number }).n),
  }));
  expect(after.queries).toBe(before.queries + 1);
  expect(after.last).toEqual({ id: outcome.queryId, status: 'completed' });
  const price = outcome.cost.credits;
  expect(price).toBeGreaterThan(0);
  expect((await t.client.balance()).credits).toBeCloseTo(before.credits - price, 6);
  // The node computed it once: one contribution.computed entry in its log since.
  const nodeEntries = (await (await fetch(`${t.space.nodes[0]!.url}/v1/audit/entries?start=0&limit=10000`)).json()) as { entries: { entry: { type: string; queryId?: string } }[] };
  expect(nodeEntries.entries.filter((e) => e.entry.type === 'contribution.computed' && e.entry.queryId === outcome.queryId)).toHaveLength(1);
  // The receipt handed out on the retry verifies (the SDK checked it) and is the completion entry's.
  expect(outcome.receipt.index).toBe(hubDb((db) => Number((db.prepare('SELECT ended_index FROM queries WHERE id = ?').get(outcome.queryId) as { ended_index: number }).ended_index)));
});

it('the same key with another request: 422 idempotency_key_reused, before any proof is checked; a malformed key: 400', async () => {
  const client = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.researcher });
  const outcome = await client.query(count, { keys: t.keys, identity: t.identity });
  const key = hubDb((db) => (db.prepare('SELECT key FROM idempotency_keys WHERE query_id = ?').get(outcome.queryId) as { key: string }).key);
  const post = (body: unknown, idempotencyKey: string) => fetch(`${t.space.hubUrl}/v1/queries`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.space.accounts.researcher}`, 'idempotency-key': idempotencyKey }, body: JSON.stringify(body),
  });
  const other = { keyId: t.keys.keyId, query: { datasets: [A], aggregates: [{ op: 'count' }, { op: 'mean', element: 'age' }] }, purpose: 'DUO:0000006', tokens: ['x.y.z'] };
  const reused = await post(other, `"${key}"`);
  expect(reused.status).toBe(422);
  expect(await reused.json()).toMatchObject({ code: 'idempotency_key_reused', field: 'Idempotency-Key' });
  const malformed = await post(other, 'short');
  expect(malformed.status).toBe(400);
  expect(await malformed.json()).toMatchObject({ code: 'invalid_request', field: 'Idempotency-Key' });
});

it('a failed query retried under its key gets the same error, and is not run again', async () => {
  // DataSHIELD nfilter.levels at the node: refused after the hub accepted the query.
  const refused: Query = { datasets: [A], groupBy: [{ element: 'sex' }, { element: 'age', buckets: Array.from({ length: 61 }, (_, i) => 20 + i) }], aggregates: [{ op: 'count' }] };
  const client = new VeilgateClient({ baseUrl: proxyUrl, apiKey: t.space.accounts.researcher });
  const queriesBefore = hubDb((db) => Number((db.prepare('SELECT count(*) AS n FROM queries').get() as { n: number }).n));
  cutNext = 1;
  const err = await client.query(refused, { keys: t.keys, identity: t.identity }).catch((e: unknown) => e);
  expect(cutNext).toBe(0);
  expect(err).toMatchObject({ code: 'disclosure_control', status: 422, field: 'query.groupBy' });
  expect(hubDb((db) => Number((db.prepare('SELECT count(*) AS n FROM queries').get() as { n: number }).n))).toBe(queriesBefore + 1);
});

it('a hub that cannot be reached: NetworkError network_error, never a raw TypeError', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const client = new VeilgateClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'vg_x', retry: { retries: 2, baseDelayMs: 10 } });
  const err = await client.health().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NetworkError);
  expect(err).toMatchObject({ code: 'network_error' });
  expect((err as Error).message).not.toContain('vg_x');
});

it('a retry while the first request runs: 409 idempotency_in_progress with Retry-After; once it ended, the stored result without a proof', async () => {
  const { tokens, purpose } = await t.client.tokensFor(count, t.identity);
  const body = { keyId: t.keys.keyId, query: count, purpose, tokens };
  const url = `${t.space.hubUrl}/v1/queries`;
  const key = `"${crypto.randomUUID()}"`;
  const post = async (withProof: boolean) => fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json', authorization: `Bearer ${t.space.accounts.researcher}`, 'idempotency-key': key,
      ...(withProof ? { dpop: await createQueryProof({ identity: t.identity, htu: url, request: body, participants: [t.space.nodes[0]!.id] }) } : {}),
    },
    body: JSON.stringify(body),
  });
  // Sent together: both pass the lookup, one claims the key with its acceptance, the other
  // finds it claimed by a running query.
  const answers = await Promise.all([post(true), post(true)]);
  expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
  const busy = answers.find((a) => a.status === 409)!;
  expect(busy.headers.get('retry-after')).toBe('1');
  expect(await busy.json()).toMatchObject({ code: 'idempotency_in_progress', field: 'Idempotency-Key' });
  const result = (await answers.find((a) => a.status === 200)!.json()) as { queryId: string };
  // No proof at all: the stored answer is given before any proof is checked — the same result.
  const replay = await post(false);
  expect(replay.status).toBe(200);
  expect(await replay.json()).toEqual(result);
});
