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
 *
 * Charges are two-phase across crashes (protocol.md §11): each is recorded `reserved` with the
 * node log's size at the time, and becomes `released` once its `contribution.computed` entry is
 * logged — the contribution is sent only after that entry commits. At start, a charge still
 * reserved is released if the log holds its entry, and refunded otherwise: no entry proves
 * nothing left the node.
 */
import type { DatabaseSync } from 'node:sqlite';
import { GatewayError } from '../errors.ts';
import { withTransaction } from '../store/transaction.ts';

/** nano-ρ per ρ. */
const NANO = 1_000_000_000;

/** A charge, to refund if nothing is released. */
export interface LedgerCharge {
  queryId: string;
  jti: string;
  rhoNano: number;
}

/** A charge left `reserved` by a node that stopped: where in its log to look for its entry. */
export interface PendingCharge extends LedgerCharge {
  /** The node log's size when it was charged: its `contribution.computed` entry can only follow. */
  logSize: number;
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
  charge(input: { queryId: string; jti: string; budget: number; quota: number; rho: number; logSize: number }): { charge: LedgerCharge; usage: TokenUsage };
  /** Undoes a charge whose computation released nothing. */
  refund(charge: LedgerCharge): void;
  /** Marks a charge released: its `contribution.computed` entry is logged. */
  settle(charge: LedgerCharge): void;
  /** Charges still reserved (only after a crash, at start). */
  pending(): PendingCharge[];
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
  db.exec(`CREATE TABLE IF NOT EXISTS token_charges (
    query_id TEXT NOT NULL, jti TEXT NOT NULL, rho_nano INTEGER NOT NULL, log_size INTEGER NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (query_id, jti))`);
  // A refunded charge released nothing, so its query id may be computed again (it is replaced).
  const reserve = db.prepare(`INSERT OR REPLACE INTO token_charges (query_id, jti, rho_nano, log_size, state, at) VALUES (?, ?, ?, ?, 'reserved', ?)`);
  const computedBefore = db.prepare(`SELECT 1 FROM token_charges WHERE query_id = ? AND state != 'refunded' LIMIT 1`);
  const setState = db.prepare(`UPDATE token_charges SET state = ? WHERE query_id = ? AND jti = ? AND state = 'reserved'`);
  const reserved = db.prepare(`SELECT query_id, jti, rho_nano, log_size FROM token_charges WHERE state = 'reserved' ORDER BY at`);
  const read = (jti: string): { spent: number; queries: number } => {
    const row = get.get(jti) as { spent_nano: number; queries: number } | undefined;
    return { spent: Number(row?.spent_nano ?? 0), queries: Number(row?.queries ?? 0) };
  };
  return {
    charge({ queryId, jti, budget, quota, rho, logSize }) {
      const rhoNano = Math.round(rho * NANO);
      const budgetNano = Math.round(budget * NANO);
      return withTransaction(db, () => {
        // Pairwise masks are derived from the query id (protocol.md §10; Bonawitz et al. 2017 §4
        // assume fresh masks per round): two contributions under one id would share their masks,
        // and their difference would be this institution's own, unmasked. Refused for good.
        if (computedBefore.get(queryId)) {
          throw new GatewayError('replayed_request', `queryId: this node already computed query ${queryId}`, { field: 'queryId' });
        }
        const now = read(jti);
        if (now.queries + 1 > quota) {
          throw new GatewayError('quota_exhausted', `tokens: this institution has run all ${quota} queries of the grant (token ${jti})`, { field: 'tokens' });
        }
        if (now.spent + rhoNano > budgetNano) {
          const left = Math.max(0, budgetNano - now.spent) / NANO;
          throw new GatewayError('budget_exhausted', `rho: the grant's privacy budget at this institution has ρ = ${left} left, the query asks for ${rho}`, { field: 'rho' });
        }
        const at = new Date().toISOString();
        add.run(jti, rhoNano, at);
        reserve.run(queryId, jti, rhoNano, logSize, at);
        return { charge: { queryId, jti, rhoNano }, usage: { rhoSpent: (now.spent + rhoNano) / NANO, queries: now.queries + 1 } };
      });
    },
    refund(charge) {
      withTransaction(db, () => {
        // Only a charge still reserved is refunded: never one already settled or refunded.
        if (Number(setState.run('refunded', charge.queryId, charge.jti).changes) === 1) sub.run(charge.rhoNano, new Date().toISOString(), charge.jti);
      });
    },
    settle(charge) {
      withTransaction(db, () => void setState.run('released', charge.queryId, charge.jti));
    },
    pending() {
      return (reserved.all() as Record<string, unknown>[]).map((r) => ({ queryId: r.query_id as string, jti: r.jti as string, rhoNano: Number(r.rho_nano), logSize: Number(r.log_size) }));
    },
    usage(jti) {
      const now = read(jti);
      return { rhoSpent: now.spent / NANO, queries: now.queries };
    },
  };
}

/**
 * Settles the charges a stopped node left reserved (protocol.md §11): released if the node's
 * log holds the query's `contribution.computed` entry under that token (it may have been sent),
 * refunded otherwise (the contribution is sent only after its entry commits, so none was).
 * Returns how many of each.
 *
 * @example
 * await recoverCharges(ledger, state.log);
 */
export async function recoverCharges(
  ledger: NodeLedger,
  log: { size(): Promise<number>; entries(start: number, limit: number): Promise<{ entry: unknown }[]> },
): Promise<{ released: number; refunded: number }> {
  const pending = ledger.pending();
  if (!pending.length) return { released: 0, refunded: 0 };
  const from = Math.min(...pending.map((p) => p.logSize));
  const size = await log.size();
  const computed = new Set<string>();
  for (let start = from; start < size; start += 500) {
    for (const { entry } of await log.entries(start, Math.min(500, size - start))) {
      const e = entry as { type?: unknown; queryId?: unknown; tokenJti?: unknown };
      if (e.type === 'contribution.computed') computed.add(`${String(e.queryId)} ${String(e.tokenJti)}`);
    }
  }
  let released = 0;
  for (const p of pending) {
    if (computed.has(`${p.queryId} ${p.jti}`)) {
      ledger.settle(p);
      released++;
    } else ledger.refund(p);
  }
  return { released, refunded: pending.length - released };
}
