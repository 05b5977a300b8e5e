/**
 * The native half of `crypto-backend.ts`: SHA-256, Ed25519 and X25519 through Node's crypto
 * (OpenSSL) and base64 through Buffer, found at run time with `process.getBuiltinModule` so
 * that bundlers never see an import and browsers get `undefined` (and the noble code).
 *
 * Raw 32-byte keys are wrapped in the fixed DER prefixes of RFC 8410 (§7 SPKI, §10.3 PKCS#8)
 * for import; nothing is cached, so no key outlives the call, and the DER copies of secret
 * keys are wiped once imported. Outputs are copied into plain Uint8Arrays (a Buffer's `slice`
 * would be a view), and the native copy of an X25519 shared secret is wiped.
 */
import type { CryptoBackend } from './crypto-backend.ts';

/** The few node:crypto members used here, typed structurally (no @types/node in browser builds). */
interface KeyObject {
  export(options: { format: 'der'; type: 'spki' }): Uint8Array;
}
interface NodeCrypto {
  createHash(algorithm: 'sha256'): { update(data: Uint8Array): unknown; digest(): Uint8Array };
  createPrivateKey(options: { key: Uint8Array; format: 'der'; type: 'pkcs8' }): KeyObject;
  createPublicKey(options: KeyObject | { key: Uint8Array; format: 'der'; type: 'spki' }): KeyObject;
  sign(algorithm: null, data: Uint8Array, key: KeyObject): Uint8Array;
  verify(algorithm: null, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean;
  diffieHellman(options: { privateKey: KeyObject; publicKey: KeyObject }): Uint8Array;
}
interface NodeBuffer extends Uint8Array {
  toString(encoding?: 'base64'): string;
}
interface BufferClass {
  from(text: string, encoding: 'base64'): NodeBuffer;
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): NodeBuffer;
}

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!, (b) => parseInt(b, 16));
// RFC 8410 §10.3 / §7: PKCS#8 and SPKI DER prefixes for OIDs 1.3.101.112 (Ed25519) and 1.3.101.110 (X25519).
const ED25519_PKCS8 = hex('302e020100300506032b657004220420');
const ED25519_SPKI = hex('302a300506032b6570032100');
const X25519_PKCS8 = hex('302e020100300506032b656e04220420');
const X25519_SPKI = hex('302a300506032b656e032100');
/** The group order L of RFC 8032 §5.1, little-endian. */
const ED25519_L = hex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');
/** The field prime p = 2^255 − 19 of RFC 8032 §5.1, little-endian. */
const ED25519_P = hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');

function der(prefix: Uint8Array, raw: Uint8Array): Uint8Array {
  if (!(raw instanceof Uint8Array) || raw.length !== 32) throw new TypeError('a raw 25519 key is 32 bytes');
  const out = new Uint8Array(prefix.length + 32);
  out.set(prefix, 0);
  out.set(raw, prefix.length);
  return out;
}

/** a < b, both 32-byte little-endian integers. */
function lessThan(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

/** RFC 8032 §5.1.3 step 1: an encoded point's y (sign bit cleared) must be < p. */
function canonicalPoint(encoded: Uint8Array): boolean {
  const y = encoded.slice();
  y[31] = y[31]! & 0x7f;
  return lessThan(y, ED25519_P);
}

/**
 * The encodings of Ed25519's points of small order (order 1, 2, 4 or 8), sign bit cleared —
 * the list libsodium rejects (Chalkias et al. 2020, "Taming the many EdDSAs", §3): a public
 * key or R among them is refused whatever the OpenSSL build does with it.
 */
const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((h) => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16))));

function smallOrder(encoded: Uint8Array): boolean {
  const y = encoded.slice();
  y[31] = y[31]! & 0x7f;
  return SMALL_ORDER.some((s) => s.every((b, i) => b === y[i]));
}

function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

function makeBackend(c: NodeCrypto, B: BufferClass): CryptoBackend {
  const secret = (prefix: Uint8Array, raw: Uint8Array): KeyObject => {
    const key = der(prefix, raw);
    try {
      return c.createPrivateKey({ key, format: 'der', type: 'pkcs8' });
    } finally {
      key.fill(0);
    }
  };
  const privateKey = (seed: Uint8Array) => secret(ED25519_PKCS8, seed);
  return {
    name: 'node',
    sha256(...parts) {
      const h = c.createHash('sha256');
      for (const p of parts) h.update(p);
      return plain(h.digest());
    },
    ed25519PublicKey: (seed) => plain(c.createPublicKey(privateKey(seed)).export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI.length)),
    ed25519Sign: (message, seed) => plain(c.sign(null, message, privateKey(seed))),
    ed25519Verify(signature, message, publicKey) {
      try {
        if (!(message instanceof Uint8Array) || !(signature instanceof Uint8Array) || !(publicKey instanceof Uint8Array)) return false;
        if (signature.length !== 64 || publicKey.length !== 32) return false;
        if (smallOrder(publicKey) || smallOrder(signature.subarray(0, 32))) return false;
        // RFC 8032 §5.1.7: S < L and canonical A and R, checked here as well as by OpenSSL,
        // so that this is never more lenient than noble's strict mode whatever the OpenSSL.
        if (!lessThan(signature.subarray(32), ED25519_L) || !canonicalPoint(signature.subarray(0, 32)) || !canonicalPoint(publicKey)) return false;
        return c.verify(null, message, c.createPublicKey({ key: der(ED25519_SPKI, publicKey), format: 'der', type: 'spki' }), signature);
      } catch {
        return false;
      }
    },
    x25519(secretKey, publicKey) {
      const shared = c.diffieHellman({
        privateKey: secret(X25519_PKCS8, secretKey),
        publicKey: c.createPublicKey({ key: der(X25519_SPKI, publicKey), format: 'der', type: 'spki' }),
      });
      try {
        return plain(shared);
      } finally {
        shared.fill(0);
      }
    },
    base64Encode: (bytes) => B.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
    base64Decode(text) {
      // Buffer's decoder is lenient (other alphabet, whitespace, missing padding, non-zero pad
      // bits); the canonical encoding of a byte string is unique, so accept only that.
      const bytes = typeof text === 'string' ? B.from(text, 'base64') : undefined;
      if (bytes === undefined || bytes.toString('base64') !== text) throw new Error('base64: not a canonical RFC 4648 §4 encoding');
      return plain(bytes);
    },
  };
}

const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * A known-answer self-test, once at load: a runtime whose node:crypto lacks or differs in a
 * primitive (another Node-compatible runtime, say) gets the noble code instead.
 */
function passesSelfTest(b: CryptoBackend): boolean {
  // RFC 8032 §7.1 TEST 2, RFC 7748 §6.1, FIPS 180-4 "abc", RFC 4648 §10.
  const seed = hex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');
  const pk = b.ed25519PublicKey(seed);
  const sig = b.ed25519Sign(Uint8Array.of(0x72), seed);
  return (
    toHex(pk) === '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c' &&
    toHex(sig) === '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00' &&
    b.ed25519Verify(sig, Uint8Array.of(0x72), pk) &&
    !b.ed25519Verify(sig, Uint8Array.of(0x73), pk) &&
    toHex(b.x25519(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'), hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'))) ===
      '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742' &&
    toHex(b.sha256(Uint8Array.of(0x61), Uint8Array.of(0x62, 0x63))) === 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' &&
    b.base64Encode(Uint8Array.of(0x66, 0x6f)) === 'Zm8=' &&
    toHex(b.base64Decode('Zm8=')) === '666f'
  );
}

/** The native backend, or undefined where node:crypto is not reachable (browsers) or fails its self-test. */
export function loadNodeBackend(): CryptoBackend | undefined {
  try {
    const host = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    if (typeof host?.getBuiltinModule !== 'function') return undefined;
    const c = host.getBuiltinModule('node:crypto') as NodeCrypto | undefined;
    const b = (host.getBuiltinModule('node:buffer') as { Buffer?: BufferClass } | undefined)?.Buffer;
    if (!c || !b || typeof c.diffieHellman !== 'function') return undefined;
    const backend = makeBackend(c, b);
    return passesSelfTest(backend) ? backend : undefined;
  } catch {
    return undefined;
  }
}
