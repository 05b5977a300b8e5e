/**
 * The latest signed checkpoint: origin, size, root, log key, the signed note, the log's
 * signature checked here, and the witnesses' co-signatures (k of n, each checked here).
 */
import { useTranslation } from 'react-i18next';
import { ErrorBanner } from '../../components/error-banner.tsx';
import type { Loaded } from '../../components/use-load.ts';
import { checkCheckpointSignature, checkCosignatures, type Checkpoint } from './audit-data.ts';

export function CheckpointCard(props: { checkpoint: Loaded<Checkpoint> }) {
  const { t } = useTranslation('auditor');
  const { t: tc } = useTranslation();
  const { data: cp, error, loading, reload } = props.checkpoint;
  const signature = cp ? checkCheckpointSignature(cp) : undefined;
  const cosignatures = cp ? checkCosignatures(cp) : {};
  // Counted from the signatures checked here, not from what the hub claims.
  const cosigned = Object.values(cosignatures).filter(Boolean).length;
  const witnessed = cp !== undefined && cp.witnessQuorum > 0 && cosigned >= cp.witnessQuorum;
  return (
    <section className="card" aria-labelledby="checkpoint-title">
      <div className="row" style={{ justifyContent: 'space-between', alignItems: 'center' }}>
        <h2 id="checkpoint-title" style={{ margin: 0 }}>{t('checkpoint.title')}</h2>
        <button type="button" className="secondary" onClick={reload} disabled={loading}>
          {tc('refresh')}
        </button>
      </div>
      <ErrorBanner error={error} onRetry={reload} />
      {loading && !cp ? <p role="status">{tc('loading')}</p> : null}
      {cp && signature ? (
        <>
          <div>
            <dl className="facts">
              <dt>{t('checkpoint.origin')}</dt>
              <dd><code>{cp.origin}</code></dd>
              <dt>{t('checkpoint.treeSize')}</dt>
              <dd>{t('checkpoint.entries', { count: cp.treeSize })}</dd>
              <dt>{t('checkpoint.rootHash')}</dt>
              <dd><code>{cp.rootHash}</code></dd>
              <dt>{t('checkpoint.logKey')}</dt>
              <dd><code>{cp.logKey}</code></dd>
              <dt>{t('checkpoint.signature')}</dt>
              <dd>
                {signature.ok ? (
                  <span className="badge ok">{t('checkpoint.signatureValid')}</span>
                ) : (
                  <>
                    <span className="badge bad">{t('checkpoint.signatureInvalid')}</span> <span className="small">{signature.message}</span>
                  </>
                )}{' '}
                <span className="muted small">{t('checkpoint.signatureHint')}</span>
              </dd>
            </dl>
            <details>
              <summary>{t('checkpoint.signedNote')}</summary>
              <pre tabIndex={0} aria-label={t('checkpoint.signedNote')}>{cp.note}</pre>
            </details>
          </div>
          <div>
            <h3>{t('checkpoint.witnesses')}</h3>
            <p>
              {t('checkpoint.witnessStatus', { cosigned, total: cp.witnesses.length, quorum: cp.witnessQuorum })}{' '}
              <span className={`badge ${witnessed ? 'ok' : 'warn'}`}>{witnessed ? t('checkpoint.quorumMet') : t('checkpoint.quorumNotMet')}</span>
            </p>
            {cp.witnesses.length === 0 ? (
              <p className="muted">{t('checkpoint.noWitnesses')}</p>
            ) : (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('checkpoint.node')}</th>
                      <th scope="col">{t('checkpoint.cosigned')}</th>
                      <th scope="col">{t('checkpoint.checkedHere')}</th>
                      <th scope="col">{t('checkpoint.signingKey')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {cp.witnesses.map((w) => {
                      const valid = cosignatures[w.node] === true;
                      return (
                        <tr key={w.node}>
                          <th scope="row" style={{ whiteSpace: 'nowrap' }}><code>{w.node}</code></th>
                          <td>
                            <span className={`badge ${w.cosigned ? 'ok' : 'pending'}`}>{w.cosigned ? tc('yes') : tc('no')}</span>
                          </td>
                          <td>
                            {valid ? (
                              <span className="badge ok">{t('checkpoint.valid')}</span>
                            ) : w.cosigned ? (
                              <span className="badge bad">{t('checkpoint.invalid')}</span>
                            ) : (
                              <span className="muted">{t('checkpoint.absent')}</span>
                            )}
                          </td>
                          <td><code className="small">{w.signingKey}</code></td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )}
          </div>
        </>
      ) : null}
    </section>
  );
}
