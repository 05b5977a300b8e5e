/**
 * Patient consent: the operator imports a consent CSV for one of the institution's datasets.
 * The hub checks it and relays the records to the node, which keeps the registry; the
 * audit log gets a hash of the file, never its rows. Patient identifiers from the file are
 * never shown here — only the file's name and size, and the counts the API returns.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { components } from '@veilgate/sdk';
import { useSession } from '../../session.tsx';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { Progress } from '../../components/progress.tsx';
import { InstitutionLine, useInstitution } from './institution.tsx';
import { formatNumber, useLocale } from './shared.tsx';

type ImportResult = components['schemas']['ConsentImportResult'];

const EXAMPLE = `subject,purpose,status,recorded_at
P-000123,DUO:0000006,withdrawn,2026-03-01T09:30:00Z
P-000456,*,withdrawn,2026-03-02
P-000123,DUO:0000006,granted,2026-04-15T14:00:00Z`;

export function ConsentPage() {
  const { t } = useTranslation('operator');
  const locale = useLocale();
  const { client } = useSession();
  const { catalog, datasets } = useInstitution();
  const [dataset, setDataset] = useState('');
  const [file, setFile] = useState<File>();
  const [pasted, setPasted] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<ImportResult>();
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (!dataset && datasets.length > 0) setDataset((datasets.find((d) => d.queryable) ?? datasets[0])!.id);
  }, [dataset, datasets]);

  const clearFile = () => {
    setFile(undefined);
    if (fileInput.current) fileInput.current.value = '';
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setResult(undefined);
    const csv = file ? await file.text() : pasted;
    if (!csv.trim()) {
      setError({ message: t('consent.nothing'), field: 'body' });
      return;
    }
    setBusy(true);
    try {
      setResult(await client.importConsent(dataset, csv));
      // Nothing of the file stays in the page.
      clearFile();
      setPasted('');
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1 tabIndex={-1}>{t('consent.title')}</h1>
      <InstitutionLine />
      <p className="muted">{t('consent.intro')}</p>

      <div className="grid2">
        <section className="card" aria-labelledby="consent-format" style={{ margin: 0 }}>
          <h2 id="consent-format" style={{ marginTop: 0 }}>{t('consent.formatTitle')}</h2>
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
                    <th scope="row" style={{ whiteSpace: 'nowrap' }}><code style={{ wordBreak: 'normal' }}>{c}</code></th>
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

        <section className="card" aria-labelledby="consent-import" style={{ margin: 0 }}>
          <h2 id="consent-import" style={{ marginTop: 0 }}>{t('consent.importTitle')}</h2>
          <ErrorBanner error={catalog.error} onRetry={catalog.reload} />
          {catalog.data && datasets.length === 0 ? <p className="warning">{t('consent.noDatasets')}</p> : null}
          <form onSubmit={(e) => void submit(e)}>
            <label htmlFor="consent-dataset">{t('consent.dataset')}</label>
            <select id="consent-dataset" style={{ width: '100%', minWidth: 0 }} required value={dataset} onChange={(e) => setDataset(e.target.value)}>
              {datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.id} — {d.title}
                </option>
              ))}
            </select>

            <label htmlFor="consent-file">{t('consent.file')}</label>
            <input id="consent-file" ref={fileInput} type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.target.files?.[0])} aria-describedby="consent-file-hint" />
            <p id="consent-file-hint" className="hint">
              {file ? t('consent.fileChosen', { name: file.name, size: formatNumber(file.size, locale) }) : t('consent.fileHint')}
            </p>
            {file ? (
              <button type="button" className="secondary" onClick={clearFile}>
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
              style={{ fontFamily: 'ui-monospace, monospace', minHeight: 140 }}
            />
            <p id="consent-paste-hint" className="hint">{file ? t('consent.pasteDisabled') : t('consent.pasteHint')}</p>

            <button type="submit" disabled={busy || !dataset || (!file && !pasted.trim())}>
              {t('consent.import')}
            </button>
          </form>
          {busy ? <Progress label={t('consent.importing')} /> : null}
          <ErrorBanner error={error} />
          {result ? (
            <div role="status" className="success">
              <p style={{ margin: 0 }}>
                <strong>{t('consent.imported', { count: result.imported, value: formatNumber(result.imported, locale), dataset: result.dataset })}</strong>
              </p>
              <dl className="facts">
                <dt>{t('consent.importedLabel')}</dt>
                <dd>{formatNumber(result.imported, locale)}</dd>
                <dt>{t('consent.withdrawnSubjects')}</dt>
                <dd>{formatNumber(result.withdrawnSubjects, locale)}</dd>
              </dl>
            </div>
          ) : null}
          <p className="hint">{t('consent.privacyNote')}</p>
        </section>
      </div>
    </section>
  );
}
