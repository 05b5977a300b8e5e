/**
 * The researcher's key file, and what loading one checks.
 *
 * Plain file: `{ heKeyPair: exportKeyPair(…) parsed, identity: exportIdentity(…) parsed }`.
 * Encrypted file (optional passphrase): a versioned JSON envelope
 * `{ v: 1, kdf: 'PBKDF2-SHA256', iterations, salt, iv, cipher: 'AES-256-GCM', ciphertext }`
 * whose ciphertext is the plain file, under an AES-256-GCM key derived from the passphrase
 * with PBKDF2-HMAC-SHA-256 (WebCrypto). Salt (16 bytes) and IV (12 bytes) are random per
 * file; the envelope's other fields are authenticated as additional data.
 *
 * Loading checks that the secret key belongs to the public key (a vector encrypted with
 * the public key decrypts to itself with the secret key) and that the identity key's
 * private half signs for its public half; otherwise results would decrypt to garbage, or
 * every request would fail, with nothing to say why.
 */
import {
  createDpopProof, decryptSlots, encryptSlots, exportIdentity, exportKeyPair, fromBase64, importIdentity, importKeyPair,
  loadPublicKey, loadSecretKey, toBase64, verifyDpopProof, type HeKeyPair, type IdentityKey,
} from '@veilgate/sdk';

/** PBKDF2 iterations for files written here: OWASP's 2023 figure for PBKDF2-HMAC-SHA-256. */
export const KDF_ITERATIONS = 600_000;
/** More than this would freeze the page (a file from elsewhere could ask for anything). */
const MAX_ITERATIONS = 10_000_000;
const VERSION = 1;
const KDF = 'PBKDF2-SHA256';
const CIPHER = 'AES-256-GCM';

/** Why a key file was refused (a message key under `keys.problems`). */
export type KeyFileProblem =
  | 'notJson' | 'notKeyFile' | 'badEnvelope' | 'unsupportedVersion' | 'wrongPassphrase'
  | 'badPublicKey' | 'badSecretKey' | 'keyMismatch' | 'badIdentity' | 'identityMismatch';

export class KeyFileError extends Error {
  readonly problem: KeyFileProblem;
  constructor(problem: KeyFileProblem, options?: ErrorOptions) {
    super(`key file refused: ${problem}`, options);
    this.name = 'KeyFileError';
    this.problem = problem;
  }
}

/** An encrypted key file, as read (not yet decrypted). */
export interface SealedKeyFile {
  v: typeof VERSION;
  kdf: typeof KDF;
  iterations: number;
  salt: string;
  iv: string;
  cipher: typeof CIPHER;
  ciphertext: string;
}

/** A key file read from disk: plain (its parsed JSON) or encrypted (needs the passphrase). */
export type ReadKeyFile = { kind: 'plain'; json: unknown } | { kind: 'sealed'; envelope: SealedKeyFile };

/** The plain key file's text. */
export function keyFileText(keys: HeKeyPair, identity: IdentityKey): string {
  return JSON.stringify({ heKeyPair: JSON.parse(exportKeyPair(keys)), identity: JSON.parse(exportIdentity(identity)) }, null, 2);
}

const utf8 = new TextEncoder();

/** The envelope's fields other than the ciphertext, in a fixed order: the AES-GCM additional data. */
function additionalData(e: Omit<SealedKeyFile, 'ciphertext'>): Uint8Array<ArrayBuffer> {
  return utf8.encode(JSON.stringify([e.v, e.kdf, e.iterations, e.salt, e.iv, e.cipher]));
}

async function deriveKey(passphrase: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', utf8.encode(passphrase.normalize('NFC')), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

/** Encrypts the plain key file's text under a passphrase: the encrypted file's text. */
export async function sealKeyFile(text: string, passphrase: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const header = { v: VERSION, kdf: KDF, iterations: KDF_ITERATIONS, salt: toBase64(salt), iv: toBase64(iv), cipher: CIPHER } as const;
  const key = await deriveKey(passphrase, salt, KDF_ITERATIONS);
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: additionalData(header) }, key, utf8.encode(text)));
  return JSON.stringify({ ...header, ciphertext: toBase64(ciphertext) } satisfies SealedKeyFile, null, 2);
}

function bytes(base64: string): Uint8Array<ArrayBuffer> {
  try {
    return new Uint8Array(fromBase64(base64));
  } catch (cause) {
    throw new KeyFileError('badEnvelope', { cause });
  }
}

/** Decrypts an encrypted key file: the plain file's parsed JSON. */
export async function unsealKeyFile(envelope: SealedKeyFile, passphrase: string): Promise<unknown> {
  const key = await deriveKey(passphrase, bytes(envelope.salt), envelope.iterations);
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes(envelope.iv), additionalData: additionalData(envelope) }, key, bytes(envelope.ciphertext));
  } catch (cause) {
    // AES-GCM cannot tell a wrong passphrase from a changed file: both fail the tag.
    throw new KeyFileError('wrongPassphrase', { cause });
  }
  try {
    return JSON.parse(new TextDecoder().decode(plain)) as unknown;
  } catch (cause) {
    throw new KeyFileError('notKeyFile', { cause });
  }
}

/** Reads a key file's text: plain or encrypted. */
export function readKeyFile(text: string): ReadKeyFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new KeyFileError('notJson', { cause });
  }
  const file = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (!('ciphertext' in file) && !('kdf' in file)) return { kind: 'plain', json: parsed };
  if (file.v !== VERSION || file.kdf !== KDF || file.cipher !== CIPHER) throw new KeyFileError('unsupportedVersion');
  const { iterations, salt, iv, ciphertext } = file;
  if (typeof iterations !== 'number' || !Number.isInteger(iterations) || iterations < KDF_ITERATIONS || iterations > MAX_ITERATIONS ||
    typeof salt !== 'string' || typeof iv !== 'string' || typeof ciphertext !== 'string') throw new KeyFileError('badEnvelope');
  return { kind: 'sealed', envelope: { v: VERSION, kdf: KDF, iterations, salt, iv, cipher: CIPHER, ciphertext } };
}

/** The keys in a plain key file's JSON, checked (see the module comment). */
export async function keysOfFile(json: unknown): Promise<{ keys: HeKeyPair; identity: IdentityKey }> {
  const { heKeyPair, identity: identityFile } = (json ?? {}) as { heKeyPair?: unknown; identity?: unknown };
  if (typeof heKeyPair !== 'object' || heKeyPair === null || typeof identityFile !== 'object' || identityFile === null) throw new KeyFileError('notKeyFile');
  let keys: HeKeyPair;
  try {
    keys = importKeyPair(JSON.stringify(heKeyPair));
  } catch (cause) {
    throw new KeyFileError('badPublicKey', { cause });
  }
  let identity: IdentityKey;
  try {
    identity = await importIdentity(JSON.stringify(identityFile));
  } catch (cause) {
    throw new KeyFileError('badIdentity', { cause });
  }
  await checkKeyPair(keys);
  await checkIdentity(identity);
  return { keys, identity };
}

/** A known vector encrypted with the public key must decrypt to itself with the secret key. */
async function checkKeyPair(keys: HeKeyPair): Promise<void> {
  try {
    (await loadSecretKey(keys.secretKey)).delete();
  } catch (cause) {
    throw new KeyFileError('badSecretKey', { cause });
  }
  let publicKey: Awaited<ReturnType<typeof loadPublicKey>>;
  try {
    publicKey = await loadPublicKey(keys.publicKey);
  } catch (cause) {
    throw new KeyFileError('badPublicKey', { cause });
  }
  // Random 32-bit values (well below the 40-bit plaintext modulus): a wrong key cannot guess them.
  const probe = BigUint64Array.from(crypto.getRandomValues(new Uint32Array(16)), (v) => BigInt(v));
  let ciphertext: Uint8Array;
  try {
    ciphertext = await encryptSlots(publicKey, probe);
  } finally {
    publicKey.delete();
  }
  let decrypted: BigUint64Array;
  try {
    decrypted = await decryptSlots(keys.secretKey, ciphertext);
  } catch (cause) {
    throw new KeyFileError('keyMismatch', { cause });
  }
  if (probe.some((v, i) => decrypted[i] !== v)) throw new KeyFileError('keyMismatch');
}

/** The identity key's private half must sign a proof that its public half verifies. */
async function checkIdentity(identity: IdentityKey): Promise<void> {
  const request = { htm: 'POST', htu: 'https://key-check.invalid/', accessTokens: ['key-check'] };
  try {
    const proof = await createDpopProof({ privateJwk: identity.privateJwk, publicJwk: identity.publicJwk, ...request });
    const { jkt } = await verifyDpopProof(proof, { ...request, seen: () => false });
    if (jkt !== identity.jkt) throw new Error('thumbprint differs');
  } catch (cause) {
    throw new KeyFileError('identityMismatch', { cause });
  }
}
