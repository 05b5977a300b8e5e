/**
 * A hub → node JSON call, signed like compute requests (spec `hubSignature`: Ed25519 over
 * SHA-256 of the exact body). Failures become 502/504 errors naming the node; a refusal by
 * the node keeps the node's own error code when it is one of ours (e.g. `forbidden`).
 */
import { createHash } from 'node:crypto';
import { GatewayError, STATUS_OF } from '../errors.ts';
import { signMessage } from '../crypto/ed25519.ts';
import { HUB_SIGNATURE_HEADER } from '../node/hub-signature.ts';
import type { NodeRegistration } from './catalog.ts';

/** Node refusals that are about the request, not the node: passed on with their code. */
const PASSED_ON = new Set(['forbidden', 'dataset_not_queryable', 'invalid_request', 'unknown_dataset', 'element_not_in_dataset', 'approval_invalid', 'budget_exhausted', 'request_not_pending']);

/**
 * POSTs a JSON body to a node, signed as the `hubSignature` scheme asks; returns the raw
 * response. Every hub → node call goes through here.
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
  return fetch(`${node.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.accept ? { accept: options.accept } : {}),
      [HUB_SIGNATURE_HEADER]: signMessage(hubSigningKey, createHash('sha256').update(raw).digest()),
    },
    body: raw,
    signal: options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
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
  const answer = (await res.json().catch(() => ({}))) as { code?: string; message?: string; field?: string };
  if (!res.ok) {
    const code = answer.code && PASSED_ON.has(answer.code) && answer.code in STATUS_OF ? (answer.code as keyof typeof STATUS_OF) : 'node_error';
    const field = code !== 'node_error' && typeof answer.field === 'string' ? { field: answer.field } : {};
    throw new GatewayError(code, `node ${node.id} refused: ${answer.message ?? res.status}`, { node: node.id, ...field });
  }
  return answer;
}
