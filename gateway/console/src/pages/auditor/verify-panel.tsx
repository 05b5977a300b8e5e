/**
 * "Verify the whole log": the SDK's verifyLog with progress, from the checkpoint this browser
 * verified last (so it also proves the log only grew), and its outcome — success, or the
 * problems it found, each naming its entry where it can.
 */
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { Link } from '../../router.tsx';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { Progress } from '../../components/progress.tsx';
import { forgetTrusted, formatTime, loadTrusted, rememberVerification, saveTrusted, useLastVerification, type VerificationRecord } from './audit-data.ts';
import { useProblemText } from './event-text.tsx';

export function VerifyPanel(props: { onVerified: () => void }) {
  const { t, i18n } = useTranslation('auditor');
  const { client } = useSession();
  const last = useLastVerification(client);
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(() => loadTrusted());

  const run = async () => {
    setRunning(true);
    setError(undefined);
    setProgress(undefined);
    try {
      const log = await client.logIdentity();
      const trusted = loadTrusted(log);
      const result = await client.verifyLog({
        onProgress: (done, total) => setProgress({ done, total }),
        ...(trusted ? { trusted: { size: trusted.size, root: trusted.root } } : {}),
      });
      if (result.ok && result.checkpoint) {
        saveTrusted({ size: result.checkpoint.size, root: result.checkpoint.root, origin: log.origin, logKey: log.publicKey, verifiedAt: new Date().toISOString() });
        setSaved(loadTrusted());
      }
      rememberVerification(client, { result, trusted });
      props.onVerified();
    } catch (cause) {
      setError(cause);
    } finally {
      setRunning(false);
    }
  };

  return (
    <section className="card" aria-labelledby="verify-title">
      <h2 id="verify-title" style={{ marginTop: 0 }}>{t('verify.title')}</h2>
      <p className="hint">{t('verify.hint')}</p>
      <div className="row" style={{ alignItems: 'center' }}>
        <button type="button" onClick={() => void run()} disabled={running}>
          {t('verify.button')}
        </button>
        {saved ? (
          <span className="muted small">
            {saved.verifiedAt ? t('verify.saved', { size: saved.size, when: formatTime(saved.verifiedAt, i18n.language) }) : t('verify.savedOther', { size: saved.size })}{' '}
            <button
              type="button"
              className="link"
              disabled={running}
              onClick={() => {
                forgetTrusted();
                setSaved(undefined);
              }}
            >
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
      {!running && last ? <Outcome record={last} /> : null}
    </section>
  );
}

function Outcome(props: { record: VerificationRecord }) {
  const { t } = useTranslation('auditor');
  const problemText = useProblemText();
  const { result, trusted } = props.record;
  const names = result.witnesses.cosigned.join(', ') || t('checkpoint.absent');
  const witnesses = t(result.witnesses.witnessed ? 'verify.witnessed' : 'verify.notWitnessed', { count: result.witnesses.cosigned.length, names, quorum: result.witnesses.quorum });
  if (result.ok) {
    return (
      <div className="success" role="status">
        <p style={{ margin: '0 0 4px', fontWeight: 600 }}>{t('verify.ok', { count: result.entriesChecked })}</p>
        <p style={{ margin: '2px 0' }} className="small">
          {t('verify.okRoot', { root: result.rootHash, size: result.treeSize })}
        </p>
        <p style={{ margin: '2px 0' }}>{trusted && trusted.size > 0 ? t('verify.consistent', { size: trusted.size }) : t('verify.fromScratch')}</p>
        <p style={{ margin: '2px 0' }}>{witnesses}</p>
      </div>
    );
  }
  return (
    <div className="error" role="alert">
      <p style={{ margin: '0 0 4px', fontWeight: 600 }}>{t('verify.failed', { count: result.problems.length })}</p>
      <p style={{ margin: '2px 0' }} className="small">
        {t('verify.checked', { checked: result.entriesChecked, size: result.treeSize })} {witnesses}
      </p>
      <ul aria-label={t('verify.problems')} style={{ margin: '6px 0 0', paddingLeft: 20 }}>
        {result.problems.map((p, i) => (
          <li key={i}>
            {p.index !== undefined ? (
              <>
                <Link to={`auditor/entry/${p.index}`}>{t('verify.entry', { index: p.index })}</Link>
                {t('verify.separator')}
              </>
            ) : null}
            <span style={{ wordBreak: 'break-word' }}>{problemText(p.message)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
