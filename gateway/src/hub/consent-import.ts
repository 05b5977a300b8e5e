/**
 * Patient-consent imports (DESIGN §6; protocol.md §9 "Patient consent"): an operator uploads
 * a CSV for one of their institution's datasets in batches of any number; the hub parses and
 * checks each batch (csv-parse), relays its records to the node that keeps the registry (one
 * hub-signed message per batch, staged there under the import id), hashes the file as it
 * arrives, and at the commit has the node apply everything at once and logs the import once
 * (the file's hash and record count, never its rows). Any failure ends the import at hub and
 * node: a half-finished import changes nothing.
 *
 * Open imports live in this process's memory (a hub restart ends them; the node discards
 * their staged rows when it next hears of them or after 15 idle minutes).
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import type { Router } from 'express';
import { parse } from 'csv-parse/sync';
import { sha256Hex, toBase64Url, type components } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import { mountOperation, type SecurityHandlers } from '../http/openapi.ts';
import type { AccountRow, StateStore } from '../store/state-store.ts';
import { accountOf, requireRole } from './accounts.ts';
import type { CatalogSource, NodeRegistration } from './catalog.ts';
import { callNode } from './node-call.ts';
import { serializeByKey } from './serialize-by-key.ts';

type S = components['schemas'];
type ConsentRecord = S['ConsentBatch']['records'][number];
const PURPOSE = /^(DUO:[0-9]{7}|\*)$/;
const COLUMNS = ['subject', 'purpose', 'status', 'recorded_at'] as const;
/** An open import idle this long is discarded (the node applies the same bound, protocol.md §9). */
export const IMPORT_IDLE_MS = 15 * 60_000;
/** Records per hub → node message when the hub splits a whole file itself. */
const NODE_BATCH_RECORDS = 50_000;

/** What the consent-import routes need. */
export interface ConsentImportDeps {
  store: StateStore;
  catalog: CatalogSource;
  nodes: () => NodeRegistration[];
  hubSigningKey: string;
  onLogged: () => void;
  now?: () => number;
}

/** A batch of a consent CSV, parsed: its records, the header it was read with, and the lines it spans. */
export interface ParsedBatch {
  records: ConsentRecord[];
  columns: string[];
  lines: number;
}

/**
 * Parses one batch of a consent CSV (`subject,purpose,status,recorded_at`), naming the first
 * bad line by its number in the whole file and never quoting a value. The first batch
 * carries the header; later ones are read with `columns` and start after `lineOffset` lines.
 *
 * @example
 * parseConsentBatch('subject,purpose,status,recorded_at\nA1,DUO:0000006,withdrawn,2026-01-01T00:00:00Z\n');
 */
export function parseConsentBatch(text: string, from: { columns?: string[]; lineOffset?: number } = {}): ParsedBatch {
  const offset = from.lineOffset ?? 0;
  let columns = from.columns ?? [];
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  try {
    // `info`: each record with the line it ends on, so errors name the file's own line numbers
    // even after blank lines or quoted multi-line fields.
    rows = parse(text, {
      columns: from.columns ?? ((header: string[]) => (columns = header.map((h) => h.trim()))),
      skip_empty_lines: true, trim: true, bom: offset === 0, info: true,
    }) as typeof rows;
  } catch (cause) {
    // csv-parse's message quotes the offending value — a patient identifier, perhaps: only
    // its error code and line number leave the server.
    const { code, lines } = (cause ?? {}) as { code?: unknown; lines?: unknown };
    const where = typeof lines === 'number' ? ` at line ${offset + lines}` : '';
    throw new GatewayError('invalid_request', `body: not a CSV file${where} (${typeof code === 'string' && /^CSV_[A-Z_]+$/.test(code) ? code : 'parse error'})`, { field: 'body' });
  }
  const records = rows.map(({ record: r, info }) => {
    const line = offset + info.lines;
    for (const column of COLUMNS) {
      if (!r[column]) throw new GatewayError('invalid_request', `body line ${line}: column ${column} is missing or empty`, { field: `body[${line}].${column}` });
    }
    if (!PURPOSE.test(r.purpose!)) throw new GatewayError('invalid_request', `body line ${line}: purpose must be a DUO CURIE (DUO:0000006) or *`, { field: `body[${line}].purpose` });
    if (r.status !== 'granted' && r.status !== 'withdrawn') throw new GatewayError('invalid_request', `body line ${line}: status must be granted or withdrawn`, { field: `body[${line}].status` });
    if (r.subject!.length > 200) throw new GatewayError('invalid_request', `body line ${line}: subject is longer than 200 characters`, { field: `body[${line}].subject` });
    const at = Date.parse(r.recorded_at!);
    if (Number.isNaN(at)) throw new GatewayError('invalid_request', `body line ${line}: recorded_at is not a date`, { field: `body[${line}].recorded_at` });
    return { subject: r.subject!, purpose: r.purpose!, status: r.status, recordedAt: new Date(at).toISOString() } as ConsentRecord;
  });
  let lines = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
  return { records, columns, lines };
}

/** An open import at the hub. */
interface OpenImport {
  id: string;
  dataset: string;
  node: NodeRegistration;
  operator: AccountRow;
  batches: number;
  records: number;
  lines: number;
  columns?: string[];
  /** The last batch ended mid-line: nothing may follow it. */
  openLine: boolean;
  hash: Hash;
  last?: { sha256: string };
  touchedAt: number;
}

/** The consent-import service: start, batches, commit, abort. */
export interface ConsentImports {
  start(operator: AccountRow, datasetId: string): Promise<S['ConsentImport']>;
  putBatch(operator: AccountRow, importId: string, seq: number, body: unknown): Promise<S['ConsentImport']>;
  commit(operator: AccountRow, importId: string): Promise<S['ConsentImportResult']>;
  abort(operator: AccountRow, importId: string): Promise<void>;
  /** A whole CSV in one request: split into node batches and committed (the single-request route). */
  importWhole(operator: AccountRow, datasetId: string, body: unknown): Promise<S['ConsentImportResult']>;
}

/**
 * Creates the consent-import service of a hub.
 *
 * @example
 * const imports = createConsentImports(deps);
 * const { id } = await imports.start(operator, 'hosp-a.cardiometabolic');
 */
export function createConsentImports(deps: ConsentImportDeps): ConsentImports {
  const now = deps.now ?? Date.now;
  const open = new Map<string, OpenImport>();
  const perImport = serializeByKey();
  const view = (i: OpenImport): S['ConsentImport'] => ({
    id: i.id, dataset: i.dataset, batches: i.batches, records: i.records, expiresAt: new Date(i.touchedAt + IMPORT_IDLE_MS).toISOString(),
  });
  /** Ends an import at hub and node (best effort at the node: it also discards on its own timeout or restart). */
  const end = async (i: OpenImport): Promise<void> => {
    open.delete(i.id);
    await callNode(i.node, '/v1/consent/aborts', deps.hubSigningKey, { importId: i.id, issuedAt: Date.now() }).catch(() => undefined);
  };
  const sweep = (): void => {
    for (const i of open.values()) if (now() - i.touchedAt > IMPORT_IDLE_MS) void end(i);
  };
  const mine = (operator: AccountRow, importId: string): OpenImport => {
    sweep();
    const i = open.get(importId);
    // Another operator's import is not theirs to see.
    if (!i || i.operator.id !== operator.id) throw new GatewayError('not_found', `importId: no open consent import ${importId} (ended by a failure, an abort, a restart or ${IMPORT_IDLE_MS / 60_000} idle minutes)`, { field: 'importId' });
    return i;
  };
  /** Runs `work`; on any failure the import ends, so nothing of it is ever applied. */
  const orEnd = async <T>(i: OpenImport, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      await end(i);
      throw err;
    }
  };
  const stage = async (i: OpenImport, records: ConsentRecord[]): Promise<void> => {
    await callNode(i.node, '/v1/consent/batches', deps.hubSigningKey, { importId: i.id, dataset: i.dataset, seq: i.batches, records, issuedAt: Date.now() } satisfies S['ConsentBatch'], 60_000);
    i.batches += 1;
    i.records += records.length;
  };
  const commit = async (i: OpenImport): Promise<S['ConsentImportResult']> => {
    const result = (await callNode(i.node, '/v1/consent/commits', deps.hubSigningKey, {
      importId: i.id, dataset: i.dataset, batches: i.batches, records: i.records, issuedAt: Date.now(),
    } satisfies S['ConsentCommit'], 120_000)) as S['ConsentImportResult'];
    open.delete(i.id);
    const csvSha256 = i.hash.digest('hex');
    await deps.store.recordConsentImport({ node: i.node.id, dataset: i.dataset, operator: i.operator.id, records: i.records, csvSha256 });
    deps.onLogged();
    return { dataset: i.dataset, importId: i.id, csvSha256, imported: i.records, withdrawnSubjects: result.withdrawnSubjects };
  };
  const service: ConsentImports = {
    async start(operator, datasetId) {
      sweep();
      const dataset = (await deps.catalog.get()).datasets.get(datasetId);
      if (!dataset) throw new GatewayError('not_found', `datasetId: no dataset ${datasetId}`, { field: 'datasetId' });
      if (dataset.node !== operator.node) throw new GatewayError('forbidden', `operators of ${operator.node ?? 'no institution'} cannot record consent for ${datasetId}`);
      const node = deps.nodes().find((n) => n.id === dataset.node);
      if (!node) throw new GatewayError('node_unavailable', `node ${dataset.node} is not registered`, { node: dataset.node });
      const i: OpenImport = {
        id: `ci_${toBase64Url(randomBytes(16))}`, dataset: datasetId, node, operator, batches: 0, records: 0, lines: 0,
        openLine: false, hash: createHash('sha256'), touchedAt: now(),
      };
      open.set(i.id, i);
      return view(i);
    },
    putBatch(operator, importId, seq, body) {
      return perImport.run(importId, async () => {
        const i = mine(operator, importId);
        if (typeof body !== 'string') throw new GatewayError('unsupported_media_type', 'body must be text/csv', { field: 'body' });
        const sha256 = sha256Hex(new TextEncoder().encode(body));
        // The batch just accepted, sent again after a lost answer: already staged and hashed.
        if (seq === i.batches - 1 && i.last?.sha256 === sha256) return view(i);
        return orEnd(i, async () => {
          if (seq !== i.batches) throw new GatewayError('invalid_request', `seq: expected batch ${i.batches}, got ${seq}`, { field: 'seq' });
          if (i.openLine) throw new GatewayError('invalid_request', `body: batch ${seq - 1} did not end at a line end, so it must be the last`, { field: 'body' });
          const parsed = parseConsentBatch(body, { ...(i.columns ? { columns: i.columns } : {}), lineOffset: i.lines });
          await stage(i, parsed.records);
          i.columns = parsed.columns;
          i.lines += parsed.lines;
          i.openLine = body.length > 0 && !body.endsWith('\n');
          i.hash.update(body);
          i.last = { sha256 };
          i.touchedAt = now();
          return view(i);
        });
      });
    },
    commit(operator, importId) {
      return perImport.run(importId, async () => {
        const i = mine(operator, importId);
        return orEnd(i, () => commit(i));
      });
    },
    abort(operator, importId) {
      return perImport.run(importId, async () => end(mine(operator, importId)));
    },
    async importWhole(operator, datasetId, body) {
      if (typeof body !== 'string') throw new GatewayError('unsupported_media_type', 'body must be text/csv', { field: 'body' });
      const i = open.get((await service.start(operator, datasetId)).id)!;
      return orEnd(i, async () => {
        const { records } = parseConsentBatch(body);
        for (let k = 0; k < records.length; k += NODE_BATCH_RECORDS) await stage(i, records.slice(k, k + NODE_BATCH_RECORDS));
        i.hash.update(body);
        return commit(i);
      });
    },
  };
  return service;
}

/**
 * Mounts the consent-import routes (operators only).
 *
 * @example
 * mountConsentImportRoutes(app, security, deps);
 */
export function mountConsentImportRoutes(router: Router, security: SecurityHandlers, deps: ConsentImportDeps): ConsentImports {
  const imports = createConsentImports(deps);
  const operator = requireRole('operator');
  mountOperation(router, 'importPatientConsent', security, operator, async (req, res) => {
    res.json(await imports.importWhole(accountOf(res), req.params.datasetId as string, req.body));
  });
  mountOperation(router, 'startConsentImport', security, operator, async (req, res) => {
    res.status(201).json(await imports.start(accountOf(res), req.params.datasetId as string));
  });
  mountOperation(router, 'putConsentImportBatch', security, operator, async (req, res) => {
    res.json(await imports.putBatch(accountOf(res), req.params.importId as string, Number(req.params.seq), req.body));
  });
  mountOperation(router, 'commitConsentImport', security, operator, async (req, res) => {
    res.json(await imports.commit(accountOf(res), req.params.importId as string));
  });
  mountOperation(router, 'abortConsentImport', security, operator, async (req, res) => {
    await imports.abort(accountOf(res), req.params.importId as string);
    res.status(204).end();
  });
  return imports;
}
