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
import { verifyCosignature } from './log/cosignature.ts';
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
 * - `witness_signature`: a pinned witness's line in the note does not verify (`params.node`, `detail`);
 * - `witnesses_unpinned`: no witness keys are pinned, so nothing the hub shows can be counted
 *   (fails closed: the keys come from the auditor's configuration or saved file, never the hub);
 * - `witness_key_changed`: the hub names another key for a pinned witness (`params.node`,
 *   `pinned` and `stated` fingerprints): an alert, resolved only by the auditor re-pinning;
 * - `witness_quorum`: fewer than `quorum` pinned witnesses cosigned the checkpoint within the
 *   freshness bound (`params.cosigned`, `quorum`, `pinned`, `missing`, `stale` node names,
 *   `maxAgeSeconds`): the log may be rolled back, rewritten or shown only to this auditor;
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
  | 'witnesses_unpinned'
  | 'witness_key_changed'
  | 'witness_quorum'
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

/** The auditor's pinned witnesses: keys, and k of k-of-n (default a majority of the keys). */
export interface PinnedWitnesses {
  keys: WitnessKey[];
  quorum?: number;
}

/**
 * Longest a cosignature may be old and still count, in seconds (the hub asks its witnesses
 * again every 10 minutes, protocol.md §8): older ones may be a rolled-back log's leftovers.
 */
export const DEFAULT_MAX_WITNESS_AGE_SECONDS = 3600;
/** How far in the future a cosignature's time may be (clock skew), in seconds. */
const MAX_CLOCK_SKEW_SECONDS = 300;

/** k of n when the auditor did not say: a majority, ⌊n/2⌋ + 1, as the hub counts (protocol.md §8). */
export function majorityQuorum(n: number): number {
  return Math.floor(n / 2) + 1;
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
   * Cosignatures counted over the pinned keys only (`options.witnesses`): `cosigned` names
   * the witnesses with a valid cosignature no older than the freshness bound, `stale` those
   * whose cosignature is older; `witnessed` = at least `quorum` fresh ones. `stated` is what
   * the hub's response names (for pinning on first use and change alerts), never counted.
   */
  witnesses: {
    cosigned: string[];
    stale: string[];
    quorum: number;
    witnessed: boolean;
    pinned: boolean;
    /** The newest counted cosignature's time (ISO 8601), if any. */
    newest?: string;
    stated: { keys: WitnessKey[]; quorum: number };
  };
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

/** A key's fingerprint for alerts: SHA-256 of the raw key, first 16 hex digits. */
function fingerprintOf(publicKey: string): string {
  try {
    return sha256Hex(fromBase64Url(publicKey)).slice(0, 16);
  } catch {
    return 'malformed';
  }
}

/**
 * Counts the pinned witnesses' fresh cosignatures on a verified checkpoint note and says what
 * keeps it from a quorum. A cosignature counts when it is by a pinned key and its time is in
 * [now − maxAge, now + skew]: c2sp.org/tlog-cosignature makes it a statement that, at that time,
 * this was the largest consistent tree the witness had seen, so an old one cannot vouch that
 * the log was not cut back since (the rollback a hub can make by deleting rows).
 */
function checkWitnesses(
  note: string,
  stated: { keys: WitnessKey[]; quorum: number },
  pinned: { keys: WitnessKey[]; quorum: number } | undefined,
  bound: { maxAgeSeconds: number; nowSeconds: number },
): { summary: LogVerification['witnesses']; problems: LogProblem[] } {
  const problems: LogProblem[] = [];
  const cosigned: string[] = [];
  const stale: string[] = [];
  const missing: string[] = [];
  let newest: number | undefined;
  if (!pinned || pinned.keys.length === 0) {
    problems.push({ code: 'witnesses_unpinned', message: 'no witness keys are pinned: the hub names its own witnesses, so none can be counted' });
    return { summary: { cosigned, stale, quorum: 0, witnessed: false, pinned: false, stated }, problems };
  }
  const statedKeys = new Map(stated.keys.map((w) => [w.node, w.signingKey]));
  for (const w of pinned.keys) {
    const now = statedKeys.get(w.node);
    if (now !== undefined && now !== w.signingKey) {
      const params = { node: w.node, pinned: fingerprintOf(w.signingKey), stated: fingerprintOf(now) };
      problems.push({ code: 'witness_key_changed', message: `the hub names another key for witness ${w.node} (pinned ${params.pinned}, stated ${params.stated})`, params });
    }
    let time: number | undefined;
    try {
      time = verifyCosignature(note, { name: w.node, publicKey: fromBase64Url(w.signingKey) });
    } catch (err) {
      const detail = detailOf(err);
      problems.push({ code: 'witness_signature', message: `witness signature of ${w.node}: ${detail}`, params: { node: w.node, detail } });
      continue;
    }
    if (time === undefined) missing.push(w.node);
    else if (time < bound.nowSeconds - bound.maxAgeSeconds || time > bound.nowSeconds + MAX_CLOCK_SKEW_SECONDS) stale.push(w.node);
    else {
      cosigned.push(w.node);
      if (newest === undefined || time > newest) newest = time;
    }
  }
  const witnessed = cosigned.length >= pinned.quorum;
  if (!witnessed) {
    const params = {
      cosigned: cosigned.length, quorum: pinned.quorum, pinned: pinned.keys.length,
      missing: missing.join(', '), stale: stale.join(', '), maxAgeSeconds: bound.maxAgeSeconds,
    };
    problems.push({
      code: 'witness_quorum',
      message: `${cosigned.length} of ${pinned.keys.length} pinned witnesses cosigned this checkpoint in the last ${bound.maxAgeSeconds} s, ${pinned.quorum} needed`
        + `${missing.length ? `; no cosignature from ${params.missing}` : ''}${stale.length ? `; too old from ${params.stale}` : ''}`,
      params,
    });
  }
  return {
    summary: { cosigned, stale, quorum: pinned.quorum, witnessed, pinned: true, ...(newest !== undefined ? { newest: new Date(newest * 1000).toISOString() } : {}), stated },
    problems,
  };
}

/**
 * Verifies a whole log from scratch (or from a saved trusted checkpoint): the checkpoint's
 * signature, that every entry is present and hashes to its leaf, that the entries rebuild
 * the signed root, and — from a saved checkpoint — that the log only grew. When the entries
 * do not rebuild the root, bisects with consistency proofs to name the first bad entry.
 * Sizes and roots reported come from the signed note, never from the response's own fields.
 *
 * Fails closed on witnesses (protocol.md §8): the verdict is OK only if at least `quorum` of
 * the pinned `witnesses` (default quorum: a majority of them) cosigned the checkpoint
 * (c2sp.org/tlog-cosignature) within `maxWitnessAgeSeconds`. Keys the hub names are never
 * counted: without pinned keys the verdict is `witnesses_unpinned`.
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
    witnesses?: PinnedWitnesses;
    maxWitnessAgeSeconds?: number;
    /** The current time in ms (default `Date.now()`), for the freshness bound. */
    now?: number;
    pageSize?: number;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<LogVerification> {
  const problems: LogProblem[] = [];
  const head = await source.checkpoint();
  const stated = { keys: head.witnesses.map((w) => ({ node: w.node, signingKey: w.signingKey })), quorum: head.witnessQuorum };
  const pinnedKeys = options.witnesses?.keys ?? [];
  const pinned = pinnedKeys.length > 0;
  const quorum = options.witnesses?.quorum ?? majorityQuorum(pinnedKeys.length);
  if (pinned && (!Number.isSafeInteger(quorum) || quorum < 1 || quorum > pinnedKeys.length)) {
    throw new TypeError(`witnesses.quorum must be between 1 and ${pinnedKeys.length}`);
  }
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
      witnesses: { cosigned: [], stale: [], quorum, witnessed: false, pinned, stated },
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
  const witnesses = checkWitnesses(checkpoint.note, stated, options.witnesses ? { keys: pinnedKeys, quorum } : undefined, {
    maxAgeSeconds: options.maxWitnessAgeSeconds ?? DEFAULT_MAX_WITNESS_AGE_SECONDS,
    nowSeconds: Math.floor((options.now ?? Date.now()) / 1000),
  });
  problems.push(...witnesses.problems);
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
    witnesses: witnesses.summary,
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
