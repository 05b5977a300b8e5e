/**
 * Witness cosignatures of checkpoints, c2sp.org/tlog-cosignature (Ed25519, cosignature/v1,
 * signature type 0x04): a note signature line whose blob is key ID ‖ u64 timestamp ‖ Ed25519
 * signature over
 *
 *     cosignature/v1\ntime <decimal POSIX seconds>\n<checkpoint body>
 *
 * Its meaning (tlog-cosignature "Ed25519 signed message"): "as of the specified time, the
 * consistent tree head with the largest size the cosigner has observed for the log … has the
 * specified root hash". The time is what lets an auditor who saved nothing catch a rolled-back
 * log: a hub that deletes entries can keep an old checkpoint's cosignatures, but not make them
 * newer, and every honest witness refuses to cosign the smaller tree again (protocol.md §8).
 */
import { backend } from '../internal/crypto-backend.ts';
import { equalBytes, toBase64 } from '../internal/bytes.ts';
import { LogVerificationError, hexOf } from './errors.ts';
import { SIGNED_NOTE_SIGNATURE_PREFIX, parseSignedNote, type NoteSigner, type NoteVerifier, type SignedNote } from './signed-note.ts';

/** c2sp.org/tlog-cosignature: the key ID algorithm byte of Ed25519 cosignatures. */
export const COSIGNATURE_V1_ALG_ED25519 = 0x04;
/** c2sp.org/tlog-cosignature: the header line of the signed message (domain separation). */
export const COSIGNATURE_V1_HEADER = 'cosignature/v1';
/** tlog-cosignature: the timestamp "MUST NOT exceed 2^63 - 1". */
const MAX_TIMESTAMP = (1n << 63n) - 1n;

const encoder = new TextEncoder();

/**
 * The 4-byte key ID of an Ed25519 cosigner: SHA-256(name ‖ "\n" ‖ 0x04 ‖ key)[:4]
 * (c2sp.org/tlog-cosignature "Format"), so a cosignature never passes for a plain signature.
 *
 * @example
 * cosignatureKeyId('hosp-a', publicKey); // Uint8Array(4)
 */
export function cosignatureKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  if (typeof name !== 'string' || name === '' || /[\p{White_Space}+]/u.test(name)) throw new TypeError('key name must be non-empty, without spaces or "+"');
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new TypeError('an Ed25519 public key is 32 bytes');
  return backend.sha256(encoder.encode(name), Uint8Array.of(0x0a, COSIGNATURE_V1_ALG_ED25519), publicKey).slice(0, 4);
}

/** The signed message: header line, time line, then the whole checkpoint body. */
function cosignedMessage(body: string, time: bigint): Uint8Array {
  return encoder.encode(`${COSIGNATURE_V1_HEADER}\ntime ${time.toString()}\n${body}`);
}

/**
 * Cosigns a checkpoint body at `time` (POSIX seconds, default now); returns the signature line.
 *
 * @example
 * const line = signCosignature(parseSignedNote(note).body, { name: 'hosp-a', secretKey });
 */
export function signCosignature(body: string, signer: NoteSigner, time: number = Math.floor(Date.now() / 1000)): string {
  if (typeof body !== 'string' || !body.endsWith('\n')) throw new TypeError('a checkpoint body is text ending in a newline');
  if (!Number.isSafeInteger(time) || time < 0) throw new TypeError('time must be a non-negative integer of seconds');
  if (!(signer.secretKey instanceof Uint8Array) || signer.secretKey.length !== 32) throw new TypeError('an Ed25519 secret key is 32 bytes');
  const keyId = cosignatureKeyId(signer.name, backend.ed25519PublicKey(signer.secretKey));
  const signature = backend.ed25519Sign(cosignedMessage(body, BigInt(time)), signer.secretKey);
  const blob = new Uint8Array(4 + 8 + 64);
  blob.set(keyId, 0);
  new DataView(blob.buffer).setBigUint64(4, BigInt(time)); // RFC 8446 §3.3: big-endian
  blob.set(signature, 12);
  return `${SIGNED_NOTE_SIGNATURE_PREFIX}${signer.name} ${toBase64(blob)}\n`;
}

/**
 * The time (POSIX seconds) of this cosigner's valid cosignature on the note, the latest if it
 * signed more than once; `undefined` when it did not cosign. Lines of other keys are ignored;
 * a line with this name and key ID that does not verify throws `checkpoint_invalid` (a forged
 * cosignature). Strict RFC 8032 verification.
 *
 * @example
 * const time = verifyCosignature(note, { name: 'hosp-a', publicKey });
 * if (time === undefined || Date.now() / 1000 - time > 3600) throw new Error('no fresh cosignature');
 */
export function verifyCosignature(note: SignedNote | string | Uint8Array, verifier: NoteVerifier): number | undefined {
  const parsed = typeof note === 'string' || note instanceof Uint8Array ? parseSignedNote(note) : note;
  const keyId = cosignatureKeyId(verifier.name, verifier.publicKey);
  let latest: number | undefined;
  for (const sig of parsed.signatures) {
    if (sig.name !== verifier.name || !equalBytes(sig.keyHash, keyId)) continue;
    const forged = (reason: string) => new LogVerificationError('checkpoint_invalid', `cosignature: ${reason}`, { keyName: verifier.name, keyHash: hexOf(keyId) });
    if (sig.signature.length !== 8 + 64) throw forged('a timestamped signature is 72 bytes');
    const time = new DataView(sig.signature.buffer, sig.signature.byteOffset, 8).getBigUint64(0);
    if (time > MAX_TIMESTAMP) throw forged('timestamp beyond 2^63 - 1');
    if (!backend.ed25519Verify(sig.signature.slice(8), cosignedMessage(parsed.body, time), verifier.publicKey)) throw forged('a cosignature by a known key does not verify');
    const seconds = Number(time);
    if (latest === undefined || seconds > latest) latest = seconds;
  }
  return latest;
}
