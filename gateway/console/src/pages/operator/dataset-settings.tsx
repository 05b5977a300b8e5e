/**
 * Per dataset of this institution: the price per query (`PUT /v1/datasets/{id}/price`) and
 * differential privacy on/off with its default ρ (`PUT /v1/datasets/{id}/privacy`, which the
 * hub relays to the node that adds the noise). The section's one live region announces each
 * save; a save in flight keeps its button focusable (not disabled) and is sent once.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { useInstitution } from './institution.tsx';
import { formatNumber, NO_MARGIN, NO_TOP_MARGIN, useLocale, type DatasetSummary } from './shared.tsx';
import { LiveStatus, useLiveStatus } from './live-status.tsx';
import { useLocalized } from '../../components/localized.ts';

export function DatasetSettings() {
  const { t } = useTranslation('operator');
  const { t: tc } = useTranslation();
  const [refresh, setRefresh] = useState(0);
  const { catalog, datasets } = useInstitution(refresh);
  const status = useLiveStatus();
  return (
    <>
      <h2>{t('settings.title')}</h2>
      <p className="muted">{t('settings.intro')}</p>
      <LiveStatus status={status} fallback={catalog.loading && !catalog.data ? tc('loading') : undefined} />
      <ErrorBanner error={catalog.error} onRetry={catalog.reload} />
      {catalog.data && datasets.length === 0 ? <p className="card">{t('settings.none')}</p> : null}
      <div className="grid2">
        {datasets.map((d) => (
          <DatasetCard
            key={d.id}
            dataset={d}
            onSaved={(message) => {
              status.show(message);
              setRefresh((n) => n + 1);
            }}
          />
        ))}
      </div>
    </>
  );
}

function DatasetCard(props: { dataset: DatasetSummary; onSaved: (message: (locale: string) => string) => void }) {
  const { t } = useTranslation('operator');
  const { t: tc } = useTranslation();
  const locale = useLocale();
  const localized = useLocalized();
  const { client } = useSession();
  const d = props.dataset;
  const [price, setPrice] = useState(String(d.pricePerQuery));
  const [dp, setDp] = useState(d.differentialPrivacy);
  const [rho, setRho] = useState(String(d.defaultRho));
  const [busy, setBusy] = useState(false);
  const saving = useRef(false);
  const [error, setError] = useState<unknown>();
  // The hub's answer to a price change (the catalog may still show the node's configured price).
  const [savedPrice, setSavedPrice] = useState<number>();
  const currentPrice = savedPrice ?? d.pricePerQuery;
  // Show the catalog's values again after a save (or a refresh by someone else).
  useEffect(() => setPrice(String(d.pricePerQuery)), [d.pricePerQuery]);
  useEffect(() => setDp(d.differentialPrivacy), [d.differentialPrivacy]);
  useEffect(() => setRho(String(d.defaultRho)), [d.defaultRho]);

  const run = async (action: () => Promise<(locale: string) => string>) => {
    if (saving.current) return;
    saving.current = true;
    setBusy(true);
    setError(undefined);
    try {
      props.onSaved(await action());
    } catch (cause) {
      setError(cause);
    } finally {
      saving.current = false;
      setBusy(false);
    }
  };
  const savePrice = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const saved = await client.setPrice(d.id, Number(price));
      setSavedPrice(saved.pricePerQuery);
      return (lang) => t('settings.priceSaved', { id: d.id, value: formatNumber(saved.pricePerQuery, lang) });
    });
  };
  const savePrivacy = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const saved = await client.setPrivacy(d.id, dp ? { differentialPrivacy: true, defaultRho: Number(rho) } : { differentialPrivacy: false });
      const savedRho = saved.defaultRho ?? Number(rho);
      return (lang) =>
        saved.differentialPrivacy
          ? t('settings.dpOnSaved', { id: d.id, rho: formatNumber(savedRho, lang, 4) })
          : t('settings.dpOffSaved', { id: d.id });
    });
  };

  const idPart = d.id.replace(/[^A-Za-z0-9_-]/g, '_');
  return (
    <section className="card" aria-labelledby={`settings-${idPart}`} style={NO_MARGIN}>
      <h3 id={`settings-${idPart}`} style={NO_TOP_MARGIN}>
        <code>{d.id}</code> <span className={`badge ${d.classification}`}>{t(`classes.${d.classification}`)}</span>
      </h3>
      <p className="muted small">{localized(d).title}</p>
      <dl className="facts small">
        <dt>{t('settings.currentPrice')}</dt>
        <dd>{tc('credits', { value: formatNumber(currentPrice, locale) })}</dd>
        <dt>{t('settings.currentPrivacy')}</dt>
        <dd>{d.differentialPrivacy ? t('settings.dpOn', { rho: formatNumber(d.defaultRho, locale, 4) }) : t('settings.dpOff')}</dd>
        <dt>{t('settings.approvals')}</dt>
        <dd>{d.requiredApprovals}</dd>
      </dl>
      {!d.queryable ? (
        <p className="hint">{t('settings.core')}</p>
      ) : (
        <>
          <form onSubmit={savePrice}>
            <label htmlFor={`price-${idPart}`}>{t('settings.priceLabel', { id: d.id })}</label>
            <input id={`price-${idPart}`} type="number" min={0} step="0.001" required value={price} onChange={(e) => setPrice(e.target.value)} />{' '}
            <button type="submit" aria-disabled={busy || undefined} aria-label={t('settings.savePriceLabel', { id: d.id })}>
              {t('settings.savePrice')}
            </button>
          </form>
          <form onSubmit={savePrivacy}>
            <label className="check" htmlFor={`dp-${idPart}`}>
              <input id={`dp-${idPart}`} type="checkbox" checked={dp} onChange={(e) => setDp(e.target.checked)} />
              {t('settings.dpLabel', { id: d.id })}
            </label>
            <label htmlFor={`rho-${idPart}`}>{t('settings.rhoLabel', { id: d.id })}</label>
            <input id={`rho-${idPart}`} type="number" min={0.0001} max={10} step="any" required={dp} disabled={!dp} value={rho} onChange={(e) => setRho(e.target.value)} aria-describedby={`rho-${idPart}-hint`} />{' '}
            <button type="submit" aria-disabled={busy || undefined} aria-label={t('settings.savePrivacyLabel', { id: d.id })}>
              {t('settings.save')}
            </button>
            <p id={`rho-${idPart}-hint`} className="hint">{t('settings.rhoHint')}</p>
          </form>
        </>
      )}
      <ErrorBanner error={error} />
    </section>
  );
}
