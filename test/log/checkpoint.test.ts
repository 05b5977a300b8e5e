/**
 * C2SP signed notes and tlog checkpoints: known answers from Go's golang.org/x/mod/sumdb/note
 * tests (BSD licence; the PeterNeumann / EnochRoot keys and signatures), round trips, wrong
 * keys, tampering, k-of-n witness counting, and strict rejection of malformed notes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64, toBase64 } from '../../sdk/src/internal/bytes.ts';
import { formatCheckpoint, parseCheckpoint, verifyCheckpoint } from '../../sdk/src/log/checkpoint.ts';
import { LogVerificationError } from '../../sdk/src/log/errors.ts';
import { hashLeaf } from '../../sdk/src/log/hash.ts';
import {
  MAX_NOTE_BYTES,
  assembleNote,
  computeKeyHash,
  countValidSignatures,
  parseSignedNote,
  signNote,
  verifyNoteSignature,
} from '../../sdk/src/log/signed-note.ts';
import type { NoteSigner, NoteVerifier } from '../../sdk/src/log/signed-note.ts';

/** A deterministic Ed25519 key pair under a name. */
function keyPair(name: string): { signer: NoteSigner; verifier: NoteVerifier } {
  const secretKey = sha256(new TextEncoder().encode(`test key ${name}`));
  return { signer: { name, secretKey }, verifier: { name, publicKey: ed25519.getPublicKey(secretKey) } };
}

/** Asserts fn throws a LogVerificationError with this code. */
function expectLogError(fn: () => unknown, code: string): LogVerificationError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(LogVerificationError);
  expect((caught as LogVerificationError).code).toBe(code);
  return caught as LogVerificationError;
}

const ORIGIN = 'veilgate.example/audit';
const log = keyPair(ORIGIN);
const root = hashLeaf(new TextEncoder().encode('root'));

describe('known answers (golang.org/x/mod/sumdb/note)', () => {
  // note_test.go: skey "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEK…", vkey "PeterNeumann+c74f20a3+ARpc…".
  const peterSeed = fromBase64('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz').slice(1);
  const peter: NoteVerifier = { name: 'PeterNeumann', publicKey: fromBase64('ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW').slice(1) };
  const enoch: NoteVerifier = { name: 'EnochRoot', publicKey: fromBase64('ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop').slice(1) };
  const text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const peterSig = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
  const enochSig = '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

  it('computes the key hashes c74f20a3 and af0cfe78', () => {
    expect(bytesToHex(computeKeyHash(peter.name, peter.publicKey))).toBe('c74f20a3');
    expect(bytesToHex(computeKeyHash(enoch.name, enoch.publicKey))).toBe('af0cfe78');
    expect(ed25519.getPublicKey(peterSeed)).toEqual(peter.publicKey);
  });

  it('signs exactly as Go does', () => {
    expect(signNote(text, { name: 'PeterNeumann', secretKey: peterSeed })).toBe(peterSig);
    expect(assembleNote(text, [peterSig, enochSig])).toBe(`${text}\n${peterSig}${enochSig}`);
    expect(assembleNote(text, [peterSig.trimEnd(), enochSig])).toBe(`${text}\n${peterSig}${enochSig}`); // with or without its newline
  });

  it('opens the two-signature note: both verify, one at a time or counted', () => {
    const note = `${text}\n${peterSig}${enochSig}`;
    expect(parseSignedNote(note).body).toBe(text);
    expect(verifyNoteSignature(note, peter)).toBe(true);
    expect(verifyNoteSignature(note, enoch)).toBe(true);
    expect(countValidSignatures(note, [peter, enoch])).toBe(2);
    expect(countValidSignatures(`${text}\n${peterSig}`, [peter, enoch])).toBe(1);
  });

  it('rejects Go’s bad messages and the invalid signature', () => {
    for (const bad of [text, `${text}\n`, `${text}\n${peterSig.slice(0, -1)}`, `\u0001${text}\n${peterSig}`, `${text}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`, `${text}\n${peterSig}Unexpected line.\n`]) {
      expectLogError(() => parseSignedNote(bad), 'checkpoint_invalid');
    }
    expectLogError(() => parseSignedNote(Uint8Array.from([0xff, ...new TextEncoder().encode(`${text}\n${peterSig}`)])), 'checkpoint_invalid');
    expectLogError(() => parseSignedNote(`${text}\n${peterSig.repeat(101)}`), 'checkpoint_invalid');
    expect(parseSignedNote(`${text}\n${peterSig.repeat(100)}`).signatures).toHaveLength(100);
    const forged = `${text}\n${peterSig.slice(0, 60)}ABCD${peterSig.slice(60)}`;
    const err = expectLogError(() => verifyNoteSignature(forged, peter), 'checkpoint_invalid');
    expect(err.evidence).toMatchObject({ keyName: 'PeterNeumann', keyHash: 'c74f20a3' });
  });
});

describe('checkpoints', () => {
  it('round-trips format → sign → assemble → parse → verify (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(fc.stringMatching(/^[a-z0-9 ./:=-]{1,20}$/), { maxLength: 2 }),
        (size, rootBytes, extensions) => {
          const body = formatCheckpoint({ origin: ORIGIN, size, root: rootBytes, extensions });
          const note = assembleNote(body, [signNote(body, log.signer)]);
          const cp = verifyCheckpoint(note, { logKey: log.verifier });
          expect(cp).toEqual({ origin: ORIGIN, size, root: rootBytes, extensions, note });
          expect(parseCheckpoint(parseSignedNote(new TextEncoder().encode(note)).body)).toEqual({ origin: ORIGIN, size, root: rootBytes, extensions });
        },
      ),
      { numRuns: 50 },
    );
  });

  it('formats the tlog-checkpoint text', () => {
    const body = formatCheckpoint({ origin: ORIGIN, size: 3, root: fromBase64('rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=') });
    expect(body).toBe(`${ORIGIN}\n3\nrra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=\n`);
    const line = signNote(body, log.signer);
    expect(line).toMatch(/^\u2014 veilgate\.example\/audit [A-Za-z0-9+/]{91}=\n$/); // 68 bytes
  });

  const body = formatCheckpoint({ origin: ORIGIN, size: 3, root });
  const note = assembleNote(body, [signNote(body, log.signer)]);

  it('rejects a wrong key: another name is ignored, the same name with another key too', () => {
    const other = keyPair('someone.example/else');
    expect(verifyNoteSignature(note, other.verifier)).toBe(false);
    const impostor = { name: ORIGIN, publicKey: keyPair('impostor').verifier.publicKey };
    expect(verifyNoteSignature(note, impostor)).toBe(false); // different key hash: unknown key
    expectLogError(() => verifyCheckpoint(note, { logKey: impostor }), 'checkpoint_invalid');
    const signedByOther = assembleNote(body, [signNote(body, { name: ORIGIN, secretKey: keyPair('impostor').signer.secretKey })]);
    expectLogError(() => verifyCheckpoint(signedByOther, { logKey: log.verifier }), 'checkpoint_invalid');
  });

  it('rejects a tampered body, size or root', () => {
    const sig = note.slice(body.length + 1);
    for (const tampered of [
      `${ORIGIN}\n4\n${toBase64(root)}\n`,
      `${ORIGIN}\n3\n${toBase64(hashLeaf(new Uint8Array()))}\n`,
      `${ORIGIN}x\n3\n${toBase64(root)}\n`,
      `${ORIGIN}\n3\n${toBase64(root)}\nextension\n`,
    ]) {
      const err = expectLogError(() => verifyCheckpoint(`${tampered}\n${sig}`, { logKey: log.verifier }), 'checkpoint_invalid');
      expect(err.evidence.keyName).toBe(ORIGIN);
    }
  });

  it('ignores a line with a wrong key hash, and rejects a right hash with a bad signature', () => {
    const blob = fromBase64(note.slice(body.length + 1).split(' ')[2]!.trim());
    const wrongHash = blob.slice();
    wrongHash[0]! ^= 1;
    const withWrongHash = `${body}\n— ${ORIGIN} ${toBase64(wrongHash)}\n`;
    expect(verifyNoteSignature(withWrongHash, log.verifier)).toBe(false);
    expectLogError(() => verifyCheckpoint(withWrongHash, { logKey: log.verifier }), 'checkpoint_invalid');
    const badSig = blob.slice();
    badSig[10]! ^= 1;
    expectLogError(() => verifyNoteSignature(`${body}\n— ${ORIGIN} ${toBase64(badSig)}\n`, log.verifier), 'checkpoint_invalid');
    expectLogError(() => verifyNoteSignature(`${body}\n— ${ORIGIN} ${toBase64(blob.slice(0, 40))}\n`, log.verifier), 'checkpoint_invalid');
  });

  it('rejects an unexpected origin', () => {
    expectLogError(() => verifyCheckpoint(note, { logKey: log.verifier, origin: 'other.example/log' }), 'checkpoint_invalid');
  });
});

describe('k-of-n witnesses', () => {
  const witnesses = ['node-a.example', 'node-b.example', 'node-c.example'].map(keyPair);
  const body = formatCheckpoint({ origin: ORIGIN, size: 42, root });
  const lines = [log, ...witnesses].map((k) => signNote(body, k.signer));

  it('counts each witness that co-signed the same body, once', () => {
    const note = assembleNote(body, [lines[0]!, lines[1]!, lines[3]!, lines[3]!]);
    const verifiers = witnesses.map((w) => w.verifier);
    expect(countValidSignatures(note, verifiers)).toBe(2);
    expect(countValidSignatures(note, [...verifiers, verifiers[0]!])).toBe(2); // a repeated verifier counts once
    expect(countValidSignatures(note, [log.verifier, ...verifiers])).toBe(3);
    expect(countValidSignatures(note, [])).toBe(0);
    expect(verifyCheckpoint(note, { logKey: log.verifier }).size).toBe(42n);
  });

  it('ignores unknown keys (e.g. a timestamped 0x04 cosignature line) and rejects a forged witness line', () => {
    const unknown = `— node-a.example ${toBase64(new Uint8Array(4 + 8 + 64).fill(9))}\n`;
    expect(countValidSignatures(assembleNote(body, [lines[0]!, unknown, lines[2]!]), witnesses.map((w) => w.verifier))).toBe(1);
    const forged = lines[1]!.replace(/[A-Za-z0-9+/]{8}=\n$/, 'AAAAAAAA=\n');
    expectLogError(() => countValidSignatures(assembleNote(body, [lines[0]!, forged]), witnesses.map((w) => w.verifier)), 'checkpoint_invalid');
  });
});

describe('malformed input is rejected with checkpoint_invalid', () => {
  const body = formatCheckpoint({ origin: ORIGIN, size: 3, root });
  const sig = signNote(body, log.signer);
  const blob = sig.split(' ')[2]!.trim();

  const notes: [string, string | Uint8Array][] = [
    ['no blank line', `${body}${sig}`],
    ['no signature', `${body}\n`],
    ['signature block without final newline', `${body}\n${sig.slice(0, -1)}`],
    ['ASCII dashes', `${body}\n-- ${ORIGIN} ${blob}\n`],
    ['no space after the dash', `${body}\n—${ORIGIN} ${blob}\n`],
    ['empty key name', `${body}\n—  ${blob}\n`],
    ['name with plus', `${body}\n— a+b ${blob}\n`],
    ['name with no-break space', `${body}\n— a\u00a0b ${blob}\n`],
    ['missing signature', `${body}\n— ${ORIGIN}\n`],
    ['empty signature', `${body}\n— ${ORIGIN} \n`],
    ['signature with a space', `${body}\n— ${ORIGIN} ${blob.slice(0, 8)} ${blob.slice(8)}\n`],
    ['not base64', `${body}\n— ${ORIGIN} ${blob.replace(/[A-Za-z]/, '*')}\n`],
    ['unpadded base64', `${body}\n— ${ORIGIN} ${blob.replace(/=$/, '')}\n`],
    ['non-canonical base64 pad bits', `${body}\n— ${ORIGIN} QR==\n`],
    ['signature under 5 bytes', `${body}\n— ${ORIGIN} ${toBase64(new Uint8Array(4))}\n`],
    ['carriage return', `${body}\n${sig.replace('\n', '\r\n')}`],
    ['tab in body', `${body.replace('\n', '\t\n')}\n${sig}`],
    ['NUL', `${body}\u0000\n${sig}`],
    ['lone surrogate', `${body.replace(ORIGIN, `${ORIGIN}\ud800`)}\n${sig}`],
    ['invalid UTF-8 bytes', Uint8Array.from([...new TextEncoder().encode(`${body}\n${sig}`), 0xc3])],
    ['101 signatures', `${body}\n${sig.repeat(101)}`],
    ['more than 1 MiB', `${'x'.repeat(MAX_NOTE_BYTES)}\n\n${sig}`],
    ['more than 1 MiB of UTF-8', `${'é'.repeat(MAX_NOTE_BYTES / 2)}\n\n${sig}`],
  ];
  it.each(notes)('note: %s', (_name, text) => {
    expectLogError(() => parseSignedNote(text), 'checkpoint_invalid');
  });

  const root64 = toBase64(root);
  const bodies: [string, string][] = [
    ['two lines', `${ORIGIN}\n3\n`],
    ['no final newline', `${ORIGIN}\n3\n${root64}`],
    ['empty origin', `\n3\n${root64}\n`],
    ['empty extension line', `${ORIGIN}\n3\n${root64}\n\nx\n`],
    ['leading zero', `${ORIGIN}\n03\n${root64}\n`],
    ['plus sign', `${ORIGIN}\n+3\n${root64}\n`],
    ['negative', `${ORIGIN}\n-3\n${root64}\n`],
    ['decimal point', `${ORIGIN}\n3.0\n${root64}\n`],
    ['space', `${ORIGIN}\n 3\n${root64}\n`],
    ['hex', `${ORIGIN}\n0x3\n${root64}\n`],
    ['2^64', `${ORIGIN}\n18446744073709551616\n${root64}\n`],
    ['21 digits', `${ORIGIN}\n100000000000000000000\n${root64}\n`],
    ['root not base64', `${ORIGIN}\n3\n${root64.replace(/[A-Za-z]/, '_')}\n`],
    ['root of 31 bytes', `${ORIGIN}\n3\n${toBase64(root.slice(0, 31))}\n`],
    ['root non-canonical', `${ORIGIN}\n3\n${root64.slice(0, 42)}B=\n`],
    ['root in hex', `${ORIGIN}\n3\n${bytesToHex(root)}\n`],
  ];
  it.each(bodies)('checkpoint body: %s', (_name, text) => {
    expectLogError(() => parseCheckpoint(text), 'checkpoint_invalid');
  });

  it('accepts the largest size and size 0', () => {
    expect(parseCheckpoint(`${ORIGIN}\n18446744073709551615\n${root64}\n`).size).toBe((1n << 64n) - 1n);
    expect(parseCheckpoint(`${ORIGIN}\n0\n${root64}\n`).size).toBe(0n);
  });

  it('refuses to format or sign what it could not parse back (TypeError)', () => {
    expect(() => formatCheckpoint({ origin: 'a\nb', size: 1, root })).toThrow(TypeError);
    expect(() => formatCheckpoint({ origin: ORIGIN, size: -1, root })).toThrow(TypeError);
    expect(() => formatCheckpoint({ origin: ORIGIN, size: 1.5, root })).toThrow(TypeError);
    expect(() => formatCheckpoint({ origin: ORIGIN, size: 1n << 64n, root })).toThrow(TypeError);
    expect(() => formatCheckpoint({ origin: ORIGIN, size: 1, root: root.slice(1) })).toThrow(TypeError);
    expect(() => formatCheckpoint({ origin: ORIGIN, size: 1, root, extensions: [''] })).toThrow(TypeError);
    expect(() => signNote('no newline', log.signer)).toThrow(TypeError);
    expect(() => signNote(body, { name: 'bad name', secretKey: log.signer.secretKey })).toThrow(TypeError);
    expect(() => signNote(body, { name: ORIGIN, secretKey: new Uint8Array(31) })).toThrow(TypeError);
    expect(() => assembleNote(body, [])).toThrow(TypeError);
    expectLogError(() => assembleNote(body, ['— x y\n']), 'checkpoint_invalid');
  });

  it('errors are JSON-safe evidence', () => {
    const err = expectLogError(() => verifyNoteSignature(`${body}\n— ${ORIGIN} ${toBase64(new Uint8Array([...computeKeyHash(ORIGIN, log.verifier.publicKey), ...new Uint8Array(64)]))}\n`, log.verifier), 'checkpoint_invalid');
    expect(JSON.parse(JSON.stringify(err))).toEqual({ name: 'LogVerificationError', code: 'checkpoint_invalid', message: err.message, evidence: err.evidence });
  });
});
