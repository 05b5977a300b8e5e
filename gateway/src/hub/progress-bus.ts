/**
 * Query progress channels (spec `watchQueryProgress`): a researcher watches a channel they
 * named, sends the query with `Veilgate-Progress: <channel>`, and hears — as server-sent
 * events (HTML Living Standard §9.2) — which institutions have contributed while the hub
 * waits. Events carry node ids, counts, timings and error codes only; never data.
 *
 * A channel belongs to the first account that uses it; anyone else is told it does not
 * exist. Events published before the watcher connects are kept (at most 64, for 60 s), so
 * the two requests may arrive in either order.
 */
import type { Response } from 'express';
import type { components } from '@veilgate/sdk';

export type QueryProgressEvent = components['schemas']['QueryProgressEvent'];

interface Channel {
  owner: string;
  events: QueryProgressEvent[];
  watchers: Set<Response>;
  finished: boolean;
  expires: number;
}

const FINAL = new Set<QueryProgressEvent['type']>(['completed', 'failed']);

export interface ProgressBus {
  /** Streams a channel to `res`; false when the channel is another account's. */
  watch(channel: string, account: string, res: Response): boolean;
  /** A publisher for a query, or a no-op when the channel is missing or another account's. */
  publisher(channel: string | undefined, account: string): (event: QueryProgressEvent) => void;
  /** Open channels (tests). */
  size(): number;
}

export function createProgressBus(options: { ttlMs?: number; maxEvents?: number; now?: () => number } = {}): ProgressBus {
  const ttl = options.ttlMs ?? 60_000;
  const maxEvents = options.maxEvents ?? 64;
  const now = options.now ?? Date.now;
  const channels = new Map<string, Channel>();

  const sweep = () => {
    const t = now();
    for (const [id, c] of channels) if (c.expires < t && c.watchers.size === 0) channels.delete(id);
  };
  const claim = (id: string, account: string): Channel | undefined => {
    sweep();
    let c = channels.get(id);
    if (!c) {
      c = { owner: account, events: [], watchers: new Set(), finished: false, expires: now() + ttl };
      channels.set(id, c);
    }
    return c.owner === account ? c : undefined;
  };
  const send = (res: Response, event: QueryProgressEvent) => {
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  };

  return {
    watch(id, account, res) {
      const c = claim(id, account);
      if (!c) return false;
      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('X-Accel-Buffering', 'no');
      res.flushHeaders();
      // A comment line first, so the client knows the stream is open (§9.2.6).
      res.write(': watching\n\n');
      for (const e of c.events) send(res, e);
      if (c.finished) {
        res.end();
        return true;
      }
      c.watchers.add(res);
      res.on('close', () => {
        c.watchers.delete(res);
        c.expires = now() + ttl;
      });
      return true;
    },
    publisher(id, account) {
      if (!id) return () => {};
      const c = claim(id, account);
      if (!c) return () => {};
      return (event) => {
        if (c.finished) return;
        if (c.events.length < maxEvents) c.events.push(event);
        c.expires = now() + ttl;
        for (const res of c.watchers) send(res, event);
        if (FINAL.has(event.type)) {
          c.finished = true;
          for (const res of c.watchers) res.end();
          c.watchers.clear();
        }
      };
    },
    size() {
      sweep();
      return channels.size;
    },
  };
}
