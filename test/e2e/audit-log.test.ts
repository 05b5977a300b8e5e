/**
 * The audit log end to end: receipts on results, exactly one ending per accepted query,
 * witnesses co-signing (and refusing a forked checkpoint), traces, and the auditor's
 * `veilgate audit verify` naming entries edited, deleted or reordered in the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  LogVerificationError, VeilgateClient, assembleNote, canonicalBytes, formatCheckpoint, fromBase64Url, hashLeaf, signNote,
  verifyNoteSignature, type Query,
} from '@veilgate/sdk';
import { signHubMessage } from '../../gateway/src/hub/node-call.ts';
import type { HubConfig } from '../../gateway/src/server/config.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../gateway/src/cli/main.ts', import.meta.url));
let t: TestSpace;
let hubConfig: HubConfig;
const queryIds: string[] = [];

const count: Query = { datasets: [], aggregates: [{ op: 'count' }] };

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 200 });
  hubConfig = JSON.parse(readFileSync(join(t.dir, 'hub.json'), 'utf8')) as HubConfig;
  for (let i = 0; i < 3; i++) queryIds.push((await t.client.query({ ...count, datasets: t.datasets }, { keys: t.keys, identity: t.identity })).queryId);
  await t.space.hub.app.witnessing.settle();
});
afterAll(async () => t?.close());

async function entries(): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${t.space.hubUrl}/v1/audit/entries?limit=1000`, { headers: { authorization: `Bearer ${t.space.accounts.auditor}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { entries: { entry: Record<string, unknown> }[] }).entries.map((e) => e.entry);
}

describe('receipts', () => {
  it('every query result carries a receipt that the SDK verified against the pinned log key', async () => {
    const pinned = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.researcher, log: t.space.log });
    const outcome = await pinned.query({ ...count, datasets: t.datasets }, { keys: t.keys, identity: t.identity });
    expect(outcome.receipt.entry).toMatchObject({ type: 'query.completed', queryId: outcome.queryId });
    expect(outcome.receipt.treeSize).toBeGreaterThan(outcome.receipt.index);
  });

  it('a client pinned to another log key refuses the receipt', async () => {
    const other = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.researcher, log: { origin: t.space.log.origin, publicKey: 'A'.repeat(43) } });
    await expect(other.query({ ...count, datasets: t.datasets }, { keys: t.keys, identity: t.identity })).rejects.toBeInstanceOf(LogVerificationError);
  });
});

describe('the log', () => {
  it('every accepted query ends exactly once, as completed or failed', async () => {
    const all = await entries();
    const accepted = all.filter((e) => e.type === 'query.accepted').map((e) => e.queryId);
    const ended = all.filter((e) => e.type === 'query.completed' || e.type === 'query.failed').map((e) => e.queryId);
    expect([...ended].sort()).toEqual([...accepted].sort());
    expect(new Set(ended).size).toBe(ended.length);
    for (const id of queryIds) expect(accepted).toContain(id);
  });

  it('holds ids and hashes only: no API key, no counts, no ciphertexts', async () => {
    const text = JSON.stringify(await entries());
    for (const key of Object.values(t.space.accounts).flatMap((k) => (typeof k === 'string' ? [k] : Object.values(k)))) expect(text).not.toContain(key);
    expect(text).not.toMatch(/[A-Za-z0-9+/]{200,}/);
    // No statistic is ever logged: no entry has a field that could hold one.
    const keys = new Set((await entries()).flatMap((e) => Object.keys(e)));
    for (const k of ['value', 'values', 'count', 'mean', 'sum', 'rows', 'n']) expect(keys.has(k), k).toBe(false);
  });

  it('a rejected request leaves no entry (nothing half done)', async () => {
    const before = (await entries()).length;
    await t.client.query({ ...count, datasets: ['nowhere.x'] }, { keys: t.keys, identity: t.identity }).catch(() => undefined);
    expect((await entries()).length).toBe(before);
  });
});

describe('witnesses', () => {
  it('nodes co-sign checkpoints; k of n makes one witnessed', async () => {
    await t.space.hub.app.witnessing.settle();
    const cp = await t.client.checkpoint();
    expect(cp.witnessQuorum).toBe(2);
    expect(cp.witnesses.filter((w) => w.cosigned).length).toBe(3);
    expect(cp.witnessed).toBe(true);
    for (const w of cp.witnesses) expect(verifyNoteSignature(cp.note, { name: w.node, publicKey: fromBase64Url(w.signingKey) })).toBe(true);
  });

  it('a node refuses a checkpoint inconsistent with the last one it signed, and reports it', async () => {
    await t.space.hub.app.witnessing.settle();
    const cp = await t.client.checkpoint();
    // A forked history: signed with the real hub log key, same origin, but a different root.
    const body = formatCheckpoint({ origin: t.space.log.origin, size: cp.treeSize + 1, root: sha256(new TextEncoder().encode('forged history')) });
    const note = assembleNote(body, [signNote(body, { name: t.space.log.origin, secretKey: fromBase64Url(hubConfig.logKey) })]);
    const raw = new TextEncoder().encode(JSON.stringify({ checkpoint: note, fromSize: cp.treeSize, proof: [] }));
    const node = t.space.nodes[0]!;
    const url = new URL(`${node.url}/v1/witness`);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signHubMessage({ hubSigningKey: hubConfig.signingKey, node: node.id, url, body: raw }) },
      body: raw,
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'checkpoint_inconsistent', lastSize: cp.treeSize });
    const nodeLog = (await (await fetch(`${node.url}/v1/audit/entries`)).json()) as { entries: { entry: Record<string, unknown> }[] };
    expect(nodeLog.entries.map((e) => e.entry.type)).toContain('witness.refused');
    expect(t.lines.some((l) => l.includes(`[node ${node.id}]`) && l.includes('REFUSED'))).toBe(true);
  });

  it('each node keeps its own log of what it computed', async () => {
    const node = t.space.nodes[1]!;
    const page = (await (await fetch(`${node.url}/v1/audit/entries`)).json()) as { entries: { entry: Record<string, unknown> }[] };
    const computed = page.entries.filter((e) => e.entry.type === 'contribution.computed').map((e) => e.entry.queryId);
    for (const id of queryIds) expect(computed).toContain(id);
  });
});

describe('traces', () => {
  it('walks a result back to its query, key and account, every step proven', async () => {
    const auditor = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.auditor, log: t.space.log });
    const trace = await auditor.trace(queryIds[0]!);
    const types = trace.steps.map((s) => s.entry.type);
    expect(types.slice(0, 2)).toEqual(['query.completed', 'query.accepted']);
    expect(trace.steps[1]!.entry).toMatchObject({ queryId: queryIds[0], keyId: t.keys.keyId });
    // … to the consent tokens of all three institutions, the approvals (two for the important
    // dataset), the access request, and the accounts of the researcher and the operators.
    expect(types.filter((x) => x === 'token.issued')).toHaveLength(3);
    expect(types.filter((x) => x === 'access.approved')).toHaveLength(4);
    expect(types).toContain('access.requested');
    expect(types).toContain('key.registered');
    expect(types.filter((x) => x === 'account.created').length).toBeGreaterThanOrEqual(5);
    const approvals = trace.steps.filter((s) => s.entry.type === 'access.approved').map((s) => s.entry.node);
    expect(approvals.filter((n) => n === 'hosp-c')).toHaveLength(2);
    for (const s of trace.steps) expect(hashLeaf(canonicalBytes(s.entry))).toHaveLength(32);
  });

  it('researchers may not trace (403)', async () => {
    await expect(t.client.trace(queryIds[0]!)).rejects.toMatchObject({ status: 403, code: 'forbidden' });
  });
});

describe('veilgate audit verify (as a process)', () => {
  const env = () => {
    const { VEILGATE_HUB: _h, VEILGATE_API_KEY: _k, ...rest } = process.env;
    return { ...rest, VEILGATE_DEMO: join(t.dir, 'demo.json') };
  };
  const verify = (...args: string[]) => run(process.execPath, [cli, 'audit', 'verify', ...args], { env: env() }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
  /** Edits the hub's database directly, runs the verifier, then restores the rows. */
  async function tampered(edit: (db: DatabaseSync) => void): Promise<{ code: number; out: string }> {
    const db = new DatabaseSync(join(t.dir, 'hub.sqlite'));
    const saved = db.prepare('SELECT idx, entry, leaf_hash FROM audit_entries').all() as { idx: number; entry: Uint8Array; leaf_hash: Uint8Array }[];
    try {
      edit(db);
      return await verify();
    } finally {
      db.exec('DELETE FROM audit_entries');
      const put = db.prepare('INSERT INTO audit_entries (idx, entry, leaf_hash) VALUES (?, ?, ?)');
      for (const r of saved) put.run(r.idx, r.entry, r.leaf_hash);
      db.close();
    }
  }
  const text = (db: DatabaseSync, idx: number) => new TextDecoder().decode((db.prepare('SELECT entry FROM audit_entries WHERE idx = ?').get(idx) as { entry: Uint8Array }).entry);

  it('an intact log verifies, and a saved checkpoint is carried forward', async () => {
    const file = join(t.dir, 'auditor-checkpoint.json');
    const first = await verify('--checkpoint', file);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/OK\s+every entry verified/);
    await t.client.query({ ...count, datasets: t.datasets }, { keys: t.keys, identity: t.identity });
    const second = await verify('--checkpoint', file);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/consistent with saved checkpoint of size \d+/);
  });

  it('names an entry whose content was edited', async () => {
    const r = await tampered((db) => {
      db.prepare('UPDATE audit_entries SET entry = ? WHERE idx = 5').run(new TextEncoder().encode(text(db, 5).replace('"v":1', '"v":2')));
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/\[entry 5\]/);
  });

  it('names an entry edited together with its stored leaf hash', async () => {
    const r = await tampered((db) => {
      const edited = new TextEncoder().encode(text(db, 6).replace(/"time":"[^"]+"/, '"time":"2000-01-01T00:00:00.000Z"'));
      db.prepare('UPDATE audit_entries SET entry = ?, leaf_hash = ? WHERE idx = 6').run(edited, hashLeaf(edited));
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/\[entry 6\]/);
  });

  it('names a deleted entry', async () => {
    const r = await tampered((db) => db.prepare('DELETE FROM audit_entries WHERE idx = 4').run());
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/\[entry 4\] entry 4 is missing/);
  });

  it('names the first of two reordered entries', async () => {
    const r = await tampered((db) => {
      const a = db.prepare('SELECT entry, leaf_hash FROM audit_entries WHERE idx = 7').get() as { entry: Uint8Array; leaf_hash: Uint8Array };
      const b = db.prepare('SELECT entry, leaf_hash FROM audit_entries WHERE idx = 8').get() as { entry: Uint8Array; leaf_hash: Uint8Array };
      db.prepare('UPDATE audit_entries SET entry = ?, leaf_hash = ? WHERE idx = 7').run(b.entry, b.leaf_hash);
      db.prepare('UPDATE audit_entries SET entry = ?, leaf_hash = ? WHERE idx = 8').run(a.entry, a.leaf_hash);
    });
    expect(r.code).toBe(1);
    expect(r.out, r.out).toMatch(/\[entry 7\]/);
  });
});
