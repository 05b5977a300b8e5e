/**
 * The node's own ledger (DESIGN §6, invariant 7): per consent token, the ρ it has spent and
 * the queries it has run, durable in the node's state database. The node is the authority
 * over what leaves the institution, so it refuses a computation beyond the token's budget or
 * quota whatever the hub's ledger says; the hub's ledger stays the researcher's view. A
 * computation is charged before anything is released and refunded only if the node then
 * releases nothing (it failed before signing its contribution). Once released, a contribution
 * stays charged even if the hub later records the query as failed: the node cannot know
 * that the hub did not keep it (protocol.md §11).
 *
 * ρ is kept in integer nano-ρ so that sums never drift (a budget of 1 is 10⁹).
 */
import type { DatabaseSync } from 'node:sqlite';
import { GatewayError } from '../errors.ts';
import { withTransaction } from '../store/transaction.ts';

/** nano-ρ per ρ. */
const NANO = 1_000_000_000;

/** A charge, to refund if nothing is released. */
export interface LedgerCharge {
  jti: string;
  rhoNano: number;
}

/** Where a token stands after a charge. */
export interface TokenUsage {
  /** ρ spent on this token at this node, this query included. */
  rhoSpent: number;
  /** Queries this node ran under this token, this one included. */
  queries: number;
}

/** The node's ledger. */
export interface NodeLedger {
  /**
   * Charges one query and `rho` to a token, atomically; throws `quota_exhausted` or
   * `budget_exhausted` (nothing charged) when the token's quota or budget would be passed.
   */
  charge(input: { jti: string; budget: number; quota: number; rho: number }): { charge: LedgerCharge; usage: TokenUsage };
  /** Undoes a charge whose computation released nothing. */
  refund(charge: LedgerCharge): void;
  usage(jti: string): TokenUsage;
}

/**
 * Opens the ledger in the node's state database.
 *
 * @example
 * const ledger = openNodeLedger(state.db);
 * const { charge } = ledger.charge({ jti, budget: 1, quota: 100, rho: 0.015 });
 */
export function openNodeLedger(db: DatabaseSync): NodeLedger {
  db.exec(`CREATE TABLE IF NOT EXISTS token_ledger (
    jti TEXT PRIMARY KEY, spent_nano INTEGER NOT NULL DEFAULT 0, queries INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL)`);
  const get = db.prepare('SELECT spent_nano, queries FROM token_ledger WHERE jti = ?');
  const add = db.prepare(`INSERT INTO token_ledger (jti, spent_nano, queries, updated_at) VALUES (?, ?, 1, ?)
    ON CONFLICT (jti) DO UPDATE SET spent_nano = spent_nano + excluded.spent_nano, queries = queries + 1, updated_at = excluded.updated_at`);
  const sub = db.prepare('UPDATE token_ledger SET spent_nano = spent_nano - ?, queries = queries - 1, updated_at = ? WHERE jti = ?');
  const read = (jti: string): { spent: number; queries: number } => {
    const row = get.get(jti) as { spent_nano: number; queries: number } | undefined;
    return { spent: Number(row?.spent_nano ?? 0), queries: Number(row?.queries ?? 0) };
  };
  return {
    charge({ jti, budget, quota, rho }) {
      const rhoNano = Math.round(rho * NANO);
      const budgetNano = Math.round(budget * NANO);
      return withTransaction(db, () => {
        const now = read(jti);
        if (now.queries + 1 > quota) {
          throw new GatewayError('quota_exhausted', `tokens: this institution has run all ${quota} queries of the grant (token ${jti})`, { field: 'tokens' });
        }
        if (now.spent + rhoNano > budgetNano) {
          const left = Math.max(0, budgetNano - now.spent) / NANO;
          throw new GatewayError('budget_exhausted', `rho: the grant's privacy budget at this institution has ρ = ${left} left, the query asks for ${rho}`, { field: 'rho' });
        }
        add.run(jti, rhoNano, new Date().toISOString());
        return { charge: { jti, rhoNano }, usage: { rhoSpent: (now.spent + rhoNano) / NANO, queries: now.queries + 1 } };
      });
    },
    refund(charge) {
      withTransaction(db, () => void sub.run(charge.rhoNano, new Date().toISOString(), charge.jti));
    },
    usage(jti) {
      const now = read(jti);
      return { rhoSpent: now.spent / NANO, queries: now.queries };
    },
  };
}
