/**
 * The institution node's HTTP app (spec tag `node`): health, public metadata, and the
 * hub-signed compute route. `createNodeApp` only builds the app; the CLI listens.
 */
import express, { type Express } from 'express';
import { CONTRIBUTION_MEDIA_TYPE, sha256Hex, thresholdProblem, type ComputeRequestBody, type DataElement, type DatasetSummary, type components } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import { admitComputation, issueToken, openRevocationList } from './consent-gate.ts';
import { openIssuedGrants } from './issued-grants.ts';
import type { NodeOperator } from '../server/config.ts';
import { openConsentRegistry, type ConsentRecord } from './consent-registry.ts';
import { tokenKeys } from './token-keys.ts';
import { maskKeyDigest, maskKeyOf } from './mask-key.ts';
import { openPeerPins, type PeerNode } from './peer-pins.ts';
import { openNodeLedger, recoverCharges, type LedgerCharge, type TokenUsage } from './ledger.ts';
import { openUnmaskRecords } from './unmask.ts';
import { mountOperation } from '../http/openapi.ts';
import { errorHandler, notFound } from '../http/error-handler.ts';
import type { DatasetEngine, LoadedDataset } from '../datasets/duckdb-dataset.ts';
import { roundTwoFigures } from '../datasets/duckdb-dataset.ts';
import { publicKeyOf, signMessage } from '../crypto/ed25519.ts';
import { computeContribution } from './compute.ts';
import { createKeyCache } from './key-cache.ts';
import { verifyHubSignature } from './hub-signature.ts';
import type { NodeState } from './node-state.ts';
import { cosign, WitnessRefusal } from './witness.ts';
import { mountAuditRoutes } from '../audit/routes.ts';
import { logOrigin } from '../server/origin.ts';
import { auditEvent, type NodeEvent } from '../audit/events.ts';

export const VERSION = '0.1.0';

/** Everything a node app needs. */
export interface NodeDeps {
  id: string;
  institution: string;
  /** Ed25519 secret key (base64url) the node signs contributions with. */
  signingKey: string;
  engine: DatasetEngine;
  dictionary: DataElement[];
  /** The hub this node serves: its base URL (for keys), its request key and its log key. */
  hub: { id: string; url: string; publicKey: string; logKey: string };
  /** The node's own log and witness state. */
  state: NodeState;
  /**
   * The data space's other nodes and their signing keys, as the institution was given them
   * out of band. Without it, peers are pinned on first use (protocol.md §10).
   */
  peers?: PeerNode[];
  /** The operators this node enrolled out of band (its configuration): only their signed approvals count. */
  operators?: () => NodeOperator[];
  log?: (line: string) => void;
}

/**
 * Default ρ of a query (zCDP): 0.015, i.e. ε ≈ 0.93 at δ = 10⁻⁶ — within the "ε ≤ 1 per
 * release" range that Dwork & Roth (2014, §3.5 and §1) and most deployments treat as strong.
 */
export const DEFAULT_RHO_PER_QUERY = 0.015;
/**
 * Default ceiling on one query's ρ: 0.25, i.e. ε ≈ 3.9 at δ = 10⁻⁶ — a tenth of the US Census
 * Bureau's whole 2020 redistricting release (ρ = 2.63, Abowd et al. 2022, HDSR, Table 1).
 */
export const DEFAULT_MAX_RHO_PER_QUERY = 0.25;

/** A dataset's differential-privacy policy: the operator's override, else its configuration (on by default). */
export function privacyOf(deps: Pick<NodeDeps, 'state'>, d: LoadedDataset): { enabled: boolean; defaultRho: number; maxRhoPerQuery: number } {
  const override = deps.state.policy(d.config.id);
  return {
    enabled: override?.differentialPrivacy ?? d.config.differentialPrivacy?.enabled ?? true,
    defaultRho: override?.defaultRho ?? d.config.differentialPrivacy?.defaultRho ?? DEFAULT_RHO_PER_QUERY,
    maxRhoPerQuery: d.config.differentialPrivacy?.maxRhoPerQuery ?? DEFAULT_MAX_RHO_PER_QUERY,
  };
}

/**
 * Refuses a ρ above the smallest per-query ceiling of the datasets (`maxRhoPerQuery`): the
 * node's own policy, whatever the researcher signed or the hub sent.
 */
function checkRhoCeiling(deps: NodeDeps, datasets: string[], rho: number): void {
  if (rho <= 0) return;
  const ceilings = datasets.map((id) => deps.engine.datasets.get(id)).filter((d) => d !== undefined).map((d) => privacyOf(deps, d).maxRhoPerQuery);
  const ceiling = Math.min(...ceilings);
  if (rho > ceiling) {
    throw new GatewayError('rho_too_large', `rho: ${rho} is above this institution's ceiling of ${ceiling} per query`, { field: 'rho' });
  }
}

/** The catalog entries of a node's datasets: metadata only, counts rounded. */
export function summarizeDatasets(deps: Pick<NodeDeps, 'id' | 'institution' | 'engine' | 'state'>): DatasetSummary[] {
  return [...deps.engine.datasets.values()].map((d) => ({
    id: d.config.id,
    node: deps.id,
    institution: deps.institution,
    title: d.config.title,
    description: d.config.description,
    ...(d.config.translations ? { translations: d.config.translations } : {}),
    elements: Object.keys(d.config.elements),
    minCellSize: d.minCellSize,
    rowCountApprox: roundTwoFigures(d.rowCount),
    maxRows: d.maxRows,
    classification: d.classification,
    queryable: d.classification !== 'core',
    pricePerQuery: d.config.pricePerQuery ?? 0,
    requiredApprovals: d.requiredApprovals,
    differentialPrivacy: privacyOf(deps, d).enabled,
    defaultRho: privacyOf(deps, d).defaultRho,
    minSubsetSize: d.config.minSubsetSize ?? 3,
    maxLevelsRatio: d.config.maxLevelsRatio ?? 0.33,
  }));
}

/**
 * Builds a node app.
 *
 * @example
 * const app = createNodeApp(deps); app.listen(8081);
 */
export function createNodeApp(deps: NodeDeps): Express {
  const log = deps.log ?? ((line: string) => console.log(`[node ${deps.id}] ${line}`));
  const publicKey = createKeyCache(() => deps.hub.url);
  const revoked = openRevocationList(deps.state.db);
  const consent = openConsentRegistry(deps.state.db, deps.engine);
  const ready = consent.load();
  const keys = tokenKeys(deps.state, deps.signingKey);
  // The researcher's statement nonce (the DPoP jti, protocol.md §9.1) is recorded durably, like
  // the hub's message nonces: a restart does not let a captured statement run twice.
  const seen = (jti: string, expiresAt: number): boolean => !deps.state.claimNonce(`dpop:${jti}`, expiresAt * 1000, Date.now());
  const gate = {
    nodeId: deps.id, hubId: deps.hub.id, engine: deps.engine, keys, seen,
    operators: deps.operators ?? (() => []), issued: openIssuedGrants(deps.state.db),
  };
  const signingKey = publicKeyOf(deps.signingKey);
  const maskKey = maskKeyOf(deps.signingKey);
  const maskKeySignature = signMessage(deps.signingKey, maskKeyDigest(deps.id, maskKey.publicKey));
  const peers = openPeerPins(deps.state.db, { self: { id: deps.id, signingKey, maskKey: maskKey.publicKey }, ...(deps.peers ? { configured: deps.peers } : {}) });
  const ledger = openNodeLedger(deps.state.db);
  // protocol.md §11: charges a stopped node left reserved are settled before it computes again.
  const settled = recoverCharges(ledger, deps.state.log).then(({ released, refunded }) => {
    if (released + refunded) log(`recovered charges of an interrupted run: ${released} released (logged as computed), ${refunded} refunded (nothing released)`);
  });
  const unmasking = openUnmaskRecords(deps.state.db);
  const app = express();
  app.disable('x-powered-by');
  // Every hub → node message: RFC 9421 signature with created + nonce, nonces kept in the state file (protocol.md §5.1).
  const hubSignature = { hubSignature: verifyHubSignature({ nodeId: deps.id, hubPublicKey: () => deps.hub.publicKey, claimNonce: deps.state.claimNonce }) };
  mountOperation(app, 'getHealth', {}, (_req, res) => {
    res.json({ status: 'ok', role: 'node', id: deps.id, version: VERSION });
  });
  mountOperation(app, 'getNodeInfo', {}, (_req, res) => {
    res.json({ id: deps.id, institution: deps.institution, signingKey, maskKey: maskKey.publicKey, maskKeySignature, datasets: summarizeDatasets(deps) });
  });
  mountOperation(app, 'computeContribution', hubSignature, async (req, res) => {
    const body = req.body as ComputeRequestBody;
    await ready;
    await settled;
    // The node's own check of consent (DESIGN §4 step 5): its token, unrevoked and in scope,
    // bound to the key of the researcher's DPoP proof.
    const admitted = await admitComputation(gate, revoked, body);
    // The participants (hence the masks) come from the signed statement; each peer must be
    // pinned and its mask key signed by it (protocol.md §10).
    peers.check(body.participants);
    // protocol.md §10.1: a dropout threshold (signed, checked with the statement) never below the node's floor.
    const tolerant = body.threshold !== undefined && body.threshold < body.participants.length;
    if (body.threshold !== undefined) {
      const problem = thresholdProblem(body.participants.length, body.threshold);
      if (problem) throw new GatewayError('invalid_request', `threshold: ${problem}`, { field: 'threshold' });
    }
    // This node's own policy and ledger (invariant 7), applied by the release gate before
    // anything is released: ρ per query at most the datasets' ceiling, and the token's
    // budget and quota as this node counts them — whatever the hub's ledger says.
    let charged: { charge: LedgerCharge; usage: TokenUsage; rho: number } | undefined;
    // The log only grows: its entry for this computation, if any, lies at or past this size.
    const logSize = await deps.state.log.size();
    const charge = ({ rho }: { rho: number }): void => {
      checkRhoCeiling(deps, body.datasets, rho);
      charged = { ...ledger.charge({ queryId: body.queryId, jti: admitted.jti, budget: admitted.budget, quota: admitted.quota, rho, logSize }), rho };
    };
    let computed: Awaited<ReturnType<typeof computeContribution>>;
    try {
      computed = await computeContribution(
        {
          nodeId: deps.id, signingKey: deps.signingKey, engine: deps.engine, dictionary: deps.dictionary, publicKey, log,
          maskSecret: maskKey.secretKey, maskKey: maskKey.publicKey, differentialPrivacy: (d) => privacyOf(deps, d).enabled,
          charge,
        },
        body,
        { purpose: admitted.purpose },
      );
    } catch (err) {
      if (charged) ledger.refund(charged.charge); // nothing was released
      throw err;
    }
    if (!charged) throw new Error('the release gate released a contribution without charging the ledger');
    const { usage, rho } = charged;
    const { envelope, claims } = computed;
    // Recorded before the contribution leaves, so the unmasking round (below) can only ever concern it.
    if (tolerant) unmasking.recordRound({ queryId: body.queryId, participants: body.participants.map((p) => ({ node: p.node, maskKey: p.maskKey })), threshold: body.threshold! });
    // The node's own log of what it computed (DESIGN §9): hashes and ids only — and what it
    // charged, so an auditor can hold the hub's ledger against the node's.
    deps.state.record(auditEvent<NodeEvent>({
      type: 'contribution.computed', queryId: claims.queryId, hub: body.hub, datasets: claims.datasets, keyId: claims.keyId,
      planSha256: claims.planSha256, ciphertextSha256: claims.ciphertextSha256, groupsLeftOut: claims.suppressed.length,
      tokenJti: admitted.jti, purpose: admitted.purpose, rowsExcludedByConsent: true,
      rho, tokenRhoSpent: usage.rhoSpent, tokenQueries: usage.queries,
    }));
    // Logged, hence released (the envelope may leave from here): the charge stands for good.
    ledger.settle(charged.charge);
    res.type(CONTRIBUTION_MEDIA_TYPE).send(Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength));
  });
  // The unmasking round of dropout-tolerant secure aggregation (protocol.md §10.1): per peer,
  // a seed share or a pair key, never both (node/unmask.ts).
  mountOperation(app, 'unmaskContribution', hubSignature, async (req, res) => {
    const body = req.body as components['schemas']['UnmaskRequest'];
    const answer = await unmasking.unmask(body, { id: deps.id, maskSecret: maskKey.secretKey });
    log(`unmasking query=${body.queryId}: ${answer.seedShares.length} seed shares, ${answer.pairKeys.length} pair keys (dropped: ${body.dropped.join(',') || 'none'})`);
    res.json(answer);
  });
  mountOperation(app, 'getJwks', {}, (_req, res) => {
    res.json(keys.jwks());
  });
  mountOperation(app, 'issueConsentToken', hubSignature, async (req, res) => {
    const body = req.body as components['schemas']['TokenIssueRequest'];
    const issued = await issueToken(gate, body);
    // One `token.signed` per token: a retry answered with the stored token logs nothing new.
    if (issued.fresh) deps.state.record(auditEvent<NodeEvent>({
      // No account ids in the public log: the token's hash ties this entry to the hub's `token.issued`.
      type: 'token.signed', requestId: body.requestId, jti: issued.jti, kid: issued.kid, tokenSha256: sha256Hex(new TextEncoder().encode(issued.token)),
      datasets: body.datasets, expiresAt: issued.expiresAt,
    }));
    log(`${issued.fresh ? 'signed' : 'answered again with'} consent token jti=${issued.jti} request=${body.requestId} datasets=${body.datasets.join(',')}`);
    res.json({ token: issued.token, jti: issued.jti, expiresAt: issued.expiresAt });
  });
  mountOperation(app, 'recordRevocation', hubSignature, (req, res) => {
    const body = req.body as { jti: string; requestId: string };
    revoked.add(body.jti);
    deps.state.record(auditEvent<NodeEvent>({ type: 'token.revoked', requestId: body.requestId, jti: body.jti }));
    log(`revoked consent token jti=${body.jti}`);
    res.status(204).end();
  });
  mountOperation(app, 'applyPrivacyPolicy', hubSignature, (req, res) => {
    const body = req.body as { dataset: string; policy: { differentialPrivacy: boolean; defaultRho?: number } };
    if (!deps.engine.datasets.has(body.dataset)) throw new GatewayError('not_found', `dataset: this node holds no dataset ${body.dataset}`, { field: 'dataset' });
    deps.state.setPolicy(body.dataset, body.policy);
    log(`privacy policy of ${body.dataset}: differential privacy ${body.policy.differentialPrivacy ? 'on' : 'OFF'}`);
    res.json(body.policy);
  });
  // Consent imports, batched and staged until the commit (protocol.md §9 "Patient consent").
  const holdsDataset = (dataset: string): void => {
    if (!deps.engine.datasets.has(dataset)) throw new GatewayError('not_found', `dataset: this node holds no dataset ${dataset}`, { field: 'dataset' });
  };
  mountOperation(app, 'stageConsentBatch', hubSignature, async (req, res) => {
    const body = req.body as components['schemas']['ConsentBatch'];
    holdsDataset(body.dataset);
    await ready;
    res.json(consent.stage(body.importId, body.dataset, body.seq, body.records as ConsentRecord[]));
  });
  mountOperation(app, 'commitConsentBatches', hubSignature, async (req, res) => {
    const body = req.body as components['schemas']['ConsentCommit'];
    holdsDataset(body.dataset);
    await ready;
    // The registry change and its one log entry commit together (invariant 4): never one without the other.
    const withdrawnSubjects = await consent.commit(body.importId, body, (withdrawn) => {
      deps.state.log.appendSync(auditEvent<NodeEvent>({ type: 'consent.applied', dataset: body.dataset, records: body.records, withdrawnSubjects: withdrawn }));
    });
    log(`consent registry of ${body.dataset}: ${body.records} records applied (import ${body.importId}), ${withdrawnSubjects} subjects withdrawn for some purpose`);
    res.json({ dataset: body.dataset, importId: body.importId, imported: body.records, withdrawnSubjects });
  });
  mountOperation(app, 'abortConsentBatches', hubSignature, async (req, res) => {
    await ready;
    consent.abort((req.body as { importId: string }).importId);
    res.status(204).end();
  });
  mountOperation(app, 'cosignCheckpoint', hubSignature, (req, res) => {
    try {
      const signature = cosign(
        deps.state,
        { nodeId: deps.id, signingKey: deps.signingKey, hubOrigin: logOrigin(deps.hub.id), hubLogKey: deps.hub.logKey },
        req.body as Parameters<typeof cosign>[2],
        log,
      );
      res.json({ node: deps.id, signature });
    } catch (err) {
      if (!(err instanceof WitnessRefusal)) throw err;
      res.status(409).json({ code: err.code, message: err.message, field: err.field, lastSize: err.lastSize });
    }
  });
  // A node's log holds hashes and ids only: all of it is public.
  mountAuditRoutes(app, deps.state.log, {
    witnesses: () => [],
    quorum: () => 0,
    entries: { security: { apiKey: (_req, _res, next) => next() }, guards: [] },
  });
  app.use(notFound);
  app.use(errorHandler(log));
  return app;
}
