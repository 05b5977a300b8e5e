/**
 * Splits a CSV into batches of whole records for a batched consent import (protocol.md §9
 * "Patient consent"): each batch is the next consecutive bytes of the file, at most
 * `maxBytes` long (unless one record alone is longer), ending at a record end — a newline
 * outside quotes (RFC 4180 §2: a quoted field may hold line breaks; `""` keeps the quote
 * count even). Works on bytes, so it runs on a Node file stream or a browser `File.stream()`.
 */

const NEWLINE = 0x0a;
const QUOTE = 0x22;

/**
 * Yields the batches of a CSV read from `source`.
 *
 * @example
 * for await (const batch of csvBatches(createReadStream('consent.csv'), 2 * 1024 * 1024)) send(batch);
 */
export async function* csvBatches(source: string | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>, maxBytes: number): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  // One growing buffer (doubling), so a large file is copied O(1) times per byte.
  let buffer = new Uint8Array(Math.max(1024, maxBytes + 64 * 1024));
  let length = 0;
  let inQuotes = false;
  /** Bytes of the buffer already scanned, and the end of the last whole record among them. */
  let scanned = 0;
  let recordEnd = 0;
  const cut = (): Uint8Array => {
    const batch = buffer.slice(0, recordEnd);
    buffer.copyWithin(0, recordEnd, length);
    length -= recordEnd;
    scanned -= recordEnd;
    recordEnd = 0;
    return batch;
  };
  const chunks = typeof source === 'string' ? [source] : source;
  for await (const chunk of chunks) {
    const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
    if (length + bytes.length > buffer.length) {
      const grown = new Uint8Array(Math.max(buffer.length * 2, length + bytes.length));
      grown.set(buffer.subarray(0, length));
      buffer = grown;
    }
    buffer.set(bytes, length);
    length += bytes.length;
    for (; scanned < length; scanned++) {
      const b = buffer[scanned];
      if (b === QUOTE) inQuotes = !inQuotes;
      else if (b === NEWLINE && !inQuotes) {
        // Cut before this record would push the batch past the limit.
        if (scanned + 1 > maxBytes && recordEnd > 0) yield cut();
        recordEnd = scanned + 1;
      }
    }
  }
  if (recordEnd > 0 && length > maxBytes) yield cut();
  if (length > 0) yield buffer.slice(0, length);
}
