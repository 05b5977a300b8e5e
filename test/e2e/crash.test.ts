/**
 * The crash suite (issue 11; DESIGN invariants 3, 4, 8; protocol.md §11.1): the hub and a node
 * run as separate processes (`veilgate hub|node --config …`, the files a demo data space
 * writes) under a stream of SDK queries from three workers, and are SIGKILLed at random points
 * and restarted. Afterwards: no query is `running`; every `query.accepted` has exactly one
 * outcome entry; the credits ledger balances with the escrow back to 0; every grant's ρ and
 * quota are what its completed queries spent; the node's ledger is what its log says it
 * released; every failure the SDK raised is a `VeilgateError`; and `veilgate audit verify`
 * passes from a checkpoint saved mid-run and from scratch.
 *
 * Bounded (≈ 35 s of chaos); `VEILGATE_CRASH_LONG=1` runs 5 minutes.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { VeilgateClient, VeilgateError, type Query } from '@veilgate/sdk';
import { startTestSpace, type TestSpace } from '../support/space.ts';

const exec = promisify(execFile);
const cli = fileURLToPath(new URL('../../gateway/src/cli/main.ts', import.meta.url));
const LONG = process.env.VEILGATE_CRASH_LONG === '1';
const CHAOS_MS = LONG ? 300_000 : 35_000;
const WORKERS = 3;
const RHO = 0.001;
const NANO = 1_000_000_000;

let t: TestSpace;
let dir: string;
const servers: Record<'hub' | 'node', { args: string[]; url: string; proc?: ChildProcess; output: string[] }> = {} as never;

/** Starts one server process and waits until it answers `GET /v1/health`. */
async function start(name: 'hub' | 'node'): Promise<void> {
  const s = servers[name];
  const proc = spawn(process.execPath, [cli, ...s.args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (b: Buffer) => {
    s.output.push(b.toString());
    if (s.output.length > 400) s.output.splice(0, 200);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  s.proc = proc;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited (${proc.exitCode}): ${s.output.join('').slice(-2000)}`);
    const ok = await fetch(`${s.url}/v1/health`).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} did not start: ${s.output.join('').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGKILL: no handler runs, no transaction is finished. */
async function kill(name: 'hub' | 'node'): Promise<void> {
  const proc = servers[name].proc;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGKILL');
  await exited;
}

async function auditVerify(checkpoint: string): Promise<{ code: number; out: string }> {
  const { VEILGATE_HUB: _h, VEILGATE_API_KEY: _k, ...env } = process.env;
  return exec(process.execPath, [cli, 'audit', 'verify', '--checkpoint', checkpoint, '--max-witness-age', '3600'], { env: { ...env, VEILGATE_DEMO: join(dir, 'demo.json') }, cwd: dir }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

/** `audit verify`, again while only the witness quorum is missing (the node cosigns the newest checkpoint a moment later). */
async function verifyWitnessed(checkpoint: string): Promise<{ code: number; out: string }> {
  for (let i = 0; ; i++) {
    const r = await auditVerify(checkpoint);
    if (r.code === 0 || i === 5 || !/\(witness_quorum\)/.test(r.out) || /PROBLEM(?![^\n]*witness_quorum)/.test(r.out)) return r;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function allEntries(url: string, apiKey?: string): Promise<{ type: string; [k: string]: unknown }[]> {
  const out: { type: string }[] = [];
  for (;;) {
    const res = await fetch(`${url}/v1/audit/entries?start=${out.length}&limit=5000`, apiKey ? { headers: { authorization: `Bearer ${apiKey}` } } : {});
    const page = (await res.json()) as { entries: { entry: { type: string } }[]; treeSize: number };
    out.push(...page.entries.map((e) => e.entry));
    if (!page.entries.length || out.length >= page.treeSize) return out as never;
  }
}

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 150, hospitals: 1, differentialPrivacy: true, rateLimitPerMinute: 1_000_000, fanOutTimeoutMs: 10_000 });
  dir = t.dir;
  const node = t.space.nodes[0]!;
  servers.hub = { args: ['hub', '--config', join(dir, 'hub.json')], url: t.space.hubUrl, output: [] };
  servers.node = { args: ['node', '--config', join(dir, 'nodes', `${node.id}.json`)], url: node.url, output: [] };
  // From here on the servers are processes of their own, on the same files and ports.
  await t.space.close();
  await start('node');
  await start('hub');
}, 120_000);

afterAll(async () => {
  await kill('hub');
  await kill('node');
  t?.oracle.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it(`SIGKILLs of the hub and the node under a query stream leave every query resolved, the ledgers balanced and the log verifiable (${CHAOS_MS / 1000} s)`, async () => {
  const query: Query = { datasets: [t.datasets[0]!], aggregates: [{ op: 'count' }] };
  const outcomes = { completed: 0, failed: new Map<string, number>() };
  const raw: unknown[] = [];
  let stop = false;
  const worker = async () => {
    const client = new VeilgateClient({ baseUrl: t.space.hubUrl, apiKey: t.space.accounts.researcher, retry: { retries: 10, baseDelayMs: 100, maxDelayMs: 1000, timeoutMs: 20_000 } });
    while (!stop) {
      try {
        await client.query(query, { keys: t.keys, identity: t.identity, rho: RHO });
        outcomes.completed++;
      } catch (err) {
        if (!(err instanceof VeilgateError)) raw.push(err);
        const code = err instanceof VeilgateError ? err.code : String(err);
        outcomes.failed.set(code, (outcomes.failed.get(code) ?? 0) + 1);
      }
    }
  };
  // A checkpoint saved before the stream: the final verification proves the log only grew from it.
  const saved = join(dir, 'checkpoint-early.json');
  const early = await verifyWitnessed(saved);
  expect(early.code, early.out).toBe(0);
  const workers = Array.from({ length: WORKERS }, worker);

  const kills = { hub: 0, node: 0 };
  const chaosEnd = Date.now() + CHAOS_MS;
  while (Date.now() < chaosEnd) {
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 2500));
    const victim = Math.random() < 0.7 ? 'hub' : 'node';
    await kill(victim);
    kills[victim]++;
    await new Promise((r) => setTimeout(r, Math.random() * 300));
    await start(victim);
  }
  stop = true;
  await Promise.all(workers);

  // Every failure the SDK raised has a stable code: no raw TypeError.
  expect(raw).toEqual([]);
  expect(outcomes.completed).toBeGreaterThan(0);

  // The log: every accepted query has exactly one outcome, and no outcome is orphaned.
  const entries = await allEntries(t.space.hubUrl, t.space.accounts.auditor);
  const accepted = entries.filter((e) => e.type === 'query.accepted').map((e) => e.queryId as string);
  const ended = entries.filter((e) => e.type === 'query.completed' || e.type === 'query.failed');
  const endedOf = new Map<string, number>();
  for (const e of ended) endedOf.set(e.queryId as string, (endedOf.get(e.queryId as string) ?? 0) + 1);
  for (const id of accepted) expect(endedOf.get(id), id).toBe(1);
  expect(ended).toHaveLength(accepted.length);
  const interrupted = entries.filter((e) => e.type === 'query.failed' && e.errorCode === 'interrupted').length;
  // The kills did land mid-query (else this suite proves nothing about recovery).
  expect(interrupted + (outcomes.failed.get('node_unavailable') ?? 0)).toBeGreaterThan(0);

  // `veilgate audit verify` from the checkpoint saved mid-run and from scratch.
  const fromSaved = await verifyWitnessed(saved);
  expect(fromSaved.code, fromSaved.out).toBe(0);
  const fromScratch = await verifyWitnessed(join(dir, 'checkpoint-fresh.json'));
  expect(fromScratch.code, fromScratch.out).toBe(0);

  const nodeEntries = await allEntries(servers.node.url);
  await kill('hub');
  await kill('node');

  const hub = new DatabaseSync(join(dir, 'hub.sqlite'), { readOnly: true });
  try {
    const one = <T>(sql: string, ...args: (string | number)[]) => ({ ...(hub.prepare(sql).get(...args) as object) }) as T;
    expect(one<{ n: number }>(`SELECT count(*) AS n FROM queries WHERE status = 'running'`).n).toBe(0);
    const byStatus = Object.fromEntries((hub.prepare('SELECT status, count(*) AS n FROM queries GROUP BY status').all() as { status: string; n: number }[]).map((r) => [r.status, Number(r.n)]));
    expect(byStatus.completed ?? 0).toBe(entries.filter((e) => e.type === 'query.completed').length);
    expect((byStatus.completed ?? 0) + (byStatus.failed ?? 0)).toBe(accepted.length);
    // Credits: balanced, escrow back to 0, every charge committed (completed) or released (failed).
    expect(one<{ s: number }>('SELECT coalesce(sum(balance), 0) AS s FROM ledger_balances').s).toBe(0);
    expect(Number(one<{ b: number } | undefined>(`SELECT coalesce((SELECT balance FROM ledger_balances WHERE account = 'escrow'), 0) AS b`)!.b)).toBe(0);
    expect(one<{ n: number }>(`SELECT count(*) AS n FROM query_charges WHERE state = 'reserved'`).n).toBe(0);
    expect(one<{ n: number }>(`SELECT count(*) AS n FROM query_charges c JOIN queries q ON q.id = c.query_id WHERE (q.status = 'completed') <> (c.state = 'committed')`).n).toBe(0);
    // ρ and quota of each grant: exactly what its completed queries spent.
    const grants = hub.prepare('SELECT jti, spent, reserved FROM grant_budgets').all() as { jti: string; spent: number; reserved: number }[];
    expect(grants.length).toBeGreaterThan(0);
    for (const g of grants) {
      const completed = Number(one<{ n: number }>(`SELECT count(*) AS n FROM query_charges c, json_each(c.jtis) j WHERE j.value = ? AND c.state = 'committed'`, g.jti).n);
      expect(Number(g.reserved)).toBeCloseTo(0, 9);
      expect(Number(g.spent)).toBeCloseTo(completed * RHO, 9);
      expect(Number(one<{ u: number }>('SELECT queries_used AS u FROM access_decisions WHERE token_jti = ?', g.jti).u)).toBe(completed);
    }
  } finally {
    hub.close();
  }

  // The node: its ledger is what its log says it released, and nothing is left reserved.
  const computed = nodeEntries.filter((e) => e.type === 'contribution.computed');
  const node = new DatabaseSync(join(dir, 'nodes', `${t.space.nodes[0]!.id}.sqlite`), { readOnly: true });
  try {
    expect(Number((node.prepare(`SELECT count(*) AS n FROM token_charges WHERE state = 'reserved'`).get() as { n: number }).n)).toBe(0);
    for (const row of node.prepare('SELECT jti, spent_nano, queries FROM token_ledger').all() as { jti: string; spent_nano: number; queries: number }[]) {
      const mine = computed.filter((e) => e.tokenJti === row.jti);
      expect(Number(row.queries), row.jti).toBe(mine.length);
      expect(Number(row.spent_nano)).toBe(mine.reduce((n, e) => n + Math.round((e.rho as number) * NANO), 0));
    }
  } finally {
    node.close();
  }
  console.log(`crash suite: ${kills.hub} hub and ${kills.node} node SIGKILLs; ${outcomes.completed} queries completed, failures ${JSON.stringify(Object.fromEntries(outcomes.failed))}; ${interrupted} interrupted queries recovered; ${accepted.length} accepted`);
}, CHAOS_MS + 120_000);
