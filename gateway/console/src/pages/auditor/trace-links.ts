/**
 * How each step of a trace relates to the steps before it, read from the verified entries
 * themselves (the log indexes each event records, as gateway/src/audit/trace.ts follows them),
 * not from the hub's English `relation` text: an entry's back-pointer field names the relation.
 */
/** An event's fields as the log holds them. */
type Event = Record<string, unknown>;

export type RelationKey = 'traced' | 'acceptedAs' | 'underKey' | 'underToken' | 'afterApproval' | 'answering' | 'byOperator' | 'byAccount';

export interface Relation {
  key: RelationKey;
  /** The institution, for `underToken`. */
  node?: string;
}

/** The entries an event points back to, and how each relates to it. */
function pointers(e: Event): { index: number; relation: Relation }[] {
  const at = (index: unknown, relation: Relation) => (typeof index === 'number' && Number.isSafeInteger(index) ? [{ index, relation }] : []);
  switch (e.type) {
    case 'query.completed':
    case 'query.failed':
      return at(e.acceptedIndex, { key: 'acceptedAs' });
    case 'query.accepted': {
      const tokens = Array.isArray(e.tokens) ? (e.tokens as { tokenIndex?: unknown; node?: unknown }[]) : [];
      return [
        ...at(e.keyIndex, { key: 'underKey' }),
        ...tokens.flatMap((t) => at(t?.tokenIndex, { key: 'underToken', node: typeof t?.node === 'string' ? t.node : '?' })),
      ];
    }
    case 'token.issued': {
      const approvals = Array.isArray(e.approvalIndexes) ? (e.approvalIndexes as unknown[]) : [];
      return [...approvals.flatMap((i) => at(i, { key: 'afterApproval' })), ...at(e.requestIndex, { key: 'answering' })];
    }
    case 'access.approved':
    case 'access.denied':
      return at(e.operatorIndex, { key: 'byOperator' });
    case 'access.requested':
    case 'key.registered':
      return at(e.accountIndex, { key: 'byAccount' });
    default:
      return [];
  }
}

/**
 * Each step's relation: the first step is the traced entry; any other is named by the first
 * earlier step pointing at it. Undefined where no earlier step points at it (the caller then
 * shows the hub's text as it is).
 */
export function traceRelations(steps: readonly { index: number; entry: Event }[]): (Relation | undefined)[] {
  const found = new Map<number, Relation>();
  return steps.map((step, i) => {
    const relation = i === 0 ? { key: 'traced' as const } : found.get(step.index);
    for (const p of pointers(step.entry)) if (!found.has(p.index)) found.set(p.index, p.relation);
    return relation;
  });
}
