/**
 * The hub gateway's HTTP app (spec tag `hub`): accounts, catalog, researcher keys and
 * queries. `createHubApp` only builds the app; the CLI listens.
 */
import express, { type Express } from 'express';
import { ConsentError, VeilgateError, fromBase64, heKeyId, heParameters, loadPublicKey, type DataElement, type ErrorCode } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import { mountOperation } from '../http/openapi.ts';
import { errorHandler, notFound } from '../http/error-handler.ts';
import type { Role, StateStore } from '../store/state-store.ts';
import { accountOf, authenticate, createAccount, requireRole } from './accounts.ts';
import { createCatalog, type NodeRegistration } from './catalog.ts';
import { estimateQuery, runQuery } from './run-query.ts';
import { parseIdempotencyKey, replayIdempotent } from './idempotency.ts';
import { mountMeteringRoutes } from './metering-routes.ts';
import { createRateLimiter } from './rate-limit.ts';
import { createWitnessing, type Witnessing } from './witnessing.ts';
import { mountAuditRoutes } from '../audit/routes.ts';
import { traceEntry } from '../audit/trace.ts';
import { mountAccessRoutes } from './access-routes.ts';
import { createOidcVerifier, type OidcConfig } from './oidc.ts';
import { mountConsentImportRoutes } from './consent-import.ts';
import { createJwksCache } from './jwks-cache.ts';
import { createReplayCache } from '../consent/replay-cache.ts';
import { mountConsole } from './console.ts';
import { createProgressBus } from './progress-bus.ts';
import { fromMilli } from '../store/sqlite-ledger.ts';

export const VERSION = '0.1.0';

/** spec `ProgressChannel`. */
const PROGRESS_CHANNEL = /^[A-Za-z0-9_-]{22,64}$/;

/** The spec's `Role` enum (a missing or extra role fails to compile). */
const ROLES: Record<Role, true> = { researcher: true, operator: true, auditor: true, admin: true };

/** Everything a hub app needs. */
export interface HubDeps {
  id: string;
  /** The hub's Ed25519 secret key (base64url): signs compute requests to nodes. */
  signingKey: string;
  store: StateStore;
  nodes: NodeRegistration[];
  dictionary: DataElement[];
  fanOutTimeoutMs?: number;
  catalogTtlMs?: number;
  /** k of n: co-signatures for a checkpoint to count as witnessed (default: a majority of nodes). */
  witnessQuorum?: number;
  /** Accept OIDC bearer tokens from this issuer besides API keys. */
  oidc?: OidcConfig;
  /** Queries per minute per grant (default 120). */
  rateLimitPerMinute?: number;
  log?: (line: string) => void;
  /** The built web console to serve at `/` (default gateway/console/dist; false: none). */
  consoleDir?: string | false;
}

/** The hub app and its background witnessing (tests wait on `witnessing.settle()`). */
export type HubApp = Express & { witnessing: Witnessing };

/**
 * Builds a hub app.
 *
 * @example
 * const app = createHubApp(deps); app.listen(8080);
 */
export function createHubApp(deps: HubDeps): HubApp {
  const log = deps.log ?? ((line: string) => console.log(`[hub] ${line}`));
  const jwks = createJwksCache();
  const rateLimit = createRateLimiter(deps.rateLimitPerMinute ?? 120);
  const seenDpop = createReplayCache();
  const progressBus = createProgressBus();
  const witnessing = createWitnessing({ log: deps.store.audit, nodes: () => deps.nodes, hubSigningKey: deps.signingKey, logLine: log });
  // protocol.md §8: the checkpoint the hub starts with is witnessed at once, not after a write.
  witnessing.start();
  const catalog = createCatalog(() => deps.nodes, { ttlMs: deps.catalogTtlMs ?? 10_000, log });
  // Invariant 8, protocol.md §11.1: queries left running by a hub that stopped are failed
  // (`interrupted`, everything released, logged) before this hub accepts a query.
  const recovered = deps.store.recoverInterrupted().then((ids) => {
    if (ids.length) {
      log(`recovered ${ids.length} interrupted queries: failed with code interrupted, reservations released`);
      witnessing.kick();
    }
  });
  const security = { apiKey: authenticate(deps.store, deps.oidc ? createOidcVerifier(deps.oidc) : undefined) };
  const app = express();
  app.disable('x-powered-by');
  // No body parser here: each operation reads its body only after authentication, up to its
  // own limit (spec `x-veilgate-body-limit`; see mountOperation).

  mountOperation(app, 'getHealth', {}, (_req, res) => {
    res.json({ status: 'ok', role: 'hub', id: deps.id, version: VERSION });
  });
  mountOperation(app, 'getMe', security, (_req, res) => {
    const a = accountOf(res);
    res.json({ id: a.id, name: a.name, role: a.role, ...(a.node ? { node: a.node } : {}), createdAt: a.createdAt });
  });
  mountOperation(app, 'createAccount', security, requireRole('admin'), async (req, res) => {
    const body = req.body as { name: string; role: 'researcher' | 'operator' | 'auditor' | 'admin'; node?: string };
    if (body.role === 'operator' && !body.node) throw new GatewayError('invalid_request', 'node is required for an operator account', { field: 'node' });
    if (body.node && !deps.nodes.some((n) => n.id === body.node)) throw new GatewayError('invalid_request', `node: no node '${body.node}' is registered`, { field: 'node' });
    const { account, apiKey } = await createAccount(deps.store, body);
    witnessing.kick();
    res.status(201).json({ id: account.id, name: account.name, role: account.role, ...(account.node ? { node: account.node } : {}), createdAt: account.createdAt, apiKey });
  });
  mountOperation(app, 'listAccounts', security, requireRole('admin'), async (req, res) => {
    const role = req.query.role;
    if (role !== undefined && (typeof role !== 'string' || !Object.hasOwn(ROLES, role))) {
      throw new GatewayError('invalid_request', `role must be one of ${Object.keys(ROLES).join(', ')}`, { field: 'role' });
    }
    const rows = await deps.store.listAccounts(role === undefined ? {} : { role: role as Role });
    // Only the public fields: never the key hash (nor the log index, which is internal).
    res.json({ accounts: rows.map((a) => ({ id: a.id, name: a.name, role: a.role, ...(a.node ? { node: a.node } : {}), createdAt: a.createdAt })) });
  });
  mountOperation(app, 'getCatalog', security, async (_req, res) => {
    const snapshot = await catalog.get();
    res.json({
      elements: deps.dictionary,
      // The price in force is the one set through PUT /v1/datasets/{id}/price, else the node's.
      datasets: [...snapshot.datasets.values()]
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((d) => {
          const set = deps.store.ledger.price(d.id);
          return set === undefined ? d : { ...d, pricePerQuery: fromMilli(set) };
        }),
      unavailableNodes: snapshot.unavailable,
    });
  });
  mountOperation(app, 'registerKey', security, requireRole('researcher'), async (req, res) => {
    const bytes = fromBase64((req.body as { publicKey: string }).publicKey);
    const pk = await loadPublicKey(bytes).catch((cause: unknown) => {
      throw new GatewayError('invalid_public_key', 'publicKey is not a SEAL BFV public key for the protocol parameters', { field: 'publicKey', cause });
    });
    pk.delete();
    const keyId = heKeyId(bytes);
    const account = accountOf(res);
    const stored = await deps.store.putHeKey({ keyId, accountId: account.id, publicKey: bytes, createdAt: new Date().toISOString() });
    if (stored.accountId !== account.id) throw new GatewayError('invalid_public_key', 'publicKey is registered to another account', { field: 'publicKey' });
    witnessing.kick();
    res.status(201).json({ keyId, createdAt: stored.createdAt, params: await heParameters() });
  });
  mountOperation(app, 'getKey', {}, async (req, res) => {
    const key = await deps.store.getHeKey(req.params.keyId as string);
    if (!key) throw new GatewayError('unknown_key', `no key ${req.params.keyId as string}`, { field: 'keyId' });
    res.json({ keyId: key.keyId, createdAt: key.createdAt, params: await heParameters(), publicKey: Buffer.from(key.publicKey).toString('base64') });
  });
  mountOperation(app, 'runQuery', security, requireRole('researcher'), async (req, res) => {
    const body = req.body as Parameters<typeof runQuery>[2];
    const account = accountOf(res);
    const channel = req.get('Veilgate-Progress');
    if (channel !== undefined && !PROGRESS_CHANNEL.test(channel)) {
      throw new GatewayError('invalid_request', 'Veilgate-Progress must be 22 to 64 characters of A-Z a-z 0-9 _ -', { field: 'Veilgate-Progress' });
    }
    const idempotencyKey = parseIdempotencyKey(req.get('Idempotency-Key'));
    await recovered;
    // Before the proof is checked (and its jti consumed): a retry re-signs the same statement.
    const stored = idempotencyKey === undefined ? undefined : await replayIdempotent(deps.store, account.id, idempotencyKey, body);
    if (stored) {
      res.status(stored.status).json(stored.body);
      return;
    }
    const progress = progressBus.publisher(channel, account.id);
    try {
      const result = await runQuery(
        queryDeps(),
        account,
        body,
        // RFC 9449 §4.3 step 9: htu is the URI this request was sent to, without query and fragment.
        { dpop: req.get('DPoP'), htu: `${req.protocol}://${req.get('host')}${req.path}` },
        progress,
        idempotencyKey,
      );
      res.json(result);
    } catch (err) {
      const known = err instanceof VeilgateError || err instanceof ConsentError;
      progress({ type: 'failed', code: (known ? err.code : 'internal') as ErrorCode, ...(err instanceof GatewayError && err.node ? { node: err.node } : {}) });
      throw err;
    }
  });
  mountOperation(app, 'watchQueryProgress', security, requireRole('researcher'), (req, res) => {
    progressBus.watch(req.params.channel as string, accountOf(res).id, res);
  });
  const queryDeps = () => ({
    hubId: deps.id, hubSigningKey: deps.signingKey, store: deps.store, catalog, nodes: () => deps.nodes, dictionary: deps.dictionary,
    fanOutTimeoutMs: deps.fanOutTimeoutMs ?? 30_000, log, onLogged: () => witnessing.kick(), jwks, seenDpop, rateLimit,
  });
  mountMeteringRoutes(app, security, {
    store: deps.store, catalog, nodes: () => deps.nodes, hubSigningKey: deps.signingKey, estimate: (account, body) => estimateQuery(queryDeps(), account, body),
  });
  mountAccessRoutes(app, security, {
    store: deps.store, catalog, nodes: () => deps.nodes, dictionary: deps.dictionary, hubSigningKey: deps.signingKey, onLogged: () => witnessing.kick(),
  });
  mountConsentImportRoutes(app, security, { store: deps.store, catalog, nodes: () => deps.nodes, hubSigningKey: deps.signingKey, onLogged: () => witnessing.kick() });
  mountOperation(app, 'getQuery', security, async (req, res) => {
    const q = await deps.store.getQuery(req.params.queryId as string);
    const account = accountOf(res);
    if (!q || (q.accountId !== account.id && account.role !== 'auditor' && account.role !== 'admin')) {
      throw new GatewayError('not_found', `no query ${req.params.queryId as string}`, { field: 'queryId' });
    }
    res.json({
      queryId: q.id, status: q.status, keyId: q.keyId, datasets: q.datasets, createdAt: q.createdAt,
      ...(q.finishedAt ? { finishedAt: q.finishedAt } : {}), ...(q.errorCode ? { errorCode: q.errorCode } : {}), ...(q.resultSha256 ? { resultSha256: q.resultSha256 } : {}),
    });
  });
  const auditors = { security, guards: [requireRole('auditor', 'admin')] };
  mountAuditRoutes(app, deps.store.audit, {
    witnesses: () => deps.nodes.map((n) => ({ node: n.id, signingKey: n.signingKey })),
    quorum: () => deps.witnessQuorum ?? Math.floor(deps.nodes.length / 2) + 1,
    entries: auditors,
  });
  mountOperation(app, 'traceAuditEntry', security, ...auditors.guards, async (req, res) => {
    res.json(await traceEntry(deps.store, req.params.entry as string));
  });
  if (deps.consoleDir !== false) mountConsole(app, deps.consoleDir);
  app.use(notFound);
  app.use(errorHandler(log));
  return Object.assign(app, { witnessing });
}
