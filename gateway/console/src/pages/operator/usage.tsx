/**
 * Usage & earnings: what researchers ran on this institution's datasets in a period (the
 * hub shows an operator only the rows of their own node), per dataset with totals and per
 * day, as CSV too; below it, each dataset's price and differential-privacy setting.
 */
import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { components } from '@veilgate/sdk';
import { useSession } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { InstitutionLine } from './institution.tsx';
import { BarChartFigure } from '../../components/bar-chart.tsx';
import { DatasetSettings } from './dataset-settings.tsx';
import { downloadText, formatNumber, useLocale, utcDay } from './shared.tsx';

type UsageRow = components['schemas']['UsageRow'];
interface Totals {
  queries: number;
  completed: number;
  failed: number;
  credits: number;
  rho: number;
}

function sum(rows: UsageRow[]): Totals {
  return rows.reduce((t, r) => ({ queries: t.queries + r.queries, completed: t.completed + r.completed, failed: t.failed + r.failed, credits: t.credits + r.credits, rho: t.rho + r.rho }), {
    queries: 0, completed: 0, failed: 0, credits: 0, rho: 0,
  });
}

function groupBy(rows: UsageRow[], key: (r: UsageRow) => string): [string, Totals][] {
  const groups = new Map<string, UsageRow[]>();
  for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return [...groups].map(([k, v]) => [k, sum(v)] as [string, Totals]).sort(([a], [b]) => a.localeCompare(b));
}

export function UsagePage() {
  const { t } = useTranslation('operator');
  const { t: tc } = useTranslation();
  const locale = useLocale();
  const { client } = useSession();
  const [from, setFrom] = useState(() => utcDay(-29));
  const [to, setTo] = useState(() => utcDay());
  const [period, setPeriod] = useState({ from, to, n: 0 });
  const [formError, setFormError] = useState<unknown>();
  const [csvError, setCsvError] = useState<unknown>();
  const [downloading, setDownloading] = useState(false);
  const downloadingRef = useRef(false);
  const usage = useLoad(() => client.usage({ from: period.from, to: period.to }), [client, period]);

  const show = (event: FormEvent) => {
    event.preventDefault();
    if (from > to) {
      setFormError({ message: t('usage.badPeriod'), field: 'from' });
      return;
    }
    setFormError(undefined);
    setPeriod((p) => ({ from, to, n: p.n + 1 }));
  };

  const download = async () => {
    // One download at a time; the button stays focusable (not disabled) meanwhile.
    if (downloadingRef.current) return;
    downloadingRef.current = true;
    setDownloading(true);
    setCsvError(undefined);
    try {
      const csv = await client.usageCsv({ from: period.from, to: period.to });
      downloadText(`usage-${period.from}-${period.to}.csv`, csv, 'text/csv');
    } catch (cause) {
      setCsvError(cause);
    } finally {
      downloadingRef.current = false;
      setDownloading(false);
    }
  };

  const rows = usage.data?.rows ?? [];
  const byDataset = groupBy(rows, (r) => r.dataset);
  const total = sum(rows);
  const perDay = groupBy(rows, (r) => r.day).map(([day, v]) => ({ day, credits: Number(v.credits.toFixed(3)) }));
  const dayRows = [...rows].sort((a, b) => a.day.localeCompare(b.day) || a.dataset.localeCompare(b.dataset) || a.researcher.localeCompare(b.researcher));
  const n = (v: number) => formatNumber(v, locale);
  const rho = (v: number) => formatNumber(v, locale, 4);

  return (
    <section>
      <h1 tabIndex={-1}>{t('usage.title')}</h1>
      <InstitutionLine />
      <p className="muted">{t('usage.intro')}</p>
      <form onSubmit={show} className="row" style={{ alignItems: 'flex-end' }} aria-label={t('usage.periodForm')}>
        <div>
          <label htmlFor="usage-from">{t('usage.from')}</label>
          <input id="usage-from" type="date" required value={from} max={to} onChange={(e) => setFrom(e.target.value)} />
        </div>
        <div>
          <label htmlFor="usage-to">{t('usage.to')}</label>
          <input id="usage-to" type="date" required value={to} min={from} onChange={(e) => setTo(e.target.value)} />
        </div>
        <div>
          <button type="submit">{t('usage.show')}</button>
          <button type="button" className="secondary" onClick={() => void download()} aria-disabled={downloading || undefined} disabled={!usage.data}>
            {t('usage.downloadCsv')}
          </button>
        </div>
      </form>
      <p className="hint">{t('usage.utcHint')}</p>
      <ErrorBanner error={formError} />
      <ErrorBanner error={csvError} />
      <ErrorBanner error={usage.error} onRetry={usage.reload} />
      {/* The page's live region is in the prices and privacy section below. */}
      {usage.loading && !usage.data ? <p className="muted">{tc('loading')}</p> : null}

      {usage.data ? (
        <>
          <h2>{t('usage.summaryTitle', { from: usage.data.from, to: usage.data.to })}</h2>
          <dl className="facts">
            <dt>{t('usage.queries')}</dt>
            <dd>{n(total.queries)}</dd>
            <dt>{t('usage.earned')}</dt>
            <dd><strong>{tc('credits', { value: n(total.credits) })}</strong></dd>
            <dt>{t('usage.rho')}</dt>
            <dd>{rho(total.rho)}</dd>
          </dl>
          {rows.length === 0 ? <p className="card">{t('usage.empty')}</p> : null}
        </>
      ) : null}

      {rows.length > 0 ? (
        <>
          <h2>{t('usage.byDataset')}</h2>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('fields.dataset')}</th>
                  <th scope="col" className="num">{t('usage.queries')}</th>
                  <th scope="col" className="num">{t('usage.completed')}</th>
                  <th scope="col" className="num">{t('usage.failed')}</th>
                  <th scope="col" className="num">{t('usage.credits')}</th>
                  <th scope="col" className="num">{t('usage.rho')}</th>
                </tr>
              </thead>
              <tbody>
                {byDataset.map(([dataset, v]) => (
                  <tr key={dataset}>
                    <th scope="row"><code>{dataset}</code></th>
                    <td className="num">{n(v.queries)}</td>
                    <td className="num">{n(v.completed)}</td>
                    <td className="num">{n(v.failed)}</td>
                    <td className="num">{n(v.credits)}</td>
                    <td className="num">{rho(v.rho)}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row"><strong>{t('usage.total')}</strong></th>
                  <td className="num"><strong>{n(total.queries)}</strong></td>
                  <td className="num"><strong>{n(total.completed)}</strong></td>
                  <td className="num"><strong>{n(total.failed)}</strong></td>
                  <td className="num"><strong>{n(total.credits)}</strong></td>
                  <td className="num"><strong>{rho(total.rho)}</strong></td>
                </tr>
              </tfoot>
            </table>
          </div>

          <h2>{t('usage.byDay')}</h2>
          <BarChartFigure title={t('usage.chartTitle')} seriesName={t('usage.credits')} colour="#166534" height={220} bars={perDay.map((d) => ({ label: d.day, value: d.credits }))} />
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('usage.day')}</th>
                  <th scope="col">{t('fields.dataset')}</th>
                  <th scope="col">{t('fields.researcher')}</th>
                  <th scope="col" className="num">{t('usage.queries')}</th>
                  <th scope="col" className="num">{t('usage.completed')}</th>
                  <th scope="col" className="num">{t('usage.failed')}</th>
                  <th scope="col" className="num">{t('usage.credits')}</th>
                  <th scope="col" className="num">{t('usage.rho')}</th>
                </tr>
              </thead>
              <tbody>
                {dayRows.map((r) => (
                  <tr key={`${r.day}|${r.dataset}|${r.researcher}`}>
                    <th scope="row" className="nowrap">{r.day}</th>
                    <td><code>{r.dataset}</code></td>
                    <td><code>{r.researcher}</code></td>
                    <td className="num">{n(r.queries)}</td>
                    <td className="num">{n(r.completed)}</td>
                    <td className="num">{n(r.failed)}</td>
                    <td className="num">{n(r.credits)}</td>
                    <td className="num">{rho(r.rho)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}

      <DatasetSettings />
    </section>
  );
}
