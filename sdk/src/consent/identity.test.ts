/**
 * Identity keys: RFC 7638 thumbprints against RFC 8037 §A.3 and a hand-built canonical JWK,
 * key generation, and the identity file round trip.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { base64urlnopad } from '@scure/base';
import { compactVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  ed25519PrivateJwk, ed25519PublicJwk, exportIdentity, generateIdentityKey, importIdentity, jwkThumbprint,
} from './identity.ts';

/** RFC 8037 §A.1: the Ed25519 example key. */
const RFC8037_D = 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A';
const RFC8037_X = '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo';
/** RFC 8037 §A.3: its RFC 7638 thumbprint. */
const RFC8037_THUMBPRINT = 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k';
/** RFC 8037 §A.4: the JWS of "Example of Ed25519 signing" with header {"alg":"EdDSA"}. */
const RFC8037_JWS =
  'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg';

/** RFC 7638 §3 by hand: SHA-256 of the members crv, kty, x in that order, no whitespace. */
function handThumbprint(x: string): string {
  const canonical = '{"crv":"Ed25519","kty":"OKP","x":"' + x + '"}';
  return base64urlnopad.encode(sha256(new TextEncoder().encode(canonical)));
}

describe('jwkThumbprint (RFC 7638)', () => {
  it('matches RFC 8037 §A.3', async () => {
    expect(await jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: RFC8037_X })).toBe(RFC8037_THUMBPRINT);
    expect(handThumbprint(RFC8037_X)).toBe(RFC8037_THUMBPRINT);
  });

  it('matches a hand-computed SHA-256 of the canonical JWK for a fresh key', async () => {
    const { publicJwk, jkt } = await generateIdentityKey();
    expect(jkt).toBe(handThumbprint(publicJwk.x));
    expect(await jwkThumbprint(publicJwk)).toBe(jkt);
  });

  it('ignores private and optional members (a private JWK has its public key\'s thumbprint)', async () => {
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: RFC8037_X, d: RFC8037_D, kid: 'k', alg: 'EdDSA', use: 'sig' };
    expect(await jwkThumbprint(jwk)).toBe(RFC8037_THUMBPRINT);
  });

  it('refuses non-Ed25519 keys', async () => {
    await expect(jwkThumbprint({ kty: 'OKP', crv: 'X25519', x: RFC8037_X })).rejects.toThrow(TypeError);
    await expect(jwkThumbprint({ kty: 'oct', k: 'AAAA' })).rejects.toThrow(TypeError);
    await expect(jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: 'short' })).rejects.toThrow(TypeError);
  });
});

describe('Ed25519 JWKs', () => {
  it('the RFC 8037 §A.4 JWS verifies under the §A.1 key through jose', async () => {
    const key = await importJWK(ed25519PublicJwk({ kty: 'OKP', crv: 'Ed25519', x: RFC8037_X }), 'EdDSA');
    const { payload } = await compactVerify(RFC8037_JWS, key, { algorithms: ['EdDSA'] });
    expect(new TextDecoder().decode(payload)).toBe('Example of Ed25519 signing');
  });

  it('checks that d derives x', () => {
    expect(ed25519PrivateJwk({ kty: 'OKP', crv: 'Ed25519', x: RFC8037_X, d: RFC8037_D }).d).toBe(RFC8037_D);
    const other = 'A'.repeat(43);
    expect(() => ed25519PrivateJwk({ kty: 'OKP', crv: 'Ed25519', x: other, d: RFC8037_D })).toThrow(/does not match/);
  });
});

describe('generateIdentityKey', () => {
  it('makes an Ed25519 pair with only the RFC 8037 members', async () => {
    const identity = await generateIdentityKey();
    expect(Object.keys(identity.publicJwk).sort()).toEqual(['crv', 'kty', 'x']);
    expect(Object.keys(identity.privateJwk).sort()).toEqual(['crv', 'd', 'kty', 'x']);
    expect(identity.privateJwk.x).toBe(identity.publicJwk.x);
    expect(identity.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('gives different keys each time', async () => {
    const [a, b] = await Promise.all([generateIdentityKey(), generateIdentityKey()]);
    expect(a.jkt).not.toBe(b.jkt);
  });
});

describe('exportIdentity / importIdentity', () => {
  it('round-trips', async () => {
    const identity = await generateIdentityKey();
    const text = exportIdentity(identity);
    expect(JSON.parse(text)).toMatchObject({ v: 1, type: 'veilgate-identity', jkt: identity.jkt });
    expect(await importIdentity(text)).toEqual(identity);
  });

  it('refuses a file whose keys do not match, or whose jkt is wrong, without echoing the key', async () => {
    const a = await generateIdentityKey();
    const b = await generateIdentityKey();
    const mixed = JSON.stringify({ v: 1, type: 'veilgate-identity', publicJwk: b.publicJwk, privateJwk: a.privateJwk });
    await expect(importIdentity(mixed)).rejects.toThrow(TypeError);
    const wrongJkt = JSON.stringify({ ...JSON.parse(exportIdentity(a)), jkt: b.jkt });
    await expect(importIdentity(wrongJkt)).rejects.toThrow(/thumbprint/);
    const badD = JSON.stringify({ ...JSON.parse(exportIdentity(a)), privateJwk: { ...a.privateJwk, d: b.privateJwk.d } });
    const error = await importIdentity(badD).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(String((error as Error).message)).not.toContain(b.privateJwk.d);
  });

  it('refuses what is not an identity file', async () => {
    await expect(importIdentity('not json')).rejects.toThrow(TypeError);
    await expect(importIdentity('{"v":2}')).rejects.toThrow(TypeError);
  });
});
