/**
 * The node's consent staging (protocol.md §9 "Patient consent"): nothing staged reaches the
 * registry before the commit; an import idle past the bound, aborted, or cut by a restart is
 * discarded; a commit whose counts differ from what was staged applies nothing. Real SQLite
 * and DuckDB (no dataset needed: the withdrawals table is the engine's own).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openDatasets, type DatasetEngine } from '../datasets/duckdb-dataset.ts';
import { loadDictionary } from '../datasets/dictionary.ts';
import { CONSENT_IMPORT_IDLE_MS, openConsentRegistry, type ConsentRecord } from './consent-registry.ts';

let dir: string;
let db: DatabaseSync;
let engine: DatasetEngine;
let clock: number;
const ID = 'ci_AAAAAAAAAAAAAAAAAAAAAA';
const rec = (subject: string, status: ConsentRecord['status'] = 'withdrawn'): ConsentRecord => ({ subject, purpose: '*', status, recordedAt: '2026-11-01T00:00:00.000Z' });
const count = (sql: string) => Number((db.prepare(sql).get() as { n: number }).n);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'veilgate-consent-reg-'));
  db = new DatabaseSync(join(dir, 'state.db'));
  engine = await openDatasets([], dir, loadDictionary());
  clock = 1_800_000_000_000;
});
afterEach(() => {
  engine.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('consent staging', () => {
  it('applies nothing before the commit, everything at it, with its log entry in the same transaction', async () => {
    const registry = openConsentRegistry(db, engine, () => clock);
    registry.stage(ID, 'd', 0, [rec('a'), rec('b')]);
    registry.stage(ID, 'd', 1, [rec('c', 'granted')]);
    expect(registry.stage(ID, 'd', 1, [rec('c', 'granted')])).toEqual({ importId: ID, batches: 2, records: 3 }); // a retry
    expect(count('SELECT count(*) AS n FROM patient_consent')).toBe(0);
    let inTransaction = false;
    const withdrawn = await registry.commit(ID, { dataset: 'd', batches: 2, records: 3 }, () => (inTransaction = db.isTransaction));
    expect({ withdrawn, inTransaction }).toEqual({ withdrawn: 2, inTransaction: true });
    expect(count('SELECT count(*) AS n FROM patient_consent')).toBe(3);
    expect(count('SELECT count(*) AS n FROM consent_staged')).toBe(0);
    expect(Number((await engine.query("SELECT count(*) AS n FROM consent_withdrawn WHERE dataset = 'd'"))[0]!.n)).toBe(2);
  });

  it.each([
    ['idle past the bound', async (r: ReturnType<typeof openConsentRegistry>) => { clock += CONSENT_IMPORT_IDLE_MS + 1; await r.commit('ci_BBBBBBBBBBBBBBBBBBBBBB', { dataset: 'd', batches: 0, records: 0 }, () => {}); }],
    ['aborted', async (r: ReturnType<typeof openConsentRegistry>) => r.abort(ID)],
    ['cut by a restart', async () => openConsentRegistry(db, engine, () => clock).load()],
  ])('an import %s is discarded and cannot be committed', async (_name, end) => {
    const registry = openConsentRegistry(db, engine, () => clock);
    registry.stage(ID, 'd', 0, [rec('a')]);
    await end(registry);
    expect(count('SELECT count(*) AS n FROM consent_staged') + count('SELECT count(*) AS n FROM consent_imports')).toBe(0);
    await expect(registry.commit(ID, { dataset: 'd', batches: 1, records: 1 }, () => {})).rejects.toMatchObject({ code: 'not_found', field: 'importId' });
    expect(count('SELECT count(*) AS n FROM patient_consent')).toBe(0);
  });

  it('a commit whose counts differ from what was staged applies nothing and logs nothing', async () => {
    const registry = openConsentRegistry(db, engine, () => clock);
    registry.stage(ID, 'd', 0, [rec('a'), rec('b')]);
    let logged = false;
    await expect(registry.commit(ID, { dataset: 'd', batches: 1, records: 3 }, () => (logged = true))).rejects.toMatchObject({ code: 'invalid_request' });
    expect({ logged, applied: count('SELECT count(*) AS n FROM patient_consent'), staged: count('SELECT count(*) AS n FROM consent_staged') }).toEqual({ logged: false, applied: 0, staged: 0 });
  });

  it('refuses a batch out of order', () => {
    const registry = openConsentRegistry(db, engine, () => clock);
    registry.stage(ID, 'd', 0, [rec('a')]);
    expect(() => registry.stage(ID, 'd', 3, [rec('b')])).toThrow(expect.objectContaining({ code: 'invalid_request', field: 'seq' }));
  });
});
