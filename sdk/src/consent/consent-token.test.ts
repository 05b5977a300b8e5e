/**
 * Consent tokens: signing and verification, the attack table of RFC 8725 (each case asserts
 * the stable code), scope checks, and that no error message carries token or key material.
 */
import { SignJWT, generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from '../internal/bytes.ts';
import {
  CONSENT_TOKEN_TYPE, checkScope, decodeConsentTokenUnverified, signConsentToken, verifyConsentToken,
} from './consent-token.ts';
import type { ConsentClaims, ConsentTokenInput, VerifyConsentTokenOptions } from './consent-token.ts';
import { ConsentError } from './errors.ts';
import type { ConsentErrorCode } from './errors.ts';
import { generateIdentityKey } from './identity.ts';
import type { IdentityKey } from './identity.ts';

/** The node's key: RFC 8037 §A.1, whose thumbprint (§A.3) is the kid. */
const NODE_KEY = {
  kid: 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k',
  privateJwk: { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A' },
  publicJwk: { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k', alg: 'EdDSA', use: 'sig' },
} as const;
const T0 = 1_750_000_000;
const ISSUER = 'node-a';
const HUB = 'hub-1';
const RESEARCHER = 'acct_researcher';

let researcher: IdentityKey;
let otherNodeKey: JWK;

function input(overrides: Partial<ConsentTokenInput> = {}): ConsentTokenInput {
  return {
    iss: ISSUER,
    sub: RESEARCHER,
    aud: HUB,
    request: 'ar_1',
    approvals: ['acct_op1', 'acct_op2'],
    vg_scope: {
      datasets: ['cohort', 'registry'],
      elements: ['age', 'bmi', 'sex'],
      operations: ['count', 'mean', 'histogram'],
      purpose: 'DUO:0000006',
      budget: 1.5,
      quota: 100,
    },
    cnf: { jkt: researcher.jkt },
    durationSeconds: 3600,
    now: T0,
    ...overrides,
  };
}

function sign(overrides: Partial<ConsentTokenInput> = {}): Promise<string> {
  return signConsentToken(input(overrides), { kid: NODE_KEY.kid, privateKey: { ...NODE_KEY.privateJwk } });
}

function options(overrides: Partial<VerifyConsentTokenOptions> = {}): VerifyConsentTokenOptions {
  return {
    keys: (kid) => (kid === NODE_KEY.kid ? { ...NODE_KEY.publicJwk } : undefined),
    issuer: ISSUER,
    audience: HUB,
    subject: RESEARCHER,
    now: T0 + 60,
    ...overrides,
  };
}

const b64json = (value: unknown): string => toBase64Url(new TextEncoder().encode(JSON.stringify(value)));

/** A claims set as signConsentToken writes it, to build tokens by hand. */
function claimsAt(now = T0): ConsentClaims {
  return {
    iss: ISSUER, sub: RESEARCHER, aud: HUB, jti: 'jti-by-hand-0001', iat: now, nbf: now, exp: now + 3600,
    vg_scope: input().vg_scope, request: 'ar_1', approvals: ['acct_op1'], cnf: { jkt: researcher.jkt },
    ga4gh_visa_v1: { type: 'ControlledAccessGrants', asserted: now, value: 'cohort,registry', source: ISSUER, by: 'dac' },
  };
}

/** Signs any payload and header with the node's real key: a valid signature over bad content. */
function signRaw(payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', typ: CONSENT_TOKEN_TYPE, kid: NODE_KEY.kid, ...header })
    .sign({ ...NODE_KEY.privateJwk });
}

async function failure(token: string, opts: VerifyConsentTokenOptions = options()): Promise<ConsentError> {
  const error = await verifyConsentToken(token, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ConsentError)) throw new Error(`expected a ConsentError, got ${String(error)}`);
  return error;
}

/** No error text carries the token, any of its segments, or the key material. */
function expectNoSecrets(error: ConsentError, token: string): void {
  const texts = [error.message, JSON.stringify(error), String(error.stack)];
  for (const text of texts) {
    for (const segment of token.split('.').filter((s) => s.length >= 8)) expect(text).not.toContain(segment);
    expect(text).not.toContain(NODE_KEY.privateJwk.d);
    expect(text).not.toContain(researcher.jkt);
  }
}

beforeAll(async () => {
  researcher = await generateIdentityKey();
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  otherNodeKey = await (await import('jose')).exportJWK(privateKey);
});

describe('signConsentToken / verifyConsentToken', () => {
  it('round-trips every claim and fills iat, nbf, exp, jti and the visa', async () => {
    const token = await sign();
    const claims = await verifyConsentToken(token, options());
    expect(claims).toMatchObject({
      iss: ISSUER, sub: RESEARCHER, aud: HUB, iat: T0, nbf: T0, exp: T0 + 3600, request: 'ar_1',
      approvals: ['acct_op1', 'acct_op2'], cnf: { jkt: researcher.jkt }, vg_scope: input().vg_scope,
      ga4gh_visa_v1: { type: 'ControlledAccessGrants', asserted: T0, value: 'cohort,registry', source: ISSUER, by: 'dac' },
    });
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('writes the RFC 7515 header { alg: EdDSA, typ: vg-consent+jwt, kid } and no stray claims', async () => {
    const token = await sign({ jti: 'fixed-jti-000001', visaValue: 'https://veilgate.example/datasets/cohort' });
    const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(new TextDecoder().decode(fromBase64Url(part))) as Record<string, unknown>);
    expect(header).toEqual({ alg: 'EdDSA', typ: 'vg-consent+jwt', kid: NODE_KEY.kid });
    expect(Object.keys(payload!).sort()).toEqual(
      ['approvals', 'aud', 'cnf', 'exp', 'ga4gh_visa_v1', 'iat', 'iss', 'jti', 'nbf', 'request', 'sub', 'vg_scope'],
    );
    expect(payload).toMatchObject({ jti: 'fixed-jti-000001', ga4gh_visa_v1: { value: 'https://veilgate.example/datasets/cohort' } });
  });

  it('is deterministic for fixed inputs (Ed25519, RFC 8032)', async () => {
    expect(await sign({ jti: 'fixed-jti-000001' })).toBe(await sign({ jti: 'fixed-jti-000001' }));
  });

  it('gives fresh random jtis', async () => {
    const a = decodeConsentTokenUnverified(await sign()).claims.jti;
    const b = decodeConsentTokenUnverified(await sign()).claims.jti;
    expect(a).not.toBe(b);
  });

  it('accepts a key lookup returning a CryptoKey, async', async () => {
    const { importJWK } = await import('jose');
    const key = (await importJWK({ kty: 'OKP', crv: 'Ed25519', x: NODE_KEY.publicJwk.x }, 'EdDSA')) as CryptoKey;
    const claims = await verifyConsentToken(await sign(), options({ keys: async () => key }));
    expect(claims.iss).toBe(ISSUER);
  });

  it('accepts exp and nbf within the 30 s clock tolerance', async () => {
    const token = await sign();
    await expect(verifyConsentToken(token, options({ now: T0 + 3600 + 29 }))).resolves.toBeDefined();
    await expect(verifyConsentToken(await sign({ now: T0 + 20 }), options({ now: T0 }))).resolves.toBeDefined();
  });

  it('refuses to sign malformed claims, naming the claim', async () => {
    const bad = { ...input().vg_scope, operations: ['count', 'delete'] } as unknown as ConsentTokenInput['vg_scope'];
    await expect(sign({ vg_scope: bad })).rejects.toMatchObject({ code: 'token_malformed', field: 'vg_scope.operations[1]' });
    await expect(sign({ vg_scope: { ...input().vg_scope, purpose: 'research' } })).rejects.toMatchObject({ field: 'vg_scope.purpose' });
    await expect(sign({ durationSeconds: 0 })).rejects.toThrow(TypeError);
  });
});

describe('attack table (RFC 8725): each forged or unfit token has its code', () => {
  interface Case {
    name: string;
    token: () => Promise<string>;
    options?: Partial<VerifyConsentTokenOptions>;
    code: ConsentErrorCode;
    field?: string;
  }
  const cases: Case[] = [
    {
      name: 'unsigned token, alg none (built by hand)',
      token: async () => `${b64json({ alg: 'none', typ: CONSENT_TOKEN_TYPE, kid: NODE_KEY.kid })}.${b64json(claimsAt())}.`,
      code: 'token_signature_invalid',
      field: 'alg',
    },
    {
      name: 'alg none with the Ed25519 signature of a real token kept',
      token: async () => {
        const sig = (await sign()).split('.')[2];
        return `${b64json({ alg: 'none', typ: CONSENT_TOKEN_TYPE, kid: NODE_KEY.kid })}.${b64json(claimsAt())}.${sig}`;
      },
      code: 'token_signature_invalid',
    },
    {
      name: 'HS256 with the node public key bytes as HMAC secret',
      token: () => new SignJWT({ ...claimsAt() }).setProtectedHeader({ alg: 'HS256', typ: CONSENT_TOKEN_TYPE, kid: NODE_KEY.kid })
        .sign(fromBase64Url(NODE_KEY.publicJwk.x)),
      code: 'token_signature_invalid',
      field: 'alg',
    },
    {
      name: 'HS256 with the node JWK JSON as HMAC secret',
      token: () => new SignJWT({ ...claimsAt() }).setProtectedHeader({ alg: 'HS256', typ: CONSENT_TOKEN_TYPE, kid: NODE_KEY.kid })
        .sign(new TextEncoder().encode(JSON.stringify(NODE_KEY.publicJwk))),
      code: 'token_signature_invalid',
    },
    {
      name: 'fully-specified alg Ed25519 (not the pinned EdDSA)',
      token: () => signRaw({ ...claimsAt() }, { alg: 'Ed25519' }),
      code: 'token_signature_invalid',
    },
    {
      name: 'signed by another key under the node kid',
      token: () => signConsentToken(input(), { kid: NODE_KEY.kid, privateKey: otherNodeKey }),
      code: 'token_signature_invalid',
    },
    {
      name: 'one signature character flipped',
      token: async () => {
        const [h, p, s] = (await sign()).split('.') as [string, string, string];
        const i = 10;
        return `${h}.${p}.${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
      },
      code: 'token_signature_invalid',
    },
    {
      name: 'payload changed under a valid signature (quota raised)',
      token: async () => {
        const [h, , s] = (await sign()).split('.') as [string, string, string];
        const claims = claimsAt();
        return `${h}.${b64json({ ...claims, vg_scope: { ...claims.vg_scope, quota: 1e6 } })}.${s}`;
      },
      code: 'token_signature_invalid',
    },
    {
      name: 'unknown kid',
      token: () => signConsentToken(input(), { kid: 'some-other-kid', privateKey: otherNodeKey }),
      code: 'token_signature_invalid',
      field: 'kid',
    },
    {
      name: 'no kid',
      token: () => signRaw({ ...claimsAt() }, { kid: undefined }),
      code: 'token_malformed',
      field: 'kid',
    },
    { name: 'expired (past the tolerance)', token: () => sign(), options: { now: T0 + 3600 + 31 }, code: 'token_expired', field: 'exp' },
    { name: 'not yet valid (nbf in the future)', token: () => sign({ now: T0 + 1000 }), options: { now: T0 }, code: 'token_not_yet_valid', field: 'nbf' },
    { name: 'wrong audience', token: () => sign({ aud: 'hub-2' }), code: 'token_audience_invalid', field: 'aud' },
    { name: 'wrong issuer (another node\'s token)', token: () => sign({ iss: 'node-b' }), code: 'token_issuer_invalid', field: 'iss' },
    { name: 'wrong subject (another researcher\'s token)', token: () => sign({ sub: 'acct_mallory' }), code: 'token_subject_invalid', field: 'sub' },
    { name: 'revoked', token: () => sign(), options: { isRevoked: async () => true }, code: 'token_revoked', field: 'jti' },
    {
      name: 'missing scope',
      token: () => {
        const { vg_scope: _omit, ...rest } = claimsAt();
        return signRaw(rest);
      },
      code: 'token_malformed',
      field: 'vg_scope',
    },
    {
      name: 'OAuth string scope instead of vg_scope',
      token: () => {
        const { vg_scope: _omit, ...rest } = claimsAt();
        return signRaw({ ...rest, scope: 'read write' });
      },
      code: 'token_malformed',
      field: 'vg_scope',
    },
    { name: 'scope of the wrong type', token: () => signRaw({ ...claimsAt(), vg_scope: 'everything' }), code: 'token_malformed', field: 'vg_scope' },
    {
      name: 'scope with a numeric element',
      token: () => signRaw({ ...claimsAt(), vg_scope: { ...claimsAt().vg_scope, elements: ['age', 7] } }),
      code: 'token_malformed',
      field: 'vg_scope.elements[1]',
    },
    { name: 'audience as an array', token: () => signRaw({ ...claimsAt(), aud: [HUB, 'hub-2'] }), code: 'token_malformed', field: 'aud' },
    { name: 'no cnf', token: () => signRaw({ ...claimsAt(), cnf: undefined }), code: 'token_malformed', field: 'cnf' },
    { name: 'no exp', token: () => signRaw({ ...claimsAt(), exp: undefined }), code: 'token_malformed', field: 'exp' },
    { name: 'exp as a string', token: () => signRaw({ ...claimsAt(), exp: String(T0 + 3600) }), code: 'token_malformed', field: 'exp' },
    { name: 'wrong typ (plain JWT)', token: () => signRaw({ ...claimsAt() }, { typ: 'JWT' }), code: 'token_malformed', field: 'typ' },
    { name: 'wrong typ (a DPoP proof type)', token: () => signRaw({ ...claimsAt() }, { typ: 'dpop+jwt' }), code: 'token_malformed', field: 'typ' },
    { name: 'not a JWT at all', token: async () => 'not-a-token', code: 'token_malformed' },
    { name: 'empty', token: async () => '', code: 'token_malformed' },
    { name: 'payload not JSON (its signature fails first)', token: async () => `${(await sign()).split('.')[0]}.${toBase64Url(new TextEncoder().encode('{oops'))}.AAAA`, code: 'token_signature_invalid' },
    { name: 'too long', token: async () => 'a'.repeat(70_000), code: 'token_malformed' },
  ];

  it.each(cases)('$name → $code', async (c) => {
    const token = await c.token();
    const error = await failure(token, options(c.options));
    expect(error.code).toBe(c.code);
    if (c.field !== undefined) expect(error.field).toBe(c.field);
    expect(error.name).toBe('ConsentError');
    expectNoSecrets(error, token);
  });

  it('keeps the jose error as cause', async () => {
    const error = await failure(await sign(), options({ now: T0 + 10_000 }));
    expect(error.cause).toBeInstanceOf(Error);
    expect(JSON.stringify(error)).not.toContain('cause');
  });

  it('does not look up a key for a refused algorithm', async () => {
    let lookups = 0;
    const token = await new SignJWT({ ...claimsAt() })
      .setProtectedHeader({ alg: 'HS256', typ: CONSENT_TOKEN_TYPE, kid: NODE_KEY.kid })
      .sign(fromBase64Url(NODE_KEY.publicJwk.x));
    await failure(token, options({ keys: () => { lookups++; return { ...NODE_KEY.publicJwk }; } }));
    expect(lookups).toBe(0);
  });

  it('does not consult revocation for a token that fails earlier', async () => {
    let asked = 0;
    await failure(await sign({ aud: 'hub-2' }), options({ isRevoked: () => { asked++; return false; } }));
    expect(asked).toBe(0);
  });
});

describe('checkScope', () => {
  let claims: ConsentClaims;
  beforeAll(async () => {
    claims = await verifyConsentToken(await sign(), options());
  });
  const ok = { datasets: ['cohort'], elements: ['age', 'bmi'], operations: ['mean', 'count'], purpose: 'DUO:0000006' };

  it('passes a query within the scope', () => {
    expect(() => checkScope(claims, ok)).not.toThrow();
    expect(() => checkScope(claims, { ...ok, datasets: ['registry', 'cohort'], elements: [] })).not.toThrow();
  });

  it.each([
    ['element', { ...ok, elements: ['age', 'hba1c'] }, 'vg_scope.elements', 'hba1c'],
    ['operation', { ...ok, operations: ['mean', 'stddev'] }, 'vg_scope.operations', 'stddev'],
    ['purpose', { ...ok, purpose: 'DUO:0000007' }, 'vg_scope.purpose', 'DUO:0000007'],
    ['dataset', { ...ok, datasets: ['cohort', 'biobank'] }, 'vg_scope.datasets', 'biobank'],
  ])('refuses an extra %s, naming it', (_what, need, field, item) => {
    let error: unknown;
    try {
      checkScope(claims, need);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConsentError);
    expect(error).toMatchObject({ code: 'token_scope_exceeded', field, item });
    expect((error as Error).message).toContain(item);
  });

  it('quotes item names so a name cannot break a log line', () => {
    expect(() => checkScope(claims, { ...ok, elements: ['x\ninjected'] })).toThrow(/"x\\ninjected"/);
  });
});

describe('decodeConsentTokenUnverified', () => {
  it('shows header and claims of a token it does not verify', async () => {
    const token = await signConsentToken(input(), { kid: 'unknown-kid', privateKey: otherNodeKey });
    const { header, claims } = decodeConsentTokenUnverified(token);
    expect(header).toEqual({ alg: 'EdDSA', typ: CONSENT_TOKEN_TYPE, kid: 'unknown-kid' });
    expect(claims.vg_scope.datasets).toEqual(['cohort', 'registry']);
  });

  it('refuses garbage with token_malformed', () => {
    expect(() => decodeConsentTokenUnverified('a.b.c')).toThrow(expect.objectContaining({ code: 'token_malformed' }));
  });
});
