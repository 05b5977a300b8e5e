/** The auditor's main page: the signed checkpoint, verifying the whole log, and its entries. */
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { CheckpointCard } from './checkpoint-card.tsx';
import { VerifyPanel } from './verify-panel.tsx';
import { EntriesTable } from './entries-table.tsx';
import { fetchEntries } from './audit-data.ts';

export function AuditLogPage() {
  const { t } = useTranslation('auditor');
  const { t: tc } = useTranslation();
  const { client } = useSession();
  const checkpoint = useLoad(() => client.checkpoint(), [client]);
  // The log's size (entries may be newer than the latest checkpoint).
  const size = useLoad(async () => (await fetchEntries(client, 0, 1)).treeSize, [client]);
  const refresh = () => {
    checkpoint.reload();
    size.reload();
  };
  return (
    <section>
      <h1 tabIndex={-1}>{t('log.title')}</h1>
      <p className="muted">{t('log.intro')}</p>
      <CheckpointCard checkpoint={checkpoint} />
      <VerifyPanel onVerified={refresh} />
      <ErrorBanner error={size.error} onRetry={size.reload} />
      {size.loading && size.data === undefined ? <p role="status">{tc('loading')}</p> : null}
      {size.data !== undefined ? <EntriesTable key={size.data} size={size.data} /> : null}
    </section>
  );
}
