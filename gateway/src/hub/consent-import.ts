/**
 * Patient-consent imports (DESIGN §6): an operator uploads a CSV for one of their
 * institution's datasets; the hub parses and checks it (csv-parse), relays the records to the
 * node that keeps the registry, and logs the import (a hash of the file, never its rows).
 */
import { parse } from 'csv-parse/sync';
import { sha256Hex, type components } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import type { AccountRow, StateStore } from '../store/state-store.ts';
import type { CatalogSource, NodeRegistration } from './catalog.ts';
import { callNode } from './node-call.ts';

type S = components['schemas'];
const PURPOSE = /^(DUO:[0-9]{7}|\*)$/;

/**
 * Parses a consent CSV (`subject,purpose,status,recorded_at`), naming the first bad line.
 *
 * @example
 * parseConsentCsv('subject,purpose,status,recorded_at\nA1,DUO:0000006,withdrawn,2026-01-01T00:00:00Z\n');
 */
export function parseConsentCsv(text: string): S['ConsentRecords']['records'] {
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  try {
    // `info`: each record with the line it ends on, so errors name the file's own line numbers
    // even after blank lines or quoted multi-line fields.
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true, info: true }) as typeof rows;
  } catch (cause) {
    // csv-parse's message quotes the offending value — a patient identifier, perhaps: only
    // its error code and line number leave the server.
    const { code, lines } = (cause ?? {}) as { code?: unknown; lines?: unknown };
    const where = typeof lines === 'number' ? ` at line ${lines}` : '';
    throw new GatewayError('invalid_request', `body: not a CSV file${where} (${typeof code === 'string' && /^CSV_[A-Z_]+$/.test(code) ? code : 'parse error'})`, { field: 'body' });
  }
  return rows.map(({ record: r, info }) => {
    const line = info.lines;
    for (const column of ['subject', 'purpose', 'status', 'recorded_at']) {
      if (!r[column]) throw new GatewayError('invalid_request', `body line ${line}: column ${column} is missing or empty`, { field: `body[${line}].${column}` });
    }
    if (!PURPOSE.test(r.purpose!)) throw new GatewayError('invalid_request', `body line ${line}: purpose must be a DUO CURIE (DUO:0000006) or *`, { field: `body[${line}].purpose` });
    if (r.status !== 'granted' && r.status !== 'withdrawn') throw new GatewayError('invalid_request', `body line ${line}: status must be granted or withdrawn`, { field: `body[${line}].status` });
    if (Number.isNaN(Date.parse(r.recorded_at!))) throw new GatewayError('invalid_request', `body line ${line}: recorded_at is not a date`, { field: `body[${line}].recorded_at` });
    return { subject: r.subject!, purpose: r.purpose!, status: r.status, recordedAt: new Date(r.recorded_at!).toISOString() };
  });
}

/**
 * Imports a consent CSV for a dataset of the operator's institution.
 *
 * @example
 * const result = await importConsent(deps, operator, 'hosp-a.cardiometabolic', csvText);
 */
export async function importConsent(
  deps: { store: StateStore; catalog: CatalogSource; nodes: () => NodeRegistration[]; hubSigningKey: string },
  operator: AccountRow,
  datasetId: string,
  body: unknown,
): Promise<S['ConsentImportResult']> {
  if (typeof body !== 'string') throw new GatewayError('unsupported_media_type', 'body must be text/csv', { field: 'body' });
  const dataset = (await deps.catalog.get()).datasets.get(datasetId);
  if (!dataset) throw new GatewayError('not_found', `datasetId: no dataset ${datasetId}`, { field: 'datasetId' });
  if (dataset.node !== operator.node) throw new GatewayError('forbidden', `operators of ${operator.node ?? 'no institution'} cannot record consent for ${datasetId}`);
  const records = parseConsentCsv(body);
  const node = deps.nodes().find((n) => n.id === dataset.node)!;
  const result = (await callNode(node, '/v1/consent', deps.hubSigningKey, { dataset: datasetId, records, issuedAt: Date.now() })) as S['ConsentImportResult'];
  await deps.store.recordConsentImport({ node: node.id, dataset: datasetId, operator: operator.id, records: records.length, csvSha256: sha256Hex(new TextEncoder().encode(body)) });
  return result;
}
