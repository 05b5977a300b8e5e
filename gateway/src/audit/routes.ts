/**
 * The audit routes shared by hub and node (spec `getCheckpoint`, `getInclusionProof`,
 * `getConsistencyProof`, `listAuditEntries`): checkpoints and proofs are public (hashes
 * only); entries are guarded by the caller's choice (auditors at the hub, public at a node).
 */
import type { RequestHandler, Router } from 'express';
import { fromBase64Url, toBase64 } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import { mountOperation, type SecurityHandlers } from '../http/openapi.ts';
import type { SignedLog } from './signed-log.ts';

/** A witness as listed with a checkpoint. */
export interface WitnessInfo {
  node: string;
  signingKey: string;
}

function intParam(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new GatewayError('invalid_request', `${field} must be a non-negative integer`, { field });
  return n;
}

/**
 * Mounts the audit routes of one log.
 *
 * @example
 * mountAuditRoutes(app, store.audit, { witnesses: () => [], quorum: 0, entries: { security, guards: [requireRole('auditor')] } });
 */
export function mountAuditRoutes(
  router: Router,
  log: SignedLog,
  options: { witnesses: () => WitnessInfo[]; quorum: () => number; entries: { security: SecurityHandlers; guards: RequestHandler[] } },
): void {
  mountOperation(router, 'getCheckpoint', {}, async (_req, res) => {
    const cp = await log.latestCheckpoint();
    const witnesses = options.witnesses().map((w) => ({ node: w.node, signingKey: w.signingKey, cosigned: cp.cosigners.includes(w.node) }));
    const quorum = options.quorum();
    res.json({
      origin: log.origin, treeSize: cp.size, rootHash: toBase64(cp.root), note: cp.note, logKey: log.publicKey,
      witnesses, witnessQuorum: quorum, witnessed: quorum > 0 && witnesses.filter((w) => w.cosigned).length >= quorum,
    });
  });
  mountOperation(router, 'getInclusionProof', {}, async (req, res) => {
    const size = await log.size();
    const treeSize = intParam(req.query.treeSize, 'treeSize') ?? (await log.latestCheckpoint()).size;
    if (treeSize < 1 || treeSize > size) throw new GatewayError('invalid_request', `treeSize must be between 1 and ${size}`, { field: 'treeSize' });
    let index = intParam(req.query.index, 'index');
    if (index === undefined) {
      if (typeof req.query.leafHash !== 'string') throw new GatewayError('invalid_request', 'index or leafHash is required', { field: 'index' });
      index = await log.indexOfLeafHash(fromBase64Url(req.query.leafHash));
      if (index === undefined) throw new GatewayError('not_found', 'leafHash: no entry with this leaf hash', { field: 'leafHash' });
    }
    if (index >= treeSize) throw new GatewayError('invalid_request', `index must be below treeSize ${treeSize}`, { field: 'index' });
    const entry = await log.entry(index);
    if (!entry) throw new GatewayError('not_found', `index: no entry ${index}`, { field: 'index' });
    const proof = await log.inclusionProof(index, treeSize);
    res.json({ index, treeSize, leafHash: toBase64(entry.leafHash), proof: proof.map(toBase64) });
  });
  mountOperation(router, 'getConsistencyProof', {}, async (req, res) => {
    const size = await log.size();
    const from = intParam(req.query.from, 'from')!;
    const to = intParam(req.query.to, 'to') ?? size;
    if (to > size) throw new GatewayError('invalid_request', `to must be at most ${size}`, { field: 'to' });
    if (from < 1 || from > to) throw new GatewayError('invalid_request', `from must be between 1 and ${to}`, { field: 'from' });
    const proof = await log.consistencyProof(from, to);
    res.json({ size1: from, size2: to, proof: proof.map(toBase64) });
  });
  mountOperation(router, 'listAuditEntries', options.entries.security, ...options.entries.guards, async (req, res) => {
    const start = intParam(req.query.start, 'start') ?? 0;
    const limit = Math.min(intParam(req.query.limit, 'limit') ?? 1000, 10_000);
    const entries = await log.entries(start, limit);
    res.json({ entries: entries.map((e) => ({ index: e.index, entry: e.entry, leafHash: toBase64(e.leafHash) })), treeSize: await log.size() });
  });
}
