/**
 * The log's entries, newest first, 50 a page: index (link to the entry), time, type, a
 * one-line summary, the leaf hash, and each entry's status under the last verification.
 */
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { Link } from '../../router.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { useLocale } from '../../components/format.ts';
import { entryStatus, formatLogTime, shortHash, useLastVerification, type EntryStatus } from './audit-data.ts';
import { EventSummary, EventType, useProblemText } from './event-text.tsx';

export const PAGE_SIZE = 50;

/** `size` is the log's size when the page was (re)loaded: pages stay put while the log grows. */
export function EntriesTable(props: { size: number }) {
  const { t } = useTranslation('auditor');
  const { t: tc } = useTranslation();
  const locale = useLocale();
  const { client } = useSession();
  const verification = useLastVerification(client);
  const [page, setPage] = useState(0);
  const newer = useRef<HTMLButtonElement>(null);
  const older = useRef<HTMLButtonElement>(null);
  const table = useRef<HTMLDivElement>(null);
  // A pager button that becomes disabled at either end would drop keyboard focus: move it to
  // the other pager button (or the table when both are disabled).
  const refocus = useRef<'newer' | 'older'>(undefined);
  useEffect(() => {
    const from = refocus.current;
    refocus.current = undefined;
    if (!from) return;
    const clicked = from === 'newer' ? newer.current : older.current;
    const other = from === 'newer' ? older.current : newer.current;
    if (clicked && !clicked.disabled) return;
    if (other && !other.disabled) other.focus();
    else table.current?.focus();
  }, [page]);
  const total = props.size;
  const end = Math.max(0, total - page * PAGE_SIZE);
  const start = Math.max(0, end - PAGE_SIZE);
  const entries = useLoad(async () => (end > start ? (await client.auditEntries(start, end - start)).entries : []), [client, start, end]);
  const rows = [...(entries.data ?? [])].filter((e) => e.index >= start && e.index < end).reverse();
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  const pager = (
    <div role="group" aria-label={t('entries.pages')} className="row" style={{ alignItems: 'center', gap: 8 }}>
      <button
        type="button"
        className="secondary"
        ref={newer}
        disabled={page === 0}
        onClick={() => {
          refocus.current = 'newer';
          setPage((p) => Math.max(0, p - 1));
        }}
      >
        {t('entries.newer')}
      </button>
      <button
        type="button"
        className="secondary"
        ref={older}
        disabled={page >= pages - 1}
        onClick={() => {
          refocus.current = 'older';
          setPage((p) => Math.min(pages - 1, p + 1));
        }}
      >
        {t('entries.older')}
      </button>
      {total > 0 ? <span className="muted small">{t('entries.range', { from: start, to: end - 1, total })}</span> : null}
    </div>
  );

  return (
    <section aria-labelledby="entries-title">
      <h2 id="entries-title">{t('entries.title')}</h2>
      <ErrorBanner error={entries.error} onRetry={entries.reload} />
      {total === 0 ? <p className="muted">{t('entries.empty')}</p> : null}
      {total > 0 ? (
        <>
          {pager}
          {entries.loading && !entries.data ? <p className="muted">{tc('loading')}</p> : null}
          <div className="table-wrap" ref={table} tabIndex={-1}>
            <table>
              <thead>
                <tr>
                  <th scope="col" className="num nowrap">{t('entries.index')}</th>
                  <th scope="col">{t('entries.time')}</th>
                  <th scope="col">{t('entries.type')}</th>
                  <th scope="col">{t('entries.summary')}</th>
                  <th scope="col">{t('entries.leafHash')}</th>
                  <th scope="col">{t('entries.status')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((e) => {
                  const status = entryStatus(verification, e.index);
                  return (
                    <tr key={e.index} className={status.kind === 'flagged' ? 'flagged' : undefined} data-index={e.index}>
                      <th scope="row" className="num">
                        <Link to={`auditor/entry/${e.index}`}>{e.index}</Link>
                      </th>
                      <td className="small nowrap">
                        <time dateTime={String(e.entry.time)}>{formatLogTime(e.entry.time, locale)}</time>
                      </td>
                      <td><EventType type={e.entry.type} /></td>
                      <td><EventSummary event={e.entry} /></td>
                      <td><code className="nowrap" title={e.leafHash}>{shortHash(e.leafHash)}</code></td>
                      <td className="nowrap"><StatusBadge status={status} /></td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </section>
  );
}

export function StatusBadge(props: { status: EntryStatus }) {
  const { t } = useTranslation('auditor');
  const problemText = useProblemText();
  const s = props.status;
  if (s.kind === 'verified') return <span className="badge ok">{t('entries.verified')}</span>;
  if (s.kind === 'flagged') return <span className="badge bad" title={problemText(s.problem)}>{s.missing ? t('entries.missing') : t('entries.tampered')}</span>;
  if (s.kind === 'unconfirmed') return <span className="badge warn" title={t('entries.unconfirmedHint')}>{t('entries.unconfirmed')}</span>;
  return <span className="muted small" title={t('entries.notCheckedHint')}>{t('entries.notChecked')}</span>;
}
