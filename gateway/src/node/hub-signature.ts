/**
 * Authentication of hub → node messages (spec `hubSignature`, spec/protocol.md §5.1): an RFC
 * 9421 HTTP Message Signature by the hub's Ed25519 key over the method, path, query, the RFC
 * 9530 Content-Digest of the body and the addressed node, with a `created` time and a `nonce`.
 *
 * Two steps around the body parser, so a caller without the hub's key never makes the node
 * read a body: `authenticate` checks the signature over the headers alone (the digest stands
 * in for the body) and the freshness; `verifyBody` then checks the body against the digest
 * and records the nonce durably. A captured message is refused a second time (nonce already
 * recorded) and after the window (stale `created`) — the nonce record only has to outlive the
 * window, and it lives in the node's state file, so a restart does not reopen replays.
 */
import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.ts';
import { verifyMessage } from '../crypto/ed25519.ts';
import { toBase64Url } from '@veilgate/sdk';
import {
  CONTENT_DIGEST_HEADER, HUB_MESSAGE_WINDOW_SECONDS, HUB_SIGNATURE_HEADER, HUB_SIGNATURE_INPUT_HEADER, HUB_TARGET_NODE_HEADER,
  contentDigest, hubComponents, parseHubSignatureFields, signatureBase,
} from '../http/message-signature.ts';
import type { SecurityScheme } from '../http/openapi.ts';

export { HUB_SIGNATURE_HEADER };
/** A signed request older (or newer) than this is stale. */
export const MAX_CLOCK_SKEW_MS = HUB_MESSAGE_WINDOW_SECONDS * 1000;

/** The raw body bytes that the JSON body parser kept for signature checks. */
export function rawBodyOf(req: unknown): Uint8Array | undefined {
  return (req as { rawBody?: Uint8Array }).rawBody;
}

/** What the verifier needs from the node. */
export interface HubSignatureDeps {
  nodeId: string;
  hubPublicKey: () => string;
  /** Durable nonce record (NodeState.claimNonce): false when already recorded. */
  claimNonce: (nonce: string, expiresAt: number, now: number) => boolean;
  now?: () => number;
}

const invalid = (what: string): GatewayError =>
  new GatewayError('hub_signature_invalid', `${HUB_SIGNATURE_INPUT_HEADER}: ${what}`, { field: HUB_SIGNATURE_INPUT_HEADER });

/**
 * The `hubSignature` security scheme of a node: header check before the body is read, body
 * and nonce check after.
 *
 * @example
 * const hubSignature = { hubSignature: verifyHubSignature({ nodeId, hubPublicKey: () => key, claimNonce: state.claimNonce }) };
 * mountOperation(app, 'applyPrivacyPolicy', hubSignature, handler);
 */
export function verifyHubSignature(deps: HubSignatureDeps): SecurityScheme {
  const now = deps.now ?? (() => Date.now());
  const authenticate: RequestHandler = (req, _res, next) => {
    const fields = parseHubSignatureFields(req.get(HUB_SIGNATURE_INPUT_HEADER), req.get(HUB_SIGNATURE_HEADER));
    if (!fields) throw invalid(`missing, or not the hub profile (label hub, ${HUB_SIGNATURE_HEADER} alongside)`);
    const digest = req.get(CONTENT_DIGEST_HEADER);
    const target = req.get(HUB_TARGET_NODE_HEADER);
    if (!digest || !target) throw invalid(`${CONTENT_DIGEST_HEADER} and ${HUB_TARGET_NODE_HEADER} are required`);
    const url = new URL(req.originalUrl, 'http://node.invalid');
    const base = signatureBase(hubComponents({ method: req.method, url, contentDigest: digest, node: target }), fields.signatureParams);
    // RFC 9421 §3.2 step 8 / §3.3.6: Ed25519 over the signature base, no prehash.
    if (!verifyMessage(deps.hubPublicKey(), new TextEncoder().encode(base), toBase64Url(fields.signature))) throw invalid('signature does not verify');
    // Checked only once the hub is known to have said it: a message for another node is not ours.
    if (target.trim() !== deps.nodeId) throw invalid(`addressed to another node (${HUB_TARGET_NODE_HEADER})`);
    // RFC 9421 §7.2.2 (replay): `created` bounds how long the nonce must be remembered.
    if (Math.abs(now() / 1000 - fields.created) > HUB_MESSAGE_WINDOW_SECONDS) {
      throw new GatewayError('replayed_request', `${HUB_SIGNATURE_INPUT_HEADER}: created is more than ${HUB_MESSAGE_WINDOW_SECONDS} s from this node's clock`, { field: HUB_SIGNATURE_INPUT_HEADER });
    }
    (req as { hubMessage?: { nonce: string; created: number; digest: string } }).hubMessage = { nonce: fields.nonce, created: fields.created, digest: digest.trim() };
    next();
  };
  const verifyBody: RequestHandler = (req, _res, next) => {
    const message = (req as { hubMessage?: { nonce: string; created: number; digest: string } }).hubMessage;
    if (!message) throw invalid('not authenticated');
    // RFC 9530 §2: the body must be the one the digest (and so the signature) covers.
    if (contentDigest(rawBodyOf(req) ?? new Uint8Array()) !== message.digest) {
      throw new GatewayError('hub_signature_invalid', `${CONTENT_DIGEST_HEADER} does not match the body`, { field: CONTENT_DIGEST_HEADER });
    }
    if (!deps.claimNonce(message.nonce, (message.created + HUB_MESSAGE_WINDOW_SECONDS) * 1000, now())) {
      throw new GatewayError('replayed_request', `${HUB_SIGNATURE_INPUT_HEADER}: nonce already used`, { field: HUB_SIGNATURE_INPUT_HEADER });
    }
    next();
  };
  return { authenticate, verifyBody };
}

