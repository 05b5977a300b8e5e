/**
 * A log client in the sense of RFC 9162 §8.1.4 and §8.3: it remembers the last tree head it
 * verified and moves forward only along consistency proofs, so that a log which rewrites its
 * history, rolls back, or shows different trees to different clients (a split view) is caught
 * with evidence — both signed checkpoints and the proof — that anyone can re-check.
 *
 * And `verifyReceipt`, for the receipt the hub returns with a query result (DESIGN §4 step 6):
 * a log index, an inclusion proof and a signed checkpoint.
 */
import { equalBytes } from '../internal/bytes.ts';
import { verifyCheckpoint } from './checkpoint.ts';
import type { VerifiedCheckpoint } from './checkpoint.ts';
import { LogVerificationError, hexOf, hexProof } from './errors.ts';
import type { LogEvidence, TreeHeadEvidence } from './errors.ts';
import { RFC6962_HASH_SIZE, emptyRoot, hashLeaf } from './hash.ts';
import type { NoteVerifier } from './signed-note.ts';
import { toUint64 } from './tree-math.ts';
import { verifyConsistency, verifyInclusion } from './verify.ts';

/** The tree head a client trusts: size, root and, when known, the signed note that stated it. */
export interface TrustedTreeHead {
  size: bigint;
  root: Uint8Array;
  note?: string;
}

/** How to build a `LogClient`. */
export interface LogClientOptions {
  /** The log's Ed25519 key; its name is the expected checkpoint origin unless `origin` is set. */
  logKey: NoteVerifier;
  origin?: string;
  /** A tree head saved earlier (e.g. `client.trusted` from a previous run); default: empty. */
  trusted?: { size: number | bigint; root: Uint8Array; note?: string };
}

/** A receipt: an entry (or its leaf hash), its index, its inclusion proof and a signed checkpoint. */
export type Receipt = ({ entry: Uint8Array; leafHash?: undefined } | { leafHash: Uint8Array; entry?: undefined }) & {
  index: number | bigint;
  proof: readonly Uint8Array[];
  /** The signed checkpoint note text the proof is against. */
  checkpoint: string;
  /** The tree size the sender claims; if given, it must be the checkpoint's. */
  treeSize?: number | bigint;
};

function headEvidence(head: { size: bigint; root: Uint8Array; note?: string | undefined }): TreeHeadEvidence {
  return { size: head.size.toString(), root: hexOf(head.root), ...(head.note === undefined ? {} : { note: head.note }) };
}

/**
 * Keeps the last verified checkpoint of one log and advances it only on a validly signed
 * checkpoint plus a valid consistency proof. Synchronous and storage-free: persist
 * `client.trusted` yourself and pass it back as `trusted`.
 *
 * @example
 * const client = new LogClient({ logKey: { name: 'veilgate.example/audit', publicKey } });
 * client.update(noteText, []);             // first checkpoint: trusted on its signature
 * client.update(nextNoteText, proof);      // later ones: signature and consistency
 */
export class LogClient {
  readonly logKey: NoteVerifier;
  readonly origin: string;
  #head: TrustedTreeHead;

  constructor(options: LogClientOptions) {
    this.logKey = options.logKey;
    this.origin = options.origin ?? options.logKey.name;
    const saved = options.trusted;
    if (saved === undefined) {
      this.#head = { size: 0n, root: emptyRoot() };
      return;
    }
    const size = toUint64(saved.size, 'trusted.size');
    if (!(saved.root instanceof Uint8Array) || saved.root.length !== RFC6962_HASH_SIZE) throw new TypeError('trusted.root must be 32 bytes');
    // RFC 9162 §2.1.1: the empty tree has exactly one root.
    if (size === 0n && !equalBytes(saved.root, emptyRoot())) throw new TypeError('a trusted size of 0 needs the empty root');
    if (saved.note !== undefined) {
      // A saved note must still be the log's, and state this very head.
      const checkpoint = verifyCheckpoint(saved.note, { logKey: this.logKey, origin: this.origin });
      if (checkpoint.size !== size || !equalBytes(checkpoint.root, saved.root)) {
        throw new LogVerificationError('checkpoint_invalid', 'the saved note does not state the saved tree head');
      }
    }
    this.#head = { size, root: saved.root.slice(), ...(saved.note === undefined ? {} : { note: saved.note }) };
  }

  /**
   * The tree head verified last (a copy).
   *
   * @example
   * localStorage.setItem('log', JSON.stringify({ ...client.trusted, size: String(client.trusted.size) }));
   */
  get trusted(): TrustedTreeHead {
    const { size, root, note } = this.#head;
    return { size, root: root.slice(), ...(note === undefined ? {} : { note }) };
  }

  /**
   * Verifies a new signed checkpoint against the log key, then its consistency with the trusted
   * tree head (`proof` from the trusted size to the new one), and only then trusts it. From the
   * empty tree nothing needs proving (`proof` must be empty). Throws `checkpoint_invalid` for a
   * bad note, `consistency_invalid` for a rollback, a fork at equal size or a proof that does
   * not hold, `proof_malformed` for a proof of the wrong shape; the evidence then holds both
   * tree heads with their notes (`from` = trusted, `to` = offered) and the proof.
   *
   * @example
   * const head = client.update(await (await fetch(`${hub}/log/checkpoint`)).text(), proof);
   */
  update(note: string, proof: readonly Uint8Array[]): VerifiedCheckpoint {
    const checkpoint = verifyCheckpoint(note, { logKey: this.logKey, origin: this.origin });
    const from = this.#head;
    const evidence = (extra: LogEvidence = {}): LogEvidence => ({
      ...extra,
      from: headEvidence(from),
      to: headEvidence(checkpoint),
      proof: Array.isArray(proof) && proof.every((h) => h instanceof Uint8Array) ? hexProof(proof) : [],
    });
    if (checkpoint.size < from.size) {
      throw new LogVerificationError('consistency_invalid', `rollback: the log offers size ${checkpoint.size} after ${from.size}`, evidence());
    }
    if (from.size === 0n && checkpoint.size > 0n) {
      // RFC 9162 §2.1.4: every tree extends the empty tree, and no proof shows it.
      if (!Array.isArray(proof) || proof.length !== 0) {
        throw new LogVerificationError('proof_malformed', 'no consistency proof exists from the empty tree; send none', evidence());
      }
    } else {
      try {
        verifyConsistency({ size1: from.size, size2: checkpoint.size, root1: from.root, root2: checkpoint.root, proof });
      } catch (cause) {
        if (!(cause instanceof LogVerificationError)) throw cause;
        const fork = checkpoint.size === from.size && cause.code === 'consistency_invalid';
        const message = fork ? `fork: two different roots for size ${from.size}` : cause.message;
        throw new LogVerificationError(cause.code, message, evidence(cause.evidence), { cause });
      }
    }
    this.#head = { size: checkpoint.size, root: checkpoint.root.slice(), note };
    return checkpoint;
  }
}

/**
 * Verifies a receipt: the checkpoint's signature by the log key (and its origin), then the
 * inclusion of the entry at `index` under the checkpoint's root (RFC 9162 §2.1.3.2). Returns
 * the verified checkpoint; throws `LogVerificationError` otherwise. A receipt alone does not
 * show that the log shows everyone the same tree: feed its checkpoint to a `LogClient` (or to
 * witnesses) for that.
 *
 * @example
 * const checkpoint = verifyReceipt({ entry, index, proof, checkpoint: note }, { logKey });
 */
export function verifyReceipt(receipt: Receipt, options: { logKey: NoteVerifier; origin?: string }): VerifiedCheckpoint {
  const hasEntry = receipt.entry instanceof Uint8Array;
  const hasLeafHash = receipt.leafHash instanceof Uint8Array;
  if (hasEntry === hasLeafHash) throw new TypeError('a receipt needs exactly one of entry and leafHash');
  const checkpoint = verifyCheckpoint(receipt.checkpoint, options);
  // The proof only means something against the signed size: a different claimed size is a lie.
  if (receipt.treeSize !== undefined && toUint64(receipt.treeSize, 'treeSize') !== checkpoint.size) {
    throw new LogVerificationError('proof_malformed', `receipt tree size ${receipt.treeSize} is not the checkpoint's ${checkpoint.size}`);
  }
  const leafHash = receipt.entry instanceof Uint8Array ? hashLeaf(receipt.entry) : (receipt.leafHash as Uint8Array);
  verifyInclusion({ leafHash, index: receipt.index, treeSize: checkpoint.size, proof: receipt.proof, root: checkpoint.root });
  return checkpoint;
}
