/**
 * C2SP signed notes (c2sp.org/signed-note), Ed25519 only: text, a blank line, then one or more
 * signature lines `— <key name> <base64(4-byte key hash || signature)>`. The hub signs its
 * checkpoints this way (signature type 0x01). The nodes cosign the same body as witnesses
 * with the timestamped form of c2sp.org/tlog-cosignature (type 0x04, a different message and
 * key ID: cosignature.ts); here a 0x04 line simply counts as an unknown key.
 *
 * A note comes from the network, so it is parsed strictly (after Go's golang.org/x/mod/sumdb/note
 * `Open`): bounded size and signature count, well-formed UTF-8 without control characters,
 * valid key names, canonical base64. Malformed input raises `checkpoint_invalid`.
 */
import { backend } from '../internal/crypto-backend.ts';
import { equalBytes, fromBase64, toBase64 } from '../internal/bytes.ts';
import { LogVerificationError, hexOf } from './errors.ts';

/** c2sp.org/signed-note "Signature types": 0x01 is Ed25519. */
export const SIGNED_NOTE_ALG_ED25519 = 0x01;
/** c2sp.org/signed-note "Format": em dash (U+2014) and a space start every signature line. */
export const SIGNED_NOTE_SIGNATURE_PREFIX = '\u2014 ';
/** Most signatures accepted on one note (the spec asks for at least 16; Go stops at 100). */
export const MAX_NOTE_SIGNATURES = 100;
/** Largest note accepted, in UTF-8 bytes. */
export const MAX_NOTE_BYTES = 1 << 20;

/** One signature line, parsed. */
export interface NoteSignature {
  name: string;
  /** The 4-byte key ID (big-endian uint32 in the spec). */
  keyHash: Uint8Array;
  /** The signature bytes after the key hash (64 for Ed25519). */
  signature: Uint8Array;
}

/** A parsed signed note: the signed text (ending in a newline) and its signatures. */
export interface SignedNote {
  body: string;
  signatures: NoteSignature[];
}

/** An Ed25519 signing key under a name: the 32-byte RFC 8032 seed. */
export interface NoteSigner {
  name: string;
  secretKey: Uint8Array;
}

/** An Ed25519 verifier key under a name: the 32-byte RFC 8032 public key. */
export interface NoteVerifier {
  name: string;
  publicKey: Uint8Array;
}

const encoder = new TextEncoder();

function invalid(message: string, extra: { keyName?: string; keyHash?: string } = {}): LogVerificationError {
  return new LogVerificationError('checkpoint_invalid', `signed note: ${message}`, extra);
}

/** c2sp.org/signed-note: names are non-empty and contain no Unicode spaces and no plus. */
function isValidName(name: unknown): name is string {
  return typeof name === 'string' && name !== '' && name.isWellFormed() && !/[\p{White_Space}+]/u.test(name);
}

/** c2sp.org/signed-note: valid UTF-8 without ASCII control characters other than newline. */
function hasForbiddenCharacters(text: string): boolean {
  return !text.isWellFormed() || /[\u0000-\u0009\u000b-\u001f]/.test(text);
}

/**
 * Whether `body` can be signed: non-empty, ending in a newline, and made only of characters a
 * note may hold. (It may contain blank lines: a parser splits at the last one.)
 */
function checkBody(body: unknown): asserts body is string {
  if (typeof body !== 'string' || body === '' || !body.endsWith('\n') || hasForbiddenCharacters(body)) {
    throw new TypeError('a note body must be non-empty text ending in a newline, without control characters');
  }
}

/**
 * The 4-byte key hash (key ID) of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || key)[:4]
 * (c2sp.org/signed-note "Ed25519 signatures").
 *
 * @example
 * computeKeyHash('veilgate.example/log', publicKey); // Uint8Array(4)
 */
export function computeKeyHash(name: string, publicKey: Uint8Array): Uint8Array {
  if (!isValidName(name)) throw new TypeError('key name must be non-empty, without spaces or "+"');
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new TypeError('an Ed25519 public key is 32 bytes');
  const digest = backend.sha256(encoder.encode(name), Uint8Array.of(0x0a, SIGNED_NOTE_ALG_ED25519), publicKey);
  return digest.slice(0, 4);
}

/**
 * Signs a note body and returns the signature line (ending in a newline).
 *
 * @example
 * const line = signNote(formatCheckpoint({ origin, size, root }), { name: origin, secretKey });
 */
export function signNote(body: string, signer: NoteSigner): string {
  checkBody(body);
  if (!(signer.secretKey instanceof Uint8Array) || signer.secretKey.length !== 32) throw new TypeError('an Ed25519 secret key is 32 bytes');
  // RFC 8032 §5.1.5–5.1.6 (native under Node, @noble elsewhere: same bytes, Ed25519 is deterministic).
  const keyHash = computeKeyHash(signer.name, backend.ed25519PublicKey(signer.secretKey));
  const signature = backend.ed25519Sign(encoder.encode(body), signer.secretKey);
  const blob = new Uint8Array(4 + signature.length);
  blob.set(keyHash, 0);
  blob.set(signature, 4);
  return `${SIGNED_NOTE_SIGNATURE_PREFIX}${signer.name} ${toBase64(blob)}\n`;
}

/**
 * Joins a body and one or more signature lines into a signed note: body, blank line, lines.
 * A line may come with its final newline (as `signNote` returns it) or without. Checks that
 * the result parses, so a bad line fails here (`checkpoint_invalid`), not at the verifier.
 *
 * @example
 * const note = assembleNote(body, [signNote(body, hub), signNote(body, witness)]);
 */
export function assembleNote(body: string, signatureLines: readonly string[]): string {
  checkBody(body);
  if (signatureLines.length === 0) throw new TypeError('a signed note needs at least one signature line');
  const lines = signatureLines.map((line) => (typeof line === 'string' && !line.endsWith('\n') ? `${line}\n` : line));
  const text = `${body}\n${lines.join('')}`;
  parseSignedNote(text);
  return text;
}

/**
 * Parses a signed note strictly (c2sp.org/signed-note "Format"). Verifies nothing: use
 * `verifyNoteSignature`. Throws `checkpoint_invalid` on any malformed input.
 *
 * @example
 * const { body, signatures } = parseSignedNote(text);
 */
export function parseSignedNote(input: string | Uint8Array): SignedNote {
  let text: string;
  if (input instanceof Uint8Array) {
    if (input.length > MAX_NOTE_BYTES) throw invalid('note is too long');
    try {
      // fatal: malformed UTF-8 is an error, not U+FFFD; ignoreBOM: keep a BOM as signed bytes.
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch (cause) {
      throw new LogVerificationError('checkpoint_invalid', 'signed note: not UTF-8', {}, { cause });
    }
  } else if (typeof input === 'string') {
    // A UTF-8 byte length is at least the UTF-16 length: check the cheap bound first.
    if (input.length > MAX_NOTE_BYTES || !input.isWellFormed() || encoder.encode(input).length > MAX_NOTE_BYTES) {
      throw invalid('note is too long or not well-formed text');
    }
    text = input;
  } else {
    throw invalid('note must be text or bytes');
  }
  if (hasForbiddenCharacters(text)) throw invalid('note contains control characters');

  // "the text is separated from the signatures by the last empty line in the note".
  const split = text.lastIndexOf('\n\n');
  if (split < 0) throw invalid('no blank line before the signatures');
  const body = text.slice(0, split + 1);
  const block = text.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw invalid('signature block must be non-empty and end in a newline');
  const lines = block.slice(0, -1).split('\n');
  // Bound the work before decoding anything (Go's "avoid spending forever" limit).
  if (lines.length > MAX_NOTE_SIGNATURES) throw invalid(`more than ${MAX_NOTE_SIGNATURES} signatures`);

  const signatures = lines.map((line): NoteSignature => {
    if (!line.startsWith(SIGNED_NOTE_SIGNATURE_PREFIX)) throw invalid('signature line must start with an em dash and a space');
    const rest = line.slice(SIGNED_NOTE_SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) throw invalid('signature line needs a key name and a signature');
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    if (!isValidName(name)) throw invalid('invalid key name');
    let blob: Uint8Array;
    try {
      blob = fromBase64(b64); // strict RFC 4648 §4: padding, alphabet, zero pad bits
    } catch (cause) {
      throw new LogVerificationError('checkpoint_invalid', 'signed note: signature is not base64', { keyName: name }, { cause });
    }
    // A key hash and at least one signature byte.
    if (blob.length < 5) throw invalid('signature too short', { keyName: name });
    return { name, keyHash: blob.slice(0, 4), signature: blob.slice(4) };
  });
  return { body, signatures };
}

function checkVerifier(verifier: NoteVerifier): Uint8Array {
  return computeKeyHash(verifier.name, verifier.publicKey);
}

/**
 * Whether the note carries a valid Ed25519 signature by this key. Signature lines of other keys
 * (other name or other key hash) are ignored, as c2sp.org/signed-note requires; a line that
 * claims this key but does not verify throws `checkpoint_invalid` (the spec: "clients SHOULD
 * reject the whole note"). So: true = signed, false = not signed by this key, throw = forged.
 * Verification is strict RFC 8032 (ZIP-215 off: no malleable or non-canonical encodings).
 *
 * @example
 * if (!verifyNoteSignature(note, { name: 'veilgate.example/log', publicKey })) throw new Error('unsigned');
 */
export function verifyNoteSignature(note: SignedNote | string | Uint8Array, verifier: NoteVerifier): boolean {
  const parsed = typeof note === 'string' || note instanceof Uint8Array ? parseSignedNote(note) : note;
  const keyHash = checkVerifier(verifier);
  const message = encoder.encode(parsed.body);
  let found = false;
  for (const sig of parsed.signatures) {
    if (sig.name !== verifier.name || !equalBytes(sig.keyHash, keyHash)) continue;
    // RFC 8032 §5.1.7, strict (S < L, canonical encodings); false on malformed input.
    const ok = backend.ed25519Verify(sig.signature, message, verifier.publicKey);
    if (!ok) throw invalid('a signature by a known key does not verify', { keyName: verifier.name, keyHash: hexOf(keyHash) });
    found = true;
  }
  return found;
}

/**
 * How many distinct keys of `verifiers` have validly signed the note: k-of-n witness counting
 * (each key counts once however many lines it has). Throws `checkpoint_invalid` if a line of a
 * known key does not verify, and TypeError if two verifiers share a name and key hash with
 * different keys (an ambiguous, hence compromised, configuration).
 *
 * @example
 * if (countValidSignatures(note, witnesses) < 2) throw new Error('not enough witnesses');
 */
export function countValidSignatures(note: SignedNote | string | Uint8Array, verifiers: readonly NoteVerifier[]): number {
  const parsed = typeof note === 'string' || note instanceof Uint8Array ? parseSignedNote(note) : note;
  const distinct = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const id = `${v.name}+${hexOf(checkVerifier(v))}`;
    const seen = distinct.get(id);
    if (seen !== undefined && !equalBytes(seen.publicKey, v.publicKey)) throw new TypeError(`ambiguous verifier keys for ${id}`);
    distinct.set(id, v);
  }
  let count = 0;
  for (const v of distinct.values()) if (verifyNoteSignature(parsed, v)) count++;
  return count;
}
