/** The researcher's pages: keys, access requests, grants & budget, query. */
import type { RouteDef } from '../../router.tsx';
import { KeysPage } from './keys-page.tsx';
import { RequestsPage } from './requests-page.tsx';
import { GrantsPage } from './grants-page.tsx';
import { QueryPage } from './query-page.tsx';

export { ResearcherProvider, useResearcherKeys } from './keys-context.tsx';

export const researcherRoutes: RouteDef[] = [
  { path: 'researcher/keys', nav: 'keys', render: () => <KeysPage /> },
  { path: 'researcher/requests', nav: 'requests', render: () => <RequestsPage /> },
  { path: 'researcher/grants', nav: 'grants', render: () => <GrantsPage /> },
  { path: 'researcher/query', nav: 'query', render: () => <QueryPage /> },
];
