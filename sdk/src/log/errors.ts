/**
 * The one error of the transparency-log library. A verification failure is a claim a client
 * may need to hand to an auditor ("this log showed me two different trees of size 12"), so the
 * error carries its evidence, not just a message: the expected and computed roots, and on an
 * inconsistency both tree heads (with their signed notes when the client has them) and the
 * proof (after transparency-dev/merkle `proof/verify.go` `RootMismatchError` and tessera
 * `client/client.go`). Evidence is JSON-safe: sizes as decimal strings, hashes as hex.
 */
import { bytesToHex } from '@noble/hashes/utils.js';

/**
 * Stable codes of log verification failures:
 * - `inclusion_invalid`: an inclusion proof does not lead to the expected root;
 * - `consistency_invalid`: two tree heads are not consistent (bad proof, fork, rollback);
 * - `checkpoint_invalid`: a signed note or checkpoint is malformed or badly signed;
 * - `proof_malformed`: a proof has the wrong shape (index ≥ size, wrong length, hash size).
 */
export type LogErrorCode = 'inclusion_invalid' | 'consistency_invalid' | 'checkpoint_invalid' | 'proof_malformed';

/** A tree head as evidence: size (decimal), root (hex), and the signed note when there is one. */
export interface TreeHeadEvidence {
  size: string;
  root: string;
  note?: string;
}

/** What a failure is about; every field is optional and JSON-safe. */
export interface LogEvidence {
  /** The root the caller trusts or was given (hex). */
  expectedRoot?: string;
  /** The root recomputed from the proof (hex). */
  computedRoot?: string;
  /** Inclusion: the leaf hash (hex), its index and the tree size (decimal). */
  leafHash?: string;
  index?: string;
  treeSize?: string;
  /** Consistency: the older tree head (size1/root1) and the newer one (size2/root2). */
  from?: TreeHeadEvidence;
  to?: TreeHeadEvidence;
  /** The proof as given (hex), for inclusion and consistency alike. */
  proof?: string[];
  /** Signed notes: the signing key's name and 4-byte key hash (hex). */
  keyName?: string;
  keyHash?: string;
}

/**
 * A transparency-log verification failure, with a stable `code` and its `evidence`.
 * Messages never carry a key; hashes are public and live in `evidence`.
 *
 * @example
 * try { verifyInclusion(args); } catch (e) {
 *   if (e instanceof LogVerificationError) console.log(e.code, e.evidence.computedRoot);
 * }
 */
export class LogVerificationError extends Error {
  readonly code: LogErrorCode;
  readonly evidence: LogEvidence;
  constructor(code: LogErrorCode, message: string, evidence: LogEvidence = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LogVerificationError';
    this.code = code;
    this.evidence = evidence;
  }

  /** A JSON form for an audit report: name, code, message and evidence. */
  toJSON(): { name: string; code: LogErrorCode; message: string; evidence: LogEvidence } {
    return { name: this.name, code: this.code, message: this.message, evidence: this.evidence };
  }
}

/** Lowercase hex of bytes, for evidence. */
export function hexOf(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/** Hex of every hash of a proof, for evidence. */
export function hexProof(proof: readonly Uint8Array[]): string[] {
  return proof.map((h) => bytesToHex(h));
}
