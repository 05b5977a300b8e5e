/**
 * Demo and test convenience: a researcher asks for access to every queryable dataset and
 * every operator approves — the whole consent flow of DESIGN §4 step 2, over the public API,
 * each approval signed with the operator's own key (protocol.md §9).
 */
import { VeilgateClient, type IdentityKey, type components } from '@veilgate/sdk';
import { operatorKeyFor } from './operator-keys.ts';

type S = components['schemas'];

/** Every operation of the query language. */
export const ALL_OPERATIONS: S['Operation'][] = ['count', 'sum', 'mean', 'variance', 'stddev', 'histogram'];

/** The ρ a demo grant asks for unless told: well under the per-dataset ceiling (2), so further grants fit. */
export const DEMO_GRANT_BUDGET = 0.75;

/**
 * Has the operators of `node` (API keys, with their key files when known) approve a request.
 *
 * @example
 * await approveAs(hubUrl, request, 'hosp-a', [apiKey], [keyFile]);
 */
export async function approveAs(hubUrl: string, request: S['AccessRequest'], apiKeys: string[], keyFiles: string[] = []): Promise<S['AccessRequest']> {
  let current = request;
  for (const [i, apiKey] of apiKeys.entries()) {
    const client = new VeilgateClient({ baseUrl: hubUrl, apiKey });
    const me = await client.me();
    const key = await operatorKeyFor(apiKey, { account: me.id, node: me.node }, keyFiles[i]);
    current = await client.decide(request.id, 'approve', { key, operator: me, request: current });
  }
  return current;
}

/**
 * Requests access to every queryable dataset (or `datasets`) and has the institutions'
 * operators approve it; returns the request as it stands afterwards.
 *
 * @example
 * await grantAccess({ hubUrl, researcher: apiKey, operators, operatorKeys }, identity);
 */
export async function grantAccess(
  space: { hubUrl: string; researcher: string; operators: Record<string, string[]>; operatorKeys?: Record<string, string[]> },
  identity: IdentityKey,
  options: { datasets?: string[]; elements?: string[]; operations?: S['Operation'][]; purpose?: string; queryQuota?: number; durationDays?: number; privacyBudget?: number } = {},
): Promise<S['AccessRequest']> {
  const researcher = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.researcher });
  const catalog = await researcher.catalog({ refresh: true });
  const datasets = options.datasets ?? catalog.datasets.filter((d) => d.queryable).map((d) => d.id);
  const elements = options.elements ?? [...new Set(catalog.datasets.filter((d) => datasets.includes(d.id)).flatMap((d) => d.elements))].filter((e) =>
    catalog.datasets.filter((d) => datasets.includes(d.id)).every((d) => d.elements.includes(e)),
  );
  const request = await researcher.requestAccess(
    {
      datasets, elements, operations: options.operations ?? ALL_OPERATIONS, purpose: options.purpose ?? 'DUO:0000006',
      justification: 'Cardiometabolic risk stratification across institutions (demo study).',
      durationDays: options.durationDays ?? 30, privacyBudget: options.privacyBudget ?? DEMO_GRANT_BUDGET, queryQuota: options.queryQuota ?? 100_000,
    },
    identity,
  );
  let current = request;
  for (const decision of request.decisions) {
    const n = decision.requiredApprovals;
    current = await approveAs(space.hubUrl, current, (space.operators[decision.node] ?? []).slice(0, n), (space.operatorKeys?.[decision.node] ?? []).slice(0, n));
  }
  return current;
}
