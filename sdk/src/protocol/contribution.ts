/**
 * A node's contribution to a query (spec/protocol.md §6): its ciphertexts and a digest
 * that the node signs with Ed25519 (RFC 8032) and the hub verifies before adding anything.
 *
 * Wire envelope (`application/vnd.veilgate.contribution`), all integers big-endian:
 *   "VGC1" | u32 header length | header (UTF-8 JSON) | for each ciphertext: u32 length | bytes
 * The binary framing keeps a ciphertext at its raw size (≈131 KB) instead of base64's +33%.
 */
import { VeilgateError } from '../errors.ts';
import { canonicalDigest } from './canonical.ts';

export const CONTRIBUTION_MEDIA_TYPE = 'application/vnd.veilgate.contribution';
const MAGIC = [0x56, 0x47, 0x43, 0x31]; // "VGC1"
/** A contribution never carries more than this many ciphertexts (plan MAX_CIPHERTEXTS). */
const MAX_PARTS = 8;
const MAX_HEADER_BYTES = 1 << 20;

/** A group that a node left out of one of its datasets' contributions. */
export interface LeftOut {
  group: number;
  dataset: string;
}

/** What the node signs: everything the hub must bind to the ciphertexts it adds. */
export interface ContributionClaims {
  v: 1;
  queryId: string;
  node: string;
  datasets: string[];
  keyId: string;
  planSha256: string;
  ciphertextSha256: string[];
  suppressed: LeftOut[];
}

/** The header of an envelope: the claims and the node's signature over their digest. */
export interface ContributionHeader extends ContributionClaims {
  /** Ed25519 signature over SHA-256(JCS(claims)), base64url. */
  signature: string;
}

/**
 * The 32-byte digest a node signs for its contribution: SHA-256 of the RFC 8785 canonical
 * JSON of the claims (with `v` so a future layout cannot be confused with this one).
 *
 * @example
 * const digest = contributionDigest(claims); // Uint8Array(32)
 */
export function contributionDigest(claims: ContributionClaims): Uint8Array {
  const { v, queryId, node, datasets, keyId, planSha256, ciphertextSha256, suppressed } = claims;
  return canonicalDigest({ v, queryId, node, datasets, keyId, planSha256, ciphertextSha256, suppressed });
}

/**
 * Frames a signed header and its ciphertexts into the wire envelope.
 *
 * @example
 * const body = encodeContribution(header, [ct]);
 */
export function encodeContribution(header: ContributionHeader, ciphertexts: Uint8Array[]): Uint8Array {
  const head = new TextEncoder().encode(JSON.stringify(header));
  const total = 8 + head.length + ciphertexts.reduce((n, c) => n + 4 + c.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(4, head.length);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const c of ciphertexts) {
    view.setUint32(at, c.length);
    out.set(c, at + 4);
    at += 4 + c.length;
  }
  return out;
}

function malformed(message: string): VeilgateError {
  return new VeilgateError('node_error', `malformed contribution envelope: ${message}`);
}

/**
 * Parses an envelope defensively: the bytes come from another party, so every length is
 * checked against what remains before it is used, and the header's shape is checked field
 * by field. Raises `node_error` on anything malformed; never a stray SyntaxError.
 *
 * @example
 * const { header, ciphertexts } = decodeContribution(bytes);
 */
export function decodeContribution(bytes: Uint8Array): { header: ContributionHeader; ciphertexts: Uint8Array[] } {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) throw malformed('bad magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headLength = view.getUint32(4);
  if (headLength > MAX_HEADER_BYTES || 8 + headLength > bytes.length) throw malformed('header length out of range');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headLength)));
  } catch {
    throw malformed('header is not UTF-8 JSON');
  }
  const h = header as Record<string, unknown>;
  const isStr = (x: unknown): x is string => typeof x === 'string';
  const strArray = (x: unknown): x is string[] => Array.isArray(x) && x.every(isStr);
  if (
    typeof h !== 'object' || h === null || h.v !== 1 || !isStr(h.queryId) || !isStr(h.node) || !strArray(h.datasets) ||
    !isStr(h.keyId) || !isStr(h.planSha256) || !strArray(h.ciphertextSha256) || !isStr(h.signature) ||
    !Array.isArray(h.suppressed) ||
    !h.suppressed.every((s: unknown) => typeof s === 'object' && s !== null && Number.isSafeInteger((s as LeftOut).group) && isStr((s as LeftOut).dataset))
  ) {
    throw malformed('header fields missing or of the wrong type');
  }
  const ciphertexts: Uint8Array[] = [];
  let at = 8 + headLength;
  while (at < bytes.length) {
    if (ciphertexts.length >= MAX_PARTS) throw malformed('too many ciphertexts');
    if (at + 4 > bytes.length) throw malformed('truncated length');
    const n = view.getUint32(at);
    if (at + 4 + n > bytes.length) throw malformed('ciphertext length out of range');
    ciphertexts.push(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return { header: h as unknown as ContributionHeader, ciphertexts };
}
