/**
 * c2sp.org/tlog-cosignature (cosignature/v1, Ed25519): the line is recomputed here from the
 * spec's own definitions with @noble (key ID = SHA-256(name ‖ "\n" ‖ 0x04 ‖ key)[:4], blob =
 * key ID ‖ u64 big-endian time ‖ signature over "cosignature/v1\ntime <t>\n" ‖ body), and the
 * verifier refuses what a hub could do with a witness's lines: move one to another tree,
 * change its time, pass a plain signed-note line as a cosignature.
 */
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64, toBase64 } from '../../sdk/src/internal/bytes.ts';
import { formatCheckpoint } from '../../sdk/src/log/checkpoint.ts';
import { cosignatureKeyId, signCosignature, verifyCosignature } from '../../sdk/src/log/cosignature.ts';
import { LogVerificationError } from '../../sdk/src/log/errors.ts';
import { assembleNote, signNote } from '../../sdk/src/log/signed-note.ts';

const enc = new TextEncoder();
const secretKey = sha256(enc.encode('cosigner test key'));
const publicKey = ed25519.getPublicKey(secretKey);
const logKey = sha256(enc.encode('log test key'));
const body = formatCheckpoint({ origin: 'example.com/behind-the-sofa', size: 20852163, root: fromBase64('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=') });
const T = 1679315147; // the spec's example time

function noteWith(line: string, text = body): string {
  return assembleNote(text, [signNote(text, { name: 'example.com/behind-the-sofa', secretKey: logKey }), line]);
}

describe('cosignature/v1', () => {
  it('matches the spec recomputed independently: key ID, timestamp, signed message', () => {
    const line = signCosignature(body, { name: 'witness.example.com/w1', secretKey }, T);
    const [, name, b64] = /^\u2014 (\S+) (\S+)\n$/.exec(line)!;
    expect(name).toBe('witness.example.com/w1');
    const blob = fromBase64(b64!);
    expect(blob).toHaveLength(4 + 8 + 64);
    const keyId = sha256(new Uint8Array([...enc.encode('witness.example.com/w1\n'), 0x04, ...publicKey])).slice(0, 4);
    expect(blob.slice(0, 4)).toEqual(keyId);
    expect(cosignatureKeyId('witness.example.com/w1', publicKey)).toEqual(keyId);
    expect(new DataView(blob.buffer, blob.byteOffset + 4, 8).getBigUint64(0)).toBe(BigInt(T));
    const message = enc.encode(`cosignature/v1\ntime ${T}\n${body}`);
    expect(ed25519.verify(blob.slice(12), message, publicKey)).toBe(true);
    expect(verifyCosignature(noteWith(line), { name: 'witness.example.com/w1', publicKey })).toBe(T);
  });

  it('a cosignature moved to another tree, or with its time changed, is a forgery', () => {
    const line = signCosignature(body, { name: 'w1', secretKey }, T);
    const other = formatCheckpoint({ origin: 'example.com/behind-the-sofa', size: 20852163, root: new Uint8Array(32) });
    expect(() => verifyCosignature(noteWith(line, other), { name: 'w1', publicKey })).toThrow(LogVerificationError);
    const blob = fromBase64(line.split(' ')[2]!.trim());
    new DataView(blob.buffer, blob.byteOffset + 4, 8).setBigUint64(0, BigInt(T + 3600));
    const retimed = `\u2014 w1 ${toBase64(blob)}\n`;
    expect(() => verifyCosignature(noteWith(retimed), { name: 'w1', publicKey })).toThrow(/does not verify/);
  });

  it('a plain signed-note line by the same key is not a cosignature; other names are ignored', () => {
    const plain = signNote(body, { name: 'w1', secretKey });
    expect(verifyCosignature(noteWith(plain), { name: 'w1', publicKey })).toBeUndefined();
    const line = signCosignature(body, { name: 'w1', secretKey }, T);
    expect(verifyCosignature(noteWith(line), { name: 'w2', publicKey })).toBeUndefined();
  });
});
