/**
 * RFC 8785 (JSON Canonicalization Scheme) known answers: §3.2.2 serialization of
 * primitives, §3.2.3 property sorting, Appendix B number serialization (as IEEE-754 bit
 * patterns), and node:crypto SHA-256 for the digests.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, canonicalDigest, canonicalSha256 } from './canonical.ts';

const text = (v: unknown): string => new TextDecoder().decode(canonicalBytes(v));

/** The double with the given IEEE-754 bit pattern. */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('RFC 8785 §3.2.2 / §3.2.3 examples', () => {
  it('§3.2.2: numbers, string escapes and literals', () => {
    // The RFC's input, parsed as JSON so that the number literals go through the parser.
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const want = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(text(JSON.parse(input))).toBe(want);
  });

  it('§3.2.3: properties sorted by UTF-16 code units', () => {
    const input = String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`;
    const want =
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
    expect(text(JSON.parse(input))).toBe(want);
  });

  it('§3.2.3 output is UTF-8 (bytes of the sorted example)', () => {
    const got = canonicalBytes({ '\u20ac': 1, '\u00f6': 2 });
    // {"ö":2,"€":1}: ö = C3 B6, € = E2 82 AC.
    expect(Buffer.from(got).toString('hex')).toBe(Buffer.from('{"', 'latin1').toString('hex') + 'c3b6' + Buffer.from('":2,"', 'latin1').toString('hex') + 'e282ac' + Buffer.from('":1}', 'latin1').toString('hex'));
  });
});

describe('number serialization (RFC 8785 Appendix B)', () => {
  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'], // −0
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('bits %s → %s', (bits, want) => {
    expect(text(fromBits(bits))).toBe(want);
    expect(text([fromBits(bits)])).toBe(`[${want}]`);
  });

  it.each([
    ['1E-7', { given: 1e-7, want: '1e-7' }],
    ['1e21', { given: 1e21, want: '1e+21' }],
    ['1e20', { given: 1e20, want: '100000000000000000000' }],
    ['100.0', { given: 100.0, want: '100' }],
    ['-1.5e-9', { given: -1.5e-9, want: '-1.5e-9' }],
  ])('%s', (_name, { given, want }) => {
    expect(text(given)).toBe(want);
  });

  it.each([
    ['NaN', { given: Number.NaN }],
    ['Infinity', { given: Number.POSITIVE_INFINITY }],
    ['−Infinity inside an object', { given: { a: [1, Number.NEGATIVE_INFINITY] } }],
  ])('refuses %s', (_name, { given }) => {
    expect(() => canonicalBytes(given)).toThrow();
  });
});

describe('strings and structure', () => {
  it.each([
    ['control characters use \\b \\t \\n \\f \\r or lowercase \\u00xx', { given: '\b\t\n\f\r\u0000\u001f', want: '"\\b\\t\\n\\f\\r\\u0000\\u001f"' }],
    ['quote and backslash are escaped, slash and DEL are not', { given: '"\\/\u007f', want: '"\\"\\\\/\u007f"' }],
    ['non-ASCII is emitted as is', { given: 'é€😀', want: '"é€😀"' }],
    ['U+2028 is emitted as is', { given: '\u2028', want: '"\u2028"' }],
  ])('%s', (_name, { given, want }) => {
    expect(text(given)).toBe(want);
  });

  it('refuses a lone surrogate', () => {
    expect(() => canonicalBytes('\ud800')).toThrow();
    expect(() => canonicalBytes({ k: 'a\udc00b' })).toThrow();
  });

  it.each([
    ['nested objects are sorted recursively', { given: { b: { d: 1, c: [{ z: 0, y: 1 }] }, a: null }, want: '{"a":null,"b":{"c":[{"y":1,"z":0}],"d":1}}' }],
    ['integer-like keys sort as strings', { given: { 10: 'x', 2: 'y', a: 'z', '': 'e' }, want: '{"":"e","10":"x","2":"y","a":"z"}' }],
    ['array order is kept', { given: [3, 1, 2], want: '[3,1,2]' }],
    ['undefined properties are dropped', { given: { a: undefined, b: 1 }, want: '{"b":1}' }],
    ['empty containers', { given: { a: {}, b: [] }, want: '{"a":{},"b":[]}' }],
    ['capital letters sort before lower case', { given: { b: 1, B: 2, a: 3, A: 4 }, want: '{"A":4,"B":2,"a":3,"b":1}' }],
  ])('%s', (_name, { given, want }) => {
    expect(text(given)).toBe(want);
  });

  it('refuses a value with no JSON representation with a TypeError', () => {
    expect(() => canonicalBytes(undefined)).toThrow(TypeError);
  });

  it('refuses circular structures', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => canonicalBytes(a)).toThrow();
  });

  it('is idempotent and equals the JSON round trip of itself (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const once = text(v);
        expect(text(JSON.parse(once))).toBe(once);
        expect(JSON.parse(once)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 500 },
    );
  });

  it('does not depend on property insertion order (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(text(reversed)).toBe(text(obj));
      }),
      { numRuns: 300 },
    );
  });
});

describe('digests', () => {
  it('canonicalSha256 and canonicalDigest hash the canonical UTF-8 bytes', () => {
    const value = { b: [1, 'é'], a: 1e21 };
    const want = createHash('sha256').update('{"a":1e+21,"b":[1,"é"]}', 'utf8');
    const hex = want.digest('hex');
    expect(canonicalSha256(value)).toBe(hex);
    expect(Buffer.from(canonicalDigest(value)).toString('hex')).toBe(hex);
  });

  it('known answer: SHA-256 of {} is 44136fa3…', () => {
    expect(canonicalSha256({})).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });
});
