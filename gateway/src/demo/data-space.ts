/**
 * A whole demo data space in one process: synthetic hospitals, one node server each, a hub,
 * demo accounts. Each server is its own HTTP listener and they talk real HTTP. The same
 * function backs `npm start`, the end-to-end tests and the benchmark. It also writes the
 * configuration files that `veilgate hub` / `veilgate node` read to run them separately.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { generateSigningKey } from '../crypto/ed25519.ts';
import { loadDictionary } from '../datasets/dictionary.ts';
import { createAccount } from '../hub/accounts.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { listen, startHub, startNode, type HubConfig, type NodeConfig, type Running } from '../server/config.ts';
import { logOrigin } from '../server/origin.ts';
import { toMilli } from '../store/sqlite-ledger.ts';
import { generateHospitals, type GeneratedHospital } from './synthetic.ts';
import { createOperatorKeyFile, registerEnrolment, rememberOperatorKey } from './operator-keys.ts';
import type { DatasetConfig } from '../datasets/config.ts';

/** Options of a demo data space. */
export interface DataSpaceOptions {
  /** Working directory for data, configs, state and demo.json (default `.veilgate`). */
  dir: string;
  patientsPerHospital: number;
  hospitals?: number;
  seed?: number;
  host?: string;
  /** Hub port (default 8080; 0 = any free port). Nodes take the following ports, or any free port when 0. */
  port?: number;
  fanOutTimeoutMs?: number;
  /** Queries per minute per grant at the hub (default 120). */
  rateLimitPerMinute?: number;
  /** Credits the demo researcher starts with (default 100 000). */
  researcherCredits?: number;
  /** Differential privacy on the demo datasets (default on, as DESIGN §6 asks; tests of exactness turn it off). */
  differentialPrivacy?: boolean;
  /** The cell-key method on the demo datasets when DP is off (default on; exactness tests turn it off: "exact mode"). */
  cellKey?: boolean;
  log?: (line: string) => void;
}

/** The demo accounts and their API keys (also in demo.json). */
export interface DemoAccounts {
  admin: string;
  researcher: string;
  auditor: string;
  /** Two operators per institution (important datasets need two distinct approvals). */
  operators: Record<string, string[]>;
  /**
   * Each operator's key file (mode 0600), in the order of `operators`: their Ed25519 key,
   * created for them and enrolled in their node's configuration (protocol.md §9).
   */
  operatorKeys: Record<string, string[]>;
}

/** A running data space. */
export interface DataSpace {
  hubUrl: string;
  /** The hub's audit log: its origin (checkpoint key name) and Ed25519 public key. */
  log: { origin: string; publicKey: string };
  /** The running hub (its store and app), for tests that look inside. */
  hub: Awaited<ReturnType<typeof startHub>>;
  nodes: { id: string; name: string; url: string }[];
  accounts: DemoAccounts;
  hospitals: GeneratedHospital[];
  dataDir: string;
  /**
   * Stops a node running in this process and starts it again as its own OS process
   * (`veilgate node --config`), on the same port and state file — for tests that kill nodes for
   * real (SIGKILL) in the middle of a query; called again once that process is gone, it
   * restarts the node. Children are killed when the space closes.
   */
  moveNodeToProcess(nodeId: string): Promise<ChildProcess>;
  /** Points the hub at another address for a node (a test's proxy); returns the undo. */
  routeNode(nodeId: string, url: string): () => void;
  close(): Promise<void>;
}

/** Generates the cohorts unless the same parameters were generated before. */
async function ensureData(dataDir: string, patients: number, hospitals: number, seed: number): Promise<GeneratedHospital[]> {
  const marker = join(dataDir, 'generated.json');
  const params = { patients, hospitals, seed, version: 1 };
  if (existsSync(marker)) {
    const saved = JSON.parse(readFileSync(marker, 'utf8')) as { params: typeof params; hospitals: GeneratedHospital[] };
    if (JSON.stringify(saved.params) === JSON.stringify(params)) return saved.hospitals;
  }
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const generated = await generateHospitals({ dir: dataDir, patientsPerHospital: patients, hospitals, seed });
  writeFileSync(marker, JSON.stringify({ params, hospitals: generated }, null, 2));
  return generated;
}

/**
 * The demo's classifications (DESIGN §6): the third hospital's cohort is important (重要:
 * two approvals, larger minimum cell); the first hospital also lists a core (核心) extract
 * that the data space shows but never computes on.
 */
function classify(hospitals: GeneratedHospital[], differentialPrivacy: boolean, cellKey: boolean): GeneratedHospital[] {
  return hospitals.map((h, i) => {
    const datasets: DatasetConfig[] = h.datasets.map((d) => ({
      ...d, classification: i === 2 ? 'important' : 'general', pricePerQuery: 10 * (i + 1), differentialPrivacy: { enabled: differentialPrivacy }, disclosure: { cellKey },
    }));
    if (i === 0 && datasets[0]) {
      datasets.push({
        ...datasets[0], id: `${h.nodeId}.identified-linkage`, classification: 'core', pricePerQuery: 0,
        title: 'Identified linkage extract (core)', description: 'Patient-identifiable linkage extract. Listed for transparency; classified core (核心), it is never computed on in the data space.',
        translations: { 'zh-CN': { title: '可识别身份的关联抽取（核心数据）', description: '含可识别患者身份信息的关联抽取数据。仅为透明起见列出；属于核心数据，在数据空间中从不参与计算。' } },
      });
    }
    return { ...h, datasets };
  });
}

/**
 * Starts a demo data space.
 *
 * @example
 * const space = await startDataSpace({ dir: '.veilgate', patientsPerHospital: 100_000 });
 * console.log(space.hubUrl, space.accounts.researcher);
 */
export async function startDataSpace(options: DataSpaceOptions): Promise<DataSpace> {
  const dir = resolve(options.dir);
  const host = options.host ?? '127.0.0.1';
  const basePort = options.port ?? 8080;
  const log = options.log ?? (() => {});
  mkdirSync(join(dir, 'nodes'), { recursive: true });
  // Fresh operators, fresh keys: no key file of an earlier run is left to be mistaken for theirs.
  rmSync(join(dir, 'operators'), { recursive: true, force: true });
  // A demo start is a new data space with a new log key: the auditor's saved checkpoint of the
  // previous one (`veilgate audit verify`'s default) would only raise a changed-key alert.
  rmSync(join(dir, 'audit-checkpoint.json'), { force: true });
  const dataDir = join(dir, 'data');
  const hospitals = classify(await ensureData(dataDir, options.patientsPerHospital, options.hospitals ?? 3, options.seed ?? 42), options.differentialPrivacy ?? true, options.cellKey ?? true);
  const dictionary = loadDictionary();

  const hubKey = generateSigningKey();
  const hubLogKey = generateSigningKey();
  const hubListening: Running = await listen(createServer(), basePort, host);
  const started: { close(): Promise<void> }[] = [];
  try {
    const nodes: { id: string; name: string; url: string; signingKey: string }[] = [];
    // The data space's membership list, handed to every institution: each pins its peers'
    // signing keys from it (protocol.md §10), so no hub can add a member of its own.
    const nodeKeys = hospitals.map(() => generateSigningKey());
    const peers = hospitals.map((h, i) => ({ id: h.nodeId, signingKey: nodeKeys[i]!.publicKey }));
    const nodeConfigs = new Map<string, NodeConfig>();
    const inProcess = new Map<string, () => Promise<void>>();
    const children: ChildProcess[] = [];
    const processes = new Map<string, ChildProcess>();
    started.push({ close: async () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); } });
    /** Enrols an operator in a running node's configuration and its file: out of band, not through the hub. */
    const enrol = (nodeId: string, account: string, publicKey: string) => {
      const config = nodeConfigs.get(nodeId)!;
      (config.operators ??= []).push({ account, publicKey });
      writeFileSync(join(dir, 'nodes', `${nodeId}.json`), JSON.stringify(config, null, 2), { mode: 0o600 });
    };
    for (const [i, h] of hospitals.entries()) {
      const key = nodeKeys[i]!;
      // A demo start is a fresh data space: new keys, so no node state from an earlier run.
      for (const suffix of ['', '-wal', '-shm']) rmSync(join(dir, 'nodes', `${h.nodeId}.sqlite${suffix}`), { force: true });
      const config: NodeConfig = {
        id: h.nodeId, institution: h.name, host, port: basePort === 0 ? 0 : basePort + 1 + i,
        signingKey: key.secretKey, dataDir, datasets: h.datasets,
        hub: { id: 'hub', url: hubListening.url, publicKey: hubKey.publicKey, logKey: hubLogKey.publicKey },
        stateFile: join(dir, 'nodes', `${h.nodeId}.sqlite`),
        peers,
      };
      config.operators = [];
      const node = await startNode(config, dictionary, { log: (line) => log(`[node ${h.nodeId}] ${line}`) });
      let closed = false;
      const closeOnce = async () => {
        if (closed) return;
        closed = true;
        await node.close();
      };
      inProcess.set(h.nodeId, closeOnce);
      started.push({ close: closeOnce });
      const undo = registerEnrolment(h.nodeId, (account, publicKey) => enrol(h.nodeId, account, publicKey));
      started.push({ close: async () => undo() });
      nodes.push({ id: h.nodeId, name: h.name, url: node.url, signingKey: key.publicKey });
      config.port = Number(new URL(node.url).port);
      nodeConfigs.set(h.nodeId, config);
      writeFileSync(join(dir, 'nodes', `${h.nodeId}.json`), JSON.stringify(config, null, 2), { mode: 0o600 });
    }
    const storePath = join(dir, 'hub.sqlite');
    for (const suffix of ['', '-wal', '-shm']) rmSync(storePath + suffix, { force: true });
    const hubConfig: HubConfig = {
      id: 'hub', host, port: Number(new URL(hubListening.url).port), signingKey: hubKey.secretKey, logKey: hubLogKey.secretKey, store: storePath,
      nodes: nodes.map(({ id, url, signingKey }) => ({ id, url, signingKey })),
      ...(options.fanOutTimeoutMs ? { fanOutTimeoutMs: options.fanOutTimeoutMs } : {}),
      ...(options.rateLimitPerMinute ? { rateLimitPerMinute: options.rateLimitPerMinute } : {}),
    };
    writeFileSync(join(dir, 'hub.json'), JSON.stringify(hubConfig, null, 2), { mode: 0o600 });
    const hub = await startHub(hubConfig, dictionary, { listening: hubListening, log: (line) => log(`[hub] ${line}`) });
    started.push(hub);

    const admin = await createAccount(hub.store, { name: 'Data space admin', role: 'admin' });
    const researcher = await createAccount(hub.store, { name: 'Dr. Wang Fang (researcher)', role: 'researcher' });
    // The demo researcher starts with credits for the data market (DESIGN §8).
    await hub.store.topUpCredits(researcher.account.id, toMilli(options.researcherCredits ?? 100_000), admin.account.id);
    const accounts: DemoAccounts = {
      admin: admin.apiKey,
      researcher: researcher.apiKey,
      auditor: (await createAccount(hub.store, { name: 'Audit office', role: 'auditor' })).apiKey,
      operators: {},
      operatorKeys: {},
    };
    for (const n of nodes) {
      accounts.operators[n.id] = [];
      accounts.operatorKeys[n.id] = [];
      for (const [i, title] of ['data officer', 'ethics committee'].entries()) {
        const created = await createAccount(hub.store, { name: `${n.name} ${title}`, role: 'operator', node: n.id });
        // The operator's key is created for them; only its public half reaches the node.
        const file = await createOperatorKeyFile(join(dir, 'operators'), `${n.id}-${i + 1}`, created.account.id);
        enrol(n.id, created.account.id, file.publicKey);
        rememberOperatorKey(created.apiKey, file.key);
        accounts.operators[n.id]!.push(created.apiKey);
        accounts.operatorKeys[n.id]!.push(file.path);
      }
    }
    writeFileSync(
      join(dir, 'demo.json'),
      JSON.stringify({
        hubUrl: hubListening.url,
        log: { origin: logOrigin(hubConfig.id), publicKey: hubLogKey.publicKey },
        // The auditor's pinned witnesses (protocol.md §8): the nodes' keys, known here, not from the hub.
        witnesses: nodes.map(({ id, signingKey }) => ({ node: id, signingKey })),
        nodes: nodes.map(({ id, name, url }) => ({ id, name, url })),
        datasets: hospitals.flatMap((h) => h.datasets.map((d) => d.id)),
        accounts,
      }, null, 2),
      { mode: 0o600 },
    );
    return {
      hubUrl: hubListening.url,
      log: { origin: logOrigin(hubConfig.id), publicKey: hubLogKey.publicKey },
      hub,
      nodes: nodes.map(({ id, name, url }) => ({ id, name, url })),
      accounts,
      hospitals,
      dataDir,
      routeNode: (nodeId, url) => {
        const entry = hubConfig.nodes.find((n) => n.id === nodeId);
        if (!entry) throw new Error(`no node ${nodeId} in the hub's registry`);
        const before = entry.url;
        entry.url = url;
        return () => { entry.url = before; };
      },
      moveNodeToProcess: async (nodeId) => {
        // In this process: stop it first. Already moved: only once its process is gone (a restart).
        const stop = inProcess.get(nodeId);
        const previous = processes.get(nodeId);
        if (stop) await stop();
        else if (!previous || (previous.exitCode === null && previous.signalCode === null)) throw new Error(`node ${nodeId} is running elsewhere`);
        if (previous && previous.exitCode === null && previous.signalCode === null) await new Promise((r) => previous.once('exit', r));
        inProcess.delete(nodeId);
        const child = spawn(process.execPath, [fileURLToPath(new URL('../cli/main.ts', import.meta.url)), 'node', '--config', join(dir, 'nodes', `${nodeId}.json`)], { stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        processes.set(nodeId, child);
        await new Promise<void>((ready, fail) => {
          let out = '';
          child.stdout!.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            if (out.includes('listening on')) ready();
          });
          child.stderr!.on('data', (chunk: Buffer) => log(`[node ${nodeId} process] ${chunk.toString().trim()}`));
          child.once('exit', (code) => fail(new Error(`node ${nodeId} process exited (${code}) before listening`)));
        });
        return child;
      },
      close: async () => {
        for (const s of started.reverse()) await s.close();
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.close().catch(() => {});
    await hubListening.close().catch(() => {});
    throw err;
  }
}
