/**
 * Pending requests: the access requests waiting for this institution's decision. The hub
 * shows an operator every request that touches their institution; a request spanning
 * several institutions is decided by each on its own datasets, so this page lists those whose
 * decision *of this institution* is still pending (whatever the others did).
 *
 * Each request has its own busy state (several can be in flight) and a guard that sends a
 * decision at most once; the hub's answer is applied to the list at once. Decisions are
 * signed here with the operator's own key (signing-key.tsx), loaded once per session.
 */
import { useMemo, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { useRowActions } from '../../components/use-row-actions.ts';
import { RequestCard } from './request-card.tsx';
import { decisionOf } from './shared.tsx';
import { InstitutionLine } from './institution.tsx';
import { useAccessRequests } from '../../components/use-access-requests.ts';
import { focusBelongsTo, LiveStatus, useLiveStatus } from './live-status.tsx';
import { SigningKeyCard, useSigningKey } from './signing-key.tsx';

export function PendingRequestsPage() {
  const { t } = useTranslation('operator');
  const { t: tc } = useTranslation();
  const { client, account } = useSession();
  const node = account.node ?? '';
  // All of this institution's requests (not `?state=submitted`): a request another
  // institution already approved is `active` overall but may still wait for this one.
  const requests = useAccessRequests();
  const catalog = useLoad(() => client.catalog(), [client]);
  const status = useLiveStatus();
  const { busy, errors, run } = useRowActions();
  const key = useSigningKey(account.id);
  const keyInput = useRef<HTMLInputElement>(null);

  const datasets = useMemo(() => new Map((catalog.data?.datasets ?? []).map((d) => [d.id, d])), [catalog.data]);
  const pending = (requests.data ?? [])
    .filter((r) => r.state !== 'withdrawn' && decisionOf(r, node)?.state === 'pending')
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));

  const decide = (id: string, decision: 'approve' | 'deny', reason?: string) =>
    // At most one action per row in flight, whatever the buttons show.
    run(id, async () => {
      if (!key) {
        keyInput.current?.focus();
        throw new Error(t('key.needed'));
      }
      const request = requests.data?.find((r) => r.id === id);
      // Signed in this page (WebCrypto), over what the operator sees on the card.
      const updated = await client.decide(id, decision, {
        key, operator: { id: account.id, ...(account.node ? { node: account.node } : {}) },
        ...(request ? { request } : {}), ...(reason ? { reason } : {}),
      });
      const mine = decisionOf(updated, node);
      const text = () =>
        decision === 'deny'
          ? t('pending.denied', { id })
          : mine?.state === 'pending'
            ? t('pending.partlyApproved', { id, done: mine.approvals.length, required: mine.requiredApprovals })
            : t('pending.approved', { id });
      // The card goes (or its Approve button is disabled) now: focus in it moves to the message.
      status.show(text, 'success', focusBelongsTo(id));
      requests.apply(updated);
      requests.reload();
    });

  return (
    <section>
      <h1 tabIndex={-1}>{t('pending.title')}</h1>
      <InstitutionLine />
      <p className="muted">{t('pending.intro')}</p>
      <p className="hint">{t('signedByNode')}</p>
      <LiveStatus status={status} fallback={requests.loading && !requests.data ? tc('loading') : undefined} />
      <SigningKeyCard account={account.id} inputRef={keyInput} onStatus={(text) => status.show(text, 'info')} />
      <ErrorBanner error={requests.error} onRetry={requests.reload} />
      <div className="row" style={{ alignItems: 'center' }}>
        <button type="button" className="secondary" onClick={requests.reload}>
          {tc('refresh')}
        </button>
        {requests.data ? <span className="muted">{t('pending.count', { count: pending.length })}</span> : null}
      </div>
      {requests.data && pending.length === 0 ? <p className="card">{t('pending.empty')}</p> : null}
      {pending.map((r) => (
        <RequestCard
          key={r.id}
          request={r}
          node={node}
          accountId={account.id}
          datasets={datasets}
          busy={busy.has(r.id)}
          error={errors[r.id]}
          onApprove={() => void decide(r.id, 'approve')}
          onDeny={(reason) => void decide(r.id, 'deny', reason)}
        />
      ))}
    </section>
  );
}
