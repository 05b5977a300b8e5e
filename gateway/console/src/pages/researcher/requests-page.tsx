/**
 * Access requests: ask for access to datasets, bound to the identity key loaded in this page
 * (request-form.tsx); follow and withdraw my requests (requests-table.tsx).
 */
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { useAccessRequests } from '../../components/use-access-requests.ts';
import { useRowActions } from '../../components/use-row-actions.ts';
import { useResearcherKeys } from './keys-context.tsx';
import { RequestForm } from './request-form.tsx';
import { RequestTable } from './requests-table.tsx';
import { NeedKeys, StatusRegion, useAutoRefresh, useFocusAfterRender } from './shared.tsx';

export function RequestsPage() {
  const { t } = useTranslation('researcher');
  const { t: tc } = useTranslation();
  const { client } = useSession();
  const { loaded } = useResearcherKeys();
  const catalog = useLoad(() => client.catalog(), [client]);
  const requests = useAccessRequests();
  useAutoRefresh(requests.reload, 5000);
  const [status, setStatus] = useState<string>();
  const actions = useRowActions();
  const statusRef = useRef<HTMLDivElement>(null);
  const focusLater = useFocusAfterRender();
  const apply = requests.apply;

  const withdraw = (id: string) =>
    // One withdrawal per request at a time, whatever else is in flight.
    actions.run(id, async () => {
      setStatus(t('requests.withdrawing', { id }));
      try {
        apply(await client.withdrawAccessRequest(id));
      } catch (cause) {
        setStatus(undefined);
        throw cause;
      }
      setStatus(t('requests.withdrawn', { id }));
      // The row's button goes away: focus the message that says what happened.
      focusLater(() => statusRef.current);
      requests.reload();
    });
  const actionError = Object.values(actions.errors).find((e) => e !== undefined);

  const mine = [...(requests.data ?? [])].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const loading = (catalog.loading && !catalog.data) || (requests.loading && !requests.data);
  return (
    <section>
      <h1 tabIndex={-1}>{t('requests.title')}</h1>
      <p className="muted">{t('requests.intro')}</p>
      {loaded ? null : <NeedKeys />}
      <ErrorBanner error={catalog.error} onRetry={catalog.reload} />
      {catalog.data ? (
        <RequestForm
          catalog={catalog.data}
          canSubmit={loaded !== undefined}
          onSubmit={async (input) => {
            if (!loaded) return;
            setStatus(undefined);
            const created = await client.requestAccess(input, loaded.identity);
            apply(created);
            setStatus(t('requests.submitted', { id: created.id }));
            focusLater(() => statusRef.current);
            requests.reload();
          }}
        />
      ) : null}
      {/* Between the form and the table: next to both the Submit and the Withdraw buttons. */}
      <StatusRegion ref={statusRef} message={status ?? (loading ? tc('loading') : undefined)} tone={status ? 'success' : 'muted'} />

      <h2>{t('requests.mine')}</h2>
      <ErrorBanner error={requests.error} onRetry={requests.reload} />
      <ErrorBanner error={actionError} />
      <div className="row">
        <button type="button" className="secondary" onClick={requests.reload}>
          {tc('refresh')}
        </button>
      </div>
      {requests.data && mine.length === 0 ? <p className="muted">{t('requests.noneYet')}</p> : null}
      {mine.length > 0 ? <RequestTable requests={mine} busy={actions.busy} onWithdraw={(id) => void withdraw(id)} /> : null}
    </section>
  );
}
