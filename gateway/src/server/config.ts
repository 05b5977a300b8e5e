/**
 * Server configurations as written to disk (`veilgate hub --config …`, `veilgate node
 * --config …`) and the functions that start a server from one. The demo writes these files
 * and starts the same servers in one process.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { DataElement } from '@veilgate/sdk';
import type { DatasetConfig } from '../datasets/config.ts';
import { openDatasets, type DatasetEngine } from '../datasets/duckdb-dataset.ts';
import { createHubApp, type HubApp } from '../hub/app.ts';
import type { OidcConfig } from '../hub/oidc.ts';
import type { NodeRegistration } from '../hub/catalog.ts';
import { createNodeApp } from '../node/app.ts';
import { openSqliteStore } from '../store/sqlite-store.ts';
import { openNodeState } from '../node/node-state.ts';
import { logOrigin } from './origin.ts';
import type { StateStore } from '../store/state-store.ts';

/** A hub's configuration file. */
export interface HubConfig {
  id: string;
  host: string;
  port: number;
  /** Ed25519 secret key, base64url: signs compute requests. Keep the file private (mode 0600). */
  signingKey: string;
  /** Ed25519 secret key, base64url: signs audit-log checkpoints. */
  logKey: string;
  /** How many nodes must co-sign a checkpoint for it to count as witnessed (default: a majority). */
  witnessQuorum?: number;
  /** SQLite file of the state store (`:memory:` for tests). */
  store: string;
  nodes: NodeRegistration[];
  /** Queries per minute per grant (default 120). */
  rateLimitPerMinute?: number;
  /** Optional: accept OIDC access tokens of an external identity provider (issuer, audience, JWKS URL, role mapping). */
  oidc?: OidcConfig;
  fanOutTimeoutMs?: number;
}

/** A node's configuration file. */
export interface NodeConfig {
  id: string;
  institution: string;
  host: string;
  port: number;
  /** Ed25519 secret key, base64url. Keep the file private (mode 0600). */
  signingKey: string;
  /** Directory that relative dataset paths resolve against. */
  dataDir: string;
  datasets: DatasetConfig[];
  hub: { id: string; url: string; publicKey: string; logKey: string };
  /** SQLite file of the node's own state: its audit log and witness state. */
  stateFile: string;
  /**
   * The data space's nodes (this one may be listed too) with their Ed25519 public keys, as the
   * institution received them out of band: only these are accepted as participants of a
   * computation. Without it, peers are pinned on first use (protocol.md §10).
   */
  peers?: { id: string; signingKey: string }[];
  /**
   * The institution's operators, enrolled here out of band (`veilgate operator enroll`), never
   * through the hub: the node signs a consent token only on approvals signed by these keys.
   */
  operators?: NodeOperator[];
}

/** An enrolled operator: their hub account id and Ed25519 public key (32 bytes, base64url). */
export interface NodeOperator {
  account: string;
  publicKey: string;
}

/** A listening server. */
export interface Running {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Listens on host:port (0 picks a free port) and resolves with the URL.
 *
 * @example
 * const { url } = await listen(createServer(app), 8080, '127.0.0.1');
 */
export function listen(server: Server, port: number, host: string): Promise<Running> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Reads a JSON configuration file. */
export function readConfig<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/**
 * Starts a node from its configuration: loads the datasets into DuckDB, then listens.
 *
 * @example
 * const node = await startNode(readConfig<NodeConfig>('.veilgate/nodes/hosp-a.json'), loadDictionary());
 */
export async function startNode(config: NodeConfig, dictionary: DataElement[], options: { log?: (line: string) => void } = {}): Promise<Running & { engine: DatasetEngine }> {
  const engine = await openDatasets(config.datasets, config.dataDir, dictionary);
  const state = openNodeState(config.stateFile, { origin: logOrigin(config.id), signingKey: config.signingKey });
  const app = createNodeApp({
    id: config.id, institution: config.institution, signingKey: config.signingKey, engine, dictionary, hub: config.hub, state,
    ...(config.peers ? { peers: config.peers } : {}),
    // Read at each token request: an operator enrolled into this (live) configuration counts at once.
    operators: () => config.operators ?? [],
    ...(options.log ? { log: options.log } : {}),
  });
  const running = await listen(createServer(app), config.port, config.host);
  return {
    ...running,
    engine,
    close: async () => {
      await running.close();
      engine.close();
      state.close();
    },
  };
}

/**
 * Starts a hub from its configuration (or on a server already listening without a handler).
 *
 * @example
 * const hub = await startHub(readConfig<HubConfig>('.veilgate/hub.json'), loadDictionary());
 */
export async function startHub(config: HubConfig, dictionary: DataElement[], options: { listening?: Running; store?: StateStore; log?: (line: string) => void } = {}): Promise<Running & { store: StateStore; app: HubApp }> {
  const store = options.store ?? openSqliteStore(config.store, { origin: logOrigin(config.id), signingKey: config.logKey });
  const app = createHubApp({
    id: config.id, signingKey: config.signingKey, store, nodes: config.nodes, dictionary,
    ...(config.fanOutTimeoutMs ? { fanOutTimeoutMs: config.fanOutTimeoutMs } : {}),
    ...(config.witnessQuorum !== undefined ? { witnessQuorum: config.witnessQuorum } : {}),
    ...(config.oidc ? { oidc: config.oidc } : {}),
    ...(config.rateLimitPerMinute ? { rateLimitPerMinute: config.rateLimitPerMinute } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  // A caller that had to know the hub's URL first (nodes need it) passes a listening server.
  const running = options.listening ?? (await listen(createServer(), config.port, config.host));
  running.server.on('request', app);
  return {
    ...running,
    store,
    app,
    close: async () => {
      await running.close();
      app.witnessing.stop();
      await app.witnessing.settle();
      await store.close();
    },
  };
}
