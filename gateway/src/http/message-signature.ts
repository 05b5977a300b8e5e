/**
 * HTTP Message Signatures (RFC 9421) and Content-Digest (RFC 9530), as far as the hub → node
 * profile needs them (spec/protocol.md §5.1): the signature base of §2.5, the serialized
 * `@signature-params` of §2.3, a `sha-256` Content-Digest, and the one profile the hub signs
 * and a node accepts. A node parses only that exact profile: any other `Signature-Input` shape
 * (other components, other parameters, other order) is refused, never interpreted.
 */
import { createHash } from 'node:crypto';

/** The hub's signature value: RFC 9421 `Signature` under a Veilgate name (label `hub`). */
export const HUB_SIGNATURE_HEADER = 'Veilgate-Hub-Signature';
/** The covered components and parameters: RFC 9421 `Signature-Input` under a Veilgate name. */
export const HUB_SIGNATURE_INPUT_HEADER = 'Veilgate-Hub-Signature-Input';
/** The addressed node's id, covered so a message for one node is refused by every other. */
export const HUB_TARGET_NODE_HEADER = 'Veilgate-Node';
/** RFC 9530 §2. */
export const CONTENT_DIGEST_HEADER = 'Content-Digest';
/** The signature's label in both dictionaries (RFC 9421 §4.1). */
export const HUB_SIGNATURE_LABEL = 'hub';
/** RFC 9421 §2.3 `tag`: names this profile, so the signature base of no other protocol can match. */
export const HUB_SIGNATURE_TAG = 'veilgate-hub/v1';
/** Covered components, in signing order (RFC 9421 §2.2 derived components, then fields). */
export const HUB_COVERED_COMPONENTS = ['@method', '@path', '@query', 'content-digest', 'veilgate-node'] as const;
/** A hub message whose `created` is further than this from the node's clock is stale. */
export const HUB_MESSAGE_WINDOW_SECONDS = 300;

/**
 * RFC 9421 §2.5: the signature base — one line `"name": value` per covered component, then
 * `"@signature-params": ` and the serialized parameters, joined by LF with no trailing LF.
 *
 * @example
 * signatureBase([['@method', 'POST']], '("@method");created=1618884473'); // '"@method": POST\n"@signature-params": ("@method");created=1618884473'
 */
export function signatureBase(components: readonly (readonly [name: string, value: string])[], signatureParams: string): string {
  for (const [name, value] of components) {
    // §2.5 step 2.4/2.5: a value with a newline would forge another line of the base.
    if (/[\r\n]/.test(value) || /[\r\n"]/.test(name)) throw new Error(`component ${JSON.stringify(name)} cannot be signed: it contains a line break`);
  }
  return [...components.map(([name, value]) => `"${name}": ${value}`), `"@signature-params": ${signatureParams}`].join('\n');
}

/**
 * RFC 9421 §2.3: the inner list of covered component names with its parameters, in the order
 * given (integers bare, strings quoted as RFC 8941 sf-strings).
 *
 * @example
 * serializeSignatureParams(['@method'], { created: 1618884473, keyid: 'k' }); // '("@method");created=1618884473;keyid="k"'
 */
export function serializeSignatureParams(components: readonly string[], params: Readonly<Record<string, number | string>>): string {
  const list = `(${components.map((c) => `"${c}"`).join(' ')})`;
  const rendered = Object.entries(params).map(([key, value]) => {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new Error(`signature parameter ${key} must be an integer`);
      return `;${key}=${value}`;
    }
    // RFC 8941 §3.3.3: printable ASCII; " and \ escaped. Our values never need escaping: refuse them.
    if (!/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(value)) throw new Error(`signature parameter ${key} is not a plain sf-string`);
    return `;${key}="${value}"`;
  });
  return list + rendered.join('');
}

/**
 * RFC 9530 §2: the `Content-Digest` field value of a body, with `sha-256`.
 *
 * @example
 * contentDigest(new TextEncoder().encode('{"hello": "world"}')); // 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'
 */
export function contentDigest(body: Uint8Array): string {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

/** What a node reads from a hub message's signature fields. */
export interface HubSignatureFields {
  /** The serialized `@signature-params`, exactly as received. */
  signatureParams: string;
  created: number;
  nonce: string;
  /** The Ed25519 signature, 64 bytes. */
  signature: Uint8Array;
}

const PARAMS_PATTERN = new RegExp(
  `^\\(${HUB_COVERED_COMPONENTS.map((c) => `"${c}"`).join(' ')}\\);created=(\\d{1,12});nonce="([A-Za-z0-9_-]{22,64})";alg="ed25519";tag="${HUB_SIGNATURE_TAG.replace('/', '\\/')}"$`,
);
const SIGNATURE_PATTERN = /^([A-Za-z0-9+/]{86}==)$/;

/**
 * Parses the hub profile's `Veilgate-Hub-Signature-Input` and `Veilgate-Hub-Signature`
 * values (label `hub`); undefined unless both are exactly that profile's shape.
 *
 * @example
 * const fields = parseHubSignatureFields(req.get(HUB_SIGNATURE_INPUT_HEADER), req.get(HUB_SIGNATURE_HEADER));
 */
export function parseHubSignatureFields(input: string | undefined, signature: string | undefined): HubSignatureFields | undefined {
  const prefix = `${HUB_SIGNATURE_LABEL}=`;
  if (!input?.startsWith(prefix) || !signature?.startsWith(`${prefix}:`) || !signature.endsWith(':')) return undefined;
  const signatureParams = input.slice(prefix.length);
  const params = PARAMS_PATTERN.exec(signatureParams);
  const value = SIGNATURE_PATTERN.exec(signature.slice(prefix.length + 1, -1));
  if (!params || !value) return undefined;
  return { signatureParams, created: Number(params[1]), nonce: params[2]!, signature: new Uint8Array(Buffer.from(value[1]!, 'base64')) };
}

/**
 * The hub profile's covered component values (RFC 9421 §2.2.1 `@method`, §2.2.6 `@path`,
 * §2.2.7 `@query` — `?` alone when there is none — then the two header fields).
 *
 * @example
 * hubComponents({ method: 'POST', url: new URL('http://n/v1/policies'), contentDigest: d, node: 'hosp-a' });
 */
export function hubComponents(message: { method: string; url: URL; contentDigest: string; node: string }): [string, string][] {
  return [
    ['@method', message.method.toUpperCase()],
    ['@path', message.url.pathname],
    ['@query', message.url.search || '?'],
    ['content-digest', message.contentDigest.trim()],
    ['veilgate-node', message.node.trim()],
  ];
}
