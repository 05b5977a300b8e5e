/**
 * The signed log's checkpoints: `checkpointSync` signs inside the caller's transaction (so a
 * receipt's checkpoint commits with its entry), and the note is byte for byte the one the
 * pure-JS reference gives — C2SP signed-note over the c2sp.org/tlog-checkpoint body, Ed25519
 * (RFC 8032, deterministic) and the RFC 9162 root.
 */
import { randomBytes } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { formatCheckpoint, toBase64, toBase64Url, verifyCheckpoint } from '@veilgate/sdk';
import { describe, expect, it } from 'vitest';
import { withTransaction } from '../store/transaction.ts';
import { auditEvent, encodeEvent, type NodeEvent } from './events.ts';
import { openSignedLog } from './signed-log.ts';

const origin = 'veilgate/test';

/** RFC 9162 §2.1.1 MTH, straight from the definition, with @noble's SHA-256. */
function mth(entries: Uint8Array[]): Uint8Array {
  if (entries.length === 0) return sha256(new Uint8Array());
  if (entries.length === 1) return sha256(Uint8Array.of(0x00, ...entries[0]!));
  let k = 1;
  while (k * 2 < entries.length) k *= 2; // the largest power of two smaller than n
  return sha256(Uint8Array.of(0x01, ...mth(entries.slice(0, k)), ...mth(entries.slice(k))));
}

/** The note the reference (pure JS) computes for these entries. */
function referenceNote(entries: Uint8Array[], seed: Uint8Array): string {
  const body = formatCheckpoint({ origin, size: entries.length, root: mth(entries) });
  const publicKey = ed25519.getPublicKey(seed);
  // c2sp.org/signed-note: key hash = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4], then the signature.
  const keyHash = sha256(Uint8Array.of(...new TextEncoder().encode(origin), 0x0a, 0x01, ...publicKey)).slice(0, 4);
  const signature = ed25519.sign(new TextEncoder().encode(body), seed);
  return `${body}\n\u2014 ${origin} ${toBase64(Uint8Array.of(...keyHash, ...signature))}\n`;
}

function open(): { db: DatabaseSync; seed: Uint8Array; log: ReturnType<typeof openSignedLog> } {
  const db = new DatabaseSync(':memory:');
  const seed = new Uint8Array(randomBytes(32));
  return { db, seed, log: openSignedLog(db, { table: 'audit', origin, signingKey: toBase64Url(seed) }) };
}

const event = (i: number) => auditEvent<NodeEvent>({ type: 'token.revoked', requestId: `r${i}`, jti: `j${i}` });

describe('signed log checkpoints', () => {
  it('checkpointSync stores, in the transaction, the note the reference signs', async () => {
    const { db, seed, log } = open();
    const entries: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) {
      const e = event(i);
      entries.push(encodeEvent(e));
      withTransaction(db, () => {
        log.appendSync(e);
        log.checkpointSync();
      });
      const stored = await log.checkpointAt(entries.length);
      expect(stored?.note).toBe(referenceNote(entries, seed));
      // No second signature: latestCheckpoint hands out the stored one.
      expect((await log.latestCheckpoint()).note).toBe(stored!.note);
      expect(verifyCheckpoint(stored!.note, { logKey: { name: origin, publicKey: ed25519.getPublicKey(seed) } }).size).toBe(BigInt(entries.length));
    }
  });

  it('latestCheckpoint signs the same bytes when no transaction did', async () => {
    const { db, seed, log } = open();
    const events = [0, 1, 2].map(event);
    withTransaction(db, () => {
      for (const e of events) log.appendSync(e);
    });
    expect(await log.checkpointAt(3)).toBeUndefined();
    expect((await log.latestCheckpoint()).note).toBe(referenceNote(events.map(encodeEvent), seed));
  });

  it('a transaction that fails keeps neither the entry nor its checkpoint', async () => {
    const { db, log } = open();
    expect(() =>
      withTransaction(db, () => {
        log.appendSync(event(0));
        log.checkpointSync();
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(await log.size()).toBe(0);
    expect(await log.checkpointAt(1)).toBeUndefined();
  });
});
