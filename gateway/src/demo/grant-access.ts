/**
 * Demo and test convenience: a researcher asks for access to every queryable dataset and
 * every operator approves — the whole consent flow of DESIGN §4 step 2, over the public API.
 */
import { VeilgateClient, type IdentityKey, type components } from '@veilgate/sdk';

type S = components['schemas'];

/** Every operation of the query language. */
export const ALL_OPERATIONS: S['Operation'][] = ['count', 'sum', 'mean', 'variance', 'stddev', 'histogram'];

/**
 * Requests access to every queryable dataset (or `datasets`) and has the institutions'
 * operators approve it; returns the request as it stands afterwards.
 *
 * @example
 * await grantAccess({ hubUrl, researcher: apiKey, operators }, identity);
 */
export async function grantAccess(
  space: { hubUrl: string; researcher: string; operators: Record<string, string[]> },
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
      durationDays: options.durationDays ?? 30, privacyBudget: options.privacyBudget ?? 1000, queryQuota: options.queryQuota ?? 100_000,
    },
    identity,
  );
  let current = request;
  for (const decision of request.decisions) {
    for (const key of (space.operators[decision.node] ?? []).slice(0, decision.requiredApprovals)) {
      current = await new VeilgateClient({ baseUrl: space.hubUrl, apiKey: key }).decide(request.id, 'approve');
    }
  }
  return current;
}
