/**
 * Server configurations as written to disk (`veilgate hub --config …`, `veilgate node
 * --config …`) and the functions that start a server from one. The demo writes these files
 * and starts the same servers in one process.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
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
  /** Starts answering with `handler` (until then every request is answered 503 `not_ready`). */
  serve(handler: RequestListener): void;
  close(): Promise<void>;
}

/**
 * Server-side timeouts (spec/openapi.yaml info, protocol.md "Limits and timeouts"): a client
 * that never finishes its headers or body (slowloris) is cut off, and an idle connection is
 * closed, so no client can hold a socket forever (issue 11).
 */
export interface ServerTimeouts {
  /** All request headers must arrive within this (Node `server.headersTimeout`); else 408 and close. */
  headersMs: number;
  /** The whole request, body included, must arrive within this (`server.requestTimeout`). */
  requestMs: number;
  /** A kept-alive connection is closed after this long without a new request (`server.keepAliveTimeout`). */
  keepAliveMs: number;
  /**
   * A socket with no traffic either way for this long is destroyed (`server.timeout`). Longer
   * than any handler waits in silence: the hub's fan-out timeout (30 s default) and the
   * progress stream's 15 s heartbeat.
   */
  idleSocketMs: number;
  /** How often Node checks the header and request deadlines (`server.connectionsCheckingInterval`). */
  checkIntervalMs: number;
}

/** The timeouts every hub and node server runs with. */
export const SERVER_TIMEOUTS: ServerTimeouts = { headersMs: 10_000, requestMs: 120_000, keepAliveMs: 5_000, idleSocketMs: 300_000, checkIntervalMs: 1_000 };

/** Seconds a client is told to wait (`Retry-After`) while a server starts. */
export const NOT_READY_RETRY_AFTER_SECONDS = 1;

/**
 * Answers a request that arrives before the server is ready: 503 `not_ready` with
 * `Retry-After` (spec `NotReady`), and the connection closed rather than a body read.
 */
function answerNotReady(_req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({ code: 'not_ready', message: 'the server is starting; try again shortly' });
  res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'retry-after': String(NOT_READY_RETRY_AFTER_SECONDS), connection: 'close' });
  res.end(body);
}

/**
 * Listens on host:port (0 picks a free port) and resolves with the URL. The server answers
 * every request it accepts: with its request handler if it has one, else 503 `not_ready`
 * until `serve(handler)` — so a server can listen (and a caller learn its URL) while it still
 * loads. The timeouts of `SERVER_TIMEOUTS` (or `timeouts`) are set here, for every server.
 *
 * @example
 * const running = await listen(createServer(), 8080, '127.0.0.1');
 * running.serve(app); // from now on requests reach the app
 */
export function listen(server: Server, port: number, host: string, timeouts: Partial<ServerTimeouts> = {}): Promise<Running> {
  const t = { ...SERVER_TIMEOUTS, ...timeouts };
  server.headersTimeout = t.headersMs;
  server.requestTimeout = t.requestMs;
  server.keepAliveTimeout = t.keepAliveMs;
  server.timeout = t.idleSocketMs;
  // Read by Node when the server starts listening (lib/_http_server.js setupConnectionsTracking).
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = t.checkIntervalMs;
  let handler = server.listeners('request')[0] as RequestListener | undefined;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => (handler ? handler(req, res) : answerNotReady(req, res)));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`,
        server,
        serve: (h) => {
          handler = h;
        },
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
 * Starts a node from its configuration: listens (answering 503 `not_ready`), loads the
 * datasets into DuckDB, then serves.
 *
 * @example
 * const node = await startNode(readConfig<NodeConfig>('.veilgate/nodes/hosp-a.json'), loadDictionary());
 */
export async function startNode(config: NodeConfig, dictionary: DataElement[], options: { log?: (line: string) => void } = {}): Promise<Running & { engine: DatasetEngine }> {
  // Listen first: while the datasets load, requests are answered 503 `not_ready`, not left hanging.
  const running = await listen(createServer(), config.port, config.host);
  let engine: DatasetEngine;
  let state: ReturnType<typeof openNodeState>;
  try {
    engine = await openDatasets(config.datasets, config.dataDir, dictionary);
    state = openNodeState(config.stateFile, { origin: logOrigin(config.id), signingKey: config.signingKey });
  } catch (err) {
    await running.close();
    throw err;
  }
  const app = createNodeApp({
    id: config.id, institution: config.institution, signingKey: config.signingKey, engine, dictionary, hub: config.hub, state,
    ...(config.peers ? { peers: config.peers } : {}),
    // Read at each token request: an operator enrolled into this (live) configuration counts at once.
    operators: () => config.operators ?? [],
    ...(options.log ? { log: options.log } : {}),
  });
  running.serve(app);
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
 * Starts a hub from its configuration (or on a server already listening, answering 503
 * `not_ready`, without a handler).
 *
 * @example
 * const hub = await startHub(readConfig<HubConfig>('.veilgate/hub.json'), loadDictionary());
 */
export async function startHub(config: HubConfig, dictionary: DataElement[], options: { listening?: Running; store?: StateStore; log?: (line: string) => void } = {}): Promise<Running & { store: StateStore; app: HubApp }> {
  // A caller that had to know the hub's URL first (nodes need it) passes a listening server;
  // either way it answers 503 `not_ready` until the app is served below.
  const running = options.listening ?? (await listen(createServer(), config.port, config.host));
  let store: StateStore;
  try {
    store = options.store ?? openSqliteStore(config.store, { origin: logOrigin(config.id), signingKey: config.logKey });
  } catch (err) {
    if (!options.listening) await running.close();
    throw err;
  }
  const app = createHubApp({
    id: config.id, signingKey: config.signingKey, store, nodes: config.nodes, dictionary,
    ...(config.fanOutTimeoutMs ? { fanOutTimeoutMs: config.fanOutTimeoutMs } : {}),
    ...(config.witnessQuorum !== undefined ? { witnessQuorum: config.witnessQuorum } : {}),
    ...(config.oidc ? { oidc: config.oidc } : {}),
    ...(config.rateLimitPerMinute ? { rateLimitPerMinute: config.rateLimitPerMinute } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  running.serve(app);
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
