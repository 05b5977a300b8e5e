/**
 * The CLI as a user runs it — separate processes against a running data space: identity and
 * keys, an access request, operators' approvals, grants, a query, a consent import, a key
 * rotation, usage errors with exit status 2.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startTestSpace, type TestSpace } from '../support/space.ts';

const exec = promisify(execFile);
const cli = fileURLToPath(new URL('../../gateway/src/cli/main.ts', import.meta.url));
let t: TestSpace;

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 300 });
});
afterAll(async () => t?.close());

async function veilgate(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { VEILGATE_HUB: _h, VEILGATE_API_KEY: _k, ...env } = process.env;
  return exec(process.execPath, [cli, ...args], { env: { ...env, VEILGATE_DEMO: join(t.dir, 'demo.json') }, cwd: t.dir }).then(
    (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
  );
}

it('a researcher and two operators go from request to result', async () => {
  expect((await veilgate('identity', 'generate', '--out', 'id.json')).code).toBe(0);
  expect((await veilgate('keys', 'generate', '--out', 'he.json')).code).toBe(0);
  expect((await veilgate('keys', 'register', '--key', 'he.json')).out).toMatch(/registered keyId [0-9a-f]{64}/);
  const requested = await veilgate('request', '--datasets', 'hosp-a.cardiometabolic,hosp-c.cardiometabolic', '--elements', 'sex,hba1c',
    '--operations', 'count,mean', '--justification', 'Glycaemic control by sex.', '--identity', 'id.json', '--quota', '5');
  expect(requested.code).toBe(0);
  const id = /^(ar_[A-Za-z0-9_-]+)/.exec(requested.out)![1]!;
  expect(requested.out).toMatch(/hosp-c\s+pending\s+needs 2 approval/);
  const ops = t.space.accounts.operators;
  expect((await veilgate('approve', id, '--api-key', ops['hosp-a']![0]!)).out).toMatch(/hosp-a\s+approved/);
  expect((await veilgate('approve', id, '--api-key', ops['hosp-c']![0]!)).out).toMatch(/hosp-c\s+pending\s+approvals 1\/2/);
  const again = await veilgate('approve', id, '--api-key', ops['hosp-c']![0]!);
  expect(again.code).toBe(1);
  expect(again.err).toMatch(/duplicate_approval/);
  expect((await veilgate('approve', id, '--api-key', ops['hosp-c']![1]!)).out).toMatch(/active/);
  expect((await veilgate('grants')).out).toMatch(/hosp-c\s+hosp-c\.cardiometabolic\s+DUO:0000006\s+0\/5 queries/);

  const query = JSON.stringify({ datasets: ['hosp-a.cardiometabolic', 'hosp-c.cardiometabolic'], groupBy: [{ element: 'sex' }], aggregates: [{ op: 'count' }, { op: 'mean', element: 'hba1c' }] });
  const result = await veilgate('query', '--key', 'he.json', '--identity', 'id.json', '--json', query, '--format', 'json');
  expect(result.code, result.err).toBe(0);
  const groups = (JSON.parse(result.out) as { groups: { key: { sex: string }; count: number }[] }).groups;
  const oracle = await t.oracle.query(`SELECT sex, count(*) AS n FROM pooled_t WHERE hospital IN ('hosp-a', 'hosp-c') GROUP BY sex`);
  for (const g of groups) expect(g.count).toBe(Number(oracle.find((r) => r.sex === g.key.sex)!.n));
  const table = await veilgate('query', '--key', 'he.json', '--identity', 'id.json', '--json', query);
  expect(table.out).toMatch(/^sex\s+count\s+mean\(hba1c\)/m);

  expect((await veilgate('revoke', id, '--api-key', ops['hosp-a']![1]!, '--reason', 'Study closed.')).out).toMatch(/hosp-a\s+revoked\s.*Study closed\./);
});

it('an operator imports patient consent', async () => {
  writeFileSync(join(t.dir, 'consent.csv'), 'subject,purpose,status,recorded_at\nA00000001,DUO:0000006,withdrawn,2026-11-20T00:00:00Z\n');
  const r = await veilgate('consent', 'import', '--dataset', 'hosp-a.cardiometabolic', '--file', 'consent.csv', '--api-key', t.space.accounts.operators['hosp-a']![0]!);
  expect(r.code, r.err).toBe(0);
  expect(r.out).toMatch(/1 records imported; 1 subjects have a withdrawal in force/);
});

it('keys rotate adds a key to the node', async () => {
  const r = await veilgate('keys', 'rotate', '--node-config', join(t.dir, 'nodes', 'hosp-b.json'));
  expect(r.code, r.err).toBe(0);
  expect(r.out).toMatch(/new consent-token key \S+; published keys: \S+, \S+/);
});

it('metering: balance, usage as CSV, an admin top-up, an operator price', async () => {
  expect((await veilgate('balance')).out).toMatch(/^credits \d+/);
  const csv = await veilgate('usage', '--format', 'csv');
  expect(csv.out.split('\r\n')[0]).toBe('day,researcher,dataset,node,queries,completed,failed,credits,rho');
  const me = JSON.parse((await veilgate('usage', '--format', 'json')).out) as { rows: { researcher: string }[] };
  const account = me.rows[0]!.researcher;
  expect((await veilgate('credits', 'top-up', '--account', account, '--amount', '5')).out).toMatch(new RegExp(`^${account}: \\d+`));
  expect((await veilgate('price', '--dataset', 'hosp-a.cardiometabolic', '--price', '3', '--api-key', t.space.accounts.operators['hosp-a']![0]!)).out).toMatch(/3 credits per query/);
});

it('usage errors exit with status 2 and say what is missing', async () => {
  const r = await veilgate('request', '--datasets', 'x');
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/--identity FILE is required/);
  expect((await veilgate('nonsense')).code).toBe(2);
});

/** Every command the full usage text names (`veilgate <command> …` lines). */
async function commandsInUsage(): Promise<string[]> {
  const { out, code } = await veilgate('--help');
  expect(code).toBe(0);
  return [...new Set([...out.matchAll(/^\s{2}veilgate ([a-z-]+)/gm)].map((m) => m[1]!))];
}

it('the usage names every command the CLI has', async () => {
  expect((await commandsInUsage()).sort()).toEqual(
    ['accounts', 'approve', 'audit', 'balance', 'consent', 'credits', 'demo', 'deny', 'grants', 'hub', 'identity', 'keys', 'node', 'operator', 'price', 'privacy', 'query', 'request', 'requests', 'revoke', 'usage'].sort(),
  );
});

it('`veilgate <command> --help` and `-h` print that command\'s usage and exit 0, for every command (and start nothing)', async () => {
  const commands = await commandsInUsage();
  // Every command with --help (each process loads the whole CLI: ~1 s of CPU), -h on a few,
  // and a subcommand's --help after other flags.
  const runs: [string, string[]][] = commands.map((c) => [c, [c, '--help']]);
  runs.push(['demo', ['demo', '-h']], ['usage', ['usage', '-h']], ['keys', ['keys', 'generate', '--out', 'x.json', '--help']], ['audit', ['audit', 'verify', '-h']]);
  for (let i = 0; i < runs.length; i += 4) {
    await Promise.all(runs.slice(i, i + 4).map(async ([command, args]) => {
      const t0 = Date.now();
      const r = await veilgate(...args);
      expect({ args, code: r.code, err: r.err }).toEqual({ args, code: 0, err: '' });
      expect(r.out).toMatch(/^usage:/);
      expect(r.out).toContain(`veilgate ${command} `.trimEnd());
      // Only this command's lines: no other command's usage.
      const others = [...r.out.matchAll(/^\s{2}veilgate ([a-z-]+)/gm)].map((m) => m[1]);
      expect(new Set(others)).toEqual(new Set([command]));
      // `demo --help`, `hub --help`, `node --help` must not start a server.
      expect(Date.now() - t0).toBeLessThan(15_000);
    }));
  }
}, 120_000);
