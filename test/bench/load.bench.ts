/**
 * Load benchmark (`npm run bench:load`, issue 11): the hub and three nodes as separate
 * processes (`veilgate hub/node --config`, configurations written by the demo's
 * `startDataSpace`), differential privacy on, 3 × 20 000 rows. It reports queries per second
 * and p50/p95/p99 latency at 1, 2, 4, 8, 16 and 32 concurrent clients for
 *   - full SDK queries: `VeilgateClient.query` (tokens, DPoP statement, hub fan-out, node
 *     DuckDB + noise + masks + BFV + signature, hub verification and sum, receipt check, decryption);
 *   - raw queries: the same signed POST /v1/queries, without the receipt check and decryption;
 * then the resident memory (RSS, /proc) of hub and nodes sampled over a soak at 16 clients.
 * With `--profile`, the hub and one node run under `--cpu-prof` and the top self-time
 * functions of each are printed.
 *
 * Usage:
 *   npm run bench:load                                   # the whole run: about 14 minutes
 *   npm run bench:load -- --soak-seconds 60 --step-seconds 10
 *   npm run bench:load -- --clients 16 --modes raw --soak-seconds 0 --profile
 * Figures go to stdout and to `.veilgate/bench/load/results.json`.
 *
 * Every client of one researcher account shares its grant; the bench makes several
 * researchers so that no grant's ρ or quota runs out (ρ = 0.0001 per query: the work a node
 * does does not depend on ρ). All processes — and the clients — share this machine's cores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { VeilgateClient, createQueryProof, generateHeKeyPair, generateIdentityKey, type HeKeyPair, type IdentityKey, type Query } from '@veilgate/sdk';
import { startDataSpace } from '../../gateway/src/demo/data-space.ts';
import { grantAccess } from '../../gateway/src/demo/grant-access.ts';
import type { HubConfig } from '../../gateway/src/server/config.ts';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '1,2,4,8,16,32' },
    modes: { type: 'string', default: 'full,raw' },
    'step-seconds': { type: 'string', default: '20' },
    'soak-seconds': { type: 'string', default: '600' },
    'soak-clients': { type: 'string', default: '16' },
    patients: { type: 'string', default: '20000' },
    researchers: { type: 'string', default: '8' },
    port: { type: 'string', default: '18480' },
    dir: { type: 'string', default: '.veilgate/bench/load' },
    profile: { type: 'boolean', default: false },
  },
});
const CLIENT_LEVELS = args.clients.split(',').map(Number);
const MODES = args.modes.split(',') as ('full' | 'raw')[];
const STEP_MS = Number(args['step-seconds']) * 1000;
const SOAK_MS = Number(args['soak-seconds']) * 1000;
const DIR = resolve(args.dir);
const RHO = 0.0001;
const CLI = resolve('gateway/src/cli/main.ts');
const NODE_BIN = process.execPath;

/** The query every client runs: all three hospitals, two groups, a count and a mean. */
const QUERY: Query = {
  datasets: ['hosp-a.cardiometabolic', 'hosp-b.cardiometabolic', 'hosp-c.cardiometabolic'],
  groupBy: [{ element: 'sex' }],
  aggregates: [{ op: 'count' }, { op: 'mean', element: 'age' }],
};

interface Researcher {
  apiKey: string;
  /** A key is registered to one account: each researcher has its own. */
  keys: HeKeyPair;
  identity: IdentityKey;
  client: VeilgateClient;
  tokens: string[];
}

// ---------------------------------------------------------------------------------------
// The data space: written once in this process, then run as separate processes
// ---------------------------------------------------------------------------------------

async function prepare(): Promise<{ researchers: Researcher[]; hubUrl: string }> {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const space = await startDataSpace({
    dir: DIR, patientsPerHospital: Number(args.patients), hospitals: 3, port: Number(args.port), differentialPrivacy: true,
    rateLimitPerMinute: 10_000_000, researcherCredits: 1e9, log: () => {},
  });
  const admin = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.admin });
  const researchers: Researcher[] = [];
  for (let i = 0; i < Number(args.researchers); i++) {
    const created = await admin.createAccount({ name: `load-researcher-${i}`, role: 'researcher' });
    await admin.topUp(created.id, 1e8);
    const client = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: created.apiKey });
    const keys = await generateHeKeyPair();
    await client.registerKey(keys);
    const identity = await generateIdentityKey();
    await grantAccess({ hubUrl: space.hubUrl, researcher: created.apiKey, operators: space.accounts.operators, operatorKeys: space.accounts.operatorKeys }, identity, {
      privacyBudget: 2, queryQuota: 1_000_000, durationDays: 30,
    });
    researchers.push({ apiKey: created.apiKey, keys, identity, client, tokens: [] });
  }
  const hubUrl = space.hubUrl;
  await space.close();
  return { researchers, hubUrl };
}

interface Proc {
  name: string;
  child: ChildProcess;
}

async function startProcess(name: string, role: 'hub' | 'node', config: string, profileDir?: string): Promise<Proc> {
  const flags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(NODE_BIN, [...flags, CLI, role, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`${name} did not start: ${out}`)), 120_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening on')) {
        clearTimeout(timer);
        ok();
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => fail(new Error(`${name} exited (${code}): ${out}`)));
  });
  // Keep draining its output (a full pipe would block the server).
  child.stdout!.resume();
  child.stderr!.resume();
  return { name, child };
}

async function stopProcess(p: Proc): Promise<void> {
  if (p.child.exitCode !== null) return;
  const exited = new Promise((ok) => p.child.once('exit', ok));
  p.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((ok) => setTimeout(ok, 15_000))]);
  if (p.child.exitCode === null) p.child.kill('SIGKILL');
}

/** CPU time a process has used, ms (Linux /proc/<pid>/stat utime + stime, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU ms of every server process and of this one (the clients). */
function cpuSnapshot(procs: Proc[]): Record<string, number> {
  const own = process.cpuUsage();
  return { ...Object.fromEntries(procs.map((p) => [p.name, cpuMs(p.child.pid!)])), clients: (own.user + own.system) / 1000 };
}

/** Resident set size of a process, MB (Linux /proc; VmRSS = anonymous + file-backed + shared). */
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

// ---------------------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------------------

/** One raw query: the signed request the SDK would send, its answer read but not decrypted. */
async function rawQuery(hubUrl: string, r: Researcher, participants: string[]): Promise<void> {
  const body = { keyId: r.keys.keyId, query: QUERY, purpose: 'DUO:0000006', tokens: r.tokens, rho: RHO };
  const dpop = await createQueryProof({ identity: r.identity, htu: `${hubUrl}/v1/queries`, request: body, participants });
  const res = await fetch(`${hubUrl}/v1/queries`, {
    method: 'POST', headers: { authorization: `Bearer ${r.apiKey}`, 'content-type': 'application/json', DPoP: dpop }, body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { code: (JSON.parse(text) as { code?: string }).code ?? String(res.status) });
}

interface StepResult {
  mode: string;
  clients: number;
  queries: number;
  errors: Record<string, number>;
  qps: number;
  p50: number;
  p95: number;
  p99: number;
  /** CPU ms per completed query, per process (and `clients` for this process): what bounds q/s on a fixed number of cores. */
  cpuPerQuery: Record<string, number>;
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);

async function runStep(mode: 'full' | 'raw', clients: number, ms: number, ctx: { hubUrl: string; researchers: Researcher[]; participants: string[]; procs: Proc[] }, onTick?: () => void): Promise<StepResult> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const warmupEnd = performance.now() + Math.min(2000, ms / 5);
  const end = warmupEnd + ms;
  let counted = 0;
  let cpuStart: Record<string, number> = {};
  const startCpu = setTimeout(() => (cpuStart = cpuSnapshot(ctx.procs)), warmupEnd - performance.now());
  const worker = async (w: number) => {
    const r = ctx.researchers[w % ctx.researchers.length]!;
    while (performance.now() < end) {
      const started = performance.now();
      try {
        if (mode === 'full') await r.client.query(QUERY, { keys: r.keys, identity: r.identity, tokens: r.tokens, purpose: 'DUO:0000006', rho: RHO });
        else await rawQuery(ctx.hubUrl, r, ctx.participants);
        if (started >= warmupEnd) {
          latencies.push(performance.now() - started);
          counted++;
        }
      } catch (err) {
        const code = (err as { code?: string }).code ?? (err as Error).message;
        if (started >= warmupEnd) errors[code] = (errors[code] ?? 0) + 1;
      }
      onTick?.();
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  clearTimeout(startCpu);
  const cpuEnd = cpuSnapshot(ctx.procs);
  const cpuPerQuery = Object.fromEntries(Object.entries(cpuEnd).map(([k, v]) => [k, Math.round((v - (cpuStart[k] ?? v)) / Math.max(1, counted))]));
  const sorted = latencies.sort((a, b) => a - b);
  return { mode, clients, queries: counted, errors, qps: counted / (ms / 1000), p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), cpuPerQuery };
}

// ---------------------------------------------------------------------------------------
// CPU profiles: top functions by self time
// ---------------------------------------------------------------------------------------

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

function topSelfTime(file: string, n = 15): { fn: string; share: number }[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame;
    const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|gateway|sdk)\//, '$1/')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([fn, t]) => ({ fn, share: t / total }));
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(`load bench: ${cpus().length} CPUs (${availableParallelism()} available), ${args.patients} rows × 3 nodes, DP on, ρ ${RHO} per query`);
  const { researchers, hubUrl } = await prepare();
  const profileDir = args.profile ? join(DIR, 'profiles') : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const nodeConfigs = readdirSync(join(DIR, 'nodes')).filter((f) => f.endsWith('.json')).sort();
  const procs: Proc[] = [];
  try {
    for (const [i, f] of nodeConfigs.entries()) procs.push(await startProcess(f.replace('.json', ''), 'node', join(DIR, 'nodes', f), i === 0 ? profileDir : undefined));
    const hubConfig = JSON.parse(readFileSync(join(DIR, 'hub.json'), 'utf8')) as HubConfig;
    procs.push(await startProcess('hub', 'hub', join(DIR, 'hub.json'), profileDir));
    const participants = hubConfig.nodes.map((n) => n.id).sort();
    for (const r of researchers) r.tokens = (await r.client.tokensFor(QUERY, r.identity, 'DUO:0000006')).tokens;
    const ctx = { hubUrl, researchers, participants, procs };
    const results: StepResult[] = [];
    console.log('\nmode  clients   q/s    p50 ms  p95 ms  p99 ms  queries  errors  CPU ms per query (sum: the 2-core ceiling is 2000 / sum q/s)');
    for (const mode of MODES) {
      for (const clients of CLIENT_LEVELS) {
        const r = await runStep(mode, clients, STEP_MS, ctx);
        results.push(r);
        console.log(`${mode.padEnd(5)} ${String(clients).padStart(7)} ${r.qps.toFixed(1).padStart(6)} ${r.p50.toFixed(0).padStart(8)} ${r.p95.toFixed(0).padStart(7)} ${r.p99.toFixed(0).padStart(7)} ${String(r.queries).padStart(8)}  ${JSON.stringify(r.errors)}  ${JSON.stringify(r.cpuPerQuery)} sum ${Object.values(r.cpuPerQuery).reduce((a, b) => a + b, 0)}`);
      }
    }
    const soak: { t: number; rss: Record<string, number> }[] = [];
    let soakResult: StepResult | undefined;
    if (SOAK_MS > 0) {
      const sample = () => soak.push({ t: Math.round(performance.now() / 1000), rss: Object.fromEntries(procs.map((p) => [p.name, Math.round(rssMb(p.child.pid!))])) });
      sample();
      const timer = setInterval(sample, 10_000);
      soakResult = await runStep('raw', Number(args['soak-clients']), SOAK_MS, ctx);
      clearInterval(timer);
      sample();
      console.log(`\nsoak: ${args['soak-clients']} clients raw for ${SOAK_MS / 1000} s: ${soakResult.qps.toFixed(1)} q/s, p99 ${soakResult.p99.toFixed(0)} ms, ${soakResult.queries} queries, errors ${JSON.stringify(soakResult.errors)}, CPU ms per query ${JSON.stringify(soakResult.cpuPerQuery)}`);
      console.log('RSS MB        start   +25%   +50%   +75%    end    max');
      for (const p of procs) {
        const series = soak.map((s) => s.rss[p.name]!);
        const at = (f: number) => series[Math.min(series.length - 1, Math.round(f * (series.length - 1)))]!;
        console.log(`${p.name.padEnd(10)} ${[at(0), at(0.25), at(0.5), at(0.75), at(1), Math.max(...series)].map((x) => String(x).padStart(6)).join(' ')}`);
      }
    }
    for (const p of [...procs].reverse()) await stopProcess(p);
    const profiles: Record<string, { fn: string; share: number }[]> = {};
    if (profileDir && existsSync(profileDir)) {
      // Node names a profile CPU.<date>.<time>.<pid>.…: the pid says whose it is.
      const byPid = new Map(procs.map((p) => [String(p.child.pid), p.name]));
      for (const f of readdirSync(profileDir).filter((x) => x.endsWith('.cpuprofile'))) {
        const name = `${byPid.get(f.split('.')[3] ?? '') ?? '?'} (${f})`;
        profiles[name] = topSelfTime(join(profileDir, f));
        console.log(`\nCPU profile of ${name} — top self time (idle = waiting for work; withTransaction's self time is SQLite's COMMIT, fsync included):`);
        for (const x of profiles[name]!) console.log(`  ${(x.share * 100).toFixed(1).padStart(5)} %  ${x.fn}`);
      }
    }
    writeFileSync(join(DIR, 'results.json'), JSON.stringify({ at: new Date().toISOString(), cpus: cpus().length, patients: Number(args.patients), steps: results, soak, soakResult, profiles }, null, 2));
    console.log(`\nresults: ${join(DIR, 'results.json')}`);
  } finally {
    for (const p of procs) await stopProcess(p);
  }
}

await main();
