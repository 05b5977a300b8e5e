/**
 * Faults between hub and nodes: a node that is down, slower than the timeout, or whose
 * contribution does not verify. Each gets a clear 502/504 naming the node, the query is
 * recorded as failed (nothing half done), the rejection is logged, and the hub goes on.
 * Real nodes sit behind a misbehaving proxy; a second hub is pointed at the proxies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  ApiError, VeilgateClient, contributionDigest, decodeContribution, encodeContribution, sha256Hex, type Query,
} from '@veilgate/sdk';
import { createAccount } from '../../gateway/src/hub/accounts.ts';
import { grantAccess } from '../../gateway/src/demo/grant-access.ts';
import { loadDictionary } from '../../gateway/src/datasets/dictionary.ts';
import { generateSigningKey, signMessage } from '../../gateway/src/crypto/ed25519.ts';
import { startHub, type HubConfig, type NodeConfig } from '../../gateway/src/server/config.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';
import { startNodeProxy, type ProxyFaults } from '../support/node-proxy.ts';

let t: TestSpace;
let hubConfig: HubConfig;
const nodeSecrets: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 300 });
  hubConfig = JSON.parse(readFileSync(join(t.dir, 'hub.json'), 'utf8')) as HubConfig;
  for (const f of readdirSync(join(t.dir, 'nodes')).filter((name) => name.endsWith('.json'))) {
    const c = JSON.parse(readFileSync(join(t.dir, 'nodes', f), 'utf8')) as NodeConfig;
    nodeSecrets[c.id] = c.signingKey;
  }
});
afterAll(async () => t?.close());

/** A second hub whose route to `faulty` goes through a misbehaving proxy. */
async function hubWithFaultyNode(faulty: string, faults: ProxyFaults, fanOutTimeoutMs = 5_000) {
  const target = hubConfig.nodes.find((n) => n.id === faulty)!;
  const proxy = await startNodeProxy(target.url, faults);
  const lines: string[] = [];
  const storePath = join(t.dir, `faulty-${faulty}-${Date.now()}.sqlite`);
  const hub = await startHub(
    // Its own log key: the nodes witness only the real hub's log, and must not be confused by this one.
    { ...hubConfig, port: 0, store: storePath, fanOutTimeoutMs, logKey: generateSigningKey().secretKey, nodes: hubConfig.nodes.map((n) => (n.id === faulty ? { ...n, url: proxy.url } : n)) },
    loadDictionary(),
    { log: (line) => lines.push(line) },
  );
  const { apiKey, account } = await createAccount(hub.store, { name: 'researcher', role: 'researcher' });
  const admin = await createAccount(hub.store, { name: 'admin', role: 'admin' });
  await hub.store.topUpCredits(account.id, 10_000_000, admin.account.id);
  const operators: Record<string, string[]> = {};
  for (const n of hubConfig.nodes) {
    operators[n.id] = [
      (await createAccount(hub.store, { name: 'op 1', role: 'operator', node: n.id })).apiKey,
      (await createAccount(hub.store, { name: 'op 2', role: 'operator', node: n.id })).apiKey,
    ];
  }
  const client = new VeilgateClient({ baseUrl: hub.url, apiKey });
  await client.registerKey(t.keys);
  await grantAccess({ hubUrl: hub.url, researcher: apiKey, operators }, t.identity);
  return {
    client, lines, proxy,
    queries: () => {
      const db = new DatabaseSync(storePath, { readOnly: true });
      try {
        return db.prepare('SELECT status, error_code FROM queries').all().map((r) => ({ ...r }));
      } finally {
        db.close();
      }
    },
    close: async () => {
      await hub.close();
      await proxy.close();
    },
  };
}

const everyDataset = (): Query => ({ datasets: t.datasets, groupBy: [{ element: 'sex' }], aggregates: [{ op: 'count' }, { op: 'mean', element: 'bmi' }] });

/** Rewrites a contribution: `edit` may change the header and ciphertexts; `resign` signs again with the node's real key. */
function rewrite(node: string, edit: (h: any, cts: Uint8Array[]) => void, resign: boolean): (envelope: Uint8Array) => Uint8Array {
  return (envelope) => {
    const { header, ciphertexts } = decodeContribution(envelope);
    const cts = ciphertexts.map((c) => c.slice());
    const h = structuredClone(header);
    edit(h, cts);
    if (resign) {
      h.ciphertextSha256 = cts.map(sha256Hex);
      h.signature = signMessage(nodeSecrets[node]!, contributionDigest(h));
    }
    return encodeContribution(h, cts);
  };
}

describe('a node that fails during the fan-out', () => {
  const cases: [string, { node: string; faults: () => ProxyFaults; timeoutMs?: number; warm?: boolean; before?: (p: { close(): Promise<void> }) => Promise<void>; want: { status: number; code: string } }][] = [
    ['is down', { node: 'hosp-c', faults: () => ({}), before: (proxy) => proxy.close(), want: { status: 502, code: 'node_unavailable' } }],
    ['is slower than the timeout', { node: 'hosp-b', faults: () => ({ delayMs: 6_000 }), timeoutMs: 2_000, want: { status: 504, code: 'node_timeout' } }],
    ['sends a ciphertext altered in transit', { node: 'hosp-a', faults: () => ({ mutate: rewrite('hosp-a', (_h, cts) => { cts[0]![1000]! ^= 1; }, false) }), want: { status: 502, code: 'node_signature_invalid' } }],
    ['sends a forged signature', { node: 'hosp-b', faults: () => ({ mutate: rewrite('hosp-b', (h) => { h.signature = signMessage(nodeSecrets['hosp-a']!, contributionDigest(h)); }, false) }), want: { status: 502, code: 'node_signature_invalid' } }],
    ['claims another node\'s identity', { node: 'hosp-b', faults: () => ({ mutate: rewrite('hosp-b', (h) => { h.node = 'hosp-a'; }, true) }), want: { status: 502, code: 'node_signature_invalid' } }],
    ['signs a ciphertext that is not valid SEAL', { node: 'hosp-c', faults: () => ({ mutate: rewrite('hosp-c', (_h, cts) => { cts[0]!.fill(0xff, 200, 4000); }, true) }), want: { status: 502, code: 'node_ciphertext_invalid' } }],
    ['tries to contribute twice in one answer', { node: 'hosp-b', faults: () => ({ mutate: rewrite('hosp-b', (_h, cts) => { cts.push(cts[0]!.slice()); }, true) }), want: { status: 502, code: 'node_signature_invalid' } }],
    ['replays a contribution it made for an earlier query', {
      node: 'hosp-a',
      faults: () => {
        let first: Uint8Array | undefined;
        return { mutate: (envelope: Uint8Array) => (first ??= envelope) };
      },
      warm: true,
      want: { status: 502, code: 'node_signature_invalid' },
    }],
    ['answers with garbage', { node: 'hosp-a', faults: () => ({ mutate: () => new TextEncoder().encode('<html>oops</html>') }), want: { status: 502, code: 'node_error' } }],
  ];

  it.each(cases)('%s', async (_name, c) => {
    const hub = await hubWithFaultyNode(c.node, c.faults(), c.timeoutMs);
    try {
      await hub.client.catalog(); // the catalog is gathered while the node still answers
      if (c.warm) await hub.client.query({ datasets: t.datasets, aggregates: [{ op: 'count' }] }, { keys: t.keys, identity: t.identity });
      if (c.before) {
        // A node that goes down later: the hub has already met it (catalog, keys, a query).
        await hub.client.query({ datasets: t.datasets, aggregates: [{ op: 'count' }] }, { keys: t.keys, identity: t.identity });
        await c.before(hub.proxy);
      }
      const err = await hub.client.query(everyDataset(), { keys: t.keys, identity: t.identity }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ status: c.want.status, code: c.want.code, node: c.node });
      expect((err as ApiError).message).toContain(c.node);
      // Nothing half done: the query is recorded as failed with the code, and the rejection logged.
      const rows = hub.queries();
      expect(rows.at(-1)).toEqual({ status: 'failed', error_code: c.want.code });
      expect(rows.filter((r) => r.status === 'running')).toEqual([]);
      expect(hub.lines.some((l) => l.includes('failed') && l.includes(c.want.code) && l.includes(`node=${c.node}`))).toBe(true);
      // The hub goes on: a query that avoids the faulty node succeeds.
      const healthy = t.datasets.filter((d) => t.datasetHospital[d] !== c.node);
      const ok = await hub.client.query({ datasets: healthy, aggregates: [{ op: 'count' }] }, { keys: t.keys, identity: t.identity });
      expect(ok.groups[0]!.count).toBeGreaterThan(0);
    } finally {
      await hub.close();
    }
  });
});

describe('a node that refuses the computation', () => {
  it('under its own policy (disclosure_control): the researcher gets its code, field and 422, naming the node; the query fails and costs nothing', async () => {
    const before = await t.client.balance();
    // DataSHIELD nfilter.levels at the node: 120 sex × age groups over ≈300 rows a hospital is too many.
    const query: Query = { datasets: t.datasets, groupBy: [{ element: 'sex' }, { element: 'age', buckets: Array.from({ length: 61 }, (_, i) => 20 + i) }], aggregates: [{ op: 'count' }] };
    const err = await t.client.query(query, { keys: t.keys, identity: t.identity }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 422, code: 'disclosure_control', field: 'query.groupBy' });
    const node = (err as ApiError).node!;
    expect(Object.values(t.datasetHospital)).toContain(node);
    expect((err as ApiError).message).toContain(node);
    expect((err as ApiError).message).toContain('nfilter.levels');
    const db = new DatabaseSync(join(t.dir, 'hub.sqlite'), { readOnly: true });
    try {
      expect({ ...db.prepare('SELECT status, error_code FROM queries ORDER BY rowid DESC LIMIT 1').get() }).toEqual({ status: 'failed', error_code: 'disclosure_control' });
    } finally {
      db.close();
    }
    const after = await t.client.balance();
    expect(after.credits).toBe(before.credits);
    // Nothing charged: credits, and ρ neither spent nor left reserved. (The query does count
    // against each grant's quota: the hub spends quota at acceptance, protocol.md §11.)
    expect(after.grants.map((g) => [g.jti, g.spent, g.reserved])).toEqual(before.grants.map((g) => [g.jti, g.spent, g.reserved]));
  });

  const cases: [string, { refuse: { status: number; body: string }; want: { status: number; code: string; field?: string } }][] = [
    ['with a code outside the documented set: node_error, not the injected code', {
      refuse: { status: 402, body: JSON.stringify({ code: 'insufficient_credits', message: 'pay the node' }) }, want: { status: 502, code: 'node_error' },
    }],
    ['with a documented code but a 5xx status: node_error', {
      refuse: { status: 500, body: JSON.stringify({ code: 'disclosure_control', message: 'x' }) }, want: { status: 502, code: 'node_error' },
    }],
    ['with a huge message and a field that is not a field: code kept, message bounded, field dropped', {
      refuse: { status: 422, body: JSON.stringify({ code: 'disclosure_control', message: `\u0007<b>${'y'.repeat(10_000)}`, field: '<script>alert(1)</script>' }) },
      want: { status: 422, code: 'disclosure_control' },
    }],
    ['with a body larger than the hub reads: node_error', {
      refuse: { status: 422, body: JSON.stringify({ code: 'disclosure_control', message: 'z'.repeat(1_000_000) }) }, want: { status: 502, code: 'node_error' },
    }],
  ];
  it.each(cases)('%s', async (_name, c) => {
    const hub = await hubWithFaultyNode('hosp-b', { refuse: c.refuse });
    try {
      await hub.client.catalog();
      const err = await hub.client.query(everyDataset(), { keys: t.keys, identity: t.identity }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ status: c.want.status, code: c.want.code, node: 'hosp-b' });
      expect((err as ApiError).field).toBeUndefined();
      expect((err as ApiError).message.length).toBeLessThan(300);
      expect((err as ApiError).message).not.toMatch(/[\u0000-\u001f]/);
      expect(hub.queries().at(-1)).toEqual({ status: 'failed', error_code: c.want.code });
    } finally {
      await hub.close();
    }
  });
});

describe('what the hub logs and answers never carries data', () => {
  it('no API key, ciphertext or aggregate value in any log line', async () => {
    const outcome = await t.client.query(everyDataset(), { keys: t.keys, identity: t.identity });
    const text = t.lines.join('\n');
    expect(text).not.toContain(t.space.accounts.researcher);
    expect(text).not.toMatch(/[A-Za-z0-9+/]{200,}/); // no base64 blobs
    for (const g of outcome.groups) {
      const mean = g.aggregates[1];
      if (mean?.op === 'mean' && mean.value !== null) expect(text).not.toContain(mean.value.toFixed(3));
    }
  });
});
