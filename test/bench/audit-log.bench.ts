/**
 * Audit-log (Merkle store) benchmark on a temporary SQLite file in WAL mode.
 *
 * Measures, on the SQLite store of gateway/src/audit/merkle-store.ts:
 *   - appends/s: single-entry appends each in its own transaction, and batches of 100,
 *     with synchronous=FULL (SQLite's default: fsync on every commit) and NORMAL (the usual
 *     WAL setting: durable at checkpoints, never corrupt), on a fresh log and at the full size;
 *   - filling the log to N entries (default 1,000,000) in batches of 10,000;
 *   - at N: inclusion-proof, consistency-proof and root(size) latency (p50/p95/max over random
 *     arguments), every sampled proof checked with an RFC 9162 verifier outside the timing;
 *   - full verification at N: read every leaf hash in index order and recompute the root with
 *     computeRootFromLeafHashes, compared with the stored root.
 *
 * Usage:
 *   node test/bench/audit-log.bench.ts [--entries 1000000] [--samples 2000] [--dir /tmp] [--keep]
 *                                      [--cache-mib 64]   # SQLite page cache (default: SQLite's 2 MiB)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import {
  computeRootFromLeafHashes, hashChildren, openSqliteMerkleStore, type SyncMerkleStore,
} from '../../gateway/src/audit/merkle-store.ts';

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    samples: { type: 'string', default: '2000' },
    dir: { type: 'string', default: tmpdir() },
    keep: { type: 'boolean', default: false },
    'cache-mib': { type: 'string' },
  },
});
const N = Number(args.entries);
const SAMPLES = Number(args.samples);
if (!Number.isSafeInteger(N) || N < 1000) throw new Error('--entries must be an integer ≥ 1000');

// -------------------------------------------------------------------------------- helpers

/** Deterministic PRNG (xorshift32) so runs are comparable. */
let seed = 0x9e3779b9;
function rnd(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
}
const randInt = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1)); // [lo, hi]

const enc = new TextEncoder();
const hex64 = (i: number): string => (i * 2654435761 >>> 0).toString(16).padStart(8, '0').repeat(8);
/** An audit event of realistic size (~330 bytes of canonical JSON). */
function makeEntry(i: number): Uint8Array {
  return enc.encode(JSON.stringify({
    acceptedIndex: i - 1, contributions: [{ ciphertextSha256: [hex64(i)], node: 'hospital-a' }],
    queryId: `q_${i.toString(36).padStart(10, '0')}`, resultSha256: hex64(i + 1), time: new Date(1.7e12 + i * 1000).toISOString(),
    type: 'query.completed', v: 1,
  }));
}
function makeEntries(from: number, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) out.push(makeEntry(from + i));
  return out;
}

function stats(ms: number[]): { p50: number; p95: number; max: number; mean: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p95: at(0.95), max: s[s.length - 1]!, mean: s.reduce((a, b) => a + b, 0) / s.length };
}
const fmtMs = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);
const fmtStats = (ms: number[]): string => {
  const s = stats(ms);
  return `p50 ${fmtMs(s.p50)}  p95 ${fmtMs(s.p95)}  max ${fmtMs(s.max)}  (n=${ms.length})`;
};
const rate = (n: number, ms: number): string => `${Math.round((n * 1000) / ms).toLocaleString('en-US')}/s`;
const eq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

// RFC 9162 §2.1.3.2 / §2.1.4.2 verifiers (to check sampled proofs, outside the timings).
function rootFromInclusion(index: number, size: number, leaf: Uint8Array, proof: Uint8Array[]): Uint8Array {
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new Error('proof too long');
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn /= 2; sn = Math.floor(sn / 2); }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error('proof too short');
  return r;
}
function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: Uint8Array[]): boolean {
  let path = proof;
  if ((size1 & (size1 - 1)) === 0) path = [root1, ...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn /= 2; sn = Math.floor(sn / 2); }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && eq(fr, root1) && eq(sr, root2);
}

// -------------------------------------------------------------------------------- setup

const dir = mkdtempSync(join(args.dir, 'veilgate-audit-bench-'));
const file = join(dir, 'audit.sqlite');
const db = new DatabaseSync(file);
db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;');
if (args['cache-mib'] !== undefined) db.exec(`PRAGMA cache_size = ${-1024 * Number(args['cache-mib'])}`);
const cacheKiB = -Number((db.prepare('PRAGMA cache_size').get() as { cache_size: number }).cache_size);
const store: SyncMerkleStore = openSqliteMerkleStore(db);
const setSync = (mode: 'FULL' | 'NORMAL'): void => db.exec(`PRAGMA synchronous = ${mode}`);

console.log(`Audit-log benchmark — Node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? '?'}`);
console.log(`SQLite file ${file} (WAL, page cache ${cacheKiB / 1024} MiB), ${N.toLocaleString('en-US')} entries of ~${makeEntry(N).length} bytes\n`);

/** Times `count` appends of `batch` entries each, one transaction per append. */
async function timeAppends(label: string, count: number, batch: number): Promise<void> {
  const start = store.sizeSync();
  const batches: Uint8Array[][] = [];
  for (let i = 0; i < count; i++) batches.push(makeEntries(start + i * batch, batch));
  const per: number[] = [];
  const t0 = performance.now();
  for (const b of batches) {
    const t1 = performance.now();
    await store.append(b);
    per.push(performance.now() - t1);
  }
  const ms = performance.now() - t0;
  const st = stats(per);
  console.log(`  ${label.padEnd(40)} ${rate(count * batch, ms).padStart(9)} entries, ${rate(count, ms).padStart(9)} commits;` +
    ` commit latency p50 ${fmtMs(st.p50)} p95 ${fmtMs(st.p95)} max ${fmtMs(st.max)}`);
}

async function appendSuite(when: string): Promise<void> {
  console.log(`Appends (${when}, log size ${store.sizeSync().toLocaleString('en-US')}):`);
  for (const mode of ['FULL', 'NORMAL'] as const) {
    setSync(mode);
    await timeAppends(`single-entry append, synchronous=${mode}`, mode === 'FULL' ? 2000 : 10000, 1);
    await timeAppends(`batch of 100, synchronous=${mode}`, mode === 'FULL' ? 200 : 500, 100);
  }
  setSync('NORMAL');
}

// -------------------------------------------------------------------------------- run

await appendSuite('fresh log');

{
  setSync('NORMAL');
  const BATCH = 10_000;
  const t0 = performance.now();
  const from = store.sizeSync();
  let appendMs = 0;
  while (store.sizeSync() < N) {
    const n = Math.min(BATCH, N - store.sizeSync());
    const b = makeEntries(store.sizeSync(), n);
    const t1 = performance.now();
    await store.append(b);
    appendMs += performance.now() - t1;
  }
  console.log(`\nFill ${from.toLocaleString('en-US')} → ${N.toLocaleString('en-US')} in batches of ${BATCH.toLocaleString('en-US')} (synchronous=NORMAL): ` +
    `${(appendMs / 1000).toFixed(1)} s in append (${rate(N - from, appendMs)}), ${((performance.now() - t0) / 1000).toFixed(1)} s with entry generation`);
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
}

const size = store.sizeSync();
console.log(`Database: ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB for ${size.toLocaleString('en-US')} entries\n`);

console.log(`Proofs at size ${size.toLocaleString('en-US')} (warm page cache):`);
{
  // Inclusion proofs over random indexes at the full size.
  const ms: number[] = [];
  const checks: Array<[number, Uint8Array[]]> = [];
  for (let i = 0; i < 200; i++) await store.inclusionProof(randInt(0, size - 1)); // warm-up
  for (let i = 0; i < SAMPLES; i++) {
    const index = randInt(0, size - 1);
    const t0 = performance.now();
    const proof = await store.inclusionProof(index, size);
    ms.push(performance.now() - t0);
    if (i < 500) checks.push([index, proof]);
  }
  console.log(`  inclusionProof(random index, ${size})        ${fmtStats(ms)}`);
  const root = await store.root(size);
  for (const [index, proof] of checks) {
    if (!eq(rootFromInclusion(index, size, await store.leafHash(index), proof), root)) throw new Error(`bad inclusion proof ${index}`);
  }

  // Inclusion proofs at random historical sizes (right-edge subtrees recomputed).
  const ms2: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const n = randInt(1, size);
    const index = randInt(0, n - 1);
    const t0 = performance.now();
    const proof = await store.inclusionProof(index, n);
    ms2.push(performance.now() - t0);
    if (i < 100 && !eq(rootFromInclusion(index, n, await store.leafHash(index), proof), await store.root(n))) {
      throw new Error(`bad inclusion proof ${index}/${n}`);
    }
  }
  console.log(`  inclusionProof(random index, random size)  ${fmtStats(ms2)}`);

  const ms3: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const size1 = randInt(1, size - 1);
    const t0 = performance.now();
    const proof = await store.consistencyProof(size1, size);
    ms3.push(performance.now() - t0);
    if (i < 200 && !verifyConsistency(size1, size, await store.root(size1), root, proof)) throw new Error(`bad consistency proof ${size1}`);
  }
  console.log(`  consistencyProof(random size1, ${size})     ${fmtStats(ms3)}`);

  const ms4: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const n = randInt(1, size);
    const t0 = performance.now();
    await store.root(n);
    ms4.push(performance.now() - t0);
  }
  console.log(`  root(random size)                          ${fmtStats(ms4)}`);
  const ms5: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    await store.root();
    ms5.push(performance.now() - t0);
  }
  console.log(`  root() (current size ${size})           ${fmtStats(ms5)}`);
  console.log('  (every sampled proof verified against the stored roots with an RFC 9162 verifier)');
}

{
  console.log(`\nFull verification at ${size.toLocaleString('en-US')} entries:`);
  const stmt = db.prepare('SELECT leaf_hash FROM merkle_entries ORDER BY idx');
  stmt.setReturnArrays(true);
  function* leafHashes(): Generator<Uint8Array> {
    for (const row of stmt.iterate()) yield (row as unknown as [Uint8Array])[0];
  }
  const t0 = performance.now();
  const recomputed = computeRootFromLeafHashes(leafHashes());
  const ms = performance.now() - t0;
  const stored = await store.root();
  if (!eq(recomputed, stored)) throw new Error('recomputed root differs from the stored root');
  console.log(`  read all leaf hashes + computeRootFromLeafHashes: ${(ms / 1000).toFixed(2)} s (${rate(size, ms)}), root matches`);
  const hashes: Uint8Array[] = [...leafHashes()];
  const t1 = performance.now();
  computeRootFromLeafHashes(hashes);
  console.log(`  of which hashing alone (hashes in memory): ${((performance.now() - t1) / 1000).toFixed(2)} s`);
}

console.log('');
await appendSuite('full log');

db.close();
if (args.keep) console.log(`\nKept ${file}`);
else rmSync(dir, { recursive: true, force: true });
