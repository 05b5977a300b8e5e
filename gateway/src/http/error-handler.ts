/**
 * The one error middleware (registered last): maps a stable `code` to its status and a
 * `{code, message, field?, node?}` body. Unknown errors are logged by class name only and
 * become a bare 500 — their messages may quote input, and input must never reach a log.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ConsentError, VeilgateError, type ErrorCode } from '@veilgate/sdk';
import { GatewayError, STATUS_OF } from '../errors.ts';

/** Maps body-parser's failures onto our codes. */
function fromBodyParser(err: { type?: string; status?: number }): VeilgateError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new VeilgateError('invalid_json', 'request body is not valid JSON');
    case 'entity.too.large':
      return new VeilgateError('payload_too_large', 'request body exceeds the size limit');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new VeilgateError('unsupported_media_type', 'request body encoding is not supported');
    default:
      return fromClientError(err);
  }
}

/**
 * Any other error that an HTTP layer (router, body-parser, http-errors) marks as the client's
 * fault — a path that is not valid percent-encoding (the router's URIError with status 400), a
 * request aborted mid-body — is a 400, never a 500 (issue 11). Its message may quote input, so
 * none of it is kept.
 */
function fromClientError(err: { status?: number; statusCode?: number; name?: string }): VeilgateError | undefined {
  const status = err.status ?? err.statusCode;
  if (err.name === 'URIError' || (status === 400 && err.name !== undefined && /decode/i.test(String((err as { message?: string }).message)))) {
    return new VeilgateError('invalid_request', 'path is not valid percent-encoding', { field: 'path' });
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new VeilgateError('invalid_request', 'request could not be read', { field: 'body' });
  }
  return undefined;
}

/** Consent and DPoP failures (RFC 9449 / token checks) keep their code; `cause` is dropped (jose's holds the payload). */
function fromConsent(err: ConsentError): VeilgateError {
  return new VeilgateError(err.code as ErrorCode, err.message, err.field === undefined ? undefined : { field: err.field });
}

/**
 * Builds the error middleware.
 *
 * @example
 * app.use(errorHandler((line) => console.error(line)));
 */
export function errorHandler(log: (line: string) => void): ErrorRequestHandler {
  return (err, req, res, _next) => {
    // Refused before the body was read (e.g. no credentials): close the connection instead of
    // reading the rest of a body nobody will use (Node would otherwise drain it to keep the
    // connection alive).
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.complete) res.set('Connection', 'close');
    const known = err instanceof VeilgateError ? err : err instanceof ConsentError ? fromConsent(err) : fromBodyParser(err ?? {});
    if (known && known.code in STATUS_OF) {
      const code = known.code as ErrorCode;
      const body: Record<string, string> = { code, message: known.message };
      if (known.field !== undefined) body.field = known.field;
      if (known instanceof GatewayError && known.node !== undefined) body.node = known.node;
      if (known instanceof GatewayError && known.retryAfterSeconds !== undefined) res.set('Retry-After', String(known.retryAfterSeconds));
      if (code === 'unauthorized') res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      // RFC 9449 §7.1: a rejected proof is answered with a DPoP challenge.
      if (code.startsWith('dpop_') || code === 'token_binding_invalid') res.set('WWW-Authenticate', `DPoP algs="EdDSA", error="invalid_dpop_proof"`);
      res.status(STATUS_OF[code]).json(body);
      return;
    }
    log(`internal error: ${err?.name ?? typeof err}${err?.stack ? `\n${String(err.stack).split('\n').slice(1, 6).join('\n')}` : ''}`);
    res.status(500).json({ code: 'internal', message: 'internal error' });
  };
}

/** 404 for every route the spec does not declare. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new VeilgateError('not_found', `no route ${req.method} ${req.path.slice(0, 200)}`));
};
