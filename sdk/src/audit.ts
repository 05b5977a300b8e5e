/**
 * Auditor- and researcher-side checks of a Veilgate audit log (DESIGN §9): receipts of
 * query results, whole-log verification from scratch or from a saved checkpoint, and
 * traces. Everything here recomputes hashes itself; nothing the server says is taken on
 * trust except what the log key signed.
 */
import { canonicalBytes, canonicalSha256 } from './protocol/canonical.ts';
import { fromBase64, fromBase64Url, sha256Hex, toBase64, toHex } from './internal/bytes.ts';
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

/**
 * What a log verification found, as a stable code (the `message` is English for logs and
 * may change; display and translate by `code` and `params`):
 * - `checkpoint_signature`: the checkpoint note is malformed or not signed by the log key
 *   (`params.detail`); nothing else was checked;
 * - `checkpoint_mismatch`: the response's `treeSize`/`rootHash` fields differ from the signed
 *   note (`params.statedSize`, `statedRoot`, `signedSize`, `signedRoot`);
 * - `witness_signature`: a witness's line in the note does not verify (`params.node`, `detail`);
 * - `entries_missing`: entry `index` and every later one are missing;
 * - `entry_missing`: entry `index` is missing;
 * - `entry_hash_mismatch`: entry `index` does not hash to its stored leaf hash (content changed);
 * - `entry_not_in_tree`: entry `index` is the first that does not match the signed tree
 *   (edited together with its leaf hash, removed or moved);
 * - `root_mismatch`: the entries rebuild another root than the signed one (`params.computed`,
 *   `params.signed`, hex);
 * - `log_shrank`: the log is smaller than the saved checkpoint (`params.from`, `params.to`);
 * - `consistency`: the log is not consistent with the saved checkpoint (`params.size`, `detail`).
 */
export type LogProblemCode =
  | 'checkpoint_signature'
  | 'checkpoint_mismatch'
  | 'witness_signature'
  | 'entries_missing'
  | 'entry_missing'
  | 'entry_hash_mismatch'
  | 'entry_not_in_tree'
  | 'root_mismatch'
  | 'log_shrank'
  | 'consistency';

/** One problem found by a log verification, naming the entry where it can. */
export interface LogProblem {
  code: LogProblemCode;
  index?: number;
  message: string;
  /** The values the message names (see `LogProblemCode`), for showing it in another language. */
  params?: Record<string, string | number>;
}

/** A witness: its node name and Ed25519 public key (base64url). */
export interface WitnessKey {
  node: string;
  signingKey: string;
}

/** The outcome of verifying a whole log. */
export interface LogVerification {
  ok: boolean;
  /** The size and root (base64) of the signed checkpoint; the response's fields when its signature did not verify. */
  treeSize: number;
  rootHash: string;
  entriesChecked: number;
  /**
   * Entries `0 … entriesConfirmed − 1` are proven to be in the signed tree: all of them when
   * the entries rebuild the signed root, else the longest prefix a consistency proof ties to it.
   */
  entriesConfirmed: number;
  /**
   * Co-signatures counted over `options.witnesses` when given (pinned keys), else over the
   * witnesses the hub's response names (`stated`, trust on first use).
   */
  witnesses: { cosigned: string[]; quorum: number; witnessed: boolean; pinned: boolean; stated: { keys: WitnessKey[]; quorum: number } };
  problems: LogProblem[];
  /** The verified checkpoint: size and root (base64) as the signed note states them. Save it; pass it back as `trusted` next time. */
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

/** The message of an error, without the "checkpoint: " prefix the log library puts on its own. */
function detailOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^checkpoint: /, '');
}

/** Whether a base64 text decodes to exactly these bytes. */
function sameBase64(text: string, bytes: Uint8Array): boolean {
  try {
    return hex(fromBase64(text)) === hex(bytes);
  } catch {
    return false;
  }
}

/**
 * Verifies a whole log from scratch (or from a saved trusted checkpoint): the checkpoint's
 * signature, that every entry is present and hashes to its leaf, that the entries rebuild
 * the signed root, and — from a saved checkpoint — that the log only grew. When the entries
 * do not rebuild the root, bisects with consistency proofs to name the first bad entry.
 * Sizes and roots reported come from the signed note, never from the response's own fields.
 *
 * `witnesses` pins the witness keys and quorum to count (e.g. saved on first use); without
 * it the witnesses the hub names are counted, which the hub itself chooses.
 *
 * @example
 * const report = await verifyLog(source, { log, onProgress: (n, total) => … });
 * if (!report.ok) for (const p of report.problems) console.error(p.code, p.index, p.message);
 */
export async function verifyLog(
  source: LogSource,
  options: {
    log: LogIdentity;
    trusted?: { size: number; root: string };
    witnesses?: { keys: WitnessKey[]; quorum: number };
    pageSize?: number;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<LogVerification> {
  const problems: LogProblem[] = [];
  const head = await source.checkpoint();
  const stated = { keys: head.witnesses.map((w) => ({ node: w.node, signingKey: w.signingKey })), quorum: head.witnessQuorum };
  const counted = options.witnesses ?? stated;
  const pinned = options.witnesses !== undefined;
  let checkpoint: VerifiedCheckpoint;
  try {
    checkpoint = verifyCheckpoint(head.note, { logKey: { name: options.log.origin, publicKey: fromBase64Url(options.log.publicKey) } });
  } catch (err) {
    const detail = detailOf(err);
    return {
      ok: false,
      treeSize: head.treeSize,
      rootHash: head.rootHash,
      entriesChecked: 0,
      entriesConfirmed: 0,
      witnesses: { cosigned: [], quorum: counted.quorum, witnessed: false, pinned, stated },
      problems: [{ code: 'checkpoint_signature', message: `checkpoint: ${detail}`, params: { detail } }],
    };
  }
  const size = Number(checkpoint.size);
  const signedRoot = checkpoint.root;
  if (head.treeSize !== size || !sameBase64(head.rootHash, signedRoot)) {
    problems.push({
      code: 'checkpoint_mismatch',
      message: `the response states tree size ${head.treeSize} and root ${head.rootHash}, the signed checkpoint ${size} and ${toBase64(signedRoot)}`,
      params: { statedSize: head.treeSize, statedRoot: head.rootHash, signedSize: size, signedRoot: toBase64(signedRoot) },
    });
  }
  const cosigned: string[] = [];
  for (const w of counted.keys) {
    try {
      if (countValidSignatures(head.note, [{ name: w.node, publicKey: fromBase64Url(w.signingKey) }]) === 1) cosigned.push(w.node);
    } catch (err) {
      const detail = detailOf(err);
      problems.push({ code: 'witness_signature', message: `witness signature of ${w.node}: ${detail}`, params: { node: w.node, detail } });
    }
  }
  // Read every entry, recompute its leaf hash, and note gaps and mismatches by index.
  const leaves: Uint8Array[] = [];
  const pageSize = options.pageSize ?? 1000;
  for (let start = 0; start < size; ) {
    const page = await source.entries(start, Math.min(pageSize, size - start));
    if (page.entries.length === 0) {
      problems.push({ code: 'entries_missing', index: start, message: `entry ${start} and later are missing` });
      break;
    }
    for (const e of page.entries) {
      if (e.index >= size) break;
      while (start < e.index) {
        problems.push({ code: 'entry_missing', index: start, message: `entry ${start} is missing` });
        leaves.push(new Uint8Array(32));
        start++;
      }
      const leaf = hashLeaf(canonicalBytes(e.entry));
      if (!sameBase64(e.leafHash, leaf)) problems.push({ code: 'entry_hash_mismatch', index: e.index, message: `entry ${e.index} does not hash to its stored leaf hash (content changed)` });
      leaves.push(leaf);
      start = e.index + 1;
    }
    options.onProgress?.(start, size);
  }
  const computed = leaves.length >= size ? rootOfPrefix(leaves, size) : undefined;
  let confirmed = computed && hex(computed) === hex(signedRoot) ? size : 0;
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
    confirmed = good;
    if (!problems.some((p) => p.index === good)) {
      problems.push({ code: 'entry_not_in_tree', index: good, message: `entry ${good} does not match the signed tree (edited, removed or moved)` });
    }
    problems.push({
      code: 'root_mismatch',
      message: `the entries rebuild root ${hex(computed)}, the checkpoint signed ${hex(signedRoot)}`,
      params: { computed: hex(computed), signed: hex(signedRoot) },
    });
  }
  if (options.trusted) {
    const trustedRoot = fromBase64(options.trusted.root);
    if (options.trusted.size > size) {
      problems.push({ code: 'log_shrank', message: `the log shrank from ${options.trusted.size} to ${size} entries`, params: { from: options.trusted.size, to: size } });
    } else if (options.trusted.size > 0) {
      try {
        const proof = options.trusted.size === size ? { proof: [] } : await source.consistency(options.trusted.size, size);
        verifyConsistency({ size1: options.trusted.size, size2: size, root1: trustedRoot, root2: signedRoot, proof: proof.proof.map(fromBase64) });
      } catch (err) {
        const detail = detailOf(err);
        problems.push({
          code: 'consistency',
          message: `not consistent with the saved checkpoint of size ${options.trusted.size}: ${detail}`,
          params: { size: options.trusted.size, detail },
        });
      }
    }
  }
  problems.sort((a, b) => (a.index ?? Infinity) - (b.index ?? Infinity));
  return {
    ok: problems.length === 0,
    treeSize: size,
    rootHash: toBase64(signedRoot),
    entriesChecked: Math.min(leaves.length, size),
    entriesConfirmed: confirmed,
    witnesses: { cosigned, quorum: counted.quorum, witnessed: counted.quorum > 0 && cosigned.length >= counted.quorum, pinned, stated },
    problems,
    ...(problems.length === 0 ? { checkpoint: { size, root: toBase64(signedRoot), note: checkpoint.note } } : {}),
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
