/**
 * The auditor pages' data: reading the hub's log (entries, proofs, checkpoints), checking
 * signatures and hashes in the browser with the SDK, the checkpoint saved for consistency
 * proofs, and the last verification of the log (shared by the log and entry pages).
 */
import { useSyncExternalStore } from 'react';
import {
  ApiError, canonicalBytes, countValidSignatures, fromBase64, fromBase64Url, hashLeaf, toBase64, verifyCheckpoint, verifyInclusion,
  type LogVerification, type VeilgateClient, type VerifiedCheckpoint, type components,
} from '@veilgate/sdk';

type S = components['schemas'];
export type AuditEntry = S['AuditEntry'];
export type Checkpoint = S['Checkpoint'];
/** An event as the log holds it: `v`, `type`, `time` and the event's own fields. */
export type AuditEvent = AuditEntry['entry'];

/** Throws the hub's error as an ApiError (code, field), as the SDK's own calls do. */
function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data !== undefined && result.response.ok) return result.data;
  const body = result.error as { code?: S['ErrorCode']; message?: string; field?: string } | undefined;
  throw new ApiError(result.response.status, {
    code: body?.code ?? 'internal',
    message: body?.message ?? `HTTP ${result.response.status}`,
    ...(body?.field ? { field: body.field } : {}),
  });
}

/** `GET /v1/audit/entries`: entries `start …` (at most `limit`) and the log's size. */
export async function fetchEntries(client: VeilgateClient, start: number, limit: number): Promise<S['AuditEntryPage']> {
  return unwrap(await client.api.GET('/v1/audit/entries', { params: { query: { start: String(start), limit: String(limit) } } }));
}

/** One entry, or undefined when the log has none at `index`; with the log's size. */
export async function fetchEntry(client: VeilgateClient, index: number): Promise<{ entry: AuditEntry | undefined; logSize: number }> {
  const page = await fetchEntries(client, index, 1);
  const entry = page.entries.find((e) => e.index === index);
  return { entry, logSize: page.treeSize };
}

/** The leaf hash of an event recomputed here: SHA-256(0x00 ‖ RFC 8785 canonical JSON), base64. */
export function recomputeLeafHash(event: AuditEvent): string {
  return toBase64(hashLeaf(canonicalBytes(event)));
}

/** The checkpoint's log signature, checked against the log key it states. */
export function checkCheckpointSignature(cp: Checkpoint): { ok: true; checkpoint: VerifiedCheckpoint } | { ok: false; message: string } {
  try {
    return { ok: true, checkpoint: verifyCheckpoint(cp.note, { logKey: { name: cp.origin, publicKey: fromBase64Url(cp.logKey) } }) };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

/** Whether each witness's co-signature in the note verifies under its key. */
export function checkCosignatures(cp: Checkpoint): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const w of cp.witnesses) {
    try {
      out[w.node] = countValidSignatures(cp.note, [{ name: w.node, publicKey: fromBase64Url(w.signingKey) }]) === 1;
    } catch {
      out[w.node] = false;
    }
  }
  return out;
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
 * Proves an entry is in the signed tree: verifies the current checkpoint's signature, fetches
 * the audit path for `index` under that checkpoint and checks that it leads from the leaf
 * hash recomputed here (not the one the hub serves) to the signed root.
 */
export async function proveInclusion(client: VeilgateClient, index: number, event: AuditEvent): Promise<InclusionResult> {
  const cp = await client.checkpoint();
  const log = await client.logIdentity();
  const checkpoint = verifyCheckpoint(cp.note, { logKey: { name: log.origin, publicKey: fromBase64Url(log.publicKey) } });
  const treeSize = Number(checkpoint.size);
  if (index >= treeSize) throw new NotYetSignedError(index, treeSize);
  const proof = unwrap(
    await client.api.GET('/v1/audit/proof/inclusion', { params: { query: { index: String(index), treeSize: String(treeSize) } } }),
  );
  verifyInclusion({ leafHash: hashLeaf(canonicalBytes(event)), index, treeSize, proof: proof.proof.map(fromBase64), root: checkpoint.root });
  return { treeSize, proofLength: proof.proof.length, root: toBase64(checkpoint.root) };
}

/** A hash cut to its first characters for tables (the full value goes in `title`). */
export function shortHash(value: string, length = 12): string {
  return value.length > length ? `${value.slice(0, length)}…` : value;
}

/** A timestamp in the reader's language. */
export function formatTime(iso: unknown, language: string): string {
  if (typeof iso !== 'string') return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(language === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
}

// ----------------------------------------------------------------------------------------
// The checkpoint saved after a good verification (hashes only: public information).
// ----------------------------------------------------------------------------------------

export const TRUSTED_KEY = 'veilgate.auditor.trusted';

/** The last checkpoint this browser verified the whole log against. */
export interface TrustedCheckpoint {
  size: number;
  root: string;
  origin?: string;
  logKey?: string;
  verifiedAt?: string;
}

export function loadTrusted(log?: { origin: string; publicKey: string }): TrustedCheckpoint | undefined {
  try {
    const saved = JSON.parse(localStorage.getItem(TRUSTED_KEY) ?? 'null') as TrustedCheckpoint | null;
    if (!saved || !Number.isSafeInteger(saved.size) || typeof saved.root !== 'string') return undefined;
    // A checkpoint of another log (another hub, another key) proves nothing about this one.
    if (log && ((saved.origin && saved.origin !== log.origin) || (saved.logKey && saved.logKey !== log.publicKey))) return undefined;
    return saved;
  } catch {
    return undefined;
  }
}

export function saveTrusted(value: TrustedCheckpoint): void {
  localStorage.setItem(TRUSTED_KEY, JSON.stringify(value));
}

export function forgetTrusted(): void {
  localStorage.removeItem(TRUSTED_KEY);
}

// ----------------------------------------------------------------------------------------
// The last verification of the log, per signed-in client, for the log and entry pages.
// ----------------------------------------------------------------------------------------

/** A finished verification and whether it started from a saved checkpoint. */
export interface VerificationRecord {
  result: LogVerification;
  trusted: TrustedCheckpoint | undefined;
}

let last: { client: VeilgateClient; record: VerificationRecord } | undefined;
const listeners = new Set<() => void>();

export function rememberVerification(client: VeilgateClient, record: VerificationRecord): void {
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

/** The status of one entry under a verification: checked and fine, flagged, or not covered. */
export type EntryStatus = { kind: 'verified' } | { kind: 'flagged'; missing: boolean; message: string } | { kind: 'unchecked' };

export function entryStatus(record: VerificationRecord | undefined, index: number): EntryStatus {
  if (!record) return { kind: 'unchecked' };
  const problem = record.result.problems.find((p) => p.index === index);
  if (problem) return { kind: 'flagged', missing: /is missing|are missing/.test(problem.message), message: problem.message };
  if (index < record.result.entriesChecked && record.result.entriesChecked > 0) return { kind: 'verified' };
  return { kind: 'unchecked' };
}
