/**
 * Patient consent: the operator imports a consent CSV for one of the institution's datasets.
 * The hub checks it and relays the records to the node, which keeps the registry; the
 * audit log gets a hash of the file, never its rows. Patient identifiers from the file are
 * never shown here — only the file's name and size, and the counts the API returns (an
 * error message that quotes a CSV value has the value cut out).
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { components } from '@veilgate/sdk';
import { useSession } from '../../session.tsx';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { Progress } from '../../components/progress.tsx';
import { InstitutionLine, useInstitution } from './institution.tsx';
import { formatNumber, NO_MARGIN, NO_TOP_MARGIN, useLocale } from './shared.tsx';
import { LiveStatus, useLiveStatus } from './live-status.tsx';
import { useLocalized } from '../../components/localized.ts';

type ImportResult = components['schemas']['ConsentImportResult'];

const EXAMPLE = `subject,purpose,status,recorded_at
P-000123,DUO:0000006,withdrawn,2026-03-01T09:30:00Z
P-000456,*,withdrawn,2026-03-02
P-000123,DUO:0000006,granted,2026-04-15T14:00:00Z`;

/**
 * The error to show for a failed import, without any CSV value it quotes: a parser message
 * such as `… at line 3, value is "P-000123"` would otherwise put a patient identifier in the page.
 */
function withoutCsvValues(cause: unknown): unknown {
  if (typeof cause !== 'object' || cause === null) return cause;
  const e = cause as { message?: unknown; code?: unknown; field?: unknown };
  if (typeof e.message !== 'string' || !/value is/i.test(e.message)) return cause;
  return { message: e.message.replace(/,?\s*value is[\s\S]*$/i, ')'), code: e.code, field: e.field };
}

export function ConsentPage() {
  const { t } = useTranslation('operator');
  const locale = useLocale();
  const localized = useLocalized();
  const { client } = useSession();
  const { catalog, datasets } = useInstitution();
  const [dataset, setDataset] = useState('');
  const [file, setFile] = useState<File>();
  const [pasted, setPasted] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<ImportResult>();
  const fileInput = useRef<HTMLInputElement>(null);
  const importing = useRef(false);
  const status = useLiveStatus();

  useEffect(() => {
    if (!dataset && datasets.length > 0) setDataset((datasets.find((d) => d.queryable) ?? datasets[0])!.id);
  }, [dataset, datasets]);

  const clearFile = () => {
    setFile(undefined);
    if (fileInput.current) fileInput.current.value = '';
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    // One import at a time (the button stays focusable while it runs, so it is not disabled).
    if (importing.current) return;
    setError(undefined);
    setResult(undefined);
    status.clear();
    importing.current = true;
    setBusy(true);
    try {
      const csv = file ? await file.text() : pasted;
      if (!csv.trim()) {
        setError({ message: t('consent.nothing'), field: 'body' });
        return;
      }
      const imported = await client.importConsent(dataset, csv);
      setResult(imported);
      // Nothing of the file stays in the page; the emptied form disables the button, so
      // focus moves to the message.
      clearFile();
      setPasted('');
      status.show((lang) => t('consent.imported', { count: imported.imported, value: formatNumber(imported.imported, lang), dataset: imported.dataset }), 'success', true);
    } catch (cause) {
      setError(withoutCsvValues(cause));
    } finally {
      importing.current = false;
      setBusy(false);
    }
  };

  return (
    <section>
      <h1 tabIndex={-1}>{t('consent.title')}</h1>
      <InstitutionLine />
      <p className="muted">{t('consent.intro')}</p>

      <div className="grid2">
        <section className="card" aria-labelledby="consent-format" style={NO_MARGIN}>
          <h2 id="consent-format" style={NO_TOP_MARGIN}>{t('consent.formatTitle')}</h2>
          <p>{t('consent.formatIntro')}</p>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('consent.column')}</th>
                  <th scope="col">{t('consent.meaning')}</th>
                </tr>
              </thead>
              <tbody>
                {(['subject', 'purpose', 'status', 'recorded_at'] as const).map((c) => (
                  <tr key={c}>
                    <th scope="row" className="nowrap"><code>{c}</code></th>
                    <td className="small">{t(`consent.columns.${c}`)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h3>{t('consent.example')}</h3>
          <pre>{EXAMPLE}</pre>
          <ul className="small">
            <li>{t('consent.ruleLatest')}</li>
            <li>{t('consent.ruleExcluded')}</li>
            <li>{t('consent.ruleLogged')}</li>
          </ul>
        </section>

        <section className="card" aria-labelledby="consent-import" style={NO_MARGIN}>
          <h2 id="consent-import" style={NO_TOP_MARGIN}>{t('consent.importTitle')}</h2>
          <ErrorBanner error={catalog.error} onRetry={catalog.reload} />
          {catalog.data && datasets.length === 0 ? <p className="warning">{t('consent.noDatasets')}</p> : null}
          <form onSubmit={(e) => void submit(e)}>
            <label htmlFor="consent-dataset">{t('consent.dataset')}</label>
            <select id="consent-dataset" style={{ width: '100%', minWidth: 0 }} required value={dataset} onChange={(e) => setDataset(e.target.value)}>
              {datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.id} — {localized(d).title}
                </option>
              ))}
            </select>

            <label htmlFor="consent-file">{t('consent.file')}</label>
            <input id="consent-file" ref={fileInput} type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.target.files?.[0])} aria-describedby="consent-file-hint" />
            <p id="consent-file-hint" className="hint">
              {file ? t('consent.fileChosen', { name: file.name, size: formatNumber(file.size, locale) }) : t('consent.fileHint')}
            </p>
            {file ? (
              <button
                type="button"
                className="secondary"
                onClick={() => {
                  // This button goes with the file: focus moves to the file input.
                  clearFile();
                  fileInput.current?.focus();
                }}
              >
                {t('consent.removeFile')}
              </button>
            ) : null}

            <label htmlFor="consent-paste">{t('consent.paste')}</label>
            <textarea
              id="consent-paste"
              value={pasted}
              disabled={file !== undefined}
              onChange={(e) => setPasted(e.target.value)}
              placeholder="subject,purpose,status,recorded_at"
              spellCheck={false}
              aria-describedby="consent-paste-hint"
              className="mono"
            />
            <p id="consent-paste-hint" className="hint">{file ? t('consent.pasteDisabled') : t('consent.pasteHint')}</p>

            <button type="submit" aria-disabled={busy || undefined} disabled={!dataset || (!file && !pasted.trim())}>
              {t('consent.import')}
            </button>
          </form>
          {busy ? <Progress label={t('consent.importing')} /> : null}
          <ErrorBanner error={error} />
          <LiveStatus status={status} />
          {result ? (
            <dl className="facts">
              <dt>{t('consent.importedLabel')}</dt>
              <dd>{formatNumber(result.imported, locale)}</dd>
              <dt>{t('consent.withdrawnSubjects')}</dt>
              <dd>{formatNumber(result.withdrawnSubjects, locale)}</dd>
            </dl>
          ) : null}
          <p className="hint">{t('consent.privacyNote')}</p>
        </section>
      </div>
    </section>
  );
}
