/**
 * The researcher-facing client. `api` is the typed low-level client (openapi-fetch over
 * spec/openapi.yaml: `{ data, error, response }`); the methods are high-level helpers that
 * throw `ApiError` with the server's stable code. `query` checks the hub's plan by
 * re-planning, decrypts locally (the secret key never leaves this process or page) and
 * decodes typed per-group results.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './generated/openapi.ts';
import { ApiError, ResultVerificationError } from './errors.ts';
import { decryptSlots } from './he/cipher.ts';
import type { HeKeyPair } from './he/keys.ts';
import { loadHe } from './he/params.ts';
import { fromBase64, toBase64 } from './internal/bytes.ts';
import { canonicalSha256 } from './protocol/canonical.ts';
import { decodeResult, type GroupResult } from './protocol/decode.ts';
import { planQuery } from './protocol/plan.ts';
import type { Query } from './protocol/query.ts';
import { verifyLog, verifyQueryReceipt, verifyTrace, type LogIdentity, type LogSource, type LogVerification } from './audit.ts';

type S = components['schemas'];

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
}

/** A decrypted, decoded query result. */
export interface QueryOutcome {
  queryId: string;
  groups: GroupResult[];
  plan: S['SlotPlan'];
  contributions: S['Contribution'][];
  suppressed: S['Suppression'][];
  timings: S['QueryResult']['timings'];
  /** The result's place in the hub's audit log, verified unless `verifyReceipts` is false. */
  receipt: S['Receipt'];
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
  readonly #verifyReceipts: boolean;

  constructor(options: VeilgateClientOptions) {
    if (options.log) this.#log = Promise.resolve(options.log);
    this.#verifyReceipts = options.verifyReceipts ?? true;
    this.api = createClient<paths>({
      baseUrl: options.baseUrl.replace(/\/$/, ''),
      ...(options.apiKey ? { headers: { Authorization: `Bearer ${options.apiKey}` } } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
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
    const trace = unwrap(await this.api.GET('/v1/audit/trace/{entry}', { params: { path: { entry: String(entry) } } }));
    verifyTrace(trace, await this.logIdentity());
    return trace;
  }

  /**
   * Verifies the hub's whole log (auditors): every entry against its leaf, the signed root,
   * witnesses, and — given a saved checkpoint — that the log only grew.
   */
  async verifyLog(options: { trusted?: { size: number; root: string }; pageSize?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<LogVerification> {
    const source: LogSource = {
      checkpoint: () => this.checkpoint(),
      entries: async (start, limit) => unwrap(await this.api.GET('/v1/audit/entries', { params: { query: { start: String(start), limit: String(limit) } } })),
      consistency: async (from, to) => unwrap(await this.api.GET('/v1/audit/proof/consistency', { params: { query: { from: String(from), to: String(to) } } })),
    };
    return verifyLog(source, { log: await this.logIdentity(), ...options });
  }

  /** `POST /v1/keys`: registers the public half of a BFV key pair. */
  async registerKey(keys: Pick<HeKeyPair, 'publicKey'>): Promise<S['HeKey']> {
    return unwrap(await this.api.POST('/v1/keys', { body: { publicKey: toBase64(keys.publicKey) } }));
  }

  /**
   * Runs a query and returns decrypted per-group results. The hub's plan is checked by
   * re-planning the same query against the catalog (a hub cannot change what the slots
   * mean), and the echoed query must be the one sent.
   */
  async query(query: Query, options: { keys: HeKeyPair }): Promise<QueryOutcome> {
    const result = unwrap(await this.api.POST('/v1/queries', { body: { keyId: options.keys.keyId, query } }));
    const catalog = await this.catalog();
    const he = await loadHe();
    let rowBound = 0n;
    for (const id of query.datasets) {
      const d = catalog.datasets.find((x) => x.id === id) ?? (await this.catalog({ refresh: true })).datasets.find((x) => x.id === id);
      if (!d) throw new ResultVerificationError('plan_mismatch', `dataset ${id} is not in the catalog`);
      rowBound += BigInt(d.maxRows);
    }
    const expected = planQuery(query, { elements: catalog.elements, rowBound, plainModulus: he.plainModulus, slotCount: he.slotCount });
    if (canonicalSha256(expected) !== canonicalSha256(result.plan) || canonicalSha256(query) !== canonicalSha256(result.query)) {
      throw new ResultVerificationError('plan_mismatch', 'the hub answered with a plan or query other than the one asked for');
    }
    const ciphertexts = result.ciphertexts.map(fromBase64);
    // DESIGN §9: the result is only as good as its place in the log — check the receipt.
    if (this.#verifyReceipts) verifyQueryReceipt(result.receipt, { queryId: result.queryId, ciphertexts }, await this.logIdentity());
    const slots: BigUint64Array[] = [];
    for (const ct of ciphertexts) slots.push(await decryptSlots(options.keys.secretKey, ct));
    return {
      queryId: result.queryId,
      groups: decodeResult(query, result.plan, slots, result.suppressed),
      plan: result.plan,
      contributions: result.contributions,
      suppressed: result.suppressed,
      timings: result.timings,
      receipt: result.receipt,
    };
  }
}
