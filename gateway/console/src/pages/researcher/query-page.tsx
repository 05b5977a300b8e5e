/**
 * Query: build a query, estimate its cost, run it. The hub fans it out, the institutions
 * answer with encrypted masked aggregates, and the result is decrypted here, in this
 * browser, with the secret key loaded on the Keys page.
 */
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { decodeConsentTokenUnverified, type IdentityKey, type Query, type QueryOutcome, type QueryProgress, type components } from '@veilgate/sdk';
import { useSession } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { Progress } from '../../components/progress.tsx';
import { Link } from '../../router.tsx';
import { useResearcherKeys } from './keys-context.tsx';
import { CARD_HEADING, DEFAULT_PURPOSE, NeedKeys, StatusRegion, formatNumber, isConsentProblem, useFocusAfterRender, useLocale } from './shared.tsx';
import { buildQuery, type BuilderState } from './query-model.ts';
import { QueryBuilder, initialBuilder } from './query-builder.tsx';
import { GrantBudget, QueryResultView } from './query-result.tsx';

type S = components['schemas'];

export function QueryPage() {
  const { t } = useTranslation('researcher');
  const { t: tc } = useTranslation();
  const { client } = useSession();
  const catalog = useLoad(() => client.catalog(), [client]);
  return (
    <section>
      <h1 tabIndex={-1}>{t('query.title')}</h1>
      <p className="muted">{t('query.intro')}</p>
      <StatusRegion message={catalog.loading && !catalog.data ? tc('loading') : undefined} tone="muted" />
      <ErrorBanner error={catalog.error} onRetry={catalog.reload} />
      {catalog.data ? <QueryWorkspace catalog={catalog.data} /> : null}
    </section>
  );
}

function useProgressLabel(): (p: QueryProgress) => { label: string; value?: number; max?: number } {
  const { t } = useTranslation('researcher');
  return (p) => {
    switch (p.phase) {
      case 'tokens':
        return { label: t('progress.tokens') };
      case 'signing':
        return { label: t('progress.signing') };
      case 'fan-out':
        return { label: t('progress.fanOut', { count: p.nodes.length, nodes: p.nodes.join(', ') }) };
      case 'contributed':
        return { label: t('progress.contributed', { node: p.node, done: p.done, total: p.total }), value: p.done, max: p.total };
      case 'combining':
        return { label: t('progress.combining') };
      case 'verifying':
        return { label: t('progress.verifying') };
      case 'decrypting':
        return { label: t('progress.decrypting', { n: p.done + 1, total: p.total }), value: p.done, max: p.total };
      case 'done':
        return { label: t('progress.done') };
    }
  };
}

/** The institutions a query's datasets belong to, each with its datasets in the query. */
function nodesOf(query: Query, catalog: S['Catalog']): Map<string, string[]> {
  const byNode = new Map<string, string[]>();
  for (const id of query.datasets) {
    const node = catalog.datasets.find((d) => d.id === id)?.node;
    if (node) byNode.set(node, [...(byNode.get(node) ?? []), id]);
  }
  return byNode;
}

/** The institution that issued a token (read, not verified: only to say which one is missing). */
function issuer(token: string): string | undefined {
  try {
    return decodeConsentTokenUnverified(token).claims.iss;
  } catch {
    return undefined;
  }
}

function QueryWorkspace(props: { catalog: S['Catalog'] }) {
  const { t } = useTranslation('researcher');
  const locale = useLocale();
  const { client } = useSession();
  const { loaded } = useResearcherKeys();
  const progressLabel = useProgressLabel();
  const [state, setState] = useState<BuilderState>(() => initialBuilder(props.catalog, DEFAULT_PURPOSE));
  const [progress, setProgress] = useState<QueryProgress | 'estimating'>();
  // The institutions that answered, as the hub reported them live (kept after the run).
  const [answered, setAnswered] = useState<{ node: string; ms: number }[]>([]);
  const onProgress = (p: QueryProgress) => {
    setProgress(p);
    if (p.phase === 'contributed') setAnswered((a) => [...a, { node: p.node, ms: p.ms }]);
  };
  const [error, setError] = useState<unknown>();
  const [estimate, setEstimate] = useState<{ json: string; cost: S['QueryCost'] }>();
  const [result, setResult] = useState<{ query: Query; json: string; outcome: QueryOutcome }>();

  // Said when an estimate or a result is ready (next to the buttons; focus stays on the button).
  const [status, setStatus] = useState<string>();
  const estimateRef = useRef<HTMLButtonElement>(null);
  const runRef = useRef<HTMLButtonElement>(null);
  const focusLater = useFocusAfterRender();

  const built = buildQuery(state, props.catalog);

  /**
   * Refuses early, in words, a query the SDK would send without a token for some institution:
   * the very tokens it will send (one grant per institution, covering all of that
   * institution's datasets in the query) must number one per institution.
   */
  const checkGrants = async (query: Query, identity: IdentityKey) => {
    const { tokens } = await client.tokensFor(query, identity, state.purpose);
    const nodes = nodesOf(query, props.catalog);
    if (tokens.length >= nodes.size) return;
    const covered = new Set(tokens.map(issuer));
    const missing = [...nodes].filter(([node]) => !covered.has(node));
    const shown = (missing.length ? missing : [...nodes]).map(([node, datasets]) => `${node} (${datasets.join(', ')})`).join('; ');
    throw Object.assign(new Error(t('query.noGrant', { purpose: state.purpose, missing: shown })), { code: 'token_missing' });
  };
  const json = built.query ? JSON.stringify(built.query, null, 2) : '';
  const busy = progress !== undefined;

  const runEstimate = async () => {
    if (!built.query || !loaded) return;
    setError(undefined);
    setEstimate(undefined);
    setStatus(undefined);
    setProgress('estimating');
    try {
      await checkGrants(built.query, loaded.identity);
      const cost = await client.estimate(built.query, { identity: loaded.identity, purpose: state.purpose });
      setEstimate({ json, cost });
      setStatus(t('cost.ready', { credits: formatNumber(cost.credits, locale) }));
    } catch (cause) {
      setError(cause);
    } finally {
      setProgress(undefined);
      // The button was disabled while estimating: give focus back to it.
      focusLater(() => estimateRef.current);
    }
  };

  const run = async () => {
    if (!built.query || !loaded) return;
    const query = built.query;
    setError(undefined);
    setResult(undefined);
    setEstimate(undefined);
    setStatus(undefined);
    setProgress({ phase: 'tokens' });
    setAnswered([]);
    try {
      await checkGrants(query, loaded.identity);
      const outcome = await client.query(query, { keys: loaded.keys, identity: loaded.identity, purpose: state.purpose, onProgress });
      setResult({ query, json, outcome });
      setStatus(t('result.ready', { count: outcome.groups.length }));
    } catch (cause) {
      setError(cause);
    } finally {
      setProgress(undefined);
      focusLater(() => runRef.current);
    }
  };

  const shown = progress === undefined ? undefined : progress === 'estimating' ? { label: t('progress.estimating') } : progressLabel(progress);
  return (
    <>
      {loaded ? null : <NeedKeys />}
      <QueryBuilder catalog={props.catalog} state={state} onChange={setState} disabled={busy} />

      <div className="card">
        <details>
          <summary>{t('query.asJson')}</summary>
          <pre data-testid="query-json">{json}</pre>
        </details>
        {built.problem ? <p className="warning">{t(`query.problems.${built.problem.key}`, { n: built.problem.n ?? 0 })}</p> : null}
        <div className="row" style={{ alignItems: 'center' }}>
          <button ref={estimateRef} type="button" className="secondary" disabled={busy || !built.query || !loaded} onClick={() => void runEstimate()}>
            {t('query.estimate')}
          </button>
          <button ref={runRef} type="button" disabled={busy || !built.query || !loaded} onClick={() => void run()}>
            {t('query.run')}
          </button>
        </div>
        {shown ? <Progress label={shown.label} value={shown.value} max={shown.max} /> : null}
        {answered.length > 0 ? (
          <ul aria-label={t('progress.answeredTitle')} className="small muted">
            {answered.map((a) => (
              <li key={a.node}>{t('progress.answeredItem', { node: a.node, ms: a.ms })}</li>
            ))}
          </ul>
        ) : null}
        <StatusRegion message={status} />
        <ErrorBanner error={error} />
        {error !== undefined && isConsentProblem(error) ? (
          <p className="hint">
            {t('query.consentHint')} <Link to="researcher/requests">{t('query.consentLink')}</Link>
          </p>
        ) : null}
        {estimate ? (
          <div className="card">
            <h2 style={CARD_HEADING}>{t('cost.title')}</h2>
            {estimate.json !== json ? <p className="hint">{t('cost.stale')}</p> : null}
            <dl className="facts">
              <dt>{t('cost.credits')}</dt>
              <dd>{t('cost.creditsValue', { credits: formatNumber(estimate.cost.credits, locale), left: formatNumber(estimate.cost.creditsLeft, locale) })}</dd>
              <dt>{t('cost.privacy')}</dt>
              <dd>
                {estimate.cost.rho > 0
                  ? t('cost.rho', { rho: formatNumber(estimate.cost.rho, locale, 4), epsilon: formatNumber(estimate.cost.epsilon, locale, 3), delta: estimate.cost.delta.toExponential(0) })
                  : t('cost.noDp')}
              </dd>
              {estimate.cost.grants.map((g) => (
                <GrantBudget key={g.jti} grant={g} after />
              ))}
            </dl>
          </div>
        ) : null}
      </div>

      <h2>{t('result.title')}</h2>
      {result ? (
        <>
          {result.json !== json ? <p className="hint">{t('result.stale')}</p> : null}
          <QueryResultView query={result.query} outcome={result.outcome} />
        </>
      ) : (
        <p className="muted">{t('result.empty')}</p>
      )}
    </>
  );
}
