/** The catalog: datasets (institution, classification, price, privacy) and data elements. */
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../session.tsx';
import { useLoad } from '../components/use-load.ts';
import { ErrorBanner } from '../components/error-banner.tsx';
import { useLocalized } from '../components/localized.ts';

export function CatalogPage() {
  const { t } = useTranslation('catalog');
  const { t: tc } = useTranslation();
  const { client } = useSession();
  const localized = useLocalized();
  const catalog = useLoad(() => client.catalog({ refresh: true }), [client]);
  const [filter, setFilter] = useState('');
  const needle = filter.trim().toLowerCase();
  const datasets = (catalog.data?.datasets ?? []).filter(
    (d) => !needle || [d.id, d.title, localized(d).title, d.institution, d.classification].some((s) => s.toLowerCase().includes(needle)),
  );
  return (
    <section>
      <h1 tabIndex={-1}>{t('title')}</h1>
      <p className="muted">{t('intro')}</p>
      <ErrorBanner error={catalog.error} onRetry={catalog.reload} />
      {catalog.loading && !catalog.data ? <p role="status">{tc('loading')}</p> : null}
      {catalog.data?.unavailableNodes?.length ? <p className="warning">{t('unavailable', { nodes: catalog.data.unavailableNodes.join(', ') })}</p> : null}
      <h2>{t('datasets')}</h2>
      <label className="inline">
        {t('filter')} <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
      </label>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('dataset')}</th>
              <th scope="col">{t('institution')}</th>
              <th scope="col">{t('classification')}</th>
              <th scope="col" className="num">{t('rows')}</th>
              <th scope="col" className="num">{t('price')}</th>
              <th scope="col" className="num">{t('approvals')}</th>
              <th scope="col">{t('privacy')}</th>
              <th scope="col">{t('elementsOf')}</th>
            </tr>
          </thead>
          <tbody>
            {datasets.map((d) => (
              <tr key={d.id}>
                <th scope="row">
                  <code>{d.id}</code>
                  <div>{localized(d).title}</div>
                  <div className="muted small">{localized(d).description}</div>
                </th>
                <td>{d.institution}</td>
                <td>
                  <span className={`badge ${d.classification}`}>{t(`classes.${d.classification}`)}</span>
                  {d.queryable ? null : <div className="muted small">{t('notQueryable')}</div>}
                </td>
                <td className="num">{d.rowCountApprox.toLocaleString()}</td>
                <td className="num">{tc('credits', { value: d.pricePerQuery })}</td>
                <td className="num">{d.requiredApprovals}</td>
                <td>{d.differentialPrivacy ? t('dpOn', { rho: d.defaultRho }) : t('dpOff')}</td>
                <td className="small">{d.elements.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>{t('elements')}</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('element')}</th>
              <th scope="col">{t('description')}</th>
              <th scope="col">{t('type')}</th>
              <th scope="col">{t('unit')}</th>
            </tr>
          </thead>
          <tbody>
            {(catalog.data?.elements ?? []).map((e) => (
              <tr key={e.name}>
                <th scope="row"><code>{e.name}</code></th>
                <td>{localized(e).title}</td>
                <td>{e.type}</td>
                <td className="small">{e.type === 'numeric' ? `${e.unit} [${e.min}, ${e.max}]` : e.codes.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
