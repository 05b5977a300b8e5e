/**
 * Active grants: the consent tokens this institution's node signed that are still in force,
 * with Revoke (the hub refuses the token from then on and tells the node), and the
 * institution's earlier decisions (denied, revoked, expired) below.
 */
import { Fragment, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { InstitutionLine } from './institution.tsx';
import { decisionOf, formatDateTime, formatNumber, ReasonForm, useLocale, type AccessRequest } from './shared.tsx';

const COLUMNS = 8;

export function ActiveGrantsPage() {
  const { t } = useTranslation('operator');
  const { t: tc } = useTranslation();
  const locale = useLocale();
  const { client, account } = useSession();
  const node = account.node ?? '';
  // Every request of this institution; its own decision says whether its grant is in force.
  const requests = useLoad(() => client.accessRequests(), [client]);
  const [revoking, setRevoking] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ id: string; cause: unknown }>();
  const [status, setStatus] = useState<string>();
  const statusRef = useRef<HTMLParagraphElement>(null);

  const all = requests.data ?? [];
  const active = all.filter((r) => decisionOf(r, node)?.state === 'approved');
  const earlier = all
    .filter((r) => ['denied', 'revoked', 'expired'].includes(decisionOf(r, node)?.state ?? ''))
    .sort((a, b) => (decisionOf(b, node)?.decidedAt ?? b.createdAt).localeCompare(decisionOf(a, node)?.decidedAt ?? a.createdAt));

  const revoke = async (r: AccessRequest, reason: string) => {
    setBusy(true);
    setError(undefined);
    setStatus(undefined);
    try {
      await client.revoke(r.id, reason);
      setRevoking(undefined);
      setStatus(t('grants.revoked', { id: r.id }));
      requests.reload();
      requestAnimationFrame(() => statusRef.current?.focus());
    } catch (cause) {
      setError({ id: r.id, cause });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1 tabIndex={-1}>{t('grants.title')}</h1>
      <InstitutionLine />
      <p className="muted">{t('grants.intro')}</p>
      {status ? (
        <p role="status" className="success" tabIndex={-1} ref={statusRef}>
          {status}
        </p>
      ) : null}
      <ErrorBanner error={requests.error} onRetry={requests.reload} />
      <button type="button" className="secondary" onClick={requests.reload} disabled={requests.loading}>
        {tc('refresh')}
      </button>
      {requests.loading && !requests.data ? <p role="status">{tc('loading')}</p> : null}
      {requests.data && active.length === 0 ? <p className="card">{t('grants.empty')}</p> : null}
      {active.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="muted small" style={{ textAlign: 'left', padding: '8px 10px' }}>{t('grants.caption', { count: active.length })}</caption>
            <thead>
              <tr>
                <th scope="col">{t('fields.request')}</th>
                <th scope="col">{t('fields.researcher')}</th>
                <th scope="col">{t('fields.datasets')}</th>
                <th scope="col">{t('fields.purpose')}</th>
                <th scope="col">{t('grants.approved')}</th>
                <th scope="col">{t('grants.expires')}</th>
                <th scope="col" className="num">{t('fields.quota')}</th>
                <th scope="col">{t('grants.action')}</th>
              </tr>
            </thead>
            <tbody>
              {active.map((r) => {
                const mine = decisionOf(r, node)!;
                const open = revoking === r.id;
                return (
                  <Fragment key={r.id}>
                    <tr>
                      <th scope="row"><code>{r.id}</code></th>
                      <td><code>{r.researcher}</code></td>
                      <td className="small">{mine.datasets.map((d) => <div key={d}><code>{d}</code></div>)}</td>
                      <td className="small"><code style={{ whiteSpace: 'nowrap', wordBreak: 'normal' }}>{r.purpose}</code></td>
                      <td className="small">
                        <div>{formatDateTime(mine.decidedAt, locale)}</div>
                        <div className="muted mono">
                          {t('grants.by', { operators: mine.approvals.map((a) => (a.operator === account.id ? `${a.operator} (${t('pending.you')})` : a.operator)).join(', ') })}
                        </div>
                      </td>
                      <td className="small">{formatDateTime(mine.expiresAt, locale)}</td>
                      <td className="num small">
                        <div>{t('queries', { count: r.queryQuota, value: formatNumber(r.queryQuota, locale) })}</div>
                        <div className="muted">ρ ≤ {formatNumber(r.privacyBudget, locale, 4)}</div>
                      </td>
                      <td style={{ whiteSpace: 'nowrap' }}>
                        <button type="button" className="danger" onClick={() => setRevoking(open ? undefined : r.id)} disabled={busy} aria-expanded={open} aria-label={t('grants.revokeLabel', { id: r.id })}>
                          {t('grants.revoke')}
                        </button>
                      </td>
                    </tr>
                    {open || error?.id === r.id ? (
                      <tr>
                        <td colSpan={COLUMNS}>
                          {error?.id === r.id ? <ErrorBanner error={error.cause} /> : null}
                          {open ? (
                            <ReasonForm
                              id={`revoke-reason-${r.id}`}
                              label={t('grants.reason')}
                              hint={t('grants.reasonHint')}
                              confirm={t('grants.confirm')}
                              confirmLabel={t('grants.confirmLabel', { id: r.id })}
                              busy={busy}
                              onConfirm={(reason) => void revoke(r, reason)}
                              onCancel={() => setRevoking(undefined)}
                            />
                          ) : null}
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}

      <h2>{t('grants.earlierTitle')}</h2>
      {requests.data && earlier.length === 0 ? <p className="muted">{t('grants.earlierEmpty')}</p> : null}
      {earlier.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('fields.request')}</th>
                <th scope="col">{t('fields.researcher')}</th>
                <th scope="col">{t('fields.datasets')}</th>
                <th scope="col">{t('grants.outcome')}</th>
                <th scope="col">{t('grants.when')}</th>
                <th scope="col">{t('grants.reasonColumn')}</th>
              </tr>
            </thead>
            <tbody>
              {earlier.map((r) => {
                const mine = decisionOf(r, node)!;
                return (
                  <tr key={r.id}>
                    <th scope="row"><code>{r.id}</code></th>
                    <td><code>{r.researcher}</code></td>
                    <td className="small">{mine.datasets.join(', ')}</td>
                    <td style={{ whiteSpace: 'nowrap' }}><span className={`badge ${mine.state}`}>{t(`decisionStates.${mine.state}`)}</span></td>
                    <td className="small">{formatDateTime(mine.state === 'expired' ? mine.expiresAt : mine.decidedAt, locale)}</td>
                    <td className="small" style={{ whiteSpace: 'pre-wrap' }}>{mine.reason ?? '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
