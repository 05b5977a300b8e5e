/**
 * Request validation from spec/openapi.yaml, the single description of the HTTP surface.
 * Routes are mounted by operationId: the path, its path, query and header parameters and its
 * JSON body schema all come from the spec (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses), so a
 * handler cannot drift from the document without a test noticing.
 *
 * Hand-written rather than express-openapi-validator or openapi-backend (weighed for issue 11):
 * those mount their own body parsing and security before ours, while the spec's order here is
 * authenticate → guards → read the body within its per-operation limit → verify the hub's
 * signature over the raw bytes → validate (an unauthenticated caller makes the server read
 * nothing and learns nothing from validation); their error shapes differ from `{code, message,
 * field}`; and the spec's discriminators already compile with the Ajv instance below. What they
 * would add — query and header parameters — is the `parameterValidator` below.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { RequestHandler, Router } from 'express';
import { jsonDepth, LIMITS, VeilgateError } from '@veilgate/sdk';
import { readBody } from './read-body.ts';

const SPEC_PATH = fileURLToPath(new URL('../../../spec/openapi.yaml', import.meta.url));
const SPEC_ID = 'https://veilgate.dev/spec/openapi.json';

interface Operation {
  method: 'get' | 'post' | 'put' | 'delete' | 'patch';
  /** JSON response schemas by status code. */
  responses: Map<string, ValidateFunction>;
  /** Names of the security schemes that apply (the spec's global default when unset). */
  security: string[];
  path: string;
  expressPath: string;
  params: ValidateFunction | undefined;
  /** The query string: declared parameters only (an undeclared one is refused). */
  query: ValidateFunction;
  /** Declared request headers (lower-cased names); others pass. */
  headers: ValidateFunction | undefined;
  /** Declared header names, lower-cased → as the spec spells them. */
  headerNames: Map<string, string>;
  body: ValidateFunction | undefined;
  /** The request body's media types, and the most the server reads of it (`x-veilgate-body-limit`). */
  bodyTypes: string[];
  bodyLimit: string;
}

/** The limit where neither the operation nor the document sets one. */
const DEFAULT_BODY_LIMIT = '256kb';

let operations: Map<string, Operation> | undefined;
let ajv: Ajv2020 | undefined;

/** The parsed spec document. */
export function loadSpec(): Record<string, any> {
  return parseYaml(readFileSync(SPEC_PATH, 'utf8')) as Record<string, any>;
}

function buildOperations(): Map<string, Operation> {
  const spec = loadSpec();
  ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false, discriminator: true });
  // Ajv's `discriminator` takes the tag from each branch's const/enum and rejects `mapping`
  // (which openapi-typescript needs for the TypeScript tags): drop it for validation.
  ajv.addSchema({ ...stripMappings(spec), $id: SPEC_ID });
  const result = new Map<string, Operation>();
  for (const [path, item] of Object.entries(spec.paths as Record<string, Record<string, any>>)) {
    for (const method of ['get', 'post', 'put', 'delete', 'patch'] as const) {
      const op = item[method];
      if (!op) continue;
      const declared = (op.parameters ?? []).map((p: any) => (p.$ref ? resolveRef(spec, p.$ref) : p));
      const pathParams = declared.filter((p: any) => p.in === 'path');
      const params = pathParams.length ? parameterValidator(pathParams, true) : undefined;
      const query = parameterValidator(declared.filter((p: any) => p.in === 'query'), false);
      const headerParams = declared.filter((p: any) => p.in === 'header').map((p: any) => ({ ...p, name: String(p.name).toLowerCase() }));
      const headerNames = new Map<string, string>(declared.filter((p: any) => p.in === 'header').map((p: any) => [String(p.name).toLowerCase(), String(p.name)]));
      const headers = headerParams.length ? parameterValidator(headerParams, true) : undefined;
      const bodySchema = op.requestBody?.content?.['application/json']?.schema;
      const body = bodySchema ? ajv.compile(rebase(bodySchema) as object) : undefined;
      const responses = new Map<string, ValidateFunction>();
      for (const [status, response] of Object.entries((op.responses ?? {}) as Record<string, any>)) {
        const resolved = response.$ref ? resolveRef(spec, response.$ref) : response;
        const schema = resolved?.content?.['application/json']?.schema;
        if (schema) responses.set(status, ajv.compile(rebase(schema) as object));
      }
      const security = ((op.security ?? spec.security ?? []) as Record<string, unknown>[]).flatMap((r) => Object.keys(r));
      const bodyTypes = Object.keys(op.requestBody?.content ?? {});
      const bodyLimit = String(op.requestBody?.['x-veilgate-body-limit'] ?? spec['x-veilgate-body-limit'] ?? DEFAULT_BODY_LIMIT);
      result.set(op.operationId, { method, responses, security, path, expressPath: path.replace(/\{(\w+)\}/g, ':$1'), params, query, headers, headerNames, body, bodyTypes, bodyLimit });
    }
  }
  return result;
}

/**
 * An Ajv validator for one location's parameters: each a string (query values arrive as
 * strings, or as arrays when repeated — refused by `type: string` schemas), the required ones
 * required, and — unless `allowOthers` (path, headers) — nothing undeclared.
 */
function parameterValidator(parameters: any[], allowOthers: boolean): ValidateFunction {
  return ajv!.compile({
    type: 'object',
    required: parameters.filter((p) => p.required || p.in === 'path').map((p) => p.name),
    properties: Object.fromEntries(parameters.map((p) => [p.name, rebase(p.schema ?? {}) as object])),
    ...(allowOthers ? {} : { additionalProperties: false }),
  });
}

function stripMappings(node: any): any {
  if (Array.isArray(node)) return node.map(stripMappings);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'discriminator' ? { propertyName: (v as { propertyName: string }).propertyName } : stripMappings(v);
  return out;
}

function resolveRef(spec: Record<string, any>, ref: string): any {
  return ref.slice(2).split('/').reduce((node: any, key) => node?.[key], spec);
}

/** Points a schema's local `#/…` refs at the registered spec document. */
function rebase(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/', `"$ref":"${SPEC_ID}#/`));
}

/** Renders an Ajv instance path (`/query/aggregates/0/element`) as `query.aggregates[0].element`. */
export function fieldOf(instancePath: string, prefix: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  let out = prefix;
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/** Ajv's `allErrors: false` stops at the first error; parameters are named as the spec spells them. */
function describeParameter(errors: ErrorObject[] | null | undefined, spelled: (name: string) => string): VeilgateError {
  const error = errors?.[0];
  const name =
    error?.keyword === 'required' ? (error.params as { missingProperty: string }).missingProperty
    : error?.keyword === 'additionalProperties' ? (error.params as { additionalProperty: string }).additionalProperty
    : (error?.instancePath.split('/')[1] ?? '').replaceAll('~1', '/').replaceAll('~0', '~');
  const field = spelled(name).slice(0, 100);
  const message =
    error?.keyword === 'required' ? 'is required'
    : error?.keyword === 'additionalProperties' ? 'is not a parameter of this operation'
    : error?.keyword === 'type' ? 'must be given once, as a single value'
    : error?.keyword === 'enum' ? `must be one of ${((error.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`
    : (error?.message ?? 'is invalid');
  return new VeilgateError('invalid_request', `${field} ${message}`, { field });
}

function describe(errors: ErrorObject[] | null | undefined, prefix: string): VeilgateError {
  // The deepest error is the most specific one (oneOf branches report at their parent).
  const error = [...(errors ?? [])].sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
  if (!error) return new VeilgateError('invalid_request', `${prefix || 'request'} is invalid`, { field: prefix || 'body' });
  let field = fieldOf(error.instancePath, prefix);
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'required') {
    field = fieldOf(`${error.instancePath}/${(error.params as { missingProperty: string }).missingProperty}`, prefix);
    message = 'is required';
  } else if (error.keyword === 'additionalProperties') {
    field = fieldOf(`${error.instancePath}/${(error.params as { additionalProperty: string }).additionalProperty}`, prefix);
    message = 'is not an allowed property';
  } else if (error.keyword === 'discriminator') {
    field = fieldOf(`${error.instancePath}/${(error.params as { tag: string }).tag}`, prefix);
    message = 'is missing or not one of the known kinds';
  } else if (error.keyword === 'enum' || error.keyword === 'const') {
    const allowed = (error.params as { allowedValues?: unknown[]; allowedValue?: unknown }).allowedValues ?? [(error.params as { allowedValue?: unknown }).allowedValue];
    message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return new VeilgateError('invalid_request', `${field || 'body'} ${message}`, { field: field || 'body' });
}

/**
 * A security scheme that authenticates before the body is read and checks the body after
 * (the hub's message signature covers a digest of the body: spec/protocol.md §5.1).
 */
export interface SecurityScheme {
  authenticate: RequestHandler;
  verifyBody: RequestHandler;
}

/** Middleware per security scheme name of the spec (`apiKey`, `hubSignature`). */
export type SecurityHandlers = Partial<Record<string, RequestHandler | SecurityScheme>>;

/**
 * Mounts a handler for the spec operation `operationId`. The spec decides everything
 * around it, in this order: the method and path; the security scheme's authentication; the
 * guards (every handler but the last, e.g. a role check); only then the body, read up to the
 * operation's `x-veilgate-body-limit` — so a caller without a key, or without the role, never
 * makes the server read or buffer a body; the scheme's body check; validation of path
 * parameters and the JSON body (an unauthorised caller learns nothing from validation
 * errors); and the last handler.
 *
 * @example
 * mountOperation(app, 'runQuery', { apiKey: authenticate(store) }, requireRole('researcher'), async (req, res) => res.json(await run(req.body)));
 */
export function mountOperation(router: Router, operationId: string, security: SecurityHandlers, ...handlers: RequestHandler[]): void {
  operations ??= buildOperations();
  const op = operations.get(operationId);
  if (!op) throw new Error(`spec/openapi.yaml has no operation ${operationId}`);
  const schemes = op.security.map((scheme) => {
    const guard = security[scheme];
    if (!guard) throw new Error(`operation ${operationId} needs a handler for security scheme ${scheme}`);
    return typeof guard === 'function' ? { authenticate: guard } : guard;
  });
  const handler = handlers.at(-1);
  if (!handler) throw new Error(`operation ${operationId} needs a handler`);
  const validate: RequestHandler = (req, _res, next) => {
    if (op.params && !op.params(req.params)) return next(describeParameter(op.params.errors, (n) => n));
    if (!op.query(req.query ?? {})) return next(describeParameter(op.query.errors, (n) => n));
    if (op.headers && !op.headers(req.headers)) return next(describeParameter(op.headers.errors, (n) => op.headerNames.get(n) ?? n));
    if (op.body) {
      if (!req.is('application/json')) {
        return next(new VeilgateError('unsupported_media_type', 'request body must be application/json', { field: 'body' }));
      }
      // Schema validators recurse: refuse a body nested past the limit before they see it
      // (protocol.md "Limits"; a filter 4,000 deep overflowed the stack).
      if (jsonDepth(req.body) > LIMITS.jsonDepth) {
        return next(new VeilgateError('invalid_request', `body nests deeper than ${LIMITS.jsonDepth} levels`, { field: 'body' }));
      }
      if (!op.body(req.body)) return next(describe(op.body.errors, ''));
    }
    next();
  };
  router[op.method](
    op.expressPath,
    ...schemes.map((s) => s.authenticate),
    ...handlers.slice(0, -1),
    ...(op.bodyTypes.length ? [readBody(op.bodyTypes, op.bodyLimit)] : []),
    ...schemes.flatMap((s) => ('verifyBody' in s && s.verifyBody ? [s.verifyBody] : [])),
    validate,
    handler,
  );
  mounted.add(operationId);
}

const mounted = new Set<string>();


/** Operation ids mounted so far in this process, and every operation id of the spec. */
export function operationCoverage(): { mounted: string[]; declared: string[] } {
  operations ??= buildOperations();
  return { mounted: [...mounted].sort(), declared: [...operations.keys()].sort() };
}

/**
 * Checks a JSON response body against the spec's schema for that operation and status;
 * returns the Ajv error text, or undefined when it conforms. For tests that keep the code
 * and the document in step.
 *
 * @example
 * expect(responseProblem('runQuery', 200, body)).toBeUndefined();
 */
export function responseProblem(operationId: string, status: number, body: unknown): string | undefined {
  operations ??= buildOperations();
  const validate = operations.get(operationId)?.responses.get(String(status));
  if (!validate) return `spec declares no JSON response ${status} for ${operationId}`;
  return validate(body) ? undefined : ajv!.errorsText(validate.errors);
}

/**
 * Validates a value against a named component schema (for bodies parsed by hand, such as
 * the hub-signed compute request).
 *
 * @example
 * validateSchema('ComputeRequest', body);
 */
export function validateSchema(schemaName: string, value: unknown): void {
  operations ??= buildOperations();
  const validate = ajv!.getSchema(`${SPEC_ID}#/components/schemas/${schemaName}`);
  if (!validate) throw new Error(`spec/openapi.yaml has no schema ${schemaName}`);
  if (jsonDepth(value) > LIMITS.jsonDepth) throw new VeilgateError('invalid_request', `body nests deeper than ${LIMITS.jsonDepth} levels`, { field: 'body' });
  if (!validate(value)) throw describe(validate.errors, '');
}
