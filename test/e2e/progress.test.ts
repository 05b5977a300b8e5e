/**
 * Query progress over real HTTP: the SDK hears each institution's contribution while the
 * hub waits; another account cannot watch the channel; a refused query ends the stream with
 * its code; the events carry no data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VeilgateClient, generateIdentityKey, newProgressChannel, readProgressEvents, type Query, type QueryProgress, type QueryProgressEvent } from '@veilgate/sdk';
import { startTestSpace, type TestSpace } from '../support/space.ts';

let t: TestSpace;
beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 300 });
});
afterAll(() => t?.close());

const query = (datasets: string[]): Query => ({ datasets, aggregates: [{ op: 'count' }, { op: 'mean', element: 'systolic_bp' }], groupBy: [{ element: 'sex' }] });

async function watch(apiKey: string, channel: string): Promise<{ status: number; events: Promise<QueryProgressEvent[]> }> {
  const res = await fetch(`${t.space.hubUrl}/v1/queries/progress/${channel}`, { headers: { Authorization: `Bearer ${apiKey}` } });
  const events: QueryProgressEvent[] = [];
  return { status: res.status, events: res.ok ? readProgressEvents(res.body!, (e) => events.push(e)).then(() => events) : res.text().then(() => []) };
}

describe('query progress', () => {
  it('the SDK reports every institution as its contribution arrives, then combining', async () => {
    const seen: QueryProgress[] = [];
    const outcome = await t.client.query(query(t.datasets), { keys: t.keys, identity: t.identity, onProgress: (p) => seen.push(p) });
    const nodes = [...new Set(Object.values(t.datasetHospital))].sort();
    const contributed = seen.filter((p): p is Extract<QueryProgress, { phase: 'contributed' }> => p.phase === 'contributed');
    expect(contributed.map((p) => p.node).sort()).toEqual(nodes);
    expect(contributed.map((p) => p.done)).toEqual(nodes.map((_, i) => i + 1));
    expect(contributed.every((p) => p.total === nodes.length && p.ms >= 0)).toBe(true);
    expect(outcome.contributions.map((c) => c.node).sort()).toEqual(nodes);
    const phases = seen.map((p) => p.phase);
    expect(phases.indexOf('fan-out')).toBeLessThan(phases.indexOf('contributed'));
    expect(phases.lastIndexOf('contributed')).toBeLessThan(phases.indexOf('combining'));
    expect(phases.indexOf('combining')).toBeLessThan(phases.indexOf('decrypting'));
    expect(phases.at(-1)).toBe('done');
  });

  it('a watcher hears accepted → contributed × n → combining → completed at the receipt\'s index, and nothing else', async () => {
    const channel = newProgressChannel();
    const w = await watch(t.space.accounts.researcher, channel);
    expect(w.status).toBe(200);
    const res = await raw(channel);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queryId: string; receipt: { index: number } };
    const events = await w.events;
    expect(events.map((e) => e.type)).toEqual(['accepted', ...events.filter((e) => e.type === 'contributed').map(() => 'contributed'), 'combining', 'completed']);
    expect(events[0]).toMatchObject({ type: 'accepted', queryId: body.queryId });
    expect(events.at(-1)).toEqual({ type: 'completed', index: body.receipt.index });
    // Names, counts, timings, codes — never a number from the data.
    for (const e of events) expect(Object.keys(e).every((k) => ['type', 'queryId', 'nodes', 'node', 'ms', 'done', 'total', 'index', 'code'].includes(k))).toBe(true);
  });

  it('channels are per account: another account watching the same id hears nothing of the query; bad ids are refused', async () => {
    const channel = newProgressChannel();
    const other = await new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.admin }).createAccount({ name: 'other lab', role: 'researcher' });
    const abort = new AbortController();
    const res = await fetch(`${t.space.hubUrl}/v1/queries/progress/${channel}`, { headers: { Authorization: `Bearer ${other.apiKey}` }, signal: abort.signal });
    expect(res.status).toBe(200);
    const heard: QueryProgressEvent[] = [];
    const reading = readProgressEvents(res.body!, (e) => heard.push(e), abort.signal).catch(() => {});
    expect((await raw(channel)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    abort.abort();
    await reading;
    expect(heard).toEqual([]);
    expect((await watch(t.space.accounts.auditor, newProgressChannel())).status).toBe(403);
    const bad = await fetch(`${t.space.hubUrl}/v1/queries/progress/short`, { headers: { Authorization: `Bearer ${t.space.accounts.researcher}` } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'invalid_request', field: expect.stringContaining('channel') });
    const badHeader = await raw('not a channel!');
    expect(badHeader.status).toBe(400);
    expect(await badHeader.json()).toMatchObject({ code: 'invalid_request', field: 'Veilgate-Progress' });
  });

  it('a refused query ends the stream with its code', async () => {
    const channel = newProgressChannel();
    const w = await watch(t.space.accounts.researcher, channel);
    const stranger = await generateIdentityKey();
    const res = await raw(channel, { identity: stranger, tokens: [] });
    expect(res.status).toBeGreaterThanOrEqual(400);
    const code = ((await res.json()) as { code: string }).code;
    expect(await w.events).toEqual([{ type: 'failed', code }]);
  });
});

/** POST /v1/queries with a progress header (and a DPoP proof when tokens are given). */
async function raw(channel: string, options: { identity?: Awaited<ReturnType<typeof generateIdentityKey>>; tokens?: string[] } = {}): Promise<Response> {
  const { createQueryProof } = await import('@veilgate/sdk');
  const identity = options.identity ?? t.identity;
  const { purpose, tokens } = options.tokens ? { purpose: 'DUO:0000006', tokens: options.tokens } : await t.client.tokensFor(query(t.datasets), identity);
  const url = `${t.space.hubUrl}/v1/queries`;
  const participants = [...new Set(t.datasets.map((d) => t.datasetHospital[d]!))];
  const dpop = tokens.length ? await createQueryProof({ identity, htu: url, request: { keyId: t.keys.keyId, query: query(t.datasets), purpose, tokens }, participants }) : undefined;
  return fetch(url, {
    method: 'POST',
    headers: { Authorization: `Bearer ${t.space.accounts.researcher}`, 'content-type': 'application/json', 'Veilgate-Progress': channel, ...(dpop ? { DPoP: dpop } : {}) },
    body: JSON.stringify({ keyId: t.keys.keyId, query: query(t.datasets), purpose, tokens }),
  });
}
