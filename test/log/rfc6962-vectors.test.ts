/**
 * The RFC 6962 / RFC 9162 probes of transparency-dev/merkle (test/vectors/rfc6962, see its
 * README): every probe file, happy paths and mutations alike, must verify exactly when
 * `wantErr` is false. Then tree.json's roots are rebuilt, the reference tree's proofs are
 * checked against the vectors' known answers, and fast-check runs the proofs at random sizes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { LogVerificationError } from '../../sdk/src/log/errors.ts';
import { emptyRoot, hashLeaf } from '../../sdk/src/log/hash.ts';
import { consistencyProof, inclusionProof, rootOf } from '../../sdk/src/log/tree.ts';
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from '../../sdk/src/log/verify.ts';

const VECTORS = fileURLToPath(new URL('../vectors/rfc6962/', import.meta.url));

/** Every *.json below a folder, as paths relative to the vectors folder, sorted. */
function probeFiles(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.json')) out.push(relative(VECTORS, path));
    }
  };
  walk(join(VECTORS, folder));
  return out.sort();
}

/**
 * JSON.parse that keeps integers past 2^53 exact (one probe has leafIdx 2^64 − 1, which a
 * float would round to 2^64), via the reviver's source text (ES2025, Node ≥ 21).
 */
function readProbe(file: string): Record<string, unknown> {
  const text = readFileSync(join(VECTORS, file), 'utf8');
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined && /^\d+$/.test(context.source)
      ? BigInt(context.source)
      : value,
  ) as Record<string, unknown>;
}

const b64 = (s: unknown): Uint8Array => Uint8Array.from(Buffer.from(s as string, 'base64'));
const proofOf = (p: unknown): Uint8Array[] => ((p as string[] | null) ?? []).map(b64);
const CODES = ['inclusion_invalid', 'consistency_invalid', 'proof_malformed'];

interface InclusionProbe { leafIdx: number | bigint; treeSize: number | bigint; root: string; leafHash: string; proof: string[] | null; desc: string; wantErr: boolean }
interface ConsistencyProbe { size1: number | bigint; size2: number | bigint; root1: string; root2: string; proof: string[] | null; desc: string; wantErr: boolean }

const inclusionFiles = probeFiles('inclusion');
const consistencyFiles = probeFiles('consistency');

/** Runs fn; returns the LogVerificationError it threw, or undefined. Any other throw fails. */
function outcome(fn: () => void): LogVerificationError | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(LogVerificationError);
    expect(CODES).toContain((e as LogVerificationError).code);
    return e as LogVerificationError;
  }
}

/** Asserts exactly wantErr: rejected if and only if the probe wants an error. */
function expectOutcome(err: LogVerificationError | undefined, wantErr: boolean): void {
  if (wantErr) expect(err, 'this probe must be rejected').toBeDefined();
  else expect(err === undefined ? 'verified' : `${err.code}: ${err.message}`).toBe('verified');
}

describe('RFC 6962 inclusion probes', () => {
  it('finds the probe folders', () => {
    expect(inclusionFiles.length).toBeGreaterThanOrEqual(90);
    expect(inclusionFiles.filter((f) => f.endsWith('happy-path.json')).length).toBeGreaterThanOrEqual(5);
  });

  it.each(inclusionFiles)('%s', (file) => {
    const v = readProbe(file) as unknown as InclusionProbe;
    const err = outcome(() =>
      verifyInclusion({ leafHash: b64(v.leafHash), index: v.leafIdx, treeSize: v.treeSize, proof: proofOf(v.proof), root: b64(v.root) }),
    );
    expectOutcome(err, v.wantErr);
  });
});

describe('RFC 6962 consistency probes', () => {
  it('finds the probe folders', () => {
    expect(consistencyFiles.length).toBeGreaterThanOrEqual(90);
  });

  it.each(consistencyFiles)('%s', (file) => {
    const v = readProbe(file) as unknown as ConsistencyProbe;
    const err = outcome(() =>
      verifyConsistency({ size1: v.size1, size2: v.size2, root1: b64(v.root1), root2: b64(v.root2), proof: proofOf(v.proof) }),
    );
    expectOutcome(err, v.wantErr);
  });
});

describe('tree.json: roots of the reference tree', () => {
  const tree = JSON.parse(readFileSync(join(VECTORS, 'tree.json'), 'utf8')) as { leafInputs: string[]; rootsBySize: Record<string, string> };
  const leaves = tree.leafInputs.map((hex) => hashLeaf(hexToBytes(hex)));

  it('has the empty root SHA-256("")', () => {
    expect(bytesToHex(emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(bytesToHex(rootOf([]))).toBe(bytesToHex(emptyRoot()));
  });

  it.each(Object.entries(tree.rootsBySize))('rebuilds the root of size %s', (size, root) => {
    expect(bytesToHex(rootOf(leaves.slice(0, Number(size))))).toBe(root);
  });

  it('every inclusion and consistency proof of sizes 1..8 verifies against those roots', () => {
    for (let n = 1; n <= 8; n++) {
      const sub = leaves.slice(0, n);
      const root = hexToBytes(tree.rootsBySize[String(n)]!);
      for (let i = 0; i < n; i++) verifyInclusion({ leafHash: sub[i]!, index: i, treeSize: n, proof: inclusionProof(sub, i), root });
      for (let m = 1; m <= n; m++) {
        const root1 = hexToBytes(tree.rootsBySize[String(m)]!);
        verifyConsistency({ size1: m, size2: n, root1, root2: root, proof: consistencyProof(sub, m) });
      }
    }
  });

  // Known answers: where a happy-path probe's root is a tree.json root, the reference tree
  // must produce exactly the probe's proof.
  const roots = new Map(Object.entries(tree.rootsBySize).map(([size, hex]) => [hex, Number(size)]));
  it.each(inclusionFiles.filter((f) => f.endsWith('happy-path.json')))('reproduces the proof of %s', (file) => {
    const v = readProbe(file) as unknown as InclusionProbe;
    const size = roots.get(bytesToHex(b64(v.root)));
    if (size === undefined || size !== Number(v.treeSize)) return; // a probe over other leaves
    expect(inclusionProof(leaves.slice(0, size), Number(v.leafIdx)).map(bytesToHex)).toEqual(proofOf(v.proof).map(bytesToHex));
  });
  it.each(consistencyFiles.filter((f) => f.endsWith('happy-path.json')))('reproduces the proof of %s', (file) => {
    const v = readProbe(file) as unknown as ConsistencyProbe;
    const size2 = roots.get(bytesToHex(b64(v.root2)));
    expect(size2).toBe(Number(v.size2));
    expect(consistencyProof(leaves.slice(0, size2!), Number(v.size1)).map(bytesToHex)).toEqual(proofOf(v.proof).map(bytesToHex));
  });
});

/** A tree of `size` distinct random-looking leaves derived from a salt (cheaper than fc arrays). */
function leavesOf(size: number, salt: Uint8Array): Uint8Array[] {
  return Array.from({ length: size }, (_, i) => hashLeaf(Uint8Array.from([...salt, i & 0xff, i >> 8])));
}

/** A copy of bytes with one bit flipped. */
function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[(bit >> 3) % out.length]! ^= 1 << (bit & 7);
  return out;
}

const throwsLogError = (fn: () => void): boolean => {
  try {
    fn();
    return false;
  } catch (e) {
    return e instanceof LogVerificationError;
  }
};

describe('properties at random tree sizes (fast-check)', () => {
  const salt = fc.uint8Array({ minLength: 1, maxLength: 8 });

  it('every inclusion proof of tree.ts verifies, and any flipped bit of proof, root or leaf is rejected', () => {
    fc.assert(
      fc.property(salt, fc.integer({ min: 1, max: 300 }), fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), fc.nat(), fc.nat(), (s, n, picks, target, bit) => {
        const leaves = leavesOf(n, s);
        const root = rootOf(leaves);
        for (const pick of picks) {
          const index = pick % n;
          const proof = inclusionProof(leaves, index);
          const leafHash = leaves[index]!;
          verifyInclusion({ leafHash, index, treeSize: n, proof, root });
          expect(rootFromInclusionProof({ leafHash, index: BigInt(index), treeSize: BigInt(n), proof })).toEqual(root);
          // Flip one bit in one of: each proof hash, the root, the leaf hash.
          const t = target % (proof.length + 2);
          const bad =
            t < proof.length
              ? { leafHash, proof: proof.map((h, j) => (j === t ? flip(h, bit) : h)), root }
              : t === proof.length
                ? { leafHash, proof, root: flip(root, bit) }
                : { leafHash: flip(leafHash, bit), proof, root };
          expect(throwsLogError(() => verifyInclusion({ ...bad, index, treeSize: n }))).toBe(true);
          // The same proof at a neighbouring index does not verify either. (Not so for a
          // neighbouring size: leaf 0 of trees of 5 and 6 leaves has the same path, RFC 9162
          // §2.1.3 binds the leaf to the root, and the signed checkpoint binds the size.)
          if (n > 1) expect(throwsLogError(() => verifyInclusion({ leafHash, index: (index + 1) % n, treeSize: n, proof, root }))).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('every consistency proof between random sizes verifies, and any flipped bit is rejected', () => {
    fc.assert(
      fc.property(salt, fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), fc.nat(), (s, size2, pick, target, bit) => {
        const leaves = leavesOf(size2, s);
        const size1 = 1 + (pick % size2);
        const root1 = rootOf(leaves.slice(0, size1));
        const root2 = rootOf(leaves);
        const proof = consistencyProof(leaves, size1);
        verifyConsistency({ size1, size2, root1, root2, proof });
        const t = target % (proof.length + 2);
        const bad =
          t < proof.length
            ? { root1, root2, proof: proof.map((h, j) => (j === t ? flip(h, bit) : h)) }
            : t === proof.length
              ? { root1: flip(root1, bit), root2, proof }
              : { root1, root2: flip(root2, bit), proof };
        expect(throwsLogError(() => verifyConsistency({ ...bad, size1, size2 }))).toBe(true);
        // Swapped roots, or a size off by one, are rejected too.
        if (size1 < size2) {
          expect(throwsLogError(() => verifyConsistency({ size1, size2, root1: root2, root2: root1, proof }))).toBe(true);
          expect(throwsLogError(() => verifyConsistency({ size1: size1 + 1, size2, root1, root2, proof }))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('exhaustively: all indices and all size pairs up to 33 leaves', () => {
    const leaves = leavesOf(33, Uint8Array.of(7));
    const roots = Array.from({ length: 34 }, (_, n) => rootOf(leaves.slice(0, n)));
    for (let n = 1; n <= 33; n++) {
      const sub = leaves.slice(0, n);
      for (let i = 0; i < n; i++) verifyInclusion({ leafHash: sub[i]!, index: i, treeSize: n, proof: inclusionProof(sub, i), root: roots[n]! });
      for (let m = 0; m <= n; m++) {
        const check = { size1: m, size2: n, root1: roots[m]!, root2: roots[n]!, proof: consistencyProof(sub, m) };
        if (m === 0 && n > 0) expect(throwsLogError(() => verifyConsistency(check))).toBe(true); // nothing to prove from 0
        else verifyConsistency(check);
      }
    }
  });
});
