/**
 * The JSON body reader shared by hub and node: a size limit, and the raw bytes kept on the
 * request so that signatures can be checked over exactly what was sent.
 */
import express, { type RequestHandler } from 'express';

/**
 * express.json with a limit that keeps `req.rawBody`.
 *
 * @example
 * app.use(jsonBody('1mb'));
 */
export function jsonBody(limit: string): RequestHandler {
  return express.json({
    limit,
    verify: (req, _res, buf) => {
      (req as unknown as { rawBody: Uint8Array }).rawBody = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    },
  });
}
