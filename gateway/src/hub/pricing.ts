/**
 * What a query costs (DESIGN §8): credits — each dataset's price per query, set by its
 * institution's operators (or its configured default) — and privacy budget: ρ-zCDP spent on
 * every grant the query runs under when any of its datasets has differential privacy on,
 * shown also as (ε, δ) (Bun & Steinke 2016, Prop. 1.3: ε = ρ + 2√(ρ ln 1/δ)).
 */
import { rhoToEpsDelta, type DatasetSummary, type components } from '@veilgate/sdk';
import type { StateStore } from '../store/state-store.ts';
import { fromMilli, researcherAccount, toMilli, type Charge } from '../store/sqlite-ledger.ts';
import type { AdmittedToken } from './query-admission.ts';

export type QueryCost = components['schemas']['QueryCost'];

/** δ used when a ρ is shown as (ε, δ). */
export const REPORT_DELTA = 1e-6;

/**
 * The charge of a query: price lines per dataset and ρ per grant.
 *
 * @example
 * const charge = priceQuery(store, datasets, tokens, request.rho);
 */
export function priceQuery(store: StateStore, datasets: DatasetSummary[], tokens: AdmittedToken[], rho: number | undefined): Charge {
  const dp = datasets.filter((d) => d.differentialPrivacy);
  const chosenRho = dp.length === 0 ? 0 : rho ?? Math.max(...dp.map((d) => d.defaultRho));
  return {
    rho: chosenRho,
    lines: datasets.map((d) => ({ dataset: d.id, node: d.node, amount: store.ledger.price(d.id) ?? toMilli(d.pricePerQuery) })),
    grants: tokens.map((t) => ({ jti: t.jti, node: t.node, budget: t.budget })),
  };
}

/**
 * The cost as the researcher sees it, with what is left: `estimate` before anything is
 * reserved, `after` once the query completed and was charged.
 */
export function costOf(store: StateStore, researcher: string, charge: Charge, when: 'estimate' | 'after'): QueryCost {
  const credits = charge.lines.reduce((n, l) => n + l.amount, 0);
  const balance = store.ledger.balance(researcherAccount(researcher));
  const epsilon = charge.rho === 0 ? 0 : rhoToEpsDelta(charge.rho, REPORT_DELTA);
  return {
    rho: charge.rho,
    epsilon,
    delta: charge.rho === 0 ? 0 : REPORT_DELTA,
    credits: fromMilli(credits),
    creditsLeft: fromMilli(when === 'estimate' ? balance - credits : balance),
    grants: charge.grants.map((g) => {
      const b = store.ledger.budget(g.jti) ?? { budget: g.budget, spent: 0, reserved: 0 };
      const left = b.budget - b.spent - b.reserved - (when === 'estimate' ? charge.rho : 0);
      return { node: g.node, jti: g.jti, budget: b.budget, spent: b.spent, reserved: b.reserved, left: Math.max(0, left) };
    }),
  };
}
