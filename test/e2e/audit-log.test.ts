/**
 * The audit log end to end: receipts on results, exactly one ending per accepted query,
 * witnesses co-signing (and refusing a forked checkpoint), the first checkpoint witnessed at
 * start, traces, and the auditor's `veilgate audit verify` naming entries edited, deleted or
 * reordered in the database, and failing closed as a hub that holds its database and log key
 * would attack it: a rolled-back log and a rewritten, re-signed one (protocol.md §8).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  LogVerificationError, VeilgateClient, assembleNote, canonicalBytes, formatCheckpoint, fromBase64Url, hashChildren, hashLeaf, rootOf, signNote,
  verifyCosignature, type Query,
} from '@veilgate/sdk';
import { signHubMessage } from '../../gateway/src/hub/node-call.ts';
import { createAccount } from '../../gateway/src/hub/accounts.ts';
import { createHubApp } from '../../gateway/src/hub/app.ts';
import { loadDictionary } from '../../gateway/src/datasets/dictionary.ts';
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
    // Timestamped cosignatures (c2sp.org/tlog-cosignature), made just now.
    for (const w of cp.witnesses) {
      const time = verifyCosignature(cp.note, { name: w.node, publicKey: fromBase64Url(w.signingKey) });
      expect(Math.abs(Date.now() / 1000 - time!)).toBeLessThan(120);
    }
  });

  it('right after start the hub has its checkpoint witnessed, without waiting for a write', async () => {
    const hub = t.space.hub;
    hub.app.witnessing.stop();
    await hub.app.witnessing.settle();
    try {
      // An entry the running hub never announced to its witnesses, as the demo's accounts are
      // written straight to the store: the state a hub starts in after such a write or a crash.
      await createAccount(hub.store, { name: 'Written before the restart', role: 'auditor' });
      const size = await hub.store.audit.size();
      expect((await hub.store.audit.latestCheckpoint()).cosigners).toEqual([]);
      const restarted = createHubApp({
        id: hubConfig.id, signingKey: hubConfig.signingKey, store: hub.store, nodes: hubConfig.nodes, dictionary: loadDictionary(), consoleDir: false, log: () => {},
      });
      await restarted.witnessing.settle();
      restarted.witnessing.stop();
      const cp = await hub.store.audit.latestCheckpoint();
      expect(cp.size).toBe(size);
      expect([...cp.cosigners].sort()).toEqual(['hosp-a', 'hosp-b', 'hosp-c']);
    } finally {
      hub.app.witnessing.start();
    }
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
  // Run in the space's directory: the default checkpoint file is .veilgate/audit-checkpoint.json there.
  const verify = (...args: string[]) => run(process.execPath, [cli, 'audit', 'verify', ...args], { env: env(), cwd: t.dir }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
  let scratch = 0;
  /** Edits the hub's database directly (entries, checkpoints, cosignatures), runs the verifier, then restores every row. */
  async function tampered(edit: (db: DatabaseSync) => void, ...args: string[]): Promise<{ code: number; out: string }> {
    await t.space.hub.app.witnessing.settle();
    const db = new DatabaseSync(join(t.dir, 'hub.sqlite'));
    const tables = ['audit_entries', 'audit_subtrees', 'audit_checkpoints', 'audit_cosignatures'];
    const saved = tables.map((table) => ({ table, rows: db.prepare(`SELECT * FROM ${table}`).all() as Record<string, SQLInputValue>[] }));
    try {
      edit(db);
      // The hub's next witnessing round (its tick would run one within seconds).
      t.space.hub.app.witnessing.kick();
      await t.space.hub.app.witnessing.settle();
      // From scratch unless told otherwise: a fresh checkpoint file each time.
      return await verify(...(args.length ? args : ['--checkpoint', join(t.dir, `scratch-${scratch++}.json`)]));
    } finally {
      await t.space.hub.app.witnessing.settle();
      for (const { table, rows } of saved) {
        db.exec(`DELETE FROM ${table}`);
        for (const r of rows) {
          const cols = Object.keys(r);
          db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => r[c]!));
        }
      }
      db.close();
    }
  }
  /** The attack of a hub that deletes its latest entries and the checkpoints over them (no key needed). */
  const rollBack = (to: number) => (db: DatabaseSync) => {
    db.prepare('DELETE FROM audit_entries WHERE idx >= ?').run(to);
    db.prepare('DELETE FROM audit_checkpoints WHERE size >= ?').run(to);
    db.prepare('DELETE FROM audit_cosignatures WHERE size >= ?').run(to);
  };
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

  it('keeps the verified checkpoint by default and proves the log only grew on the next run', async () => {
    const file = join(t.dir, '.veilgate', 'audit-checkpoint.json');
    const first = await verify();
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/witnesses 3 of 3 configured cosigned/);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { size: number; root: string; logKey: string; witnesses: { node: string; signingKey: string }[]; quorum: number };
    // The oracle: the hub's own tree, read from its store, at the size the file names.
    expect(saved.root).toBe(Buffer.from(rootOf((await t.space.hub.store.audit.entries(0, saved.size)).map((e) => hashLeaf(canonicalBytes(e.entry))))).toString('base64'));
    expect(saved.logKey).toBe(t.space.log.publicKey);
    expect(saved.witnesses.map((w) => w.node)).toEqual(['hosp-a', 'hosp-b', 'hosp-c']);
    expect(saved.quorum).toBe(2);
    await t.client.query({ ...count, datasets: t.datasets }, { keys: t.keys, identity: t.identity });
    await t.space.hub.app.witnessing.settle();
    const second = await verify();
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain(`consistent with saved checkpoint of size ${saved.size}: the log only grew`);
    expect((JSON.parse(readFileSync(file, 'utf8')) as { size: number }).size).toBeGreaterThan(saved.size);
  });

  it('a rolled-back log (entries and checkpoints deleted, no key needed) fails from the saved checkpoint', async () => {
    const file = join(t.dir, 'rollback-saved.json');
    expect((await verify('--checkpoint', file)).code).toBe(0);
    const { size } = JSON.parse(readFileSync(file, 'utf8')) as { size: number };
    const r = await tampered(rollBack(size - 3), '--checkpoint', file);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/the log shrank from \d+ to \d+ entries \(log_shrank\)/);
    // The saved checkpoint is kept, not overwritten by the smaller log.
    expect((JSON.parse(readFileSync(file, 'utf8')) as { size: number }).size).toBe(size);
  });

  it('a rolled-back log fails from scratch too: the witnesses refuse the smaller tree, so there is no quorum', async () => {
    const size = await t.space.hub.store.audit.size();
    const r = await tampered((db) => {
      rollBack(size - 3)(db);
    });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/0 of 3 pinned witnesses cosigned this checkpoint .*\(witness_quorum\)/);
    expect(r.out).toMatch(/NOT witnessed/);
    // Each witness recorded its refusal in its own log.
    const node = t.space.nodes[2]!;
    const nodeLog = (await (await fetch(`${node.url}/v1/audit/entries?limit=10000`)).json()) as { entries: { entry: Record<string, unknown> }[] };
    expect(nodeLog.entries.some((e) => e.entry.type === 'witness.refused' && e.entry.treeSize === size - 3)).toBe(true);
  });

  it('a log rewritten and re-signed with the hub\'s log key fails: the witnesses refuse it (no quorum)', async () => {
    const r = await tampered((db) => {
      // Rewrite entry 3, recompute the whole tree as the hub would, and sign it with the log key.
      const rows = db.prepare('SELECT idx, entry FROM audit_entries ORDER BY idx').all() as { idx: number; entry: Uint8Array }[];
      const edited = new TextEncoder().encode(new TextDecoder().decode(rows[3]!.entry).replace(/"time":"[^"]+"/, '"time":"2000-01-01T00:00:00.000Z"'));
      db.prepare('UPDATE audit_entries SET entry = ?, leaf_hash = ? WHERE idx = 3').run(edited, hashLeaf(edited));
      const leaves = rows.map((row) => hashLeaf(row.idx === 3 ? edited : row.entry));
      const root = rootOf(leaves);
      const body = formatCheckpoint({ origin: t.space.log.origin, size: leaves.length, root });
      db.prepare('DELETE FROM audit_cosignatures WHERE size >= ?').run(leaves.length);
      db.prepare('DELETE FROM audit_checkpoints WHERE size >= ?').run(leaves.length);
      db.prepare('INSERT INTO audit_checkpoints (size, root, body, signature, created_at) VALUES (?, ?, ?, ?, ?)').run(
        leaves.length, root, body, signNote(body, { name: t.space.log.origin, secretKey: fromBase64Url(hubConfig.logKey) }).trimEnd(), new Date().toISOString(),
      );
      // Its subtree table too (every complete subtree, leaves at level 0), so every proof it serves matches the rewritten tree.
      db.exec('DELETE FROM audit_subtrees');
      const put = db.prepare('INSERT INTO audit_subtrees (level, idx, hash) VALUES (?, ?, ?)');
      let level = leaves;
      for (let l = 0; level.length > 0; l++) {
        level.forEach((h, i) => put.run(l, i, h));
        const up: Uint8Array[] = [];
        for (let i = 0; i + 1 < level.length; i += 2) up.push(hashChildren(level[i]!, level[i + 1]!)); // complete subtrees only
        level = up;
      }
    });
    expect(r.code, r.out).toBe(1);
    // Every entry rebuilds the re-signed root: only the witnesses stand between it and an OK.
    expect(r.out).not.toMatch(/\[entry \d+\]/);
    expect(r.out).toMatch(/0 of 3 pinned witnesses cosigned this checkpoint .*\(witness_quorum\)/);
  });
});
