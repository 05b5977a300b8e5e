/**
 * The latest signed checkpoint: its size and root as the signed note states them, checked
 * here against the pinned log key (or, before anything is pinned, the key the hub stated at
 * sign-in — never the key in the same response); and the witnesses' co-signatures, counted
 * only under pinned witness keys, with each key's fingerprint for comparison by other means.
 */
import { useTranslation } from 'react-i18next';
import { ErrorBanner } from '../../components/error-banner.tsx';
import type { Loaded } from '../../components/use-load.ts';
import { checkCheckpoint, cosignatureValid, type Checkpoint } from './audit-data.ts';
import { fingerprint, type useLogTrust, type WitnessPin } from './trust.ts';

type Trust = ReturnType<typeof useLogTrust>;
type PinState = 'pinned' | 'firstUse' | 'added' | 'changed' | 'removed';

interface WitnessRow {
  node: string;
  /** The key checked and shown: the pinned one where there is one. */
  key: string;
  state: PinState;
  claimed: boolean;
  valid: boolean;
}

/** The hub's witnesses against the pinned ones; co-signatures checked under the pinned keys. */
function witnessRows(cp: Checkpoint, pinned: WitnessPin[] | undefined): WitnessRow[] {
  if (!pinned) return cp.witnesses.map((w) => ({ node: w.node, key: w.signingKey, state: 'firstUse', claimed: w.cosigned, valid: cosignatureValid(cp.note, w.node, w.signingKey) }));
  const stated = new Map(cp.witnesses.map((w) => [w.node, w]));
  const rows: WitnessRow[] = pinned.map((p) => {
    const w = stated.get(p.node);
    const state: PinState = !w ? 'removed' : w.signingKey === p.signingKey ? 'pinned' : 'changed';
    return { node: p.node, key: p.signingKey, state, claimed: w?.cosigned ?? false, valid: cosignatureValid(cp.note, p.node, p.signingKey) };
  });
  for (const w of cp.witnesses) {
    if (!pinned.some((p) => p.node === w.node)) rows.push({ node: w.node, key: w.signingKey, state: 'added', claimed: w.cosigned, valid: false });
  }
  return rows;
}

export function CheckpointCard(props: { checkpoint: Loaded<Checkpoint>; trust: Trust }) {
  const { t } = useTranslation('auditor');
  const { t: tc } = useTranslation();
  const { data: cp, error, loading, reload } = props.checkpoint;
  const { record, expected, hub } = props.trust;
  const signature = cp && expected ? checkCheckpoint(cp, expected) : undefined;
  const pinnedWitnesses = record?.witnesses;
  const rows = cp ? witnessRows(cp, pinnedWitnesses) : [];
  // Counted from the signatures checked here under pinned keys, not from what the hub claims.
  const counted = rows.filter((r) => r.state !== 'added');
  const cosigned = counted.filter((r) => r.valid).length;
  const quorum = record?.quorum ?? cp?.witnessQuorum ?? 0;
  const witnessed = quorum > 0 && cosigned >= quorum;
  const fieldsDiffer = signature?.ok && signature.fieldsDiffer && cp ? new Error(t('checkpoint.fieldsDiffer', { size: cp.treeSize, root: cp.rootHash })) : undefined;
  return (
    <section className="card" aria-labelledby="checkpoint-title">
      <div className="row" style={{ justifyContent: 'space-between', alignItems: 'center' }}>
        <h2 id="checkpoint-title" style={{ margin: 0 }}>{t('checkpoint.title')}</h2>
        <button type="button" className="secondary" onClick={reload} disabled={loading}>
          {tc('refresh')}
        </button>
      </div>
      <ErrorBanner error={error ?? hub.error} onRetry={error ? reload : hub.reload} />
      <ErrorBanner error={fieldsDiffer} />
      {(loading && !cp) || (!expected && hub.loading) ? <p className="muted">{tc('loading')}</p> : null}
      {cp && expected && signature ? (
        <>
          <div>
            <dl className="facts">
              <dt>{t('checkpoint.origin')}</dt>
              <dd><code>{expected.origin}</code></dd>
              <dt>{t('checkpoint.treeSize')}</dt>
              <dd>{t('checkpoint.entries', { count: signature.ok ? signature.size : cp.treeSize })}</dd>
              <dt>{t('checkpoint.rootHash')}</dt>
              <dd>
                <code>{signature.ok ? signature.root : cp.rootHash}</code>
                <div className="muted small">{signature.ok ? t('checkpoint.signedValues') : t('checkpoint.statedValues')}</div>
              </dd>
              <dt>{t('checkpoint.logKey')}</dt>
              <dd>
                <code>{expected.publicKey}</code>
                <div className="small">
                  {t('checkpoint.fingerprint', { fingerprint: fingerprint(expected.publicKey) })} · <span className="muted">{record ? t('checkpoint.keyPinned') : t('checkpoint.keyFirstUse')}</span>
                </div>
              </dd>
              <dt>{t('checkpoint.signature')}</dt>
              <dd>
                {signature.ok ? (
                  <span className="badge ok">{t('checkpoint.signatureValid')}</span>
                ) : (
                  <>
                    <span className="badge bad">{t('checkpoint.signatureInvalid')}</span>{' '}
                    <span className="muted small">(<span lang="en">{signature.message.replace(/^checkpoint: /, '')}</span>)</span>
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
              {t(pinnedWitnesses ? 'checkpoint.witnessStatusPinned' : 'checkpoint.witnessStatusFirstUse', { cosigned, total: counted.length, quorum })}{' '}
              <span className={`badge ${witnessed ? 'ok' : 'warn'}`}>{witnessed ? t('checkpoint.quorumMet') : t('checkpoint.quorumNotMet')}</span>
            </p>
            {rows.length === 0 ? (
              <p className="muted">{t('checkpoint.noWitnesses')}</p>
            ) : (
              <>
                <div className="table-wrap">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">{t('checkpoint.node')}</th>
                        <th scope="col">{t('checkpoint.cosigned')}</th>
                        <th scope="col">{t('checkpoint.checkedHere')}</th>
                        <th scope="col">{t('checkpoint.keyFingerprint')}</th>
                        <th scope="col">{t('checkpoint.pin')}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {rows.map((w) => (
                        <tr key={`${w.node}-${w.state}`}>
                          <th scope="row" className="nowrap"><code>{w.node}</code></th>
                          <td>
                            <span className={`badge ${w.claimed ? 'ok' : 'pending'}`}>{w.claimed ? tc('yes') : tc('no')}</span>
                          </td>
                          <td>
                            {w.state === 'added' ? (
                              <span className="muted">—</span>
                            ) : w.valid ? (
                              <span className="badge ok">{t('checkpoint.valid')}</span>
                            ) : w.claimed ? (
                              <span className="badge bad">{t('checkpoint.invalid')}</span>
                            ) : (
                              <span className="muted">{t('checkpoint.absent')}</span>
                            )}
                          </td>
                          <td><code className="nowrap" title={w.key}>{fingerprint(w.key)}</code></td>
                          <td>
                            <span className={`badge ${w.state === 'pinned' ? 'ok' : w.state === 'firstUse' ? 'pending' : 'warn'}`}>{t(`checkpoint.pinState.${w.state}`)}</span>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <p className="hint">{t('checkpoint.fingerprintHint')}</p>
              </>
            )}
          </div>
        </>
      ) : null}
    </section>
  );
}
