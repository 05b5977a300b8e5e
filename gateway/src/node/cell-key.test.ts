/**
 * The cell-key method (ABS; node/cell-key.ts): record keys are HMAC-SHA256 (checked against
 * node:crypto, an independent implementation, in SQL and in JavaScript), and the perturbation
 * tables behave as protocol.md §10 states.
 */
import { createHmac } from 'node:crypto';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import type { DatasetEngine } from '../datasets/duckdb-dataset.ts';
import { COUNT_PTABLE, MAGNITUDE_PTABLE, RECORD_KEY_COLUMN, cellKeyOf, cellKeySecretOf, ensureRecordKeys, perturbCount, perturbSum, recordKeyOf, tableRow } from './cell-key.ts';

const SECRET = cellKeySecretOf('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
const reference = (dataset: string, subject: string) => createHmac('sha256', SECRET).update(`${dataset}\u0000${subject}`).digest().readUInt32BE(0);

async function engineWith(subjects: string[]): Promise<DatasetEngine> {
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  await con.run(`CREATE TABLE ds_0 AS SELECT unnest($1::VARCHAR[]) AS __subject`, [`[${subjects.map((s) => `"${s}"`).join(',')}]`]);
  return {
    datasets: new Map(),
    async query(sql, params) {
      return (await con.runAndReadAll(sql, params)).getRowObjects() as Record<string, unknown>[];
    },
    async replaceWithdrawn() {},
    close: () => instance.closeSync(),
  };
}

describe('record keys', () => {
  it('SQL and JavaScript both compute HMAC-SHA256(secret, dataset ‖ 0 ‖ subject)[0..4] (RFC 2104, node:crypto as oracle)', async () => {
    const subjects = ['P1', 'P2', 'patient-ü', "o'brien", ''];
    const engine = await engineWith(subjects);
    const dataset = { table: 'ds_0', config: { id: 'hosp-a.cardio' } } as never;
    await Promise.all([ensureRecordKeys(engine, dataset, SECRET), ensureRecordKeys(engine, dataset, SECRET)]);
    await ensureRecordKeys(engine, dataset, SECRET); // once per table; later calls are no-ops
    const rows = await engine.query(`SELECT __subject AS s, ${RECORD_KEY_COLUMN} AS k FROM ds_0`);
    for (const row of rows) {
      expect(Number(row.k)).toBe(reference('hosp-a.cardio', row.s as string));
      expect(recordKeyOf(SECRET, 'hosp-a.cardio', row.s as string)).toBe(reference('hosp-a.cardio', row.s as string));
    }
    // Another dataset, another key for the same subject.
    expect(recordKeyOf(SECRET, 'hosp-b.cardio', 'P1')).not.toBe(recordKeyOf(SECRET, 'hosp-a.cardio', 'P1'));
    engine.close();
  });

  it('the secret is the node seed under its own HKDF label (not the mask key)', () => {
    expect(cellKeySecretOf('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8')).toEqual(SECRET);
    expect(cellKeySecretOf('AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8')).not.toEqual(SECRET);
  });
});

describe('perturbation tables', () => {
  it('cell keys are sums mod 2^32; NULL (no contributing row) is 0', () => {
    expect(cellKeyOf(null)).toBe(0n);
    expect(cellKeyOf((1n << 32n) + 5n)).toBe(5n);
    expect(cellKeyOf(7)).toBe(7n);
  });

  it('counts: the same records always get the same perturbation; −2…+2, near-uniform; zero stays zero; never negative', () => {
    expect(COUNT_PTABLE).toHaveLength(256);
    expect(MAGNITUDE_PTABLE).toHaveLength(256);
    const seen = new Map<number, number>();
    for (let key = 0n; key < 20_000n; key++) {
      const p = Number(perturbCount(10n, key * 2654435761n) - 10n);
      expect(perturbCount(10n, key * 2654435761n)).toBe(BigInt(10 + p));
      seen.set(p, (seen.get(p) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual([-1, -2, 0, 1, 2].sort());
    // Each value ≈ 1/5 of the table rows (the row is the first byte of SHA-256: ≈ uniform).
    for (const n of seen.values()) expect(Math.abs(n / 20_000 - 0.2)).toBeLessThan(0.02);
    expect(perturbCount(0n, 12345n)).toBe(0n);
    for (let key = 0n; key < 500n; key++) expect(perturbCount(1n, key)).toBeGreaterThanOrEqual(0n);
  });

  it('labels decorrelate statistics over the same records', () => {
    let same = 0;
    for (let key = 0n; key < 2_000n; key++) if (tableRow(key, 'count') === tableRow(key, 'sum:hba1c:1')) same++;
    expect(same).toBeLessThan(30); // ≈ 2000/256 ≈ 8 by chance
  });

  it('sums: shifted within ±Δ/2 after keeping the mean for the released count; never negative', () => {
    const delta = 170n;
    for (let key = 0n; key < 2_000n; key++) {
      const s = perturbSum(5_000n, 100n, 100n, key * 97n, 'sum:hba1c:1', delta);
      expect(s - 5_000n).toBeGreaterThanOrEqual(-85n);
      expect(s - 5_000n).toBeLessThanOrEqual(85n);
      // Released count 102: the sum follows (mean 50 kept) before its own shift.
      const t = perturbSum(5_000n, 100n, 102n, key * 97n, 'sum:hba1c:1', delta);
      expect(t - s).toBe(100n);
      expect(perturbSum(3n, 3n, 3n, key, 'sum:hba1c:1', delta)).toBeGreaterThanOrEqual(0n);
    }
    expect(perturbSum(0n, 0n, 0n, 99n, 'sum:hba1c:1', delta)).toBe(0n);
  });
});
