/**
 * Failures of what this browser pinned: the hub states another log key than the pinned one,
 * or names other witnesses (or keys, or threshold). Nothing is replaced silently: each alert
 * has an explicit "trust" button, to press only after checking the change by other means.
 */
import { useTranslation } from 'react-i18next';
import { majorityQuorum } from '@veilgate/sdk';
import { useSession } from '../../session.tsx';
import { rememberVerification, type Checkpoint } from './audit-data.ts';
import { fingerprint, saveTrusted, witnessChanges, type useLogTrust } from './trust.ts';

type Trust = ReturnType<typeof useLogTrust>;

/** `onTrusted` gets what to announce; the page then moves focus to the verify button. */
export function TrustAlerts(props: { trust: Trust; checkpoint: Checkpoint | undefined; onTrusted: (message: string) => void }) {
  const { t } = useTranslation('auditor');
  const { client } = useSession();
  const { record, keyChanged } = props.trust;
  const cp = props.checkpoint;
  const witnesses = record && cp ? witnessChanges(record, { witnesses: cp.witnesses, quorum: cp.witnessQuorum }) : undefined;

  const trustKey = () => {
    if (!record || !keyChanged) return;
    // The anchor was a checkpoint of the old key's log: it goes; the witness pins stay.
    saveTrusted({
      origin: keyChanged.hub.origin,
      logKey: keyChanged.hub.publicKey,
      ...(record.witnesses && record.quorum !== undefined ? { witnesses: record.witnesses, quorum: record.quorum } : {}),
    });
    rememberVerification(client, undefined);
    props.onTrusted(t('trust.keyTrusted', { fingerprint: fingerprint(keyChanged.hub.publicKey) }));
  };

  const trustWitnesses = () => {
    if (!record || !cp) return;
    // Never below a majority of the pinned keys, whatever k the hub states (protocol.md §8).
    saveTrusted({ ...record, witnesses: cp.witnesses.map((w) => ({ node: w.node, signingKey: w.signingKey })), quorum: Math.max(cp.witnessQuorum, majorityQuorum(cp.witnesses.length)) });
    rememberVerification(client, undefined);
    props.onTrusted(t('trust.witnessesTrusted'));
  };

  return (
    <>
      {keyChanged ? (
        <div className="error" role="alert">
          <p style={{ margin: '0 0 4px', fontWeight: 600 }}>{t('trust.keyChangedTitle')}</p>
          <p style={{ margin: '2px 0 8px' }}>
            {t('trust.keyChangedBody', {
              pinnedOrigin: keyChanged.pinned.origin,
              pinned: fingerprint(keyChanged.pinned.publicKey),
              hubOrigin: keyChanged.hub.origin,
              hub: fingerprint(keyChanged.hub.publicKey),
            })}
          </p>
          <button type="button" className="danger" onClick={trustKey}>
            {t('trust.trustKey')}
          </button>
        </div>
      ) : null}
      {witnesses ? (
        <div className="warning" role="alert" style={{ margin: '10px 0' }}>
          <p style={{ margin: '0 0 4px', fontWeight: 600 }}>{t('trust.witnessChangedTitle')}</p>
          <ul style={{ margin: '2px 0', paddingLeft: 20 }}>
            {witnesses.added.map((w) => (
              <li key={`added-${w.node}`}>{t('trust.witnessAdded', { node: w.node, fingerprint: fingerprint(w.signingKey) })}</li>
            ))}
            {witnesses.removed.map((w) => (
              <li key={`removed-${w.node}`}>{t('trust.witnessRemoved', { node: w.node, fingerprint: fingerprint(w.signingKey) })}</li>
            ))}
            {witnesses.changed.map((w) => (
              <li key={`changed-${w.node}`}>{t('trust.witnessKeyChanged', { node: w.node, pinned: fingerprint(w.pinned), stated: fingerprint(w.stated) })}</li>
            ))}
            {witnesses.quorum ? <li>{t('trust.quorumChanged', witnesses.quorum)}</li> : null}
          </ul>
          <p style={{ margin: '2px 0 8px' }}>{t('trust.witnessChangedBody')}</p>
          <button type="button" className="secondary" onClick={trustWitnesses}>
            {t('trust.trustWitnesses')}
          </button>
        </div>
      ) : null}
    </>
  );
}
