/**
 * Traces (DESIGN §9 "a trace walks result → query → token → request → approval"): from a
 * log entry back along the log indexes each entry records, every step with its inclusion
 * proof under one signed checkpoint. Today the walk is result → query accepted → key
 * registration → account; consent tokens and approvals join the walk when they are logged.
 */
import { toBase64, type components } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import type { StateStore } from '../store/state-store.ts';

type Trace = components['schemas']['Trace'];

/** The entry an entry points back to, and how it relates. */
function previous(entry: Record<string, unknown>): { index: number; relation: string } | undefined {
  switch (entry.type) {
    case 'query.completed':
    case 'query.failed':
      return { index: entry.acceptedIndex as number, relation: 'accepted as' };
    case 'query.accepted':
      return { index: entry.keyIndex as number, relation: 'encrypted under the key registered in' };
    case 'key.registered':
      return { index: entry.accountIndex as number, relation: 'by the account created in' };
    default:
      return undefined;
  }
}

/**
 * Walks back from an entry (its index, or a query id: the query's final entry).
 *
 * @example
 * const trace = await traceEntry(store, 'q_3mr7pm2xE3mINsZEezJCA');
 */
export async function traceEntry(store: StateStore, ref: string): Promise<Trace> {
  let index: number;
  if (/^[0-9]+$/.test(ref)) index = Number(ref);
  else {
    const query = await store.getQuery(ref);
    if (!query) throw new GatewayError('not_found', `entry: no query ${ref}`, { field: 'entry' });
    index = query.endedIndex ?? query.acceptedIndex;
  }
  const checkpoint = await store.audit.latestCheckpoint();
  if (!Number.isSafeInteger(index) || index >= checkpoint.size) throw new GatewayError('not_found', `entry: no log entry ${ref}`, { field: 'entry' });
  const steps: Trace['steps'] = [];
  let relation = 'traced entry';
  for (let next: number | undefined = index; next !== undefined; ) {
    const entry = await store.audit.entry(next);
    if (!entry) break;
    const proof = await store.audit.inclusionProof(next, checkpoint.size);
    steps.push({ relation, index: next, entry: entry.entry, proof: proof.map(toBase64) });
    const back = previous(entry.entry);
    // Entries only ever point backwards; anything else is a corrupt entry, so stop there.
    next = back && Number.isSafeInteger(back.index) && back.index >= 0 && back.index < next ? back.index : undefined;
    relation = back?.relation ?? '';
  }
  return { steps, treeSize: checkpoint.size, checkpoint: checkpoint.note };
}
