/**
 * "Verify the whole log": the SDK's verifyLog with progress, against the pinned log identity
 * and witness keys, from the checkpoint this browser verified last (so it also proves the log
 * only grew), and its outcome — success in the panel's one live status region, or the
 * problems it found, each naming its entry where it can.
 */
import { useState, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { Link } from '../../router.tsx';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { Progress } from '../../components/progress.tsx';
import { formatDateTime, useLocale } from '../../components/format.ts';
import { rememberVerification, useLastVerification, verifyWholeLog, type VerificationRecord } from './audit-data.ts';
import { ProblemText } from './event-text.tsx';
import { fingerprint, forgetTrusted, type useLogTrust } from './trust.ts';

type Trust = ReturnType<typeof useLogTrust>;

const TIGHT = { margin: '2px 0' } as const;
const HEADLINE = { margin: '0 0 4px', fontWeight: 600 } as const;

export function VerifyPanel(props: {
  trust: Trust;
  /** What to announce in the status region (trusting or forgetting keys), set by the page. */
  notice: string | undefined;
  onNotice: (message: string | undefined) => void;
  buttonRef: RefObject<HTMLButtonElement | null>;
  onVerified: () => void;
}) {
  const { t } = useTranslation('auditor');
  const locale = useLocale();
  const { client } = useSession();
  const last = useLastVerification(client);
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const [error, setError] = useState<unknown>();
  const { record, discarded } = props.trust;

  const run = async () => {
    setRunning(true);
    setError(undefined);
    setProgress(undefined);
    props.onNotice(undefined);
    try {
      rememberVerification(client, await verifyWholeLog(client, (done, total) => setProgress({ done, total })));
      props.onVerified();
    } catch (cause) {
      setError(cause);
    } finally {
      setRunning(false);
    }
  };

  const forget = () => {
    forgetTrusted();
    props.onNotice(t('trust.forgotten'));
    props.buttonRef.current?.focus();
  };

  return (
    <section className="card" aria-labelledby="verify-title">
      <h2 id="verify-title" style={{ marginTop: 0 }}>{t('verify.title')}</h2>
      <p className="hint">{t('verify.hint')}</p>
      <div className="row" style={{ alignItems: 'center' }}>
        <button type="button" ref={props.buttonRef} onClick={() => void run()} disabled={running}>
          {t('verify.button')}
        </button>
        {record ? (
          <span className="muted small">
            {record.size !== undefined
              ? t('verify.saved', { size: record.size, when: formatDateTime(record.verifiedAt, locale), fingerprint: fingerprint(record.logKey) })
              : t('verify.savedNoAnchor', { fingerprint: fingerprint(record.logKey) })}{' '}
            <button type="button" className="link" disabled={running} onClick={forget}>
              {t('verify.forget')}
            </button>
          </span>
        ) : null}
      </div>
      {running ? (
        <Progress
          label={t('verify.running')}
          {...(progress ? { value: progress.done, max: progress.total, detail: t('verify.progress', { done: progress.done, total: progress.total }) } : {})}
        />
      ) : null}
      <ErrorBanner error={error} />
      <div role="status">
        {discarded ? <p className="warning">{t(discarded === 'noIdentity' ? 'trust.discardedNoIdentity' : 'trust.discardedMalformed')}</p> : null}
        {props.notice ? <p>{props.notice}</p> : null}
        {!running && last?.result.ok ? <Success record={last} /> : null}
      </div>
      {!running && last && !last.result.ok ? <Failure record={last} /> : null}
    </section>
  );
}

function useWitnessText(record: VerificationRecord): string {
  const { t } = useTranslation('auditor');
  const w = record.result.witnesses;
  const names = w.cosigned.join(', ') || t('checkpoint.absent');
  const key = !record.firstUse ? (w.witnessed ? 'verify.witnessedPinned' : 'verify.notWitnessedPinned') : w.witnessed ? 'verify.witnessedFirstUse' : 'verify.notWitnessedFirstUse';
  return t(key, { count: w.cosigned.length, names, quorum: w.quorum });
}

function Success(props: { record: VerificationRecord }) {
  const { t } = useTranslation('auditor');
  const { result, trusted } = props.record;
  const witnesses = useWitnessText(props.record);
  return (
    <div className="success">
      <p style={HEADLINE}>{t('verify.ok', { count: result.entriesChecked })}</p>
      <p style={TIGHT} className="small">{t('verify.okRoot', { root: result.rootHash, size: result.treeSize })}</p>
      <p style={TIGHT}>{trusted && trusted.size > 0 ? t('verify.consistent', { size: trusted.size }) : t('verify.fromScratch')}</p>
      <p style={TIGHT}>{witnesses}</p>
    </div>
  );
}

function Failure(props: { record: VerificationRecord }) {
  const { t } = useTranslation('auditor');
  const { result } = props.record;
  const witnesses = useWitnessText(props.record);
  return (
    <div className="error" role="alert">
      <p style={HEADLINE}>{t('verify.failed', { count: result.problems.length })}</p>
      <p style={TIGHT} className="small">
        {t('verify.checked', { checked: result.entriesChecked, size: result.treeSize, confirmed: result.entriesConfirmed })} {witnesses}
      </p>
      <ul aria-label={t('verify.problems')} style={{ margin: '6px 0 0', paddingLeft: 20 }}>
        {result.problems.map((p, i) => (
          <li key={i} style={{ wordBreak: 'break-word' }}>
            {p.index !== undefined ? (
              <>
                <Link to={`auditor/entry/${p.index}`}>{t('verify.entry', { index: p.index })}</Link>
                {t('verify.separator')}
              </>
            ) : null}
            <ProblemText problem={p} />
          </li>
        ))}
      </ul>
    </div>
  );
}
