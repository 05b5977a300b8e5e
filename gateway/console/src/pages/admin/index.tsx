/** The administrator's own pages: accounts (with one-time API keys) and researchers' credits. */
import type { RouteDef } from '../../router.tsx';
import { AccountsPage } from './accounts-page.tsx';
import { CreditsPage } from './credits-page.tsx';

export const adminRoutes: RouteDef[] = [
  { path: 'admin/accounts', nav: 'accounts', render: () => <AccountsPage /> },
  { path: 'admin/credits', nav: 'credits', render: () => <CreditsPage /> },
];
