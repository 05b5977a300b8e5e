/**
 * The SDK's one way onto the network (protocol.md §11.1): every failure becomes a
 * `NetworkError` with a stable code (`network_error`, `timeout`) — never a raw `TypeError` —
 * and what is safe to send again is sent again, with bounded, jittered exponential backoff:
 * a request whose connection was refused (it never reached the server), any GET or HEAD, and a
 * `503` with `Retry-After` (the server declined it unprocessed, RFC 9110 §15.6.4). A POST that
 * may have reached the server is not retried here: `VeilgateClient.query` retries it under its
 * idempotency key, with a fresh proof.
 */
import { NetworkError } from '../errors.ts';

/** How the wrapper retries and times out. */
export interface RetryPolicy {
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** First backoff (default 200 ms), doubled per attempt, capped at `maxDelayMs` (default 5 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Time allowed until the response headers arrive (default 5 minutes); the body may stream longer. */
  timeoutMs?: number;
}

/** A backoff delay for attempt `n` (0-based): full jitter over base·2ⁿ, at most `max`. */
export function backoffMs(n: number, base: number, max: number): number {
  return Math.random() * Math.min(max, base * 2 ** n);
}

/** Seconds of a `Retry-After` header (delta-seconds or an HTTP date), or undefined. */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether an error of `fetch` means the connection was refused (nothing was sent). */
function refused(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === 'ECONNREFUSED') return true;
  }
  return false;
}

/**
 * Wraps a `fetch` so that network failures surface as `NetworkError` and safe requests are retried.
 *
 * @example
 * const fetch = resilientFetch(globalThis.fetch, { retries: 3, timeoutMs: 60_000 });
 * const client = createClient<paths>({ baseUrl, fetch });
 */
export function resilientFetch(base: typeof globalThis.fetch, policy: RetryPolicy = {}): typeof globalThis.fetch {
  const retries = policy.retries ?? 3;
  const baseDelay = policy.baseDelayMs ?? 200;
  const maxDelay = policy.maxDelayMs ?? 5000;
  const timeoutMs = policy.timeoutMs ?? 300_000;
  return async (input, init) => {
    const original = new Request(input, init);
    const safeMethod = original.method === 'GET' || original.method === 'HEAD';
    for (let attempt = 0; ; attempt++) {
      const request = original.clone();
      const timer = new AbortController();
      const timeout = setTimeout(() => timer.abort(), timeoutMs);
      let response: Response;
      try {
        response = await base(request, { signal: AbortSignal.any([original.signal, timer.signal]) });
      } catch (err) {
        if (original.signal.aborted) throw err; // the caller's own abort stays an abort
        if (timer.signal.aborted) throw new NetworkError('timeout', `no answer from ${original.method} ${new URL(original.url).pathname} within ${timeoutMs} ms`, err);
        if (attempt < retries && (safeMethod || refused(err))) {
          await sleep(backoffMs(attempt, baseDelay, maxDelay));
          continue;
        }
        throw new NetworkError('network_error', `${original.method} ${new URL(original.url).pathname}: the server could not be reached (${refused(err) ? 'connection refused' : 'connection failed'})`, err);
      } finally {
        clearTimeout(timeout);
      }
      const wait = response.status === 503 ? retryAfterMs(response.headers.get('Retry-After')) : undefined;
      if (wait !== undefined && attempt < retries) {
        await response.body?.cancel();
        await sleep(Math.min(maxDelay, wait) + backoffMs(0, baseDelay / 4, baseDelay));
        continue;
      }
      return response;
    }
  };
}
