/**
 * DPoP proofs: the RFC 9449 §7.1 `ath` example, the proof layout of §4.2, and the §4.3
 * checks as an attack table (each case asserts the stable code), then key binding.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { base64urlnopad } from '@scure/base';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from '../internal/bytes.ts';
import { accessTokenHash, checkBinding, createDpopProof, htuOf, verifyDpopProof } from './dpop.ts';
import type { CreateDpopProofInput, VerifyDpopProofOptions } from './dpop.ts';
import { ConsentError } from './errors.ts';
import type { ConsentErrorCode } from './errors.ts';
import { generateIdentityKey } from './identity.ts';
import type { IdentityKey } from './identity.ts';

const T0 = 1_750_000_000;
const HTU = 'https://hub.example/v1/queries';
const TOKENS = ['eyJhbGciOiJFZERTQSJ9.eyJhIjoxfQ.c2ln', 'eyJhbGciOiJFZERTQSJ9.eyJiIjoyfQ.c2lnMg'];

let alice: IdentityKey;
let bob: IdentityKey;

/** A fresh `seen` that records every jti it is asked about. */
function memory(): { seen: VerifyDpopProofOptions['seen']; asked: string[] } {
  const ids = new Set<string>();
  const asked: string[] = [];
  return {
    asked,
    seen: (jti) => {
      asked.push(jti);
      if (ids.has(jti)) return true;
      ids.add(jti);
      return false;
    },
  };
}

function proof(overrides: Partial<CreateDpopProofInput> = {}): Promise<string> {
  return createDpopProof({
    privateJwk: alice.privateJwk, publicJwk: alice.publicJwk, htm: 'POST', htu: HTU, accessTokens: TOKENS, now: T0, ...overrides,
  });
}

function options(overrides: Partial<VerifyDpopProofOptions> = {}): VerifyDpopProofOptions {
  return { htm: 'POST', htu: HTU, accessTokens: TOKENS, now: T0 + 1, seen: memory().seen, ...overrides };
}

const b64json = (value: unknown): string => toBase64Url(new TextEncoder().encode(JSON.stringify(value)));
const decode = (part: string): Record<string, unknown> => JSON.parse(new TextDecoder().decode(fromBase64Url(part))) as Record<string, unknown>;

/** Proof claims as createDpopProof writes them. */
function claims(now = T0): Record<string, unknown> {
  return { jti: 'hand-made-jti-0001', htm: 'POST', htu: HTU, iat: now, ath: accessTokenHash(TOKENS) };
}

async function failure(value: string | string[] | undefined, opts: VerifyDpopProofOptions = options()): Promise<ConsentError> {
  const error = await verifyDpopProof(value, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ConsentError)) throw new Error(`expected a ConsentError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  [alice, bob] = await Promise.all([generateIdentityKey(), generateIdentityKey()]);
});

describe('accessTokenHash', () => {
  it('matches the RFC 9449 §7.1 example for one token', () => {
    expect(accessTokenHash(['Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU'])).toBe('fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
  });

  it('hashes several tokens joined by one space, in order', () => {
    const expected = base64urlnopad.encode(sha256(new TextEncoder().encode(`${TOKENS[0]} ${TOKENS[1]}`)));
    expect(accessTokenHash(TOKENS)).toBe(expected);
    expect(accessTokenHash([...TOKENS].reverse())).not.toBe(expected);
  });

  it('refuses no token, or a token with a space (the join would be ambiguous)', () => {
    expect(() => accessTokenHash([])).toThrow(TypeError);
    expect(() => accessTokenHash(['a b'])).toThrow(TypeError);
  });
});

describe('htuOf', () => {
  it('drops query and fragment and normalizes scheme, host and default port (RFC 9449 §4.3 step 9)', () => {
    expect(htuOf('HTTPS://Hub.Example:443/v1/queries?a=1#frag')).toBe(HTU);
    expect(htuOf('http://127.0.0.1:8080/v1/queries')).toBe('http://127.0.0.1:8080/v1/queries');
    expect(htuOf('/v1/queries')).toBeUndefined();
    expect(htuOf('ftp://hub.example/x')).toBeUndefined();
  });
});

describe('createDpopProof', () => {
  it('writes the RFC 9449 §4.2 header and claims, with a public-only jwk', async () => {
    const [h, p] = (await proof({ htu: `${HTU}?dry=1#x`, jti: 'fixed-proof-id-0001' })).split('.') as [string, string, string];
    expect(decode(h)).toEqual({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: alice.publicJwk });
    expect(decode(p)).toEqual({ jti: 'fixed-proof-id-0001', htm: 'POST', htu: HTU, iat: T0, ath: accessTokenHash(TOKENS) });
  });

  it('gives every proof a fresh 128-bit jti', async () => {
    const a = decode((await proof()).split('.')[1]!).jti;
    const b = decode((await proof()).split('.')[1]!).jti;
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a).not.toBe(b);
  });

  it('refuses mismatched key halves and relative URIs', async () => {
    await expect(proof({ publicJwk: bob.publicJwk })).rejects.toThrow(TypeError);
    await expect(proof({ htu: '/v1/queries' })).rejects.toThrow(TypeError);
  });
});

describe('verifyDpopProof', () => {
  it('accepts a valid proof and returns the key thumbprint, jti and iat', async () => {
    const value = await proof({ jti: 'fixed-proof-id-0002' });
    const { seen, asked } = memory();
    const result = await verifyDpopProof(value, options({ seen }));
    expect(result).toEqual({ jkt: alice.jkt, jti: 'fixed-proof-id-0002', iat: T0 });
    expect(asked).toEqual(['fixed-proof-id-0002']);
  });

  it('passes the time until which the jti must be remembered', async () => {
    let until = 0;
    await verifyDpopProof(await proof(), options({ maxAgeSeconds: 120, seen: (_jti, expiresAt) => ((until = expiresAt), false) }));
    expect(until).toBe(T0 + 120);
  });

  it('accepts the request URI with a query string and a non-normalized spelling', async () => {
    await expect(verifyDpopProof(await proof(), options({ htu: 'https://HUB.example:443/v1/queries?page=2' }))).resolves.toBeDefined();
  });

  it('accepts a one-element header array, and a proof up to 60 s old or 5 s ahead', async () => {
    await expect(verifyDpopProof([await proof()], options())).resolves.toBeDefined();
    await expect(verifyDpopProof(await proof(), options({ now: T0 + 60 }))).resolves.toBeDefined();
    await expect(verifyDpopProof(await proof(), options({ now: T0 - 5 }))).resolves.toBeDefined();
  });

  interface Case {
    name: string;
    proof: () => Promise<string | string[] | undefined>;
    options?: Partial<VerifyDpopProofOptions>;
    code: ConsentErrorCode;
    field?: string;
  }
  const cases: Case[] = [
    { name: 'no proof', proof: async () => undefined, code: 'dpop_missing' },
    { name: 'empty proof', proof: async () => '', code: 'dpop_missing' },
    { name: 'two DPoP headers (§4.3 step 1)', proof: async () => [await proof(), await proof()], code: 'dpop_invalid' },
    { name: 'not a JWT', proof: async () => 'garbage', code: 'dpop_invalid' },
    { name: 'stale iat (61 s old)', proof: () => proof(), options: { now: T0 + 61 }, code: 'dpop_stale', field: 'iat' },
    { name: 'future iat (10 s ahead)', proof: () => proof({ now: T0 + 10 }), options: { now: T0 }, code: 'dpop_stale', field: 'iat' },
    { name: 'wrong htm', proof: () => proof({ htm: 'GET' }), code: 'dpop_invalid', field: 'htm' },
    { name: 'htm in other case', proof: () => proof({ htm: 'post' }), code: 'dpop_invalid', field: 'htm' },
    { name: 'wrong htu (other path)', proof: () => proof({ htu: 'https://hub.example/v1/accounts' }), code: 'dpop_invalid', field: 'htu' },
    { name: 'wrong htu (other host)', proof: () => proof({ htu: 'https://evil.example/v1/queries' }), code: 'dpop_invalid', field: 'htu' },
    { name: 'wrong htu (http instead of https)', proof: () => proof({ htu: 'http://hub.example/v1/queries' }), code: 'dpop_invalid', field: 'htu' },
    {
      name: 'wrong ath (a token swapped)',
      proof: () => proof(),
      options: { accessTokens: [TOKENS[0]!, 'eyJhbGciOiJFZERTQSJ9.eyJjIjozfQ.c3dhcA'] },
      code: 'dpop_invalid',
      field: 'ath',
    },
    { name: 'wrong ath (a token dropped)', proof: () => proof(), options: { accessTokens: [TOKENS[0]!] }, code: 'dpop_invalid', field: 'ath' },
    { name: 'no access token to bind', proof: () => proof(), options: { accessTokens: [] }, code: 'dpop_invalid', field: 'ath' },
    {
      name: 'signed by another key than the jwk in its header',
      proof: () => new SignJWT(claims()).setProtectedHeader({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: alice.publicJwk }).sign(bob.privateJwk),
      code: 'dpop_invalid',
      field: 'signature',
    },
    {
      name: 'jwk containing d',
      proof: () => new SignJWT(claims()).setProtectedHeader({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: alice.privateJwk }).sign(alice.privateJwk),
      code: 'dpop_invalid',
      field: 'jwk',
    },
    {
      name: 'no jwk',
      proof: () => new SignJWT(claims()).setProtectedHeader({ typ: 'dpop+jwt', alg: 'EdDSA' }).sign(alice.privateJwk),
      code: 'dpop_invalid',
      field: 'jwk',
    },
    {
      name: 'alg ES256 (another asymmetric algorithm)',
      proof: async () => {
        const { privateKey, publicKey } = await generateKeyPair('ES256');
        return new SignJWT(claims()).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(publicKey) }).sign(privateKey);
      },
      code: 'dpop_invalid',
      field: 'alg',
    },
    {
      name: 'alg HS256 keyed with the public key',
      proof: () => new SignJWT(claims()).setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk: alice.publicJwk }).sign(fromBase64Url(alice.publicJwk.x)),
      code: 'dpop_invalid',
      field: 'alg',
    },
    {
      name: 'alg none',
      proof: async () => `${b64json({ typ: 'dpop+jwt', alg: 'none', jwk: alice.publicJwk })}.${b64json(claims())}.AA`,
      code: 'dpop_invalid',
      field: 'alg',
    },
    {
      name: 'typ JWT',
      proof: () => new SignJWT(claims()).setProtectedHeader({ typ: 'JWT', alg: 'EdDSA', jwk: alice.publicJwk }).sign(alice.privateJwk),
      code: 'dpop_invalid',
      field: 'typ',
    },
    {
      name: 'jti too short',
      proof: () => new SignJWT({ ...claims(), jti: 'abc' }).setProtectedHeader({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: alice.publicJwk }).sign(alice.privateJwk),
      code: 'dpop_invalid',
      field: 'jti',
    },
    {
      name: 'no ath',
      proof: () => new SignJWT({ ...claims(), ath: undefined }).setProtectedHeader({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: alice.publicJwk }).sign(alice.privateJwk),
      code: 'dpop_invalid',
      field: 'ath',
    },
    {
      name: 'claims changed under a valid signature',
      proof: async () => {
        const [h, , s] = (await proof()).split('.') as [string, string, string];
        return `${h}.${b64json({ ...claims(), htu: 'https://hub.example/v1/other' })}.${s}`;
      },
      code: 'dpop_invalid',
      field: 'signature',
    },
  ];

  it.each(cases)('$name → $code', async (c) => {
    const value = await c.proof();
    const { seen, asked } = memory();
    const error = await failure(value, options({ seen, ...c.options }));
    expect(error.code).toBe(c.code);
    if (c.field !== undefined) expect(error.field).toBe(c.field);
    // A refused proof never burns a jti in the replay cache.
    expect(asked).toEqual([]);
    for (const text of [error.message, JSON.stringify(error)]) {
      if (typeof value === 'string') for (const part of value.split('.').filter((s) => s.length >= 8)) expect(text).not.toContain(part);
      expect(text).not.toContain(alice.privateJwk.d);
      expect(text).not.toContain(alice.jkt);
    }
  });

  it('replayed jti → dpop_replayed', async () => {
    const value = await proof();
    const { seen } = memory();
    await verifyDpopProof(value, options({ seen }));
    const error = await failure(value, options({ seen }));
    expect(error).toMatchObject({ code: 'dpop_replayed', field: 'jti' });
    // The same jti in a freshly signed proof is a replay too.
    const again = await proof({ jti: decode(value.split('.')[1]!).jti as string });
    expect((await failure(again, options({ seen }))).code).toBe('dpop_replayed');
  });
});

describe('checkBinding (RFC 7800 cnf.jkt = RFC 9449 proof key)', () => {
  it('passes a token bound to the proof key', async () => {
    const { jkt } = await verifyDpopProof(await proof(), options());
    expect(() => checkBinding({ cnf: { jkt: alice.jkt } }, jkt)).not.toThrow();
  });

  it('refuses a token bound to another key → token_binding_invalid', async () => {
    const { jkt } = await verifyDpopProof(await proof(), options());
    expect(() => checkBinding({ cnf: { jkt: bob.jkt } }, jkt)).toThrow(expect.objectContaining({ code: 'token_binding_invalid', field: 'cnf.jkt' }));
  });

  it('refuses a token stolen by bob and sent with bob\'s own valid proof', async () => {
    const bobs = await createDpopProof({ privateJwk: bob.privateJwk, publicJwk: bob.publicJwk, htm: 'POST', htu: HTU, accessTokens: TOKENS, now: T0 });
    const { jkt } = await verifyDpopProof(bobs, options());
    expect(jkt).toBe(bob.jkt);
    expect(() => checkBinding({ cnf: { jkt: alice.jkt } }, jkt)).toThrow(expect.objectContaining({ code: 'token_binding_invalid' }));
  });
});
