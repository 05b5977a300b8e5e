/**
 * The native backend (node:crypto, Buffer) must give exactly the bytes of the pure-JS one
 * (@noble, @scure) that browsers use: known-answer vectors (FIPS 180-4, RFC 4648 §10,
 * RFC 8032 §7.1, RFC 7748 §5.2/§6.1),
 * random inputs, and Ed25519 edge cases where the native verifier may be stricter than
 * noble's strict mode, never more lenient.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backend, nobleBackend, nodeBackend, type CryptoBackend } from './crypto-backend.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const native = nodeBackend as CryptoBackend;
const both: CryptoBackend[] = [nobleBackend, native];
const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

describe('crypto backend', () => {
  it('is native under Node', () => {
    expect(nodeBackend?.name).toBe('node');
    expect(backend).toBe(nodeBackend);
  });

  it('SHA-256: FIPS 180-4 answers, and identical digests of random parts', () => {
    for (const b of both) {
      expect(toHex(b.sha256(new Uint8Array()))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
      expect(toHex(b.sha256(new TextEncoder().encode('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      expect(toHex(b.sha256(Uint8Array.of(0x61), Uint8Array.of(), Uint8Array.of(0x62, 0x63)))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    }
    for (const size of [0, 1, 31, 55, 56, 63, 64, 65, 1000, 131_185]) {
      const data = random(size);
      const cut = Math.floor(size / 3);
      const out = native.sha256(data);
      expect(out.constructor).toBe(Uint8Array);
      expect(out).toEqual(nobleBackend.sha256(data));
      expect(native.sha256(data.subarray(0, cut), data.subarray(cut))).toEqual(out);
    }
  });

  it('base64: RFC 4648 §10 answers, identical text for random bytes, and the same refusals', () => {
    const rfc4648 = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
    for (const b of both) {
      for (const [text, encoded] of rfc4648) {
        expect(b.base64Encode(new TextEncoder().encode(text))).toBe(encoded);
        expect(new TextDecoder().decode(b.base64Decode(encoded!))).toBe(text);
      }
    }
    for (const size of [0, 1, 2, 3, 4, 5, 31, 32, 33, 64, 4095, 4096, 4097, 131_185]) {
      const data = random(size);
      const text = native.base64Encode(data);
      expect(text).toBe(nobleBackend.base64Encode(data));
      const padded = new Uint8Array(size + 2);
      padded.set(data, 1);
      expect(native.base64Encode(padded.subarray(1, size + 1))).toBe(text); // a view with an offset
      const back = native.base64Decode(text);
      expect(back.constructor).toBe(Uint8Array);
      expect(back).toEqual(data);
      expect(back).toEqual(nobleBackend.base64Decode(text));
    }
    // Not canonical: pad bits, padding, alphabet (incl. base64url), whitespace, stray '='.
    const bad = ['QR==', 'QQ', 'QQ=', 'Q===', 'Q Q==', 'QQ==\n', ' QQ==', '-_8=', 'QQ==QQ==', '=QQ=', 'Zm9v\r\nYmFy', 'Zm8', 'Zm9=', 'Z', 'ä', 'Zm9vYmFy='];
    for (const text of bad) for (const b of both) expect(() => b.base64Decode(text), `${b.name} ${JSON.stringify(text)}`).toThrow();
  });

  // RFC 8032 §7.1, TEST 1–3: secret key, public key, message, signature.
  const rfc8032 = [
    ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
    ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
    ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82',
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
  ] as const;

  it('Ed25519: RFC 8032 §7.1 vectors on both', () => {
    for (const b of both) {
      for (const [sk, pk, msg, sig] of rfc8032) {
        expect(toHex(b.ed25519PublicKey(hex(sk)))).toBe(pk);
        expect(toHex(b.ed25519Sign(hex(msg), hex(sk)))).toBe(sig);
        expect(b.ed25519Verify(hex(sig), hex(msg), hex(pk))).toBe(true);
      }
    }
  });

  it('Ed25519: identical keys and signatures on random inputs; both refuse the same forgeries', () => {
    for (let i = 0; i < 40; i++) {
      const seed = random(32);
      const message = random(i * 7);
      const pk = native.ed25519PublicKey(seed);
      const sig = native.ed25519Sign(message, seed);
      expect(pk).toEqual(nobleBackend.ed25519PublicKey(seed));
      expect(sig).toEqual(nobleBackend.ed25519Sign(message, seed));
      expect(pk.constructor).toBe(Uint8Array);
      expect(sig.constructor).toBe(Uint8Array);
      const flipped = sig.slice();
      flipped[i % 64] = flipped[i % 64]! ^ (1 << i % 8);
      const other = random(32);
      for (const b of both) {
        expect(b.ed25519Verify(sig, message, pk)).toBe(true);
        expect(b.ed25519Verify(flipped, message, pk)).toBe(false);
        expect(b.ed25519Verify(sig, Uint8Array.of(...message, 0), pk)).toBe(false);
        expect(b.ed25519Verify(sig, message, other)).toBe(false);
        expect(b.ed25519Verify(sig.subarray(0, 63), message, pk)).toBe(false);
        expect(b.ed25519Verify(sig, message, pk.subarray(0, 31))).toBe(false);
      }
    }
  });

  it('Ed25519: S + L (malleated S) is refused by both (RFC 8032 §5.1.7 step 1)', () => {
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    const le = (b: Uint8Array): bigint => BigInt(`0x${toHex(b.slice().reverse()) || '0'}`);
    const toLe = (n: bigint): Uint8Array => hex(n.toString(16).padStart(64, '0')).reverse();
    let tested = 0;
    for (let i = 0; tested < 5 && i < 200; i++) {
      const seed = random(32);
      const message = random(16);
      const sig = native.ed25519Sign(message, seed);
      const s = le(sig.subarray(32)) + L;
      if (s >= 1n << 256n) continue;
      const malleated = Uint8Array.of(...sig.subarray(0, 32), ...toLe(s));
      for (const b of both) expect(b.ed25519Verify(malleated, message, native.ed25519PublicKey(seed))).toBe(false);
      tested++;
    }
    expect(tested).toBe(5);
  });

  // Edge cases from "Taming the many EdDSAs" (Chalkias et al., 2020),
  // github.com/novifinancial/ed25519-speccheck cases.json: [message, public key, signature].
  const speccheck = [
    ['8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000'],
    ['9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04'],
    ['aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab', 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e'],
    ['9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79', 'cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d', '9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009'],
    ['e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c', 'cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d', '160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09'],
    ['e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c', 'cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d', '21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405'],
    ['85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40', '442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623', 'e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514'],
    ['85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40', '442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623', '8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22'],
    ['fdaebc429f4a735932a160da1301080c13280eea8bc280d1b392c6b9e6ba3a5a', 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43', 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f454d370c8d9fc323a41450f8d513eafeb5b0697390c1e505a0d4ddc71f566607'],
    ['84b698d39be126ff55fe45079e6c8bf64a0d7db6994560b4e96b7021eb39c1a1', 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43', 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f084d5b99c2a9463d9c8bd5026916996984eeec87ddf1d3be329006ace1b37b09'],
  ] as const;

  it('Ed25519 edge cases: native accepts nothing noble strict refuses (cofactorless, so some mixed-order cases only noble takes)', () => {
    const verdicts = (b: CryptoBackend) => speccheck.map(([m, pk, sig]) => b.ed25519Verify(hex(sig), hex(m), hex(pk)));
    const noble = verdicts(nobleBackend);
    const nat = verdicts(native);
    expect(noble).toEqual([false, false, true, true, true, true, false, false, false, false]);
    expect(nat).toEqual([false, false, false, true, false, false, false, false, false, false]);
    nat.forEach((ok, i) => ok && expect(noble[i]).toBe(true));
  });

  it('Ed25519: a small-order public key or R (any sign bit) is refused natively, whatever OpenSSL would say', () => {
    // Chalkias et al. 2020 §3 / libsodium's blocklist: points of order 1, 2, 4 and 8.
    const small = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ].flatMap((h) => {
      const p = hex(h);
      const signed = p.slice();
      signed[31] = signed[31]! | 0x80;
      return [p, signed];
    });
    const message = Uint8Array.of(7);
    const seed = random(32);
    const pk = native.ed25519PublicKey(seed);
    const sig = native.ed25519Sign(message, seed);
    expect(native.ed25519Verify(sig, message, pk)).toBe(true);
    for (const p of small) {
      // R = a small-order point, S = 0 verifies under a small-order key in the cofactored equation.
      expect(native.ed25519Verify(Uint8Array.of(...p, ...new Uint8Array(32)), message, p)).toBe(false);
      expect(native.ed25519Verify(sig, message, p)).toBe(false);
      expect(native.ed25519Verify(Uint8Array.of(...p, ...sig.subarray(32)), message, pk)).toBe(false);
    }
    // Not bytes: false, never a UTF-8 reading of a string.
    expect(native.ed25519Verify(sig, 'x' as unknown as Uint8Array, pk)).toBe(false);
  });

  it('Ed25519: a non-canonical encoding of the public key or of R is refused by both', () => {
    // y = p + 1 ≡ 1 (the neutral element), with and without the sign bit: a "key" anyone can sign for.
    const nonCanonical = hex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    const sig = native.ed25519Sign(Uint8Array.of(1), random(32));
    for (const b of both) {
      expect(b.ed25519Verify(sig, Uint8Array.of(1), nonCanonical)).toBe(false);
      expect(b.ed25519Verify(Uint8Array.of(...nonCanonical, ...sig.subarray(32)), Uint8Array.of(1), native.ed25519PublicKey(random(32)))).toBe(false);
    }
  });

  it('X25519: RFC 7748 §5.2 and §6.1 vectors, random pairs, and the same refusal of small-order keys', () => {
    const vectors = [
      ['a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4', 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c', 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552'],
      ['77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'],
    ];
    for (const b of both) for (const [k, u, out] of vectors) expect(toHex(b.x25519(hex(k!), hex(u!)))).toBe(out);
    for (let i = 0; i < 40; i++) {
      const sk = random(32);
      const pk = random(32); // any u, top bit included (RFC 7748 §5: masked)
      const out = native.x25519(sk, pk);
      expect(out.constructor).toBe(Uint8Array);
      expect(out).toEqual(nobleBackend.x25519(sk, pk));
    }
    // RFC 7748 §5: non-canonical u (p + d) is reduced mod p, identically on both.
    const p = (1n << 255n) - 19n;
    const le = (n: bigint): Uint8Array => hex(n.toString(16).padStart(64, '0')).reverse();
    for (let d = 2n; d <= 18n; d++) {
      const sk = random(32);
      const expected = nobleBackend.x25519(sk, le(d));
      for (const b of both) expect(b.x25519(sk, le(p + d))).toEqual(expected);
    }
    const smallOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000', '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ];
    for (const u of smallOrder) {
      for (const top of [0, 0x80]) {
        const key = hex(u);
        key[31] = key[31]! | top;
        for (const b of both) expect(() => b.x25519(random(32), key)).toThrow();
      }
    }
  });
});
