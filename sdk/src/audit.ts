/**
 * Auditor- and researcher-side checks of a Veilgate audit log (DESIGN §9): receipts of
 * query results, whole-log verification from scratch or from a saved checkpoint, and
 * traces. Everything here recomputes hashes itself; nothing the server says is taken on
 * trust except what the log key signed.
 */
import { canonicalBytes, canonicalSha256 } from './protocol/canonical.ts';
import { fromBase64, fromBase64Url, sha256Hex, toHex } from './internal/bytes.ts';
import { hashLeaf, hashChildren, emptyRoot } from './log/hash.ts';
import { verifyCheckpoint, type VerifiedCheckpoint } from './log/checkpoint.ts';
import { verifyReceipt } from './log/log-client.ts';
import { verifyConsistency, verifyInclusion } from './log/verify.ts';
import { countValidSignatures } from './log/signed-note.ts';
import { LogVerificationError } from './log/errors.ts';
import type { components } from './generated/openapi.ts';

type S = components['schemas'];

/** The log a client trusts: its origin (key name) and Ed25519 public key (base64url). */
export interface LogIdentity {
  origin: string;
  publicKey: string;
}

/**
 * The digest a `query.completed` entry records for a result: SHA-256 of the canonical JSON
 * of the result ciphertexts' SHA-256 hashes (protocol.md §8).
 *
 * @example
 * resultDigest(ciphertextBytes) === receipt.entry.resultSha256;
 */
export function resultDigest(ciphertexts: Uint8Array[]): string {
  return canonicalSha256({ ciphertextSha256: ciphertexts.map(sha256Hex) });
}

/**
 * Verifies a query result's receipt: the entry is this query's `query.completed` with this
 * result's digest, it is included under the checkpoint, and the log key signed the
 * checkpoint. Throws `LogVerificationError` (or a plain Error for a mismatched entry).
 *
 * @example
 * verifyQueryReceipt(result.receipt, { queryId, ciphertexts }, log);
 */
export function verifyQueryReceipt(receipt: S['Receipt'], result: { queryId: string; ciphertexts: Uint8Array[] }, log: LogIdentity): VerifiedCheckpoint {
  const entry = receipt.entry;
  if (entry.type !== 'query.completed' || entry.queryId !== result.queryId || entry.resultSha256 !== resultDigest(result.ciphertexts)) {
    throw new LogVerificationError('inclusion_invalid', `receipt: entry ${receipt.index} is not the completion of query ${result.queryId} with this result`, {});
  }
  return verifyReceipt(
    { entry: canonicalBytes(entry), index: receipt.index, proof: receipt.proof.map(fromBase64), checkpoint: receipt.checkpoint, treeSize: receipt.treeSize },
    { logKey: { name: log.origin, publicKey: fromBase64Url(log.publicKey) } },
  );
}

/** One problem found by a log verification, naming the entry where it can. */
export interface LogProblem {
  index?: number;
  message: string;
}

/** The outcome of verifying a whole log. */
export interface LogVerification {
  ok: boolean;
  treeSize: number;
  rootHash: string;
  entriesChecked: number;
  witnesses: { cosigned: string[]; quorum: number; witnessed: boolean };
  problems: LogProblem[];
  /** The verified checkpoint (save it; pass it back as `trusted` next time). */
  checkpoint?: { size: number; root: string; note: string };
}

/** What `verifyLog` reads from a server. */
export interface LogSource {
  checkpoint(): Promise<S['Checkpoint']>;
  entries(start: number, limit: number): Promise<S['AuditEntryPage']>;
  consistency(from: number, to: number): Promise<S['ConsistencyProof']>;
}

/** RFC 9162 §2.1.1 root over leaf hashes in O(log n) memory (a compact range). */
function rootOfPrefix(leaves: Uint8Array[], size: number): Uint8Array {
  if (size === 0) return emptyRoot();
  const stack: { level: number; hash: Uint8Array }[] = [];
  for (let i = 0; i < size; i++) {
    let node = { level: 0, hash: leaves[i]! };
    while (stack.length && stack.at(-1)!.level === node.level) {
      const left = stack.pop()!;
      node = { level: node.level + 1, hash: hashChildren(left.hash, node.hash) };
    }
    stack.push(node);
  }
  let root = stack.pop()!.hash;
  while (stack.length) root = hashChildren(stack.pop()!.hash, root);
  return root;
}

const hex = toHex;

/**
 * Verifies a whole log from scratch (or from a saved trusted checkpoint): the checkpoint's
 * signature, that every entry is present and hashes to its leaf, that the entries rebuild
 * the signed root, and — from a saved checkpoint — that the log only grew. When the entries
 * do not rebuild the root, bisects with consistency proofs to name the first bad entry.
 *
 * @example
 * const report = await verifyLog(source, { log, onProgress: (n, total) => … });
 * if (!report.ok) for (const p of report.problems) console.error(p.index, p.message);
 */
export async function verifyLog(
  source: LogSource,
  options: { log: LogIdentity; trusted?: { size: number; root: string }; pageSize?: number; onProgress?: (done: number, total: number) => void },
): Promise<LogVerification> {
  const problems: LogProblem[] = [];
  const head = await source.checkpoint();
  let checkpoint: VerifiedCheckpoint;
  try {
    checkpoint = verifyCheckpoint(head.note, { logKey: { name: options.log.origin, publicKey: fromBase64Url(options.log.publicKey) } });
  } catch (err) {
    return { ok: false, treeSize: head.treeSize, rootHash: head.rootHash, entriesChecked: 0, witnesses: { cosigned: [], quorum: head.witnessQuorum, witnessed: false }, problems: [{ message: `checkpoint: ${(err as Error).message}` }] };
  }
  const size = Number(checkpoint.size);
  const signedRoot = checkpoint.root;
  const verifiers = head.witnesses.map((w) => ({ name: w.node, publicKey: fromBase64Url(w.signingKey) }));
  let cosigned: string[] = [];
  try {
    cosigned = verifiers.filter((v) => countValidSignatures(head.note, [v]) === 1).map((v) => v.name);
  } catch (err) {
    problems.push({ message: `witness signature: ${(err as Error).message}` });
  }
  // Read every entry, recompute its leaf hash, and note gaps and mismatches by index.
  const leaves: Uint8Array[] = [];
  const pageSize = options.pageSize ?? 1000;
  for (let start = 0; start < size; ) {
    const page = await source.entries(start, Math.min(pageSize, size - start));
    if (page.entries.length === 0) {
      problems.push({ index: start, message: `entry ${start} and later are missing` });
      break;
    }
    for (const e of page.entries) {
      if (e.index >= size) break;
      while (start < e.index) {
        problems.push({ index: start, message: `entry ${start} is missing` });
        leaves.push(new Uint8Array(32));
        start++;
      }
      const leaf = hashLeaf(canonicalBytes(e.entry));
      if (hex(leaf) !== hex(fromBase64(e.leafHash))) problems.push({ index: e.index, message: `entry ${e.index} does not hash to its stored leaf hash (content changed)` });
      leaves.push(leaf);
      start = e.index + 1;
    }
    options.onProgress?.(start, size);
  }
  const computed = leaves.length >= size ? rootOfPrefix(leaves, size) : undefined;
  if (computed && hex(computed) !== hex(signedRoot)) {
    // Bisect: the largest m whose prefix is consistent with the signed root names entry m.
    let good = 0;
    let bad = size;
    while (bad - good > 1) {
      const m = Math.floor((good + bad) / 2);
      const proof = await source.consistency(m, size).catch(() => undefined);
      let consistent = false;
      try {
        if (proof) verifyConsistency({ size1: m, size2: size, root1: rootOfPrefix(leaves, m), root2: signedRoot, proof: proof.proof.map(fromBase64) });
        consistent = proof !== undefined;
      } catch {
        consistent = false;
      }
      if (consistent) good = m;
      else bad = m;
    }
    if (!problems.some((p) => p.index === good)) problems.push({ index: good, message: `entry ${good} does not match the signed tree (edited, removed or moved)` });
    problems.push({ message: `the entries rebuild root ${hex(computed)}, the checkpoint signed ${hex(signedRoot)}` });
  }
  if (options.trusted) {
    const trustedRoot = fromBase64(options.trusted.root);
    if (options.trusted.size > size) problems.push({ message: `the log shrank from ${options.trusted.size} to ${size} entries` });
    else if (options.trusted.size > 0) {
      try {
        const proof = options.trusted.size === size ? { proof: [] } : await source.consistency(options.trusted.size, size);
        verifyConsistency({ size1: options.trusted.size, size2: size, root1: trustedRoot, root2: signedRoot, proof: proof.proof.map(fromBase64) });
      } catch (err) {
        problems.push({ message: `not consistent with the saved checkpoint of size ${options.trusted.size}: ${(err as Error).message}` });
      }
    }
  }
  problems.sort((a, b) => (a.index ?? Infinity) - (b.index ?? Infinity));
  return {
    ok: problems.length === 0,
    treeSize: size,
    rootHash: head.rootHash,
    entriesChecked: Math.min(leaves.length, size),
    witnesses: { cosigned, quorum: head.witnessQuorum, witnessed: head.witnessQuorum > 0 && cosigned.length >= head.witnessQuorum },
    problems,
    ...(problems.length === 0 ? { checkpoint: { size, root: head.rootHash, note: head.note } } : {}),
  };
}

/**
 * Verifies every step of a trace: each entry is included under the trace's checkpoint,
 * the checkpoint is signed by the log, and each step is the entry its successor names.
 *
 * @example
 * verifyTrace(trace, log); // throws on any broken step
 */
export function verifyTrace(trace: S['Trace'], log: LogIdentity): VerifiedCheckpoint {
  const checkpoint = verifyCheckpoint(trace.checkpoint, { logKey: { name: log.origin, publicKey: fromBase64Url(log.publicKey) } });
  for (const step of trace.steps) {
    verifyInclusion({ leafHash: hashLeaf(canonicalBytes(step.entry)), index: step.index, treeSize: checkpoint.size, proof: step.proof.map(fromBase64), root: checkpoint.root });
  }
  return checkpoint;
}
