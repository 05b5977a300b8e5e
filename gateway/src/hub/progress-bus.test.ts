/** Progress channels: ownership, events kept for a late watcher, the stream ends on the final event. */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readProgressEvents, type QueryProgressEvent } from '@veilgate/sdk';
import { createProgressBus } from './progress-bus.ts';

let clock = 0;
const bus = createProgressBus({ ttlMs: 1000, now: () => clock });
let base = '';
let server: ReturnType<ReturnType<typeof express>['listen']>;

beforeAll(async () => {
  const app = express();
  app.get('/watch/:account/:channel', (req, res) => {
    if (!bus.watch(req.params.channel, req.params.account, res)) res.status(404).json({ code: 'not_found' });
  });
  server = app.listen(0);
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

async function watch(account: string, channel: string): Promise<{ status: number; events: Promise<QueryProgressEvent[]> }> {
  const res = await fetch(`${base}/watch/${account}/${channel}`);
  const events: QueryProgressEvent[] = [];
  return { status: res.status, events: res.ok ? readProgressEvents(res.body!, (e) => events.push(e)).then(() => events) : Promise.resolve([]) };
}

describe('progress bus', () => {
  it('streams live events and ends after the final one', async () => {
    const w = await watch('alice', 'c1');
    expect(w.status).toBe(200);
    const publish = bus.publisher('c1', 'alice');
    publish({ type: 'accepted', queryId: 'q', nodes: ['a'] });
    publish({ type: 'contributed', node: 'a', ms: 3, done: 1, total: 1 });
    publish({ type: 'completed', index: 7 });
    publish({ type: 'combining' }); // after the end: dropped
    expect((await w.events).map((e) => e.type)).toEqual(['accepted', 'contributed', 'completed']);
  });
  it('keeps events published before the watcher connects', async () => {
    const publish = bus.publisher('c2', 'alice');
    publish({ type: 'accepted', queryId: 'q', nodes: ['a'] });
    publish({ type: 'failed', code: 'token_missing' });
    const w = await watch('alice', 'c2');
    expect(await w.events).toEqual([{ type: 'accepted', queryId: 'q', nodes: ['a'] }, { type: 'failed', code: 'token_missing' }]);
  });
  it('a channel belongs to its first account: others can neither watch nor publish to it', async () => {
    const w = await watch('alice', 'c3');
    expect((await watch('mallory', 'c3')).status).toBe(404);
    bus.publisher('c3', 'mallory')({ type: 'completed', index: 666 });
    bus.publisher('c3', 'alice')({ type: 'completed', index: 1 });
    expect(await w.events).toEqual([{ type: 'completed', index: 1 }]);
    // mallory claiming first works the other way round
    bus.publisher('c4', 'mallory')({ type: 'combining' });
    expect((await watch('alice', 'c4')).status).toBe(404);
  });
  it('forgets idle channels after the TTL', async () => {
    bus.publisher('c5', 'alice')({ type: 'combining' });
    const before = bus.size();
    clock += 5000;
    expect(bus.size()).toBeLessThan(before);
    // a fresh claim of a forgotten channel starts empty
    bus.publisher('c5', 'bob')({ type: 'completed', index: 2 });
    expect(await (await watch('bob', 'c5')).events).toEqual([{ type: 'completed', index: 2 }]);
  });
});
