/**
 * A decrypted query result: one table row per group (every number carries its exact value
 * in `data-value`), a chart and a bin table per histogram and group, what was left out,
 * what the query cost, and where it stands in the audit log.
 */
import { useTranslation } from 'react-i18next';
import type { AggregateValue, GroupResult, Query, QueryOutcome } from '@veilgate/sdk';
import { BarChartFigure } from '../../components/bar-chart.tsx';
import { aggregateLabel } from './query-model.ts';
import { CARD_HEADING, formatNumber, useLocale } from './shared.tsx';

/** A numeric cell: the exact value in data-value, a formatted one shown. */
function NumberCell(props: { value: string; text: string; note?: string; title?: string }) {
  return (
    <td className="num" data-value={props.value} title={props.title}>
      {props.text}
      {props.note ? <div className="muted small">{props.note}</div> : null}
    </td>
  );
}

function ValueCell(props: { value: AggregateValue }) {
  const locale = useLocale();
  const v = props.value;
  switch (v.op) {
    case 'count':
      return <NumberCell value={String(v.value)} text={formatNumber(v.value, locale, 0)} />;
    case 'sum':
      return <NumberCell value={v.exact} text={formatNumber(Number(v.exact), locale, 6)} note={`n = ${formatNumber(v.n, locale, 0)}`} title={v.exact} />;
    case 'histogram':
      return null;
    default:
      return v.value === null ? (
        <NumberCell value="" text="—" note={`n = ${formatNumber(v.n, locale, 0)}`} />
      ) : (
        <NumberCell value={String(v.value)} text={formatNumber(v.value, locale, 2)} note={`n = ${formatNumber(v.n, locale, 0)}`} title={String(v.value)} />
      );
  }
}

function binLabel(lower: number, upper: number, last: boolean): string {
  return `[${lower}, ${upper}${last ? ']' : ')'}`;
}

export function QueryResultView(props: { query: Query; outcome: QueryOutcome }) {
  const { t } = useTranslation('researcher');
  const { t: tc } = useTranslation();
  const locale = useLocale();
  const { query, outcome } = props;
  const groupBy = query.groupBy ?? [];
  const indexed = query.aggregates.map((a, i) => ({ a, i }));
  const columns = indexed.filter((x) => x.a.op !== 'histogram');
  const histograms = indexed.filter((x) => x.a.op === 'histogram');
  const groupName = (g: GroupResult) => (groupBy.length ? groupBy.map((gb) => `${gb.element} = ${g.key[gb.element]}`).join(', ') : t('result.allRows'));
  const partial = outcome.groups.filter((g) => g.excludedAt.length > 0);
  const cost = outcome.cost;

  return (
    <>
      <div className="table-wrap" tabIndex={0} role="region" aria-label={t('result.title')}>
        <table aria-label={t('result.tableLabel')}>
          <thead>
            <tr>
              {groupBy.length ? (
                groupBy.map((gb) => (
                  <th key={gb.element} scope="col"><code>{gb.element}</code></th>
                ))
              ) : (
                <th scope="col">{t('result.group')}</th>
              )}
              <th scope="col" className="num">{t('result.rows')}</th>
              {columns.map(({ a, i }) => (
                <th key={i} scope="col" className="num"><code>{aggregateLabel(a)}</code></th>
              ))}
            </tr>
          </thead>
          <tbody>
            {outcome.groups.map((g, gi) => (
              <tr key={gi}>
                {groupBy.length ? (
                  groupBy.map((gb, k) =>
                    k === 0 ? (
                      <th key={gb.element} scope="row">
                        <code>{g.key[gb.element]}</code>
                        {g.excludedAt.length ? <> <span className="badge warn">{t('result.partial')}</span></> : null}
                      </th>
                    ) : (
                      <td key={gb.element}><code>{g.key[gb.element]}</code></td>
                    ),
                  )
                ) : (
                  <th scope="row">
                    {t('result.allRows')}
                    {g.excludedAt.length ? <> <span className="badge warn">{t('result.partial')}</span></> : null}
                  </th>
                )}
                <NumberCell value={String(g.count)} text={formatNumber(g.count, locale, 0)} />
                {columns.map(({ i }) => (
                  <ValueCell key={i} value={g.aggregates[i]!} />
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h3>{t('result.disclosure')}</h3>
      {partial.length === 0 ? (
        <p className="muted">{t('result.noneLeftOut')}</p>
      ) : (
        <>
          <p className="warning">{t('result.leftOutIntro', { count: outcome.suppressed.length })}</p>
          <ul>
            {partial.map((g) => (
              <li key={groupName(g)}>
                <strong>{groupName(g)}</strong>: {g.excludedAt.map((x) => t('result.leftOutAt', { dataset: x.dataset, node: x.node })).join('; ')}
              </li>
            ))}
          </ul>
        </>
      )}

      {histograms.map(({ a, i }) => (
        <section key={i} aria-labelledby={`hist-${i}`}>
          <h3 id={`hist-${i}`}><code>{aggregateLabel(a)}</code></h3>
          <div className="grid2">
            {outcome.groups.map((g, gi) => {
              const v = g.aggregates[i];
              if (v?.op !== 'histogram') return null;
              const title = `${aggregateLabel(a)} · ${groupName(g)}`;
              return (
                <div key={gi} className="card" style={{ margin: 0 }}>
                  <BarChartFigure title={title} integers slantedLabels bars={v.bins.map((b, k) => ({ label: binLabel(b.lower, b.upper, k === v.bins.length - 1), value: b.count }))} />
                  <table aria-label={t('result.binsLabel', { title })}>
                    <thead>
                      <tr>
                        <th scope="col">{t('result.bin')}</th>
                        <th scope="col" className="num">{t('result.count')}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {v.bins.map((b, k) => (
                        <tr key={k}>
                          <th scope="row"><code>{binLabel(b.lower, b.upper, k === v.bins.length - 1)}</code></th>
                          <NumberCell value={String(b.count)} text={formatNumber(b.count, locale, 0)} />
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              );
            })}
          </div>
        </section>
      ))}

      <div className="grid2">
        <div className="card">
          <h3 style={CARD_HEADING}>{t('result.cost')}</h3>
          <dl className="facts">
            <dt>{t('result.charged')}</dt>
            <dd>{tc('credits', { value: formatNumber(cost.credits, locale) })}</dd>
            <dt>{t('result.creditsLeft')}</dt>
            <dd>{tc('credits', { value: formatNumber(cost.creditsLeft, locale) })}</dd>
            <dt>{t('result.privacy')}</dt>
            <dd>{cost.rho > 0 ? t('cost.rho', { rho: formatNumber(cost.rho, locale, 4), epsilon: formatNumber(cost.epsilon, locale, 3), delta: cost.delta.toExponential(0) }) : t('cost.noDp')}</dd>
            {cost.grants.map((g) => (
              <GrantBudget key={g.jti} grant={g} />
            ))}
          </dl>
        </div>
        <div className="card">
          <h3 style={CARD_HEADING}>{t('result.receipt')}</h3>
          <dl className="facts">
            <dt>{t('result.queryId')}</dt>
            <dd><code>{outcome.queryId}</code></dd>
            <dt>{t('result.logEntry')}</dt>
            <dd>{t('result.logEntryValue', { index: outcome.receipt.index, size: outcome.receipt.treeSize })}</dd>
            <dt>{t('result.timings')}</dt>
            <dd>{t('result.timingsValue', { total: formatNumber(outcome.timings.totalMs, locale, 0), fanOut: formatNumber(outcome.timings.fanOutMs, locale, 0), combine: formatNumber(outcome.timings.combineMs, locale, 0) })}</dd>
          </dl>
          <h4>{t('result.contributions')}</h4>
          <ul className="small">
            {outcome.contributions.map((c) => (
              <li key={c.node}>
                {t('result.contribution', { node: c.node, datasets: c.datasets.join(', '), count: c.ciphertextSha256.length })}
                {c.bytes !== undefined ? ` · ${t('result.bytes', { size: formatNumber(c.bytes / 1024, locale, 0) })}` : ''}
              </li>
            ))}
          </ul>
        </div>
      </div>
    </>
  );
}

/** One grant's privacy budget after a query (estimate or result). */
export function GrantBudget(props: { grant: QueryOutcome['cost']['grants'][number]; after?: boolean }) {
  const { t } = useTranslation('researcher');
  const locale = useLocale();
  const g = props.grant;
  return (
    <>
      <dt>{t('cost.grantBudget', { node: g.node })}</dt>
      <dd>{t(props.after ? 'cost.grantBudgetAfter' : 'cost.grantBudgetLeft', { left: formatNumber(g.left, locale, 4), budget: formatNumber(g.budget, locale, 4) })}</dd>
    </>
  );
}
