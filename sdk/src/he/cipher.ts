/**
 * Encrypt, add and decrypt batched BFV ciphertexts (spec/protocol.md §2, §5). Nodes
 * encrypt, the hub only adds, the researcher alone decrypts. Every SEAL object made here is
 * freed before returning: the WASM heap does not shrink on its own.
 */
import type { Ciphertext, PublicKey } from 'node-seal';
import { HeMaterialError } from '../errors.ts';
import { loadHe } from './params.ts';
import { loadSecretKey } from './keys.ts';

/**
 * Encrypts one vector of slot values (each < t) under a public key, at the lowest modulus
 * level, serialized without compression (a 60-bit prime in 64-bit words gains nothing).
 *
 * @example
 * const ct = await encryptSlots(pk, new BigUint64Array(8192));
 */
export async function encryptSlots(publicKey: PublicKey, slots: BigUint64Array): Promise<Uint8Array> {
  const he = await loadHe();
  if (slots.length > he.slotCount) throw new RangeError(`at most ${he.slotCount} slots per ciphertext`);
  const encryptor = new he.seal.Encryptor(he.context, publicKey);
  const plain = new he.seal.Plaintext();
  const cipher = new he.seal.Ciphertext();
  try {
    he.encoder.encode(slots, plain);
    encryptor.encrypt(plain, cipher);
    // DESIGN §5: only additions follow, so drop to the last level before sending.
    he.evaluator.cipherModSwitchToInplace(cipher, he.context.lastParmsId());
    return new Uint8Array(cipher.saveToArray(he.seal.ComprModeType.none));
  } finally {
    cipher.delete();
    plain.delete();
    encryptor.delete();
  }
}

/**
 * Parses a ciphertext received from another party. SEAL's load checks it against the
 * context (`is_valid_for`); we also require a 2-component ciphertext at the last level,
 * since the protocol never produces anything else. The caller must `delete()` the result.
 */
export async function loadCiphertext(bytes: Uint8Array): Promise<Ciphertext> {
  const he = await loadHe();
  const ct = new he.seal.Ciphertext();
  try {
    ct.loadFromArray(he.context, bytes);
  } catch (cause) {
    ct.delete();
    throw new HeMaterialError('invalid_ciphertext', 'ciphertext does not load under the protocol parameters', cause);
  }
  const lastLevel = he.context.lastContextData().chainIndex();
  const level = he.context.getContextData(ct.parmsId()).chainIndex();
  // BFV ciphertexts are never in NTT form in SEAL; one flagged so loads (the flag is a
  // header byte) but makes add/decrypt abort inside SEAL. Refuse it here, typed.
  if (ct.size() !== 2 || level !== lastLevel || ct.isNttForm() || ct.isTransparent()) {
    ct.delete();
    throw new HeMaterialError('invalid_ciphertext', 'ciphertext is not a fresh 2-component BFV ciphertext at the last level');
  }
  return ct;
}

/**
 * Adds serialized ciphertexts homomorphically (the hub's only operation on them).
 *
 * @example
 * const sum = await addCiphertexts([ctA, ctB, ctC]);
 */
export async function addCiphertexts(ciphertexts: Uint8Array[]): Promise<Uint8Array> {
  const he = await loadHe();
  if (ciphertexts.length === 0) throw new RangeError('nothing to add');
  const acc = await loadCiphertext(ciphertexts[0]!);
  try {
    for (const bytes of ciphertexts.slice(1)) {
      const next = await loadCiphertext(bytes);
      try {
        he.evaluator.addInplace(acc, next);
      } finally {
        next.delete();
      }
    }
    return new Uint8Array(acc.saveToArray(he.seal.ComprModeType.none));
  } finally {
    acc.delete();
  }
}

/**
 * Decrypts a serialized ciphertext with a serialized secret key into slot values in [0, t).
 *
 * @example
 * const slots = await decryptSlots(pair.secretKey, ct); // BigUint64Array(8192)
 */
export async function decryptSlots(secretKey: Uint8Array, ciphertext: Uint8Array): Promise<BigUint64Array> {
  const he = await loadHe();
  const sk = await loadSecretKey(secretKey);
  const ct = await loadCiphertext(ciphertext);
  const decryptor = new he.seal.Decryptor(he.context, sk);
  const plain = new he.seal.Plaintext();
  try {
    if (decryptor.invariantNoiseBudget(ct) <= 0) {
      throw new HeMaterialError('invalid_ciphertext', 'ciphertext has no noise budget left: it cannot be decrypted correctly');
    }
    decryptor.decrypt(ct, plain);
    return he.encoder.decodeBigUint64(plain) as BigUint64Array;
  } finally {
    plain.delete();
    decryptor.delete();
    ct.delete();
    sk.delete();
  }
}
