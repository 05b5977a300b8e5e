/**
 * The new access request form: datasets, data elements (only those every chosen dataset
 * offers), operations, purpose, justification, duration, privacy budget and query quota.
 */
import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { components } from '@veilgate/sdk';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { CARD_HEADING, CHECK_DETAIL, DEFAULT_PURPOSE, OPERATIONS, PurposeSelect, formatNumber, useFocusAfterRender, useLocale } from './shared.tsx';
import { useLocalized } from '../../components/localized.ts';

type S = components['schemas'];

/** Defaults: a month, ρ = 0.5 for the grant (the spec allows at most 2; protocol.md §9), a hundred queries. */
const DEFAULTS = { durationDays: '30', privacyBudget: '0.5', queryQuota: '100' };

/** One of the three number fields in a row, sharing the width so that their hints wrap. */
const FIELD = { flex: '1 1 200px' } as const;
/** A checkbox with its description beside it (outside the label, so the name is the identifier only). */
const CHOICE = { display: 'flex', gap: 8, alignItems: 'baseline', flexWrap: 'wrap' } as const;

function toggle<T>(list: T[], item: T, on: boolean): T[] {
  return on ? (list.includes(item) ? list : [...list, item]) : list.filter((x) => x !== item);
}

export function RequestForm(props: { catalog: S['Catalog']; canSubmit: boolean; onSubmit: (input: Omit<S['AccessRequestInput'], 'identityKey'>) => Promise<void> }) {
  const { t } = useTranslation('researcher');
  const locale = useLocale();
  const localized = useLocalized();
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
  const sending = useRef(false);
  const submitRef = useRef<HTMLButtonElement>(null);
  const focusLater = useFocusAfterRender();

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
    if (sending.current) return;
    sending.current = true;
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
      // The button was disabled while sending: give focus back to it, next to the error.
      focusLater(() => submitRef.current);
    } finally {
      sending.current = false;
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
            <div id={`ds-${d.id}`} className="muted small" style={CHECK_DETAIL}>
              {t('requests.form.datasetInfo', { title: localized(d).title, approvals: d.requiredApprovals, price: formatNumber(d.pricePerQuery, locale) })}
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
              <span id={`el-${e.name}`} className="muted small">{offered(e.name) ? localized(e).title : t('requests.form.notOffered')}</span>
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
          <input id="budget" type="number" required min={0.0001} max={2} step="any" value={privacyBudget} onChange={(e) => setPrivacyBudget(e.target.value)} aria-describedby="budget-hint" />
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
      <button ref={submitRef} type="submit" disabled={busy || !props.canSubmit}>
        {busy ? t('requests.form.submitting') : t('requests.form.submit')}
      </button>
      {props.canSubmit ? null : <span className="hint">{t('requests.form.needsKeys')}</span>}
    </form>
  );
}
