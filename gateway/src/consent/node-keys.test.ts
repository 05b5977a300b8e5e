/**
 * A node's consent-token key set (RFC 8037 §A vectors, rotation with a grace time,
 * persistence) and the DPoP replay cache. The SDK's consent functions are imported by path
 * so that these tests do not depend on the SDK's index.
 */
import { describe, expect, it } from 'vitest';
import { decodeConsentTokenUnverified, signConsentToken, verifyConsentToken } from '../../../sdk/src/consent/consent-token.ts';
import type { ConsentTokenInput } from '../../../sdk/src/consent/consent-token.ts';
import { generateIdentityKey, jwkThumbprint } from '../../../sdk/src/consent/identity.ts';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, createNodeKeySet, ed25519Thumbprint, fromSeed, keyFromSeed } from './node-keys.ts';
import { createReplayCache } from './replay-cache.ts';

/** RFC 8037 §A.1 seed and public key, §A.3 thumbprint. */
const SEED = 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A';
const X = '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo';
const KID = 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k';
const T0 = 1_750_000_000;

function clock(start = T0): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (next) => void (t = next) };
}

describe('Ed25519 keys from a seed', () => {
  it('keyFromSeed matches RFC 8037 §A.1–A.3 (x from the seed, kid = thumbprint)', () => {
    const key = keyFromSeed(SEED, T0);
    expect(key).toEqual({
      kid: KID,
      privateJwk: { kty: 'OKP', crv: 'Ed25519', x: X, d: SEED },
      publicJwk: { kty: 'OKP', crv: 'Ed25519', x: X, kid: KID, alg: 'EdDSA', use: 'sig' },
      createdAt: T0,
    });
  });

  it('ed25519Thumbprint agrees with the SDK\'s jose-based jwkThumbprint', async () => {
    const { publicJwk } = await generateIdentityKey();
    expect(ed25519Thumbprint(publicJwk.x)).toBe(await jwkThumbprint(publicJwk));
    expect(ed25519Thumbprint(X)).toBe(KID);
  });

  it('refuses a seed that is not 32 bytes, without echoing it', () => {
    expect(() => keyFromSeed('c2hvcnQ', T0)).toThrow(TypeError);
    try {
      keyFromSeed(`${SEED}AA`, T0);
    } catch (e) {
      expect((e as Error).message).not.toContain(SEED);
    }
  });

  it('fromSeed makes a set whose current key is the node\'s existing key', () => {
    const set = fromSeed(SEED, { now: () => T0 });
    expect(set.current().kid).toBe(KID);
    expect(set.signingKey()).toEqual({ kid: KID, privateKey: { kty: 'OKP', crv: 'Ed25519', x: X, d: SEED } });
  });
});

describe('createNodeKeySet', () => {
  it('makes a fresh key when given none, and publishes it with kid, alg and use but no d', () => {
    const set = createNodeKeySet();
    const { keys } = set.jwks();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: set.current().kid, alg: 'EdDSA', use: 'sig' });
    expect(keys[0]).not.toHaveProperty('d');
    expect(set.lookup(set.current().kid)).toEqual(keys[0]);
    expect(set.lookup('nope')).toBeUndefined();
  });

  it('round-trips through toJSON / JSON / createNodeKeySet', () => {
    const c = clock();
    const set = fromSeed(SEED, { now: c.now });
    c.set(T0 + 100);
    set.rotate();
    const again = createNodeKeySet(JSON.parse(JSON.stringify(set)) as ReturnType<typeof set.toJSON>, { now: c.now });
    expect(again.toJSON()).toEqual(set.toJSON());
    expect(again.current().kid).toBe(set.current().kid);
  });

  it('refuses tampered persisted keys without echoing key material', () => {
    const stored = fromSeed(SEED, { now: () => T0 }).toJSON();
    const other = createNodeKeySet().toJSON().keys[0]!;
    const cases = [
      { keys: [{ ...stored.keys[0]!, kid: other.kid }] },
      { keys: [{ ...stored.keys[0]!, publicJwk: other.publicJwk }] },
      { keys: [{ ...stored.keys[0]!, privateJwk: { ...stored.keys[0]!.privateJwk, d: 'short' } }] },
      { keys: [stored.keys[0]!, stored.keys[0]!] },
    ];
    for (const initial of cases) {
      let error: unknown;
      try {
        createNodeKeySet(initial);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).not.toContain(SEED);
      expect((error as Error).message).not.toContain(other.privateJwk.d);
    }
  });

  it('signingKey() is what signConsentToken takes', async () => {
    const set = fromSeed(SEED, { now: () => T0 });
    const { jkt } = await generateIdentityKey();
    const token = await signConsentToken(tokenInput(jkt, T0), set.signingKey());
    expect(decodeConsentTokenUnverified(token).header.kid).toBe(KID);
  });
});

function tokenInput(jkt: string, now: number, durationSeconds = 3600): ConsentTokenInput {
  return {
    iss: 'node-a', sub: 'acct_r', aud: 'hub', request: 'ar_1', approvals: ['acct_op'],
    vg_scope: { datasets: ['cohort'], elements: ['age'], operations: ['count'], purpose: 'DUO:0000006', budget: 1, quota: 10 },
    cnf: { jkt }, durationSeconds, now,
  };
}

describe('rotation', () => {
  it('keeps the old key published until its tokens have expired, and signs new tokens with the new kid', async () => {
    const c = clock();
    const maxLifetime = 7 * 86_400;
    const set = fromSeed(SEED, { now: c.now, maxTokenLifetimeSeconds: maxLifetime });
    const { jkt } = await generateIdentityKey();
    const verify = (token: string, now: number) =>
      verifyConsentToken(token, { keys: (kid) => set.lookup(kid), issuer: 'node-a', audience: 'hub', now });

    // A token of the longest lifetime, signed just before the rotation.
    const old = await signConsentToken(tokenInput(jkt, T0, maxLifetime), set.signingKey());

    c.set(T0 + 10);
    const fresh = set.rotate();
    expect(fresh.kid).not.toBe(KID);
    expect(set.current().kid).toBe(fresh.kid);
    expect(set.toJSON().keys.find((k) => k.kid === KID)?.retiredAt).toBe(T0 + 10);

    // New tokens carry the new kid; the JWKS lists both keys.
    const next = await signConsentToken(tokenInput(jkt, T0 + 10), set.signingKey());
    expect(decodeConsentTokenUnverified(next).header.kid).toBe(fresh.kid);
    expect(set.jwks().keys.map((k) => k.kid).sort()).toEqual([KID, fresh.kid].sort());

    // The old token still verifies after the rotation, up to its expiry.
    await expect(verify(old, T0 + 20)).resolves.toMatchObject({ iss: 'node-a' });
    await expect(verify(old, T0 + maxLifetime - 1)).resolves.toBeDefined();
    await expect(verify(next, T0 + 20)).resolves.toBeDefined();

    // Once every token of the old key has expired (lifetime + 30 s tolerance), it is withdrawn.
    c.set(T0 + 10 + maxLifetime + 29);
    expect(set.lookup(KID)).toBeDefined();
    c.set(T0 + 10 + maxLifetime + 30);
    expect(set.lookup(KID)).toBeUndefined();
    expect(set.jwks().keys.map((k) => k.kid)).toEqual([fresh.kid]);
    await expect(verify(old, T0 + maxLifetime - 1)).rejects.toMatchObject({ code: 'token_signature_invalid', field: 'kid' });

    // prune() drops it from what is persisted.
    expect(set.prune().map((k) => k.kid)).toEqual([KID]);
    expect(set.toJSON().keys.map((k) => k.kid)).toEqual([fresh.kid]);
  });

  it('rotates repeatedly with exactly one active key', () => {
    const c = clock();
    const set = createNodeKeySet(undefined, { now: c.now });
    const kids = [set.current().kid];
    for (let i = 1; i <= 3; i++) {
      c.set(T0 + i);
      kids.push(set.rotate().kid);
    }
    expect(new Set(kids).size).toBe(4);
    expect(set.toJSON().keys.filter((k) => k.retiredAt === undefined).map((k) => k.kid)).toEqual([kids[3]]);
    expect(set.jwks().keys).toHaveLength(4);
    expect(set.maxTokenLifetimeSeconds).toBe(DEFAULT_MAX_TOKEN_LIFETIME_SECONDS);
  });
});

describe('createReplayCache', () => {
  it('sees a jti once until it expires', () => {
    const c = clock();
    const seen = createReplayCache({ now: c.now });
    expect(seen('a', T0 + 60)).toBe(false);
    expect(seen('a', T0 + 60)).toBe(true);
    expect(seen('b', T0 + 60)).toBe(false);
    c.set(T0 + 60);
    expect(seen('a', T0 + 120)).toBe(false);
    expect(seen('a', T0 + 120)).toBe(true);
  });

  it('evicts the oldest entries past its bound', () => {
    const seen = createReplayCache({ now: () => T0, maxEntries: 3 });
    for (const jti of ['a', 'b', 'c', 'd']) expect(seen(jti, T0 + 60)).toBe(false);
    expect(seen('d', T0 + 60)).toBe(true);
    expect(seen('b', T0 + 60)).toBe(true);
    // "a" was evicted to make room for "d": the documented cost of the bound.
    expect(seen('a', T0 + 60)).toBe(false);
  });

  it('prunes expired ids so a long run stays small', () => {
    const c = clock();
    const seen = createReplayCache({ now: c.now, maxEntries: 10 });
    for (let i = 0; i < 1000; i++) {
      c.set(T0 + i);
      expect(seen(`jti-${i}`, T0 + i + 5)).toBe(false);
    }
    // Everything older than 5 s is gone, nothing fresher was evicted.
    for (let i = 995; i < 1000; i++) expect(seen(`jti-${i}`, T0 + i + 5)).toBe(true);
  });

  it('refuses a non-positive bound', () => {
    expect(() => createReplayCache({ maxEntries: 0 })).toThrow(TypeError);
  });
});
