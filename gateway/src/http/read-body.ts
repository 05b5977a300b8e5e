/**
 * Reading a request body for one operation, after its authentication (see `mountOperation`):
 * only the media types the spec declares for it, and never more than its limit. body-parser
 * refuses a declared Content-Length over the limit before reading a byte (413), and stops
 * reading a chunked body once it passes the limit.
 */
import express, { type RequestHandler } from 'express';
import { jsonBody } from './json-body.ts';

/**
 * The body reader of an operation whose spec `requestBody` lists `types`.
 *
 * @example
 * router.post('/v1/datasets/:id/consent', authenticate, readBody(['text/csv'], '32mb'), handler);
 */
export function readBody(types: readonly string[], limit: string): RequestHandler {
  const readers: RequestHandler[] = [];
  if (types.includes('application/json')) readers.push(jsonBody(limit));
  const text = types.filter((t) => t.startsWith('text/'));
  if (text.length) readers.push(express.text({ type: text, limit }));
  // Each reader reads only its own media type and passes the others on.
  return (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined || i === readers.length) return next(err);
      readers[i++]!(req, res, step);
    };
    step();
  };
}
