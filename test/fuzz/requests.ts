/**
 * Malformed requests generated from spec/openapi.yaml: for each operation, a sample that fits
 * its schemas, then one or more mutations — wrong types, missing and extra fields, bad
 * encodings, deep nesting, oversized values, bad path and query parameters, odd headers. A
 * request is a pure function of (operation, seed, mutation choices), so fast-check's seed
 * reproduces it.
 */
import { gzipSync } from 'node:zlib';
import { loadSpec } from '../../gateway/src/http/openapi.ts';
import { mulberry32 } from '../support/prng.ts';

/** One operation of the spec, with its refs resolved where the fuzzer needs them. */
export interface FuzzOperation {
  operationId: string;
  method: string;
  path: string;
  tags: string[];
  parameters: { name: string; in: string; required?: boolean; schema?: any }[];
  bodyTypes: string[];
  bodySchema: any;
  /** Answers a stream (server-sent events): the fuzzer reads only the status. */
  streams: boolean;
}

const spec = loadSpec();

function resolve(node: any): any {
  let n = node;
  for (let i = 0; n && typeof n === 'object' && n.$ref && i < 20; i++) n = n.$ref.slice(2).split('/').reduce((o: any, k: string) => o?.[k], spec);
  return n;
}

/** Every operation of the spec. */
export function fuzzOperations(): FuzzOperation[] {
  const out: FuzzOperation[] = [];
  for (const [path, item] of Object.entries(spec.paths as Record<string, Record<string, any>>)) {
    for (const method of ['get', 'post', 'put', 'delete', 'patch']) {
      const op = item[method];
      if (!op) continue;
      const content = op.requestBody?.content ?? {};
      const streams = Object.values(op.responses ?? {}).some((r: any) => resolve(r)?.content?.['text/event-stream']);
      out.push({
        operationId: op.operationId, method: method.toUpperCase(), path, tags: op.tags ?? [],
        parameters: (op.parameters ?? []).map(resolve), bodyTypes: Object.keys(content), bodySchema: content['application/json']?.schema, streams,
      });
    }
  }
  return out;
}

/** A small deterministic PRNG driven by the fast-check seed. */
export const prng = mulberry32;

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** A value that fits `schema` (roughly: enough to get past validation to the handler). */
export function sample(schema: any, r: () => number, depth = 0): unknown {
  const s = resolve(schema) ?? {};
  if (s.const !== undefined) return s.const;
  if (s.enum) return pick(r, s.enum);
  if (s.oneOf || s.anyOf) return sample(pick(r, s.oneOf ?? s.anyOf), r, depth + 1);
  if (s.allOf) return Object.assign({}, ...s.allOf.map((x: any) => sample(x, r, depth + 1)));
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type ?? (s.properties ? 'object' : undefined)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, any>)) {
        if ((s.required ?? []).includes(k) || (depth < 4 && r() < 0.5)) out[k] = sample(v, r, depth + 1);
      }
      return out;
    }
    case 'array': {
      const n = Math.max(s.minItems ?? 0, depth < 4 ? Math.floor(r() * 3) : 0);
      return Array.from({ length: Math.min(n, s.maxItems ?? n) }, () => sample(s.items ?? {}, r, depth + 1));
    }
    case 'integer':
      return Math.max(s.minimum ?? 0, Math.min(s.maximum ?? 1000, Math.floor(r() * 100)));
    case 'number':
      return Math.max(s.minimum ?? s.exclusiveMinimum ?? 0, Math.min(s.maximum ?? 1000, r() * 100)) + (s.exclusiveMinimum !== undefined ? 0.001 : 0);
    case 'boolean':
      return r() < 0.5;
    case 'string':
      return sampleString(s, r);
    default:
      return null;
  }
}

function sampleString(s: any, r: () => number): string {
  if (s.format === 'date') return '2026-01-0' + (1 + Math.floor(r() * 9));
  if (s.format === 'date-time') return '2026-01-01T00:00:00Z';
  const pattern: string | undefined = s.pattern;
  if (pattern?.includes('[0-9a-f]{64}')) return 'ab'.repeat(32);
  if (pattern?.includes('^[0-9]')) return String(Math.floor(r() * 5));
  if (pattern?.includes('DUO')) return 'DUO:0000006';
  const n = Math.max(s.minLength ?? 1, Math.min(s.maxLength ?? 12, 12));
  return 'a'.repeat(n);
}

/** Wrong-typed, odd and oversized values to put where a field was. */
const WRONG: unknown[] = [null, true, 0, -1, 1e308, -0, '', ' ', '\u0000', 'x'.repeat(10_000), [], [[]], {}, { $ref: '#/x' }, { __proto__: { polluted: 1 } }, '%ZZ', '../../etc/passwd', '𝔘', 9007199254740993, 'NaN'];

/** A mutated request; `body` is bytes (already encoded) or undefined. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
  /** What was done, for the failure report. */
  mutations: string[];
}

function mutateValue(value: unknown, r: () => number, mutations: string[]): unknown {
  // Walk to a random object or array inside the value and change one thing there.
  const containers: (Record<string, unknown> | unknown[])[] = [];
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v && typeof v === 'object') {
      containers.push(v as Record<string, unknown>);
      stack.push(...Object.values(v));
    }
  }
  if (!containers.length) return pick(r, WRONG);
  const c = pick(r, containers);
  const keys = Object.keys(c);
  const what = Math.floor(r() * 3);
  if (what === 0 && keys.length) {
    const k = pick(r, keys);
    mutations.push(`drop ${k}`);
    if (Array.isArray(c)) c.splice(Number(k), 1);
    else delete c[k];
  } else if (what === 1 && keys.length) {
    const k = pick(r, keys);
    const w = pick(r, WRONG);
    mutations.push(`${k} := ${JSON.stringify(w)?.slice(0, 40)}`);
    (c as Record<string, unknown>)[k] = w;
  } else {
    mutations.push('extra property');
    if (Array.isArray(c)) c.push(pick(r, WRONG));
    else c[`extra_${Math.floor(r() * 100)}`] = pick(r, WRONG);
  }
  return value;
}

/** JSON text nested `depth` levels: `not` filters around a leaf, or arrays around 0. */
function deepText(depth: number, filterShaped: boolean): string {
  return filterShaped
    ? `${'{"op":"not","filter":'.repeat(depth)}{"op":"isNull","element":"age"}${'}'.repeat(depth)}`
    : `${'['.repeat(depth)}0${']'.repeat(depth)}`;
}

/**
 * The request for `op` under `seed`: a sample, then mutations of the kinds `kinds` selects
 * (a bit mask over body, path, query, headers), with the caller's credentials if any.
 *
 * @example
 * const req = fuzzRequest(op, 42, 0b1111, 'vg_…');
 */
export function fuzzRequest(op: FuzzOperation, seed: number, kinds: number, apiKey: string | undefined): FuzzRequest {
  const r = prng(seed);
  const mutations: string[] = [];
  const headers: Record<string, string> = {};
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;

  let path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const p = op.parameters.find((x) => x.name === name && x.in === 'path');
    return encodeURIComponent(String(sample(p?.schema ?? { type: 'string' }, r)));
  });
  if (kinds & 2 && op.path.includes('{')) {
    const bad = pick(r, ['%E0%A4%A', '%', '%ZZ', '%C0%80', 'x'.repeat(5000), '..%2F..', '%00', '%F0%9D%94']);
    mutations.push(`path param ${bad.slice(0, 20)}`);
    path = op.path.replace(/\{(\w+)\}/, bad).replace(/\{(\w+)\}/g, 'x');
  }

  const query: string[] = [];
  for (const p of op.parameters.filter((x) => x.in === 'query')) {
    if (p.required || r() < 0.5) query.push(`${encodeURIComponent(p.name)}=${encodeURIComponent(String(sample(p.schema, r)))}`);
  }
  if (kinds & 4) {
    const declared = op.parameters.filter((x) => x.in === 'query');
    const kind = Math.floor(r() * 5);
    if (kind === 0 && declared.length) {
      const p = pick(r, declared);
      mutations.push(`repeat ${p.name}`);
      query.push(`${p.name}=1`, `${p.name}=2`);
    } else if (kind === 1 && declared.length) {
      const p = pick(r, declared);
      mutations.push(`${p.name} wrong`);
      query.push(`${p.name}=${encodeURIComponent(String(pick(r, WRONG)).slice(0, 200))}`);
    } else if (kind === 2 && declared.some((p) => p.required)) {
      mutations.push('drop required query');
      query.splice(0, query.length);
    } else if (kind === 3) {
      mutations.push('bad query encoding');
      query.push('x=%ZZ', '%E0%A4%A=1');
    } else {
      mutations.push('unknown query parameter');
      query.push('debug=1', 'a[b]=c');
    }
  }
  const url = query.length ? `${path}?${query.join('&')}` : path;

  let body: Uint8Array | undefined;
  if (op.bodyTypes.length) {
    const json = op.bodyTypes.includes('application/json');
    headers['content-type'] = json ? 'application/json' : op.bodyTypes[0]!;
    let value: unknown = json ? sample(op.bodySchema, r) : 'subject,purpose,status,recorded_at\ns1,DUO:0000006,granted,2026-01-01T00:00:00Z\n';
    let text: string | undefined;
    if (kinds & 1) {
      const kind = Math.floor(r() * 8);
      if (kind <= 2 && json) value = mutateValue(value, r, mutations);
      else if (kind === 3) {
        const depth = pick(r, [17, 40, 70, 1_000, 5_000]);
        mutations.push(`nested ${depth}`);
        // Written as text: JSON.stringify itself recurses and can overflow this test's stack.
        text = json && value && typeof value === 'object' && 'query' in value
          ? JSON.stringify({ ...value, query: { ...(value as any).query, filter: '__DEEP__' } }).replace('"__DEEP__"', deepText(depth, true))
          : deepText(depth, false);
      } else if (kind === 4) {
        mutations.push('not JSON');
        text = pick(r, ['{', '{"a":', 'null', '"x"', '\u00ff\u00fe{', '[1,2', '{"__proto__":{"x":1}}']);
      } else if (kind === 5) {
        mutations.push('oversized string');
        value = { pad: 'x'.repeat(300_000) };
      } else if (kind === 6) {
        mutations.push('empty body');
        text = '';
      } else {
        mutations.push('random JSON');
        value = pick(r, WRONG);
      }
    }
    body = new TextEncoder().encode(text ?? (typeof value === 'string' && !json ? value : JSON.stringify(value) ?? ''));
  }

  if (kinds & 8) {
    const kind = Math.floor(r() * 7);
    if (kind === 0 && body) {
      mutations.push('gzip');
      headers['content-encoding'] = 'gzip';
      body = new Uint8Array(gzipSync(body));
    } else if (kind === 1 && body) {
      const enc = pick(r, ['br', 'deflate', 'x-zip', 'gzip, br', 'identity, gzip']);
      mutations.push(`content-encoding ${enc} (not encoded)`);
      headers['content-encoding'] = enc;
    } else if (kind === 2) {
      const type = pick(r, ['text/plain', 'application/json; charset=utf-16', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', 'application/json; charset=latin1']);
      mutations.push(`content-type ${type}`);
      headers['content-type'] = type;
    } else if (kind === 3) {
      mutations.push('authorization garbage');
      headers.authorization = pick(r, ['Bearer', 'Bearer vg_', `Bearer vg_${'A'.repeat(43)}`, 'Basic YTpi', 'DPoP x.y.z', 'Bearer ' + 'x'.repeat(8000)]);
    } else if (kind === 4) {
      mutations.push('dpop garbage');
      headers.dpop = pick(r, ['x', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.', '']);
    } else if (kind === 5) {
      mutations.push('veilgate-progress garbage');
      headers['veilgate-progress'] = pick(r, ['', 'x', '../../x', 'a'.repeat(500)]);
    } else {
      mutations.push('hub signature garbage');
      headers['veilgate-hub-signature-input'] = 'hub=("@method");created=1';
      headers['veilgate-hub-signature'] = 'hub=:AAAA:';
    }
  }
  return { method: op.method, path: url, headers, body, mutations };
}
