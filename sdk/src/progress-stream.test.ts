/** Server-sent events parsing (HTML Living Standard §9.2.6) over arbitrary chunking. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { newProgressChannel, readProgressEvents, type QueryProgressEvent } from './progress-stream.ts';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(enc.encode(c));
      controller.close();
    },
  });
}

async function read(chunks: string[]): Promise<QueryProgressEvent[]> {
  const out: QueryProgressEvent[] = [];
  await readProgressEvents(streamOf(chunks), (e) => out.push(e));
  return out;
}

const EVENTS: QueryProgressEvent[] = [
  { type: 'accepted', queryId: 'q_1', nodes: ['hosp-a', 'hosp-b'] },
  { type: 'contributed', node: 'hosp-b', ms: 12, done: 1, total: 2 },
  { type: 'contributed', node: 'hosp-a', ms: 30, done: 2, total: 2 },
  { type: 'combining' },
  { type: 'completed', index: 41 },
];
const WIRE = ': watching\n\n' + EVENTS.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');

describe('progress stream', () => {
  it('reads every event, with comments and event lines', async () => {
    expect(await read([WIRE])).toEqual(EVENTS);
  });
  it('is indifferent to how the bytes are chunked and to CRLF or CR line ends', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(WIRE.length), { maxLength: 12 }), fc.constantFrom('\n', '\r\n', '\r'), async (cuts, eol) => {
        const wire = WIRE.replace(/\n/g, eol);
        const points = [...new Set(cuts.map((c) => Math.min(c, wire.length)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let from = 0;
        for (const p of points) {
          chunks.push(wire.slice(from, p));
          from = p;
        }
        chunks.push(wire.slice(from));
        expect(await read(chunks)).toEqual(EVENTS);
      }),
      { numRuns: 200 },
    );
  });
  it('joins multi-line data and skips malformed events', async () => {
    expect(await read(['data: {"type":\ndata: "combining"}\n\n', 'data: not json\n\n', 'data:{"type":"completed","index":3}\n\n'])).toEqual([
      { type: 'combining' },
      { type: 'completed', index: 3 },
    ]);
  });
  it('makes unguessable channel ids of the spec\'s form', () => {
    const ids = new Set(Array.from({ length: 100 }, newProgressChannel));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22,64}$/);
  });
});
