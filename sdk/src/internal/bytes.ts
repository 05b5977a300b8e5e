/** Byte helpers that run in Node and browsers alike (no Buffer in public types). */
import { base64urlnopad } from '@scure/base';
import { bytesToHex } from '@noble/hashes/utils.js';
import { backend } from './crypto-backend.ts';

/** Standard base64 (RFC 4648 §4) of bytes (Buffer under Node, @scure elsewhere: same text). */
export function toBase64(bytes: Uint8Array): string {
  return backend.base64Encode(bytes);
}

/** Decodes standard base64 strictly (canonical padding, alphabet, zero pad bits); throws on anything else. */
export function fromBase64(text: string): Uint8Array {
  return backend.base64Decode(text);
}

/** base64url without padding (RFC 4648 §5), as JOSE uses. */
export function toBase64Url(bytes: Uint8Array): string {
  return base64urlnopad.encode(bytes);
}

/** Decodes base64url without padding; throws on anything else. */
export function fromBase64Url(text: string): Uint8Array {
  return base64urlnopad.decode(text);
}

/** SHA-256 of bytes (native under Node, @noble elsewhere: same digest, `crypto-backend.ts`). */
export function sha256Bytes(bytes: Uint8Array): Uint8Array {
  return backend.sha256(bytes);
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/** SHA-256 as lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(backend.sha256(bytes));
}

/** Constant-time equality of two byte strings (no early exit on the first difference). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
