/**
 * Reading a request body for one operation, after its authentication (see `mountOperation`):
 * only the media types the spec declares for it, and never more than its limit.
 *
 * A declared Content-Length over the limit is refused (413) here, before the body parser:
 * body-parser would first read the whole body to the end ("dump" it, to keep the connection
 * usable) and only then answer. Refusing first lets the error handler close the connection
 * with nothing read. A chunked body that grows past the limit is stopped by body-parser.
 */
import express, { type RequestHandler } from 'express';
import { GatewayError } from '../errors.ts';
import { jsonBody } from './json-body.ts';

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2 };

/**
 * Bytes in a limit written as the spec writes them (`256kb`, `32mb`).
 *
 * @example
 * limitBytes('256kb'); // 262144
 */
export function limitBytes(limit: string): number {
  const m = /^(\d+)(b|kb|mb)$/.exec(limit.trim().toLowerCase());
  if (!m) throw new Error(`body limit ${JSON.stringify(limit)} is not <n>b, <n>kb or <n>mb`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/**
 * The body reader of an operation whose spec `requestBody` lists `types`.
 *
 * @example
 * router.post('/v1/datasets/:id/consent', authenticate, readBody(['text/csv'], '32mb'), handler);
 */
export function readBody(types: readonly string[], limit: string): RequestHandler {
  const max = limitBytes(limit);
  const readers: RequestHandler[] = [];
  if (types.includes('application/json')) readers.push(jsonBody(limit));
  const text = types.filter((t) => t.startsWith('text/'));
  if (text.length) readers.push(express.text({ type: text, limit }));
  // Each reader reads only its own media type and passes the others on.
  return (req, res, next) => {
    // spec/openapi.yaml info: bodies come without a Content-Encoding. body-parser would inflate
    // gzip/deflate/br — past the limit a compressed body only declares (a decompression bomb),
    // and a corrupt stream surfaced as a 500 (issue 11).
    const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity' && encoding !== '') {
      throw new GatewayError('unsupported_media_type', 'Content-Encoding: request bodies must not be encoded (identity only)', { field: 'Content-Encoding' });
    }
    const declared = Number(req.get('content-length') ?? 0);
    if (declared > max) throw new GatewayError('payload_too_large', `body: ${declared} bytes exceed this operation's limit of ${limit}`, { field: 'body' });
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined || i === readers.length) return next(err);
      readers[i++]!(req, res, step);
    };
    step();
  };
}
