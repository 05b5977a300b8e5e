/**
 * Hub → node messages, attacked as someone who captured them would (issue 10 §5): every one
 * carries a time and a nonce under the hub's signature (spec/protocol.md §5.1), and a node
 * refuses it when replayed — at once, after the node restarts, or a day later — with its state
 * unchanged. And what a node serves to anyone names no account.
 *
 * The messages are real: the hub runs in this process, and a spy on `fetch` keeps a copy of
 * each request it sends to a node.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VeilgateClient } from '@veilgate/sdk';
import { loadDictionary } from '../../gateway/src/datasets/dictionary.ts';
import { startNode, type HubConfig, type NodeConfig } from '../../gateway/src/server/config.ts';
import { signHubMessage } from '../../gateway/src/hub/node-call.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';

interface Captured {
  url: string;
  headers: Record<string, string>;
  body: Uint8Array<ArrayBuffer>;
}

let t: TestSpace;
let hubConfig: HubConfig;
const captured: Captured[] = [];
const realFetch = globalThis.fetch;

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 300 });
  hubConfig = JSON.parse(readFileSync(join(t.dir, 'hub.json'), 'utf8')) as HubConfig;
  const nodeUrls = t.space.nodes.map((n) => n.url);
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (init?.method === 'POST' && nodeUrls.some((u) => url.startsWith(u)) && init.body instanceof Uint8Array) {
      captured.push({ url, headers: { ...(init.headers as Record<string, string>) }, body: new Uint8Array(init.body) });
    }
    return realFetch(input, init);
  });
});
afterAll(async () => {
  vi.restoreAllMocks();
  vi.useRealTimers();
  await t?.close();
});

const nodeOf = (dataset: string) => t.space.nodes.find((n) => n.id === t.datasetHospital[dataset])!;
const lastTo = (path: string): Captured => {
  const found = captured.filter((c) => new URL(c.url).pathname === path).at(-1);
  if (!found) throw new Error(`no captured message to ${path}`);
  return found;
};
const send = async (c: Captured, edit: { url?: string; body?: Uint8Array<ArrayBuffer>; headers?: Record<string, string> } = {}) => {
  const res = await realFetch(edit.url ?? c.url, { method: 'POST', headers: edit.headers ?? c.headers, body: edit.body ?? c.body });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? (JSON.parse(text) as { code?: string; field?: string; message?: string }) : {} };
};
const nodeView = async (node: { url: string }, dataset: string) => {
  const info = (await (await realFetch(`${node.url}/v1/node`)).json()) as { datasets: { id: string; differentialPrivacy: boolean; defaultRho: number }[] };
  return info.datasets.find((d) => d.id === dataset)!;
};
const logSize = async (node: { url: string }): Promise<number> => {
  const size = ((await (await realFetch(`${node.url}/v1/audit/checkpoint`)).json()) as { treeSize: number }).treeSize;
  expect(size).toBeGreaterThan(0);
  return size;
};

describe('a captured hub → node message cannot be used again', () => {
  const dataset = () => t.datasets[0]!;
  const operator = () => new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.operators[t.datasetHospital[dataset()]!]![0]! });

  it('a privacy policy replayed at once is refused (409) and the policy in force is unchanged', async () => {
    await operator().setPrivacy(dataset(), { differentialPrivacy: true, defaultRho: 0.25 });
    const turnOn = lastTo('/v1/policies');
    await operator().setPrivacy(dataset(), { differentialPrivacy: false });
    const node = nodeOf(dataset());
    expect(await nodeView(node, dataset())).toMatchObject({ differentialPrivacy: false });
    // The message carries the hub-signed time and nonce.
    expect(turnOn.headers['Veilgate-Hub-Signature-Input']).toMatch(/;created=\d+;nonce="[A-Za-z0-9_-]{22}"/);

    const replay = await send(turnOn);
    expect(replay).toMatchObject({ status: 409, body: { code: 'replayed_request', field: 'Veilgate-Hub-Signature-Input' } });
    expect(replay.body.message).toContain('nonce');
    expect(await nodeView(node, dataset())).toMatchObject({ differentialPrivacy: false });
  });

  it('a consent message replayed is refused and applies nothing (the node log does not grow)', async () => {
    const ds = dataset();
    const op = operator();
    await op.importConsent(ds, 'subject,purpose,status,recorded_at\npatient-1,*,withdrawn,2024-01-01T00:00:00Z\n');
    const withdraw = lastTo('/v1/consent/commits');
    await op.importConsent(ds, 'subject,purpose,status,recorded_at\npatient-1,*,granted,2024-02-01T00:00:00Z\n');
    const node = nodeOf(ds);
    await t.space.hub.app.witnessing.settle(); // its co-signatures are entries of the node's log too
    const before = await logSize(node);
    expect(await send(withdraw)).toMatchObject({ status: 409, body: { code: 'replayed_request' } });
    expect(await logSize(node)).toBe(before);
  });

  it('a message sent to another node, or with another body, is refused (401)', async () => {
    const policy = lastTo('/v1/policies');
    const other = t.space.nodes.find((n) => !policy.url.startsWith(n.url))!;
    expect(await send(policy, { url: `${other.url}/v1/policies` })).toMatchObject({ status: 401, body: { code: 'hub_signature_invalid' } });
    const body = new TextEncoder().encode(new TextDecoder().decode(policy.body).replace('false', 'true '));
    expect(await send(policy, { body })).toMatchObject({ status: 401, body: { code: 'hub_signature_invalid', field: 'Content-Digest' } });
    const { ['Veilgate-Hub-Signature']: _s, ...unsigned } = policy.headers;
    expect(await send(policy, { headers: unsigned })).toMatchObject({ status: 401, body: { code: 'hub_signature_invalid' } });
  });

  it('a message the hub signed ten minutes ago and never sent is stale (409)', async () => {
    const ds = dataset();
    const node = nodeOf(ds);
    const url = new URL(`${node.url}/v1/policies`);
    const body = new TextEncoder().encode(JSON.stringify({ dataset: ds, policy: { differentialPrivacy: true }, issuedAt: Date.now() }));
    const headers = { 'content-type': 'application/json', ...signHubMessage({ hubSigningKey: hubConfig.signingKey, node: node.id, url, body, now: Date.now() - 10 * 60_000 }) };
    const res = await send({ url: url.href, headers, body });
    expect(res).toMatchObject({ status: 409, body: { code: 'replayed_request' } });
    expect(res.body.message).toContain('created');
    expect(await nodeView(node, ds)).toMatchObject({ differentialPrivacy: false });
    // The same message signed now is accepted: the refusal was the time, not the shape.
    const fresh = { 'content-type': 'application/json', ...signHubMessage({ hubSigningKey: hubConfig.signingKey, node: node.id, url, body }) };
    expect((await send({ url: url.href, headers: fresh, body })).status).toBe(200);
    expect(await nodeView(node, ds)).toMatchObject({ differentialPrivacy: true });
    await operator().setPrivacy(ds, { differentialPrivacy: false });
  });

  it('a day later the captured policy is refused as stale, and the policy is unchanged', async () => {
    const turnOn = captured.filter((c) => c.url.endsWith('/v1/policies') && new TextDecoder().decode(c.body).includes('"differentialPrivacy":true'))[0]!;
    const node = nodeOf(dataset());
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 24 * 3600_000 });
    try {
      const res = await send(turnOn);
      expect(res).toMatchObject({ status: 409, body: { code: 'replayed_request' } });
      expect(res.body.message).toContain('created');
    } finally {
      vi.useRealTimers();
    }
    expect(await nodeView(node, dataset())).toMatchObject({ differentialPrivacy: false });
  });

  it('after the node restarts, a policy and a compute request already delivered are still refused', async () => {
    await t.client.query({ datasets: [dataset()], aggregates: [{ op: 'count' }] }, { keys: t.keys, identity: t.identity });
    const compute = lastTo('/v1/compute');
    const policy = lastTo('/v1/policies');
    const hospital = t.datasetHospital[dataset()]!;
    const config = JSON.parse(readFileSync(join(t.dir, 'nodes', `${hospital}.json`), 'utf8')) as NodeConfig;
    // A fresh process of the same node: nothing in memory, the same state file.
    const restarted = await startNode({ ...config, port: 0 }, loadDictionary(), { log: () => {} });
    try {
      await t.space.hub.app.witnessing.settle();
      const before = await logSize(restarted);
      for (const message of [policy, compute]) {
        const path = new URL(message.url).pathname;
        expect(await send(message, { url: `${restarted.url}${path}` })).toMatchObject({ status: 409, body: { code: 'replayed_request' } });
      }
      expect(await logSize(restarted)).toBe(before);
    } finally {
      await restarted.close();
    }
  });
});

describe('what a node serves to anyone names no account', () => {
  it('after grants and queries, no account id or name appears in any public node response', async () => {
    await t.client.query({ datasets: t.datasets, groupBy: [{ element: 'sex' }], aggregates: [{ op: 'count' }] }, { keys: t.keys, identity: t.identity });
    const admin = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.admin });
    const accounts = await admin.listAccounts();
    expect(accounts.length).toBeGreaterThan(5);
    for (const node of t.space.nodes) {
      const size = await logSize(node);
      const paths = ['/v1/health', '/v1/node', '/.well-known/jwks.json', '/v1/audit/checkpoint', `/v1/audit/entries?start=0&limit=${size}`, '/v1/nowhere'];
      const served = (await Promise.all(paths.map(async (p) => (await realFetch(`${node.url}${p}`)).text()))).join('\n');
      expect(served).toContain('token.signed'); // the grant is in the node's log …
      for (const a of accounts) {
        expect(served).not.toContain(a.id); // … but not who asked or who approved
        expect(served).not.toContain(a.name);
      }
    }
  });

  it('an auditor can still tie a node\'s token.signed to the hub\'s token.issued (same token hash)', async () => {
    const auditor = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.auditor });
    const hub = (await auditor.auditEntries(0, 10_000)).entries.map((e) => e.entry as Record<string, unknown>);
    const node = t.space.nodes[0]!;
    const page = (await (await realFetch(`${node.url}/v1/audit/entries?start=0&limit=1000`)).json()) as { entries: { entry: Record<string, unknown> }[] };
    const signed = page.entries.map((e) => e.entry).filter((e) => e.type === 'token.signed');
    expect(signed.length).toBeGreaterThan(0);
    for (const s of signed) {
      const issued = hub.find((e) => e.type === 'token.issued' && e.jti === s.jti);
      expect(issued).toMatchObject({ requestId: s.requestId, tokenSha256: s.tokenSha256, node: node.id });
    }
  });
});
