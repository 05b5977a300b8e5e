/**
 * The node's own record of the consent tokens it signed and the privacy budget each grants
 * per dataset (tables `issued_tokens` and `granted_budgets` of its state file, node-state.ts).
 * It is what the node holds a researcher's ceiling against (protocol.md §9) — never the
 * hub's ledger — and it makes signing idempotent per access request: the same approved
 * request asked again gets the same token back, never a second budget.
 */
import type { DatabaseSync } from 'node:sqlite';
import { GatewayError } from '../errors.ts';
import { withTransaction } from '../store/transaction.ts';

/** Float slack when comparing sums of ρ with a ceiling. */
const RHO_EPSILON = 1e-9;

/** A token this node signed. */
export interface IssuedToken {
  token: string;
  jti: string;
  expiresAt: string;
  /** SHA-256 of the canonical content it was signed for (to tell a retry from a different ask). */
  contentSha256: string;
}

/** What a new token grants, per dataset, and the ceiling of each. */
export interface GrantToRecord extends IssuedToken {
  requestId: string;
  researcher: string;
  budgets: { dataset: string; budget: number; ceiling: number }[];
}

/** The record. */
export interface IssuedGrants {
  byRequest(requestId: string): IssuedToken | undefined;
  /** Σ ρ of the unexpired grants this node signed to `researcher` on `dataset`. */
  grantedRho(researcher: string, dataset: string, now: Date): number;
  /** Throws `budget_exhausted` (field `privacyBudget`) when a grant would pass a ceiling. */
  checkCeilings(researcher: string, budgets: GrantToRecord['budgets'], now: Date): void;
  /** Checks the ceilings again and records the token, atomically. */
  record(grant: GrantToRecord, now: Date): void;
}

/**
 * Opens the record on the node's state database.
 *
 * @example
 * const issued = openIssuedGrants(state.db);
 */
export function openIssuedGrants(db: DatabaseSync): IssuedGrants {
  const q = {
    byRequest: db.prepare('SELECT token, jti, expires_at, content_sha256 FROM issued_tokens WHERE request_id = ?'),
    granted: db.prepare('SELECT COALESCE(SUM(budget), 0) AS rho FROM granted_budgets WHERE researcher = ? AND dataset = ? AND expires_at > ?'),
    insertToken: db.prepare('INSERT INTO issued_tokens (request_id, jti, researcher, content_sha256, token, expires_at) VALUES (?, ?, ?, ?, ?, ?)'),
    insertBudget: db.prepare('INSERT INTO granted_budgets (jti, researcher, dataset, budget, expires_at) VALUES (?, ?, ?, ?, ?)'),
  };
  const grantedRho = (researcher: string, dataset: string, now: Date): number =>
    Number((q.granted.get(researcher, dataset, now.toISOString()) as { rho: number }).rho);
  const checkCeilings: IssuedGrants['checkCeilings'] = (researcher, budgets, now) => {
    for (const b of budgets) {
      const held = grantedRho(researcher, b.dataset, now);
      // Revoked grants still count until they expire: the ρ they may have spent is spent.
      if (held + b.budget > b.ceiling + RHO_EPSILON) {
        throw new GatewayError(
          'budget_exhausted',
          `privacyBudget: ρ = ${b.budget} on ${b.dataset} would take this researcher's unexpired grants to ${+(held + b.budget).toFixed(6)}, past the dataset's ceiling of ${b.ceiling}`,
          { field: 'privacyBudget' },
        );
      }
    }
  };
  return {
    byRequest(requestId) {
      const r = q.byRequest.get(requestId) as { token: string; jti: string; expires_at: string; content_sha256: string } | undefined;
      return r && { token: r.token, jti: r.jti, expiresAt: r.expires_at, contentSha256: r.content_sha256 };
    },
    grantedRho,
    checkCeilings,
    record(grant, now) {
      // One synchronous transaction: no other token can be recorded between the check and the insert.
      withTransaction(db, () => {
        checkCeilings(grant.researcher, grant.budgets, now);
        q.insertToken.run(grant.requestId, grant.jti, grant.researcher, grant.contentSha256, grant.token, grant.expiresAt);
        for (const b of grant.budgets) q.insertBudget.run(grant.jti, grant.researcher, b.dataset, b.budget, grant.expiresAt);
      });
    },
  };
}
