/**
 * The cell-key method of the Australian Bureau of Statistics (Fraser & Wooton 2005, "A
 * proposed method for confidentialising tabular output to protect against differencing";
 * Thompson, Broadfoot & Elazar 2013, "Methodology for the automatic confidentialisation of
 * statistical outputs from remote servers at the ABS", UNECE SDC work session), used by the
 * release gate when differential privacy is off (spec/protocol.md §10).
 *
 * Every record gets a stable secret record key: the first 32 bits of
 * HMAC-SHA256(secret, dataset ‖ 0x00 ‖ subject) (RFC 2104), the secret derived from the node's
 * signing seed with HKDF (RFC 5869) under its own label. A cell's key is Σ record keys mod 2^32
 * over the rows that contribute to it (computed in the aggregate SQL). A fixed perturbation
 * table, indexed by (cell key, statistic label), gives the cell's perturbation: the same set of
 * records always gets the same perturbation, so repeating a query does not average it away,
 * while two cells differing by one record get independent perturbations, so their difference
 * does not return that record's value (the differencing attack).
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { fromBase64Url } from '@veilgate/sdk';
import type { DatasetEngine, LoadedDataset } from '../datasets/duckdb-dataset.ts';
import { ident } from '../datasets/sql-text.ts';

/** The column of a standardised table that holds the record key (added on first use). */
export const RECORD_KEY_COLUMN = '__rk';
/** Record and cell keys are integers mod 2^CELL_KEY_BITS. */
export const CELL_KEY_BITS = 32;
const CELL_KEY_MODULUS = 1n << BigInt(CELL_KEY_BITS);

const LABEL = new TextEncoder().encode('veilgate/cell-key-secret/v1');

/**
 * The node's record-key secret from its signing seed (HKDF under its own label: independent of
 * the signing and mask keys).
 *
 * @example
 * const secret = cellKeySecretOf(config.signingKey);
 */
export function cellKeySecretOf(signingSeed: string): Uint8Array {
  return hkdf(sha256, fromBase64Url(signingSeed), LABEL, LABEL, 32);
}

/** HMAC's padded keys (RFC 2104 §2): K ⊕ ipad and K ⊕ opad for a 32-byte K, block size 64. */
function hmacPads(secret: Uint8Array): { inner: string; outer: string } {
  const inner = new Uint8Array(64).fill(0x36);
  const outer = new Uint8Array(64).fill(0x5c);
  secret.forEach((b, i) => {
    inner[i] = 0x36 ^ b;
    outer[i] = 0x5c ^ b;
  });
  return { inner: bytesToHex(inner), outer: bytesToHex(outer) };
}

/**
 * The SQL expression of a row's record key: the first 32 bits (big-endian) of
 * HMAC-SHA256(secret, dataset ‖ 0x00 ‖ subject), computed by DuckDB's sha256 over blobs. The
 * pads are bound parameters $1 (inner) and $2 (outer), the dataset id $3.
 */
function recordKeySql(subject: string): string {
  const innerHash = `sha256(unhex($1) || encode($3 || chr(0) || ${subject}))`;
  return `CAST(('0x' || left(sha256(unhex($2) || unhex(${innerHash})), 8)) AS UINTEGER)`;
}

const prepared = new WeakMap<DatasetEngine, Map<string, Promise<void>>>();

/**
 * Adds the record-key column to a dataset's table, once per engine and table (later calls wait
 * for the first). The keys never leave DuckDB; only sums of them mod 2^32 are read.
 *
 * @example
 * await ensureRecordKeys(engine, dataset, cellKeySecretOf(seed));
 */
export function ensureRecordKeys(engine: DatasetEngine, dataset: Pick<LoadedDataset, 'table' | 'config'>, secret: Uint8Array): Promise<void> {
  let tables = prepared.get(engine);
  if (!tables) prepared.set(engine, (tables = new Map()));
  let done = tables.get(dataset.table);
  if (!done) {
    const { inner, outer } = hmacPads(secret);
    const table = ident(dataset.table);
    done = (async () => {
      await engine.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${ident(RECORD_KEY_COLUMN)} UINTEGER`);
      await engine.query(`UPDATE ${table} SET ${ident(RECORD_KEY_COLUMN)} = ${recordKeySql(ident('__subject'))}`, [inner, outer, dataset.config.id]);
    })();
    // A failure is not cached: the next query tries again.
    done.catch(() => tables.delete(dataset.table));
    tables.set(dataset.table, done);
  }
  return done;
}

/**
 * The record key of one subject, computed in JavaScript (the reference for the SQL form).
 *
 * @example
 * recordKeyOf(secret, 'hosp-a.cardiometabolic', 'P000123'); // 0 ≤ k < 2^32
 */
export function recordKeyOf(secret: Uint8Array, dataset: string, subject: string): number {
  const mac = hmac(sha256, secret, new TextEncoder().encode(`${dataset}\u0000${subject}`));
  return new DataView(mac.buffer, mac.byteOffset).getUint32(0);
}

/** A cell key from the SQL sum of record keys (NULL when no row contributes). */
export function cellKeyOf(sum: unknown): bigint {
  if (sum === null || sum === undefined) return 0n;
  return BigInt(sum as bigint | number) % CELL_KEY_MODULUS;
}

/**
 * The fixed perturbation table for counts: 256 rows, the value of row i. Perturbations
 * −2…+2, near-uniform (51, 51, 52, 51, 51 rows of 256): variance ≈ 2.0. With the minimum cell
 * size (≥ 3) applied first a perturbed non-zero count is ≥ 1; zero cells are not perturbed.
 */
export const COUNT_PTABLE: readonly number[] = [
  ...Array<number>(51).fill(-2), ...Array<number>(51).fill(-1), ...Array<number>(52).fill(0), ...Array<number>(51).fill(1), ...Array<number>(51).fill(2),
];

/**
 * The fixed perturbation table for magnitudes (sums of u^p): row i gives the fraction
 * (2i − 255)/510 ∈ [−½, ½] of the statistic's per-row bound Δ = (hi − lo)^p. One record moves a
 * sum by at most Δ, and the difference of two independent perturbations spreads over [−Δ, Δ]
 * (triangular), so a one-record difference of two cells does not return that record's value.
 */
export const MAGNITUDE_PTABLE: readonly number[] = Array.from({ length: 256 }, (_, i) => (2 * i - 255) / 510);

/**
 * The table row of a cell: the first byte of SHA-256(label ‖ 0x00 ‖ u32be(cell key)). The label
 * names the statistic (`count`, `sum:hba1c:1`, …), so the count and the sum over the same rows
 * get independent rows, and the row never depends on the query that asked for the cell.
 */
export function tableRow(cellKey: bigint, label: string): number {
  const text = new TextEncoder().encode(label);
  const message = new Uint8Array(text.length + 5);
  message.set(text, 0);
  new DataView(message.buffer).setUint32(text.length + 1, Number(cellKey % CELL_KEY_MODULUS));
  return sha256(message)[0]!;
}

/**
 * A perturbed count: n + COUNT_PTABLE[row], never negative; an empty cell stays 0.
 *
 * @example
 * perturbCount(17n, cellKey); // 15n … 19n, the same for the same records every time
 */
export function perturbCount(n: bigint, cellKey: bigint, label = 'count'): bigint {
  if (n === 0n) return 0n;
  const value = n + BigInt(COUNT_PTABLE[tableRow(cellKey, label)]!);
  return value < 0n ? 0n : value;
}

/**
 * A perturbed sum S = Σu^p over n rows whose count was released as n′: S·n′/n (rounded, so the
 * mean stays the mean of the rows) plus round(MAGNITUDE_PTABLE[row] · Δ); never negative. An
 * empty cell stays 0.
 *
 * @example
 * perturbSum(9_000n, 100n, 101n, cellKey, 'sum:hba1c:1', 170n);
 */
export function perturbSum(sum: bigint, n: bigint, released: bigint, cellKey: bigint, label: string, delta: bigint): bigint {
  if (n === 0n) return 0n;
  const scaled = (2n * sum * released + n) / (2n * n);
  // Δ·w with w = (2i − 255)/510, in integers: round(Δ·(2i − 255)/510).
  const i = BigInt(tableRow(cellKey, label));
  const num = delta * (2n * i - 255n);
  const shift = num >= 0n ? (2n * num + 510n) / 1020n : -((-2n * num + 510n) / 1020n);
  const value = scaled + shift;
  return value < 0n ? 0n : value;
}
