/**
 * Hub → node fan-out (DESIGN §4 steps 4–6): sign each compute request, send them in
 * parallel under one deadline, and check every contribution before it is added — the
 * envelope's shape, that it answers this query for these datasets under this key and plan,
 * that the ciphertext hashes match the bytes, and the node's Ed25519 signature (RFC 8032)
 * over the digest. The first failure aborts the other requests. A node's refusal keeps its
 * code, field and 4xx status when the spec lists the code as a `NodeRefusalCode`.
 */
import {
  CONTRIBUTION_MEDIA_TYPE, contributionDigest, decodeContribution, sha256Hex,
  type ComputeRequestBody, type ContributionHeader, type SlotPlan,
} from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import { verifyMessage } from '../crypto/ed25519.ts';
import { nodeRefusal, postSigned } from './node-call.ts';
import type { NodeRegistration } from './catalog.ts';

/** A verified contribution. */
export interface VerifiedContribution {
  node: string;
  header: ContributionHeader;
  ciphertexts: Uint8Array[];
  bytes: number;
}

/** Largest envelope accepted from a node: 8 ciphertexts of ≈131 KB plus a header. */
const MAX_ENVELOPE_BYTES = 8 * 140_000 + (1 << 20);

async function readLimited(res: Response, node: string, limit: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > limit) throw new GatewayError('node_error', `node ${node} sent an oversized contribution`, { node });
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.length > limit) throw new GatewayError('node_error', `node ${node} sent an oversized contribution`, { node });
  return body;
}

function checkHeader(h: ContributionHeader, request: ComputeRequestBody, node: string, planSha256: string, plan: SlotPlan, ciphertexts: Uint8Array[]): void {
  const fail = (what: string): never => {
    throw new GatewayError('node_signature_invalid', `contribution from node ${node} does not verify: ${what}`, { node });
  };
  if (h.node !== node) fail('wrong node id');
  if (h.queryId !== request.queryId) fail('wrong query id');
  if (h.keyId !== request.keyId) fail('wrong key id');
  if (h.planSha256 !== planSha256) fail('wrong plan hash');
  if (h.datasets.length !== request.datasets.length || h.datasets.some((d, i) => d !== request.datasets[i])) fail('wrong datasets');
  if (ciphertexts.length !== plan.ciphertextCount || h.ciphertextSha256.length !== ciphertexts.length) fail('wrong number of ciphertexts');
  if (ciphertexts.some((c, i) => sha256Hex(c) !== h.ciphertextSha256[i])) fail('ciphertext hash mismatch');
  if (h.suppressed.some((s) => s.group < 0 || s.group >= plan.groupCount || !request.datasets.includes(s.dataset))) fail('left-out group out of range');
}

/**
 * Sends one signed compute request to every node and verifies the answers.
 *
 * @example
 * const contributions = await fanOut(requests, { hubKey, planSha256, plan, timeoutMs: 30_000 });
 */
export async function fanOut(
  requests: { node: NodeRegistration; body: ComputeRequestBody }[],
  options: { hubSigningKey: string; planSha256: string; plan: SlotPlan; timeoutMs: number; onContribution?: (node: string, ms: number) => void },
): Promise<VerifiedContribution[]> {
  const started = performance.now();
  const abort = new AbortController();
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([abort.signal, deadline]);
  const one = async ({ node, body }: (typeof requests)[number]): Promise<VerifiedContribution> => {
    let res: Response;
    try {
      res = await postSigned(node, '/v1/compute', options.hubSigningKey, body, { signal, accept: CONTRIBUTION_MEDIA_TYPE });
    } catch (cause) {
      if (deadline.aborted) throw new GatewayError('node_timeout', `node ${node.id} did not answer within ${options.timeoutMs} ms`, { node: node.id, cause });
      throw new GatewayError('node_unavailable', `node ${node.id} is unreachable`, { node: node.id, cause });
    }
    let bytes: Uint8Array;
    try {
      // A refusal under the node's own policy reaches the researcher with its code and field.
      if (!res.ok) throw await nodeRefusal(node.id, res, 'the computation');
      if (!res.headers.get('content-type')?.startsWith(CONTRIBUTION_MEDIA_TYPE)) {
        throw new GatewayError('node_error', `node ${node.id} answered with an unexpected media type`, { node: node.id });
      }
      bytes = await readLimited(res, node.id, MAX_ENVELOPE_BYTES);
    } catch (cause) {
      if (cause instanceof GatewayError) throw cause;
      if (deadline.aborted) throw new GatewayError('node_timeout', `node ${node.id} did not answer within ${options.timeoutMs} ms`, { node: node.id, cause });
      throw new GatewayError('node_unavailable', `node ${node.id} broke off its answer`, { node: node.id, cause });
    }
    let decoded: ReturnType<typeof decodeContribution>;
    try {
      decoded = decodeContribution(bytes);
    } catch (cause) {
      throw new GatewayError('node_error', `node ${node.id} sent a malformed contribution`, { node: node.id, cause });
    }
    const { header, ciphertexts } = decoded;
    checkHeader(header, body, node.id, options.planSha256, options.plan, ciphertexts);
    if (!verifyMessage(node.signingKey, contributionDigest(header), header.signature)) {
      throw new GatewayError('node_signature_invalid', `contribution from node ${node.id} does not verify: bad signature`, { node: node.id });
    }
    options.onContribution?.(node.id, performance.now() - started);
    return { node: node.id, header, ciphertexts, bytes: bytes.length };
  };
  try {
    return await Promise.all(
      requests.map((r) =>
        one(r).catch((err: unknown) => {
          abort.abort();
          throw err;
        }),
      ),
    );
  } finally {
    abort.abort();
  }
}
