/**
 * A node's share of a query (DESIGN §4 step 5, spec/protocol.md §4–6): re-plan and compare,
 * run the aggregate in DuckDB, hand the integers to the release gate (release-gate.ts: cell
 * sizes, cell-key perturbation or DP noise, masks), encrypt under the researcher's key, sign.
 */
import {
  NOISE_HEADROOM, canonicalSha256, contributionDigest, elementsOfQuery, encodeContribution, encryptSlots, loadHe, planQuery,
  sha256Hex, type ComputeRequestBody, type ContributionClaims, type DataElement,
} from '@veilgate/sdk';
import type { PublicKey } from 'node-seal';
import { GatewayError } from '../errors.ts';
import { compileAggregate } from '../datasets/aggregate-sql.ts';
import type { DatasetEngine, LoadedDataset } from '../datasets/duckdb-dataset.ts';
import { signMessage } from '../crypto/ed25519.ts';
import { cellKeyOf, cellKeySecretOf, ensureRecordKeys } from './cell-key.ts';
import { releaseContribution, statisticsOfPlan, type DatasetAggregates, type ReleaseRequest } from './release-gate.ts';

/** What a node computes with. */
export interface ComputeContext {
  nodeId: string;
  signingKey: string;
  engine: DatasetEngine;
  dictionary: DataElement[];
  /** Resolves a registered public key by id (fetched from the hub, verified, cached). */
  publicKey(keyId: string): Promise<PublicKey>;
  log(line: string): void;
  /** The node's X25519 mask key (secret) and its public half (base64url). */
  maskSecret: Uint8Array;
  maskKey: string;
  /** Whether differential privacy is on for a dataset (operator override or configuration). */
  differentialPrivacy: (dataset: LoadedDataset) => boolean;
  /** The node ledger's charge (budget, quota, ρ ceiling), run by the release gate before anything is released. */
  charge?: ReleaseRequest['charge'];
}

const cellKeySecrets = new Map<string, Uint8Array>();

/** The dataset's DP-off disclosure policy: the cell-key method unless the operator chose exact mode. */
function cellKeyOn(dataset: LoadedDataset): boolean {
  return dataset.config.disclosure?.cellKey ?? true;
}

function requireDatasets(ctx: ComputeContext, request: ComputeRequestBody): LoadedDataset[] {
  const needed = elementsOfQuery(request.query);
  return request.datasets.map((id, i) => {
    const dataset = ctx.engine.datasets.get(id);
    if (!dataset) throw new GatewayError('unknown_dataset', `datasets[${i}]: this node holds no dataset '${id}'`, { field: `datasets[${i}]` });
    const missing = needed.find((e) => !(e in dataset.config.elements));
    if (missing) throw new GatewayError('element_not_in_dataset', `dataset '${id}' does not provide element '${missing}'`, { field: `datasets[${i}]` });
    return dataset;
  });
}

/**
 * Computes, encrypts and signs this node's contribution; returns the wire envelope.
 *
 * @example
 * const { envelope } = await computeContribution(ctx, request, { purpose: 'DUO:0000006' });
 */
export async function computeContribution(ctx: ComputeContext, request: ComputeRequestBody, consent: { purpose: string }): Promise<{ envelope: Uint8Array; claims: ContributionClaims }> {
  const he = await loadHe();
  const datasets = requireDatasets(ctx, request);
  const t = he.plainModulus;
  // The node trusts no plan it did not derive itself: a hub could otherwise widen a slot
  // past t (wrap-around leaks nothing but corrupts results) or smuggle SQL through codes.
  const rowBound = BigInt(request.plan.rowBound);
  const ownRows = datasets.reduce((n, d) => n + BigInt(d.maxRows), 0n);
  if (ownRows > rowBound) {
    throw new GatewayError('row_bound_exceeded', `plan.rowBound is below this node's declared rows for the datasets`, { field: 'plan.rowBound' });
  }
  // DESIGN §6: differential privacy is on unless every dataset's operator switched it off.
  const dp = datasets.some((d) => ctx.differentialPrivacy(d));
  if (dp && !(request.rho > 0)) {
    throw new GatewayError('invalid_request', 'rho: differential privacy is on for these datasets; the query must spend privacy budget', { field: 'rho' });
  }
  // The layout follows the signed ρ (protocol.md §10): a query that spends ρ anywhere keeps
  // noise headroom in every slot, so a node whose own datasets have DP off plans the same
  // slots as the others (it adds no noise and charges nothing).
  const plan = planQuery(request.query, {
    elements: ctx.dictionary, rowBound, plainModulus: t, slotCount: he.slotCount, ...(dp || request.rho > 0 ? { privacy: { headroom: NOISE_HEADROOM } } : {}),
  });
  const planSha256 = canonicalSha256(plan);
  if (planSha256 !== canonicalSha256(request.plan)) {
    throw new GatewayError('invalid_request', 'plan does not match the query under this node\'s dictionary and parameters', { field: 'plan' });
  }
  const publicKey = await ctx.publicKey(request.keyId);
  // DataSHIELD nfilter.levels: refuse a grouping with more groups than this share of a
  // dataset's rows (many groups over few rows approach row-level release).
  for (const dataset of datasets) {
    const ratio = dataset.config.maxLevelsRatio ?? 0.33;
    if (plan.groupings.length > 0 && plan.groupCount > ratio * dataset.rowCount) {
      throw new GatewayError('disclosure_control', `nfilter.levels: ${plan.groupCount} groups exceed ${ratio} of ${dataset.config.id}'s rows`, { field: 'query.groupBy' });
    }
  }
  const sqlStart = performance.now();
  const aggregates: DatasetAggregates[] = [];
  for (const dataset of datasets) {
    // The cell-key method (protocol.md §10) applies without DP; under DP the noise protects.
    const cellKeys = !dp && cellKeyOn(dataset);
    if (cellKeys) {
      let secret = cellKeySecrets.get(ctx.signingKey);
      if (!secret) cellKeySecrets.set(ctx.signingKey, (secret = cellKeySecretOf(ctx.signingKey)));
      await ensureRecordKeys(ctx.engine, dataset, secret);
    }
    const { sql, params } = compileAggregate(request.query, plan, dataset.table, { dataset: dataset.config.id, purpose: consent.purpose }, { cellKeys });
    const rows = await ctx.engine.query(sql, params);
    aggregates.push({
      dataset: dataset.config.id,
      policy: { minCellSize: dataset.minCellSize, minSubsetSize: dataset.config.minSubsetSize ?? 3, cellKey: cellKeys, maxRows: BigInt(dataset.maxRows) },
      groups: rows.map((row) => ({
        group: Number(row.g),
        values: plan.columns.map((_, c) => BigInt((row[`c${c}`] as bigint | number | null) ?? 0)),
        ...(cellKeys ? { cellKeys: plan.columns.map((_, c) => cellKeyOf(row[`k${c}`])) } : {}),
      })),
    });
  }
  // The release gate (protocol.md §5): the only path from aggregates to slots.
  const { slots: masked, suppressed, seedShares } = await releaseContribution({
    layout: { groupCount: plan.groupCount, width: plan.columns.length, slotsPerCiphertext: he.slotCount, ciphertextCount: plan.ciphertextCount },
    statistics: statisticsOfPlan(plan),
    rowsStatistic: 0,
    datasets: aggregates,
    plainModulus: t,
    privacy: dp ? { rho: request.rho, headroom: NOISE_HEADROOM } : null,
    masking: { self: ctx.nodeId, maskSecret: ctx.maskSecret, maskKey: ctx.maskKey, queryId: request.queryId, participants: request.participants, ...(request.threshold === undefined ? {} : { threshold: request.threshold }) },
    ...(ctx.charge ? { charge: ctx.charge } : {}),
  });
  const encryptStart = performance.now();
  const ciphertexts: Uint8Array[] = [];
  for (const vector of masked) ciphertexts.push(await encryptSlots(publicKey, vector));
  const claims: ContributionClaims = {
    v: 1,
    queryId: request.queryId,
    node: ctx.nodeId,
    datasets: request.datasets,
    keyId: request.keyId,
    planSha256,
    ciphertextSha256: ciphertexts.map(sha256Hex),
    suppressed,
  };
  const signature = signMessage(ctx.signingKey, contributionDigest(claims));
  const sqlMs = (encryptStart - sqlStart).toFixed(1);
  const encryptMs = (performance.now() - encryptStart).toFixed(1);
  ctx.log(`computed query=${request.queryId} datasets=${request.datasets.join(',')} ciphertexts=${ciphertexts.length} groups_left_out=${suppressed.length} sql_ms=${sqlMs} encrypt_ms=${encryptMs}`);
  // protocol.md §10.1: the sealed seed shares ride in the header, outside the signed claims —
  // ChaCha20-Poly1305 authenticates each to its recipient, so the hub can drop one but not forge one.
  const header = { ...claims, signature, ...(seedShares ? { seedShares } : {}) };
  return { envelope: encodeContribution(header, ciphertexts), claims };
}
