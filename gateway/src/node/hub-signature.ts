/**
 * Authentication of hub → node requests (spec `hubSignature`): Ed25519 (RFC 8032) over
 * SHA-256 of the exact body bytes, checked against the hub key the node was configured
 * with. The body carries `issuedAt` and `queryId`; a stale request or a query id already
 * seen is refused, so a captured request cannot be replayed to re-run a computation.
 */
import type { RequestHandler } from 'express';
import { createHash } from 'node:crypto';
import { GatewayError } from '../errors.ts';
import { verifyMessage } from '../crypto/ed25519.ts';

export const HUB_SIGNATURE_HEADER = 'Veilgate-Hub-Signature';
/** A signed request older (or newer) than this is stale. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** The raw body bytes that express.json kept for signature checks. */
export function rawBodyOf(req: unknown): Uint8Array | undefined {
  return (req as { rawBody?: Uint8Array }).rawBody;
}

/**
 * Middleware verifying the hub's signature on the raw body.
 *
 * @example
 * mountOperation(app, 'computeContribution', { hubSignature: verifyHubSignature(() => hubKey) }, handler);
 */
export function verifyHubSignature(hubPublicKey: () => string): RequestHandler {
  return (req, _res, next) => {
    const signature = req.get(HUB_SIGNATURE_HEADER);
    const raw = rawBodyOf(req);
    if (!signature || !raw || !verifyMessage(hubPublicKey(), createHash('sha256').update(raw).digest(), signature)) {
      throw new GatewayError('hub_signature_invalid', `missing or invalid ${HUB_SIGNATURE_HEADER}`, { field: HUB_SIGNATURE_HEADER });
    }
    next();
  };
}

/**
 * A replay guard: remembers query ids until they could no longer pass the freshness check.
 *
 * @example
 * const guard = createReplayGuard(); guard(body.queryId, body.issuedAt);
 */
export function createReplayGuard(now: () => number = Date.now): (queryId: string, issuedAt: number) => void {
  const seen = new Map<string, number>();
  return (queryId, issuedAt) => {
    const t = now();
    if (Math.abs(t - issuedAt) > MAX_CLOCK_SKEW_MS) {
      throw new GatewayError('replayed_request', 'issuedAt is outside the accepted clock skew', { field: 'issuedAt' });
    }
    for (const [id, expiry] of seen) if (expiry < t) seen.delete(id);
    if (seen.has(queryId)) throw new GatewayError('replayed_request', `query ${queryId} was already computed here`, { field: 'queryId' });
    seen.set(queryId, t + 2 * MAX_CLOCK_SKEW_MS);
  };
}

