/**
 * Active grants: the consent tokens this institution's node signed that are still in force,
 * with Revoke (the hub refuses the token from then on and tells the node), and the
 * institution's earlier decisions (denied, revoked, expired) below.
 */
import { Fragment, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { useRowActions } from '../../components/use-row-actions.ts';
import { InstitutionLine } from './institution.tsx';
import { decisionOf, formatDateTime, formatNumber, PRE_WRAP, PurposeText, ReasonForm, useLocale } from './shared.tsx';
import { useAccessRequests } from '../../components/use-access-requests.ts';
import { focusBelongsTo, LiveStatus, useLiveStatus } from './live-status.tsx';

const COLUMNS = 8;

/** A set with `id` added or removed. */
function toggled(set: ReadonlySet<string>, id: string, on: boolean): ReadonlySet<string> {
  const next = new Set(set);
  if (on) next.add(id);
  else next.delete(id);
  return next;
}

export function ActiveGrantsPage() {
  const { t } = useTranslation('operator');
  const { t: tc } = useTranslation();
  const locale = useLocale();
  const { client, account } = useSession();
  const node = account.node ?? '';
  // Every request of this institution; its own decision says whether its grant is in force.
  const requests = useAccessRequests();
  const status = useLiveStatus();
  // The rows whose reason form is open, and those whose revocation is being sent.
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const { busy, errors, run } = useRowActions();
  // Cancel returns focus to the row's Revoke button.
  const revokeButtons = useRef(new Map<string, HTMLButtonElement>());
  const [refocus, setRefocus] = useState<{ id: string }>();
  useEffect(() => {
    if (refocus) revokeButtons.current.get(refocus.id)?.focus();
  }, [refocus]);

  const all = requests.data ?? [];
  const active = all.filter((r) => decisionOf(r, node)?.state === 'approved');
  const earlier = all
    .filter((r) => ['denied', 'revoked', 'expired'].includes(decisionOf(r, node)?.state ?? ''))
    .sort((a, b) => (decisionOf(b, node)?.decidedAt ?? b.createdAt).localeCompare(decisionOf(a, node)?.decidedAt ?? a.createdAt));

  const revoke = (id: string, reason: string) =>
    // At most one action per row in flight, whatever the buttons show.
    run(id, async () => {
      const updated = await client.revoke(id, reason);
      // The row leaves the table now: focus in it moves to the message.
      status.show(() => t('grants.revoked', { id }), 'success', focusBelongsTo(id));
      setOpen((s) => toggled(s, id, false));
      requests.apply(updated);
      requests.reload();
    });

  return (
    <section>
      <h1 tabIndex={-1}>{t('grants.title')}</h1>
      <InstitutionLine />
      <p className="muted">{t('grants.intro')}</p>
      <LiveStatus status={status} fallback={requests.loading && !requests.data ? tc('loading') : undefined} />
      <ErrorBanner error={requests.error} onRetry={requests.reload} />
      <button type="button" className="secondary" onClick={requests.reload}>
        {tc('refresh')}
      </button>
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
                const formOpen = open.has(r.id);
                const error = errors[r.id];
                return (
                  <Fragment key={r.id}>
                    <tr data-request={r.id}>
                      <th scope="row"><code>{r.id}</code></th>
                      <td><code>{r.researcher}</code></td>
                      <td className="small">{mine.datasets.map((d) => <div key={d}><code>{d}</code></div>)}</td>
                      <td className="small"><PurposeText code={r.purpose} /></td>
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
                      <td className="nowrap">
                        <button
                          type="button"
                          className="danger"
                          ref={(el) => {
                            if (el) revokeButtons.current.set(r.id, el);
                            else revokeButtons.current.delete(r.id);
                          }}
                          onClick={() => setOpen((s) => toggled(s, r.id, !formOpen))}
                          disabled={busy.has(r.id)}
                          aria-expanded={formOpen}
                          aria-label={t('grants.revokeLabel', { id: r.id })}
                        >
                          {t('grants.revoke')}
                        </button>
                      </td>
                    </tr>
                    {formOpen || error !== undefined ? (
                      <tr data-request={r.id}>
                        <td colSpan={COLUMNS}>
                          <ErrorBanner error={error} />
                          {formOpen ? (
                            <ReasonForm
                              id={`revoke-reason-${r.id}`}
                              label={t('grants.reason')}
                              hint={t('grants.reasonHint')}
                              confirm={t('grants.confirm')}
                              confirmLabel={t('grants.confirmLabel', { id: r.id })}
                              busy={busy.has(r.id)}
                              onConfirm={(reason) => void revoke(r.id, reason)}
                              onCancel={() => {
                                setOpen((s) => toggled(s, r.id, false));
                                setRefocus({ id: r.id });
                              }}
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
                    <td className="nowrap"><span className={`badge ${mine.state}`}>{t(`decisionStates.${mine.state}`)}</span></td>
                    <td className="small">{formatDateTime(mine.state === 'expired' ? mine.expiresAt : mine.decidedAt, locale)}</td>
                    <td className="small" style={PRE_WRAP}>{mine.reason ?? '—'}</td>
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
