/**
 * The auditor's main page: failures of the pinned keys, the signed checkpoint, verifying the
 * whole log, and its entries. Its one live status region is in the verification panel.
 */
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { CheckpointCard } from './checkpoint-card.tsx';
import { TrustAlerts } from './trust-alerts.tsx';
import { VerifyPanel } from './verify-panel.tsx';
import { EntriesTable } from './entries-table.tsx';
import { useLogTrust } from './trust.ts';

export function AuditLogPage() {
  const { t } = useTranslation('auditor');
  const { t: tc } = useTranslation();
  const { client } = useSession();
  const trust = useLogTrust(client);
  const checkpoint = useLoad(() => client.checkpoint(), [client]);
  // The log's size (entries may be newer than the latest checkpoint).
  const size = useLoad(async () => (await client.auditEntries(0, 1)).treeSize, [client]);
  const [notice, setNotice] = useState<string>();
  const verifyButton = useRef<HTMLButtonElement>(null);
  const refresh = () => {
    checkpoint.reload();
    size.reload();
  };
  return (
    <section>
      <h1 tabIndex={-1}>{t('log.title')}</h1>
      <p className="muted">{t('log.intro')}</p>
      <TrustAlerts
        trust={trust}
        checkpoint={checkpoint.data}
        onTrusted={(message) => {
          setNotice(message);
          // The alert and its button are gone: the next step is to verify under the new pins.
          verifyButton.current?.focus();
        }}
      />
      <CheckpointCard checkpoint={checkpoint} trust={trust} />
      <VerifyPanel trust={trust} notice={notice} onNotice={setNotice} buttonRef={verifyButton} onVerified={refresh} />
      <ErrorBanner error={size.error} onRetry={size.reload} />
      {size.loading && size.data === undefined ? <p className="muted">{tc('loading')}</p> : null}
      {size.data !== undefined ? <EntriesTable key={size.data} size={size.data} /> : null}
    </section>
  );
}
