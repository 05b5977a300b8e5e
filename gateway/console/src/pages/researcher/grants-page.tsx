/**
 * Grants & budget: my credits and each consent token in force with its quota and privacy
 * budget (GET /v1/grants joined with GET /v1/balance by jti), and whether it is bound to the
 * identity key loaded in this page (only those can be used here).
 */
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { Link } from '../../router.tsx';
import { useResearcherKeys } from './keys-context.tsx';
import { CARD_HEADING, NeedKeys, PurposeText, StatusRegion, formatDateTime, formatNumber, useAutoRefresh, useLocale } from './shared.tsx';

export function GrantsPage() {
  const { t } = useTranslation('researcher');
  const { t: tc } = useTranslation();
  const locale = useLocale();
  const { client } = useSession();
  const { loaded } = useResearcherKeys();
  const data = useLoad(async () => {
    const [grants, balance] = await Promise.all([client.grants(), client.balance()]);
    return { grants, balance };
  }, [client]);
  useAutoRefresh(data.reload, 15_000);
  const budgets = new Map((data.data?.balance.grants ?? []).map((g) => [g.jti, g]));
  const grants = [...(data.data?.grants ?? [])].sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
  const num = (v: number) => formatNumber(v, locale, 4);

  return (
    <section>
      <h1 tabIndex={-1}>{t('grants.title')}</h1>
      <p className="muted">{t('grants.intro')}</p>
      {loaded ? null : <NeedKeys />}
      <StatusRegion message={data.loading && !data.data ? tc('loading') : undefined} tone="muted" />
      <ErrorBanner error={data.error} onRetry={data.reload} />
      {data.data ? (
        <div className="card">
          <h2 style={CARD_HEADING}>{t('grants.credits')}</h2>
          <p style={{ fontSize: 26, fontWeight: 600, margin: '4px 0' }}>{tc('credits', { value: formatNumber(data.data.balance.credits, locale) })}</p>
          <p className="hint">{t('grants.creditsHint')}</p>
        </div>
      ) : null}
      <h2>{t('grants.inForce')}</h2>
      <div className="row">
        <button type="button" className="secondary" onClick={data.reload}>
          {tc('refresh')}
        </button>
      </div>
      {data.data && grants.length === 0 ? (
        <p className="muted">
          {t('grants.none')} <Link to="researcher/requests">{t('grants.askLink')}</Link>
        </p>
      ) : null}
      {grants.length > 0 ? (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={t('grants.inForce')}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('grants.table.node')}</th>
                <th scope="col">{t('grants.table.datasets')}</th>
                <th scope="col">{t('grants.table.purpose')}</th>
                <th scope="col">{t('grants.table.expires')}</th>
                <th scope="col" className="num">{t('grants.table.queries')}</th>
                <th scope="col" className="num">{t('grants.table.budget')}</th>
                <th scope="col">{t('grants.table.bound')}</th>
              </tr>
            </thead>
            <tbody>
              {grants.map((g) => {
                const b = budgets.get(g.jti);
                const bound = loaded ? g.identityJkt === loaded.identity.jkt : undefined;
                return (
                  <tr key={g.jti}>
                    <th scope="row">
                      <strong>{g.node}</strong>
                      <div className="muted small">{t('grants.table.request', { id: g.requestId })}</div>
                    </th>
                    <td>
                      {g.datasets.map((d) => (
                        <div key={d}><code className="nowrap">{d}</code></div>
                      ))}
                      <div className="muted small">{t('grants.table.scope', { elements: g.elements.join(', '), operations: g.operations.join(', ') })}</div>
                    </td>
                    <td><PurposeText code={g.purpose} /></td>
                    <td>{formatDateTime(g.expiresAt, locale)}</td>
                    <td className="num nowrap">
                      {t('grants.table.used', { used: num(g.queriesUsed), quota: num(g.queryQuota) })}
                      {g.queriesUsed >= g.queryQuota ? <div><span className="badge bad">{t('grants.table.exhausted')}</span></div> : null}
                    </td>
                    <td className="num nowrap">
                      {b ? (
                        <>
                          <div>{t('grants.table.spent', { spent: num(b.spent), budget: num(b.budget) })}</div>
                          <div className="muted small">{t('grants.table.reserved', { reserved: num(b.reserved) })}</div>
                        </>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    <td>
                      {bound === undefined ? (
                        <span className="muted small">{t('grants.table.noKeys')}</span>
                      ) : bound ? (
                        <span className="badge ok">{t('grants.table.boundYes')}</span>
                      ) : (
                        <span className="badge warn">{t('grants.table.boundNo')}</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <p className="hint">{t('grants.boundHint')}</p>
    </section>
  );
}
