/**
 * verifyLog against an in-memory hub: sizes and roots come from the signed note (never the
 * response's own fields), every problem carries a stable code, the confirmed prefix stops at
 * the first bad entry, and the verdict fails closed on witnesses: only fresh cosignatures by
 * pinned keys count, and without a quorum of them it is not OK.
 */
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { verifyLog, type LogSource, type WitnessKey } from './audit.ts';
import { canonicalBytes } from './protocol/canonical.ts';
import { toBase64, toBase64Url } from './internal/bytes.ts';
import { hashLeaf } from './log/hash.ts';
import { formatCheckpoint } from './log/checkpoint.ts';
import { assembleNote, signNote } from './log/signed-note.ts';
import { signCosignature } from './log/cosignature.ts';
import { consistencyProof, rootOf } from './log/tree.ts';
import type { components } from './generated/openapi.ts';

type S = components['schemas'];
const ORIGIN = 'veilgate.test/audit';

function key(seed: string): { secretKey: Uint8Array; publicKey: string } {
  const secretKey = sha256(new TextEncoder().encode(`audit test ${seed}`));
  return { secretKey, publicKey: toBase64Url(ed25519.getPublicKey(secretKey)) };
}

const logKey = key('log');
const log = { origin: ORIGIN, publicKey: logKey.publicKey };
const witnessKeys = { 'hosp-a': key('hosp-a'), 'hosp-b': key('hosp-b'), 'hosp-c': key('hosp-c') };
const pinnedWitnesses: WitnessKey[] = Object.entries(witnessKeys).map(([node, k]) => ({ node, signingKey: k.publicKey }));

interface Hub {
  entries: S['AuditEntry'][];
  /** What the response says beside the note (a lying hub changes these). */
  stated?: Partial<S['Checkpoint']>;
  /** Witnesses that co-sign, and the ones the response names. */
  cosigners?: [string, { secretKey: Uint8Array; publicKey: string }][];
  named?: WitnessKey[];
  /** When the witnesses cosigned (POSIX seconds; default now). */
  cosignedAt?: number;
}

function entriesOf(n: number): S['AuditEntry'][] {
  return Array.from({ length: n }, (_, index) => {
    const entry = { v: 1, type: 'account.created', time: `2025-01-01T00:00:${String(index % 60).padStart(2, '0')}.000Z`, account: `acc_${index}` };
    return { index, entry, leafHash: toBase64(hashLeaf(canonicalBytes(entry))) };
  });
}

/** A hub over a fixed history (the leaves it signed) serving `hub.entries` as they are now. */
function source(signed: S['AuditEntry'][], hub: Hub): LogSource {
  const leaves = signed.map((e) => hashLeaf(canonicalBytes(e.entry)));
  const body = formatCheckpoint({ origin: ORIGIN, size: leaves.length, root: rootOf(leaves) });
  const cosigners = hub.cosigners ?? Object.entries(witnessKeys);
  const note = assembleNote(body, [
    signNote(body, { name: ORIGIN, secretKey: logKey.secretKey }),
    ...cosigners.map(([name, k]) => signCosignature(body, { name, secretKey: k.secretKey }, hub.cosignedAt ?? Math.floor(Date.now() / 1000))),
  ]);
  const named = hub.named ?? pinnedWitnesses;
  return {
    checkpoint: async () => ({
      origin: ORIGIN,
      treeSize: leaves.length,
      rootHash: toBase64(rootOf(leaves)),
      note,
      logKey: logKey.publicKey,
      witnesses: named.map((w) => ({ ...w, cosigned: true })),
      witnessQuorum: 2,
      witnessed: true,
      ...hub.stated,
    }),
    entries: async (start, limit) => ({ entries: hub.entries.filter((e) => e.index >= start && e.index < start + limit), treeSize: hub.entries.length }),
    consistency: async (from, to) => ({ size1: from, size2: to, proof: consistencyProof(leaves.slice(0, to), from).map(toBase64) }),
  };
}

/** An auditor with the log identity and the three witnesses pinned (default quorum: 2 of 3). */
const auditor = { log, witnesses: { keys: pinnedWitnesses } };

describe('verifyLog', () => {
  const signed = entriesOf(23);

  it('an intact log: signed size and root, every entry confirmed, witnessed', async () => {
    const report = await verifyLog(source(signed, { entries: signed }), auditor);
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
    const root = toBase64(rootOf(signed.map((e) => hashLeaf(canonicalBytes(e.entry)))));
    expect(report).toMatchObject({ treeSize: 23, rootHash: root, entriesChecked: 23, entriesConfirmed: 23, checkpoint: { size: 23, root } });
    expect(report.witnesses).toMatchObject({ cosigned: ['hosp-a', 'hosp-b', 'hosp-c'], stale: [], quorum: 2, witnessed: true, pinned: true });
  });

  it('takes size and root from the signed note and flags response fields that differ', async () => {
    const report = await verifyLog(source(signed, { entries: signed, stated: { treeSize: 22, rootHash: toBase64(new Uint8Array(32)) } }), auditor);
    expect(report.ok).toBe(false);
    expect(report.treeSize).toBe(23);
    expect(report.rootHash).not.toBe(toBase64(new Uint8Array(32)));
    expect(report.problems.map((p) => p.code)).toEqual(['checkpoint_mismatch']);
    expect(report.checkpoint).toBeUndefined();
  });

  it('a checkpoint not signed by the log key stops everything', async () => {
    const report = await verifyLog(source(signed, { entries: signed }), { ...auditor, log: { origin: ORIGIN, publicKey: key('other').publicKey } });
    expect(report.ok).toBe(false);
    expect(report.entriesConfirmed).toBe(0);
    expect(report.problems).toMatchObject([{ code: 'checkpoint_signature', params: { detail: expect.stringContaining('not signed') } }]);
  });

  it('an edited entry: entry_hash_mismatch at its index, root_mismatch, the prefix before it confirmed', async () => {
    const entries = signed.map((e) => (e.index === 5 ? { ...e, entry: { ...e.entry, time: '2000-01-01T00:00:00.000Z' } } : e));
    const report = await verifyLog(source(signed, { entries }), auditor);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.code, p.index])).toEqual([['entry_hash_mismatch', 5], ['root_mismatch', undefined]]);
    expect(report.entriesConfirmed).toBe(5);
  });

  it('an entry edited with its leaf hash: entry_not_in_tree names it', async () => {
    const entries = signed.map((e) => {
      if (e.index !== 9) return e;
      const entry = { ...e.entry, account: 'acc_forged' };
      return { ...e, entry, leafHash: toBase64(hashLeaf(canonicalBytes(entry))) };
    });
    const report = await verifyLog(source(signed, { entries }), auditor);
    expect(report.problems.map((p) => [p.code, p.index])).toEqual([['entry_not_in_tree', 9], ['root_mismatch', undefined]]);
    expect(report.entriesConfirmed).toBe(9);
  });

  it('missing entries: entry_missing in a gap, entries_missing at the end', async () => {
    const gap = await verifyLog(source(signed, { entries: signed.filter((e) => e.index !== 4) }), auditor);
    expect(gap.problems.filter((p) => p.index !== undefined).map((p) => [p.code, p.index])).toEqual([['entry_missing', 4]]);
    const tail = await verifyLog(source(signed, { entries: signed.slice(0, 20) }), auditor);
    expect(tail.problems.map((p) => [p.code, p.index])).toEqual([['entries_missing', 20]]);
    expect(tail.entriesConfirmed).toBe(0);
  });

  it('from a saved checkpoint: consistency and log_shrank', async () => {
    const first = await verifyLog(source(signed.slice(0, 10), { entries: signed.slice(0, 10) }), auditor);
    const grown = await verifyLog(source(signed, { entries: signed }), { ...auditor, trusted: first.checkpoint! });
    expect(grown.ok).toBe(true);
    const forked = await verifyLog(source(signed, { entries: signed }), { ...auditor, trusted: { size: 10, root: toBase64(new Uint8Array(32)) } });
    expect(forked.problems).toMatchObject([{ code: 'consistency', params: { size: 10 } }]);
    const shrunk = await verifyLog(source(signed.slice(0, 5), { entries: signed.slice(0, 5) }), { ...auditor, trusted: first.checkpoint! });
    expect(shrunk.problems).toMatchObject([{ code: 'log_shrank', params: { from: 10, to: 5 } }]);
  });

  it('counts only pinned witness keys: witnesses the hub invents do not meet the quorum', async () => {
    const fake = { 'fake-1': key('fake-1'), 'fake-2': key('fake-2') };
    const hub = source(signed, {
      entries: signed,
      cosigners: Object.entries(fake),
      named: Object.entries(fake).map(([node, k]) => ({ node, signingKey: k.publicKey })),
    });
    const pinned = await verifyLog(hub, { log, witnesses: { keys: pinnedWitnesses, quorum: 2 } });
    expect(pinned.ok).toBe(false);
    expect(pinned.witnesses).toMatchObject({ cosigned: [], quorum: 2, witnessed: false, pinned: true });
    expect(pinned.problems).toMatchObject([{ code: 'witness_quorum', params: { cosigned: 0, quorum: 2, pinned: 3, missing: 'hosp-a, hosp-b, hosp-c' } }]);
    expect(pinned.witnesses.stated.keys.map((w) => w.node)).toEqual(['fake-1', 'fake-2']);
    expect(pinned.checkpoint).toBeUndefined();
  });

  it('fails closed without pinned witness keys, even when the hub shows a full quorum', async () => {
    const report = await verifyLog(source(signed, { entries: signed }), { log });
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.code)).toEqual(['witnesses_unpinned']);
    expect(report.witnesses).toMatchObject({ witnessed: false, pinned: false });
    expect(report.checkpoint).toBeUndefined();
  });

  it('a log key re-signing a rewritten history without its witnesses is not OK (the rewrite a log-key holder can make)', async () => {
    const rewritten = signed.map((e) => {
      if (e.index !== 3) return e;
      const entry = { ...e.entry, account: 'acc_rewritten' };
      return { ...e, entry, leafHash: toBase64(hashLeaf(canonicalBytes(entry))) };
    });
    // The entries rebuild the re-signed root; only the log's own signature is on it.
    const report = await verifyLog(source(rewritten, { entries: rewritten, cosigners: [] }), auditor);
    expect(report.ok).toBe(false);
    expect(report.entriesConfirmed).toBe(23);
    expect(report.problems).toMatchObject([{ code: 'witness_quorum', params: { cosigned: 0, quorum: 2 } }]);
  });

  it('below the quorum: one of three pinned witnesses is not enough by default; an explicit quorum of 1 is', async () => {
    const hub = source(signed, { entries: signed, cosigners: [['hosp-b', witnessKeys['hosp-b']]] });
    const byDefault = await verifyLog(hub, auditor);
    expect(byDefault.problems).toMatchObject([{ code: 'witness_quorum', params: { cosigned: 1, quorum: 2, missing: 'hosp-a, hosp-c' } }]);
    const lenient = await verifyLog(hub, { log, witnesses: { keys: pinnedWitnesses, quorum: 1 } });
    expect(lenient.ok).toBe(true);
    await expect(verifyLog(hub, { log, witnesses: { keys: pinnedWitnesses, quorum: 4 } })).rejects.toThrow(TypeError);
  });

  it('old cosignatures do not count: a rolled-back log keeps its old checkpoint\'s, never fresh ones', async () => {
    const now = Date.UTC(2026, 0, 1) / 1000;
    const hub = source(signed, { entries: signed, cosignedAt: now - 7200 });
    const report = await verifyLog(hub, { ...auditor, now: now * 1000 });
    expect(report.ok).toBe(false);
    expect(report.witnesses).toMatchObject({ cosigned: [], stale: ['hosp-a', 'hosp-b', 'hosp-c'] });
    expect(report.problems).toMatchObject([{ code: 'witness_quorum', params: { stale: 'hosp-a, hosp-b, hosp-c', maxAgeSeconds: 3600 } }]);
    // Within a longer bound the same cosignatures count; from the future they never do.
    expect((await verifyLog(hub, { ...auditor, now: now * 1000, maxWitnessAgeSeconds: 10_000 })).ok).toBe(true);
    expect((await verifyLog(hub, { ...auditor, now: (now - 86_400) * 1000 })).witnesses.stale).toHaveLength(3);
  });

  it('plain (untimestamped) witness signatures do not count as cosignatures', async () => {
    const leaves = signed.map((e) => hashLeaf(canonicalBytes(e.entry)));
    const body = formatCheckpoint({ origin: ORIGIN, size: leaves.length, root: rootOf(leaves) });
    const note = assembleNote(body, [
      signNote(body, { name: ORIGIN, secretKey: logKey.secretKey }),
      ...Object.entries(witnessKeys).map(([name, k]) => signNote(body, { name, secretKey: k.secretKey })),
    ]);
    const base = source(signed, { entries: signed });
    const report = await verifyLog({ ...base, checkpoint: async () => ({ ...(await base.checkpoint()), note }) }, auditor);
    expect(report.problems).toMatchObject([{ code: 'witness_quorum', params: { cosigned: 0 } }]);
  });

  it('alerts when the hub names another key for a pinned witness', async () => {
    const named = pinnedWitnesses.map((w) => (w.node === 'hosp-c' ? { ...w, signingKey: key('hub-made').publicKey } : w));
    const report = await verifyLog(source(signed, { entries: signed, named }), auditor);
    expect(report.ok).toBe(false);
    expect(report.problems).toMatchObject([{ code: 'witness_key_changed', params: { node: 'hosp-c' } }]);
    expect(report.witnesses.witnessed).toBe(true);
  });

  it('a forged cosignature line under a pinned key is named', async () => {
    const leaves = signed.map((e) => hashLeaf(canonicalBytes(e.entry)));
    const body = formatCheckpoint({ origin: ORIGIN, size: leaves.length, root: rootOf(leaves) });
    const other = formatCheckpoint({ origin: ORIGIN, size: leaves.length, root: new Uint8Array(32) });
    const note = assembleNote(body, [
      signNote(body, { name: ORIGIN, secretKey: logKey.secretKey }),
      // hosp-a's cosignature of another tree, moved onto this one.
      signCosignature(other, { name: 'hosp-a', secretKey: witnessKeys['hosp-a'].secretKey }),
      signCosignature(body, { name: 'hosp-b', secretKey: witnessKeys['hosp-b'].secretKey }),
      signCosignature(body, { name: 'hosp-c', secretKey: witnessKeys['hosp-c'].secretKey }),
    ]);
    const base = source(signed, { entries: signed });
    const report = await verifyLog({ ...base, checkpoint: async () => ({ ...(await base.checkpoint()), note }) }, auditor);
    expect(report.problems).toMatchObject([{ code: 'witness_signature', params: { node: 'hosp-a' } }]);
    expect(report.witnesses.cosigned).toEqual(['hosp-b', 'hosp-c']);
  });
});
