/**
 * Federated-query benchmark (`npm run bench`).
 *
 * For each scenario (nodes × rows) it starts a whole demo data space in this process
 * (synthetic hospitals, one node server each, a hub; real HTTP on 127.0.0.1), then times on
 * the same data, alternating run by run:
 *   - the encrypted federated query end to end: `VeilgateClient.query` (hub plans, fans out,
 *     nodes run DuckDB + BFV-encrypt + sign, hub verifies and adds, the SDK re-plans,
 *     decrypts and decodes);
 *   - the same query in plaintext DuckDB over the pooled rows of every hospital
 *     (materialised in memory, as the nodes materialise theirs).
 * It reports p50/p95 of both, their ratio, bytes each node sent, the ciphertext size and
 * the hub's timing breakdown; then, with the data space closed, it times the pieces in
 * isolation (each node's aggregate SQL on the node's own DuckDB engine, BFV encrypt / add /
 * decrypt) so that the end-to-end time can be attributed.
 *
 * Usage:
 *   npm run bench                                   # all default scenarios
 *   npm run bench -- --scenarios 3x100k,3x1M        # a selection
 *   npm run bench -- --quick                        # fewer runs, small scenarios only
 *   npm run bench -- --runs 20 --warmup 3 --out .veilgate/bench/results.json
 * Results are printed and written as JSON (default `.veilgate/bench/results.json`).
 * Generated data is cached under `.veilgate/bench/<scenario>/data`.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { sep } from 'node:path';
import { dirname, resolve } from 'node:path';
import { performance as nodePerformance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  VeilgateClient, generateIdentityKey, deriveMask, generateMaskKeyPair, addCiphertexts, bucketLabels, decryptSlots, encryptSlots, fromBase64, generateHeKeyPair, loadHe,
  loadPublicKey, sha256Hex, toBase64, type GroupResult, type HeKeyPair, type Query, type SlotPlan,
} from '@veilgate/sdk';
import { startDataSpace, type DataSpace } from '../../gateway/src/demo/data-space.ts';
import { grantAccess } from '../../gateway/src/demo/grant-access.ts';
import { createPooledOracle, type PooledOracle } from '../../gateway/src/demo/oracle.ts';
import type { GeneratedHospital } from '../../gateway/src/demo/synthetic.ts';
import { compileAggregate } from '../../gateway/src/datasets/aggregate-sql.ts';
import { openDatasets, type DatasetEngine } from '../../gateway/src/datasets/duckdb-dataset.ts';
import { loadDictionary } from '../../gateway/src/datasets/dictionary.ts';
import { generateSigningKey, signMessage, verifyMessage } from '../../gateway/src/crypto/ed25519.ts';

// ---------------------------------------------------------------------------------------
// Scenarios and the query
// ---------------------------------------------------------------------------------------

interface Scenario {
  name: string;
  hospitals: number;
  patientsPerHospital: number;
  /** Timed runs (each = one federated + one plaintext query). */
  runs: number;
  note: string;
}

const SCENARIOS: readonly Scenario[] = [
  { name: '3x100k', hospitals: 3, patientsPerHospital: 100_000, runs: 30, note: '3 nodes × 100k rows (p50 target)' },
  { name: '3x1M', hospitals: 3, patientsPerHospital: 333_334, runs: 30, note: '1M rows over 3 nodes' },
  { name: '5x1M', hospitals: 5, patientsPerHospital: 200_000, runs: 30, note: '1M rows over 5 nodes' },
  { name: '3x10M', hospitals: 3, patientsPerHospital: 3_333_334, runs: 10, note: '10M rows over 3 nodes (ratio target)' },
  { name: '5x10M', hospitals: 5, patientsPerHospital: 2_000_000, runs: 10, note: '10M rows over 5 nodes (ratio target)' },
];
/** Not in the default set: a seconds-long smoke test of the bench itself. */
const EXTRA_SCENARIOS: readonly Scenario[] = [
  { name: '3x10k', hospitals: 3, patientsPerHospital: 10_000, runs: 10, note: 'smoke test of the benchmark' },
];
const QUICK_SCENARIOS = ['3x100k', '3x1M'];
const SEED = 42;

const AGE_BUCKETS = [18, 40, 65, 120];
const BMI_BINS = [10, 18.5, 25, 30, 70];

function benchQuery(datasets: string[]): Query {
  return {
    datasets,
    groupBy: [{ element: 'sex' }, { element: 'age', buckets: AGE_BUCKETS }],
    aggregates: [
      { op: 'count' },
      { op: 'mean', element: 'systolic_bp' },
      { op: 'stddev', element: 'systolic_bp' },
      { op: 'histogram', element: 'bmi', bins: BMI_BINS },
    ],
  };
}

/** SQL for an interval [lo, hi) — or [lo, hi] for the last one — as the protocol defines it. */
function interval(column: string, edges: number[], i: number): string {
  const last = i === edges.length - 2;
  return `${column} >= ${edges[i]} AND ${column} ${last ? '<=' : '<'} ${edges[i + 1]}`;
}

/**
 * The plaintext equivalent over the pooled table: same groups (rows outside every bucket or
 * without a sex code fall out, as on the nodes), count, mean, sample stddev, histogram.
 */
function plaintextSql(table: string): string {
  const labels = bucketLabels(AGE_BUCKETS);
  const ageCase = `CASE ${labels.map((l, i) => `WHEN ${interval('age', AGE_BUCKETS, i)} THEN '${l}'`).join(' ')} END`;
  const bins = BMI_BINS.slice(1).map((_, i) => `count(*) FILTER (WHERE ${interval('bmi', BMI_BINS, i)}) AS h${i}`);
  return `SELECT sex, age_bucket, count(*) AS n, avg(systolic_bp) AS sbp_mean, stddev_samp(systolic_bp) AS sbp_sd, ${bins.join(', ')}
FROM (SELECT sex, systolic_bp, bmi, ${ageCase} AS age_bucket FROM ${table} WHERE sex IN ('female', 'male'))
WHERE age_bucket IS NOT NULL
GROUP BY sex, age_bucket ORDER BY sex, age_bucket`;
}

// ---------------------------------------------------------------------------------------
// Statistics and formatting
// ---------------------------------------------------------------------------------------

interface Summary {
  n: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles (with 10 runs, p95 is the maximum). */
function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const rank = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN;
  return {
    n: s.length,
    p50: rank(0.5),
    p95: rank(0.95),
    min: s[0] ?? NaN,
    max: s.at(-1) ?? NaN,
    mean: s.reduce((a, b) => a + b, 0) / (s.length || 1),
  };
}

const ms = (v: number): string => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : '–');
const kb = (bytes: number): string => `${(bytes / 1000).toFixed(1)} kB`;
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const log = (line: string): void => console.log(line);

/**
 * CPU used on the machine by everything but this process, in cores (averaged), plus steal
 * time: Linux /proc/stat minus `process.cpuUsage()` (which counts all of this process's
 * threads, DuckDB's included). Timings are only trustworthy when this stays near 0.
 */
function foreignCpuMeter(): { stop(): { otherCores: number; stealCores: number } | undefined } {
  const read = (): { busy: number; steal: number } | undefined => {
    try {
      const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
      const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
      const tick = 10; // ms per USER_HZ tick (100 Hz on Linux)
      return { busy: ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)) * tick, steal: (steal ?? 0) * tick };
    } catch {
      return undefined;
    }
  };
  const start = read();
  const own = process.cpuUsage();
  const t0 = performance.now();
  return {
    stop() {
      const end = read();
      if (!start || !end) return undefined;
      const mine = process.cpuUsage(own);
      const wall = performance.now() - t0;
      const other = end.busy - start.busy - (mine.user + mine.system) / 1000;
      return { otherCores: Math.max(0, other) / wall, stealCores: (end.steal - start.steal) / wall };
    },
  };
}

/**
 * Waits (up to `maxMs`) until other processes use less than 0.1 core over a 3 s window, so
 * that a scenario does not start while e.g. a test suite runs. Returns the time waited.
 */
async function waitForQuietMachine(maxMs: number): Promise<{ waitedMs: number; quiet: boolean }> {
  const t0 = performance.now();
  for (;;) {
    const meter = foreignCpuMeter();
    await new Promise((r) => setTimeout(r, 3000));
    const other = meter.stop();
    if (!other || other.otherCores + other.stealCores < 0.1) return { waitedMs: performance.now() - t0, quiet: true };
    if (performance.now() - t0 >= maxMs) return { waitedMs: performance.now() - t0, quiet: false };
    log(`  (machine busy: other processes use ${other.otherCores.toFixed(2)} cores; waiting)`);
  }
}

/**
 * Waits until this process's event loop has been (nearly) idle for 10 ms, at most `maxMs`.
 * After a federated query the hub gathers witness co-signatures for its audit log in the
 * background (hub and nodes share this thread here); the timed windows of the next
 * measurement should not absorb that work. Its cost still shows in the CPU profile.
 */
async function settleEventLoop(maxMs = 500): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < maxMs) {
    const before = nodePerformance.eventLoopUtilization();
    await new Promise((r) => setTimeout(r, 10));
    if (nodePerformance.eventLoopUtilization(before).utilization < 0.05) return;
  }
}

/** Samples RSS every 250 ms; DuckDB's native memory is part of RSS. */
function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 250);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

// ---------------------------------------------------------------------------------------
// Crypto micro-benchmarks (scenario independent)
// ---------------------------------------------------------------------------------------

interface CryptoTimings {
  encryptMs: Summary;
  addMs: Record<string, Summary>;
  decryptMs: Summary;
  ciphertextBytes: number;
  /** Per-message costs of the functions the protocol calls (under Node: node:crypto and Buffer, see sdk/src/internal/crypto-backend.ts). */
  ed25519SignMs: Summary;
  ed25519VerifyMs: Summary;
  sha256CiphertextMs: Summary;
  base64EncodeCiphertextMs: Summary;
  base64DecodeCiphertextMs: Summary;
  /** A node's pairwise mask for one ciphertext (8192 slots; X25519 + HMAC-SHA-256 stream), by number of peers. */
  maskMs: Record<string, Summary>;
  /** Reference only (not what the product uses): the same operations in node:crypto (OpenSSL). */
  nativeReference: { ed25519SignMs: Summary; ed25519VerifyMs: Summary; sha256CiphertextMs: Summary };
}

function timeSync(fn: () => unknown, iterations: number): Summary {
  const times: number[] = [];
  for (let i = 0; i < iterations + 2; i++) {
    const t0 = performance.now();
    fn();
    if (i >= 2) times.push(performance.now() - t0);
  }
  return summarize(times);
}

async function benchCrypto(keys: HeKeyPair, iterations: number): Promise<CryptoTimings> {
  const he = await loadHe();
  const pk = await loadPublicKey(keys.publicKey);
  try {
    const vector = new BigUint64Array(he.slotCount);
    for (let i = 0; i < vector.length; i++) vector[i] = BigInt(i * 7919) % he.plainModulus;
    const enc: number[] = [];
    const cts: Uint8Array[] = [];
    for (let i = 0; i < iterations + 2; i++) {
      const t0 = performance.now();
      const ct = await encryptSlots(pk, vector);
      const dt = performance.now() - t0;
      if (i >= 2) enc.push(dt);
      if (cts.length < 5) cts.push(ct);
    }
    const addMs: Record<string, Summary> = {};
    for (const k of [3, 5]) {
      const add: number[] = [];
      for (let i = 0; i < iterations + 2; i++) {
        const t0 = performance.now();
        await addCiphertexts(cts.slice(0, k));
        if (i >= 2) add.push(performance.now() - t0);
      }
      addMs[String(k)] = summarize(add);
    }
    const sum = await addCiphertexts(cts.slice(0, 3));
    const dec: number[] = [];
    for (let i = 0; i < iterations + 2; i++) {
      const t0 = performance.now();
      await decryptSlots(keys.secretKey, sum);
      if (i >= 2) dec.push(performance.now() - t0);
    }
    const ct = cts[0]!;
    const signing = generateSigningKey();
    const digest = new Uint8Array(createHash('sha256').update(ct).digest());
    const signature = signMessage(signing.secretKey, digest);
    const b64 = toBase64(ct);
    const maskMs: Record<string, Summary> = {};
    for (const peers of [2, 4]) {
      const pairs = Array.from({ length: peers + 1 }, () => generateMaskKeyPair());
      const ids = pairs.map((_, i) => `n${i}`);
      const self = pairs[0]!;
      const others = pairs.slice(1).map((k, i) => ({ id: ids[i + 1]!, publicKey: k.publicKey }));
      maskMs[String(peers)] = timeSync(
        () => deriveMask({ self: ids[0]!, secretKey: self.secretKey, peers: others, queryId: 'q_bench', participants: ids, ciphertextIndex: 0, slots: he.slotCount, plainModulus: he.plainModulus }),
        Math.min(iterations, 10),
      );
    }
    const native = generateKeyPairSync('ed25519');
    const nativeSignature = sign(null, digest, native.privateKey);
    return {
      encryptMs: summarize(enc),
      addMs,
      decryptMs: summarize(dec),
      ciphertextBytes: ct.length,
      ed25519SignMs: timeSync(() => signMessage(signing.secretKey, digest), iterations),
      ed25519VerifyMs: timeSync(() => verifyMessage(signing.publicKey, digest, signature), iterations),
      sha256CiphertextMs: timeSync(() => sha256Hex(ct), iterations),
      base64EncodeCiphertextMs: timeSync(() => toBase64(ct), iterations),
      base64DecodeCiphertextMs: timeSync(() => fromBase64(b64), iterations),
      maskMs,
      nativeReference: {
        ed25519SignMs: timeSync(() => sign(null, digest, native.privateKey), iterations),
        ed25519VerifyMs: timeSync(() => verify(null, digest, native.publicKey, nativeSignature), iterations),
        sha256CiphertextMs: timeSync(() => createHash('sha256').update(ct).digest('hex'), iterations),
      },
    };
  } finally {
    pk.delete();
  }
}

// ---------------------------------------------------------------------------------------
// Where the main thread's time goes (V8 CPU profile of extra federated runs)
// ---------------------------------------------------------------------------------------

interface ThreadProfile {
  runs: number;
  /** Wall time per query (ms) while profiling (the profiler adds some overhead). */
  wallMsPerQuery: number;
  /** Main-thread time per query (ms) by category; `idle` = waiting (DuckDB worker threads, sockets). */
  msPerQuery: Record<string, number>;
}

const ROOT = resolve('.') + sep;

/** Which part of the stack a frame belongs to (by script URL); undefined = ask its caller. */
function categoryOf(url: string, functionName: string): string | undefined {
  if (functionName === '(idle)') return 'idle (waiting: DuckDB threads, sockets)';
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8/native, unattributed';
  if (url.startsWith('wasm://') || url.includes('/node-seal/')) return 'BFV: node-seal (WASM)';
  if (url.includes('/@noble/curves/')) return 'Ed25519: @noble/curves';
  if (url.includes('/@noble/hashes/')) return 'SHA-256: @noble/hashes';
  if (url.includes('/@scure/base/')) return 'base64: @scure/base';
  if (url.includes('/@duckdb/')) return 'DuckDB binding (JS side)';
  if (url.includes('/canonicalize/')) return 'canonical JSON (canonicalize)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    const pkg = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return ['express', 'router', 'body-parser', 'raw-body', 'send', 'finalhandler', 'on-finished', 'type-is', 'content-type', 'qs', 'debug', 'iconv-lite'].includes(pkg ?? '')
      ? 'express stack'
      : `deps: ${pkg}`;
  }
  if (url === 'node:inspector' || url.startsWith('node:internal/inspector')) return 'profiler overhead';
  if (url.startsWith('node:internal/deps/undici')) return 'Node core: fetch (undici)';
  // The SDK's native backend (Ed25519, X25519, SHA-256) and node:crypto's own JS wrappers.
  if (url.startsWith('node:internal/crypto/') || url.endsWith('/sdk/src/internal/node-crypto.ts')) return 'crypto: node:crypto (native)';
  if (url.startsWith('node:')) return /_http_|internal\/http|node:http|node:net|internal\/stream|stream/.test(url) ? 'Node core: http server, net, streams' : `Node core: other`;
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  if (path.startsWith(ROOT)) {
    const rel = path.slice(ROOT.length);
    if (rel.startsWith('test/')) return 'benchmark driver';
    if (rel.startsWith('sdk/src/protocol/')) return 'sdk: plan/decode/canonical';
    if (rel.startsWith('sdk/')) return 'sdk: other';
    return 'gateway code';
  }
  return undefined;
}

async function profileMainThread(run: () => Promise<unknown>, runs: number, saveTo?: string): Promise<ThreadProfile> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await run();
    const wall = performance.now() - t0;
    const { profile } = await session.post('Profiler.stop');
    if (saveTo) writeFileSync(saveTo, JSON.stringify(profile));
    const parent = new Map<number, number>();
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const memo = new Map<number, string>();
    const categorize = (id: number): string => {
      const cached = memo.get(id);
      if (cached) return cached;
      const node = byId.get(id);
      let cat = node ? categoryOf(node.callFrame.url, node.callFrame.functionName) : undefined;
      if (!cat) {
        const p = parent.get(id);
        // Built-ins (JSON.parse, TypedArray copies, …) have no URL: charge them to the caller.
        cat = p === undefined || byId.get(p)?.callFrame.functionName === '(root)' ? 'V8 built-ins, no JS caller' : categorize(p);
      }
      memo.set(id, cat);
      return cat;
    };
    const totals: Record<string, number> = {};
    const samples = profile.samples ?? [];
    const deltas = profile.timeDeltas ?? [];
    for (let i = 0; i < samples.length; i++) {
      const cat = categorize(samples[i]!);
      totals[cat] = (totals[cat] ?? 0) + (deltas[i] ?? 0) / 1000 / runs;
    }
    const sorted = Object.fromEntries(Object.entries(totals).sort((a, b) => b[1] - a[1]));
    return { runs, wallMsPerQuery: wall / runs, msPerQuery: sorted };
  } finally {
    await session.post('Profiler.disable').catch(() => {});
    session.disconnect();
  }
}

// ---------------------------------------------------------------------------------------
// One scenario
// ---------------------------------------------------------------------------------------

interface ScenarioResult {
  scenario: string;
  note: string;
  nodes: number;
  rowsPerNode: number;
  totalRows: number;
  runs: number;
  /** Start of the data space (includes data generation unless `dataCached`), pooled-table load. */
  setup: { dataCached: boolean; dataSpaceStartMs: number; plaintextLoadMs: number; nodeSqlBaselineLoadMs: number };
  federatedMs: Summary;
  plaintextMs: Summary;
  /**
   * Second baseline: the nodes' own compiled statement, in one DuckDB, over all rows loaded
   * the way nodes load them (with their precomputed code/offset columns). The federated
   * query minus this is the cost of federation and encryption alone.
   */
  nodeSqlPooledMs: Summary;
  ratioNodeSqlP50: number;
  /** Every timed run, in order (ms). */
  samples: { federated: number[]; plaintext: number[]; nodeSqlPooled: number[] };
  ratioP50: number;
  ratioP95: number;
  /** Hub-reported timings (ms). */
  hub: { totalMs: Summary; fanOutMs: Summary; combineMs: Summary };
  /** POST /v1/queries as the client saw it: request sent → whole body read. */
  httpMs: Summary;
  /** Client side after the response: JSON parse, catalog re-plan check, decrypt, decode. */
  clientMs: Summary;
  ciphertextsPerNode: number;
  ciphertextBytes: number;
  bytesPerNode: Record<string, number>;
  bytesPerNodePerCiphertext: number;
  groups: number;
  suppressedGroups: number;
  countCheck: CountCheck;
  /** Whether the nodes added differential-privacy noise (--dp). */
  differentialPrivacy: boolean;
  /** The same work in isolation, after the data space was closed. */
  breakdown?: {
    nodeSqlMs: Record<string, Summary>;
    nodeSqlConcurrentMs: Summary;
    plaintextSqlMs: Summary;
  };
  /** Main-thread CPU profile of extra federated runs (not part of the timed runs). */
  profile?: ThreadProfile;
  peakRssBytes: number;
  /** 1-minute load average before and after the scenario (includes this process's threads). */
  loadAverage: { before: number; after: number };
  /** CPU used by other processes (and stolen by the hypervisor) during the scenario, in cores. */
  foreignCpu?: { otherCores: number; stealCores: number };
  /** Which attempt is reported (a scenario that other processes disturbed is run again, the quietest attempt kept). */
  attempt?: number;
}

/** A fetch that times POST /v1/queries (until the body is read) and keeps the raw body. */
function timingFetch(): { fetch: typeof globalThis.fetch; last: { ms: number; body: string } } {
  const last = { ms: NaN, body: '' };
  const wrapped: typeof globalThis.fetch = async (input, init) => {
    const request = input instanceof Request ? input : undefined;
    const url = request ? request.url : String(input);
    const method = request ? request.method : (init?.method ?? 'GET');
    if (method !== 'POST' || !url.endsWith('/v1/queries')) return fetch(input, init);
    const t0 = performance.now();
    const res = await fetch(input, init);
    const body = await res.text();
    last.ms = performance.now() - t0;
    last.body = body;
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return { fetch: wrapped, last };
}

interface CountCheck {
  compared: number;
  mismatches: string[];
  /** With differential privacy on: the largest |federated − plaintext| count over the groups (noise, not an error). */
  maxCountDeviation?: number;
}

/**
 * Compares the decoded groups with the plaintext rows. Exact mode: every count, mean, stddev
 * and histogram bin must match. With DP on, results are noisy by design: only the groups are
 * checked, and the largest count deviation is reported.
 */
function checkAgainstPlaintext(groups: GroupResult[], plain: Record<string, unknown>[], exact: boolean): CountCheck {
  const byKey = new Map(plain.map((r) => [`${String(r.sex)}|${String(r.age_bucket)}`, r]));
  const mismatches: string[] = [];
  let compared = 0;
  let maxCountDeviation = 0;
  for (const g of groups) {
    if (g.excludedAt.length > 0) continue;
    const key = `${g.key.sex}|${g.key.age}`;
    const row = byKey.get(key);
    const n = Number(row?.n ?? 0);
    compared++;
    if (!exact) {
      maxCountDeviation = Math.max(maxCountDeviation, Math.abs(g.count - n));
      continue;
    }
    if (g.count !== n) {
      mismatches.push(`${key}: federated count ${g.count}, plaintext ${n}`);
      continue;
    }
    if (!row) continue;
    for (const a of g.aggregates) {
      if (a.op === 'mean' || a.op === 'stddev') {
        const expected = Number(a.op === 'mean' ? row.sbp_mean : row.sbp_sd);
        if (a.value === null || Math.abs(a.value - expected) > 1e-6 * Math.max(1, Math.abs(expected))) {
          mismatches.push(`${key}: ${a.op} ${a.value} vs plaintext ${expected}`);
        }
      } else if (a.op === 'histogram') {
        a.bins.forEach((b, i) => {
          const expected = Number(row[`h${i}`]);
          if (b.count !== expected) mismatches.push(`${key}: bmi bin ${i} ${b.count} vs plaintext ${expected}`);
        });
      }
    }
  }
  for (const [key] of byKey) if (!groups.some((g) => `${g.key.sex}|${g.key.age}` === key)) mismatches.push(`${key}: missing from the federated result`);
  return exact ? { compared, mismatches } : { compared, mismatches, maxCountDeviation };
}

async function timeSql(run: () => Promise<unknown>, iterations: number, warmup = 2): Promise<Summary> {
  const times: number[] = [];
  for (let i = 0; i < iterations + warmup; i++) {
    const t0 = performance.now();
    await run();
    if (i >= warmup) times.push(performance.now() - t0);
  }
  return summarize(times);
}

/** Each node's aggregate statement on a fresh engine loaded like the node loads its own. */
async function breakdownNodeSql(
  hospitals: GeneratedHospital[], dataDir: string, query: Query, plan: SlotPlan, purpose: string, iterations: number,
): Promise<{ nodeSqlMs: Record<string, Summary>; nodeSqlConcurrentMs: Summary }> {
  const dictionary = loadDictionary();
  const engines: { id: string; engine: DatasetEngine; datasets: string[] }[] = [];
  try {
    for (const h of hospitals) {
      // The node loads all its datasets, but runs the statement only on those in the query.
      const datasets = h.datasets.filter((d) => query.datasets.includes(d.id)).map((d) => d.id);
      if (datasets.length) engines.push({ id: h.nodeId, engine: await openDatasets(h.datasets, dataDir, dictionary), datasets });
    }
    const runNode = async (e: (typeof engines)[number]): Promise<void> => {
      for (const id of e.datasets) {
        const ds = e.engine.datasets.get(id)!;
        // As the node compiles it (node/compute.ts), with the patient-consent exclusion.
        const { sql, params } = compileAggregate(query, plan, ds.table, { dataset: id, purpose });
        await e.engine.query(sql, params);
      }
    };
    const nodeSqlMs: Record<string, Summary> = {};
    for (const e of engines) nodeSqlMs[e.id] = await timeSql(() => runNode(e), iterations);
    const nodeSqlConcurrentMs = await timeSql(() => Promise.all(engines.map(runNode)), iterations);
    return { nodeSqlMs, nodeSqlConcurrentMs };
  } finally {
    for (const e of engines) e.engine.close();
  }
}

/** Whether startDataSpace will find this scenario's data already generated (its cache marker). */
function dataIsCached(dir: string, sc: Scenario): boolean {
  const marker = resolve(dir, 'data', 'generated.json');
  if (!existsSync(marker)) return false;
  try {
    const saved = JSON.parse(readFileSync(marker, 'utf8')) as { params?: { patients?: number; hospitals?: number; seed?: number } };
    return saved.params?.patients === sc.patientsPerHospital && saved.params.hospitals === sc.hospitals && saved.params.seed === SEED;
  } catch {
    return false;
  }
}

async function runScenario(
  sc: Scenario,
  options: { runs: number; warmup: number; breakdown: boolean; profileRuns: number; dp: boolean; keys: HeKeyPair },
): Promise<ScenarioResult> {
  const dir = resolve('.veilgate/bench', sc.name);
  log(`\n=== ${sc.name}: ${sc.note} — ${sc.hospitals} nodes × ${sc.patientsPerHospital.toLocaleString('en')} rows ===`);
  const rss = rssSampler();
  const loadBefore = loadavg()[0] ?? NaN;
  const foreign = foreignCpuMeter();
  let space: DataSpace | undefined;
  let oracle: PooledOracle | undefined;
  let pooledEngine: DatasetEngine | undefined;
  try {
    const dataCached = dataIsCached(dir, sc);
    const t0 = performance.now();
    space = await startDataSpace({
      dir, patientsPerHospital: sc.patientsPerHospital, hospitals: sc.hospitals, seed: SEED, port: 0,
      // Exact results (checked against plaintext: exact mode, no cell-key perturbation) unless --dp; no rate limit on the researcher.
      differentialPrivacy: options.dp, cellKey: false, rateLimitPerMinute: 1_000_000,
    });
    const dataSpaceStartMs = performance.now() - t0;
    log(`data space up in ${ms(dataSpaceStartMs)} ms (${dataCached ? 'cached data' : 'data generated now'}: ${dir}/data)`);

    const t1 = performance.now();
    // Core datasets are listed but never queried: pool only what a query can reach.
    const reachable = space.hospitals.map((h) => ({ ...h, datasets: h.datasets.filter((d) => d.classification !== 'core') }));
    oracle = await createPooledOracle(space.dataDir, reachable);
    await oracle.query('CREATE TABLE pooled_t AS SELECT * FROM pooled');
    const plaintextLoadMs = performance.now() - t1;
    const [{ rows }] = (await oracle.query('SELECT count(*) AS rows FROM pooled_t')) as [{ rows: number }];
    log(`plaintext pooled table: ${rows.toLocaleString('en')} rows materialised in ${ms(plaintextLoadMs)} ms`);

    const t2 = performance.now();
    pooledEngine = await openDatasets(reachable.flatMap((h) => h.datasets), space.dataDir, loadDictionary());
    const parts = [...pooledEngine.datasets.values()].map((d) => d.table);
    await pooledEngine.query(`CREATE TABLE pooled_std AS ${parts.map((t) => `SELECT * FROM ${t}`).join(' UNION ALL BY NAME ')}`);
    for (const t of parts) await pooledEngine.query(`DROP TABLE ${t}`);
    const nodeSqlBaselineLoadMs = performance.now() - t2;
    log(`node-SQL baseline: the same rows loaded as the nodes load them, into one table, in ${ms(nodeSqlBaselineLoadMs)} ms`);

    const timing = timingFetch();
    const client = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.researcher, fetch: timing.fetch });
    await client.registerKey(options.keys);
    // The researcher's identity and a grant on every queryable dataset (consent flow of issue 3).
    const identity = await generateIdentityKey();
    await grantAccess({ hubUrl: space.hubUrl, researcher: space.accounts.researcher, operators: space.accounts.operators }, identity);
    const catalog = await client.catalog();
    const query = benchQuery(catalog.datasets.filter((d) => d.queryable).map((d) => d.id));
    const { purpose } = await client.tokensFor(query, identity);
    const sql = plaintextSql('pooled_t');

    // The plan of the query (the same for every run) is needed for the node-SQL baseline.
    const { plan } = await client.query(query, { keys: options.keys, identity });
    // The nodes' statement, consent exclusion included (the pooled engine's withdrawal table is empty, as the nodes' are).
    const nodeSql = compileAggregate(query, plan, 'pooled_std', { dataset: 'pooled', purpose });
    const engine = pooledEngine;
    const runNodeSql = (): Promise<Record<string, unknown>[]> => engine.query(nodeSql.sql, nodeSql.params);
    for (let i = 0; i < options.warmup; i++) {
      await client.query(query, { keys: options.keys, identity });
      await oracle.query(sql);
      await runNodeSql();
    }

    const fed: number[] = [];
    const plain: number[] = [];
    const nodeSqlPooled: number[] = [];
    const http: number[] = [];
    const clientSide: number[] = [];
    const hubTotal: number[] = [];
    const fanOut: number[] = [];
    const combine: number[] = [];
    let outcome: Awaited<ReturnType<VeilgateClient['query']>> | undefined;
    let plainRows: Record<string, unknown>[] = [];
    let nodeSqlRows: Record<string, unknown>[] = [];
    for (let i = 0; i < options.runs; i++) {
      const a = performance.now();
      outcome = await client.query(query, { keys: options.keys, identity });
      const fedMs = performance.now() - a;
      fed.push(fedMs);
      http.push(timing.last.ms);
      clientSide.push(fedMs - timing.last.ms);
      hubTotal.push(outcome.timings.totalMs);
      fanOut.push(outcome.timings.fanOutMs);
      combine.push(outcome.timings.combineMs);
      await settleEventLoop();
      const b = performance.now();
      plainRows = await oracle.query(sql);
      plain.push(performance.now() - b);
      const c = performance.now();
      nodeSqlRows = await runNodeSql();
      nodeSqlPooled.push(performance.now() - c);
      await settleEventLoop();
    }
    if (!outcome) throw new Error('no runs');

    const countCheck = checkAgainstPlaintext(outcome.groups, plainRows, !options.dp);
    const nodeSqlTotal = nodeSqlRows.reduce((n, r) => n + Number(r.c0), 0);
    const plainTotal = plainRows.reduce((n, r) => n + Number(r.n), 0);
    if (nodeSqlTotal !== plainTotal) countCheck.mismatches.push(`node-SQL baseline counts ${nodeSqlTotal} rows, plaintext ${plainTotal}`);
    if (countCheck.mismatches.length > 0) {
      console.warn(`WARNING ${sc.name}: federated result disagrees with plaintext DuckDB:\n  ${countCheck.mismatches.join('\n  ')}`);
    }
    const bytesPerNode = Object.fromEntries(outcome.contributions.map((c) => [c.node, c.bytes ?? NaN]));
    const resultBody = JSON.parse(timing.last.body) as { ciphertexts: string[] };
    const ciphertextBytes = fromBase64(resultBody.ciphertexts[0]!).length;
    const ciphertextsPerNode = outcome.plan.ciphertextCount;
    const maxBytes = Math.max(...Object.values(bytesPerNode));

    const federatedMs = summarize(fed);
    const plaintextMs = summarize(plain);
    const nodeSqlPooledMs = summarize(nodeSqlPooled);
    const result: ScenarioResult = {
      scenario: sc.name,
      note: sc.note,
      nodes: sc.hospitals,
      rowsPerNode: sc.patientsPerHospital,
      totalRows: rows,
      runs: options.runs,
      setup: { dataCached, dataSpaceStartMs, plaintextLoadMs, nodeSqlBaselineLoadMs },
      federatedMs,
      plaintextMs,
      nodeSqlPooledMs,
      ratioNodeSqlP50: federatedMs.p50 / nodeSqlPooledMs.p50,
      samples: { federated: fed, plaintext: plain, nodeSqlPooled },
      ratioP50: federatedMs.p50 / plaintextMs.p50,
      ratioP95: federatedMs.p95 / plaintextMs.p95,
      hub: { totalMs: summarize(hubTotal), fanOutMs: summarize(fanOut), combineMs: summarize(combine) },
      httpMs: summarize(http),
      clientMs: summarize(clientSide),
      ciphertextsPerNode,
      ciphertextBytes,
      bytesPerNode,
      bytesPerNodePerCiphertext: maxBytes / ciphertextsPerNode,
      groups: outcome.groups.length,
      suppressedGroups: outcome.suppressed.length,
      countCheck,
      differentialPrivacy: options.dp,
      peakRssBytes: 0,
      loadAverage: { before: loadBefore, after: NaN },
    };
    log(
      `federated p50 ${ms(federatedMs.p50)} / p95 ${ms(federatedMs.p95)} ms · plaintext p50 ${ms(plaintextMs.p50)} / p95 ${ms(plaintextMs.p95)} ms` +
        ` · ratio ${result.ratioP50.toFixed(2)} · node SQL pooled p50 ${ms(nodeSqlPooledMs.p50)} ms (ratio ${result.ratioNodeSqlP50.toFixed(2)}) · ${kb(maxBytes)} per node · counts ${countCheck.mismatches.length ? 'MISMATCH' : countCheck.maxCountDeviation !== undefined ? `within ±${countCheck.maxCountDeviation} (DP noise, ${countCheck.compared} groups)` : `match (${countCheck.compared} groups)`}`,
    );

    if (options.profileRuns > 0) {
      result.profile = await profileMainThread(() => client.query(query, { keys: options.keys, identity }), options.profileRuns, resolve(dir, 'federated-query.cpuprofile'));
      const busy = Object.entries(result.profile.msPerQuery).filter(([k]) => !k.startsWith('idle'));
      log(
        `main thread per query (${result.profile.runs} profiled runs, ${ms(result.profile.wallMsPerQuery)} ms wall): ` +
          busy.slice(0, 8).map(([k, v]) => `${k} ${ms(v)}`).join(' · '),
      );
    }

    const { hospitals, dataDir } = space;
    await space.close();
    space = undefined;
    pooledEngine.close();
    pooledEngine = undefined;
    if (options.breakdown) {
      const iterations = Math.min(options.runs, 10);
      const nodeSql = await breakdownNodeSql(hospitals, dataDir, query, outcome.plan, purpose, iterations);
      const plaintextSqlMs = await timeSql(() => oracle!.query(sql), iterations);
      result.breakdown = { ...nodeSql, plaintextSqlMs };
      const per = Object.values(nodeSql.nodeSqlMs).map((s) => s.p50);
      log(
        `isolated: node SQL p50 ${per.map(ms).join(' / ')} ms (sum ${ms(per.reduce((a, b) => a + b, 0))}, all nodes at once ${ms(nodeSql.nodeSqlConcurrentMs.p50)})` +
          ` · plaintext SQL p50 ${ms(plaintextSqlMs.p50)} ms`,
      );
    }
    result.peakRssBytes = rss.stop();
    result.loadAverage.after = loadavg()[0] ?? NaN;
    const other = foreign.stop();
    if (other) {
      result.foreignCpu = other;
      if (other.otherCores + other.stealCores > 0.1) {
        console.warn(`WARNING ${sc.name}: other processes / steal used ${other.otherCores.toFixed(2)} / ${other.stealCores.toFixed(2)} cores on average during this scenario; timings are skewed`);
      }
    }
    return result;
  } finally {
    rss.stop();
    pooledEngine?.close();
    oracle?.close();
    await space?.close();
  }
}

// ---------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------

const TARGETS = {
  ratioAt10M: 1.5,
  p50MsAt3x100k: 60,
  bytesPerNodePerCiphertext: 150_000,
};

/** The commit measured and whether the tree had local changes (read-only git commands). */
function gitState(): { commit: string; dirty: boolean } | undefined {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenarios: { type: 'string' },
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      'no-breakdown': { type: 'boolean', default: false },
      'no-profile': { type: 'boolean', default: false },
      'wait-idle': { type: 'string', default: '120' },
      retries: { type: 'string', default: '1' },
      dp: { type: 'boolean', default: false },
      out: { type: 'string', default: '.veilgate/bench/results.json' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const all = [...SCENARIOS, ...EXTRA_SCENARIOS];
  if (values.help) {
    log('npm run bench -- [--scenarios a,b] [--quick] [--runs N] [--warmup N] [--no-breakdown] [--no-profile] [--wait-idle SECONDS (0 = off)] [--retries N] [--dp] [--out file]');
    log('--dp: nodes add differential-privacy noise (the data space default); results are then compared loosely. Default: DP off, exact check.');
    log(`scenarios: ${all.map((s) => `${s.name} (${s.note})`).join(', ')}`);
    return;
  }
  const names = values.scenarios ? values.scenarios.split(',').map((s) => s.trim()).filter(Boolean) : values.quick ? QUICK_SCENARIOS : SCENARIOS.map((s) => s.name);
  const selected = names.map((name) => {
    const sc = all.find((s) => s.name.toLowerCase() === name.toLowerCase());
    if (!sc) throw new Error(`unknown scenario '${name}'; known: ${all.map((s) => s.name).join(', ')}`);
    return sc;
  });
  const runsOverride = values.runs ? Number(values.runs) : values.quick ? 5 : undefined;
  const warmup = values.warmup ? Number(values.warmup) : values.quick ? 1 : 2;

  const started = performance.now();
  const loadAverageAtStart = loadavg();
  const git = gitState();
  const cpu = cpus()[0]?.model ?? 'unknown';
  log(`Veilgate federated-query benchmark · Node ${process.version} · ${availableParallelism()} cores (${cpu}) · ${mib(totalmem())} RAM · load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  log(`Commit ${git ? `${git.commit.slice(0, 12)}${git.dirty ? ' + local changes' : ''}` : 'unknown'}. Everything (hub, nodes, client, plaintext DuckDB) runs in this one process on 127.0.0.1.`);
  const keys = await generateHeKeyPair();

  log('\n=== BFV primitives (N = 8192, 1 ciphertext), in isolation ===');
  const crypto = await benchCrypto(keys, values.quick ? 10 : 30);
  log(
    `encrypt p50 ${ms(crypto.encryptMs.p50)} ms · add 3 p50 ${ms(crypto.addMs['3']!.p50)} ms · add 5 p50 ${ms(crypto.addMs['5']!.p50)} ms` +
      ` · decrypt p50 ${ms(crypto.decryptMs.p50)} ms · ciphertext ${kb(crypto.ciphertextBytes)}`,
  );
  log(
    `Ed25519 sign p50 ${ms(crypto.ed25519SignMs.p50)} ms · verify p50 ${ms(crypto.ed25519VerifyMs.p50)} ms` +
      ` · SHA-256 of a ciphertext p50 ${ms(crypto.sha256CiphertextMs.p50)} ms · base64 enc/dec p50 ${ms(crypto.base64EncodeCiphertextMs.p50)}/${ms(crypto.base64DecodeCiphertextMs.p50)} ms`,
  );
  log(`pairwise mask per ciphertext (one node): 2 peers p50 ${ms(crypto.maskMs['2']!.p50)} ms · 4 peers p50 ${ms(crypto.maskMs['4']!.p50)} ms`);
  const ref = crypto.nativeReference;
  log(`(reference, node:crypto: Ed25519 sign ${ref.ed25519SignMs.p50.toFixed(3)} ms · verify ${ref.ed25519VerifyMs.p50.toFixed(3)} ms · SHA-256 ${ref.sha256CiphertextMs.p50.toFixed(3)} ms)`);

  const results: ScenarioResult[] = [];
  const failures: { scenario: string; error: string }[] = [];
  for (const sc of selected) {
    try {
      const waitIdleS = Number(values['wait-idle']);
      const retries = Number(values.retries);
      const runs = runsOverride ?? sc.runs;
      const profileRuns = values['no-profile'] ? 0 : Math.min(runs, sc.runs >= 30 ? 10 : 5);
      let best: ScenarioResult | undefined;
      const foreignOf = (r: ScenarioResult): number => (r.foreignCpu ? r.foreignCpu.otherCores + r.foreignCpu.stealCores : 0);
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (waitIdleS > 0) {
          const wait = await waitForQuietMachine(waitIdleS * 1000);
          if (!wait.quiet) console.warn(`WARNING: the machine stayed busy for ${waitIdleS} s; running ${sc.name} anyway`);
        }
        const r = await runScenario(sc, { runs, warmup, breakdown: !values['no-breakdown'], profileRuns, dp: values.dp!, keys });
        r.attempt = attempt + 1;
        if (!best || foreignOf(r) < foreignOf(best)) best = r;
        if (foreignOf(best) <= 0.1) break;
        if (attempt < retries) log(`  (other processes used ${foreignOf(r).toFixed(2)} cores during ${sc.name}; running it again)`);
      }
      results.push(best!);
    } catch (err) {
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      console.error(`scenario ${sc.name} failed: ${error}`);
      failures.push({ scenario: sc.name, error });
    }
  }

  log('\n=== Results (ms, p50 unless marked; ratio = federated p50 / plaintext p50; node-SQL = the nodes\' own statement over all rows in one DuckDB, ratio² = federated / node-SQL;');
  log('    hub = hub-reported total; client = after the response: decrypt, decode, checks) ===');
  log(
    table(
      ['scenario', 'nodes', 'rows', 'runs', 'fed p50', 'fed p95', 'plain p50', 'plain p95', 'ratio', 'node-SQL p50', 'ratio²', 'hub', 'fan-out', 'combine', 'client', 'bytes/node', 'B/node/ct', 'counts'],
      results.map((r) => [
        r.scenario, String(r.nodes), r.totalRows.toLocaleString('en'), String(r.runs),
        ms(r.federatedMs.p50), ms(r.federatedMs.p95), ms(r.plaintextMs.p50), ms(r.plaintextMs.p95), r.ratioP50.toFixed(2), ms(r.nodeSqlPooledMs.p50), r.ratioNodeSqlP50.toFixed(2),
        ms(r.hub.totalMs.p50), ms(r.hub.fanOutMs.p50), ms(r.hub.combineMs.p50), ms(r.clientMs.p50),
        kb(Math.max(...Object.values(r.bytesPerNode))), kb(r.bytesPerNodePerCiphertext),
        r.countCheck.mismatches.length ? `${r.countCheck.mismatches.length} MISMATCH` : r.countCheck.maxCountDeviation !== undefined ? `DP ±${r.countCheck.maxCountDeviation}` : 'exact',
      ]),
    ),
  );
  const withBreakdown = results.filter((r) => r.breakdown);
  if (withBreakdown.length) {
    log('\n=== Isolated pieces (p50 ms): per-node aggregate SQL on its own engine, plaintext SQL ===');
    log(
      table(
        ['scenario', 'node SQL each', 'node SQL sum', 'all nodes at once', 'plaintext SQL', `encrypt × nodes`, 'hub add', 'decrypt', 'peak RSS', 'other CPU'],
        withBreakdown.map((r) => {
          const per = Object.values(r.breakdown!.nodeSqlMs).map((s) => s.p50);
          const add = crypto.addMs[String(r.nodes)]?.p50;
          return [
            r.scenario, per.map(ms).join('/'), ms(per.reduce((a, b) => a + b, 0)), ms(r.breakdown!.nodeSqlConcurrentMs.p50), ms(r.breakdown!.plaintextSqlMs.p50),
            ms(crypto.encryptMs.p50 * r.nodes * r.ciphertextsPerNode), add === undefined ? '–' : ms(add * r.ciphertextsPerNode),
            ms(crypto.decryptMs.p50 * r.ciphertextsPerNode), mib(r.peakRssBytes),
            r.foreignCpu ? `${(r.foreignCpu.otherCores + r.foreignCpu.stealCores).toFixed(2)} cores` : '–',
          ];
        }),
      ),
    );
  }

  const profiled = results.filter((r) => r.profile);
  if (profiled.length) {
    const cols: [string, (k: string) => boolean][] = [
      ['BFV', (k) => k.startsWith('BFV')],
      ['Ed25519', (k) => k.startsWith('Ed25519')],
      ['SHA-256', (k) => k.startsWith('SHA-256')],
      ['node:crypto', (k) => k.startsWith('crypto: node:crypto')],
      ['base64', (k) => k.startsWith('base64')],
      ['HTTP (Node core)', (k) => k.startsWith('Node core')],
      ['express', (k) => k === 'express stack'],
      ['DuckDB JS', (k) => k.startsWith('DuckDB')],
      ['GC', (k) => k === 'GC'],
    ];
    log('\n=== Main thread per federated query (ms, V8 CPU profile of extra runs; hub, nodes and client share this thread) ===');
    log(
      table(
        ['scenario', 'wall', ...cols.map(([name]) => name), 'other JS', 'busy', 'idle'],
        profiled.map((r) => {
          const entries = Object.entries(r.profile!.msPerQuery).filter(([k]) => k !== 'profiler overhead');
          const sum = (f: (k: string) => boolean): number => entries.filter(([k]) => f(k)).reduce((a, [, v]) => a + v, 0);
          const idle = sum((k) => k.startsWith('idle'));
          const busy = sum((k) => !k.startsWith('idle'));
          const known = cols.reduce((a, [, f]) => a + sum(f), 0);
          return [r.scenario, ms(r.profile!.wallMsPerQuery), ...cols.map(([, f]) => ms(sum(f))), ms(busy - known), ms(busy), ms(idle)];
        }),
      ),
    );
  }

  const targets: { target: string; scenario: string; measured: string; met: boolean }[] = [];
  for (const r of results) {
    if (r.totalRows >= 10_000_000) targets.push({ target: `ratio ≤ ${TARGETS.ratioAt10M} at 10M rows`, scenario: r.scenario, measured: r.ratioP50.toFixed(2), met: r.ratioP50 <= TARGETS.ratioAt10M });
    if (r.scenario === '3x100k') targets.push({ target: `p50 ≤ ${TARGETS.p50MsAt3x100k} ms, 3 × 100k rows`, scenario: r.scenario, measured: `${ms(r.federatedMs.p50)} ms`, met: r.federatedMs.p50 <= TARGETS.p50MsAt3x100k });
    targets.push({ target: `≤ ${TARGETS.bytesPerNodePerCiphertext / 1000} kB per node per ciphertext`, scenario: r.scenario, measured: kb(r.bytesPerNodePerCiphertext), met: r.bytesPerNodePerCiphertext <= TARGETS.bytesPerNodePerCiphertext });
  }
  log('\n=== Targets (measured, not asserted) ===');
  log(table(['target', 'scenario', 'measured', 'met'], targets.map((t) => [t.target, t.scenario, t.measured, t.met ? 'yes' : 'NO'])));
  const warnings = results.flatMap((r) => r.countCheck.mismatches.map((m) => `${r.scenario}: ${m}`));
  if (warnings.length) console.warn(`\nWARNING: ${warnings.length} disagreement(s) between federated and plaintext results (see above).`);
  if (failures.length) console.warn(`\nWARNING: ${failures.length} scenario(s) failed: ${failures.map((f) => f.scenario).join(', ')}`);

  const out = resolve(values.out!);
  mkdirSync(dirname(out), { recursive: true });
  const report = {
    generatedAt: new Date().toISOString(),
    machine: { node: process.version, cores: availableParallelism(), cpu, totalMemoryBytes: totalmem(), platform: `${process.platform}-${process.arch}`, loadAverageAtStart },
    git,
    args: process.argv.slice(2),
    query: benchQuery(['…']),
    plaintextSql: plaintextSql('pooled_t'),
    targets: TARGETS,
    crypto,
    scenarios: results,
    targetChecks: targets,
    failures,
    wallMs: performance.now() - started,
  };
  writeFileSync(out, JSON.stringify(report, null, 2));
  log(`\nwrote ${out} · total ${ms((performance.now() - started) / 1000)} s`);
  if (failures.length) process.exitCode = 1;
}

await main();
