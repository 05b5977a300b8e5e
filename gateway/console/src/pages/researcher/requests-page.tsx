/**
 * Access requests: ask for access to datasets (elements, operations, purpose, duration,
 * privacy budget, query quota), bound to the identity key loaded in this page; follow and
 * withdraw my requests.
 */
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { components } from '@veilgate/sdk';
import { useSession } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { useResearcherKeys } from './keys-context.tsx';
import { CARD_HEADING, DEFAULT_PURPOSE, NOWRAP, NeedKeys, OPERATIONS, PurposeSelect, PurposeText, StateBadge, formatDateTime, formatNumber, useAutoRefresh, useLocale } from './shared.tsx';

type S = components['schemas'];

/** Defaults: a month, a budget of 20 queries at the usual ρ = 0.5, a hundred queries. */
const DEFAULTS = { durationDays: '30', privacyBudget: '10', queryQuota: '100' };

/** A checkbox with its description beside it (outside the label, so the name is the identifier only). */
/** One of the three number fields in a row, sharing the width so that their hints wrap. */
const FIELD = { flex: '1 1 200px' } as const;
const CHOICE = { display: 'flex', gap: 8, alignItems: 'baseline', flexWrap: 'wrap' } as const;

function toggle<T>(list: T[], item: T, on: boolean): T[] {
  return on ? (list.includes(item) ? list : [...list, item]) : list.filter((x) => x !== item);
}

export function RequestsPage() {
  const { t } = useTranslation('researcher');
  const { t: tc } = useTranslation();
  const { client } = useSession();
  const { loaded } = useResearcherKeys();
  const catalog = useLoad(() => client.catalog(), [client]);
  const requests = useLoad(() => client.accessRequests(), [client]);
  useAutoRefresh(requests.reload, 5000);
  const [status, setStatus] = useState<string>();
  const [actionError, setActionError] = useState<unknown>();
  const [busyRow, setBusyRow] = useState<string>();

  const withdraw = async (id: string) => {
    setBusyRow(id);
    setActionError(undefined);
    setStatus(undefined);
    try {
      await client.withdrawAccessRequest(id);
      setStatus(t('requests.withdrawn', { id }));
      requests.reload();
    } catch (cause) {
      setActionError(cause);
    } finally {
      setBusyRow(undefined);
    }
  };

  const mine = [...(requests.data ?? [])].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return (
    <section>
      <h1 tabIndex={-1}>{t('requests.title')}</h1>
      <p className="muted">{t('requests.intro')}</p>
      {loaded ? null : <NeedKeys />}
      <ErrorBanner error={catalog.error} onRetry={catalog.reload} />
      {catalog.data ? (
        <RequestForm
          catalog={catalog.data}
          canSubmit={loaded !== undefined}
          onSubmit={async (input) => {
            if (!loaded) return;
            setStatus(undefined);
            const created = await client.requestAccess(input, loaded.identity);
            setStatus(t('requests.submitted', { id: created.id }));
            requests.reload();
          }}
        />
      ) : catalog.loading ? (
        <p role="status">{tc('loading')}</p>
      ) : null}
      {status ? <p role="status" className="success">{status}</p> : null}

      <h2>{t('requests.mine')}</h2>
      <ErrorBanner error={requests.error} onRetry={requests.reload} />
      <ErrorBanner error={actionError} />
      <div className="row">
        <button type="button" className="secondary" onClick={requests.reload}>
          {tc('refresh')}
        </button>
      </div>
      {requests.data && mine.length === 0 ? <p className="muted">{t('requests.noneYet')}</p> : null}
      {mine.length > 0 ? <RequestTable requests={mine} busyRow={busyRow} onWithdraw={(id) => void withdraw(id)} /> : null}
    </section>
  );
}

function RequestForm(props: { catalog: S['Catalog']; canSubmit: boolean; onSubmit: (input: Omit<S['AccessRequestInput'], 'identityKey'>) => Promise<void> }) {
  const { t } = useTranslation('researcher');
  const locale = useLocale();
  const queryable = props.catalog.datasets.filter((d) => d.queryable);
  const [datasets, setDatasets] = useState<string[]>([]);
  const [elements, setElements] = useState<string[]>([]);
  const [operations, setOperations] = useState<S['Operation'][]>(['count']);
  const [purpose, setPurpose] = useState(DEFAULT_PURPOSE);
  const [justification, setJustification] = useState('');
  const [durationDays, setDurationDays] = useState(DEFAULTS.durationDays);
  const [privacyBudget, setPrivacyBudget] = useState(DEFAULTS.privacyBudget);
  const [queryQuota, setQueryQuota] = useState(DEFAULTS.queryQuota);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const selected = queryable.filter((d) => datasets.includes(d.id));
  // The hub asks every requested dataset to provide every requested element.
  const offered = (name: string) => selected.every((d) => d.elements.includes(name));
  const usable = props.catalog.elements.filter((e) => queryable.some((d) => d.elements.includes(e.name)));
  const chosenElements = elements.filter(offered);
  const dp = selected.filter((d) => d.differentialPrivacy);
  const rho = dp.length ? Math.max(...dp.map((d) => d.defaultRho)) : undefined;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    const missing = datasets.length === 0 ? 'pickDataset' : chosenElements.length === 0 ? 'pickElement' : operations.length === 0 ? 'pickOperation' : undefined;
    if (missing) {
      setError(new Error(t(`requests.form.${missing}`)));
      return;
    }
    setBusy(true);
    try {
      await props.onSubmit({
        datasets: queryable.filter((d) => datasets.includes(d.id)).map((d) => d.id),
        elements: usable.filter((e) => chosenElements.includes(e.name)).map((e) => e.name),
        operations: OPERATIONS.filter((o) => operations.includes(o)),
        purpose,
        justification: justification.trim(),
        durationDays: Number(durationDays),
        privacyBudget: Number(privacyBudget),
        queryQuota: Number(queryQuota),
      });
      setJustification('');
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={(e) => void submit(e)}>
      <h2 style={CARD_HEADING}>{t('requests.form.title')}</h2>
      <fieldset>
        <legend>{t('requests.form.datasets')}</legend>
        {queryable.map((d) => (
          <div key={d.id}>
            <label className="check">
              <input type="checkbox" checked={datasets.includes(d.id)} onChange={(e) => setDatasets(toggle(datasets, d.id, e.target.checked))} aria-describedby={`ds-${d.id}`} />
              <code>{d.id}</code>
            </label>
            <div id={`ds-${d.id}`} className="muted small" style={{ marginLeft: 26 }}>
              {t('requests.form.datasetInfo', { title: d.title, approvals: d.requiredApprovals, price: formatNumber(d.pricePerQuery, locale) })}
            </div>
          </div>
        ))}
      </fieldset>
      <fieldset>
        <legend>{t('requests.form.elements')}</legend>
        <p className="hint">{t('requests.form.elementsHint')}</p>
        <div className="grid2">
          {usable.map((e) => (
            <div key={e.name} style={CHOICE}>
              <label className="check">
                <input type="checkbox" checked={chosenElements.includes(e.name)} disabled={!offered(e.name)} onChange={(ev) => setElements(toggle(elements, e.name, ev.target.checked))} aria-describedby={`el-${e.name}`} />
                <code>{e.name}</code>
              </label>
              <span id={`el-${e.name}`} className="muted small">{offered(e.name) ? e.title : t('requests.form.notOffered')}</span>
            </div>
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>{t('requests.form.operations')}</legend>
        <div className="grid2">
          {OPERATIONS.map((o) => (
            <div key={o} style={CHOICE}>
              <label className="check">
                <input type="checkbox" checked={operations.includes(o)} onChange={(e) => setOperations(toggle(operations, o, e.target.checked))} aria-describedby={`op-${o}`} />
                {t(`ops.${o}`)}
              </label>
              <span id={`op-${o}`} className="muted small">{t(`opHelp.${o}`)}</span>
            </div>
          ))}
        </div>
      </fieldset>
      <PurposeSelect id="request-purpose" value={purpose} onChange={setPurpose} />
      <label htmlFor="justification">{t('requests.form.justification')}</label>
      <textarea id="justification" required minLength={10} maxLength={4000} value={justification} onChange={(e) => setJustification(e.target.value)} aria-describedby="justification-hint" />
      <p id="justification-hint" className="hint">{t('requests.form.justificationHint')}</p>
      <div className="row">
        <div style={FIELD}>
          <label htmlFor="duration">{t('requests.form.duration')}</label>
          <input id="duration" type="number" required min={1} max={90} step={1} value={durationDays} onChange={(e) => setDurationDays(e.target.value)} aria-describedby="duration-hint" />
          <p id="duration-hint" className="hint">{t('requests.form.durationHint')}</p>
        </div>
        <div style={FIELD}>
          <label htmlFor="budget">{t('requests.form.budget')}</label>
          <input id="budget" type="number" required min={0.0001} max={1000} step="any" value={privacyBudget} onChange={(e) => setPrivacyBudget(e.target.value)} aria-describedby="budget-hint" />
          <p id="budget-hint" className="hint">
            {rho === undefined ? t('requests.form.budgetHint') : t('requests.form.budgetHintRho', { rho, queries: Math.floor(Number(privacyBudget) / rho) || 0 })}
          </p>
        </div>
        <div style={FIELD}>
          <label htmlFor="quota">{t('requests.form.quota')}</label>
          <input id="quota" type="number" required min={1} max={1000000} step={1} value={queryQuota} onChange={(e) => setQueryQuota(e.target.value)} aria-describedby="quota-hint" />
          <p id="quota-hint" className="hint">{t('requests.form.quotaHint')}</p>
        </div>
      </div>
      <ErrorBanner error={error} />
      <button type="submit" disabled={busy || !props.canSubmit}>
        {busy ? t('requests.form.submitting') : t('requests.form.submit')}
      </button>
      {props.canSubmit ? null : <span className="hint">{t('requests.form.needsKeys')}</span>}
    </form>
  );
}

function RequestTable(props: { requests: S['AccessRequest'][]; busyRow: string | undefined; onWithdraw: (id: string) => void }) {
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
                    <div key={d}><code style={NOWRAP}>{d}</code></div>
                  ))}
                  <div className="muted small">{t('requests.table.scope', { elements: r.elements.join(', '), operations: r.operations.join(', ') })}</div>
                </td>
                <td><PurposeText code={r.purpose} /></td>
                <td>
                  <span style={NOWRAP}><StateBadge state={r.state} /></span>
                  {r.state === 'submitted' ? (
                    <div>
                      <button type="button" className="secondary" aria-label={t('requests.table.withdrawLabel', { id: r.id })} disabled={props.busyRow === r.id} onClick={() => props.onWithdraw(r.id)}>
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
