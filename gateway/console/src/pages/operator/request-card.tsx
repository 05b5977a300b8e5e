/**
 * One pending access request as this institution's operator sees it: what is asked for, the
 * approvals so far against those required (important data: two distinct operators), the
 * other institutions' decisions, and Approve / Deny (with a reason).
 */
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { DatasetName, decisionOf, formatDateTime, formatNumber, NO_MARGIN, PRE_WRAP, PurposeText, ReasonForm, useLocale, type AccessRequest, type DatasetSummary } from './shared.tsx';
import { useLocalized } from '../../components/localized.ts';

export interface RequestCardProps {
  request: AccessRequest;
  node: string;
  accountId: string;
  datasets: Map<string, DatasetSummary>;
  busy: boolean;
  error: unknown;
  onApprove: () => void;
  onDeny: (reason: string) => void;
}

export function RequestCard(props: RequestCardProps) {
  const { t } = useTranslation('operator');
  const locale = useLocale();
  const localized = useLocalized();
  const [denying, setDenying] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const denyButton = useRef<HTMLButtonElement>(null);
  // Set by Cancel: focus goes back to this card's Deny button once it is shown again.
  const backToDeny = useRef(false);
  useEffect(() => {
    if (!denying && backToDeny.current) {
      backToDeny.current = false;
      denyButton.current?.focus();
    }
  }, [denying]);
  const r = props.request;
  const mine = decisionOf(r, props.node);
  if (!mine) return null;
  const youApproved = mine.approvals.some((a) => a.operator === props.accountId);
  const others = r.decisions.filter((d) => d.node !== props.node);
  const titleId = `request-${r.id}-title`;
  return (
    <article className="card" aria-labelledby={titleId} data-request={r.id}>
      <div className="row" style={{ justifyContent: 'space-between', alignItems: 'center' }}>
        <h2 id={titleId} style={NO_MARGIN} tabIndex={-1} ref={heading}>
          {t('pending.request')} <code>{r.id}</code>
        </h2>
        <span className="badge pending">{t('pending.awaiting')}</span>
      </div>
      <dl className="facts">
        <dt>{t('fields.researcher')}</dt>
        <dd><code>{r.researcher}</code></dd>
        <dt>{t('fields.datasets')}</dt>
        <dd>
          <ul style={{ margin: 0, paddingLeft: 18 }}>
            {mine.datasets.map((id) => (
              <li key={id}>
                <DatasetName id={id} dataset={props.datasets.get(id)} />
                {props.datasets.get(id) ? <span className="muted small"> {localized(props.datasets.get(id)!).title}</span> : null}
              </li>
            ))}
          </ul>
          {others.length > 0 ? <p className="hint">{t('pending.alsoOthers', { count: r.datasets.length - mine.datasets.length })}</p> : null}
        </dd>
        <dt>{t('fields.elements')}</dt>
        <dd className="small">{r.elements.map((e, i) => <span key={e}>{i > 0 ? ', ' : ''}<code>{e}</code></span>)}</dd>
        <dt>{t('fields.operations')}</dt>
        <dd className="small">{r.operations.map((o) => t(`operations.${o}`)).join(' · ')}</dd>
        <dt>{t('fields.purpose')}</dt>
        <dd><PurposeText code={r.purpose} /></dd>
        <dt>{t('fields.justification')}</dt>
        <dd style={PRE_WRAP}>{r.justification}</dd>
        <dt>{t('fields.duration')}</dt>
        <dd>{t('days', { count: r.durationDays })}</dd>
        <dt>{t('fields.budget')}</dt>
        <dd>{formatNumber(r.privacyBudget, locale, 4)}</dd>
        <dt>{t('fields.quota')}</dt>
        <dd>{t('queries', { count: r.queryQuota, value: formatNumber(r.queryQuota, locale) })}</dd>
        <dt>{t('fields.identityKey')}</dt>
        <dd><code>{r.identityJkt}</code></dd>
        <dt>{t('fields.created')}</dt>
        <dd>{formatDateTime(r.createdAt, locale)}</dd>
      </dl>

      <h3>{t('pending.approvalsTitle')}</h3>
      <p>
        <strong>{t('pending.approvalsCount', { done: mine.approvals.length, required: mine.requiredApprovals })}</strong>
        {mine.requiredApprovals > 1 ? <span className="muted"> — {t('pending.twoOperators', { required: mine.requiredApprovals })}</span> : null}
      </p>
      {mine.approvals.length > 0 ? (
        <ul>
          {mine.approvals.map((a) => (
            <li key={a.operator}>
              {t('pending.approvedBy', { operator: a.operator, when: formatDateTime(a.at, locale) })}
              {a.operator === props.accountId ? <strong> ({t('pending.you')})</strong> : null}
            </li>
          ))}
        </ul>
      ) : null}
      {youApproved ? <p className="warning">{t('pending.youApproved')}</p> : null}

      {others.length > 0 ? (
        <>
          <h3>{t('pending.othersTitle')}</h3>
          <ul>
            {others.map((d) => (
              <li key={d.node}>
                <code>{d.node}</code> ({d.datasets.join(', ')}):{' '}
                <span className={`badge ${d.state}`}>{t(`decisionStates.${d.state}`)}</span>{' '}
                <span className="muted small">{t('pending.approvalsCount', { done: d.approvals.length, required: d.requiredApprovals })}</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}

      <ErrorBanner error={props.error} />
      {denying ? (
        <ReasonForm
          id={`deny-reason-${r.id}`}
          label={t('pending.denyReason')}
          hint={t('pending.denyHint')}
          confirm={t('pending.confirmDeny')}
          confirmLabel={t('pending.confirmDenyLabel', { id: r.id })}
          busy={props.busy}
          onConfirm={props.onDeny}
          onCancel={() => {
            backToDeny.current = true;
            setDenying(false);
          }}
        />
      ) : (
        <div>
          <button
            type="button"
            onClick={() => {
              // The button is disabled while the approval is sent: keep focus in this card.
              heading.current?.focus();
              props.onApprove();
            }}
            disabled={props.busy || youApproved}
            aria-label={t('pending.approveLabel', { id: r.id })}
          >
            {t('pending.approve')}
          </button>
          <button type="button" className="secondary" ref={denyButton} onClick={() => setDenying(true)} disabled={props.busy} aria-label={t('pending.denyLabel', { id: r.id })}>
            {t('pending.deny')}
          </button>
          {props.busy ? <span className="muted small">{t('pending.sending')}</span> : null}
        </div>
      )}
    </article>
  );
}
