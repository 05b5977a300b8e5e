/**
 * Unit tests of the BFV layer (params, keys, cipher). Oracles: BigInt arithmetic modulo t
 * written here, node:crypto SHA-256, and the SEAL serialization layout (a 16-byte SEALHeader,
 * the ciphertext metadata, then 2 × 8192 little-endian 64-bit coefficients < 2^60).
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { PublicKey } from 'node-seal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeMaterialError } from '../errors.ts';
import { toBase64 } from '../internal/bytes.ts';
import { addCiphertexts, decryptSlots, encryptSlots, loadCiphertext } from './cipher.ts';
import { exportKeyPair, generateHeKeyPair, heKeyId, importKeyPair, loadPublicKey, loadSecretKey, type HeKeyPair } from './keys.ts';
import { heParameters, loadHe } from './params.ts';

const N = 8192;
/** Byte offsets in a serialized protocol ciphertext (SEAL 4.1, compression none). */
const IS_NTT_FORM_OFFSET = 48;
const COEFFS_OFFSET = 113;
const MAX_CIPHERTEXT_BYTES = 150_000;

let t: bigint;
let pair: HeKeyPair;
let other: HeKeyPair;
let pk: PublicKey;

beforeAll(async () => {
  t = (await loadHe()).plainModulus;
  pair = await generateHeKeyPair();
  other = await generateHeKeyPair();
  pk = await loadPublicKey(pair.publicKey);
}, 30_000);

afterAll(() => {
  pk?.delete();
});

/** Miller–Rabin with the first 12 prime bases: deterministic below 3.3 · 10^24. */
function isPrime(n: bigint): boolean {
  if (n < 2n) return false;
  const bases = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n];
  for (const p of bases) if (n % p === 0n) return n === p;
  let d = n - 1n;
  let s = 0;
  while (d % 2n === 0n) {
    d /= 2n;
    s++;
  }
  const powMod = (b: bigint, e: bigint, m: bigint): bigint => {
    let r = 1n;
    b %= m;
    while (e > 0n) {
      if (e & 1n) r = (r * b) % m;
      b = (b * b) % m;
      e >>= 1n;
    }
    return r;
  };
  outer: for (const a of bases) {
    let x = powMod(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    for (let i = 1; i < s; i++) {
      x = (x * x) % n;
      if (x === n - 1n) continue outer;
    }
    return false;
  }
  return true;
}

/** A full 8192-slot vector of pseudo-random residues in [0, t), from a 32-bit seed (xorshift32). */
function pseudoRandomSlots(seed: number, mode: 'uniform' | 'high' | 'low', mod: bigint): BigUint64Array {
  let x = seed >>> 0 || 0x9e3779b9;
  const next = (): bigint => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return BigInt(x);
  };
  const out = new BigUint64Array(N);
  for (let i = 0; i < N; i++) {
    const r = (next() << 32n) | next();
    out[i] = mode === 'uniform' ? r % mod : mode === 'high' ? mod - 1n - (r % 1000n) : r % 1000n;
  }
  return out;
}

function expectHeError(error: unknown, code: string): void {
  expect(error).toBeInstanceOf(HeMaterialError);
  expect((error as HeMaterialError).code).toBe(code);
}

async function refusal(p: Promise<unknown>): Promise<unknown> {
  try {
    const value = await p;
    if (value && typeof (value as { delete?: unknown }).delete === 'function') (value as { delete(): void }).delete();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal, got a value');
}

describe('protocol parameters', () => {
  it('t is a 40-bit prime with t ≡ 1 (mod 2N), and 8192 slots', async () => {
    const he = await loadHe();
    expect(he.slotCount).toBe(N);
    expect(t >= 1n << 39n && t < 1n << 40n).toBe(true);
    expect(t % (2n * BigInt(N))).toBe(1n);
    expect(isPrime(t)).toBe(true);
  });

  it('heParameters publishes the same parameters', async () => {
    expect(await heParameters()).toEqual({ scheme: 'bfv', polyModulusDegree: 8192, plainModulus: t.toString(), coeffModulusBits: [60, 60] });
  });
});

describe('keys', () => {
  it('keyId is the lowercase hex SHA-256 of the serialized public key', () => {
    const want = createHash('sha256').update(pair.publicKey).digest('hex');
    expect(pair.keyId).toBe(want);
    expect(heKeyId(pair.publicKey)).toBe(want);
    expect(pair.keyId).not.toBe(other.keyId);
  });

  it('exportKeyPair → importKeyPair round-trips', () => {
    const back = importKeyPair(exportKeyPair(pair));
    expect(back.keyId).toBe(pair.keyId);
    expect(Buffer.from(back.publicKey).equals(Buffer.from(pair.publicKey))).toBe(true);
    expect(Buffer.from(back.secretKey).equals(Buffer.from(pair.secretKey))).toBe(true);
  });

  it('exportKeyPair writes standard base64 of both halves', () => {
    const json = JSON.parse(exportKeyPair(pair)) as Record<string, unknown>;
    expect(json).toEqual({
      keyId: pair.keyId,
      publicKey: Buffer.from(pair.publicKey).toString('base64'),
      secretKey: Buffer.from(pair.secretKey).toString('base64'),
    });
  });

  it('importKeyPair without keyId recomputes it', () => {
    const json = JSON.stringify({ publicKey: toBase64(pair.publicKey), secretKey: toBase64(pair.secretKey) });
    expect(importKeyPair(json).keyId).toBe(createHash('sha256').update(pair.publicKey).digest('hex'));
  });

  const publicB64 = (): string => toBase64(pair.publicKey);
  const secretB64 = (): string => toBase64(pair.secretKey);
  it.each([
    ['keyId of another key', { given: () => JSON.stringify({ keyId: other.keyId, publicKey: publicB64(), secretKey: secretB64() }), want: 'invalid_secret_key' }],
    ['keyId of the right key with the other public key', { given: () => JSON.stringify({ keyId: pair.keyId, publicKey: toBase64(other.publicKey), secretKey: secretB64() }), want: 'invalid_secret_key' }],
    ['keyId in upper case', { given: () => JSON.stringify({ keyId: pair.keyId.toUpperCase(), publicKey: publicB64(), secretKey: secretB64() }), want: 'invalid_secret_key' }],
    ['not JSON', { given: () => '{"keyId":', want: 'invalid_secret_key' }],
    ['missing secretKey', { given: () => JSON.stringify({ keyId: pair.keyId, publicKey: publicB64() }), want: 'invalid_secret_key' }],
    ['publicKey not a string', { given: () => JSON.stringify({ publicKey: 5, secretKey: secretB64() }), want: 'invalid_secret_key' }],
    ['a JSON array', { given: () => '[]', want: 'invalid_secret_key' }],
  ])('importKeyPair refuses %s', (_name, { given, want }) => {
    let error: unknown;
    try {
      importKeyPair(given());
    } catch (e) {
      error = e;
    }
    expectHeError(error, want);
  });

  it('importKeyPair refuses the JSON literal null with invalid_secret_key', () => {
    let error: unknown;
    try {
      importKeyPair('null');
    } catch (e) {
      error = e;
    }
    expectHeError(error, 'invalid_secret_key');
  });

  it('importKeyPair refuses a key file whose publicKey is not base64 with invalid_secret_key', () => {
    let error: unknown;
    try {
      importKeyPair(JSON.stringify({ publicKey: 'not base64!', secretKey: toBase64(pair.secretKey) }));
    } catch (e) {
      error = e;
    }
    expectHeError(error, 'invalid_secret_key');
  });

  it('loadPublicKey accepts a generated public key', async () => {
    const key = await loadPublicKey(other.publicKey);
    key.delete();
  });

  it.each([
    ['empty bytes', { given: () => new Uint8Array(0) }],
    ['100 zero bytes', { given: () => new Uint8Array(100) }],
    ['a truncated public key', { given: () => pair.publicKey.subarray(0, pair.publicKey.length - 1) }],
    ['the first kilobyte of a public key', { given: () => pair.publicKey.subarray(0, 1000) }],
    ['a secret key', { given: () => pair.secretKey }],
  ])('loadPublicKey refuses %s with invalid_public_key', async (_name, { given }) => {
    expectHeError(await refusal(loadPublicKey(given())), 'invalid_public_key');
  });

  it('loadPublicKey refuses a protocol ciphertext with invalid_public_key', async () => {
    const ct = await encryptSlots(pk, BigUint64Array.from([1n, 2n, 3n]));
    expectHeError(await refusal(loadPublicKey(ct)), 'invalid_public_key');
  });

  it('loadPublicKey refuses random bytes with invalid_public_key (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => {
        expectHeError(await refusal(loadPublicKey(bytes)), 'invalid_public_key');
      }),
      { numRuns: 50 },
    );
  });

  it.each([
    ['random bytes', { given: () => Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff) }],
    ['a public key', { given: () => pair.publicKey }],
    ['a truncated secret key', { given: () => pair.secretKey.subarray(0, 2000) }],
  ])('loadSecretKey refuses %s with invalid_secret_key', async (_name, { given }) => {
    expectHeError(await refusal(loadSecretKey(given())), 'invalid_secret_key');
  });
});

describe('encrypt / decrypt', () => {
  it('round-trips edge residues and pads the rest with zeros', async () => {
    const half = (t - 1n) / 2n;
    const given = [0n, 1n, 2n, half, half + 1n, t - 2n, t - 1n, 123_456_789n];
    const ct = await encryptSlots(pk, BigUint64Array.from(given));
    const got = await decryptSlots(pair.secretKey, ct);
    expect(got.length).toBe(N);
    expect([...got.subarray(0, given.length)]).toEqual(given);
    expect(got.subarray(given.length).every((v) => v === 0n)).toBe(true);
  });

  it('round-trips a full random vector (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.constantFrom('uniform', 'high', 'low') as fc.Arbitrary<'uniform' | 'high' | 'low'>, async (seed, mode) => {
        const slots = pseudoRandomSlots(seed, mode, t);
        const got = await decryptSlots(pair.secretKey, await encryptSlots(pk, slots));
        expect(got).toEqual(slots);
      }),
      { numRuns: 3 },
    );
  });

  it(`a serialized ciphertext is at most ${MAX_CIPHERTEXT_BYTES} bytes`, async () => {
    const ct = await encryptSlots(pk, pseudoRandomSlots(7, 'uniform', t));
    expect(ct.length).toBeLessThanOrEqual(MAX_CIPHERTEXT_BYTES);
    // Two polynomials of 8192 64-bit coefficients are the bulk of it.
    expect(ct.length).toBeGreaterThanOrEqual(2 * N * 8);
  });

  it('encryption is randomized: two encryptions of the same vector differ', async () => {
    const slots = BigUint64Array.from([42n]);
    const a = await encryptSlots(pk, slots);
    const b = await encryptSlots(pk, slots);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it('refuses more than 8192 slots with a RangeError', async () => {
    await expect(encryptSlots(pk, new BigUint64Array(N + 1))).rejects.toBeInstanceOf(RangeError);
  });

  it('decrypting under another secret key does not reveal the plaintext', async () => {
    const slots = pseudoRandomSlots(99, 'low', t);
    const ct = await encryptSlots(pk, slots);
    let got: BigUint64Array | undefined;
    try {
      got = await decryptSlots(other.secretKey, ct);
    } catch (error) {
      expectHeError(error, 'invalid_ciphertext');
    }
    if (got) expect(got).not.toEqual(slots);
  });
});

describe('homomorphic addition', () => {
  it('the sum of 3–5 ciphertexts decrypts to the slot-wise sum mod t (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ seed: fc.integer(), mode: fc.constantFrom('uniform', 'high', 'low') as fc.Arbitrary<'uniform' | 'high' | 'low'> }), { minLength: 3, maxLength: 5 }),
        async (inputs) => {
          const vectors = inputs.map(({ seed, mode }) => pseudoRandomSlots(seed, mode, t));
          const cts = await Promise.all(vectors.map((v) => encryptSlots(pk, v)));
          const sum = await addCiphertexts(cts);
          expect(sum.length).toBeLessThanOrEqual(MAX_CIPHERTEXT_BYTES);
          const got = await decryptSlots(pair.secretKey, sum);
          const want = new BigUint64Array(N);
          for (let i = 0; i < N; i++) want[i] = vectors.reduce((acc, v) => acc + v[i]!, 0n) % t;
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 3 },
    );
  });

  it('wraps modulo t: (t−1) + (t−1) + 5 = 3', async () => {
    const cts = await Promise.all([[t - 1n], [t - 1n], [5n]].map((v) => encryptSlots(pk, BigUint64Array.from(v))));
    const got = await decryptSlots(pair.secretKey, await addCiphertexts(cts));
    expect(got[0]).toBe(3n);
  });

  it('adding a single ciphertext returns an equivalent ciphertext', async () => {
    const ct = await encryptSlots(pk, BigUint64Array.from([7n, 8n]));
    const got = await decryptSlots(pair.secretKey, await addCiphertexts([ct]));
    expect([...got.subarray(0, 3)]).toEqual([7n, 8n, 0n]);
  });

  it('refuses an empty list with a RangeError', async () => {
    await expect(addCiphertexts([])).rejects.toBeInstanceOf(RangeError);
  });

  it('refuses a malformed operand with invalid_ciphertext', async () => {
    const ct = await encryptSlots(pk, BigUint64Array.from([1n]));
    expectHeError(await refusal(addCiphertexts([ct, ct.subarray(0, 1000)])), 'invalid_ciphertext');
  });
});

describe('loadCiphertext refuses tampered material', () => {
  let ct: Uint8Array;
  beforeAll(async () => {
    ct = await encryptSlots(pk, pseudoRandomSlots(3, 'uniform', t));
  });

  const flipped = (at: (n: number) => number, mask = 0xff) => (bytes: Uint8Array): Uint8Array => {
    const out = bytes.slice();
    out[at(bytes.length)]! ^= mask;
    return out;
  };

  it('accepts the untouched ciphertext', async () => {
    (await loadCiphertext(ct)).delete();
  });

  it.each([
    ['magic byte 0', { given: flipped(() => 0) }],
    ['magic byte 1', { given: flipped(() => 1) }],
    ['header size', { given: flipped(() => 2) }],
    ['version major', { given: flipped(() => 3) }],
    ['compression mode', { given: flipped(() => 5) }],
    ['declared size', { given: flipped(() => 8) }],
    ['parms_id', { given: flipped(() => 20) }],
    ['component count', { given: flipped(() => 49) }],
    ['poly modulus degree', { given: flipped(() => 58) }],
    ['top byte of the first coefficient', { given: flipped(() => COEFFS_OFFSET + 7) }],
    ['top byte of the last coefficient', { given: flipped((n) => n - 1) }],
    ['truncated by one byte', { given: (b: Uint8Array) => b.subarray(0, b.length - 1) }],
    ['truncated to half', { given: (b: Uint8Array) => b.subarray(0, b.length >> 1) }],
    ['truncated to the header', { given: (b: Uint8Array) => b.subarray(0, 16) }],
    ['empty', { given: () => new Uint8Array(0) }],
    ['a public key', { given: () => pair.publicKey }],
    ['a secret key', { given: () => pair.secretKey }],
  ])('%s → invalid_ciphertext', async (_name, { given }) => {
    expectHeError(await refusal(loadCiphertext(given(ct))), 'invalid_ciphertext');
  });

  it('refuses random bytes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => {
        expectHeError(await refusal(loadCiphertext(bytes)), 'invalid_ciphertext');
      }),
      { numRuns: 50 },
    );
  });

  it('refuses a valid header followed by random coefficient words (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), async (seed) => {
        const bad = ct.slice();
        const words = pseudoRandomSlots(seed, 'uniform', 1n << 64n);
        new Uint8Array(bad.buffer, COEFFS_OFFSET, 2 * N * 8).set(new Uint8Array(words.buffer));
        expectHeError(await refusal(loadCiphertext(bad)), 'invalid_ciphertext');
      }),
      { numRuns: 5 },
    );
  });

  it('refuses a 3-component ciphertext (a product) with invalid_ciphertext', async () => {
    const he = await loadHe();
    const a = await loadCiphertext(ct);
    const product = new he.seal.Ciphertext();
    try {
      he.evaluator.multiply(a, a, product);
      expect(product.size()).toBe(3);
      const bytes = new Uint8Array(product.saveToArray(he.seal.ComprModeType.none));
      expectHeError(await refusal(loadCiphertext(bytes)), 'invalid_ciphertext');
    } finally {
      product.delete();
      a.delete();
    }
  });

  it('decryptSlots refuses in-range garbage coefficients (no noise budget) with invalid_ciphertext', async () => {
    // Every coefficient < 2^59 < q, so SEAL loads it, but it is no encryption of anything.
    const bad = ct.slice();
    const words = pseudoRandomSlots(12345, 'uniform', 1n << 59n);
    new Uint8Array(bad.buffer, COEFFS_OFFSET, 2 * N * 8).set(new Uint8Array(words.buffer));
    (await loadCiphertext(bad)).delete();
    expectHeError(await refusal(decryptSlots(pair.secretKey, bad)), 'invalid_ciphertext');
  });

  // A header byte marks NTT form; BFV ciphertexts never are, and SEAL aborts on one in add/decrypt.
  it('refuses a ciphertext flagged as NTT form with invalid_ciphertext', async () => {
    const bad = ct.slice();
    bad[IS_NTT_FORM_OFFSET] = 1;
    expectHeError(await refusal(loadCiphertext(bad)), 'invalid_ciphertext');
  });

  it('addCiphertexts refuses an NTT-form operand with invalid_ciphertext', async () => {
    const bad = ct.slice();
    bad[IS_NTT_FORM_OFFSET] = 1;
    expectHeError(await refusal(addCiphertexts([ct, bad])), 'invalid_ciphertext');
  });
});
