/**
 * BFV key pairs of researchers (spec/protocol.md §2). The secret key never leaves the
 * researcher's process or page; the public key is registered with the hub under its id,
 * the SHA-256 of its serialization (DESIGN §4 step 1).
 */
import type { PublicKey, SecretKey } from 'node-seal';
import { HeMaterialError } from '../errors.ts';
import { fromBase64, sha256Hex, toBase64 } from '../internal/bytes.ts';
import { loadHe } from './params.ts';

/** A researcher's BFV key pair, serialized. */
export interface HeKeyPair {
  keyId: string;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/**
 * The key id of a serialized public key: SHA-256, lowercase hex.
 *
 * @example
 * heKeyId(pair.publicKey) === pair.keyId; // true
 */
export function heKeyId(publicKey: Uint8Array): string {
  return sha256Hex(publicKey);
}

/**
 * Generates a fresh BFV key pair under the protocol parameters.
 *
 * @example
 * const { keyId, publicKey, secretKey } = await generateHeKeyPair();
 */
export async function generateHeKeyPair(): Promise<HeKeyPair> {
  const he = await loadHe();
  const keygen = new he.seal.KeyGenerator(he.context);
  const pk = keygen.createPublicKey();
  const sk = keygen.secretKey();
  try {
    const publicKey = new Uint8Array(pk.saveToArray(he.seal.ComprModeType.zstd));
    const secretKey = new Uint8Array(sk.saveToArray(he.seal.ComprModeType.zstd));
    return { keyId: heKeyId(publicKey), publicKey, secretKey };
  } finally {
    pk.delete();
    sk.delete();
    keygen.delete();
  }
}

/**
 * Loads a serialized public key, refusing anything SEAL does not accept for the protocol
 * parameters (SEAL's load runs `is_valid_for(context)`: sizes, parms id, coefficient ranges).
 * The caller owns the returned object and must `delete()` it.
 *
 * @example
 * const pk = await loadPublicKey(bytes); pk.delete();
 */
export async function loadPublicKey(bytes: Uint8Array): Promise<PublicKey> {
  const he = await loadHe();
  const pk = new he.seal.PublicKey();
  try {
    pk.loadFromArray(he.context, bytes);
  } catch (cause) {
    pk.delete();
    throw new HeMaterialError('invalid_public_key', 'publicKey is not a SEAL BFV public key for the protocol parameters', cause);
  }
  return pk;
}

/**
 * Loads a serialized secret key. The caller owns the returned object and must `delete()` it.
 *
 * @example
 * const sk = await loadSecretKey(pair.secretKey); sk.delete();
 */
export async function loadSecretKey(bytes: Uint8Array): Promise<SecretKey> {
  const he = await loadHe();
  const sk = new he.seal.SecretKey();
  try {
    sk.loadFromArray(he.context, bytes);
  } catch (cause) {
    sk.delete();
    throw new HeMaterialError('invalid_secret_key', 'secretKey is not a SEAL BFV secret key for the protocol parameters', cause);
  }
  return sk;
}

/**
 * Serializes a key pair to JSON for storage on the researcher's side (base64 fields).
 * The result contains the secret key: keep it out of logs and version control.
 *
 * @example
 * writeFileSync('he-key.json', exportKeyPair(pair), { mode: 0o600 });
 */
export function exportKeyPair(pair: HeKeyPair): string {
  return JSON.stringify({ keyId: pair.keyId, publicKey: toBase64(pair.publicKey), secretKey: toBase64(pair.secretKey) });
}

/**
 * Parses a key pair written by `exportKeyPair`, checking that the id matches the key.
 *
 * @example
 * const pair = importKeyPair(readFileSync('he-key.json', 'utf8'));
 */
export function importKeyPair(json: string): HeKeyPair {
  let parsed: { keyId?: unknown; publicKey?: unknown; secretKey?: unknown };
  try {
    parsed = JSON.parse(json) as typeof parsed;
  } catch (cause) {
    throw new HeMaterialError('invalid_secret_key', 'key file is not JSON', cause);
  }
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.publicKey !== 'string' || typeof parsed.secretKey !== 'string') {
    throw new HeMaterialError('invalid_secret_key', 'key file lacks publicKey or secretKey');
  }
  let publicKey: Uint8Array;
  let secretKey: Uint8Array;
  try {
    publicKey = fromBase64(parsed.publicKey);
    secretKey = fromBase64(parsed.secretKey);
  } catch (cause) {
    throw new HeMaterialError('invalid_secret_key', 'key file publicKey or secretKey is not base64', cause);
  }
  const keyId = heKeyId(publicKey);
  if (parsed.keyId !== undefined && parsed.keyId !== keyId) throw new HeMaterialError('invalid_secret_key', 'key file keyId does not match its public key');
  return { keyId, publicKey, secretKey };
}
