/**
 * RFC 9421 signature base and RFC 9530 digest against the RFCs' own published examples, and
 * the hub profile's parser against shapes it must refuse.
 */
import { describe, expect, it } from 'vitest';
import { publicKeyOf, signMessage, verifyMessage } from '../crypto/ed25519.ts';
import {
  HUB_COVERED_COMPONENTS, contentDigest, hubComponents, parseHubSignatureFields, serializeSignatureParams, signatureBase,
} from './message-signature.ts';

/** RFC 9421 Appendix B.1.4 `test-key-ed25519` (the PKCS#8 seed, as base64url). */
const RFC9421_ED25519_SEED = 'n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU';

describe('RFC 9421 signature base', () => {
  it('reproduces Appendix B.2.6 (ed25519) byte for byte: the published signature', () => {
    const params = serializeSignatureParams(['date', '@method', '@path', '@authority', 'content-type', 'content-length'], { created: 1618884473, keyid: 'test-key-ed25519' });
    expect(params).toBe('("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"');
    const base = signatureBase(
      [['date', 'Tue, 20 Apr 2021 02:07:55 GMT'], ['@method', 'POST'], ['@path', '/foo'], ['@authority', 'example.com'], ['content-type', 'application/json'], ['content-length', '18']],
      params,
    );
    const signature = Buffer.from(signMessage(RFC9421_ED25519_SEED, new TextEncoder().encode(base)), 'base64url').toString('base64');
    expect(signature).toBe('wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==');
    expect(publicKeyOf(RFC9421_ED25519_SEED)).toBe('JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs');
  });

  it('refuses a component value with a line break (it would forge a line of the base)', () => {
    expect(() => signatureBase([['veilgate-node', 'hosp-a\n"@method": GET']], '()')).toThrow(/line break/);
  });

  it('RFC 9530 §2 example: sha-256 of {"hello": "world"}', () => {
    expect(contentDigest(new TextEncoder().encode('{"hello": "world"}'))).toBe('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
  });
});

describe('the hub profile', () => {
  const params = serializeSignatureParams(HUB_COVERED_COMPONENTS, { created: 1_700_000_000, nonce: 'AAAAAAAAAAAAAAAAAAAAAA', alg: 'ed25519', tag: 'veilgate-hub/v1' });
  const sig = `hub=:${Buffer.alloc(64, 7).toString('base64')}:`;

  it('parses the exact shape the hub emits', () => {
    expect(parseHubSignatureFields(`hub=${params}`, sig)).toMatchObject({ created: 1_700_000_000, nonce: 'AAAAAAAAAAAAAAAAAAAAAA', signatureParams: params });
  });

  it.each([
    ['another label', `sig1=${params}`, sig],
    ['no nonce', `hub=${params.replace(';nonce="AAAAAAAAAAAAAAAAAAAAAA"', '')}`, sig],
    ['no created', `hub=${params.replace(';created=1700000000', '')}`, sig],
    ['fewer components (no content-digest)', `hub=${params.replace(' "content-digest"', '')}`, sig],
    ['an extra parameter', `hub=${params};expires=1`, sig],
    ['another tag', `hub=${params.replace('veilgate-hub/v1', 'other/v1')}`, sig],
    ['a short signature', `hub=${params}`, `hub=:${Buffer.alloc(32).toString('base64')}:`],
    ['a second signature in the dictionary', `hub=${params}, x=("@method")`, sig],
  ])('refuses %s', (_name, input, signature) => {
    expect(parseHubSignatureFields(input, signature)).toBeUndefined();
  });

  it('the base covers method, path, query, digest and node: changing any one breaks the signature', () => {
    const key = RFC9421_ED25519_SEED;
    const message = { method: 'POST', url: new URL('http://n/v1/policies'), contentDigest: contentDigest(new Uint8Array([1])), node: 'hosp-a' };
    const sign = (m: typeof message) => signMessage(key, new TextEncoder().encode(signatureBase(hubComponents(m), params)));
    const good = sign(message);
    const verify = (m: typeof message) => verifyMessage(publicKeyOf(key), new TextEncoder().encode(signatureBase(hubComponents(m), params)), good);
    expect(verify(message)).toBe(true);
    expect(verify({ ...message, method: 'PUT' })).toBe(false);
    expect(verify({ ...message, url: new URL('http://n/v1/consent') })).toBe(false);
    expect(verify({ ...message, url: new URL('http://n/v1/policies?x=1') })).toBe(false);
    expect(verify({ ...message, contentDigest: contentDigest(new Uint8Array([2])) })).toBe(false);
    expect(verify({ ...message, node: 'hosp-b' })).toBe(false);
  });
});
