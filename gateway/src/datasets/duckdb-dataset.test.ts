/**
 * Dataset loading edge cases and the row-bound rounding helpers (hand-computed answers).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatasets, roundTwoFigures, roundUpBound } from './duckdb-dataset.ts';

const dir = mkdtempSync(join(tmpdir(), 'veilgate-duckdb-dataset-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('roundUpBound', () => {
  it.each([
    ['0', { given: 0, want: 1000 }],
    ['1000', { given: 1000, want: 1000 }],
    ['1001', { given: 1001, want: 1100 }],
    ['99 999', { given: 99_999, want: 100_000 }],
    ['100 000', { given: 100_000, want: 100_000 }],
    ['123 456', { given: 123_456, want: 130_000 }],
    ['1 000 001', { given: 1_000_001, want: 1_100_000 }],
  ])('%s', (_name, { given, want }) => {
    expect(roundUpBound(given)).toBe(want);
  });

  it('is ≥ n, has at most two significant figures, and is the smallest such bound above 1000 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e12 }), (n) => {
        const got = roundUpBound(n);
        expect(got).toBeGreaterThanOrEqual(n);
        const digits = String(got).replace(/0+$/, '');
        expect(digits.length).toBeLessThanOrEqual(2);
        if (n > 1000) {
          // The next smaller two-figure value is below n.
          const unit = 10 ** (String(n).length - 2);
          expect(got - unit).toBeLessThan(n);
        }
      }),
    );
  });
});

describe('roundTwoFigures', () => {
  it.each([
    ['below 100 unchanged', { given: 99, want: 99 }],
    ['124 → 120', { given: 124, want: 120 }],
    ['125 → 130 (half up)', { given: 125, want: 130 }],
    ['123 456 → 120 000', { given: 123_456, want: 120_000 }],
    ['996 → 1000', { given: 996, want: 1000 }],
  ])('%s', (_name, { given, want }) => {
    expect(roundTwoFigures(given)).toBe(want);
  });
});

describe('openDatasets', () => {
  // The code index must hold any code-list length the planner accepts (not just 256).
  it('loads a categorical element with 300 codes', async () => {
    const codes = Array.from({ length: 300 }, (_, i) => `c${i}`);
    writeFileSync(join(dir, 'codes.csv'), 'id,code\np1,c299\np2,c3\n');
    const engine = await openDatasets(
      [{ id: 'd', title: 'Codes', description: 'Many codes', source: { format: 'csv', path: 'codes.csv' }, subjectColumn: 'id', elements: { code: { column: 'code' } } }],
      dir,
      [{ name: 'code', title: 'Code', type: 'categorical', codes }],
    );
    try {
      const rows = await engine.query(`SELECT code FROM ${engine.datasets.get('d')!.table} ORDER BY code`);
      expect(rows.map((r) => r.code)).toEqual(['c299', 'c3']);
    } finally {
      engine.close();
    }
  });

  it('loads a categorical element with exactly 256 codes', async () => {
    const codes = Array.from({ length: 256 }, (_, i) => `c${i}`);
    writeFileSync(join(dir, 'codes256.csv'), 'id,code\np1,c255\np2,c0\n');
    const engine = await openDatasets(
      [{ id: 'd', title: 'Codes', description: '256 codes', source: { format: 'csv', path: 'codes256.csv' }, subjectColumn: 'id', elements: { code: { column: 'code' } } }],
      dir,
      [{ name: 'code', title: 'Code', type: 'categorical', codes }],
    );
    try {
      expect(engine.datasets.get('d')!.rowCount).toBe(2);
    } finally {
      engine.close();
    }
  });
});
