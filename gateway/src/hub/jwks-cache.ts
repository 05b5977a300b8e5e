/**
 * The nodes' consent-token keys as the hub sees them: each node's JWK Set
 * (`/.well-known/jwks.json`), cached and fetched again when a token names a `kid` the cache
 * does not know (key rotation), at most once every 100 ms per node (so made-up kids cannot
 * turn the hub into a flood of requests to the node).
 */
import type { NodeRegistration } from './catalog.ts';
import { GatewayError } from '../errors.ts';

type Jwk = Record<string, unknown> & { kid?: string };

/** Resolves a node's key by kid. */
export interface JwksCache {
  key(node: NodeRegistration, kid: string): Promise<Jwk | undefined>;
}

/**
 * A JWKS cache.
 *
 * @example
 * const jwks = createJwksCache(); const jwk = await jwks.key(node, kid);
 */
export function createJwksCache(options: { ttlMs?: number; minRefetchMs?: number; timeoutMs?: number } = {}): JwksCache {
  const ttl = options.ttlMs ?? 5 * 60_000;
  const minRefetch = options.minRefetchMs ?? 100;
  const cache = new Map<string, { keys: Jwk[]; at: number }>();
  const fetchKeys = async (node: NodeRegistration): Promise<Jwk[]> => {
    const res = await fetch(`${node.url}/.well-known/jwks.json`, { signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) });
    if (!res.ok) throw new Error(`JWKS of ${node.id}: HTTP ${res.status}`);
    const body = (await res.json()) as { keys?: Jwk[] };
    const keys = Array.isArray(body.keys) ? body.keys : [];
    cache.set(node.id, { keys, at: Date.now() });
    return keys;
  };
  return {
    async key(node, kid) {
      const hit = cache.get(node.id);
      let keys = hit && Date.now() - hit.at < ttl
        ? hit.keys
        : await fetchKeys(node).catch((cause: unknown) => {
            // Without the issuer's keys no token of it can be checked: the node is unavailable.
            if (!hit) throw new GatewayError('node_unavailable', `node ${node.id} is unreachable (its consent-token keys could not be fetched)`, { node: node.id, cause });
            return hit.keys;
          });
      let key = keys.find((k) => k.kid === kid);
      if (!key && (!hit || Date.now() - hit.at > minRefetch)) {
        keys = await fetchKeys(node).catch(() => keys);
        key = keys.find((k) => k.kid === kid);
      }
      return key;
    },
  };
}
