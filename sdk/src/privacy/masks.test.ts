import { createHmac, createPrivateKey, createPublicKey, diffieHellman, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { addMask, deriveMask, derivePairKey, MASK_DOMAIN } from './masks.ts';
import type { DeriveMaskOptions, MaskPeer } from './masks.ts';
import { generateMaskKeyPair, maskPublicKey, x25519SharedSecret } from './x25519-keys.ts';
import type { MaskKeyPair } from './x25519-keys.ts';

/** The protocol's BFV plain modulus (see protocol/plan.test.ts). */
const T = 1099511480321n;
const SMALL_T = 65537n;
const SLOTS = 8192;

interface Party extends MaskKeyPair {
  id: string;
}

/** Deliberately not in sorted order, so the sign logic is exercised. */
const IDS = ['node-delta', 'node-alpha', 'node-charlie', 'node-bravo', 'node-foxtrot', 'node-echo'];

function randomParties(n: number): Party[] {
  return IDS.slice(0, n).map((id) => ({ id, ...generateMaskKeyPair() }));
}

/** Fixed keys (SHA-256 of a label) so the statistical tests are deterministic, not flaky. */
function fixedParties(n: number, label = 'veilgate-mask-test'): Party[] {
  return IDS.slice(0, n).map((id) => {
    const secretKey = sha256(new TextEncoder().encode(`${label}/${id}`));
    return { id, secretKey, publicKey: maskPublicKey(secretKey) };
  });
}

type Common = Omit<DeriveMaskOptions, 'self' | 'secretKey' | 'peers' | 'participants'>;

function maskOf(party: Party, parties: Party[], common: Common): BigUint64Array {
  const peers: MaskPeer[] = parties.filter((p) => p.id !== party.id).map((p) => ({ id: p.id, publicKey: p.publicKey }));
  return deriveMask({ ...common, self: party.id, secretKey: party.secretKey, peers, participants: parties.map((p) => p.id) });
}

function masksOf(parties: Party[], common: Common): BigUint64Array[] {
  return parties.map((p) => maskOf(p, parties, common));
}

function sumMod(vectors: BigUint64Array[], t: bigint): bigint[] {
  const out = new Array<bigint>(vectors[0]!.length).fill(0n);
  for (const v of vectors) for (let i = 0; i < v.length; i++) out[i] = (out[i]! + v[i]!) % t;
  return out;
}

function equalSlots(a: BigUint64Array, b: BigUint64Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

/** χ²(15) upper 0.1% point: P(χ²_15 > 37.697) = 0.001 (standard table; 16 bins → 15 d.o.f.). */
const CHI2_15_CRIT_0_001 = 37.697;
/** Asymptotic Kolmogorov critical value at α = 0.001: sqrt(−ln(α/2)/2) ≈ 1.9495, divided by √n. */
const KS_C_0_001 = Math.sqrt(-Math.log(0.001 / 2) / 2);
const KS_BITS = 20n;

/**
 * Pearson χ² over 16 equal-width bins of [0, t): bin(v) = ⌊16v/t⌋, so bin k holds the integers in
 * [⌈kt/16⌉, ⌈(k+1)t/16⌉), and its expected share is exactly that count over t.
 */
function chiSquare16(values: Iterable<bigint>, t: bigint): number {
  const counts = new Array<number>(16).fill(0);
  let n = 0;
  for (const v of values) {
    counts[Number((v * 16n) / t)]!++;
    n++;
  }
  const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;
  let chi2 = 0;
  for (let k = 0; k < 16; k++) {
    const width = ceilDiv(BigInt(k + 1) * t, 16n) - ceilDiv(BigInt(k) * t, 16n);
    const expected = (n * Number(width)) / Number(t);
    chi2 += (counts[k]! - expected) ** 2 / expected;
  }
  return chi2;
}

/**
 * Kolmogorov–Smirnov statistic D of the top KS_BITS bits of v/t against the uniform CDF. The
 * discretisation moves the CDF by at most 2^-20, far below the ~0.011 critical value at n = 32768.
 */
function ksTopBits(values: Iterable<bigint>, t: bigint): { d: number; critical: number } {
  const xs: number[] = [];
  for (const v of values) xs.push(Number((v << KS_BITS) / t) / 2 ** Number(KS_BITS));
  const sorted = Float64Array.from(xs).sort();
  const n = sorted.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const u = sorted[i]!;
    d = Math.max(d, (i + 1) / n - u, u - i / n);
  }
  return { d, critical: KS_C_0_001 / Math.sqrt(n) };
}

function* flatten(vectors: BigUint64Array[]): Generator<bigint> {
  for (const v of vectors) yield* v;
}

/** Uniform 64-bit words from SHA-256 in counter mode (deterministic), for the negative controls. */
function* sha256Words(seed: string, count: number): Generator<bigint> {
  for (let block = 0, produced = 0; produced < count; block++) {
    const out = createHash('sha256').update(`${seed}/${block}`).digest();
    for (let off = 0; off < 32 && produced < count; off += 8, produced++) yield out.readBigUInt64BE(off);
  }
}

/** A fixed, realistic slot vector: small counts and sums, mostly zero. */
function fixedValues(slots: number, t: bigint): BigUint64Array {
  const v = new BigUint64Array(slots);
  for (let i = 0; i < slots; i++) v[i] = i % 7 === 0 ? BigInt(i * 31) % t : 0n;
  return v;
}

// ---------------------------------------------------------------------------------------------

describe('X25519 keys (RFC 7748)', () => {
  it('matches the RFC 7748 §6.1 test vector', () => {
    const aliceSk = hexToBytes('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bobSk = hexToBytes('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const alicePk = maskPublicKey(aliceSk);
    const bobPk = maskPublicKey(bobSk);
    expect(bytesToHex(alicePk)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(bytesToHex(bobPk)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(bytesToHex(x25519SharedSecret(aliceSk, bobPk))).toBe(k);
    expect(bytesToHex(x25519SharedSecret(bobSk, alicePk))).toBe(k);
  });

  it('generates distinct 32-byte key pairs whose public key matches maskPublicKey', () => {
    const a = generateMaskKeyPair();
    const b = generateMaskKeyPair();
    expect(a.secretKey).toHaveLength(32);
    expect(a.publicKey).toHaveLength(32);
    expect(maskPublicKey(a.secretKey)).toEqual(a.publicKey);
    expect(bytesToHex(a.secretKey)).not.toBe(bytesToHex(b.secretKey));
  });

  it('refuses keys of the wrong length', () => {
    expect(() => maskPublicKey(new Uint8Array(31))).toThrow(TypeError);
    expect(() => x25519SharedSecret(new Uint8Array(32), new Uint8Array(33))).toThrow(TypeError);
  });
});

describe('small-order public keys (RFC 7748 §6.1)', () => {
  // u-coordinates of points of order 1, 2, 4 and 8 (cr.yp.to/ecdh.html#validate); all force K = 0.
  const lowOrder = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ];

  it.each(lowOrder)('refuses %s in x25519SharedSecret and deriveMask, without key bytes in the message', (hex) => {
    const me = fixedParties(1)[0]!;
    const bad = hexToBytes(hex);
    const secretHex = bytesToHex(me.secretKey);
    const check = (fn: () => unknown): void => {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(Error);
      const message = (error as Error).message;
      expect(message).toMatch(/small order/);
      expect(message.toLowerCase()).not.toContain(secretHex);
      expect(message.toLowerCase()).not.toContain(secretHex.slice(0, 16));
      if (hex !== lowOrder[0]) expect(message.toLowerCase()).not.toContain(hex.slice(0, 16));
    };
    check(() => x25519SharedSecret(me.secretKey, bad));
    check(() =>
      deriveMask({
        self: me.id,
        secretKey: me.secretKey,
        peers: [{ id: 'evil', publicKey: bad }],
        queryId: 'q',
        participants: [me.id, 'evil'],
        ciphertextIndex: 0,
        slots: 8,
        plainModulus: T,
      }),
    );
  });
});

describe('deriveMask: cancellation', () => {
  for (const t of [T, SMALL_T]) {
    for (let n = 2; n <= 6; n++) {
      it(`${n} participants, t = ${t}: masks sum to 0 mod t in every slot`, () => {
        const parties = randomParties(n);
        const slots = n === 6 ? SLOTS : 1024;
        for (const ciphertextIndex of [0, 1, 5]) {
          const masks = masksOf(parties, { queryId: 'q-2026-001', ciphertextIndex, slots, plainModulus: t });
          for (const m of masks) {
            expect(m).toHaveLength(slots);
            for (const v of m) expect(v < t).toBe(true);
            expect(equalSlots(m, new BigUint64Array(slots))).toBeLessThan(slots / 100); // not the zero vector
          }
          const sum = sumMod(masks, t);
          expect(sum.every((s) => s === 0n)).toBe(true);
        }
      });
    }
  }

  it('masked contributions sum to the true aggregate', () => {
    const parties = randomParties(4);
    const common = { queryId: 'q-sum', ciphertextIndex: 0, slots: 256, plainModulus: T };
    const values = parties.map((_, k) => BigUint64Array.from({ length: 256 }, (_, i) => BigInt(i * (k + 1))));
    const masked = parties.map((p, k) => addMask(values[k]!, maskOf(p, parties, common), T));
    const total = sumMod(masked, T);
    expect(total).toEqual(Array.from({ length: 256 }, (_, i) => BigInt(i * (1 + 2 + 3 + 4))));
  });
});

describe('deriveMask: determinism and separation', () => {
  const parties = fixedParties(3);
  const common = { queryId: 'q1', ciphertextIndex: 0, slots: 1024, plainModulus: T };
  const [a, b, c] = parties as [Party, Party, Party];

  it('same inputs give the same mask, whatever the order of peers and participants', () => {
    const m1 = maskOf(a, parties, common);
    const m2 = maskOf(a, [...parties].reverse(), common);
    expect(m2).toEqual(m1);
    expect(maskOf(a, parties, common)).toEqual(m1);
  });

  it('the pair key is symmetric, and both ends derive the same pairwise stream', () => {
    const participants = [a.id, b.id, c.id];
    const kab = derivePairKey({ secretKey: a.secretKey, peerPublicKey: b.publicKey, queryId: 'q1', participants });
    const kba = derivePairKey({ secretKey: b.secretKey, peerPublicKey: a.publicKey, queryId: 'q1', participants: [...participants].reverse() });
    expect(kab).toHaveLength(32);
    expect(bytesToHex(kba)).toBe(bytesToHex(kab));
    const kac = derivePairKey({ secretKey: a.secretKey, peerPublicKey: c.publicKey, queryId: 'q1', participants });
    expect(bytesToHex(kac)).not.toBe(bytesToHex(kab));
    // Two participants: each mask is ± the single pair stream, so they are exact negatives.
    const pair = [a, b];
    const ma = maskOf(a, pair, common);
    const mb = maskOf(b, pair, common);
    for (let i = 0; i < ma.length; i++) expect((ma[i]! + mb[i]!) % T).toBe(0n);
  });

  it('masks differ per queryId, per ciphertextIndex and per participant set', () => {
    const base = maskOf(a, parties, common);
    expect(equalSlots(base, maskOf(a, parties, { ...common, queryId: 'q2' }))).toBe(0);
    expect(equalSlots(base, maskOf(a, parties, { ...common, ciphertextIndex: 1 }))).toBe(0);
    // Changing the set changes every pair key (the set is in the HKDF salt), not just the new pair.
    const d = fixedParties(4)[3]!;
    const k3 = derivePairKey({ secretKey: a.secretKey, peerPublicKey: b.publicKey, queryId: 'q1', participants: [a.id, b.id, c.id] });
    const k4 = derivePairKey({ secretKey: a.secretKey, peerPublicKey: b.publicKey, queryId: 'q1', participants: [a.id, b.id, c.id, d.id] });
    expect(bytesToHex(k4)).not.toBe(bytesToHex(k3));
    expect(equalSlots(maskOf(a, [a, b], common), maskOf(a, [a, b, c], common))).toBe(0);
    const mabd = maskOf(a, [a, b, d], common);
    expect(equalSlots(maskOf(a, [a, b, c], common), mabd)).toBe(0);
  });

  it('matches an independent implementation of the documented construction (node:crypto)', () => {
    // Z via node's X25519, HKDF-Extract = HMAC(salt, IKM) (RFC 5869 §2.2), stream = HMAC(prk, info ‖ u32be(i)).
    const jwk = (p: Party) => ({ kty: 'OKP', crv: 'X25519', x: Buffer.from(p.publicKey).toString('base64url') });
    const z = diffieHellman({
      privateKey: createPrivateKey({ key: { ...jwk(a), d: Buffer.from(a.secretKey).toString('base64url') }, format: 'jwk' }),
      publicKey: createPublicKey({ key: jwk(b), format: 'jwk' }),
    });
    const [lo, hi] = a.id < b.id ? [a.id, b.id] : [b.id, a.id];
    const salt = createHash('sha256').update(`{"participants":${JSON.stringify([lo, hi])},"queryId":"q-kat"}`).digest();
    const prk = createHmac('sha256', salt).update(z).digest();
    const info = `{"ciphertextIndex":3,"domain":"${MASK_DOMAIN}","pair":${JSON.stringify([lo, hi])}}`;
    const t = 65537n;
    const limit = ((1n << 64n) / t) * t;
    const stream: bigint[] = [];
    for (let i = 0; stream.length < 64; i++) {
      const ctr = Buffer.alloc(4);
      ctr.writeUInt32BE(i);
      const block = createHmac('sha256', prk).update(info).update(ctr).digest();
      for (let off = 0; off < 32 && stream.length < 64; off += 8) {
        const w = block.readBigUInt64BE(off);
        if (w < limit) stream.push(w % t);
      }
    }
    const m = maskOf(a, [a, b], { queryId: 'q-kat', ciphertextIndex: 3, slots: 64, plainModulus: t });
    const sign = a.id < b.id ? 1n : -1n;
    expect(Array.from(m)).toEqual(stream.map((r) => (((sign * r) % t) + t) % t));
  });
});

describe('deriveMask: validation', () => {
  const parties = fixedParties(3);
  const [a, b, c] = parties as [Party, Party, Party];
  const peers = [b, c].map((p) => ({ id: p.id, publicKey: p.publicKey }));
  const ok: DeriveMaskOptions = {
    self: a.id,
    secretKey: a.secretKey,
    peers,
    queryId: 'q',
    participants: [a.id, b.id, c.id],
    ciphertextIndex: 0,
    slots: 8,
    plainModulus: T,
  };
  const secretHex = bytesToHex(a.secretKey);

  it.each<[string, Partial<DeriveMaskOptions>, ErrorConstructor]>([
    ['participants without self', { participants: [b.id, c.id] }, TypeError],
    ['participants with an extra id', { participants: [a.id, b.id, c.id, 'node-x'] }, TypeError],
    ['participants missing a peer', { participants: [a.id, b.id] }, TypeError],
    ['duplicate participant ids', { participants: [a.id, b.id, c.id, b.id] }, TypeError],
    ['duplicate peer ids', { peers: [...peers, { id: b.id, publicKey: c.publicKey }] }, TypeError],
    ['self among the peers', { peers: [...peers, { id: a.id, publicKey: a.publicKey }], participants: [a.id, b.id, c.id] }, TypeError],
    ['a 31-byte peer key', { peers: [{ id: b.id, publicKey: new Uint8Array(31) }, peers[1]!] }, TypeError],
    ['a 31-byte secret key', { secretKey: a.secretKey.subarray(0, 31) }, TypeError],
    ['an empty id', { self: '' }, TypeError],
    ['a lone participant', { peers: [], participants: [a.id] }, RangeError],
    ['a negative ciphertextIndex', { ciphertextIndex: -1 }, RangeError],
    ['zero slots', { slots: 0 }, RangeError],
    ['fractional slots', { slots: 1.5 }, RangeError],
    ['t = 1', { plainModulus: 1n }, RangeError],
    ['t > 2^64', { plainModulus: (1n << 64n) + 1n }, RangeError],
  ])('refuses %s', (_, patch, kind) => {
    let error: unknown;
    try {
      deriveMask({ ...ok, ...patch });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(kind);
    expect((error as Error).message.toLowerCase()).not.toContain(secretHex.slice(0, 16));
  });

  it('accepts the valid baseline', () => {
    expect(deriveMask(ok)).toHaveLength(8);
  });
});

describe('addMask', () => {
  it('adds mod t into a new array', () => {
    const values = new BigUint64Array([5n, 6n, 0n]);
    const out = addMask(values, new BigUint64Array([10n, 0n, 10n]), 11n);
    expect(Array.from(out)).toEqual([4n, 6n, 10n]);
    expect(out).not.toBe(values);
    expect(Array.from(values)).toEqual([5n, 6n, 0n]);
  });

  it('works up to t = 2^64', () => {
    const t = 1n << 64n;
    expect(Array.from(addMask(new BigUint64Array([t - 1n]), new BigUint64Array([2n]), t))).toEqual([1n]);
  });

  it('refuses mismatched lengths and unreduced inputs', () => {
    expect(() => addMask(new BigUint64Array(2), new BigUint64Array(3), T)).toThrow(RangeError);
    expect(() => addMask(new BigUint64Array([11n]), new BigUint64Array([0n]), 11n)).toThrow(RangeError);
    expect(() => addMask(new BigUint64Array([0n]), new BigUint64Array([11n]), 11n)).toThrow(RangeError);
  });
});

describe('uniformity of one masked contribution (statistical, α = 0.001)', () => {
  // Fixed keys: these are deterministic, so they cannot flake; the negative controls below show
  // the same tests do reject non-uniform data of the same size.
  const CIPHERTEXTS = 4;

  function maskedContribution(t: bigint): BigUint64Array[] {
    const parties = fixedParties(3);
    const me = parties[1]!;
    const values = fixedValues(SLOTS, t);
    return Array.from({ length: CIPHERTEXTS }, (_, ciphertextIndex) =>
      addMask(values, maskOf(me, parties, { queryId: 'q-uniform', ciphertextIndex, slots: SLOTS, plainModulus: t }), t),
    );
  }

  for (const t of [T, SMALL_T]) {
    it(`masked slots look uniform on [0, t) for t = ${t}: χ² over 16 bins and KS on the top bits`, () => {
      const masked = maskedContribution(t);
      const chi2 = chiSquare16(flatten(masked), t);
      expect(chi2).toBeLessThan(CHI2_15_CRIT_0_001);
      const { d, critical } = ksTopBits(flatten(masked), t);
      expect(d).toBeLessThan(critical);
    });
  }

  it('rejection sampling stays uniform where plain "mod t" is visibly biased (t = 3·2^62)', () => {
    const t = 3n << 62n; // 2^64 = (4/3)·t: without rejection, [0, 2^62) is hit twice as often
    const n = SLOTS * CIPHERTEXTS;
    // Negative control: the naive generator (uniform u64 words reduced mod t, no rejection).
    const naive = Array.from(sha256Words('naive-mod', n), (w) => w % t);
    expect(chiSquare16(naive, t)).toBeGreaterThan(CHI2_15_CRIT_0_001);
    const naiveKs = ksTopBits(naive, t);
    expect(naiveKs.d).toBeGreaterThan(naiveKs.critical);
    // deriveMask with the same modulus passes both.
    const masked = maskedContribution(t);
    expect(chiSquare16(flatten(masked), t)).toBeLessThan(CHI2_15_CRIT_0_001);
    const ks = ksTopBits(flatten(masked), t);
    expect(ks.d).toBeLessThan(ks.critical);
  });

  it('flags a mildly skewed generator (2% of draws forced into the lowest sixteenth)', () => {
    const n = SLOTS * CIPHERTEXTS;
    const words = Array.from(sha256Words('skewed', n), (w) => w % T); // 2^64 mod T bias < 2^-24: negligible
    const skewed = words.map((v, i) => (i % 50 === 0 ? v % (T / 16n) : v));
    expect(chiSquare16(words, T)).toBeLessThan(CHI2_15_CRIT_0_001); // the unskewed control passes
    expect(chiSquare16(skewed, T)).toBeGreaterThan(CHI2_15_CRIT_0_001);
    const uniformKs = ksTopBits(words, T);
    expect(uniformKs.d).toBeLessThan(uniformKs.critical);
    const ks = ksTopBits(skewed, T);
    expect(ks.d).toBeGreaterThan(ks.critical);
  });
});
