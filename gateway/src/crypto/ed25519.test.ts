/**
 * Ed25519 wrappers against the RFC 8032 §7.1 test vectors (TEST 1–3), base64url-encoded
 * with Buffer (independently of the SDK's byte helpers).
 */
import { describe, expect, it } from 'vitest';
import { generateSigningKey, publicKeyOf, signMessage, verifyMessage } from './ed25519.ts';

const hex = (h: string): Buffer => Buffer.from(h, 'hex');
const b64url = (h: string): string => hex(h).toString('base64url');

interface Vector {
  secret: string;
  public: string;
  message: string;
  signature: string;
}

const VECTORS: [string, Vector][] = [
  [
    'TEST 1 (empty message)',
    {
      secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      message: '',
      signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    },
  ],
  [
    'TEST 2 (one byte)',
    {
      secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      message: '72',
      signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    },
  ],
  [
    'TEST 3 (two bytes)',
    {
      secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
      public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
      message: 'af82',
      signature: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
    },
  ],
];

/** The group order L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032 §5.1). */
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

describe('RFC 8032 §7.1 vectors', () => {
  it.each(VECTORS)('%s: public key', (_name, v) => {
    expect(publicKeyOf(b64url(v.secret))).toBe(b64url(v.public));
  });

  it.each(VECTORS)('%s: signature', (_name, v) => {
    expect(signMessage(b64url(v.secret), hex(v.message))).toBe(b64url(v.signature));
  });

  it.each(VECTORS)('%s: verifies', (_name, v) => {
    expect(verifyMessage(b64url(v.public), hex(v.message), b64url(v.signature))).toBe(true);
  });

  it.each(VECTORS)('%s: a flipped message bit fails', (_name, v) => {
    const message = Buffer.concat([hex(v.message), Buffer.from([0])]); // a longer message
    expect(verifyMessage(b64url(v.public), message, b64url(v.signature))).toBe(false);
    if (v.message.length > 0) {
      const flipped = hex(v.message);
      flipped[0]! ^= 0x01;
      expect(verifyMessage(b64url(v.public), flipped, b64url(v.signature))).toBe(false);
    }
  });

  it.each(VECTORS)('%s: every single-byte change of the signature fails', (_name, v) => {
    const sig = hex(v.signature);
    for (let i = 0; i < sig.length; i++) {
      const bad = Buffer.from(sig);
      bad[i]! ^= 0x01;
      expect(verifyMessage(b64url(v.public), hex(v.message), bad.toString('base64url')), `byte ${i}`).toBe(false);
    }
  });

  it.each(VECTORS)('%s: the malleable signature (R, S + L) is refused', (_name, v) => {
    const sig = hex(v.signature);
    const s = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString('hex')}`);
    const sPlusL = Buffer.from((s + L).toString(16).padStart(64, '0'), 'hex').reverse();
    const malleable = Buffer.concat([sig.subarray(0, 32), sPlusL]);
    expect(verifyMessage(b64url(v.public), hex(v.message), malleable.toString('base64url'))).toBe(false);
  });

  it('a signature does not verify under another vector’s public key', () => {
    const [, a] = VECTORS[0]!;
    const [, b] = VECTORS[1]!;
    expect(verifyMessage(b64url(b.public), hex(a.message), b64url(a.signature))).toBe(false);
  });
});

describe('verifyMessage on malformed input returns false, never throws', () => {
  const [, v] = VECTORS[1]!;
  const pub = b64url(v.public);
  const sig = b64url(v.signature);
  const msg = hex(v.message);
  it.each([
    ['signature with base64 padding', { publicKey: pub, signature: `${sig}==` }],
    ['signature in padded standard base64', { publicKey: pub, signature: hex(v.signature).toString('base64') }],
    ['signature with a space', { publicKey: pub, signature: ` ${sig}` }],
    ['signature not base64 at all', { publicKey: pub, signature: '!!!' }],
    ['empty signature', { publicKey: pub, signature: '' }],
    ['63-byte signature', { publicKey: pub, signature: hex(v.signature).subarray(0, 63).toString('base64url') }],
    ['65-byte signature', { publicKey: pub, signature: Buffer.concat([hex(v.signature), Buffer.from([0])]).toString('base64url') }],
    ['public key not base64', { publicKey: 'p@blic', signature: sig }],
    ['empty public key', { publicKey: '', signature: sig }],
    ['31-byte public key', { publicKey: hex(v.public).subarray(0, 31).toString('base64url'), signature: sig }],
    ['33-byte public key', { publicKey: Buffer.concat([hex(v.public), Buffer.from([0])]).toString('base64url'), signature: sig }],
    ['an unrelated 32-byte public key (y = 2)', { publicKey: b64url('02'.padEnd(64, '0')), signature: sig }],
    ['all-zero signature', { publicKey: pub, signature: Buffer.alloc(64).toString('base64url') }],
  ])('%s', (_name, { publicKey, signature }) => {
    expect(() => verifyMessage(publicKey, msg, signature)).not.toThrow();
    expect(verifyMessage(publicKey, msg, signature)).toBe(false);
  });
});

describe('generated keys', () => {
  it('are 32-byte base64url halves that sign and verify', () => {
    const pair = generateSigningKey();
    expect(pair.secretKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pair.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(publicKeyOf(pair.secretKey)).toBe(pair.publicKey);
    const digest = Buffer.alloc(32, 7);
    const sig = signMessage(pair.secretKey, digest);
    expect(Buffer.from(sig, 'base64url').length).toBe(64);
    expect(verifyMessage(pair.publicKey, digest, sig)).toBe(true);
    expect(verifyMessage(generateSigningKey().publicKey, digest, sig)).toBe(false);
  });

  it('two generated keys differ', () => {
    expect(generateSigningKey().secretKey).not.toBe(generateSigningKey().secretKey);
  });
});
