/**
 * OIDC bearer tokens against a local JWKS endpoint (node:http on 127.0.0.1): role mapping,
 * the RFC 7519 / RFC 8725 checks (issuer, audience, exp, nbf, pinned algorithms, keys from the
 * JWKS only), key rotation, and an unreachable provider.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import { GatewayError } from '../errors.ts';
import { createOidcVerifier, looksLikeJwt, oidcAccountId } from './oidc.ts';
import type { OidcConfig } from './oidc.ts';

const ISSUER = 'https://idp.example.org/realms/health';
const AUDIENCE = 'veilgate';

interface SigningKey { kid: string; alg: 'RS256' | 'ES256'; privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK }

async function signingKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A JWKS endpoint whose key set the test can change; counts the fetches. */
function jwksServer(keys: () => JWK[]): Promise<{ server: Server; url: string; fetches: () => number }> {
  let fetches = 0;
  const server = createServer((req, res) => {
    fetches += 1;
    if (req.url === '/not-json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('<html>');
      return;
    }
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: keys() }));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}/jwks.json`, fetches: () => fetches });
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

const b64u = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

let rsa: SigningKey;
let ec: SigningKey;
let rotated: SigningKey;
let stranger: SigningKey;
let published: JWK[];
let idp: Awaited<ReturnType<typeof jwksServer>>;

beforeAll(async () => {
  [rsa, ec, rotated, stranger] = await Promise.all([
    signingKey('RS256', 'rsa-1'),
    signingKey('ES256', 'ec-1'),
    signingKey('RS256', 'rsa-2'),
    signingKey('RS256', 'rsa-1'), // same kid as the published key, different key material
  ]);
  published = [rsa.jwk, ec.jwk];
  idp = await jwksServer(() => published);
});

afterAll(async () => {
  await close(idp.server);
});

function config(overrides: Partial<OidcConfig> = {}): OidcConfig {
  return {
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: idp.url,
    roleMapping: { 'vg-researcher': 'researcher', 'vg-operator': 'operator', 'vg-auditor': 'auditor', 'vg-admin': 'admin' },
    ...overrides,
  };
}

const now = () => Math.floor(Date.now() / 1000);

/** A token of the test provider; `claims` override the defaults, `undefined` removes one. */
function token(key: SigningKey, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  const payload: JWTPayload = { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', iat: now(), exp: now() + 300, roles: ['vg-researcher'], name: 'Dr. Li', ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey);
}

/** Asserts a GatewayError of `code`, with no part of the token in its message. */
async function rejects(promise: Promise<unknown>, code: 'unauthorized' | 'forbidden', bearer: string, reason?: RegExp): Promise<GatewayError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(GatewayError);
  const e = error as GatewayError;
  expect(e.code).toBe(code);
  if (code === 'unauthorized') {
    expect(e.message).toMatch(/^Authorization: /);
    expect(e.field).toBe('Authorization');
  }
  if (reason) expect(e.message).toMatch(reason);
  for (const segment of bearer.split('.')) if (segment.length > 8) expect(e.message).not.toContain(segment);
  return e;
}

describe('valid tokens map to Veilgate identities', () => {
  it('RS256 with a flat roles claim', async () => {
    const verify = createOidcVerifier(config());
    const identity = await verify(await token(rsa));
    expect(identity).toEqual({ subject: 'user-1', issuer: ISSUER, role: 'researcher', node: null, name: 'Dr. Li' });
  });

  it('ES256 with a nested role claim path (Keycloak realm_access.roles), operator with node', async () => {
    const verify = createOidcVerifier(config({ roleClaim: 'realm_access.roles' }));
    const bearer = await token(ec, { roles: undefined, realm_access: { roles: ['offline_access', 'vg-operator'] }, veilgate_node: 'charite', name: undefined, preferred_username: 'op.meyer' });
    expect(await verify(bearer)).toEqual({ subject: 'user-1', issuer: ISSUER, role: 'operator', node: 'charite', name: 'op.meyer' });
  });

  it('the most privileged mapped role wins; a space-separated string and a literal dotted claim name work', async () => {
    const verify = createOidcVerifier(config({ roleClaim: 'https://veilgate.example/roles', audience: ['other', AUDIENCE] }));
    const bearer = await token(rsa, { roles: undefined, 'https://veilgate.example/roles': 'vg-researcher vg-admin vg-auditor', aud: [AUDIENCE, 'account'] });
    expect((await verify(bearer)).role).toBe('admin');
  });

  it('a custom node claim', async () => {
    const verify = createOidcVerifier(config({ nodeClaim: 'ext.node' }));
    const bearer = await token(rsa, { roles: ['vg-operator'], ext: { node: 'node-b' } });
    expect((await verify(bearer)).node).toBe('node-b');
  });
});

describe('invalid tokens are 401 unauthorized', () => {
  const verify = () => createOidcVerifier(config());

  it('wrong issuer', async () => {
    const bearer = await token(rsa, { iss: 'https://evil.example.org' });
    await rejects(verify()(bearer), 'unauthorized', bearer, /another issuer/);
  });

  it('wrong audience', async () => {
    const bearer = await token(rsa, { aud: 'some-other-api' });
    await rejects(verify()(bearer), 'unauthorized', bearer, /another audience/);
  });

  it('expired beyond the clock tolerance', async () => {
    const bearer = await token(rsa, { iat: now() - 600, exp: now() - 60 });
    await rejects(verify()(bearer), 'unauthorized', bearer, /expired/);
  });

  it('expired within the tolerance is still accepted', async () => {
    const bearer = await token(rsa, { iat: now() - 600, exp: now() - 10 });
    expect((await verify()(bearer)).role).toBe('researcher');
  });

  it('nbf in the future', async () => {
    const bearer = await token(rsa, { nbf: now() + 300 });
    await rejects(verify()(bearer), 'unauthorized', bearer, /not valid yet/);
  });

  it('no exp or no sub', async () => {
    const noExp = await token(rsa, { exp: undefined });
    await rejects(verify()(noExp), 'unauthorized', noExp, /"exp"/);
    const noSub = await token(rsa, { sub: undefined });
    await rejects(verify()(noSub), 'unauthorized', noSub, /"sub"/);
  });

  it('signed by a key not in the JWKS (published kid, other key material)', async () => {
    const bearer = await token(stranger);
    await rejects(verify()(bearer), 'unauthorized', bearer, /signature is invalid/);
  });

  it('signed by a key not in the JWKS (unknown kid)', async () => {
    const bearer = await token({ ...stranger, kid: 'nobody' });
    await rejects(verify()(bearer), 'unauthorized', bearer, /does not publish/);
  });

  it('alg: none', async () => {
    const bearer = `${b64u({ alg: 'none', typ: 'JWT' })}.${b64u({ iss: ISSUER, aud: AUDIENCE, sub: 'user-1', exp: now() + 300, roles: ['vg-admin'] })}.`;
    expect(looksLikeJwt(bearer)).toBe(true);
    await rejects(verify()(bearer), 'unauthorized', bearer, /algorithm is not allowed/);
  });

  it('HS256 keyed with the RSA public key bytes (algorithm confusion, RFC 8725 §2.1)', async () => {
    const pem = createPublicKey({ key: rsa.jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const payload = { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', exp: now() + 300, roles: ['vg-admin'] };
    for (const secret of [Buffer.from(pem), Buffer.from(JSON.stringify(rsa.jwk))]) {
      const bearer = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(new Uint8Array(secret));
      await rejects(verify()(bearer), 'unauthorized', bearer, /algorithm is not allowed/);
    }
  });

  it('an algorithm outside a narrowed list', async () => {
    const bearer = await token(ec);
    await rejects(createOidcVerifier(config({ algorithms: ['RS256'] }))(bearer), 'unauthorized', bearer, /algorithm is not allowed/);
  });

  it('typ at+jwt when required (RFC 9068 §4)', async () => {
    const strict = createOidcVerifier(config({ requireAccessTokenType: true }));
    expect((await strict(await token(rsa))).role).toBe('researcher');
    const idToken = await token(rsa, {}, { typ: 'JWT' });
    await rejects(strict(idToken), 'unauthorized', idToken, /at\+jwt/);
  });

  it('garbage and API keys', async () => {
    for (const bearer of ['', 'vg_' + 'A'.repeat(43), 'a.b', 'eyJ.eyJ.sig', 'x'.repeat(20_000)]) {
      await rejects(verify()(bearer), 'unauthorized', bearer);
    }
  });
});

describe('valid tokens without a usable role are 403 forbidden', () => {
  it('unknown role', async () => {
    const bearer = await token(rsa, { roles: ['offline_access', 'uma_authorization'] });
    const e = await rejects(createOidcVerifier(config())(bearer), 'forbidden', bearer);
    expect(e.message).not.toContain('offline_access');
  });

  it('no roles claim at all, and prototype names', async () => {
    const verify = createOidcVerifier(config());
    const none = await token(rsa, { roles: undefined });
    await rejects(verify(none), 'forbidden', none);
    const proto = await token(rsa, { roles: ['__proto__', 'constructor', 'toString'] });
    await rejects(verify(proto), 'forbidden', proto);
  });

  it('operator without a node claim, or with a malformed one', async () => {
    const verify = createOidcVerifier(config());
    const missing = await token(rsa, { roles: ['vg-operator'] });
    await rejects(verify(missing), 'forbidden', missing, /veilgate_node/);
    const malformed = await token(rsa, { roles: ['vg-operator'], veilgate_node: 'Not A Node!' });
    const e = await rejects(verify(malformed), 'forbidden', malformed);
    expect(e.message).not.toContain('Not A Node');
  });
});

describe('the JWKS endpoint', () => {
  it('key rotation: a token with a new kid verifies after the provider publishes it', async () => {
    const verify = createOidcVerifier(config({ jwksCooldownSeconds: 0 }));
    expect((await verify(await token(rsa))).role).toBe('researcher');
    const before = idp.fetches();
    published = [rotated.jwk, rsa.jwk, ec.jwk];
    try {
      expect((await verify(await token(rotated, { roles: ['vg-auditor'] }))).role).toBe('auditor');
      expect(idp.fetches()).toBe(before + 1);
      // Cached now: no further fetch.
      await verify(await token(rotated));
      expect(idp.fetches()).toBe(before + 1);
    } finally {
      published = [rsa.jwk, ec.jwk];
    }
  });

  it('unknown kids do not make the gateway fetch again within the cooldown', async () => {
    const verify = createOidcVerifier(config());
    await verify(await token(rsa));
    const before = idp.fetches();
    for (let i = 0; i < 5; i++) {
      const bearer = await token({ ...stranger, kid: `forged-${i}` });
      await rejects(verify(bearer), 'unauthorized', bearer, /does not publish/);
    }
    expect(idp.fetches()).toBe(before);
  });

  it('provider down (connection refused) → 401, not a crash', async () => {
    const down = await jwksServer(() => published);
    await close(down.server);
    const verify = createOidcVerifier(config({ jwksUrl: down.url }));
    const bearer = await token(rsa);
    await rejects(verify(bearer), 'unauthorized', bearer, /signing keys could not be obtained/);
  });

  it('provider answering 404 or non-JSON → 401', async () => {
    const bearer = await token(rsa);
    for (const path of ['missing', 'not-json']) {
      const verify = createOidcVerifier(config({ jwksUrl: idp.url.replace('jwks.json', path) }));
      await rejects(verify(bearer), 'unauthorized', bearer, /could not be obtained/);
    }
  });
});

describe('configuration', () => {
  it('refuses none, HS* and unknown algorithms, and an empty list', () => {
    for (const algorithms of [['none'], ['RS256', 'HS256'], ['HS512'], ['RS1'], []]) {
      expect(() => createOidcVerifier(config({ algorithms }))).toThrow(TypeError);
    }
  });

  it('refuses an insecure JWKS URL, an empty mapping and unknown Veilgate roles', () => {
    expect(() => createOidcVerifier(config({ jwksUrl: 'http://idp.example.org/jwks' }))).toThrow(/https/);
    expect(() => createOidcVerifier(config({ jwksUrl: 'https://idp.example.org/jwks' }))).not.toThrow();
    expect(() => createOidcVerifier(config({ roleMapping: {} }))).toThrow(TypeError);
    expect(() => createOidcVerifier(config({ roleMapping: { x: 'superuser' as 'admin' } }))).toThrow(TypeError);
    expect(() => createOidcVerifier(config({ issuer: 'a\nb' }))).toThrow(TypeError);
  });
});

describe('helpers', () => {
  it('looksLikeJwt', () => {
    expect(looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')).toBe(true);
    expect(looksLikeJwt(`vg_${'A'.repeat(43)}`)).toBe(false);
    expect(looksLikeJwt('a.b')).toBe(false);
    expect(looksLikeJwt('a.b.c.d')).toBe(false);
    expect(looksLikeJwt('a b.c.d')).toBe(false);
  });

  it('oidcAccountId is stable, per issuer, 27 characters and hides the subject', () => {
    const id = oidcAccountId(ISSUER, 'user-1');
    expect(id).toMatch(/^oidc:[A-Za-z0-9_-]{22}$/);
    expect(oidcAccountId(ISSUER, 'user-1')).toBe(id);
    expect(oidcAccountId('https://other.example.org', 'user-1')).not.toBe(id);
    expect(oidcAccountId(ISSUER, 'user-2')).not.toBe(id);
    expect(id).not.toContain('user');
    // base64url(SHA-256("https://idp.example.org/realms/health\nuser-1")) cut to 22, computed with Python's hashlib.
    expect(id).toBe('oidc:lL56_VjVq7ix4rOeCl3JZ9');
    expect(() => oidcAccountId('a\nb', 'c')).toThrow(TypeError);
  });
});
