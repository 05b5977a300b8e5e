/**
 * The auditor pages' data: reading the hub's log (entries, proofs, checkpoints, traces),
 * checking signatures and hashes in the browser with the SDK against the pinned log identity
 * (trust.ts), and the last verification of the log (shared by the log and entry pages).
 */
import { useSyncExternalStore } from 'react';
import {
  canonicalBytes, fromBase64, fromBase64Url, hashLeaf, majorityQuorum, toBase64, verifyCheckpoint, verifyCosignature, verifyInclusion, verifyLog,
  type LogIdentity, type LogProblem, type LogVerification, type VeilgateClient, type VerifiedCheckpoint, type components,
} from '@veilgate/sdk';
import { expectedLog, loadTrusted, saveTrusted } from './trust.ts';

type S = components['schemas'];
export type AuditEntry = S['AuditEntry'];
export type Checkpoint = S['Checkpoint'];
export type Trace = S['Trace'];
/** An event as the log holds it: `v`, `type`, `time` and the event's own fields. */
export type AuditEvent = AuditEntry['entry'];

/** One entry, or undefined when the log has none at `index`; with the log's size. */
export async function fetchEntry(client: VeilgateClient, index: number): Promise<{ entry: AuditEntry | undefined; logSize: number }> {
  const page = await client.auditEntries(index, 1);
  const entry = page.entries.find((e) => e.index === index);
  return { entry, logSize: page.treeSize };
}

/** The leaf hash of an event recomputed here: SHA-256(0x00 ‖ RFC 8785 canonical JSON), base64. */
export function recomputeLeafHash(event: AuditEvent): string {
  return toBase64(hashLeaf(canonicalBytes(event)));
}


/** The checkpoint's log signature, checked against the expected (pinned) log identity, never the key in the same response. */
export type SignatureCheck =
  | { ok: true; size: number; root: string; fieldsDiffer: boolean }
  | { ok: false; message: string };

export function checkCheckpoint(cp: Checkpoint, log: LogIdentity): SignatureCheck {
  let verified: VerifiedCheckpoint;
  try {
    verified = verifyCheckpoint(cp.note, { logKey: { name: log.origin, publicKey: fromBase64Url(log.publicKey) } });
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  const size = Number(verified.size);
  const root = toBase64(verified.root);
  return { ok: true, size, root, fieldsDiffer: size !== cp.treeSize || root !== cp.rootHash };
}

/** Whether a witness's timestamped cosignature (c2sp.org/tlog-cosignature) in the note verifies under `signingKey`. */
export function cosignatureValid(note: string, node: string, signingKey: string): boolean {
  try {
    return verifyCosignature(note, { name: node, publicKey: fromBase64Url(signingKey) }) !== undefined;
  } catch {
    return false;
  }
}

/** An inclusion proof that was checked against a signed checkpoint. */
export interface InclusionResult {
  treeSize: number;
  proofLength: number;
  root: string;
}

/** Thrown when the entry is newer than the latest signed checkpoint. */
export class NotYetSignedError extends Error {
  readonly index: number;
  readonly treeSize: number;
  constructor(index: number, treeSize: number) {
    super(`entry ${index} is not in the checkpoint of size ${treeSize}`);
    this.index = index;
    this.treeSize = treeSize;
  }
}

/**
 * Proves an entry is in the signed tree: verifies the current checkpoint's signature against
 * the expected log identity, fetches the audit path for `index` under that checkpoint and
 * checks that it leads from the leaf hash recomputed here (not the one the hub serves) to the
 * signed root.
 */
export async function proveInclusion(client: VeilgateClient, index: number, event: AuditEvent): Promise<InclusionResult> {
  const cp = await client.checkpoint();
  const log = await expectedLog(client);
  const checkpoint = verifyCheckpoint(cp.note, { logKey: { name: log.origin, publicKey: fromBase64Url(log.publicKey) } });
  const treeSize = Number(checkpoint.size);
  if (index >= treeSize) throw new NotYetSignedError(index, treeSize);
  const proof = await client.inclusionProof(index, treeSize);
  verifyInclusion({ leafHash: hashLeaf(canonicalBytes(event)), index, treeSize, proof: proof.proof.map(fromBase64), root: checkpoint.root });
  return { treeSize, proofLength: proof.proof.length, root: toBase64(checkpoint.root) };
}

/** `GET /v1/audit/trace/{entry}`, every step verified against the expected log identity; with the verified checkpoint. */
export async function verifiedTrace(client: VeilgateClient, target: string): Promise<{ trace: Trace; checkpoint: VerifiedCheckpoint }> {
  return client.verifiedTrace(target, await expectedLog(client));
}

/** A hash cut to its first characters for tables (the full value goes in `title`). */
export function shortHash(value: string, length = 12): string {
  return value.length > length ? `${value.slice(0, length)}…` : value;
}

/**
 * A log entry's time. Unlike components/format.ts `formatDateTime` (minutes), this keeps the
 * seconds: consecutive log entries are often seconds apart, and an auditor reads their order
 * and timing from them. Same locale tag (`useLocale()`) and date style otherwise.
 */
export function formatLogTime(iso: unknown, locale: string): string {
  if (typeof iso !== 'string') return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' }).format(d);
}

// ----------------------------------------------------------------------------------------
// The last verification of the log, per signed-in client, for the log and entry pages.
// ----------------------------------------------------------------------------------------

/** A finished verification and the saved checkpoint it started from. */
export interface VerificationRecord {
  result: LogVerification;
  trusted: { size: number; root: string } | undefined;
  /** The witness keys were pinned by this verification, from the hub's list (trust on first use). */
  firstUse: boolean;
}

let last: { client: VeilgateClient; record: VerificationRecord | undefined } | undefined;
const listeners = new Set<() => void>();

/** Records the last verification (undefined: forget it, e.g. after the pinned keys changed). */
export function rememberVerification(client: VeilgateClient, record: VerificationRecord | undefined): void {
  last = { client, record };
  for (const l of listeners) l();
}

/** The last verification made with this client (this sign-in), if any. */
export function useLastVerification(client: VeilgateClient): VerificationRecord | undefined {
  const snapshot = useSyncExternalStore(
    (onChange) => {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    () => last,
  );
  return snapshot?.client === client ? snapshot.record : undefined;
}

/**
 * Verifies the whole log with the SDK against the pinned identity, from the pinned anchor,
 * counting only pinned witnesses, as the CLI does (protocol.md §8): the verdict is not OK
 * without a quorum of fresh cosignatures by them. On first use, the keys the hub names are
 * pinned (trust on first use, shown as such) with at least a majority quorum, whatever k the hub states.
 * A good verification pins what it saw: the size and root as the signed note states them
 * (checked again here), the identity, and the witness keys and quorum unless already pinned.
 */
export async function verifyWholeLog(client: VeilgateClient, onProgress: (done: number, total: number) => void): Promise<VerificationRecord> {
  const record = loadTrusted();
  const log = await expectedLog(client);
  const trusted = record?.size !== undefined && record.root !== undefined ? { size: record.size, root: record.root } : undefined;
  let pinnedWitnesses = record?.witnesses?.length && record.quorum !== undefined ? { keys: record.witnesses, quorum: record.quorum } : undefined;
  const firstUse = !pinnedWitnesses;
  if (!pinnedWitnesses) {
    const cp = await client.checkpoint();
    const stated = cp.witnesses.map((w) => ({ node: w.node, signingKey: w.signingKey }));
    if (stated.length > 0) pinnedWitnesses = { keys: stated, quorum: Math.max(cp.witnessQuorum, majorityQuorum(stated.length)) };
  }
  const result = await verifyLog(client.logSource(), {
    log,
    onProgress,
    ...(trusted ? { trusted } : {}),
    ...(pinnedWitnesses ? { witnesses: pinnedWitnesses } : {}),
  });
  if (result.ok && result.checkpoint && pinnedWitnesses) {
    const signed = verifyCheckpoint(result.checkpoint.note, { logKey: { name: log.origin, publicKey: fromBase64Url(log.publicKey) } });
    saveTrusted({
      origin: log.origin,
      logKey: log.publicKey,
      witnesses: pinnedWitnesses.keys,
      quorum: pinnedWitnesses.quorum,
      size: Number(signed.size),
      root: toBase64(signed.root),
      verifiedAt: new Date().toISOString(),
    });
  }
  return { result, trusted, firstUse };
}

/** Problems that put the whole signed tree in doubt: no entry counts as confirmed under them. */
const HISTORY_PROBLEMS: ReadonlySet<LogProblem['code']> = new Set(['checkpoint_signature', 'log_shrank', 'consistency']);
const MISSING: ReadonlySet<LogProblem['code']> = new Set(['entry_missing', 'entries_missing']);

/**
 * The status of one entry under the last verification: proven in the signed tree, flagged by
 * a problem naming it (missing or tampered, from the problem's code), unconfirmed (the
 * verification failed and did not prove this entry), or not checked (newer than it).
 */
export type EntryStatus =
  | { kind: 'verified' }
  | { kind: 'flagged'; missing: boolean; problem: LogProblem }
  | { kind: 'unconfirmed' }
  | { kind: 'unchecked' };

export function entryStatus(record: VerificationRecord | undefined, index: number): EntryStatus {
  if (!record) return { kind: 'unchecked' };
  const { result } = record;
  const problem = result.problems.find((p) => p.index === index);
  if (problem) return { kind: 'flagged', missing: MISSING.has(problem.code), problem };
  if (index >= result.treeSize) return { kind: 'unchecked' };
  const doubt = result.problems.some((p) => HISTORY_PROBLEMS.has(p.code));
  return index < result.entriesConfirmed && !doubt ? { kind: 'verified' } : { kind: 'unconfirmed' };
}
