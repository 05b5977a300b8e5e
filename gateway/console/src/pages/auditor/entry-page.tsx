/**
 * One log entry: the event as stored, its leaf hash as served and as recomputed here, and
 * its inclusion in the current checkpoint signed by the pinned log key, verified in the browser.
 */
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { Link } from '../../router.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { Progress } from '../../components/progress.tsx';
import { useLocale } from '../../components/format.ts';
import {
  entryStatus, fetchEntry, formatLogTime, NotYetSignedError, proveInclusion, recomputeLeafHash, useLastVerification, type AuditEvent, type InclusionResult,
} from './audit-data.ts';
import { EventSummary, EventType, useProblemText } from './event-text.tsx';

export function EntryPage(props: { index: string | undefined }) {
  const { t } = useTranslation('auditor');
  const { t: tc } = useTranslation();
  const locale = useLocale();
  const { client } = useSession();
  const index = props.index !== undefined && /^[0-9]{1,15}$/.test(props.index) ? Number(props.index) : undefined;
  const loaded = useLoad(async () => (index === undefined ? undefined : fetchEntry(client, index)), [client, index]);
  const verification = useLastVerification(client);
  const problemText = useProblemText();
  const entry = loaded.data?.entry;
  const logSize = loaded.data?.logSize;
  const status = index === undefined ? undefined : entryStatus(verification, index);

  return (
    <section>
      <h1 tabIndex={-1}>{t('entry.title', { index: props.index ?? '' })}</h1>
      <p className="muted">{t('entry.intro')}</p>
      <EntryNav index={index} logSize={logSize} />
      <ErrorBanner error={loaded.error} onRetry={loaded.reload} />
      {loaded.loading && !loaded.data ? <p className="muted">{tc('loading')}</p> : null}
      {index === undefined || (loaded.data && !entry) ? <p role="alert" className="error">{t('entry.notFound', { index: props.index ?? '' })}</p> : null}
      {status?.kind === 'flagged' ? <p className="error">{t('entry.flagged', { message: problemText(status.problem) })}</p> : null}
      {status?.kind === 'unconfirmed' ? <p className="warning">{t('entry.unconfirmed')}</p> : null}
      {entry && index !== undefined ? (
        <div className="grid2" style={{ alignItems: 'start' }}>
          <section className="card" aria-labelledby="event-title">
              <h2 id="event-title" style={{ marginTop: 0 }}>{t('entry.event')}</h2>
              <dl className="facts">
                <dt>{t('entry.type')}</dt>
                <dd><EventType type={entry.entry.type} /></dd>
                <dt>{t('entry.time')}</dt>
                <dd><time dateTime={String(entry.entry.time)}>{formatLogTime(entry.entry.time, locale)}</time></dd>
                <dt>{t('entry.summary')}</dt>
                <dd><EventSummary event={entry.entry} /></dd>
              </dl>
              <pre tabIndex={0} aria-label={t('entry.eventJson')}>{JSON.stringify(entry.entry, null, 2)}</pre>
            </section>
            <div>
              <LeafHashes served={entry.leafHash} event={entry.entry} />
              <Inclusion index={index} event={entry.entry} />
            </div>
        </div>
      ) : null}
    </section>
  );
}

function EntryNav(props: { index: number | undefined; logSize: number | undefined }) {
  const { t } = useTranslation('auditor');
  const { index, logSize } = props;
  return (
    <div role="navigation" aria-label={t('entry.navigation')} className="row" style={{ alignItems: 'center', gap: 20, margin: '8px 0' }}>
      <Link to="auditor/log">← {t('entry.back')}</Link>
      {index !== undefined && index > 0 ? <Link to={`auditor/entry/${index - 1}`}>‹ {t('entry.previous')}</Link> : null}
      {index !== undefined && logSize !== undefined && index + 1 < logSize ? <Link to={`auditor/entry/${index + 1}`}>{t('entry.next')} ›</Link> : null}
      {index !== undefined ? <Link to={`auditor/trace/${index}`}>{t('entry.traceThis')}</Link> : null}
    </div>
  );
}

function LeafHashes(props: { served: string; event: AuditEvent }) {
  const { t } = useTranslation('auditor');
  const computed = recomputeLeafHash(props.event);
  const match = computed === props.served;
  return (
    <section className="card" aria-labelledby="leaf-title">
      <h2 id="leaf-title" style={{ marginTop: 0 }}>{t('entry.hashes')}</h2>
      <dl className="facts">
        <dt>{t('entry.served')}</dt>
        <dd><code>{props.served}</code></dd>
        <dt>{t('entry.computed')}</dt>
        <dd><code>{computed}</code></dd>
      </dl>
      <p>
        <span className={`badge ${match ? 'ok' : 'bad'}`}>{match ? t('entry.match') : t('entry.mismatch')}</span>
      </p>
      <p className="hint">{t('entry.hashHint')}</p>
    </section>
  );
}

function Inclusion(props: { index: number; event: AuditEvent }) {
  const { t } = useTranslation('auditor');
  const { client } = useSession();
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<InclusionResult>();
  const [error, setError] = useState<unknown>();
  const run = async () => {
    setRunning(true);
    setResult(undefined);
    setError(undefined);
    try {
      setResult(await proveInclusion(client, props.index, props.event));
    } catch (cause) {
      setError(cause instanceof NotYetSignedError ? new Error(t('entry.notYetSigned', { index: cause.index, size: cause.treeSize })) : cause);
    } finally {
      setRunning(false);
    }
  };
  return (
    <section className="card" aria-labelledby="inclusion-title">
      <h2 id="inclusion-title" style={{ marginTop: 0 }}>{t('entry.inclusion')}</h2>
      <p className="hint">{t('entry.inclusionHint')}</p>
      <button type="button" onClick={() => void run()} disabled={running}>
        {t('entry.verifyInclusion')}
      </button>
      {running ? <Progress label={t('entry.verifying')} /> : null}
      <ErrorBanner error={error} />
      {/* The page's one live status region: present from the start, filled when a proof checks out. */}
      <div role="status">
        {result ? (
          <div className="success">
            <strong>{t('entry.inclusionOk', { size: result.treeSize })}</strong>
            <div className="small">{t('entry.proofDetail', { count: result.proofLength, root: result.root })}</div>
          </div>
        ) : null}
      </div>
    </section>
  );
}
