/**
 * Patient-consent imports at scale (issue 11; protocol.md §9 "Patient consent"): a generated
 * CSV of 200 000 records (1 000 000 with VEILGATE_LONG=1) goes from a file through the SDK's
 * batches to the hub, on to the node in hub-signed batches, is staged, and applied at once at
 * the commit — one log entry at hub and node, the file's SHA-256 logged. A malformed line at
 * 60 % of the file ends the import with the file's own line named, and leaves the registry,
 * both logs and every query as they were. Oracles: the file itself (its hash, its distinct
 * withdrawals), the node's own state file, and DuckDB over the pooled rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ApiError, VeilgateClient, type Query } from '@veilgate/sdk';
import type { NodeConfig } from '../../gateway/src/server/config.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';

const LONG = process.env.VEILGATE_LONG === '1';
const RECORDS = LONG ? 1_000_000 : 200_000;
const A = 'hosp-a';
const dataset = `${A}.cardiometabolic`;
const HEADER = 'subject,purpose,status,recorded_at';

let t: TestSpace;
let dir: string;
let real: string[];

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 400 });
  dir = mkdtempSync(join(tmpdir(), 'veilgate-consent-'));
  real = (await t.oracle.query(`SELECT subject FROM pooled_t WHERE hospital = '${A}' AND age >= 50 ORDER BY subject LIMIT 40`)).map((r) => r.subject as string);
}, 120_000);
afterAll(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * A consent file of `n` records: synthetic subjects (not in any dataset), every third one
 * withdrawn, and the 40 real subjects withdrawn for every purpose, spread through the file
 * (the last in its final batch). `bad`: the record index to write malformed.
 */
function writeConsentFile(name: string, n: number, bad?: number): { path: string; withdrawnSubjects: number; sha256: string } {
  const lines: string[] = [HEADER];
  const every = Math.floor(n / real.length);
  let withdrawn = 0;
  for (let i = 0; i < n; i++) {
    if (i === bad) {
      lines.push(`SECRET-PATIENT-${i},DUO:0000006,maybe,2026-11-01T00:00:00Z`);
      continue;
    }
    const k = (i + 1) % every === 0 ? (i + 1) / every - 1 : -1;
    if (k >= 0 && k < real.length) {
      lines.push(`${real[k]},*,withdrawn,2026-11-01T00:00:00Z`);
      withdrawn++;
    } else {
      const status = i % 3 === 0 ? 'withdrawn' : 'granted';
      if (status === 'withdrawn') withdrawn++;
      lines.push(`synthetic-${i.toString().padStart(7, '0')},DUO:0000006,${status},2026-10-0${1 + (i % 9)}T08:00:00Z`);
    }
  }
  const path = join(dir, name);
  const text = `${lines.join('\n')}\n`;
  writeFileSync(path, text);
  return { path, withdrawnSubjects: withdrawn, sha256: createHash('sha256').update(text).digest('hex') };
}

const operator = () => new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.operators[A]![0]! });
const query: Query = { datasets: [dataset], filter: { op: 'range', element: 'age', min: 50 }, aggregates: [{ op: 'count' }] };
const count = async () => (await t.client.query(query, { keys: t.keys, identity: t.identity })).groups[0]!.count;

/** The node's registry and staging, read from its own state file. */
function nodeTables(): { consent: number; staged: number; imports: number } {
  const config = JSON.parse(readFileSync(join(t.dir, 'nodes', `${A}.json`), 'utf8')) as NodeConfig;
  const db = new DatabaseSync(config.stateFile, { readOnly: true });
  try {
    const n = (sql: string) => Number((db.prepare(sql).get() as { n: number }).n);
    return {
      consent: n(`SELECT count(*) AS n FROM patient_consent WHERE dataset = '${dataset}'`),
      staged: n('SELECT count(*) AS n FROM consent_staged'),
      imports: n('SELECT count(*) AS n FROM consent_imports'),
    };
  } finally {
    db.close();
  }
}

/** The import entries of the hub's and the node's logs. */
async function importEntries(): Promise<{ hub: Record<string, unknown>[]; node: Record<string, unknown>[] }> {
  await t.space.hub.app.witnessing.settle();
  const auditor = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.auditor });
  const hub = (await auditor.auditEntries(0, 10_000)).entries.map((e) => e.entry as Record<string, unknown>).filter((e) => e.type === 'consent.imported');
  const url = t.space.nodes.find((n) => n.id === A)!.url;
  const page = (await (await fetch(`${url}/v1/audit/entries?start=0&limit=1000`)).json()) as { entries: { entry: Record<string, unknown> }[] };
  return { hub, node: page.entries.map((e) => e.entry).filter((e) => e.type === 'consent.applied') };
}

describe(`a consent import of ${RECORDS.toLocaleString('en')} records`, () => {
  it('a malformed line at 60 % ends the import: the line is named (not its value), and registry, logs and counts are as they were', async () => {
    const bad = Math.floor(RECORDS * 0.6);
    const file = writeConsentFile('bad.csv', RECORDS, bad);
    const before = { tables: nodeTables(), entries: await importEntries(), count: await count() };
    let staged = 0;
    const err = await operator().importConsent(dataset, createReadStream(file.path), { onProgress: (p) => (staged = p.records) }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    // Line 1 is the header: record i is on line i + 2.
    expect(err).toMatchObject({ code: 'invalid_request', field: `body[${bad + 2}].status` });
    expect((err as Error).message).not.toContain('SECRET-PATIENT');
    expect(staged).toBeGreaterThan(RECORDS * 0.4); // batches before it were staged at the node …
    expect(nodeTables()).toEqual({ ...before.tables, staged: 0, imports: 0 }); // … and discarded
    expect(await importEntries()).toEqual(before.entries);
    expect(await count()).toBe(before.count);
  }, LONG ? 600_000 : 120_000);

  it('is streamed in batches, applied at once, logged once at hub and node; the withdrawn subjects leave the next query exactly', async () => {
    const file = writeConsentFile('consent.csv', RECORDS);
    const before = { tables: nodeTables(), entries: await importEntries(), count: await count() };
    const progress: number[] = [];
    const started = performance.now();
    const result = await operator().importConsent(dataset, createReadStream(file.path), { onProgress: (p) => progress.push(p.records) });
    const seconds = (performance.now() - started) / 1000;
    console.log(`consent import: ${RECORDS} records (${(readFileSync(file.path).length / 1048576).toFixed(1)} MB) in ${seconds.toFixed(1)} s, ${progress.length} batches`);
    expect(result).toMatchObject({ dataset, imported: RECORDS, csvSha256: file.sha256 });
    expect(progress.length).toBeGreaterThan(3); // in batches, progress reported each time
    expect(progress.at(-1)).toBe(RECORDS);
    // Every record's (subject, purpose) is distinct: the registry grows by exactly the file.
    expect(nodeTables()).toEqual({ consent: before.tables.consent + RECORDS, staged: 0, imports: 0 });
    expect(result.withdrawnSubjects).toBe(file.withdrawnSubjects);
    const entries = await importEntries();
    expect(entries.hub.length - before.entries.hub.length).toBe(1);
    expect(entries.hub.at(-1)).toMatchObject({ dataset, records: RECORDS, csvSha256: file.sha256 });
    expect(entries.node.length - before.entries.node.length).toBe(1);
    expect(entries.node.at(-1)).toMatchObject({ dataset, records: RECORDS, withdrawnSubjects: file.withdrawnSubjects });
    // DuckDB oracle: the cohort without the withdrawn subjects.
    const list = real.map((s) => `'${s}'`).join(', ');
    const [oracle] = await t.oracle.query(`SELECT count(*) AS n FROM pooled_t WHERE hospital = '${A}' AND age >= 50 AND subject NOT IN (${list})`);
    const after = await count();
    expect(after).toBe(Number(oracle!.n));
    expect(before.count - after).toBe(real.length);
  }, LONG ? 600_000 : 120_000);

  it('an import aborted by the client, or sent out of order, applies nothing', async () => {
    const before = { tables: nodeTables(), entries: await importEntries() };
    const op = operator();
    const res = await fetch(`${t.space.hubUrl}/v1/datasets/${dataset}/consent-imports`, { method: 'POST', headers: { authorization: `Bearer ${t.space.accounts.operators[A]![0]!}` } });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const put = (seq: number, body: string) => fetch(`${t.space.hubUrl}/v1/consent-imports/${id}/batches/${seq}`, {
      method: 'PUT', headers: { authorization: `Bearer ${t.space.accounts.operators[A]![0]!}`, 'content-type': 'text/csv' }, body,
    });
    expect((await put(0, `${HEADER}\nsomeone,*,withdrawn,2026-11-01T00:00:00Z\n`)).status).toBe(200);
    expect((await put(0, `${HEADER}\nsomeone,*,withdrawn,2026-11-01T00:00:00Z\n`)).status).toBe(200); // a retry: same answer
    expect(nodeTables().staged).toBe(1);
    const skipped = await put(2, `else,*,withdrawn,2026-11-01T00:00:00Z\n`);
    expect(skipped.status).toBe(400);
    expect(await skipped.json()).toMatchObject({ code: 'invalid_request', field: 'seq' });
    // The refusal ended the import: its staged batch is gone and it cannot be committed.
    expect(nodeTables()).toEqual(before.tables);
    await expect(op.importConsent(dataset, `${HEADER}\n`)).resolves.toMatchObject({ imported: 0 });
    const commit = await fetch(`${t.space.hubUrl}/v1/consent-imports/${id}/commit`, { method: 'POST', headers: { authorization: `Bearer ${t.space.accounts.operators[A]![0]!}` } });
    expect(commit.status).toBe(404);
    const entries = await importEntries();
    expect(entries.hub.length - before.entries.hub.length).toBe(1); // only the empty import
  }, 60_000);
});
