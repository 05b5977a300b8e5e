/**
 * Per-grant rate limits (DESIGN §8): at most `perMinute` queries per consent token in any
 * sliding minute. Over it, 429 `rate_limited` with `Retry-After` (RFC 9110 §10.2.3) saying
 * when the oldest query of the window leaves it. Kept in memory: a limit, not a ledger.
 */
import { GatewayError } from '../errors.ts';

/**
 * A limiter over token ids.
 *
 * @example
 * const limit = createRateLimiter(60); limit(['jti-1']); // throws when over
 */
export function createRateLimiter(perMinute: number, now: () => number = Date.now): (jtis: string[]) => void {
  const windows = new Map<string, number[]>();
  return (jtis) => {
    const t = now();
    for (const jti of jtis) {
      const recent = (windows.get(jti) ?? []).filter((at) => at > t - 60_000);
      if (recent.length >= perMinute) {
        const retryAfter = Math.max(1, Math.ceil((recent[0]! + 60_000 - t) / 1000));
        windows.set(jti, recent);
        throw new GatewayError('rate_limited', `tokens: the grant allows ${perMinute} queries per minute; retry after ${retryAfter} s`, { field: 'tokens', retryAfterSeconds: retryAfter });
      }
    }
    for (const jti of jtis) windows.set(jti, [...(windows.get(jti) ?? []).filter((at) => at > t - 60_000), t]);
    if (windows.size > 100_000) windows.delete(windows.keys().next().value!);
  };
}
