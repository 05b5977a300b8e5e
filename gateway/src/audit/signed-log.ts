/**
 * A signed, append-only audit log on SQLite (DESIGN §9): RFC 9162 Merkle tree (merkle-store.ts)
 * plus C2SP checkpoints (signed notes over origin, size and root, Ed25519) and the witnesses'
 * co-signatures of them. The hub keeps one; every node keeps its own. Entries are appended
 * by `appendSync` inside the caller's transaction, so a state change and its event land
 * together or not at all (invariant 4, 5).
 */
import type { DatabaseSync } from 'node:sqlite';
import { assembleNote, formatCheckpoint, fromBase64Url, parseSignedNote, signNote } from '@veilgate/sdk';
import { publicKeyOf } from '../crypto/ed25519.ts';
import { encodeEvent, type AuditEvent } from './events.ts';
import { openSqliteMerkleStore, type SyncMerkleStore } from './merkle-store.ts';

/** One stored entry. */
export interface LogEntry {
  index: number;
  entry: Record<string, unknown>;
  leafHash: Uint8Array;
}

/** A signed checkpoint with the co-signatures gathered for it. */
export interface StoredCheckpoint {
  size: number;
  root: Uint8Array;
  /** The full signed note: body, the log's signature, then witness co-signatures. */
  note: string;
  cosigners: string[];
}

/** The log's operations. Reads are async so that a PostgreSQL store can implement them. */
export interface SignedLog {
  /** The checkpoint origin, also the log key's name (c2sp.org/tlog-checkpoint). */
  origin: string;
  /** The log's Ed25519 public key, base64url. */
  publicKey: string;
  /** Appends one event inside the caller's transaction; returns its index. */
  appendSync(event: AuditEvent): number;
  size(): Promise<number>;
  entries(start: number, limit: number): Promise<LogEntry[]>;
  entry(index: number): Promise<LogEntry | undefined>;
  indexOfLeafHash(leafHash: Uint8Array): Promise<number | undefined>;
  /** The checkpoint of the current size, signed now if the log grew since the last one. */
  latestCheckpoint(): Promise<StoredCheckpoint>;
  /**
   * Signs and stores the checkpoint of the current size (unless stored) inside the caller's
   * transaction, so that it commits with the entries it covers: one durable commit, not two.
   */
  checkpointSync(): void;
  /** A stored checkpoint of exactly this size. */
  checkpointAt(size: number): Promise<StoredCheckpoint | undefined>;
  inclusionProof(index: number, size: number): Promise<Uint8Array[]>;
  consistencyProof(size1: number, size2: number): Promise<Uint8Array[]>;
  /** Records a witness's signature line for the checkpoint of `size`. */
  addCosignature(size: number, witness: string, line: string): Promise<void>;
  /** The largest checkpoint size this witness has co-signed (0 if none). */
  lastCosignedSize(witness: string): Promise<number>;
}

const MIGRATION = (t: string) => `
  CREATE TABLE IF NOT EXISTS ${t}_checkpoints (
    size INTEGER PRIMARY KEY, root BLOB NOT NULL, body TEXT NOT NULL, signature TEXT NOT NULL, created_at TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS ${t}_cosignatures (
    size INTEGER NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (size, witness));`;

/**
 * Opens the signed log stored in `db` under table prefix `table`.
 *
 * @example
 * const log = openSignedLog(db, { table: 'audit', origin: 'veilgate/hub', signingKey });
 * const index = log.appendSync(auditEvent({ type: 'account.created', account: 'acc_1', role: 'admin' }));
 */
export function openSignedLog(db: DatabaseSync, options: { table: string; origin: string; signingKey: string }): SignedLog {
  const t = options.table;
  const tree: SyncMerkleStore = openSqliteMerkleStore(db, { table: t });
  db.exec(MIGRATION(t));
  const secret = fromBase64Url(options.signingKey);
  const publicKey = publicKeyOf(options.signingKey);
  const q = {
    entries: db.prepare(`SELECT idx, entry, leaf_hash FROM ${t}_entries WHERE idx >= ? ORDER BY idx LIMIT ?`),
    checkpointAt: db.prepare(`SELECT size, root, body, signature FROM ${t}_checkpoints WHERE size = ?`),
    latest: db.prepare(`SELECT size, root, body, signature FROM ${t}_checkpoints ORDER BY size DESC LIMIT 1`),
    insertCheckpoint: db.prepare(`INSERT OR IGNORE INTO ${t}_checkpoints (size, root, body, signature, created_at) VALUES (?, ?, ?, ?, ?)`),
    cosignatures: db.prepare(`SELECT witness, line FROM ${t}_cosignatures WHERE size = ? ORDER BY witness`),
    addCosignature: db.prepare(`INSERT OR REPLACE INTO ${t}_cosignatures (size, witness, line, created_at) VALUES (?, ?, ?, ?)`),
    lastCosigned: db.prepare(`SELECT max(size) AS size FROM ${t}_cosignatures WHERE witness = ?`),
  };
  const decoder = new TextDecoder();
  const toEntry = (r: Record<string, unknown>): LogEntry => ({
    index: Number(r.idx),
    // Stored bytes are what was hashed; a row edited into invalid JSON still comes back, as text.
    entry: parseEntry(decoder.decode(r.entry as Uint8Array)),
    leafHash: new Uint8Array(r.leaf_hash as Uint8Array),
  });
  const withCosignatures = (r: Record<string, unknown>): StoredCheckpoint => {
    const cosigs = q.cosignatures.all(Number(r.size)) as { witness: string; line: string }[];
    return {
      size: Number(r.size),
      root: new Uint8Array(r.root as Uint8Array),
      note: assembleNote(r.body as string, [r.signature as string, ...cosigs.map((c) => c.line)]),
      cosigners: cosigs.map((c) => c.witness),
    };
  };
  /** Stores a signed checkpoint of the current size unless there is one; returns the size. */
  const signCurrentSync = (): number => {
    const size = tree.sizeSync();
    const last = q.latest.get() as Record<string, unknown> | undefined;
    if (last && Number(last.size) === size) return size;
    const root = tree.rootSync(size);
    const body = formatCheckpoint({ origin: options.origin, size, root });
    // c2sp.org/signed-note: the log signs the checkpoint body under its origin as key name.
    const signature = signNote(body, { name: options.origin, secretKey: secret });
    q.insertCheckpoint.run(size, root, body, signature, new Date().toISOString());
    return size;
  };
  return {
    origin: options.origin,
    publicKey,
    appendSync(event) {
      return tree.appendSync([encodeEvent(event)]);
    },
    async size() {
      return tree.sizeSync();
    },
    async entries(start, limit) {
      return (q.entries.all(start, limit) as Record<string, unknown>[]).map(toEntry);
    },
    async entry(index) {
      const [row] = q.entries.all(index, 1) as Record<string, unknown>[];
      return row && Number(row.idx) === index ? toEntry(row) : undefined;
    },
    indexOfLeafHash: (h) => tree.indexOfLeafHash(h),
    async latestCheckpoint() {
      return withCosignatures(q.checkpointAt.get(signCurrentSync()) as Record<string, unknown>);
    },
    checkpointSync() {
      signCurrentSync();
    },
    async checkpointAt(size) {
      const r = q.checkpointAt.get(size) as Record<string, unknown> | undefined;
      return r && withCosignatures(r);
    },
    inclusionProof: (index, size) => tree.inclusionProof(index, size),
    consistencyProof: (a, b) => tree.consistencyProof(a, b),
    async addCosignature(size, witness, line) {
      parseSignedNote(`x\n\n${line.endsWith('\n') ? line : `${line}\n`}`); // shape only; the caller verified it
      q.addCosignature.run(size, witness, line, new Date().toISOString());
    },
    async lastCosignedSize(witness) {
      return Number((q.lastCosigned.get(witness) as { size: number | null }).size ?? 0);
    },
  };
}

function parseEntry(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  return { v: 0, type: 'unreadable', time: '', text };
}
