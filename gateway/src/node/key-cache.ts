/**
 * Researchers' public keys at a node: fetched from the node's configured hub (never from
 * a URL in the request), checked against their id (SHA-256 of the bytes), loaded once and
 * kept in a small LRU. A key that does not hash to its id is refused: the hub cannot make
 * a node encrypt under a key other than the one the query names.
 */
import { fromBase64, heKeyId, loadPublicKey } from '@veilgate/sdk';
import type { PublicKey } from 'node-seal';
import { GatewayError } from '../errors.ts';

const CAPACITY = 32;

/**
 * A key resolver bound to a hub base URL.
 *
 * @example
 * const keys = createKeyCache(() => 'http://localhost:8080');
 * const pk = await keys(keyId);
 */
export function createKeyCache(hubUrl: () => string, timeoutMs = 10_000): (keyId: string) => Promise<PublicKey> {
  const cache = new Map<string, Promise<PublicKey>>();
  return (keyId) => {
    const hit = cache.get(keyId);
    if (hit) {
      cache.delete(keyId);
      cache.set(keyId, hit);
      return hit;
    }
    const loading = (async () => {
      let response: Response;
      try {
        response = await fetch(`${hubUrl()}/v1/keys/${keyId}`, { signal: AbortSignal.timeout(timeoutMs) });
      } catch (cause) {
        throw new GatewayError('unknown_key', 'the hub could not be reached to fetch the key', { field: 'keyId', cause });
      }
      if (!response.ok) throw new GatewayError('unknown_key', `the hub does not know key ${keyId}`, { field: 'keyId' });
      const body = (await response.json()) as { publicKey?: unknown };
      const bytes = typeof body.publicKey === 'string' ? fromBase64(body.publicKey) : new Uint8Array();
      if (heKeyId(bytes) !== keyId) throw new GatewayError('unknown_key', 'the key the hub served does not hash to its id', { field: 'keyId' });
      return loadPublicKey(bytes);
    })();
    loading.catch(() => cache.delete(keyId));
    cache.set(keyId, loading);
    // Evicted keys are not delete()d: an in-flight computation may still hold one.
    while (cache.size > CAPACITY) cache.delete(cache.keys().next().value!);
    return loading;
  };
}
