/**
 * The query builder form: datasets, aggregates (operation, element, histogram bin edges),
 * group-by, a one-element filter and the purpose. It only edits `BuilderState`; the page
 * turns that into a Query with `buildQuery`.
 */
import { useTranslation } from 'react-i18next';
import type { components } from '@veilgate/sdk';
import { CHECK_DETAIL, OPERATIONS, PurposeSelect, formatNumber, useLocale } from './shared.tsx';
import { defaultEdges, numericElements, type AggregateRow, type BuilderState, type Operation } from './query-model.ts';
import { useLocalized } from '../../components/localized.ts';

type S = components['schemas'];

let nextRowId = 1;

/** The builder's first state: no dataset yet, one count. */
export function initialBuilder(catalog: S['Catalog'], purpose: string): BuilderState {
  const first = numericElements(catalog.elements)[0];
  return {
    datasets: [],
    aggregates: [{ id: nextRowId++, op: 'count', element: first?.name ?? '', edges: defaultEdges(first) }],
    groupBy: '', groupEdges: '', filterElement: '', filterCode: '', filterMin: '', filterMax: '', purpose,
  };
}

export function QueryBuilder(props: { catalog: S['Catalog']; state: BuilderState; onChange: (state: BuilderState) => void; disabled: boolean }) {
  const { t } = useTranslation('researcher');
  const locale = useLocale();
  const localized = useLocalized();
  const { catalog, state, onChange } = props;
  const set = (patch: Partial<BuilderState>) => onChange({ ...state, ...patch });
  const numeric = numericElements(catalog.elements);
  const categorical = catalog.elements.filter((e) => e.type === 'categorical');
  const byName = new Map(catalog.elements.map((e) => [e.name, e]));
  const queryable = catalog.datasets.filter((d) => d.queryable);

  const setRow = (index: number, patch: Partial<AggregateRow>) => {
    const rows = state.aggregates.map((row, i) => {
      if (i !== index) return row;
      const next = { ...row, ...patch };
      // New bins whenever a histogram's element changes or a row becomes a histogram.
      if (next.op === 'histogram' && (patch.element !== undefined || row.op !== 'histogram')) next.edges = defaultEdges(numeric.find((e) => e.name === next.element));
      return next;
    });
    set({ aggregates: rows });
  };
  const addRow = () => {
    const element = numeric[0];
    set({ aggregates: [...state.aggregates, { id: nextRowId++, op: 'mean', element: element?.name ?? '', edges: defaultEdges(element) }] });
  };
  const removeRow = (index: number) => set({ aggregates: state.aggregates.filter((_, i) => i !== index) });

  const group = byName.get(state.groupBy);
  const filterOn = byName.get(state.filterElement);

  return (
    <fieldset className="card" disabled={props.disabled} style={{ margin: '12px 0' }}>
      <legend>{t('query.builder')}</legend>
      <fieldset>
        <legend>{t('query.datasets')}</legend>
        <div className="grid2">
          {queryable.map((d) => (
            <div key={d.id}>
              <label className="check">
                <input
                  type="checkbox"
                  checked={state.datasets.includes(d.id)}
                  onChange={(e) => set({ datasets: e.target.checked ? [...state.datasets, d.id] : state.datasets.filter((x) => x !== d.id) })}
                  aria-describedby={`qds-${d.id}`}
                />
                <code>{d.id}</code>
              </label>
              <div id={`qds-${d.id}`} className="muted small" style={CHECK_DETAIL}>
                {t('query.datasetInfo', { title: localized(d).title, price: formatNumber(d.pricePerQuery, locale) })}
                {d.differentialPrivacy ? ` · ${t('query.dpOn', { rho: d.defaultRho })}` : ''}
              </div>
            </div>
          ))}
        </div>
      </fieldset>

      <fieldset>
        <legend>{t('query.aggregates')}</legend>
        {state.aggregates.map((row, i) => {
          const n = i + 1;
          return (
            <div key={row.id} className="row" style={{ borderBottom: '1px solid var(--line)', paddingBottom: 8 }}>
              <div>
                <label htmlFor={`agg-op-${n}`}>{t('query.operation', { n })}</label>
                <select id={`agg-op-${n}`} value={row.op} onChange={(e) => setRow(i, { op: e.target.value as Operation })}>
                  {OPERATIONS.map((o) => (
                    <option key={o} value={o}>{t(`ops.${o}`)}</option>
                  ))}
                </select>
              </div>
              <div>
                <label htmlFor={`agg-el-${n}`}>{t('query.element', { n })}</label>
                <select id={`agg-el-${n}`} value={row.op === 'count' ? '' : row.element} disabled={row.op === 'count'} onChange={(e) => setRow(i, { element: e.target.value })}>
                  {row.op === 'count' ? <option value="">{t('query.noElement')}</option> : null}
                  {numeric.map((e) => (
                    <option key={e.name} value={e.name}>{e.name}</option>
                  ))}
                </select>
              </div>
              {row.op === 'histogram' ? (
                <div style={{ flex: '1 1 240px' }}>
                  <label htmlFor={`agg-bins-${n}`}>{t('query.edges', { n })}</label>
                  <input id={`agg-bins-${n}`} type="text" style={{ width: '100%' }} value={row.edges} onChange={(e) => setRow(i, { edges: e.target.value })} aria-describedby={`agg-bins-${n}-hint`} />
                  <p id={`agg-bins-${n}-hint`} className="hint" style={{ marginBottom: 0 }}>{t('query.edgesHint')}</p>
                </div>
              ) : null}
              {state.aggregates.length > 1 ? (
                <button type="button" className="secondary" style={{ marginTop: 36 }} aria-label={t('query.removeLabel', { n })} onClick={() => removeRow(i)}>
                  {t('query.remove')}
                </button>
              ) : null}
            </div>
          );
        })}
        <button type="button" className="secondary" onClick={addRow} disabled={state.aggregates.length >= 32}>
          {t('query.add')}
        </button>
      </fieldset>

      <div className="grid2">
        <fieldset>
          <legend>{t('query.grouping')}</legend>
          <label htmlFor="group-by">{t('query.groupBy')}</label>
          <select
            id="group-by"
            value={state.groupBy}
            onChange={(e) => {
              const element = numeric.find((x) => x.name === e.target.value);
              set({ groupBy: e.target.value, groupEdges: element ? defaultEdges(element) : '' });
            }}
          >
            <option value="">{t('query.none')}</option>
            <optgroup label={t('query.categorical')}>
              {categorical.map((e) => (
                <option key={e.name} value={e.name}>{e.name}</option>
              ))}
            </optgroup>
            <optgroup label={t('query.numericBuckets')}>
              {numeric.map((e) => (
                <option key={e.name} value={e.name}>{e.name}</option>
              ))}
            </optgroup>
          </select>
          {group?.type === 'numeric' ? (
            <>
              <label htmlFor="group-buckets">{t('query.buckets')}</label>
              <input id="group-buckets" type="text" value={state.groupEdges} onChange={(e) => set({ groupEdges: e.target.value })} aria-describedby="group-buckets-hint" />
              <p id="group-buckets-hint" className="hint">{t('query.edgesHint')}</p>
            </>
          ) : (
            <p className="hint">{group ? t('query.groupCodes', { codes: group.codes.join(', ') }) : t('query.groupHint')}</p>
          )}
        </fieldset>
        <fieldset>
          <legend>{t('query.filter')}</legend>
          <label htmlFor="filter-element">{t('query.filterElement')}</label>
          <select id="filter-element" value={state.filterElement} onChange={(e) => set({ filterElement: e.target.value, filterCode: '', filterMin: '', filterMax: '' })}>
            <option value="">{t('query.noFilter')}</option>
            {catalog.elements.map((e) => (
              <option key={e.name} value={e.name}>{e.name}</option>
            ))}
          </select>
          {filterOn?.type === 'categorical' ? (
            <>
              <label htmlFor="filter-code">{t('query.filterEquals')}</label>
              <select id="filter-code" value={state.filterCode || filterOn.codes[0]} onChange={(e) => set({ filterCode: e.target.value })}>
                {filterOn.codes.map((c) => (
                  <option key={c} value={c}>{c}</option>
                ))}
              </select>
            </>
          ) : null}
          {filterOn?.type === 'numeric' ? (
            <div className="row">
              <div>
                <label htmlFor="filter-min">{t('query.filterMin')}</label>
                <input id="filter-min" type="number" step="any" value={state.filterMin} onChange={(e) => set({ filterMin: e.target.value })} style={{ minWidth: 120 }} />
              </div>
              <div>
                <label htmlFor="filter-max">{t('query.filterMax')}</label>
                <input id="filter-max" type="number" step="any" value={state.filterMax} onChange={(e) => set({ filterMax: e.target.value })} style={{ minWidth: 120 }} />
              </div>
            </div>
          ) : null}
          <p className="hint">{filterOn?.type === 'numeric' ? t('query.rangeHint', { unit: filterOn.unit, min: filterOn.min, max: filterOn.max }) : t('query.filterHint')}</p>
        </fieldset>
      </div>
      <PurposeSelect id="query-purpose" value={state.purpose} onChange={(purpose) => set({ purpose })} hint={t('query.purposeHint')} />
    </fieldset>
  );
}
