/**
 * Fuzzing generated from spec/openapi.yaml (issue 11): every operation of hub and node gets
 * malformed requests over real HTTP (test/fuzz/requests.ts). The suite fails on any 5xx, on an
 * error body that is not `{code, message, field?}` with a spec `ErrorCode`, and on any state
 * change after a rejection: every table of the hub's and each node's SQLite store (ledger,
 * quotas, budgets, queries, audit log, …) is digested before and after each rejected request.
 *
 * Bounded (≈ 250 requests, well under 60 s); `VEILGATE_FUZZ_LONG=1` runs 3,000. The seed is
 * fixed and printed on failure (`VEILGATE_FUZZ_SEED` to replay another).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadSpec } from '../../gateway/src/http/openapi.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';
import { fuzzOperations, fuzzRequest, type FuzzOperation } from './requests.ts';

const LONG = process.env.VEILGATE_FUZZ_LONG === '1';
const RUNS = LONG ? 3_000 : 250;
const SEED = Number(process.env.VEILGATE_FUZZ_SEED ?? 20_261_106);
const ERROR_CODES = new Set<string>(loadSpec().components.schemas.ErrorCode.enum);

let t: TestSpace;
let stores: string[];
beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 200 });
  stores = [join(t.dir, 'hub.sqlite'), ...t.space.hospitals.map((h) => join(t.dir, 'nodes', `${h.nodeId}.sqlite`))];
  // Witnessing writes to hub and nodes in the background: no timer, and each request waits
  // for a round that an earlier (accepted) request kicked, so only the request under test writes.
  t.space.hub.app.witnessing.stop();
}, 120_000);
afterAll(async () => t?.close());

/** A digest of every table of every store: an independent read of what the servers persisted. */
function snapshot(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const file of stores) {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[];
      for (const { name } of tables) {
        const rows = db.prepare(`SELECT * FROM "${name}"`).all();
        out[`${file.split('/').slice(-1)[0]}:${name}`] = createHash('sha256').update(JSON.stringify(rows, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'bigint' ? String(v) : v))).digest('hex');
      }
    } finally {
      db.close();
    }
  }
  return out;
}

function changed(a: Record<string, string>, b: Record<string, string>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]);
}

function targets(op: FuzzOperation): string[] {
  const out: string[] = [];
  if (op.tags.includes('hub')) out.push(t.space.hubUrl);
  if (op.tags.includes('node')) out.push(t.space.nodes[0]!.url);
  return out;
}

it(`${RUNS} malformed requests over every operation: never a 5xx, errors in the spec's shape, nothing changed by a rejection (seed ${SEED})`, async () => {
  const ops = fuzzOperations();
  const accounts = t.space.accounts;
  const keys = [undefined, accounts.researcher, accounts.admin, accounts.auditor, accounts.operators[t.space.nodes[0]!.id]![0]!];
  const seen = new Set<string>();
  const check = async (opIndex: number, seed: number, kinds: number, keyIndex: number, targetIndex: number): Promise<void> => {
        const op = ops[opIndex]!;
        const urls = targets(op);
        const base = urls[targetIndex % urls.length]!;
        const req = fuzzRequest(op, seed, kinds, keys[keyIndex]);
        seen.add(op.operationId);
        await t.space.hub.app.witnessing.settle();
        const before = snapshot();
        const res = await fetch(`${base}${req.path}`, {
          method: req.method, headers: req.headers, ...(req.body ? { body: req.body as Uint8Array<ArrayBuffer> } : {}), signal: AbortSignal.timeout(10_000),
        });
        const what = `${op.operationId} ${req.method} ${base}${req.path.slice(0, 120)} [${req.mutations.join('; ')}] → ${res.status}`;
        const text = op.streams && res.ok ? (await res.body?.cancel(), '') : await res.text();
        expect(res.status, what).toBeLessThan(500);
        if (res.status >= 400) {
          const body = JSON.parse(text) as Record<string, unknown>;
          expect(ERROR_CODES.has(String(body.code)), `${what}: code ${String(body.code)}`).toBe(true);
          expect(Object.keys(body).every((k) => ['code', 'message', 'field', 'node'].includes(k)), what).toBe(true);
          expect(changed(before, snapshot()), `${what}: state changed after a rejection`).toEqual([]);
        }
  };
  // Every operation once, deterministically (new routes are covered however the draw falls),
  // then the random draw.
  for (const [i] of ops.entries()) await check(i, SEED + i, 15, i % keys.length, i);
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: ops.length - 1 }), fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 1, max: 15 }), fc.integer({ min: 0, max: keys.length - 1 }), fc.nat(),
      check,
    ),
    { seed: SEED, numRuns: RUNS, endOnFailure: true, verbose: 1 },
  );
  // Every operation was reached (the run is long enough to cover the spec).
  if (RUNS >= 250) expect(ops.filter((o) => !seen.has(o.operationId)).map((o) => o.operationId)).toEqual([]);
}, LONG ? 1_800_000 : 90_000);
