/** My access requests: scope, purpose, state, each institution's decision and its reasons; Withdraw while submitted. */
import { useTranslation } from 'react-i18next';
import type { components } from '@veilgate/sdk';
import { PurposeText, StateBadge, formatDateTime, useLocale } from './shared.tsx';

type S = components['schemas'];

/**
 * `busy` holds the requests being withdrawn: their button stays focusable (aria-disabled,
 * not disabled, so that keyboard focus is not dropped) and does nothing until the hub answers.
 */
export function RequestTable(props: { requests: S['AccessRequest'][]; busy: ReadonlySet<string>; onWithdraw: (id: string) => void }) {
  const { t } = useTranslation('researcher');
  const locale = useLocale();
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={t('requests.mine')}>
      <table>
        <thead>
          <tr>
            <th scope="col">{t('requests.table.id')}</th>
            <th scope="col">{t('requests.table.datasets')}</th>
            <th scope="col">{t('requests.table.purpose')}</th>
            <th scope="col">{t('requests.table.state')}</th>
            <th scope="col">{t('requests.table.approvals')}</th>
            <th scope="col">{t('requests.table.reasons')}</th>
          </tr>
        </thead>
        <tbody>
          {props.requests.map((r) => {
            const reasons = r.decisions.filter((d) => d.reason);
            return (
              <tr key={r.id}>
                <th scope="row">
                  <code>{r.id}</code>
                  <div className="muted small">{formatDateTime(r.createdAt, locale)}</div>
                </th>
                <td>
                  {r.datasets.map((d) => (
                    <div key={d}><code className="nowrap">{d}</code></div>
                  ))}
                  <div className="muted small">{t('requests.table.scope', { elements: r.elements.join(', '), operations: r.operations.join(', ') })}</div>
                </td>
                <td><PurposeText code={r.purpose} /></td>
                <td>
                  <span className="nowrap"><StateBadge state={r.state} /></span>
                  {r.state === 'submitted' ? (
                    <div>
                      <button
                        type="button" className="secondary" aria-label={t('requests.table.withdrawLabel', { id: r.id })}
                        aria-disabled={props.busy.has(r.id) || undefined} onClick={() => props.onWithdraw(r.id)}
                      >
                        {t('requests.table.withdraw')}
                      </button>
                    </div>
                  ) : null}
                </td>
                <td>
                  {r.decisions.map((d) => (
                    <div key={d.node} className="small">
                      {t('requests.table.decision', { node: d.node, approvals: d.approvals.length, required: d.requiredApprovals })}{' '}
                      {r.state === 'withdrawn' && d.state === 'pending' ? null : <span className={`badge ${d.state}`}>{t(`decisionStates.${d.state}`)}</span>}
                    </div>
                  ))}
                </td>
                <td>
                  {reasons.length === 0 ? <span className="muted">—</span> : null}
                  {reasons.map((d) => (
                    <div key={d.node} className="small">
                      <strong>{d.node}:</strong> {d.reason}
                    </div>
                  ))}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
