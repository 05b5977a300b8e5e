/**
 * Transparency-log checkpoints (c2sp.org/tlog-checkpoint): the body of a signed note that
 * states a log's tree head —
 *
 *     <origin>\n<decimal tree size>\n<base64 root hash>\n[extension lines\n…]
 *
 * The body is parsed strictly, since a mirror or a man in the middle may send it: exactly one
 * canonical decimal per size (no sign, no leading zero, at most 2^64 − 1), a 32-byte root in
 * canonical base64, no empty line. Malformed bodies raise `checkpoint_invalid`.
 */
import { fromBase64, toBase64 } from '../internal/bytes.ts';
import { LogVerificationError } from './errors.ts';
import { RFC6962_HASH_SIZE } from './hash.ts';
import { parseSignedNote, verifyNoteSignature } from './signed-note.ts';
import type { NoteVerifier } from './signed-note.ts';
import { UINT64_MAX } from './tree-math.ts';

/** A log's tree head as a checkpoint states it. */
export interface Checkpoint {
  /** The log's identity, e.g. `veilgate.example/audit`. */
  origin: string;
  /** Number of leaves (uint64). */
  size: bigint;
  /** RFC 9162 §2.1.1 root hash of the tree of `size` leaves. */
  root: Uint8Array;
  /** Opaque extension lines (tlog-checkpoint: OPTIONAL, NOT RECOMMENDED). */
  extensions: string[];
}

/** What `formatCheckpoint` needs. */
export interface CheckpointInput {
  origin: string;
  size: number | bigint;
  root: Uint8Array;
  extensions?: readonly string[];
}

/** A checkpoint whose signature has been verified, with the signed note it came in. */
export interface VerifiedCheckpoint extends Checkpoint {
  note: string;
}

/** tlog-checkpoint "Note text": size is ASCII decimal "with no leading zeroes". */
const CANONICAL_DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

function invalid(message: string, cause?: unknown): LogVerificationError {
  return new LogVerificationError('checkpoint_invalid', `checkpoint: ${message}`, {}, cause === undefined ? undefined : { cause });
}

/** A line of a note body: non-empty, no newline, no control characters, well-formed. */
function isLine(line: unknown): line is string {
  return typeof line === 'string' && line !== '' && line.isWellFormed() && !/[\u0000-\u001f]/.test(line);
}

/**
 * The checkpoint body text for a tree head (to be signed with `signNote`).
 *
 * @example
 * formatCheckpoint({ origin: 'veilgate.example/audit', size: 3, root });
 * // 'veilgate.example/audit\n3\nrra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=\n'
 */
export function formatCheckpoint(input: CheckpointInput): string {
  const { origin, root, extensions = [] } = input;
  if (!isLine(origin)) throw new TypeError('origin must be one non-empty line of text');
  const size = typeof input.size === 'number' && Number.isSafeInteger(input.size) ? BigInt(input.size) : input.size;
  if (typeof size !== 'bigint' || size < 0n || size > UINT64_MAX) throw new TypeError('size must be an integer in 0..2^64-1');
  if (!(root instanceof Uint8Array) || root.length !== RFC6962_HASH_SIZE) throw new TypeError('root must be 32 bytes');
  if (!extensions.every(isLine)) throw new TypeError('extension lines must be non-empty lines of text');
  return [origin, size.toString(), toBase64(root), ...extensions].map((line) => `${line}\n`).join('');
}

/**
 * Parses a checkpoint body (the `body` of a parsed signed note). Verifies nothing: the body
 * means nothing until its signature is checked (`verifyCheckpoint` does both).
 *
 * @example
 * const { origin, size, root } = parseCheckpoint(parseSignedNote(text).body);
 */
export function parseCheckpoint(body: string): Checkpoint {
  if (typeof body !== 'string' || !body.endsWith('\n')) throw invalid('body must be text ending in a newline');
  const lines = body.slice(0, -1).split('\n');
  // tlog-checkpoint "Note text": "at least three non-empty lines".
  if (lines.length < 3) throw invalid('needs an origin, a size and a root hash');
  if (!lines.every(isLine)) throw invalid('lines must be non-empty and free of control characters');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!CANONICAL_DECIMAL.test(sizeText)) throw invalid('tree size is not a canonical decimal');
  const size = BigInt(sizeText);
  if (size > UINT64_MAX) throw invalid('tree size exceeds 2^64-1');
  let root: Uint8Array;
  try {
    root = fromBase64(rootText);
  } catch (cause) {
    throw invalid('root hash is not base64', cause);
  }
  if (root.length !== RFC6962_HASH_SIZE) throw invalid('root hash is not 32 bytes');
  return { origin, size, root, extensions };
}

/**
 * Opens a signed checkpoint: parses the note, requires a valid signature by `logKey` (and
 * rejects a forged line by it), parses the body and checks its origin (by default the key's
 * name, as tlog-checkpoint recommends). Throws `checkpoint_invalid` otherwise.
 *
 * @example
 * const cp = verifyCheckpoint(noteText, { logKey: { name: 'veilgate.example/audit', publicKey } });
 */
export function verifyCheckpoint(note: string | Uint8Array, options: { logKey: NoteVerifier; origin?: string }): VerifiedCheckpoint {
  const parsed = parseSignedNote(note);
  if (!verifyNoteSignature(parsed, options.logKey)) {
    throw new LogVerificationError('checkpoint_invalid', 'checkpoint: not signed by the log key', { keyName: options.logKey.name });
  }
  const checkpoint = parseCheckpoint(parsed.body);
  const origin = options.origin ?? options.logKey.name;
  if (checkpoint.origin !== origin) throw invalid(`origin is not the expected "${origin}"`);
  // parseSignedNote has accepted these bytes as UTF-8, BOM included: decode them the same way.
  const text = typeof note === 'string' ? note : new TextDecoder('utf-8', { ignoreBOM: true }).decode(note);
  return { ...checkpoint, note: text };
}
