/**
 * What an auditor's CLI trusts about a hub's log, kept in one file between runs (protocol.md
 * §8): the log identity, the pinned witness keys and quorum, and the last checkpoint verified
 * (so the next run proves the log only grew). Public values only (keys and hashes). Pins come
 * from the auditor's configuration (flags, demo.json) or are taken on first use; a later
 * difference is an alert, never a silent replacement.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fromBase64, fromBase64Url, sha256Hex, type LogIdentity, type WitnessKey } from '@veilgate/sdk';

/** Where `veilgate audit verify` keeps its checkpoint unless `--checkpoint` says otherwise. */
export const DEFAULT_AUDIT_CHECKPOINT = '.veilgate/audit-checkpoint.json';

/** The saved file. Older files held only `size`, `root` and `note`. */
export interface AuditPins {
  origin?: string;
  logKey?: string;
  witnesses?: WitnessKey[];
  quorum?: number;
  size?: number;
  root?: string;
  note?: string;
  verifiedAt?: string;
}

/** A saved file that cannot be read: the run stops rather than verify without its anchor. */
export class AuditPinsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditPinsError';
  }
}

function decodes(text: unknown, decode: (s: string) => Uint8Array, length: number): boolean {
  try {
    return typeof text === 'string' && decode(text).length === length;
  } catch {
    return false;
  }
}

/**
 * Reads the saved file (undefined when there is none). Parsed defensively: anything malformed
 * raises `AuditPinsError` naming the field.
 *
 * @example
 * const pins = readAuditPins('.veilgate/audit-checkpoint.json');
 */
export function readAuditPins(path: string): AuditPins | undefined {
  if (!existsSync(path)) return undefined;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new AuditPinsError(`${path}: not JSON`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new AuditPinsError(`${path}: not an object`);
  const pins: AuditPins = {};
  if (value.logKey !== undefined || value.origin !== undefined) {
    if (typeof value.origin !== 'string' || !decodes(value.logKey, fromBase64Url, 32)) throw new AuditPinsError(`${path}: origin and logKey must be a name and an Ed25519 key`);
    pins.origin = value.origin;
    pins.logKey = value.logKey as string;
  }
  if (value.size !== undefined || value.root !== undefined) {
    if (!Number.isSafeInteger(value.size) || (value.size as number) < 0 || !decodes(value.root, fromBase64, 32)) throw new AuditPinsError(`${path}: size and root must be a tree size and a base64 hash`);
    pins.size = value.size as number;
    pins.root = value.root as string;
  }
  if (value.witnesses !== undefined) {
    const ws = value.witnesses;
    if (!Array.isArray(ws) || !ws.every((w: Partial<WitnessKey>) => typeof w?.node === 'string' && w.node !== '' && decodes(w.signingKey, fromBase64Url, 32))) {
      throw new AuditPinsError(`${path}: witnesses must be a list of { node, signingKey }`);
    }
    const quorum = value.quorum;
    if (!Number.isSafeInteger(quorum) || (quorum as number) < 1 || (quorum as number) > ws.length) throw new AuditPinsError(`${path}: quorum must be between 1 and ${ws.length}`);
    pins.witnesses = (ws as WitnessKey[]).map((w) => ({ node: w.node, signingKey: w.signingKey }));
    pins.quorum = quorum as number;
  }
  if (typeof value.note === 'string') pins.note = value.note;
  if (typeof value.verifiedAt === 'string') pins.verifiedAt = value.verifiedAt;
  return pins;
}

/**
 * Writes the file atomically (write, then rename), creating its directory.
 *
 * @example
 * writeAuditPins(path, { origin, logKey, witnesses, quorum, size, root, note, verifiedAt });
 */
export function writeAuditPins(path: string, pins: AuditPins): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(pins, null, 2)}\n`);
  renameSync(tmp, path);
}

/** The demo's pinned witnesses, written beside the log key in demo.json. */
export function demoWitnesses(hubUrl: string): { witnesses: WitnessKey[]; quorum?: number } | undefined {
  const path = process.env.VEILGATE_DEMO ?? '.veilgate/demo.json';
  if (!existsSync(path)) return undefined;
  try {
    const demo = JSON.parse(readFileSync(path, 'utf8')) as { hubUrl?: string; witnesses?: WitnessKey[]; witnessQuorum?: number };
    // As for the log key: the demo's pins apply only to the demo's own hub.
    if (demo.hubUrl !== hubUrl || !Array.isArray(demo.witnesses) || demo.witnesses.length === 0) return undefined;
    return { witnesses: demo.witnesses.map((w) => ({ node: w.node, signingKey: w.signingKey })), ...(demo.witnessQuorum ? { quorum: demo.witnessQuorum } : {}) };
  } catch {
    return undefined;
  }
}

/** A key's fingerprint for comparing by other means: SHA-256 of the raw key, first 16 hex digits. */
export function keyFingerprint(publicKey: string): string {
  try {
    return sha256Hex(fromBase64Url(publicKey)).slice(0, 16);
  } catch {
    return 'malformed';
  }
}

/** How two witness pin lists differ, as lines for an alert (empty: the same keys). */
export function witnessDifferences(pinned: WitnessKey[], other: WitnessKey[]): string[] {
  const a = new Map(pinned.map((w) => [w.node, w.signingKey]));
  const b = new Map(other.map((w) => [w.node, w.signingKey]));
  const lines: string[] = [];
  for (const [node, key] of a) {
    const now = b.get(node);
    if (now === undefined) lines.push(`witness ${node} (key ${keyFingerprint(key)}) is no longer named`);
    else if (now !== key) lines.push(`witness ${node}: key ${keyFingerprint(key)} pinned, ${keyFingerprint(now)} now`);
  }
  for (const [node, key] of b) if (!a.has(node)) lines.push(`new witness ${node}, key ${keyFingerprint(key)}`);
  return lines;
}

/** Whether a pinned identity and another are the same log. */
export function sameLog(a: LogIdentity, b: LogIdentity): boolean {
  return a.origin === b.origin && a.publicKey === b.publicKey;
}
