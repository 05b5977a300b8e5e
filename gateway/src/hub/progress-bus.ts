/**
 * Query progress channels (spec `watchQueryProgress`): a researcher watches a channel they
 * named, sends the query with `Veilgate-Progress: <channel>`, and hears — as server-sent
 * events (HTML Living Standard §9.2) — which institutions have contributed while the hub
 * waits. Events carry node ids, counts, timings and error codes only; never data.
 *
 * Channels are per account (the map is keyed by account and channel id), so one account can
 * neither watch, pre-claim nor probe another's. Events published before the watcher connects
 * are kept (at most 64, for the TTL), so the two requests may arrive in either order. Bounds:
 * channels per account, watchers per channel, and every stream ends — after its final event,
 * after the TTL with nothing published, and at the latest after `maxStreamMs`.
 */
import type { Response } from 'express';
import type { components } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';

export type QueryProgressEvent = components['schemas']['QueryProgressEvent'];

interface Channel {
  account: string;
  events: QueryProgressEvent[];
  watchers: Set<Response>;
  finished: boolean;
  /** Forgotten (and its watchers' streams ended) after this time without an event. */
  expires: number;
  created: number;
}

const FINAL = new Set<QueryProgressEvent['type']>(['completed', 'failed']);

export interface ProgressBusOptions {
  /** How long a channel lives without an event (default 60 s). */
  ttlMs?: number;
  /** The longest a stream stays open (default 5 min, far above the fan-out timeout). */
  maxStreamMs?: number;
  maxEvents?: number;
  /** Open channels per account (default 16). */
  maxChannelsPerAccount?: number;
  /** Watchers per channel (default 2). */
  maxWatchers?: number;
  /** Comment lines that keep idle proxies from closing the stream (default 15 s). */
  heartbeatMs?: number;
  now?: () => number;
}

export interface ProgressBus {
  /** Streams the caller's channel to `res` (429 `rate_limited` past the bounds). */
  watch(channel: string, account: string, res: Response): void;
  /** A publisher for a query on the caller's channel, or a no-op without one. */
  publisher(channel: string | undefined, account: string): (event: QueryProgressEvent) => void;
  /** Ends expired channels; runs on a timer, callable from tests. */
  sweep(): void;
  /** Open channels (tests). */
  size(): number;
  /** Stops the timer and ends every stream. */
  close(): void;
}

export function createProgressBus(options: ProgressBusOptions = {}): ProgressBus {
  const ttl = options.ttlMs ?? 60_000;
  const maxStream = options.maxStreamMs ?? 300_000;
  const maxEvents = options.maxEvents ?? 64;
  const maxChannels = options.maxChannelsPerAccount ?? 16;
  const maxWatchers = options.maxWatchers ?? 2;
  const now = options.now ?? Date.now;
  const channels = new Map<string, Channel>();
  const perAccount = new Map<string, number>();
  const keyOf = (account: string, id: string) => `${account}\u0000${id}`;

  const drop = (key: string, c: Channel) => {
    for (const res of c.watchers) res.end();
    c.watchers.clear();
    channels.delete(key);
    perAccount.set(c.account, (perAccount.get(c.account) ?? 1) - 1);
  };
  const sweep = () => {
    const t = now();
    for (const [key, c] of channels) if (c.expires < t || t - c.created > maxStream) drop(key, c);
  };
  const claim = (id: string, account: string): Channel => {
    const key = keyOf(account, id);
    let c = channels.get(key);
    if (c && (c.expires < now() || now() - c.created > maxStream)) {
      drop(key, c);
      c = undefined;
    }
    if (!c) {
      if ((perAccount.get(account) ?? 0) >= maxChannels) {
        throw new GatewayError('rate_limited', `channel: at most ${maxChannels} progress channels may be open at once`, { field: 'channel', retryAfterSeconds: Math.ceil(ttl / 1000) });
      }
      c = { account, events: [], watchers: new Set(), finished: false, expires: now() + ttl, created: now() };
      channels.set(key, c);
      perAccount.set(account, (perAccount.get(account) ?? 0) + 1);
    }
    return c;
  };
  const send = (res: Response, event: QueryProgressEvent) => {
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  };
  const timer = setInterval(() => {
    sweep();
    for (const c of channels.values()) for (const res of c.watchers) res.write(': keep-alive\n\n');
  }, options.heartbeatMs ?? 15_000);
  timer.unref();

  return {
    watch(id, account, res) {
      const c = claim(id, account);
      if (c.watchers.size >= maxWatchers) {
        throw new GatewayError('rate_limited', `channel: at most ${maxWatchers} watchers per progress channel`, { field: 'channel', retryAfterSeconds: 1 });
      }
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
        return;
      }
      c.watchers.add(res);
      res.on('close', () => c.watchers.delete(res));
    },
    publisher(id, account) {
      if (!id) return () => {};
      let c: Channel;
      try {
        c = claim(id, account);
      } catch {
        return () => {}; // past the bounds: the query runs, unwatched (progress is advisory)
      }
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
    sweep,
    size() {
      sweep();
      return channels.size;
    },
    close() {
      clearInterval(timer);
      for (const [key, c] of channels) drop(key, c);
    },
  };
}
