/**
 * Pending requests: the access requests waiting for this institution's decision. The hub
 * shows an operator every request that touches their institution; a request spanning
 * several institutions is decided by each on its own datasets, so this page lists those whose
 * decision *of this institution* is still pending (whatever the others did).
 */
import { useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { RequestCard } from './request-card.tsx';
import { decisionOf, type AccessRequest } from './shared.tsx';
import { InstitutionLine } from './institution.tsx';

export function PendingRequestsPage() {
  const { t } = useTranslation('operator');
  const { t: tc } = useTranslation();
  const { client, account } = useSession();
  const node = account.node ?? '';
  // All of this institution's requests (not `?state=submitted`): a request another
  // institution already approved is `active` overall but may still wait for this one.
  const requests = useLoad(() => client.accessRequests(), [client]);
  const catalog = useLoad(() => client.catalog(), [client]);
  const [status, setStatus] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const [errors, setErrors] = useState<Record<string, unknown>>({});
  const statusRef = useRef<HTMLParagraphElement>(null);

  const datasets = useMemo(() => new Map((catalog.data?.datasets ?? []).map((d) => [d.id, d])), [catalog.data]);
  const pending = (requests.data ?? [])
    .filter((r) => r.state !== 'withdrawn' && decisionOf(r, node)?.state === 'pending')
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));

  const decide = async (r: AccessRequest, decision: 'approve' | 'deny', reason?: string) => {
    setBusy(r.id);
    setStatus(undefined);
    setErrors((e) => ({ ...e, [r.id]: undefined }));
    try {
      const updated = await client.decide(r.id, decision, reason);
      const mine = decisionOf(updated, node);
      if (decision === 'deny') setStatus(t('pending.denied', { id: r.id }));
      else if (mine && mine.state === 'pending') setStatus(t('pending.partlyApproved', { id: r.id, done: mine.approvals.length, required: mine.requiredApprovals }));
      else setStatus(t('pending.approved', { id: r.id }));
      requests.reload();
      requestAnimationFrame(() => statusRef.current?.focus());
    } catch (cause) {
      setErrors((e) => ({ ...e, [r.id]: cause }));
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section>
      <h1 tabIndex={-1}>{t('pending.title')}</h1>
      <InstitutionLine />
      <p className="muted">{t('pending.intro')}</p>
      <p className="hint">{t('signedByNode')}</p>
      {status ? (
        <p role="status" className="success" tabIndex={-1} ref={statusRef}>
          {status}
        </p>
      ) : null}
      <ErrorBanner error={requests.error} onRetry={requests.reload} />
      <div className="row" style={{ alignItems: 'center' }}>
        <button type="button" className="secondary" onClick={requests.reload} disabled={requests.loading}>
          {tc('refresh')}
        </button>
        {requests.data ? <span className="muted">{t('pending.count', { count: pending.length })}</span> : null}
      </div>
      {requests.loading && !requests.data ? <p role="status">{tc('loading')}</p> : null}
      {requests.data && pending.length === 0 ? <p className="card">{t('pending.empty')}</p> : null}
      {pending.map((r) => (
        <RequestCard
          key={r.id}
          request={r}
          node={node}
          accountId={account.id}
          datasets={datasets}
          busy={busy === r.id}
          error={errors[r.id]}
          onApprove={() => void decide(r, 'approve')}
          onDeny={(reason) => void decide(r, 'deny', reason)}
        />
      ))}
    </section>
  );
}
