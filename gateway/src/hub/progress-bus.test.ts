/** Progress channels: per account, events kept for a late watcher, bounded, every stream ends. */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readProgressEvents, type QueryProgressEvent } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import { createProgressBus } from './progress-bus.ts';

let clock = 0;
const bus = createProgressBus({ ttlMs: 1000, maxStreamMs: 10_000, maxChannelsPerAccount: 3, maxWatchers: 1, now: () => clock });
let base = '';
let server: ReturnType<ReturnType<typeof express>['listen']>;

beforeAll(async () => {
  const app = express();
  app.get('/watch/:account/:channel', (req, res) => {
    try {
      bus.watch(req.params.channel, req.params.account, res);
    } catch (err) {
      res.status(err instanceof GatewayError && err.code === 'rate_limited' ? 429 : 500).json({ code: (err as GatewayError).code });
    }
  });
  server = app.listen(0);
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  bus.close();
  server.close();
});

async function watch(account: string, channel: string): Promise<{ status: number; events: Promise<QueryProgressEvent[]> }> {
  const res = await fetch(`${base}/watch/${account}/${channel}`);
  const events: QueryProgressEvent[] = [];
  return { status: res.status, events: res.ok ? readProgressEvents(res.body!, (e) => events.push(e)).then(() => events) : res.text().then(() => []) };
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
  it('channels are per account: the same id is another channel for someone else', async () => {
    const alice = await watch('alice', 'shared');
    const mallory = await watch('mallory', 'shared');
    expect(mallory.status).toBe(200);
    bus.publisher('shared', 'mallory')({ type: 'completed', index: 666 });
    bus.publisher('shared', 'alice')({ type: 'completed', index: 1 });
    expect(await alice.events).toEqual([{ type: 'completed', index: 1 }]);
    expect(await mallory.events).toEqual([{ type: 'completed', index: 666 }]);
  });
  it('bounds channels per account and watchers per channel (429), and never fails a query for it', async () => {
    clock += 5000;
    bus.sweep();
    const open = [await watch('bob', 'b1'), await watch('bob', 'b2'), await watch('bob', 'b3')];
    expect(open.map((w) => w.status)).toEqual([200, 200, 200]);
    expect((await watch('bob', 'b4')).status).toBe(429);
    expect((await watch('bob', 'b1')).status).toBe(429); // a second watcher of b1
    expect(() => bus.publisher('b5', 'bob')({ type: 'combining' })).not.toThrow();
    for (const id of ['b1', 'b2', 'b3']) bus.publisher(id, 'bob')({ type: 'completed', index: 0 });
    await Promise.all(open.map((w) => w.events));
  });
  it('a stream with nothing published ends after the TTL; a channel is forgotten', async () => {
    const w = await watch('carol', 'idle');
    expect(w.status).toBe(200);
    clock += 2000;
    bus.sweep();
    expect(await w.events).toEqual([]);
    // a fresh claim of a forgotten channel starts empty
    bus.publisher('idle', 'carol')({ type: 'completed', index: 2 });
    expect(await (await watch('carol', 'idle')).events).toEqual([{ type: 'completed', index: 2 }]);
  });
  it('no stream outlives maxStreamMs, even with events', async () => {
    const w = await watch('dave', 'long');
    const publish = bus.publisher('long', 'dave');
    for (let t = 0; t < 12; t++) {
      clock += 900;
      bus.sweep();
      publish({ type: 'combining' });
    }
    expect((await w.events).length).toBeLessThan(12);
  });
});
