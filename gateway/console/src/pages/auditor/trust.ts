/**
 * What this browser trusts about the hub's log, pinned in localStorage (public information
 * only: keys and hashes): the log's identity (origin and key), the witnesses' keys and quorum,
 * and the last checkpoint the whole log was verified against (its anchor). Pinned on first
 * use; a later difference is reported, never silently replaced: only the auditor's explicit
 * "trust" replaces a pin.
 */
import { useSyncExternalStore } from 'react';
import { fromBase64, fromBase64Url, sha256Hex, type LogIdentity, type VeilgateClient } from '@veilgate/sdk';
import { useLoad, type Loaded } from '../../components/use-load.ts';

export const TRUSTED_KEY = 'veilgate.auditor.trusted';

/** A witness: its node and Ed25519 public key (base64url). */
export interface WitnessPin {
  node: string;
  signingKey: string;
}

/** The trusted record: identity always; witnesses once pinned; the anchor once verified. */
export interface TrustedRecord {
  origin: string;
  logKey: string;
  witnesses?: WitnessPin[];
  quorum?: number;
  /** The verified checkpoint: size and root (base64) from the signed note. */
  size?: number;
  root?: string;
  verifiedAt?: string;
}

/** Why a saved record was thrown away when it was read. */
export type DiscardReason = 'noIdentity' | 'malformed';

interface TrustState {
  record: TrustedRecord | undefined;
  discarded: DiscardReason | undefined;
}

const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

function decodes(text: unknown, decode: (s: string) => Uint8Array, length: number): boolean {
  try {
    return typeof text === 'string' && decode(text).length === length;
  } catch {
    return false;
  }
}

/** Parses a saved record; a record without a log identity proves nothing and is refused. */
function parse(raw: string | null): TrustState {
  if (raw === null) return { record: undefined, discarded: undefined };
  let value: Partial<TrustedRecord> & Record<string, unknown>;
  try {
    value = JSON.parse(raw) as typeof value;
  } catch {
    return { record: undefined, discarded: 'malformed' };
  }
  if (!value || typeof value !== 'object') return { record: undefined, discarded: 'malformed' };
  if (!isText(value.origin) || !isText(value.logKey)) return { record: undefined, discarded: 'noIdentity' };
  if (!decodes(value.logKey, fromBase64Url, 32)) return { record: undefined, discarded: 'malformed' };
  const record: TrustedRecord = { origin: value.origin, logKey: value.logKey };
  if (value.size !== undefined || value.root !== undefined) {
    if (!Number.isSafeInteger(value.size) || (value.size as number) < 0 || !decodes(value.root, fromBase64, 32)) return { record: undefined, discarded: 'malformed' };
    record.size = value.size as number;
    record.root = value.root as string;
    if (isText(value.verifiedAt)) record.verifiedAt = value.verifiedAt;
  }
  if (value.witnesses !== undefined) {
    const ws = value.witnesses;
    const valid = Array.isArray(ws) && ws.every((w: Partial<WitnessPin>) => isText(w?.node) && decodes(w?.signingKey, fromBase64Url, 32));
    if (!valid || !Number.isSafeInteger(value.quorum) || (value.quorum as number) < 0) return { record: undefined, discarded: 'malformed' };
    record.witnesses = (ws as WitnessPin[]).map((w) => ({ node: w.node, signingKey: w.signingKey }));
    record.quorum = value.quorum as number;
  }
  return { record, discarded: undefined };
}

let state: TrustState | undefined;
const listeners = new Set<() => void>();

function current(): TrustState {
  if (!state) {
    state = parse(localStorage.getItem(TRUSTED_KEY));
    if (state.discarded) localStorage.removeItem(TRUSTED_KEY);
  }
  return state;
}

function publish(next: TrustState): void {
  state = next;
  for (const l of listeners) l();
}

/** The pinned record, read (and validated) once per page load. */
export function loadTrusted(): TrustedRecord | undefined {
  return current().record;
}

export function saveTrusted(record: TrustedRecord): void {
  localStorage.setItem(TRUSTED_KEY, JSON.stringify(record));
  publish({ record, discarded: undefined });
}

export function forgetTrusted(): void {
  localStorage.removeItem(TRUSTED_KEY);
  publish({ record: undefined, discarded: undefined });
}

/** The pinned record and, if one was just thrown away, why. */
export function useTrust(): TrustState {
  return useSyncExternalStore(
    (onChange) => {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    current,
  );
}

export function identityOf(record: TrustedRecord): LogIdentity {
  return { origin: record.origin, publicKey: record.logKey };
}

export function sameIdentity(a: LogIdentity, b: LogIdentity): boolean {
  return a.origin === b.origin && a.publicKey === b.publicKey;
}

/**
 * The log identity to verify against: the pinned one, else the one the hub stated when this
 * sign-in first asked (the SDK's trust on first use, `client.logIdentity()`).
 */
export async function expectedLog(client: VeilgateClient): Promise<LogIdentity> {
  const record = loadTrusted();
  return record ? identityOf(record) : client.logIdentity();
}

/** A key's fingerprint for comparing by other means: SHA-256 of the raw key, first 16 hex digits. */
export function fingerprint(publicKey: string): string {
  try {
    return sha256Hex(fromBase64Url(publicKey)).slice(0, 16);
  } catch {
    return '—';
  }
}

/** How the hub's witnesses differ from the pinned ones (empty lists and equal quorums: no change). */
export interface WitnessChanges {
  added: WitnessPin[];
  removed: WitnessPin[];
  changed: { node: string; pinned: string; stated: string }[];
  quorum: { pinned: number; stated: number } | undefined;
}

export function witnessChanges(record: TrustedRecord, stated: { witnesses: WitnessPin[]; quorum: number }): WitnessChanges | undefined {
  if (!record.witnesses || record.quorum === undefined) return undefined;
  const pinned = new Map(record.witnesses.map((w) => [w.node, w.signingKey]));
  const now = new Map(stated.witnesses.map((w) => [w.node, w.signingKey]));
  const changes: WitnessChanges = {
    added: stated.witnesses.filter((w) => !pinned.has(w.node)),
    removed: record.witnesses.filter((w) => !now.has(w.node)),
    changed: stated.witnesses.filter((w) => pinned.has(w.node) && pinned.get(w.node) !== w.signingKey).map((w) => ({ node: w.node, pinned: pinned.get(w.node)!, stated: w.signingKey })),
    quorum: record.quorum !== stated.quorum ? { pinned: record.quorum, stated: stated.quorum } : undefined,
  };
  const any = changes.added.length + changes.removed.length + changes.changed.length > 0 || changes.quorum !== undefined;
  return any ? changes : undefined;
}

/** The log's trust as the pages show it: the pinned record, the hub's identity, and whether they differ. */
export function useLogTrust(client: VeilgateClient): {
  record: TrustedRecord | undefined;
  discarded: DiscardReason | undefined;
  hub: Loaded<LogIdentity>;
  expected: LogIdentity | undefined;
  keyChanged: { pinned: LogIdentity; hub: LogIdentity } | undefined;
} {
  const { record, discarded } = useTrust();
  const hub = useLoad(() => client.logIdentity(), [client]);
  const pinned = record ? identityOf(record) : undefined;
  const keyChanged = pinned && hub.data && !sameIdentity(pinned, hub.data) ? { pinned, hub: hub.data } : undefined;
  return { record, discarded, hub, expected: pinned ?? hub.data, keyChanged };
}
