/**
 * Metering routes (DESIGN §8): query cost estimates, balances, admin top-ups, operators'
 * prices, and usage reports per researcher, dataset and day (JSON or CSV).
 */
import type { Router } from 'express';
import type { components } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import { mountOperation, type SecurityHandlers } from '../http/openapi.ts';
import type { StateStore } from '../store/state-store.ts';
import { fromMilli, researcherAccount, toMilli } from '../store/sqlite-ledger.ts';
import { accountOf, requireRole } from './accounts.ts';
import type { CatalogSource, NodeRegistration } from './catalog.ts';
import { callNode } from './node-call.ts';

type S = components['schemas'];

/** A researcher's balance and grants' budgets. */
export async function balanceOf(store: StateStore, researcher: string): Promise<S['Balance']> {
  const grants = await store.grantsOf(researcher, new Date());
  return {
    account: researcher,
    credits: fromMilli(store.ledger.balance(researcherAccount(researcher))),
    grants: grants.map(({ decision: d, request: r }) => {
      const b = store.ledger.budget(d.tokenJti!) ?? { budget: r.privacyBudget, spent: 0, reserved: 0 };
      return { node: d.node, jti: d.tokenJti!, requestId: r.id, budget: b.budget, spent: b.spent, reserved: b.reserved, queryQuota: r.queryQuota, queriesUsed: d.queriesUsed };
    }),
  };
}

/** CSV cell: quoted when it needs to be (RFC 4180 §2). */
function cell(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * Mounts the metering routes.
 *
 * @example
 * mountMeteringRoutes(app, security, { store, catalog, estimate });
 */
export function mountMeteringRoutes(
  router: Router,
  security: SecurityHandlers,
  deps: {
    store: StateStore; catalog: CatalogSource; nodes: () => NodeRegistration[]; hubSigningKey: string;
    estimate: (account: ReturnType<typeof accountOf>, body: S['QueryRequest']) => Promise<S['QueryCost']>;
  },
): void {
  mountOperation(router, 'estimateQuery', security, requireRole('researcher'), async (req, res) => {
    res.json(await deps.estimate(accountOf(res), req.body as S['QueryRequest']));
  });
  mountOperation(router, 'getBalance', security, requireRole('researcher', 'admin'), async (req, res) => {
    const caller = accountOf(res);
    const named = req.query.account;
    if (named !== undefined && (typeof named !== 'string' || named.length === 0 || named.length > 100)) {
      throw new GatewayError('invalid_request', 'account must be one account id', { field: 'account' });
    }
    if (caller.role === 'researcher') {
      // Someone else's balance is not a researcher's business (nor whether that account exists).
      if (named !== undefined && named !== caller.id) throw new GatewayError('forbidden', 'account: a researcher may read only their own balance', { field: 'account' });
      res.json(await balanceOf(deps.store, caller.id));
      return;
    }
    if (named === undefined) throw new GatewayError('invalid_request', 'account is required: the researcher whose balance to read', { field: 'account' });
    const target = await deps.store.findAccount(named);
    if (!target || target.role !== 'researcher') throw new GatewayError('not_found', `account: no researcher account ${named}`, { field: 'account' });
    res.json(await balanceOf(deps.store, target.id));
  });
  mountOperation(router, 'topUpCredits', security, requireRole('admin'), async (req, res) => {
    const body = req.body as { account: string; amount: number };
    const target = await deps.store.findAccount(body.account);
    if (!target || target.role !== 'researcher') throw new GatewayError('not_found', `account: no researcher account ${body.account}`, { field: 'account' });
    const milli = toMilli(body.amount);
    if (milli <= 0) throw new GatewayError('invalid_request', 'amount must be at least 0.001 credits', { field: 'amount' });
    await deps.store.topUpCredits(target.id, milli, accountOf(res).id);
    res.json(await balanceOf(deps.store, target.id));
  });
  mountOperation(router, 'setDatasetPrice', security, requireRole('operator'), async (req, res) => {
    const id = req.params.datasetId as string;
    const dataset = (await deps.catalog.get()).datasets.get(id);
    if (!dataset) throw new GatewayError('not_found', `datasetId: no dataset ${id}`, { field: 'datasetId' });
    const operator = accountOf(res);
    if (dataset.node !== operator.node) throw new GatewayError('forbidden', `operators of ${operator.node ?? 'no institution'} cannot price ${id}`);
    const price = (req.body as { pricePerQuery: number }).pricePerQuery;
    await deps.store.setDatasetPrice(id, dataset.node, toMilli(price), operator.id);
    res.json({ dataset: id, pricePerQuery: fromMilli(toMilli(price)) });
  });
  mountOperation(router, 'setDatasetPrivacy', security, requireRole('operator'), async (req, res) => {
    const id = req.params.datasetId as string;
    const dataset = (await deps.catalog.get()).datasets.get(id);
    if (!dataset) throw new GatewayError('not_found', `datasetId: no dataset ${id}`, { field: 'datasetId' });
    const operator = accountOf(res);
    if (dataset.node !== operator.node) throw new GatewayError('forbidden', `operators of ${operator.node ?? 'no institution'} cannot change the privacy of ${id}`);
    const policy = req.body as S['PrivacyPolicy'];
    const node = deps.nodes().find((n) => n.id === dataset.node)!;
    await callNode(node, '/v1/policies', deps.hubSigningKey, { dataset: id, policy, issuedAt: Date.now() });
    await deps.store.recordPrivacyPolicy({ dataset: id, node: node.id, operator: operator.id, ...policy });
    await deps.catalog.get({ refresh: true });
    res.json(policy);
  });
  mountOperation(router, 'getUsage', security, async (req, res) => {
    const account = accountOf(res);
    const to = typeof req.query.to === 'string' ? req.query.to : new Date().toISOString().slice(0, 10);
    const from = typeof req.query.from === 'string' ? req.query.from : '1970-01-01';
    for (const [field, v] of [['from', from], ['to', to]] as const) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(v))) throw new GatewayError('invalid_request', `${field} must be a date (YYYY-MM-DD)`, { field });
    }
    const visible = deps.store.ledger.usage(from, to).filter((r) =>
      account.role === 'admin' || account.role === 'auditor' || (account.role === 'researcher' ? r.researcher === account.id : r.node === account.node));
    const grouped = new Map<string, S['UsageRow']>();
    for (const r of visible) {
      const key = `${r.day}|${r.researcher}|${r.dataset}`;
      const row = grouped.get(key) ?? { day: r.day, researcher: r.researcher, dataset: r.dataset, node: r.node, queries: 0, completed: 0, failed: 0, credits: 0, rho: 0 };
      row.queries += 1;
      if (r.state === 'committed') row.completed += 1;
      if (r.state === 'released') row.failed += 1;
      row.credits += fromMilli(r.credits);
      row.rho += r.rho;
      grouped.set(key, row);
    }
    const rows = [...grouped.values()];
    const totals = { queries: rows.reduce((n, r) => n + r.queries, 0), credits: rows.reduce((n, r) => n + r.credits, 0) };
    if (req.query.format === 'csv') {
      const header = ['day', 'researcher', 'dataset', 'node', 'queries', 'completed', 'failed', 'credits', 'rho'] as const;
      res.type('text/csv').send([header.join(','), ...rows.map((r) => header.map((h) => cell(r[h])).join(','))].join('\r\n') + '\r\n');
      return;
    }
    res.json({ from, to, rows, totals });
  });
}
