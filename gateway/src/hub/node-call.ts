/**
 * Every hub → node call: a JSON POST signed as spec/protocol.md §5.1 asks (RFC 9421 HTTP
 * Message Signature with `created` and a fresh `nonce`, over the method, path, query, the RFC
 * 9530 Content-Digest of the body and the addressed node). Failures become 502/504 errors
 * naming the node; a node's refusal keeps its code, field and 4xx status when the code is one
 * of the spec's `NodeRefusalCode`s, with its message bounded and cleaned.
 */
import { randomBytes } from 'node:crypto';
import { toBase64, toBase64Url, type components } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import { signMessage } from '../crypto/ed25519.ts';
import {
  CONTENT_DIGEST_HEADER, HUB_COVERED_COMPONENTS, HUB_SIGNATURE_HEADER, HUB_SIGNATURE_INPUT_HEADER, HUB_SIGNATURE_LABEL, HUB_SIGNATURE_TAG,
  HUB_TARGET_NODE_HEADER, contentDigest, hubComponents, serializeSignatureParams, signatureBase,
} from '../http/message-signature.ts';
import type { NodeRegistration } from './catalog.ts';

type NodeRefusalCode = components['schemas']['NodeRefusalCode'];

/** spec `NodeRefusalCode`: the node refusals passed on with their code (a missing or extra code fails to compile). */
const NODE_REFUSALS: Record<NodeRefusalCode, true> = {
  invalid_request: true, forbidden: true, unknown_dataset: true, unknown_element: true, element_not_in_dataset: true, wrong_element_type: true,
  unknown_code: true, invalid_bins: true, too_many_groups: true, plan_overflow: true, row_bound_exceeded: true, dataset_not_queryable: true,
  token_missing: true, token_malformed: true, token_signature_invalid: true, token_expired: true, token_not_yet_valid: true,
  token_audience_invalid: true, token_issuer_invalid: true, token_subject_invalid: true, token_scope_exceeded: true, token_revoked: true,
  token_binding_invalid: true, dpop_missing: true, dpop_invalid: true, dpop_replayed: true, dpop_stale: true, quota_exhausted: true,
  budget_exhausted: true, disclosure_control: true, statement_mismatch: true, rho_too_large: true, participant_unknown: true, mask_key_invalid: true,
  approval_invalid: true, request_not_pending: true,
};

/** The most of a node's error body the hub reads, and of its message it repeats. */
const MAX_REFUSAL_BYTES = 16 * 1024;
const MAX_MESSAGE_CHARS = 200;
/** A field as our own errors name them (`query.groupBy`, `query.aggregates[0].bins`, a header name). */
const FIELD = /^[A-Za-z][A-Za-z0-9_.[\]-]{0,99}$/;

/**
 * The headers that sign one hub → node message (spec/protocol.md §5.1).
 *
 * @example
 * const headers = signHubMessage({ hubSigningKey, node: 'hosp-a', url: new URL('http://node/v1/policies'), body });
 */
export function signHubMessage(message: { hubSigningKey: string; node: string; url: URL; body: Uint8Array; now?: number; nonce?: string }): Record<string, string> {
  const digest = contentDigest(message.body);
  const params = serializeSignatureParams(HUB_COVERED_COMPONENTS, {
    created: Math.floor((message.now ?? Date.now()) / 1000),
    // 128 random bits: unique per message, so the node's replay record can key on it.
    nonce: message.nonce ?? toBase64Url(new Uint8Array(randomBytes(16))),
    alg: 'ed25519',
    tag: HUB_SIGNATURE_TAG,
  });
  const base = signatureBase(hubComponents({ method: 'POST', url: message.url, contentDigest: digest, node: message.node }), params);
  // RFC 9421 §3.3.6: Ed25519 (RFC 8032) over the signature base itself.
  const signature = toBase64(Buffer.from(signMessage(message.hubSigningKey, new TextEncoder().encode(base)), 'base64url'));
  return {
    [CONTENT_DIGEST_HEADER]: digest,
    [HUB_TARGET_NODE_HEADER]: message.node,
    [HUB_SIGNATURE_INPUT_HEADER]: `${HUB_SIGNATURE_LABEL}=${params}`,
    [HUB_SIGNATURE_HEADER]: `${HUB_SIGNATURE_LABEL}=:${signature}:`,
  };
}

/**
 * POSTs a JSON body to a node, signed as the `hubSignature` scheme asks; returns the raw
 * response.
 *
 * @example
 * const res = await postSigned(node, '/v1/witness', hubKey, body, { timeoutMs: 10_000 });
 */
export function postSigned(
  node: NodeRegistration,
  path: string,
  hubSigningKey: string,
  body: unknown,
  options: { timeoutMs?: number; signal?: AbortSignal; accept?: string } = {},
): Promise<Response> {
  const raw = new TextEncoder().encode(JSON.stringify(body));
  const url = new URL(`${node.url}${path}`);
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.accept ? { accept: options.accept } : {}),
      ...signHubMessage({ hubSigningKey, node: node.id, url, body: raw }),
    },
    body: raw,
    signal: options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
}

/** Reads at most `limit` bytes of a node's JSON answer; `{}` when it is not JSON or too long. */
async function readSmallJson(res: Response, limit: number): Promise<Record<string, unknown>> {
  if (Number(res.headers.get('content-length') ?? 0) > limit || !res.body) {
    await res.body?.cancel().catch(() => {});
    return {};
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return {};
    }
    chunks.push(value);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A node's message, safe to repeat: printable characters only, bounded. */
function cleanMessage(message: unknown): string {
  if (typeof message !== 'string') return '';
  const printable = message.replace(/[^\x20-\x7e\u00a0-\u024f\u4e00-\u9fff]/gu, ' ').replace(/\s+/g, ' ').trim();
  return printable.length > MAX_MESSAGE_CHARS ? `${printable.slice(0, MAX_MESSAGE_CHARS - 1)}…` : printable;
}

/**
 * The hub's error for a node's non-2xx answer: the node's own code, field and a cleaned
 * message when it is a 4xx with a `NodeRefusalCode` (spec), else `node_error` (502). The
 * node's body is read only up to 16 KiB.
 *
 * @example
 * if (!res.ok) throw await nodeRefusal(node.id, res, 'the computation');
 */
export async function nodeRefusal(nodeId: string, res: Response, what: string): Promise<GatewayError> {
  const answer = await readSmallJson(res, MAX_REFUSAL_BYTES);
  const code = answer.code;
  const message = cleanMessage(answer.message);
  if (res.status >= 400 && res.status < 500 && typeof code === 'string' && Object.hasOwn(NODE_REFUSALS, code)) {
    const field = typeof answer.field === 'string' && FIELD.test(answer.field) ? answer.field : undefined;
    return new GatewayError(code as NodeRefusalCode, `node ${nodeId} refused ${field ?? what}: ${message || code}`, { node: nodeId, ...(field ? { field } : {}) });
  }
  const named = typeof code === 'string' && /^[a-z_]{1,40}$/.test(code) ? code : String(res.status);
  return new GatewayError('node_error', `node ${nodeId} refused ${what}: ${named}${message ? ` (${message})` : ''}`, { node: nodeId });
}

/**
 * POSTs a signed JSON body to a node and returns its JSON answer (undefined for 204).
 *
 * @example
 * const { token } = await callNode(node, '/v1/tokens', hubKey, body) as { token: string };
 */
export async function callNode(node: NodeRegistration, path: string, hubSigningKey: string, body: unknown, timeoutMs = 10_000): Promise<unknown> {
  let res: Response;
  try {
    res = await postSigned(node, path, hubSigningKey, body, { timeoutMs });
  } catch (cause) {
    const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
    throw new GatewayError(timedOut ? 'node_timeout' : 'node_unavailable', `node ${node.id} ${timedOut ? `did not answer within ${timeoutMs} ms` : 'is unreachable'}`, { node: node.id, cause });
  }
  if (res.status === 204) return undefined;
  if (!res.ok) throw await nodeRefusal(node.id, res, 'the request');
  return (await res.json().catch(() => ({}))) as unknown;
}
