/**
 * Access requests: ask for access to datasets, bound to the identity key loaded in this page
 * (request-form.tsx); follow and withdraw my requests (requests-table.tsx).
 */
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { components } from '@veilgate/sdk';
import { useSession } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { useResearcherKeys } from './keys-context.tsx';
import { RequestForm } from './request-form.tsx';
import { RequestTable } from './requests-table.tsx';
import { NeedKeys, StatusRegion, useAutoRefresh, useFocusAfterRender } from './shared.tsx';

type S = components['schemas'];

/**
 * The hub's list with the requests this page created or changed laid over it: one the list
 * does not have yet is added, and one the list still shows as submitted shows the state the
 * hub answered with (a request never goes back to submitted, so a stale reload cannot undo it).
 */
function merge(list: S['AccessRequest'][], mine: ReadonlyMap<string, S['AccessRequest']>): S['AccessRequest'][] {
  const merged = list.map((r) => {
    const local = mine.get(r.id);
    return local && r.state === 'submitted' ? local : r;
  });
  const known = new Set(list.map((r) => r.id));
  for (const r of mine.values()) if (!known.has(r.id)) merged.push(r);
  return merged.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export function RequestsPage() {
  const { t } = useTranslation('researcher');
  const { t: tc } = useTranslation();
  const { client } = useSession();
  const { loaded } = useResearcherKeys();
  const catalog = useLoad(() => client.catalog(), [client]);
  const requests = useLoad(() => client.accessRequests(), [client]);
  useAutoRefresh(requests.reload, 5000);
  const [status, setStatus] = useState<string>();
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const inFlight = useRef(new Set<string>());
  const [changed, setChanged] = useState<ReadonlyMap<string, S['AccessRequest']>>(new Map());
  const statusRef = useRef<HTMLDivElement>(null);
  const focusLater = useFocusAfterRender();

  const apply = (request: S['AccessRequest']) => setChanged((m) => new Map(m).set(request.id, request));
  const setRowBusy = (id: string, on: boolean) =>
    setBusy((s) => {
      const next = new Set(s);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });

  const withdraw = async (id: string) => {
    // One withdrawal per request at a time, whatever else is in flight.
    if (inFlight.current.has(id)) return;
    inFlight.current.add(id);
    setRowBusy(id, true);
    setActionError(undefined);
    setStatus(t('requests.withdrawing', { id }));
    try {
      apply(await client.withdrawAccessRequest(id));
      setStatus(t('requests.withdrawn', { id }));
      // The row's button goes away: focus the message that says what happened.
      focusLater(() => statusRef.current);
      requests.reload();
    } catch (cause) {
      setStatus(undefined);
      setActionError(cause);
    } finally {
      inFlight.current.delete(id);
      setRowBusy(id, false);
    }
  };

  const mine = merge(requests.data ?? [], changed);
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
      {mine.length > 0 ? <RequestTable requests={mine} busy={busy} onWithdraw={(id) => void withdraw(id)} /> : null}
    </section>
  );
}
