/**
 * A node's share of a query (DESIGN §4 step 5, spec/protocol.md §4–6): re-plan and compare,
 * run the aggregate in DuckDB, leave out groups below the minimum cell size, copy the
 * integers into slots, encrypt under the researcher's key, sign the digest.
 */
import {
  NOISE_HEADROOM, addMask, canonicalSha256, contributionDigest, deriveMask, elementsOfQuery, fromBase64Url, encodeContribution, encryptSlots, loadHe, planQuery,
  sha256Hex, type ComputeRequestBody, type ContributionClaims, type DataElement, type LeftOut,
} from '@veilgate/sdk';
import type { PublicKey } from 'node-seal';
import { GatewayError } from '../errors.ts';
import { compileAggregate } from '../datasets/aggregate-sql.ts';
import type { DatasetEngine, LoadedDataset } from '../datasets/duckdb-dataset.ts';
import { signMessage } from '../crypto/ed25519.ts';
import { addNoiseShare } from './dp-noise.ts';

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
}

function applyMasks(ctx: ComputeContext, request: ComputeRequestBody, slots: BigUint64Array[], t: bigint): BigUint64Array[] {
  const self = request.participants.find((p) => p.node === ctx.nodeId);
  if (!self || self.maskKey !== ctx.maskKey) {
    throw new GatewayError('invalid_request', 'participants: this node is not listed with its own mask key', { field: 'participants' });
  }
  const peers = request.participants.filter((p) => p.node !== ctx.nodeId).map((p) => ({ id: p.node, publicKey: fromBase64Url(p.maskKey) }));
  const ids = request.participants.map((p) => p.node);
  // Only the slots the plan uses carry data; the rest are zero in every contribution and
  // need no mask (protocol.md §10). A small query masks dozens of slots, not 8192.
  const used = request.plan.groupCount * request.plan.columns.length;
  return slots.map((vector, ciphertextIndex) => {
    const n = Math.min(vector.length, used - ciphertextIndex * vector.length);
    const mask = deriveMask({ self: ctx.nodeId, secretKey: ctx.maskSecret, peers, queryId: request.queryId, participants: ids, ciphertextIndex, slots: n, plainModulus: t });
    const out = new BigUint64Array(vector);
    out.set(addMask(vector.subarray(0, n), mask, t), 0);
    return out;
  });
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
  const plan = planQuery(request.query, {
    elements: ctx.dictionary, rowBound, plainModulus: t, slotCount: he.slotCount, ...(dp ? { privacy: { headroom: NOISE_HEADROOM } } : {}),
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

  const slots = Array.from({ length: plan.ciphertextCount }, () => new BigUint64Array(he.slotCount));
  const width = plan.columns.length;
  const suppressed: LeftOut[] = [];
  for (const dataset of datasets) {
    const { sql, params } = compileAggregate(request.query, plan, dataset.table, { dataset: dataset.config.id, purpose: consent.purpose });
    const rows = await ctx.engine.query(sql, params);
    const total = rows.reduce((n, row) => n + Number(row.c0), 0);
    // DataSHIELD nfilter.subset: a filtered subset below the minimum contributes nothing.
    const subsetTooSmall = total > 0 && total < (dataset.config.minSubsetSize ?? 3);
    for (const row of rows) {
      const g = Number(row.g);
      const count = BigInt(row.c0 as bigint | number);
      if (subsetTooSmall && count > 0n) {
        suppressed.push({ group: g, dataset: dataset.config.id });
        continue;
      }
      // DataSHIELD nfilter.tab (DESIGN §6): a group with 0 < n < minCellSize is left out
      // whole and reported as left out, never as its small count.
      if (count > 0n && count < BigInt(dataset.minCellSize)) {
        suppressed.push({ group: g, dataset: dataset.config.id });
        continue;
      }
      for (let c = 0; c < width; c++) {
        const index = g * width + c;
        const vector = slots[Math.floor(index / he.slotCount)]!;
        const at = index % he.slotCount;
        const value = BigInt((row[`c${c}`] as bigint | number | null) ?? 0);
        vector[at] = (vector[at]! + value) % t;
      }
    }
  }
  if (dp) addNoiseShare(plan, slots, { rho: request.rho, participants: request.participants.length, plainModulus: t, headroom: NOISE_HEADROOM });
  // Pairwise masks (protocol.md §10, Bonawitz et al. 2017 §4): the masks of all participants
  // cancel in the sum, so each contribution alone decrypts to uniformly random slots.
  const masked = request.participants.length > 1 ? applyMasks(ctx, request, slots, t) : slots;
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
  return { envelope: encodeContribution({ ...claims, signature }, ciphertexts), claims };
}
