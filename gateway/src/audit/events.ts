/**
 * Audit log events (DESIGN §9, spec/protocol.md §8). Every event is an entry of the log; its
 * RFC 8785 canonical JSON is the Merkle leaf input. Entries carry ids, hashes and the log
 * indexes of the entries they rest on — never a row, a key or a plaintext aggregate — so a
 * trace is a walk along those indexes, each step provable by inclusion.
 */
import { canonicalBytes } from '@veilgate/sdk';

/** Fields every event has. */
interface Base {
  v: 1;
  time: string;
}

/** The hub's events. */
export type HubEvent = Base &
  (
    | { type: 'account.created'; account: string; role: string; node?: string }
    | { type: 'key.registered'; account: string; accountIndex: number; keyId: string }
    | {
        type: 'access.requested'; requestId: string; account: string; accountIndex: number; datasets: string[]; elements: string[];
        operations: string[]; purpose: string; justificationSha256: string; durationDays: number; privacyBudget: number; queryQuota: number; identityJkt: string;
      }
    | { type: 'access.withdrawn'; requestId: string; requestIndex: number }
    | { type: 'access.approved'; requestId: string; requestIndex: number; node: string; operator: string; operatorIndex: number; statementSha256: string }
    | { type: 'access.denied'; requestId: string; requestIndex: number; node: string; operator: string; operatorIndex: number; reason: string; statementSha256: string }
    | { type: 'token.issued'; requestId: string; requestIndex: number; node: string; jti: string; expiresAt: string; tokenSha256: string; approvalIndexes: number[] }
    | { type: 'access.revoked'; requestId: string; node: string; jti: string; tokenIndex: number; operator: string; operatorIndex: number; reason: string }
    | { type: 'consent.imported'; node: string; dataset: string; operator: string; operatorIndex: number; records: number; csvSha256: string }
    | {
        type: 'query.accepted'; queryId: string; account: string; keyId: string; keyIndex: number;
        datasets: string[]; nodes: string[]; requestSha256: string; planSha256: string;
        purpose: string; tokens: { node: string; jti: string; tokenIndex: number }[];
        reserved: { rho: number; credits: number };
      }
    | { type: 'credits.topped_up'; account: string; accountIndex: number; amount: number; admin: string; adminIndex: number }
    | { type: 'price.set'; dataset: string; node: string; pricePerQuery: number; operator: string; operatorIndex: number }
    | { type: 'privacy.set'; dataset: string; node: string; differentialPrivacy: boolean; defaultRho?: number; operator: string; operatorIndex: number }
    | {
        type: 'query.completed'; queryId: string; acceptedIndex: number; resultSha256: string;
        contributions: { node: string; datasets: string[]; ciphertextSha256: string[]; signature: string }[];
        groupsLeftOut: number;
      }
    | { type: 'query.failed'; queryId: string; acceptedIndex: number; errorCode: string; node?: string }
  );

/**
 * A node's own events (its log of what it computed and witnessed). A node serves its log to
 * anyone, so no node event names an account: a token is traced by `requestId`, `jti` and
 * `tokenSha256` (the hash the hub logs in `token.issued`), which an auditor follows in the
 * hub's log to the researcher and the approving operators.
 */
export type NodeEvent = Base &
  (
    | { type: 'contribution.computed'; queryId: string; hub: string; datasets: string[]; keyId: string; planSha256: string; ciphertextSha256: string[]; groupsLeftOut: number; tokenJti: string; purpose: string; rowsExcludedByConsent: boolean; rho: number; tokenRhoSpent: number; tokenQueries: number }
    | { type: 'token.signed'; requestId: string; jti: string; kid: string; tokenSha256: string; datasets: string[]; expiresAt: string }
    | { type: 'token.revoked'; requestId: string; jti: string }
    | { type: 'consent.applied'; dataset: string; records: number; withdrawnSubjects: number }
    | { type: 'witness.cosigned'; origin: string; treeSize: number; rootHash: string }
    | { type: 'witness.refused'; origin: string; treeSize: number; rootHash: string; lastSize: number; lastRootHash: string; reason: string }
  );

/** Any event. */
export type AuditEvent = HubEvent | NodeEvent;

/** Distributes Omit over a union (so each event keeps its own fields). */
type Unstamped<T> = T extends unknown ? Omit<T, 'v' | 'time'> : never;

/**
 * Stamps an event with the format version and the time.
 *
 * @example
 * const e = auditEvent<HubEvent>({ type: 'account.created', account: 'acc_1', role: 'admin' });
 */
export function auditEvent<T extends AuditEvent>(event: Unstamped<T>, now: Date = new Date()): T {
  return { v: 1, time: now.toISOString(), ...event } as unknown as T;
}

/**
 * The leaf input of an event: its RFC 8785 canonical JSON bytes.
 *
 * @example
 * const bytes = encodeEvent(e); // leaf hash = SHA-256(0x00 ‖ bytes)
 */
export function encodeEvent(event: AuditEvent): Uint8Array {
  return canonicalBytes(event);
}
