/**
 * LogClient: advances only along signed checkpoints and valid consistency proofs; refuses a
 * rollback, a fork at the same size and a fork hidden behind a bigger tree, each with both
 * signed checkpoints and the proof as evidence. And verifyReceipt, and the shape checks of
 * verify.ts that callers meet through both.
 */
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { formatCheckpoint } from '../../sdk/src/log/checkpoint.ts';
import { LogVerificationError } from '../../sdk/src/log/errors.ts';
import { emptyRoot, hashLeaf } from '../../sdk/src/log/hash.ts';
import { LogClient, verifyReceipt } from '../../sdk/src/log/log-client.ts';
import { assembleNote, signNote } from '../../sdk/src/log/signed-note.ts';
import type { NoteSigner, NoteVerifier } from '../../sdk/src/log/signed-note.ts';
import { consistencyProof, inclusionProof, rootOf } from '../../sdk/src/log/tree.ts';
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from '../../sdk/src/log/verify.ts';

const ORIGIN = 'veilgate.example/audit';

function keyPair(name: string, seed = name): { signer: NoteSigner; verifier: NoteVerifier } {
  const secretKey = sha256(new TextEncoder().encode(`test key ${seed}`));
  return { signer: { name, secretKey }, verifier: { name, publicKey: ed25519.getPublicKey(secretKey) } };
}

const logKey = keyPair(ORIGIN);
const entries = Array.from({ length: 40 }, (_, i) => new TextEncoder().encode(JSON.stringify({ type: 'query.completed', seq: i })));
const leaves = entries.map(hashLeaf);
// The same log key signing another history: what a compromised or lying log would do.
const forkLeaves = leaves.map((h, i) => (i >= 5 ? hashLeaf(Uint8Array.of(0xf0, i)) : h));

/** The log's signed checkpoint for its first n leaves. */
function checkpointAt(n: number, tree = leaves, signer = logKey.signer): string {
  const body = formatCheckpoint({ origin: ORIGIN, size: n, root: rootOf(tree.slice(0, n)) });
  return assembleNote(body, [signNote(body, signer)]);
}

function caught(fn: () => unknown): LogVerificationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LogVerificationError);
    return e as LogVerificationError;
  }
  throw new Error('expected a LogVerificationError');
}

describe('LogClient', () => {
  it('starts at the empty tree and advances along consistency proofs', () => {
    const client = new LogClient({ logKey: logKey.verifier });
    expect(client.trusted).toEqual({ size: 0n, root: emptyRoot() });
    expect(client.update(checkpointAt(3), []).size).toBe(3n); // trust on first use: nothing to prove from 0
    client.update(checkpointAt(7), consistencyProof(leaves.slice(0, 7), 3));
    client.update(checkpointAt(7), []); // the same head again is fine
    const head = client.update(checkpointAt(40), consistencyProof(leaves, 7));
    expect(head.root).toEqual(rootOf(leaves));
    expect(client.trusted).toEqual({ size: 40n, root: rootOf(leaves), note: checkpointAt(40) });
  });

  it('refuses a proof from the empty tree, and the empty tree with a non-empty root', () => {
    const client = new LogClient({ logKey: logKey.verifier });
    expect(caught(() => client.update(checkpointAt(3), [leaves[0]!])).code).toBe('proof_malformed');
    const body = formatCheckpoint({ origin: ORIGIN, size: 0, root: leaves[0]! });
    expect(caught(() => client.update(assembleNote(body, [signNote(body, logKey.signer)]), [])).code).toBe('consistency_invalid');
    expect(client.update(checkpointAt(0), []).size).toBe(0n);
  });

  it('refuses a rollback, with both checkpoints as evidence, and keeps its head', () => {
    const client = new LogClient({ logKey: logKey.verifier });
    client.update(checkpointAt(7), []);
    const err = caught(() => client.update(checkpointAt(3), []));
    expect(err.code).toBe('consistency_invalid');
    expect(err.message).toMatch(/rollback/);
    expect(err.evidence.from).toEqual({ size: '7', root: bytesToHex(rootOf(leaves.slice(0, 7))), note: checkpointAt(7) });
    expect(err.evidence.to).toEqual({ size: '3', root: bytesToHex(rootOf(leaves.slice(0, 3))), note: checkpointAt(3) });
    expect(client.trusted.size).toBe(7n);
  });

  it('refuses a fork at the same size, with both signed checkpoints as evidence', () => {
    const client = new LogClient({ logKey: logKey.verifier });
    client.update(checkpointAt(9), []);
    const forked = checkpointAt(9, forkLeaves);
    const err = caught(() => client.update(forked, []));
    expect(err.code).toBe('consistency_invalid');
    expect(err.message).toMatch(/fork/);
    expect(err.evidence.from?.note).toBe(checkpointAt(9));
    expect(err.evidence.to?.note).toBe(forked);
    expect(err.evidence.from?.root).not.toBe(err.evidence.to?.root);
    expect(err.evidence.proof).toEqual([]);
    expect(err.cause).toBeInstanceOf(LogVerificationError);
    // Anyone can re-check the evidence: both notes verify under the log key.
    expect(JSON.parse(JSON.stringify(err)).evidence.to.note).toBe(forked);
    expect(client.trusted.root).toEqual(rootOf(leaves.slice(0, 9)));
  });

  it('refuses a fork behind a bigger tree (the forked log’s own proof does not reach our root)', () => {
    const client = new LogClient({ logKey: logKey.verifier });
    client.update(checkpointAt(6), []);
    const proof = consistencyProof(forkLeaves.slice(0, 20), 6);
    const err = caught(() => client.update(checkpointAt(20, forkLeaves), proof));
    expect(err.code).toBe('consistency_invalid');
    expect(err.evidence).toMatchObject({
      from: { size: '6', note: checkpointAt(6) },
      to: { size: '20', note: checkpointAt(20, forkLeaves) },
      proof: proof.map((h) => bytesToHex(h)),
      expectedRoot: bytesToHex(rootOf(leaves.slice(0, 6))),
    });
    expect(err.evidence.computedRoot).toMatch(/^[0-9a-f]{64}$/);
    expect(client.trusted.size).toBe(6n);
  });

  it('refuses tampered and truncated proofs, bad signatures and another origin', () => {
    const client = new LogClient({ logKey: logKey.verifier });
    client.update(checkpointAt(5), []);
    const proof = consistencyProof(leaves.slice(0, 13), 5);
    const tampered = proof.map((h, i) => (i === 1 ? Uint8Array.from(h, (b, j) => (j === 0 ? b ^ 1 : b)) : h));
    expect(caught(() => client.update(checkpointAt(13), tampered)).code).toBe('consistency_invalid');
    expect(caught(() => client.update(checkpointAt(13), proof.slice(1))).code).toBe('proof_malformed');
    expect(caught(() => client.update(checkpointAt(13, leaves, keyPair(ORIGIN, 'impostor').signer), proof)).code).toBe('checkpoint_invalid');
    const other = keyPair('other.example/log');
    expect(caught(() => new LogClient({ logKey: logKey.verifier, origin: 'other.example/log' }).update(checkpointAt(13), [])).code).toBe('checkpoint_invalid');
    expect(caught(() => new LogClient({ logKey: other.verifier }).update(checkpointAt(13), [])).code).toBe('checkpoint_invalid');
    expect(client.trusted.size).toBe(5n);
    client.update(checkpointAt(13), proof);
  });

  it('resumes from a saved head, and checks a saved note', () => {
    const first = new LogClient({ logKey: logKey.verifier });
    first.update(checkpointAt(11), []);
    const saved = first.trusted;
    const resumed = new LogClient({ logKey: logKey.verifier, trusted: saved });
    resumed.update(checkpointAt(30), consistencyProof(leaves.slice(0, 30), 11));
    const withoutNote = new LogClient({ logKey: logKey.verifier, trusted: { size: 11, root: saved.root } });
    expect(caught(() => withoutNote.update(checkpointAt(12, forkLeaves), consistencyProof(forkLeaves.slice(0, 12), 11))).code).toBe('consistency_invalid');
    expect(caught(() => new LogClient({ logKey: logKey.verifier, trusted: { ...saved, size: 12n } })).code).toBe('checkpoint_invalid');
    expect(() => new LogClient({ logKey: logKey.verifier, trusted: { size: 0, root: leaves[0]! } })).toThrow(TypeError);
    expect(() => new LogClient({ logKey: logKey.verifier, trusted: { size: 3, root: new Uint8Array(3) } })).toThrow(TypeError);
  });
});

describe('verifyReceipt', () => {
  const note = checkpointAt(25);
  const options = { logKey: logKey.verifier };

  it('verifies an entry or a leaf hash at its index under the signed checkpoint', () => {
    for (const index of [0, 7, 24]) {
      const proof = inclusionProof(leaves.slice(0, 25), index);
      expect(verifyReceipt({ entry: entries[index]!, index, proof, checkpoint: note }, options).size).toBe(25n);
      expect(verifyReceipt({ leafHash: leaves[index]!, index: BigInt(index), proof, checkpoint: note, treeSize: 25 }, options).root).toEqual(rootOf(leaves.slice(0, 25)));
    }
  });

  it('rejects a wrong entry, index, proof, size or signer', () => {
    const proof = inclusionProof(leaves.slice(0, 25), 7);
    const err = caught(() => verifyReceipt({ entry: entries[8]!, index: 7, proof, checkpoint: note }, options));
    expect(err.code).toBe('inclusion_invalid');
    expect(err.evidence).toMatchObject({ expectedRoot: bytesToHex(rootOf(leaves.slice(0, 25))), leafHash: bytesToHex(leaves[8]!), index: '7', treeSize: '25' });
    expect(err.evidence.computedRoot).not.toBe(err.evidence.expectedRoot);
    expect(caught(() => verifyReceipt({ entry: entries[7]!, index: 6, proof, checkpoint: note }, options)).code).toBe('inclusion_invalid');
    expect(caught(() => verifyReceipt({ entry: entries[7]!, index: 7, proof: proof.slice(0, -1), checkpoint: note }, options)).code).toBe('proof_malformed');
    expect(caught(() => verifyReceipt({ entry: entries[7]!, index: 7, proof, checkpoint: note, treeSize: 26 }, options)).code).toBe('proof_malformed');
    expect(caught(() => verifyReceipt({ entry: entries[7]!, index: 7, proof, checkpoint: checkpointAt(25, leaves, keyPair(ORIGIN, 'x').signer) }, options)).code).toBe('checkpoint_invalid');
    expect(caught(() => verifyReceipt({ entry: entries[7]!, index: 7, proof, checkpoint: checkpointAt(26) }, options)).code).toBe('inclusion_invalid');
    expect(() => verifyReceipt({ entry: entries[7]!, leafHash: leaves[7]!, index: 7, proof, checkpoint: note } as never, options)).toThrow(TypeError);
  });
});

describe('proof shape is checked before hashing', () => {
  const root = rootOf(leaves);
  const good = { leafHash: leaves[3]!, index: 3, treeSize: 40, proof: inclusionProof(leaves, 3), root };

  it.each([
    ['index = size', { index: 40 }],
    ['index > size', { index: 41n }],
    ['negative index', { index: -1 }],
    ['fractional index', { index: 1.5 }],
    ['unsafe float index', { index: 2 ** 53 + 2 }],
    ['index ≥ 2^64', { index: 1n << 64n }],
    ['index as string', { index: '3' as never }],
    ['size 0', { treeSize: 0 }],
    ['leaf hash of 31 bytes', { leafHash: leaves[3]!.slice(1) }],
    ['proof hash of 33 bytes', { proof: [new Uint8Array(33), ...inclusionProof(leaves, 3).slice(1)] }],
    ['65 proof hashes', { proof: Array.from({ length: 65 }, () => new Uint8Array(32)) }],
    ['proof not an array', { proof: null as never }],
    ['one hash too many', { proof: [...inclusionProof(leaves, 3), new Uint8Array(32)] }],
  ])('%s → proof_malformed', (_name, change) => {
    expect(caught(() => verifyInclusion({ ...good, ...change })).code).toBe('proof_malformed');
  });

  it('handles uint64 sizes exactly', () => {
    // Leaf 0 of a tree of 2^64 − 1 leaves has a 64-hash path: shape-valid, root computable.
    const proof = Array.from({ length: 64 }, (_, i) => hashLeaf(Uint8Array.of(i)));
    expect(rootFromInclusionProof({ leafHash: leaves[0]!, index: 0n, treeSize: (1n << 64n) - 1n, proof })).toHaveLength(32);
    expect(caught(() => rootFromInclusionProof({ leafHash: leaves[0]!, index: 0n, treeSize: (1n << 64n) - 1n, proof: proof.slice(1) })).code).toBe('proof_malformed');
    expect(caught(() => verifyConsistency({ size1: 1n << 63n, size2: (1n << 64n) - 1n, root1: root, root2: root, proof: proof.slice(0, 2) })).code).toBe('proof_malformed');
  });

  it('reports a consistency failure with both heads and the proof', () => {
    const proof = consistencyProof(leaves, 10);
    const root1 = rootOf(leaves.slice(0, 10));
    const err = caught(() => verifyConsistency({ size1: 10, size2: 40, root1, root2: rootOf(leaves.slice(0, 39)), proof }));
    expect(err.code).toBe('consistency_invalid');
    expect(err.evidence).toMatchObject({
      from: { size: '10', root: bytesToHex(root1) },
      to: { size: '40', root: bytesToHex(rootOf(leaves.slice(0, 39))) },
      proof: proof.map((h) => bytesToHex(h)),
      expectedRoot: bytesToHex(rootOf(leaves.slice(0, 39))),
      computedRoot: bytesToHex(root),
    });
    expect(caught(() => verifyConsistency({ size1: 11, size2: 10, root1, root2: root1, proof: [] })).code).toBe('consistency_invalid');
  });
});
