import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { csvBatches } from './csv-batches.ts';

const decode = (b: Uint8Array) => new TextDecoder().decode(b);
async function collect(source: Parameters<typeof csvBatches>[0], max: number): Promise<string[]> {
  const out: string[] = [];
  for await (const b of csvBatches(source, max)) out.push(decode(b));
  return out;
}

describe('csvBatches', () => {
  it('cuts at line ends, each batch at most maxBytes', async () => {
    expect(await collect('h\naa\nbb\ncc\n', 6)).toEqual(['h\naa\n', 'bb\ncc\n']);
  });
  it('never cuts inside a quoted field holding a line break', async () => {
    expect(await collect('h\n"a\nb",1\nc,2\n', 4)).toEqual(['h\n', '"a\nb",1\n', 'c,2\n']);
  });
  it('property: the batches concatenate to the input, cut only at record ends outside quotes, within the limit', async () => {
    const field = fc.oneof(fc.stringMatching(/^[a-z0-9]{0,6}$/), fc.stringMatching(/^[a-z\n,]{0,6}$/).map((s) => `"${s.replaceAll('"', '""')}"`));
    const line = fc.array(field, { minLength: 1, maxLength: 4 }).map((fs) => `${fs.join(',')}\n`);
    await fc.assert(fc.asyncProperty(fc.array(line, { maxLength: 30 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 17 }), async (lines, max, chunk) => {
      const text = lines.join('');
      const bytes = new TextEncoder().encode(text);
      const chunks = Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.slice(i * chunk, (i + 1) * chunk));
      const batches = await collect(chunks, max);
      expect(batches.join('')).toBe(text);
      for (const b of batches) {
        expect(b.endsWith('\n') || b === batches.at(-1)).toBe(true);
        expect((b.match(/"/g) ?? []).length % 2).toBe(0); // never inside quotes
        // Over the limit only when one record alone is longer.
        if (b.length > max) expect(lines).toContain(b);
      }
    }));
  });
});
