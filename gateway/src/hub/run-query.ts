/**
 * A query at the hub (DESIGN §4): check the key and the catalog, plan the slots, record the
 * query, fan out, add the verified ciphertexts, record the outcome. The hub handles only
 * ciphertexts, hashes and the plan; no plaintext aggregate ever exists here.
 */
import { randomBytes } from 'node:crypto';
import {
  NOISE_HEADROOM, addCiphertexts, canonicalSha256, elementsOfQuery, loadHe, queryStatement, queryStatementDigest, resultDigest, thresholdProblem, planQuery, toBase64, toBase64Url,
  type ComputeRequestBody, type DataElement, type DatasetSummary, type Query, type QueryResultBody, type SlotPlan, type components,
} from '@veilgate/sdk';
import { ConsentError, VeilgateError } from '@veilgate/sdk';
import { GatewayError, STATUS_OF } from '../errors.ts';
import type { AccountRow, ErrorCode, StateStore } from '../store/state-store.ts';
import type { CatalogSnapshot, CatalogSource, NodeRegistration } from './catalog.ts';
import { fanOut } from './fan-out.ts';
import { collectContributions, unmaskSum } from './secure-aggregation.ts';
import type { QueryProgressEvent } from './progress-bus.ts';
import { admitQuery } from './query-admission.ts';
import { costOf, priceQuery, type QueryCost } from './pricing.ts';
import type { JwksCache } from './jwks-cache.ts';

type QueryRequestBody = components['schemas']['QueryRequest'];

/** What running a query needs. */
export interface QueryDeps {
  hubId: string;
  hubSigningKey: string;
  store: StateStore;
  catalog: CatalogSource;
  nodes: () => NodeRegistration[];
  dictionary: DataElement[];
  fanOutTimeoutMs: number;
  log: (line: string) => void;
  /** Called after the log grew (the hub then asks its witnesses to co-sign). */
  onLogged?: () => void;
  jwks: JwksCache;
  /** DPoP jti replay check (true = seen before). */
  seenDpop: (jti: string, expiresAt: number) => boolean;
  /** Per-grant rate limit: throws `rate_limited` (429, Retry-After) when a grant is used too often. */
  rateLimit?: (jtis: string[]) => void;
}

/** A receipt for log entry `index`: the entry, its inclusion proof, a signed checkpoint. */
export async function receiptFor(store: StateStore, index: number): Promise<QueryResultBody['receipt']> {
  // The checkpoint committed with the entry (signed in the same transaction, size index + 1);
  // the latest one if that size was never checkpointed (it then covers the entry too).
  const checkpoint = (await store.audit.checkpointAt(index + 1)) ?? (await store.audit.latestCheckpoint());
  const entry = await store.audit.entry(index);
  const proof = await store.audit.inclusionProof(index, checkpoint.size);
  return { index, entry: entry!.entry, treeSize: checkpoint.size, proof: proof.map(toBase64), checkpoint: checkpoint.note };
}

/** A query checked against the key registry and the catalog, and planned. */
interface Prepared {
  datasets: DatasetSummary[];
  plan: SlotPlan;
  maskKeys: CatalogSnapshot['maskKeys'];
}

/** Key, catalog, plan: everything about a query that needs no consent yet. */
async function prepareQuery(deps: QueryDeps, account: AccountRow, request: { keyId: string; query: Query }, options: { checkKey?: boolean } = {}): Promise<Prepared> {
  const key = await deps.store.getHeKey(request.keyId);
  if ((options.checkKey ?? true) && (!key || key.accountId !== account.id)) {
    throw new GatewayError('unknown_key', `keyId: no key ${request.keyId} is registered to this account`, { field: 'keyId' });
  }
  const { query } = request;
  let catalog = await deps.catalog.get();
  if (query.datasets.some((id) => !catalog.datasets.has(id))) catalog = await deps.catalog.get({ refresh: true });
  const datasets = query.datasets.map((id, i) => {
    const d = catalog.datasets.get(id);
    if (!d) {
      const down = catalog.unavailable.length ? ` (unavailable nodes: ${catalog.unavailable.join(', ')})` : '';
      throw new GatewayError('unknown_dataset', `query.datasets[${i}]: no dataset '${id}' in the catalog${down}`, { field: `query.datasets[${i}]` });
    }
    // DESIGN §6: core (核心) datasets are listed but never computed on.
    if (!d.queryable) throw new GatewayError('dataset_not_queryable', `query.datasets[${i}]: '${id}' is classified core (核心) and is never computed on`, { field: `query.datasets[${i}]` });
    return d;
  });
  const he = await loadHe();
  const rowBound = datasets.reduce((n, d) => n + BigInt(d.maxRows), 0n);
  const dp = datasets.some((d) => d.differentialPrivacy);
  const plan = planQuery(query, {
    elements: deps.dictionary, rowBound, plainModulus: he.plainModulus, slotCount: he.slotCount, ...(dp ? { privacy: { headroom: NOISE_HEADROOM } } : {}),
  });
  const needed = elementsOfQuery(query);
  datasets.forEach((d, i) => {
    const missing = needed.find((e) => !d.elements.includes(e));
    if (missing) {
      throw new GatewayError('element_not_in_dataset', `query.datasets[${i}]: dataset '${d.id}' does not provide element '${missing}'`, { field: `query.datasets[${i}]` });
    }
  });
  return { datasets, plan, maskKeys: catalog.maskKeys };
}

/**
 * What a query costs and what would be left (`POST /v1/queries/estimate`): no proof needed,
 * nothing reserved. The tokens are still verified, since they carry the budgets.
 *
 * @example
 * const cost = await estimateQuery(deps, account, request);
 */
export async function estimateQuery(deps: QueryDeps, account: AccountRow, request: QueryRequestBody): Promise<QueryCost> {
  const { datasets } = await prepareQuery(deps, account, request, { checkKey: false });
  const admission = await admitQuery(
    { store: deps.store, jwks: deps.jwks, hubId: deps.hubId, nodes: deps.nodes, seen: deps.seenDpop },
    account, request, datasets, undefined, '', { requireProof: false },
  );
  const charge = priceQuery(deps.store, datasets, [...admission.tokens.values()], request.rho);
  return costOf(deps.store, account.id, charge, 'estimate');
}

/**
 * Runs a researcher's query end to end and returns the encrypted result.
 *
 * @example
 * const result = await runQuery(deps, account, { keyId, query, purpose, tokens }, { dpop, htu });
 *
 * With `idempotencyKey` the key is claimed with the acceptance and the outcome kept for
 * retries (protocol.md §11.1; the route answers a retry before calling this).
 */
export async function runQuery(
  deps: QueryDeps,
  account: AccountRow,
  request: QueryRequestBody,
  proof: { dpop: string | undefined; htu: string },
  progress: (event: QueryProgressEvent) => void = () => {},
  idempotencyKey?: string,
): Promise<QueryResultBody> {
  const started = performance.now();
  const { query } = request;
  const { datasets, plan, maskKeys } = await prepareQuery(deps, account, request);
  // Invariant 2: no query runs without a valid, unrevoked, in-scope token for every dataset.
  const admission = await admitQuery(
    { store: deps.store, jwks: deps.jwks, hubId: deps.hubId, nodes: deps.nodes, seen: deps.seenDpop },
    account,
    request,
    datasets,
    proof.dpop,
    proof.htu,
  );
  deps.rateLimit?.([...admission.tokens.values()].map((t) => t.jti));
  const charge = priceQuery(deps.store, datasets, [...admission.tokens.values()], request.rho);
  const queryId = `q_${toBase64Url(randomBytes(16))}`;
  const planSha256 = canonicalSha256(plan);
  const nodesOfQuery = [...new Set(datasets.map((d) => d.node))];
  // protocol.md §9.1: the researcher signed the whole request. Check it here, before anything
  // is reserved, with the ρ and participants the hub would send: a researcher whose view of
  // the catalog is stale re-signs (every node checks the same statement again).
  // protocol.md §10.1: the signed dropout threshold (absent: everyone must answer), never below the floor.
  const threshold = request.threshold ?? nodesOfQuery.length;
  const thresholdIssue = thresholdProblem(nodesOfQuery.length, threshold);
  if (thresholdIssue) throw new GatewayError('invalid_request', `threshold: ${thresholdIssue}`, { field: 'threshold' });
  const tolerant = threshold < nodesOfQuery.length;
  const statement = queryStatement({ keyId: request.keyId, query, purpose: request.purpose, rho: charge.rho, participants: nodesOfQuery, tokenDigests: admission.tokenDigests, threshold });
  if (admission.requestDigest !== queryStatementDigest(statement)) {
    throw new GatewayError('statement_mismatch', `DPoP: the signed request statement does not match this request (ρ = ${charge.rho}, institutions ${[...nodesOfQuery].sort().join(', ')})`, { field: 'DPoP' });
  }
  // DESIGN §4 step 4: the query is accepted — and logged — before any node is asked.
  await deps.store.insertQuery(
    { id: queryId, accountId: account.id, keyId: request.keyId, datasets: query.datasets, requestSha256: canonicalSha256(request), createdAt: new Date().toISOString() },
    { planSha256, nodes: nodesOfQuery, purpose: request.purpose, tokens: [...admission.tokens.values()] },
    charge,
    idempotencyKey,
  );
  try {
    progress({ type: 'accepted', queryId, nodes: nodesOfQuery });
    const byNode = new Map<string, string[]>();
    for (const d of datasets) byNode.set(d.node, [...(byNode.get(d.node) ?? []), d.id]);
    const registry = new Map(deps.nodes().map((n) => [n.id, n]));
    const issuedAt = Date.now();
    // Pairwise masks (protocol.md §10): every participant learns the others' mask keys.
    const participants = [...byNode.keys()].map((node) => ({
      node, maskKey: maskKeys.get(node)?.maskKey ?? '', maskKeySignature: maskKeys.get(node)?.maskKeySignature ?? '', signingKey: registry.get(node)?.signingKey ?? '',
    }));
    const requests = [...byNode].map(([nodeId, ids]) => {
      const node = registry.get(nodeId);
      if (!node) throw new GatewayError('node_unavailable', `node ${nodeId} is not registered with this hub`, { node: nodeId });
      const body: ComputeRequestBody = {
        queryId, issuedAt, hub: deps.hubId, keyId: request.keyId, datasets: ids, query, plan, purpose: request.purpose,
        token: admission.tokens.get(nodeId)!.token, dpop: admission.dpop, tokenDigests: admission.tokenDigests, account: account.id,
        rho: charge.rho, participants, ...(tolerant ? { threshold } : {}),
      };
      return { node, body };
    });
    const fanOutStart = performance.now();
    let contributed = 0;
    const fanOutOptions = {
      hubSigningKey: deps.hubSigningKey, planSha256, plan, timeoutMs: deps.fanOutTimeoutMs,
      onContribution: (node: string, ms: number) => progress({ type: 'contributed', node, ms: Math.round(ms), done: ++contributed, total: requests.length }),
    };
    // Under a dropout threshold a failing node is dropped, not fatal (secure-aggregation.ts).
    const { contributions, dropped } = tolerant
      ? await collectContributions(requests, { ...fanOutOptions, threshold })
      : { contributions: await fanOut(requests, fanOutOptions), dropped: [] };
    const missing = dropped.map((d) => d.node).sort();
    progress({ type: 'combining' });
    const combineStart = performance.now();
    const ciphertexts: Uint8Array[] = [];
    for (let i = 0; i < plan.ciphertextCount; i++) {
      try {
        ciphertexts.push(await addCiphertexts(contributions.map((c) => c.ciphertexts[i]!)));
      } catch (cause) {
        // Find the culprit so the error names it: load each node's ciphertext alone.
        for (const c of contributions) {
          await addCiphertexts([c.ciphertexts[i]!]).catch(() => {
            throw new GatewayError('node_ciphertext_invalid', `node ${c.node} sent a ciphertext that is not valid under the protocol parameters`, { node: c.node, cause });
          });
        }
        throw cause;
      }
    }
    if (tolerant) {
      // protocol.md §10.1: remove the self masks and the dropped nodes' pads from the encrypted sum.
      const unmasked = await unmaskSum(ciphertexts, { queryId, plan, threshold, contributions, dropped: missing, registry, hubSigningKey: deps.hubSigningKey, timeoutMs: deps.fanOutTimeoutMs });
      ciphertexts.splice(0, ciphertexts.length, ...unmasked);
    }
    const resultSha256 = resultDigest(ciphertexts);
    const suppressed = contributions.flatMap((c) => c.header.suppressed.map((s) => ({ group: s.group, node: c.node, dataset: s.dataset })));
    const answer = {
      queryId,
      keyId: request.keyId,
      query,
      plan,
      ciphertexts: ciphertexts.map(toBase64),
      contributions: contributions.map((c) => ({
        node: c.node,
        datasets: c.header.datasets,
        ciphertextSha256: c.header.ciphertextSha256,
        signature: c.header.signature,
        bytes: c.bytes,
      })),
      suppressed,
      ...(missing.length ? { missing } : {}),
      timings: { totalMs: performance.now() - started, fanOutMs: combineStart - fanOutStart, combineMs: performance.now() - combineStart },
    };
    let cost: QueryResultBody['cost'] | undefined;
    const endedIndex = await deps.store.finishQuery(
      queryId,
      {
        status: 'completed',
        resultSha256,
        contributions: contributions.map((c) => ({ node: c.node, datasets: c.header.datasets, ciphertextSha256: c.header.ciphertextSha256, signature: c.header.signature })),
        groupsLeftOut: suppressed.length,
      },
      // Kept for a retry under the idempotency key, in the outcome's transaction; the receipt
      // is rebuilt from the log on replay (hub/idempotency.ts).
      () => ({ status: 200, body: { ...answer, cost: (cost = costOf(deps.store, account.id, charge, 'after')) } }),
    );
    const receipt = await receiptFor(deps.store, endedIndex!);
    deps.onLogged?.();
    progress({ type: 'completed', index: endedIndex! });
    deps.log(`query ${queryId} completed: nodes=${contributions.length}${missing.length ? ` missing=${missing.join(',')}` : ''} ciphertexts=${ciphertexts.length} log_index=${endedIndex} ms=${(performance.now() - started).toFixed(1)}`);
    return { ...answer, receipt, cost: cost ?? costOf(deps.store, account.id, charge, 'after') };
  } catch (err) {
    const code = err instanceof GatewayError ? err.code : err instanceof ConsentError && err.code in STATUS_OF ? err.code : 'internal';
    const node = err instanceof GatewayError ? err.node : undefined;
    // The error a retry under the same idempotency key gets: what the error middleware answers.
    const known = err instanceof VeilgateError || err instanceof ConsentError ? err : undefined;
    const body = known && known.code in STATUS_OF
      ? { code: known.code, message: known.message, ...(known.field !== undefined ? { field: known.field } : {}), ...(node ? { node } : {}) }
      : { code: 'internal', message: 'internal error' };
    await deps.store.finishQuery(queryId, { status: 'failed', errorCode: code as ErrorCode, ...(node ? { node } : {}) }, () => ({ status: STATUS_OF[body.code as ErrorCode], body }));
    deps.onLogged?.();
    deps.log(`query ${queryId} failed: ${code}${err instanceof GatewayError && err.node ? ` node=${err.node}` : ''}`);
    throw err;
  }
}
