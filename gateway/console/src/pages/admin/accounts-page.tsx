/**
 * Accounts (admin): create one (its API key is shown once) and every account of the data
 * space (`GET /v1/accounts`, optionally of one role) — never a key or its hash.
 */
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession, type Account } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { formatDateTime, useLocale } from '../../components/format.ts';
import { CreateAccount } from './create-account.tsx';
import { ROLES } from './shared.ts';

export function AccountsPage() {
  const { t } = useTranslation('admin');
  const { t: tc } = useTranslation();
  const locale = useLocale();
  const { client } = useSession();
  const [role, setRole] = useState<Account['role'] | ''>('');
  const accounts = useLoad(() => client.listAccounts(role || undefined), [client, role]);
  const rows = accounts.data ?? [];

  return (
    <section>
      <h1 tabIndex={-1}>{t('accounts.title')}</h1>
      <p className="muted">{t('accounts.intro')}</p>
      <CreateAccount onCreated={accounts.reload} />
      <h2 id="accounts-list-title">{t('accounts.listTitle')}</h2>
      <div className="row" style={{ alignItems: 'center' }}>
        <label className="inline" htmlFor="accounts-role-filter">
          {t('accounts.filter')}
        </label>
        <select id="accounts-role-filter" value={role} onChange={(e) => setRole(e.target.value as Account['role'] | '')}>
          <option value="">{t('accounts.allRoles')}</option>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {tc(`roles.${r}`)}
            </option>
          ))}
        </select>
        <button type="button" className="secondary" onClick={accounts.reload} disabled={accounts.loading}>
          {tc('refresh')}
        </button>
      </div>
      <ErrorBanner error={accounts.error} onRetry={accounts.reload} />
      {accounts.loading && !accounts.data ? <p role="status">{tc('loading')}</p> : null}
      {accounts.data && rows.length === 0 ? <p className="card">{t('accounts.none')}</p> : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table aria-labelledby="accounts-list-title">
            <caption className="muted small" style={{ textAlign: 'left', padding: '8px 10px' }}>{t('accounts.shown', { count: rows.length })}</caption>
            <thead>
              <tr>
                <th scope="col">{t('accounts.columns.name')}</th>
                <th scope="col">{t('accounts.columns.id')}</th>
                <th scope="col">{t('accounts.columns.role')}</th>
                <th scope="col">{t('accounts.columns.node')}</th>
                <th scope="col">{t('accounts.columns.created')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <tr key={a.id}>
                  <th scope="row">{a.name}</th>
                  <td><code>{a.id}</code></td>
                  <td>{tc(`roles.${a.role}`)}</td>
                  <td>{a.node ? <code>{a.node}</code> : <span className="muted">—</span>}</td>
                  <td className="small">{formatDateTime(a.createdAt, locale)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
