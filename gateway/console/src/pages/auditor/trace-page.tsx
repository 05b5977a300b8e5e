/**
 * Traces: from an entry (or a query id) back through the entries it rests on. Every step's
 * inclusion proof is verified (SDK `verifyTrace`) under one checkpoint signed by the pinned log
 * key, and a failure throws, so each step shown here is proven; the size shown is the verified
 * checkpoint's. Relations are read from the entries themselves (trace-links.ts).
 */
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { Link, navigate } from '../../router.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { Progress } from '../../components/progress.tsx';
import { useLocale } from '../../components/format.ts';
import { formatLogTime, verifiedTrace, type AuditEvent, type Trace } from './audit-data.ts';
import { EventSummary, EventType, RelationText } from './event-text.tsx';
import { traceRelations } from './trace-links.ts';

export function TracePage(props: { target: string | undefined }) {
  const { t } = useTranslation('auditor');
  const { client } = useSession();
  const [value, setValue] = useState(props.target ?? '');
  const trace = useLoad(async () => (props.target ? verifiedTrace(client, props.target) : undefined), [client, props.target]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const target = value.trim();
    if (!target) return;
    if (target === props.target) trace.reload();
    else navigate('auditor', 'trace', target);
  };

  return (
    <section>
      <h1 tabIndex={-1}>{t('trace.title')}</h1>
      <p className="muted">{t('trace.intro')}</p>
      <form className="card" onSubmit={submit} role="search" aria-label={t('trace.title')}>
        <label htmlFor="trace-target">{t('trace.input')}</label>
        <div className="row" style={{ alignItems: 'center', gap: 8 }}>
          <input
            id="trace-target"
            type="text"
            autoComplete="off"
            spellCheck={false}
            required
            value={value}
            onChange={(e) => setValue(e.target.value)}
            aria-describedby="trace-target-hint"
            style={{ minWidth: 320 }}
          />
          <button type="submit" disabled={trace.loading && props.target !== undefined}>
            {t('trace.submit')}
          </button>
        </div>
        <p id="trace-target-hint" className="hint">{t('trace.inputHint')}</p>
      </form>
      {props.target && trace.loading ? <Progress label={t('trace.running')} /> : null}
      {props.target ? <ErrorBanner error={trace.error} onRetry={trace.reload} /> : null}
      {/* The page's one live status region: present from the start, filled when a trace is proven. */}
      <div role="status">
        {props.target && trace.data && !trace.loading ? (
          <p className="success">{t('trace.verified', { target: props.target, count: trace.data.trace.steps.length, size: Number(trace.data.checkpoint.size) })}</p>
        ) : null}
      </div>
      {props.target && trace.data && !trace.loading ? <Steps trace={trace.data.trace} /> : null}
    </section>
  );
}

function Steps(props: { trace: Trace }) {
  const { t } = useTranslation('auditor');
  const locale = useLocale();
  const { steps } = props.trace;
  const relations = traceRelations(steps);
  return (
    <section aria-labelledby="steps-title">
      <h2 id="steps-title">{t('trace.steps')}</h2>
      <ol style={{ listStyle: 'none', margin: 0, padding: 0 }}>
        {steps.map((step, i) => (
          <li key={step.index} style={{ position: 'relative', paddingLeft: 28, paddingBottom: i === steps.length - 1 ? 0 : 12 }}>
            <span
              aria-hidden="true"
              style={{ position: 'absolute', left: 6, top: 18, width: 12, height: 12, borderRadius: 999, background: 'var(--accent)', border: '2px solid var(--card)', boxShadow: '0 0 0 1px var(--accent)' }}
            />
            {i < steps.length - 1 ? (
              <span aria-hidden="true" style={{ position: 'absolute', left: 11, top: 30, bottom: -18, width: 2, background: 'var(--line)' }} />
            ) : null}
            <article className="card" style={{ margin: 0 }} aria-label={`${t('trace.step', { n: i + 1 })}: ${t('trace.entryLink', { index: step.index })}`}>
              <div className="row" style={{ justifyContent: 'space-between', alignItems: 'baseline', gap: 8 }}>
                <div>
                  <span className="muted small">{t('trace.step', { n: i + 1 })} · </span>
                  <strong><RelationText relation={relations[i]} hubText={step.relation} /></strong>{' '}
                  <Link to={`auditor/entry/${step.index}`}>{t('trace.entryLink', { index: step.index })}</Link>
                </div>
                <span className="badge ok">✓ {t('trace.proofVerified')}</span>
              </div>
              <div className="row" style={{ alignItems: 'baseline', gap: 16, marginTop: 6 }}>
                <div><EventType type={step.entry.type} inline /></div>
                <time className="small muted" dateTime={String(step.entry.time)}>{formatLogTime(step.entry.time, locale)}</time>
              </div>
              <div style={{ marginTop: 4 }}>
                <EventSummary event={step.entry as AuditEvent} />
              </div>
            </article>
          </li>
        ))}
      </ol>
    </section>
  );
}
