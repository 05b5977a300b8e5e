/**
 * The researcher-facing client. `api` is the typed low-level client (openapi-fetch over
 * spec/openapi.yaml: `{ data, error, response }`); the methods are high-level helpers that
 * throw `ApiError` with the server's stable code. `query` checks the hub's plan by
 * re-planning, decrypts locally (the secret key never leaves this process or page) and
 * decodes typed per-group results.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './generated/openapi.ts';
import { ApiError, NetworkError, ResultVerificationError, VeilgateError } from './errors.ts';
import { backoffMs, resilientFetch, type RetryPolicy } from './internal/resilient-fetch.ts';
import { decryptSlots } from './he/cipher.ts';
import type { HeKeyPair } from './he/keys.ts';
import { loadHe } from './he/params.ts';
import { fromBase64, toBase64 } from './internal/bytes.ts';
import { canonicalSha256 } from './protocol/canonical.ts';
import { decodeResult, type GroupResult } from './protocol/decode.ts';
import { NOISE_HEADROOM, planQuery } from './protocol/plan.ts';
import type { Query } from './protocol/query.ts';
import { elementsOfQuery } from './protocol/plan.ts';
import { checkQueryLimits } from './protocol/limits.ts';
import { newProgressChannel, readProgressEvents } from './progress-stream.ts';
import { createQueryProof } from './consent/query-proof.ts';
import { defaultThreshold } from './privacy/secure-aggregation.ts';
import { csvBatches } from './consent/csv-batches.ts';
import type { IdentityKey } from './consent/identity.ts';
import { decisionContentOf, signDecision, type DecidedRequest, type OperatorKey } from './consent/approval.ts';
import { verifyLog, verifyQueryReceipt, verifyTrace, type LogIdentity, type LogSource, type LogVerification, type PinnedWitnesses } from './audit.ts';
import type { VerifiedCheckpoint } from './log/checkpoint.ts';

type S = components['schemas'];

/** How long `logSource().checkpoint()` waits for a checkpoint still awaiting its witnesses. */
const WITNESS_WAIT_MS = 5000;

/** Options of a client. */
export interface VeilgateClientOptions {
  /** The hub's base URL, e.g. http://localhost:8080. */
  baseUrl: string;
  /** An API key (`vg_…`). */
  apiKey?: string;
  fetch?: typeof globalThis.fetch;
  /**
   * The hub's audit log identity, pinned (e.g. from demo.json). Without it the client
   * trusts the key the hub states on first use.
   */
  log?: LogIdentity;
  /** Verify every query result's receipt (default true). */
  verifyReceipts?: boolean;
  /** Retries and timeout of every request (protocol.md §11.1; defaults in `RetryPolicy`). */
  retry?: RetryPolicy;
}

/** How long `query` keeps retrying one query under its idempotency key (dropped connections, 409 in progress). */
const QUERY_RETRY_WINDOW_MS = 120_000;

/**
 * Where a running query is, for progress displays: choosing tokens, signing the DPoP proof,
 * waiting for the hub's fan-out to the `nodes` (one round trip; the hub answers when every
 * node has contributed), verifying the receipt, decrypting ciphertext `done` of `total`.
 */
export type QueryProgress =
  | { phase: 'tokens' }
  | { phase: 'signing' }
  | { phase: 'fan-out'; nodes: string[] }
  /** An institution's signed contribution arrived and verified at the hub (`done` of `total`). */
  | { phase: 'contributed'; node: string; done: number; total: number; ms: number }
  | { phase: 'combining' }
  | { phase: 'verifying' }
  | { phase: 'decrypting'; done: number; total: number }
  | { phase: 'done' };

/** A decrypted, decoded query result. */
export interface QueryOutcome {
  queryId: string;
  groups: GroupResult[];
  plan: S['SlotPlan'];
  contributions: S['Contribution'][];
  suppressed: S['Suppression'][];
  /** Institutions that did not contribute under a dropout threshold (protocol.md §10.1). */
  missing: string[];
  timings: S['QueryResult']['timings'];
  /** The result's place in the hub's audit log, verified unless `verifyReceipts` is false. */
  receipt: S['Receipt'];
  /** What the query cost (ρ, (ε, δ), credits) and what is left. */
  cost: S['QueryCost'];
}

function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data !== undefined && result.response.ok) return result.data;
  const body = result.error as { code?: S['ErrorCode']; message?: string; field?: string; node?: string } | undefined;
  throw new ApiError(result.response.status, {
    code: body?.code ?? 'internal',
    message: body?.message ?? `HTTP ${result.response.status}`,
    ...(body?.field ? { field: body.field } : {}),
    ...(body?.node ? { node: body.node } : {}),
  });
}

/**
 * A typed client of a Veilgate hub.
 *
 * @example
 * const client = new VeilgateClient({ baseUrl: 'http://localhost:8080', apiKey });
 * const keys = await generateHeKeyPair();
 * await client.registerKey(keys);
 * const { groups } = await client.query({ datasets: ['hosp-a.cardiometabolic'], aggregates: [{ op: 'count' }] }, { keys });
 */
export class VeilgateClient {
  /** The low-level typed client generated from the spec. */
  readonly api: Client<paths>;
  #catalog: Promise<S['Catalog']> | undefined;
  #log: Promise<LogIdentity> | undefined;
  #grants: { grants: S['Grant'][]; at: number } | undefined;
  readonly #verifyReceipts: boolean;
  readonly #baseUrl: string;

  constructor(options: VeilgateClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/$/, '');
    if (options.log) this.#log = Promise.resolve(options.log);
    this.#verifyReceipts = options.verifyReceipts ?? true;
    this.api = createClient<paths>({
      baseUrl: options.baseUrl.replace(/\/$/, ''),
      ...(options.apiKey ? { headers: { Authorization: `Bearer ${options.apiKey}` } } : {}),
      // Every network failure becomes a NetworkError with a stable code; safe requests are retried.
      fetch: resilientFetch((input, init) => (options.fetch ?? globalThis.fetch)(input, init), options.retry),
    });
  }

  /** `GET /v1/health`. */
  async health(): Promise<S['Health']> {
    return unwrap(await this.api.GET('/v1/health'));
  }

  /** `GET /v1/me`: the calling account. */
  async me(): Promise<S['Account']> {
    return unwrap(await this.api.GET('/v1/me'));
  }

  /** `POST /v1/accounts` (admin): creates an account and returns its API key once. */
  async createAccount(input: S['CreateAccountRequest']): Promise<S['CreatedAccount']> {
    return unwrap(await this.api.POST('/v1/accounts', { body: input }));
  }

  /** `GET /v1/accounts` (admin): every account, oldest first, optionally of one role; never a key. */
  async listAccounts(role?: S['Role']): Promise<S['Account'][]> {
    return unwrap(await this.api.GET('/v1/accounts', { params: { query: role ? { role } : {} } })).accounts;
  }

  /** `GET /v1/catalog`, cached per client unless `refresh`. */
  async catalog(options: { refresh?: boolean } = {}): Promise<S['Catalog']> {
    if (!this.#catalog || options.refresh) {
      this.#catalog = this.api.GET('/v1/catalog').then(unwrap);
      this.#catalog.catch(() => (this.#catalog = undefined));
    }
    return this.#catalog;
  }

  /** The hub's audit log identity: pinned, or as the hub states it (trust on first use). */
  async logIdentity(): Promise<LogIdentity> {
    this.#log ??= this.api.GET('/v1/audit/checkpoint').then(unwrap).then((c) => ({ origin: c.origin, publicKey: c.logKey }));
    this.#log.catch(() => (this.#log = undefined));
    return this.#log;
  }

  /** `GET /v1/audit/checkpoint`. */
  async checkpoint(): Promise<S['Checkpoint']> {
    return unwrap(await this.api.GET('/v1/audit/checkpoint'));
  }

  /** `GET /v1/audit/trace/{entry}` (auditors), verified step by step against the log key. */
  async trace(entry: string | number): Promise<S['Trace']> {
    return (await this.verifiedTrace(entry)).trace;
  }

  /**
   * `GET /v1/audit/trace/{entry}`, every step verified against `log` (default: this client's
   * log identity), with the checkpoint the steps were verified against.
   */
  async verifiedTrace(entry: string | number, log?: LogIdentity): Promise<{ trace: S['Trace']; checkpoint: VerifiedCheckpoint }> {
    const trace = unwrap(await this.api.GET('/v1/audit/trace/{entry}', { params: { path: { entry: String(entry) } } }));
    return { trace, checkpoint: verifyTrace(trace, log ?? (await this.logIdentity())) };
  }

  /** `GET /v1/audit/entries` (auditors): entries from `start` (at most `limit`) and the log's size. */
  async auditEntries(start: number, limit: number): Promise<S['AuditEntryPage']> {
    return unwrap(await this.api.GET('/v1/audit/entries', { params: { query: { start: String(start), limit: String(limit) } } }));
  }

  /** `GET /v1/audit/proof/inclusion`: the RFC 9162 §2.1.3 proof of entry `index` in the tree of `treeSize`. */
  async inclusionProof(index: number, treeSize: number): Promise<S['InclusionProof']> {
    return unwrap(await this.api.GET('/v1/audit/proof/inclusion', { params: { query: { index: String(index), treeSize: String(treeSize) } } }));
  }

  /** Where `verifyLog` reads this hub's log: the checkpoint, pages of entries, consistency proofs. */
  logSource(): LogSource {
    return {
      checkpoint: async () => {
        // protocol.md §8: the hub asks its witnesses within a second of each write, so a fresh
        // checkpoint may still await them. Wait a little for the hub to say it is witnessed;
        // the verdict never rests on that claim, only on the cosignatures verifyLog counts.
        const deadline = Date.now() + WITNESS_WAIT_MS;
        let cp = await this.checkpoint();
        while (!cp.witnessed && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 250));
          cp = await this.checkpoint();
        }
        return cp;
      },
      entries: (start, limit) => this.auditEntries(start, limit),
      consistency: async (from, to) => unwrap(await this.api.GET('/v1/audit/proof/consistency', { params: { query: { from: String(from), to: String(to) } } })),
    };
  }

  /**
   * Verifies the hub's whole log (auditors): every entry against its leaf, the signed root,
   * a quorum of fresh cosignatures by the pinned `witnesses` (not OK without them: protocol.md
   * §8), and — given a saved checkpoint — that the log only grew.
   */
  async verifyLog(
    options: { trusted?: { size: number; root: string }; witnesses?: PinnedWitnesses; maxWitnessAgeSeconds?: number; pageSize?: number; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<LogVerification> {
    return verifyLog(this.logSource(), { log: await this.logIdentity(), ...options });
  }

  /** `POST /v1/keys`: registers the public half of a BFV key pair. */
  async registerKey(keys: Pick<HeKeyPair, 'publicKey'>): Promise<S['HeKey']> {
    return unwrap(await this.api.POST('/v1/keys', { body: { publicKey: toBase64(keys.publicKey) } }));
  }

  /** `POST /v1/access-requests`: asks for access, bound to the identity key's thumbprint. */
  async requestAccess(input: Omit<S['AccessRequestInput'], 'identityKey'>, identity: IdentityKey): Promise<S['AccessRequest']> {
    return unwrap(await this.api.POST('/v1/access-requests', { body: { ...input, identityKey: { ...identity.publicJwk } } }));
  }

  /** `GET /v1/access-requests`: mine (researcher), my institution's (operator), all (auditor). */
  async accessRequests(state?: S['AccessRequestState']): Promise<S['AccessRequest'][]> {
    return unwrap(await this.api.GET('/v1/access-requests', { params: { query: state ? { state } : {} } })).requests;
  }

  /** `GET /v1/access-requests/{id}`. */
  async accessRequest(id: string): Promise<S['AccessRequest']> {
    return unwrap(await this.api.GET('/v1/access-requests/{requestId}', { params: { path: { requestId: id } } }));
  }

  /** `POST /v1/access-requests/{id}/withdraw` (researcher). */
  async withdrawAccessRequest(id: string): Promise<S['AccessRequest']> {
    return unwrap(await this.api.POST('/v1/access-requests/{requestId}/withdraw', { params: { path: { requestId: id } } }));
  }

  /**
   * `POST /v1/access-requests/{id}/decisions` (operator): approve, or deny with a reason —
   * signed here, by the operator's own key, over everything the token will grant
   * (protocol.md §9); the hub relays the statement, the institution's node verifies it.
   * Pass the request and the operator (as `me()` states it) when at hand, to save two calls.
   */
  async decide(
    id: string,
    decision: 'approve' | 'deny',
    options: { key: OperatorKey; reason?: string; request?: DecidedRequest; operator?: { id: string; node?: string } },
  ): Promise<S['AccessRequest']> {
    const operator = options.operator ?? (await this.me());
    const request = options.request ?? (await this.accessRequest(id));
    if (!operator.node || !request.decisions.some((d) => d.node === operator.node)) {
      throw new VeilgateError('forbidden', `operators of ${operator.node ?? 'no institution'} cannot decide on request ${id}: it asks for no dataset of theirs`);
    }
    const reason = options.reason || undefined;
    const statement = await signDecision(
      decisionContentOf(request, { operator: operator.id, node: operator.node, decision, ...(reason === undefined ? {} : { reason }) }),
      options.key,
    );
    return unwrap(await this.api.POST('/v1/access-requests/{requestId}/decisions', {
      params: { path: { requestId: id } },
      body: { decision, statement, ...(reason === undefined ? {} : { reason }) },
    }));
  }

  /** `POST /v1/access-requests/{id}/revoke` (operator). */
  async revoke(id: string, reason: string): Promise<S['AccessRequest']> {
    return unwrap(await this.api.POST('/v1/access-requests/{requestId}/revoke', { params: { path: { requestId: id } }, body: { reason } }));
  }

  /** `GET /v1/balance`: my credits and each grant's privacy budget; an admin names the researcher's `account`. */
  async balance(account?: string): Promise<S['Balance']> {
    return unwrap(await this.api.GET('/v1/balance', { params: { query: account === undefined ? {} : { account } } }));
  }

  /** `POST /v1/queries/estimate`: what a query would cost, and what would be left. */
  async estimate(query: Query, options: { identity: IdentityKey; purpose?: string; rho?: number; tokens?: string[] }): Promise<S['QueryCost']> {
    const { purpose, tokens } = options.tokens ? { purpose: options.purpose ?? 'DUO:0000006', tokens: options.tokens } : await this.tokensFor(query, options.identity, options.purpose);
    // An estimate encrypts nothing: any well-formed key id will do.
    return unwrap(await this.api.POST('/v1/queries/estimate', { body: { keyId: '0'.repeat(64), query, purpose, tokens, ...(options.rho ? { rho: options.rho } : {}) } }));
  }

  /** `POST /v1/credits/top-ups` (admin). */
  async topUp(account: string, amount: number): Promise<S['Balance']> {
    return unwrap(await this.api.POST('/v1/credits/top-ups', { body: { account, amount } }));
  }

  /** `PUT /v1/datasets/{id}/price` (operator). */
  async setPrice(datasetId: string, pricePerQuery: number): Promise<{ dataset: string; pricePerQuery: number }> {
    return unwrap(await this.api.PUT('/v1/datasets/{datasetId}/price', { params: { path: { datasetId } }, body: { pricePerQuery } }));
  }

  /** `PUT /v1/datasets/{id}/privacy` (operator): differential privacy on or off. */
  async setPrivacy(datasetId: string, policy: S['PrivacyPolicy']): Promise<S['PrivacyPolicy']> {
    return unwrap(await this.api.PUT('/v1/datasets/{datasetId}/privacy', { params: { path: { datasetId } }, body: policy }));
  }

  /** `GET /v1/usage`: usage and charges per researcher, dataset and day. */
  async usage(period: { from?: string; to?: string } = {}): Promise<S['UsageReport']> {
    return unwrap(await this.api.GET('/v1/usage', { params: { query: { ...period, format: 'json' } } })) as S['UsageReport'];
  }

  /** `GET /v1/usage?format=csv`: the same report as CSV text. */
  async usageCsv(period: { from?: string; to?: string } = {}): Promise<string> {
    const result = await this.api.GET('/v1/usage', { params: { query: { ...period, format: 'csv' } }, parseAs: 'text' });
    return unwrap(result as { data?: string; error?: unknown; response: Response });
  }

  /** `GET /v1/grants`: my consent tokens in force. */
  async grants(): Promise<S['Grant'][]> {
    return unwrap(await this.api.GET('/v1/grants')).grants;
  }

  /**
   * Imports a patient-consent CSV (operator) for one of my institution's datasets, of any
   * size: opened with `POST /v1/datasets/{id}/consent-imports`, sent in batches of whole
   * records (`PUT …/batches/{seq}`, about `batchBytes` each, a lost answer retried once), then
   * committed — all applied at once, or on any failure nothing (the import is aborted).
   * `source` is the CSV text, or its bytes as chunks (a Node file stream, `File.stream()`).
   *
   * @example
   * await operator.importConsent('hosp-a.cardiometabolic', createReadStream('consent.csv'), { onProgress: (p) => console.log(p.bytes) });
   */
  async importConsent(
    datasetId: string,
    source: string | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>,
    options: { batchBytes?: number; onProgress?: (progress: { bytes: number; records: number; batches: number }) => void } = {},
  ): Promise<S['ConsentImportResult']> {
    const opened = unwrap(await this.api.POST('/v1/datasets/{datasetId}/consent-imports', { params: { path: { datasetId } } }));
    const importId = opened.id;
    let bytes = 0;
    try {
      let seq = 0;
      for await (const batch of csvBatches(source, options.batchBytes ?? 2 * 1024 * 1024)) {
        const put = () => this.api.PUT('/v1/consent-imports/{importId}/batches/{seq}', {
          params: { path: { importId, seq: String(seq) } },
          body: batch as unknown as string,
          bodySerializer: (b: unknown) => b as BodyInit,
          headers: { 'content-type': 'text/csv' },
        });
        // A dropped connection: the same batch again is answered without being staged twice.
        const staged = unwrap(await put().catch(() => put()));
        bytes += batch.length;
        seq += 1;
        options.onProgress?.({ bytes, records: staged.records, batches: staged.batches });
      }
      return unwrap(await this.api.POST('/v1/consent-imports/{importId}/commit', { params: { path: { importId } } }));
    } catch (err) {
      // The hub ends an import it refused; this covers a failure on our side too.
      await this.api.DELETE('/v1/consent-imports/{importId}', { params: { path: { importId } } }).catch(() => undefined);
      throw err;
    }
  }

  /**
   * The consent tokens a query needs: for each institution it touches, a grant in force that
   * covers its datasets, elements, operations and purpose with quota left.
   */
  async tokensFor(query: Query, identity: IdentityKey, purpose?: string): Promise<{ purpose: string; tokens: string[] }> {
    const catalog = await this.catalog();
    const byNode = new Map<string, string[]>();
    for (const id of query.datasets) {
      const node = catalog.datasets.find((d) => d.id === id)?.node;
      if (node) byNode.set(node, [...(byNode.get(node) ?? []), id]);
    }
    const elements = elementsOfQuery(query);
    const operations = query.aggregates.map((a) => a.op);
    const choose = (all: S['Grant'][]) => {
      const grants = all.filter((g) => g.identityJkt === identity.jkt);
      const chosenPurpose = purpose ?? grants.find((g) => byNode.has(g.node))?.purpose ?? 'DUO:0000006';
      const tokens: string[] = [];
      for (const [node, datasets] of byNode) {
        const grant = grants.find((g) =>
          g.node === node && g.purpose === chosenPurpose && g.queriesUsed < g.queryQuota &&
          datasets.every((d) => g.datasets.includes(d)) && elements.every((e) => g.elements.includes(e)) && operations.every((o) => g.operations.includes(o)));
        if (grant) tokens.push(grant.token);
      }
      return { purpose: chosenPurpose, tokens };
    };
    // Grants are cached briefly (one request fewer per query); a miss asks the hub again,
    // since a grant may have been approved a moment ago.
    const cached = this.#grants && Date.now() - this.#grants.at < 10_000 ? choose(this.#grants.grants) : undefined;
    if (cached && cached.tokens.length === byNode.size) return cached;
    const fresh = await this.grants();
    this.#grants = { grants: fresh, at: Date.now() };
    return choose(fresh);
  }

  /**
   * The participants and ρ a query's signed statement names: the institutions holding its
   * datasets, and — when any of them has differential privacy on — the ρ asked for or the
   * largest default of those datasets (the hub charges the same, protocol.md §10).
   */
  async #statementTerms(query: Query, rho: number | undefined, refresh: boolean, threshold?: number): Promise<{ participants: string[]; rho: number; threshold: number }> {
    let catalog = await this.catalog({ refresh });
    if (query.datasets.some((id) => !catalog.datasets.some((d) => d.id === id))) catalog = await this.catalog({ refresh: true });
    const datasets = query.datasets.map((id) => catalog.datasets.find((d) => d.id === id)).filter((d) => d !== undefined);
    const dp = datasets.filter((d) => d.differentialPrivacy);
    const participants = [...new Set(datasets.map((d) => d.node))].sort();
    return {
      participants,
      rho: dp.length === 0 ? 0 : rho ?? Math.max(...dp.map((d) => d.defaultRho)),
      // protocol.md §10.1: the least number of institutions that make a result, signed so a hub cannot lower it.
      threshold: Math.min(participants.length, threshold ?? defaultThreshold(participants.length)),
    };
  }

  /** Opens a progress channel and forwards its events as `contributed` / `combining` phases. */
  #watchProgress(progress: (p: QueryProgress) => void): { channel: string; stop: () => void } {
    const channel = newProgressChannel();
    const abort = new AbortController();
    void this.api
      .GET('/v1/queries/progress/{channel}', { params: { path: { channel } }, parseAs: 'stream', signal: abort.signal })
      .then(({ data, response }) => {
        if (!response.ok || !data) return;
        return readProgressEvents(data as ReadableStream<Uint8Array>, (e) => {
          if (e.type === 'contributed') progress({ phase: 'contributed', node: e.node, done: e.done, total: e.total, ms: e.ms });
          else if (e.type === 'combining') progress({ phase: 'combining' });
        }, abort.signal);
      })
      .catch(() => {});
    return { channel, stop: () => abort.abort() };
  }

  /**
   * Runs a query and returns decrypted per-group results. It attaches the consent tokens of
   * the grants that cover the query (or the ones given) and a DPoP proof (RFC 9449) signed
   * with the identity key they are bound to. The hub's plan is checked by re-planning the
   * same query against the catalog (a hub cannot change what the slots mean), the echoed
   * query must be the one sent, and the receipt is verified.
   */
  async query(query: Query, options: { keys: HeKeyPair; identity: IdentityKey; purpose?: string; tokens?: string[]; rho?: number; threshold?: number; onProgress?: (progress: QueryProgress) => void }): Promise<QueryOutcome> {
    // protocol.md §13: refuse a query past the limits here, before anything recursive (JSON
    // canonicalisation, the planner) walks a filter deep enough to overflow the stack.
    checkQueryLimits(query);
    const progress = options.onProgress ?? (() => {});
    progress({ phase: 'tokens' });
    const { purpose, tokens } = options.tokens ? { purpose: options.purpose ?? 'DUO:0000006', tokens: options.tokens } : await this.tokensFor(query, options.identity, options.purpose);
    // With no token to bind there is nothing to prove: the hub will say which token is missing.
    // spec/protocol.md §9.1: the proof signs the whole request — query, key, purpose, ρ,
    // participants and tokens — so no hub can change what the institutions compute. If the
    // hub finds the statement stale (the catalog's ρ or membership changed), sign it once more
    // against a fresh catalog.
    // draft-ietf-httpapi-idempotency-key-header: one key per query, kept across retries (a new
    // one only when the request itself changes), so a retry is answered with the stored outcome.
    let idempotencyKey = globalThis.crypto.randomUUID();
    const send = async (refresh: boolean) => {
      if (refresh) idempotencyKey = globalThis.crypto.randomUUID();
      progress({ phase: 'signing' });
      const { participants, rho, threshold } = await this.#statementTerms(query, options.rho, refresh, options.threshold);
      const body = { keyId: options.keys.keyId, query, purpose, tokens, ...(rho > 0 ? { rho } : {}), ...(threshold < participants.length ? { threshold } : {}) };
      const dpop = tokens.length ? await createQueryProof({ identity: options.identity, htu: `${this.#baseUrl}/v1/queries`, request: body, participants }) : undefined;
      progress({ phase: 'fan-out', nodes: participants });
      // With a progress callback, watch a progress channel while the hub fans out; the stream
      // is advisory — if it fails, the query still runs.
      const watching = options.onProgress ? this.#watchProgress(progress) : undefined;
      const headers: Record<string, string> = {
        'Idempotency-Key': `"${idempotencyKey}"`, ...(dpop ? { DPoP: dpop } : {}), ...(watching ? { 'Veilgate-Progress': watching.channel } : {}),
      };
      return this.api
        .POST('/v1/queries', { body, headers })
        .then(unwrap)
        .finally(() => watching?.stop());
    };
    // Sending again under the same key is safe whatever happened to the first attempt: the hub
    // answers a retry from storage (never fanned out or charged twice). Each attempt signs a
    // new proof: a DPoP jti is single-use.
    const started = Date.now();
    const sendRetrying = async (refresh: boolean) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await send(refresh && attempt === 0);
        } catch (err) {
          const retriable = err instanceof NetworkError || (err instanceof ApiError && err.code === 'idempotency_in_progress');
          if (!retriable || Date.now() - started > QUERY_RETRY_WINDOW_MS) throw err;
          await new Promise((resolve) => setTimeout(resolve, err instanceof ApiError ? 1000 : backoffMs(Math.min(attempt, 4), 250, 5000)));
        }
      }
    };
    const result = await sendRetrying(false).catch((err: unknown) => {
      if (err instanceof ApiError && err.code === 'statement_mismatch' && err.field === 'DPoP') return sendRetrying(true);
      throw err;
    });
    const catalog = await this.catalog();
    const he = await loadHe();
    let rowBound = 0n;
    for (const id of query.datasets) {
      const d = catalog.datasets.find((x) => x.id === id) ?? (await this.catalog({ refresh: true })).datasets.find((x) => x.id === id);
      if (!d) throw new ResultVerificationError('plan_mismatch', `dataset ${id} is not in the catalog`);
      rowBound += BigInt(d.maxRows);
    }
    // With differential privacy on (the query spent ρ), slots keep room for the noise.
    const privacy = result.cost.rho > 0 ? { privacy: { headroom: NOISE_HEADROOM } } : {};
    const expected = planQuery(query, { elements: catalog.elements, rowBound, plainModulus: he.plainModulus, slotCount: he.slotCount, ...privacy });
    if (canonicalSha256(expected) !== canonicalSha256(result.plan) || canonicalSha256(query) !== canonicalSha256(result.query)) {
      throw new ResultVerificationError('plan_mismatch', 'the hub answered with a plan or query other than the one asked for');
    }
    const ciphertexts = result.ciphertexts.map(fromBase64);
    // DESIGN §9: the result is only as good as its place in the log — check the receipt.
    progress({ phase: 'verifying' });
    if (this.#verifyReceipts) verifyQueryReceipt(result.receipt, { queryId: result.queryId, ciphertexts }, await this.logIdentity());
    const slots: BigUint64Array[] = [];
    for (const ct of ciphertexts) {
      progress({ phase: 'decrypting', done: slots.length, total: ciphertexts.length });
      slots.push(await decryptSlots(options.keys.secretKey, ct));
    }
    progress({ phase: 'done' });
    return {
      queryId: result.queryId,
      groups: decodeResult(query, result.plan, slots, result.suppressed),
      plan: result.plan,
      contributions: result.contributions,
      suppressed: result.suppressed,
      missing: result.missing ?? [],
      timings: result.timings,
      receipt: result.receipt,
      cost: result.cost,
    };
  }
}
