/**
 * Traces (DESIGN §9 "a trace walks result → query → token → request → approval"): from a
 * log entry back along the log indexes each entry records, every step with its inclusion
 * proof under one signed checkpoint: result → query accepted → the key and each consent token
 * → the operators' approvals → the access request → the accounts behind them.
 */
import { toBase64, type components } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import type { StateStore } from '../store/state-store.ts';

type Trace = components['schemas']['Trace'];

/** The entries an entry points back to, and how each relates to it. */
function previous(entry: Record<string, unknown>): { index: number; relation: string }[] {
  const at = (index: unknown, relation: string) => (typeof index === 'number' ? [{ index, relation }] : []);
  switch (entry.type) {
    case 'query.completed':
    case 'query.failed':
      return at(entry.acceptedIndex, 'accepted as');
    case 'query.accepted':
      return [
        ...at(entry.keyIndex, 'encrypted under the key registered in'),
        ...((entry.tokens as { tokenIndex: number; node: string }[] | undefined) ?? []).flatMap((t) => at(t.tokenIndex, `under the consent token of ${t.node} issued in`)),
      ];
    case 'token.issued':
      return [
        ...((entry.approvalIndexes as number[] | undefined) ?? []).flatMap((i) => at(i, 'after the approval in')),
        ...at(entry.requestIndex, 'answering the access request in'),
      ];
    case 'access.approved':
    case 'access.denied':
      return at(entry.operatorIndex, 'by the operator account created in');
    case 'access.requested':
    case 'key.registered':
      return at(entry.accountIndex, 'by the account created in');
    default:
      return [];
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
  const seen = new Set<number>();
  // Breadth-first along the back-pointers: result → query → key and tokens → approvals →
  // request → accounts. Entries only ever point backwards; a pointer that does not is a
  // corrupt entry and is not followed.
  const queue: { index: number; relation: string }[] = [{ index, relation: 'traced entry' }];
  while (queue.length > 0 && steps.length < 256) {
    const { index: at, relation } = queue.shift()!;
    if (seen.has(at)) continue;
    seen.add(at);
    const entry = await store.audit.entry(at);
    if (!entry) continue;
    const proof = await store.audit.inclusionProof(at, checkpoint.size);
    steps.push({ relation, index: at, entry: entry.entry, proof: proof.map(toBase64) });
    for (const back of previous(entry.entry)) {
      if (Number.isSafeInteger(back.index) && back.index >= 0 && back.index < at && !seen.has(back.index)) queue.push(back);
    }
  }
  return { steps, treeSize: checkpoint.size, checkpoint: checkpoint.note };
}
