/**
 * Metering (DESIGN §8): a double-entry credits ledger and the privacy budget of each grant.
 * Credits are integers (millicredits) so that no rounding creeps in; every transaction's
 * entries sum to zero. A query reserves its credits (researcher → escrow) and its ρ on every
 * grant it runs under before fan-out, then commits (escrow → institutions, reserved → spent)
 * or releases (escrow → researcher) — each in the transaction that logs the query's outcome.
 * Balances never go below zero (checked inside the transaction; SQLite serialises writers).
 */
import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { GatewayError } from '../errors.ts';

export const LEDGER_MIGRATION = `
  CREATE TABLE ledger_balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL);
  CREATE TABLE ledger_entries (
    id INTEGER PRIMARY KEY, tx TEXT NOT NULL, account TEXT NOT NULL, amount INTEGER NOT NULL, kind TEXT NOT NULL,
    query_id TEXT, dataset TEXT, at TEXT NOT NULL);
  CREATE INDEX ledger_entries_query ON ledger_entries (query_id);
  CREATE TABLE grant_budgets (jti TEXT PRIMARY KEY, budget REAL NOT NULL, spent REAL NOT NULL DEFAULT 0, reserved REAL NOT NULL DEFAULT 0);
  CREATE TABLE query_charges (
    query_id TEXT PRIMARY KEY, researcher TEXT NOT NULL, rho REAL NOT NULL, credits INTEGER NOT NULL,
    lines TEXT NOT NULL, jtis TEXT NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL);
  CREATE TABLE dataset_prices (dataset TEXT PRIMARY KEY, price INTEGER NOT NULL, set_by TEXT NOT NULL, at TEXT NOT NULL);`;

/** The data space's issuance account: the source of top-ups (the only one that may go negative). */
export const ISSUANCE = 'issuance';
const ESCROW = 'escrow';
/** Floating-point slack when comparing ρ sums. */
const RHO_EPSILON = 1e-12;

/** Credits as integer millicredits. */
export function toMilli(credits: number): number {
  return Math.round(credits * 1000);
}
export function fromMilli(milli: number): number {
  return milli / 1000;
}
export const researcherAccount = (id: string) => `researcher:${id}`;
export const institutionAccount = (node: string) => `institution:${node}`;

/** What a query is charged. */
export interface Charge {
  rho: number;
  /** Per dataset: the institution paid and the amount (millicredits). */
  lines: { dataset: string; node: string; amount: number }[];
  /** The grants it runs under, with their budgets (from the tokens). */
  grants: { jti: string; node: string; budget: number }[];
}

/** The ledger over the hub's database (sync: used inside the store's transactions). */
export interface Ledger {
  balance(account: string): number;
  topUpSync(account: string, amount: number): string;
  reserveSync(queryId: string, researcher: string, charge: Charge): void;
  commitSync(queryId: string): void;
  /** Releases a reservation; returns the grants (jtis) it ran under, empty if nothing was reserved. */
  releaseSync(queryId: string): string[];
  budget(jti: string): { budget: number; spent: number; reserved: number } | undefined;
  price(dataset: string): number | undefined;
  setPriceSync(dataset: string, price: number, by: string): void;
  /** Usage rows (day, researcher, dataset, node, state, credits, rho). */
  usage(from: string, to: string): { day: string; researcher: string; dataset: string; node: string; state: string; credits: number; rho: number }[];
  /** Σ of all balances (must be 0: every transaction is balanced). */
  total(): number;
}

/**
 * Opens the ledger part of the hub's store.
 *
 * @example
 * const ledger = openLedger(db); ledger.balance(researcherAccount('acc_1'));
 */
export function openLedger(db: DatabaseSync): Ledger {
  const q = {
    balance: db.prepare('SELECT balance FROM ledger_balances WHERE account = ?'),
    upsert: db.prepare('INSERT INTO ledger_balances (account, balance) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET balance = balance + excluded.balance'),
    entry: db.prepare('INSERT INTO ledger_entries (tx, account, amount, kind, query_id, dataset, at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    budget: db.prepare('SELECT budget, spent, reserved FROM grant_budgets WHERE jti = ?'),
    ensureBudget: db.prepare('INSERT OR IGNORE INTO grant_budgets (jti, budget) VALUES (?, ?)'),
    reserveBudget: db.prepare('UPDATE grant_budgets SET reserved = reserved + ? WHERE jti = ?'),
    settleBudget: db.prepare('UPDATE grant_budgets SET reserved = max(0, reserved - ?), spent = spent + ? WHERE jti = ?'),
    insertCharge: db.prepare(`INSERT INTO query_charges (query_id, researcher, rho, credits, lines, jtis, state, at) VALUES (?, ?, ?, ?, ?, ?, 'reserved', ?)`),
    charge: db.prepare('SELECT * FROM query_charges WHERE query_id = ?'),
    setCharge: db.prepare('UPDATE query_charges SET state = ? WHERE query_id = ?'),
    price: db.prepare('SELECT price FROM dataset_prices WHERE dataset = ?'),
    setPrice: db.prepare('INSERT OR REPLACE INTO dataset_prices (dataset, price, set_by, at) VALUES (?, ?, ?, ?)'),
    total: db.prepare('SELECT coalesce(sum(balance), 0) AS total FROM ledger_balances'),
    usage: db.prepare(`SELECT substr(at, 1, 10) AS day, researcher, lines, state, rho FROM query_charges WHERE substr(at, 1, 10) BETWEEN ? AND ? ORDER BY at`),
  };
  const balance = (account: string) => Number((q.balance.get(account) as { balance: number } | undefined)?.balance ?? 0);
  /** One balanced transaction: entries sum to zero; no account but issuance ends below zero. */
  const post = (kind: string, entries: { account: string; amount: number; dataset?: string }[], queryId: string | null): string => {
    const sum = entries.reduce((n, e) => n + e.amount, 0);
    if (sum !== 0) throw new Error(`unbalanced ledger transaction (${sum})`);
    const tx = randomUUID();
    const at = new Date().toISOString();
    for (const e of entries) {
      if (e.amount === 0) continue;
      q.upsert.run(e.account, e.amount);
      if (e.account !== ISSUANCE && balance(e.account) < 0) {
        throw new GatewayError('insufficient_credits', 'credits: the balance does not cover this query\'s price', { field: 'credits' });
      }
      q.entry.run(tx, e.account, e.amount, kind, queryId, e.dataset ?? null, at);
    }
    return tx;
  };
  const chargeOf = (queryId: string) => {
    const r = q.charge.get(queryId) as Record<string, unknown> | undefined;
    return r && { researcher: r.researcher as string, rho: Number(r.rho), credits: Number(r.credits), lines: JSON.parse(r.lines as string) as Charge['lines'], jtis: JSON.parse(r.jtis as string) as string[], state: r.state as string };
  };
  return {
    balance,
    topUpSync(account, amount) {
      return post('top-up', [{ account: ISSUANCE, amount: -amount }, { account, amount }], null);
    },
    reserveSync(queryId, researcher, charge) {
      const credits = charge.lines.reduce((n, l) => n + l.amount, 0);
      post('reserve', [{ account: researcherAccount(researcher), amount: -credits }, { account: ESCROW, amount: credits }], queryId);
      for (const g of charge.grants) {
        q.ensureBudget.run(g.jti, g.budget);
        const b = q.budget.get(g.jti) as { budget: number; spent: number; reserved: number };
        // DESIGN §8 / invariant 3: never spend beyond the grant's budget, under any concurrency.
        if (b.spent + b.reserved + charge.rho > b.budget + RHO_EPSILON) {
          throw new GatewayError('budget_exhausted', `the privacy budget of the grant ${g.jti} does not cover ρ = ${charge.rho} (left ${Math.max(0, b.budget - b.spent - b.reserved)})`, { field: 'rho' });
        }
        q.reserveBudget.run(charge.rho, g.jti);
      }
      q.insertCharge.run(queryId, researcher, charge.rho, credits, JSON.stringify(charge.lines), JSON.stringify(charge.grants.map((g) => g.jti)), new Date().toISOString());
    },
    commitSync(queryId) {
      const c = chargeOf(queryId);
      if (!c || c.state !== 'reserved') return;
      post('charge', [{ account: ESCROW, amount: -c.credits }, ...c.lines.map((l) => ({ account: institutionAccount(l.node), amount: l.amount, dataset: l.dataset }))], queryId);
      for (const jti of c.jtis) q.settleBudget.run(c.rho, c.rho, jti);
      q.setCharge.run('committed', queryId);
    },
    releaseSync(queryId) {
      const c = chargeOf(queryId);
      if (!c || c.state !== 'reserved') return [];
      post('release', [{ account: ESCROW, amount: -c.credits }, { account: researcherAccount(c.researcher), amount: c.credits }], queryId);
      for (const jti of c.jtis) q.settleBudget.run(c.rho, 0, jti);
      q.setCharge.run('released', queryId);
      return c.jtis;
    },
    budget(jti) {
      const b = q.budget.get(jti) as { budget: number; spent: number; reserved: number } | undefined;
      return b && { budget: Number(b.budget), spent: Number(b.spent), reserved: Number(b.reserved) };
    },
    price(dataset) {
      const r = q.price.get(dataset) as { price: number } | undefined;
      return r === undefined ? undefined : Number(r.price);
    },
    setPriceSync(dataset, price, by) {
      q.setPrice.run(dataset, price, by, new Date().toISOString());
    },
    usage(from, to) {
      return (q.usage.all(from, to) as Record<string, unknown>[]).flatMap((r) => {
        const lines = JSON.parse(r.lines as string) as Charge['lines'];
        const state = r.state as string;
        return lines.map((l) => ({ day: r.day as string, researcher: r.researcher as string, dataset: l.dataset, node: l.node, state, credits: state === 'committed' ? l.amount : 0, rho: state === 'committed' ? Number(r.rho) : 0 }));
      });
    },
    total() {
      return Number((q.total.get() as { total: number }).total);
    },
  };
}
