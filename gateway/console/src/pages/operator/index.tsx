/**
 * The data operator's pages (an institution's operator, `account.node`): pending access
 * requests, active grants, usage & earnings (with prices and privacy), patient consent.
 */
import type { RouteDef } from '../../router.tsx';
import { PendingRequestsPage } from './pending-requests.tsx';
import { ActiveGrantsPage } from './active-grants.tsx';
import { UsagePage } from './usage.tsx';
import { ConsentPage } from './consent.tsx';

export const operatorRoutes: RouteDef[] = [
  { path: 'operator/requests', nav: 'pending', render: () => <PendingRequestsPage /> },
  { path: 'operator/grants', nav: 'activeGrants', render: () => <ActiveGrantsPage /> },
  { path: 'operator/usage', nav: 'usage', render: () => <UsagePage /> },
  { path: 'operator/consent', nav: 'consent', render: () => <ConsentPage /> },
];
