/**
 * Reads a query progress stream (spec `watchQueryProgress`): server-sent events, parsed per
 * the HTML Living Standard §9.2.6 (lines; `data:` fields joined by newlines; a blank line
 * dispatches; `:` lines are comments). Works on any fetch ReadableStream, in Node and browsers.
 */
import type { components } from './generated/openapi.ts';
import { toBase64Url } from './internal/bytes.ts';

export type QueryProgressEvent = components['schemas']['QueryProgressEvent'];

/** A fresh, unguessable progress channel id (16 random bytes, base64url). */
export function newProgressChannel(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}

/** Calls `onEvent` for each event of the stream until it ends or `signal` aborts. */
export async function readProgressEvents(stream: ReadableStream<Uint8Array>, onEvent: (event: QueryProgressEvent) => void, signal?: AbortSignal): Promise<void> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  if (signal?.aborted) {
    await reader.cancel().catch(() => {});
    return;
  }
  signal?.addEventListener('abort', () => void reader.cancel().catch(() => {}), { once: true });
  let buffer = '';
  let data: string[] = [];
  const dispatch = () => {
    if (data.length === 0) return;
    const text = data.join('\n');
    data = [];
    try {
      onEvent(JSON.parse(text) as QueryProgressEvent);
    } catch {
      // A malformed event is skipped: progress is advisory, the result is what counts.
    }
  };
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') dispatch();
      else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      // `event:`, `id:`, `retry:` and comments are not needed: the JSON says its type.
    }
  }
  // An event without its closing blank line is discarded (§9.2.6: at end of file, the
  // pending data buffer is dropped).
}
