/**
 * Unit tests of the contribution envelope. Oracles: the byte layout written out by hand
 * (Buffer), node:crypto SHA-256 over a hand-written canonical JSON string, and an
 * independent shape check of decoded headers.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VeilgateError } from '../errors.ts';
import { CONTRIBUTION_MEDIA_TYPE, contributionDigest, decodeContribution, encodeContribution, type ContributionClaims, type ContributionHeader } from './contribution.ts';

const CLAIMS: ContributionClaims = {
  v: 1,
  queryId: 'q-1',
  node: 'node-a',
  datasets: ['d1', 'd2'],
  keyId: 'ab'.repeat(32),
  planSha256: 'cd'.repeat(32),
  ciphertextSha256: ['ef'.repeat(32)],
  suppressed: [{ group: 3, dataset: 'd2' }],
};
const HEADER: ContributionHeader = { ...CLAIMS, signature: 'c2lnbmF0dXJl' };

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** The envelope written out by hand from the documented layout. */
function handEnvelope(headerJson: string, parts: Uint8Array[]): Uint8Array {
  const head = Buffer.from(headerJson, 'utf8');
  return new Uint8Array(Buffer.concat([Buffer.from('VGC1', 'latin1'), u32(head.length), head, ...parts.flatMap((p) => [u32(p.length), Buffer.from(p)])]));
}

type Outcome = { ok: true; header: ContributionHeader; ciphertexts: Uint8Array[] } | { ok: false };

/** Decodes; a refusal must be a VeilgateError with code node_error, nothing else. */
function decodeOrRefuse(bytes: Uint8Array): Outcome {
  let result: ReturnType<typeof decodeContribution>;
  try {
    result = decodeContribution(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(VeilgateError);
    expect((error as VeilgateError).code).toBe('node_error');
    return { ok: false };
  }
  return { ok: true, ...result };
}

/** Independent shape check of an accepted header. */
function wellShaped(h: unknown): boolean {
  if (typeof h !== 'object' || h === null || Array.isArray(h)) return false;
  const r = h as Record<string, unknown>;
  const str = (x: unknown): boolean => typeof x === 'string';
  const strs = (x: unknown): boolean => Array.isArray(x) && x.every(str);
  return (
    r.v === 1 && str(r.queryId) && str(r.node) && strs(r.datasets) && str(r.keyId) && str(r.planSha256) && strs(r.ciphertextSha256) && str(r.signature) &&
    Array.isArray(r.suppressed) &&
    r.suppressed.every((s) => typeof s === 'object' && s !== null && Number.isInteger((s as { group: unknown }).group) && Math.abs((s as { group: number }).group) <= Number.MAX_SAFE_INTEGER && str((s as { dataset: unknown }).dataset))
  );
}

/** An accepted envelope must account for every byte: 8 + header + Σ(4 + part). */
function accountsForEveryByte(bytes: Uint8Array, outcome: Outcome): void {
  if (!outcome.ok) return;
  const headLength = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32BE(4);
  expect(8 + headLength + outcome.ciphertexts.reduce((n, c) => n + 4 + c.length, 0)).toBe(bytes.length);
  expect(outcome.ciphertexts.length).toBeLessThanOrEqual(8);
  expect(wellShaped(outcome.header)).toBe(true);
}

describe('encodeContribution', () => {
  it('writes "VGC1", the big-endian header length, the JSON header, then length-prefixed parts', () => {
    const parts = [Uint8Array.from([1, 2, 3]), new Uint8Array(0), Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)];
    const got = encodeContribution(HEADER, parts);
    expect(Buffer.from(got).equals(Buffer.from(handEnvelope(JSON.stringify(HEADER), parts)))).toBe(true);
    expect(Buffer.from(got.subarray(0, 4)).toString('latin1')).toBe('VGC1');
  });

  it('declares its media type', () => {
    expect(CONTRIBUTION_MEDIA_TYPE).toBe('application/vnd.veilgate.contribution');
  });
});

describe('decodeContribution', () => {
  it.each([
    ['no ciphertexts', { given: [] as Uint8Array[] }],
    ['one empty ciphertext', { given: [new Uint8Array(0)] }],
    ['three ciphertexts', { given: [Uint8Array.from([9]), Uint8Array.from([1, 2, 3, 4]), new Uint8Array(1000).fill(7)] }],
    ['eight ciphertexts (the maximum)', { given: Array.from({ length: 8 }, (_, i) => Uint8Array.from([i, i + 1])) }],
  ])('round-trips %s', (_name, { given }) => {
    const { header, ciphertexts } = decodeContribution(encodeContribution(HEADER, given));
    expect(header).toEqual(HEADER);
    expect(ciphertexts.map((c) => [...c])).toEqual(given.map((c) => [...c]));
  });

  it('round-trips non-ASCII strings in the header', () => {
    const header: ContributionHeader = { ...HEADER, node: 'hôpital-€-😀', datasets: ['\u2028', '"\\'] };
    expect(decodeContribution(encodeContribution(header, [])).header).toEqual(header);
  });

  it('decodes an envelope that is a view into a larger buffer', () => {
    const envelope = encodeContribution(HEADER, [Uint8Array.from([5, 6, 7])]);
    const big = new Uint8Array(envelope.length + 10).fill(0xee);
    big.set(envelope, 3);
    const view = big.subarray(3, 3 + envelope.length);
    const { header, ciphertexts } = decodeContribution(view);
    expect(header).toEqual(HEADER);
    expect(ciphertexts.map((c) => [...c])).toEqual([[5, 6, 7]]);
    expect(decodeContribution(Buffer.from(envelope)).header).toEqual(HEADER);
  });

  it('decodes an envelope written by hand from the documented layout', () => {
    const json = '{"v":1,"queryId":"q","node":"n","datasets":[],"keyId":"k","planSha256":"p","ciphertextSha256":["x"],"suppressed":[],"signature":"s"}';
    const { header, ciphertexts } = decodeContribution(handEnvelope(json, [Uint8Array.from([0xff, 0])]));
    expect(header).toEqual(JSON.parse(json));
    expect(ciphertexts.map((c) => [...c])).toEqual([[0xff, 0]]);
  });

  const valid = (): Uint8Array => encodeContribution(HEADER, [Uint8Array.from([1, 2, 3])]);
  const withHeader = (h: unknown): Uint8Array => handEnvelope(JSON.stringify(h), []);
  const without = (k: keyof ContributionHeader): Record<string, unknown> => {
    const h: Record<string, unknown> = { ...HEADER };
    delete h[k];
    return h;
  };
  it.each([
    ['empty input', { given: () => new Uint8Array(0) }],
    ['magic only', { given: () => Buffer.from('VGC1') }],
    ['wrong magic', { given: () => handEnvelope(JSON.stringify(HEADER), []).map((b, i) => (i === 3 ? 0x32 : b)) }],
    ['header length beyond the input', { given: () => Uint8Array.from([...Buffer.from('VGC1'), 0, 0, 0, 10, 0x7b, 0x7d]) }],
    ['header length 0xFFFFFFFF', { given: () => Uint8Array.from([...Buffer.from('VGC1'), 0xff, 0xff, 0xff, 0xff]) }],
    ['header over 1 MiB', { given: () => handEnvelope(JSON.stringify({ ...HEADER, pad: 'x'.repeat(1 << 20) }), []) }],
    ['header not UTF-8', { given: () => Uint8Array.from([...Buffer.from('VGC1'), 0, 0, 0, 2, 0xc3, 0x28]) }],
    ['header not JSON', { given: () => handEnvelope('{"v":1,', []) }],
    ['header JSON null', { given: () => withHeader(null) }],
    ['header JSON number', { given: () => withHeader(1) }],
    ['header JSON string', { given: () => withHeader('header') }],
    ['header JSON array', { given: () => withHeader([HEADER]) }],
    ['header deeply nested', { given: () => handEnvelope('['.repeat(100_000) + ']'.repeat(100_000), []) }],
    ['v = 2', { given: () => withHeader({ ...HEADER, v: 2 }) }],
    ['v = "1"', { given: () => withHeader({ ...HEADER, v: '1' }) }],
    ['queryId missing', { given: () => withHeader(without('queryId')) }],
    ['node missing', { given: () => withHeader(without('node')) }],
    ['signature missing', { given: () => withHeader(without('signature')) }],
    ['keyId a number', { given: () => withHeader({ ...HEADER, keyId: 5 }) }],
    ['planSha256 null', { given: () => withHeader({ ...HEADER, planSha256: null }) }],
    ['datasets not an array', { given: () => withHeader({ ...HEADER, datasets: 'd1' }) }],
    ['datasets with a number', { given: () => withHeader({ ...HEADER, datasets: ['d1', 2] }) }],
    ['ciphertextSha256 missing', { given: () => withHeader(without('ciphertextSha256')) }],
    ['suppressed missing', { given: () => withHeader(without('suppressed')) }],
    ['suppressed entry null', { given: () => withHeader({ ...HEADER, suppressed: [null] }) }],
    ['suppressed group fractional', { given: () => withHeader({ ...HEADER, suppressed: [{ group: 1.5, dataset: 'd' }] }) }],
    ['suppressed group a string', { given: () => withHeader({ ...HEADER, suppressed: [{ group: '1', dataset: 'd' }] }) }],
    ['suppressed group beyond 2^53', { given: () => withHeader({ ...HEADER, suppressed: [{ group: 2 ** 53, dataset: 'd' }] }) }],
    ['suppressed dataset missing', { given: () => withHeader({ ...HEADER, suppressed: [{ group: 1 }] }) }],
    ['truncated part length', { given: () => valid().subarray(0, valid().length - 5) }],
    ['part length prefix cut short', { given: () => Uint8Array.from([...withHeader(HEADER), 0, 0]) }],
    ['part longer than the rest', { given: () => Uint8Array.from([...withHeader(HEADER), 0, 0, 0, 9, 1, 2]) }],
    ['nine ciphertexts', { given: () => encodeContribution(HEADER, Array.from({ length: 9 }, () => new Uint8Array(1))) }],
    ['nine empty ciphertexts', { given: () => encodeContribution(HEADER, Array.from({ length: 9 }, () => new Uint8Array(0))) }],
  ])('refuses %s with node_error', (_name, { given }) => {
    expect(decodeOrRefuse(given()).ok).toBe(false);
  });

  it('accepts extra header fields and a header of exactly 1 MiB', () => {
    const base = JSON.stringify({ ...HEADER, pad: '' });
    const json = JSON.stringify({ ...HEADER, pad: 'x'.repeat((1 << 20) - Buffer.byteLength(base)) });
    expect(Buffer.byteLength(json)).toBe(1 << 20);
    const outcome = decodeOrRefuse(handEnvelope(json, [Uint8Array.from([1])]));
    expect(outcome.ok).toBe(true);
  });
});

describe('decodeContribution never throws anything but node_error (properties)', () => {
  it('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        accountsForEveryByte(bytes, decodeOrRefuse(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('the magic followed by arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (rest) => {
        const bytes = Uint8Array.from([0x56, 0x47, 0x43, 0x31, ...rest]);
        accountsForEveryByte(bytes, decodeOrRefuse(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary JSON and arbitrary parts, correctly framed: accepted exactly when the header is well shaped', () => {
    const nearHeader = fc.record(
      {
        v: fc.oneof(fc.constant(1), fc.jsonValue()),
        queryId: fc.oneof(fc.string(), fc.jsonValue()),
        node: fc.string(),
        datasets: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
        keyId: fc.string(),
        planSha256: fc.oneof(fc.string(), fc.jsonValue()),
        ciphertextSha256: fc.array(fc.oneof(fc.string(), fc.integer())),
        suppressed: fc.array(fc.record({ group: fc.oneof(fc.integer(), fc.double(), fc.string()), dataset: fc.oneof(fc.string(), fc.constant(null)) }, { requiredKeys: [] })),
        signature: fc.string(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearHeader), fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 10 }), (header, parts) => {
        const outcome = decodeOrRefuse(handEnvelope(JSON.stringify(header) ?? 'null', parts));
        const shaped = wellShaped(JSON.parse(JSON.stringify(header) ?? 'null'));
        expect(outcome.ok).toBe(shaped && parts.length <= 8);
        if (outcome.ok) expect(outcome.ciphertexts.map((c) => [...c])).toEqual(parts.map((p) => [...p]));
      }),
      { numRuns: 1000 },
    );
  });

  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.oneof(fc.nat({ max: 64 }), fc.integer({ min: 0, max: 0xffffffff })) }),
    fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 12 }) }),
  );
  type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

  function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
    const b = Buffer.from(bytes);
    const at = 'at' in m ? m.at % (b.length + 1) : 0;
    switch (m.kind) {
      case 'flip':
        if (at < b.length) b[at]! ^= m.mask;
        return new Uint8Array(b);
      case 'truncate':
        return new Uint8Array(b.subarray(0, at));
      case 'insert':
        return new Uint8Array(Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]));
      case 'delete':
        return new Uint8Array(Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]));
      case 'u32':
        if (at + 4 <= b.length) b.writeUInt32BE(m.value, at);
        return new Uint8Array(b);
      case 'append':
        return new Uint8Array(Buffer.concat([b, m.bytes]));
    }
  }

  it('mutated valid envelopes', () => {
    const base = fc
      .tuple(fc.array(fc.uint8Array({ maxLength: 16 }), { maxLength: 8 }), fc.array(fc.record({ group: fc.nat(), dataset: fc.string() }), { maxLength: 3 }))
      .map(([parts, suppressed]) => encodeContribution({ ...HEADER, suppressed }, parts));
    fc.assert(
      fc.property(base, fc.array(mutation, { minLength: 1, maxLength: 4 }), (envelope, mutations) => {
        const bytes = mutations.reduce(mutate, envelope);
        accountsForEveryByte(bytes, decodeOrRefuse(bytes));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('contributionDigest', () => {
  // RFC 8785: keys sorted by UTF-16 code units, no whitespace.
  const CANONICAL =
    '{"ciphertextSha256":["' + 'ef'.repeat(32) + '"],"datasets":["d1","d2"],"keyId":"' + 'ab'.repeat(32) + '","node":"node-a","planSha256":"' + 'cd'.repeat(32) +
    '","queryId":"q-1","suppressed":[{"dataset":"d2","group":3}],"v":1}';

  it('is SHA-256 of the canonical JSON of the claims', () => {
    const want = createHash('sha256').update(CANONICAL, 'utf8').digest();
    expect(Buffer.from(contributionDigest(CLAIMS)).equals(want)).toBe(true);
  });

  it('ignores the signature and any other extra field', () => {
    const want = createHash('sha256').update(CANONICAL, 'utf8').digest();
    const extra = { ...HEADER, extra: 'ignored' } as ContributionClaims;
    expect(Buffer.from(contributionDigest(extra)).equals(want)).toBe(true);
  });

  it.each([
    ['queryId', { given: { ...CLAIMS, queryId: 'q-2' } }],
    ['node', { given: { ...CLAIMS, node: 'node-b' } }],
    ['dataset order', { given: { ...CLAIMS, datasets: ['d2', 'd1'] } }],
    ['keyId', { given: { ...CLAIMS, keyId: 'ac'.repeat(32) } }],
    ['planSha256', { given: { ...CLAIMS, planSha256: 'ce'.repeat(32) } }],
    ['ciphertext digests', { given: { ...CLAIMS, ciphertextSha256: ['ef'.repeat(32), 'ef'.repeat(32)] } }],
    ['suppressed', { given: { ...CLAIMS, suppressed: [] } }],
  ])('changes when %s changes', (_name, { given }) => {
    expect(Buffer.from(contributionDigest(given)).equals(Buffer.from(contributionDigest(CLAIMS)))).toBe(false);
  });
});
