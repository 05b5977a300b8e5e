/**
 * Keys: generate the BFV key pair and the identity key in this page, register the public
 * BFV key with the hub, save both to a file and load them again. The secret halves stay in
 * memory (and in the file the researcher chooses to save); they are never sent or shown.
 */
import { downloadText } from '../../components/download.ts';
import { useRef, useState, type ChangeEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { exportIdentity, exportKeyPair, generateHeKeyPair, generateIdentityKey, importIdentity, importKeyPair } from '@veilgate/sdk';
import { useSession } from '../../session.tsx';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { Progress } from '../../components/progress.tsx';
import { useResearcherKeys, type LoadedKeys } from './keys-context.tsx';
import { CARD_HEADING, formatDateTime, nextPaint, useLocale } from './shared.tsx';

type Step = 'he' | 'identity' | 'register' | 'reading';

/** The key file: `{ heKeyPair: exportKeyPair(…) parsed, identity: exportIdentity(…) parsed }`. */
function keyFileText(loaded: LoadedKeys): string {
  return JSON.stringify({ heKeyPair: JSON.parse(exportKeyPair(loaded.keys)), identity: JSON.parse(exportIdentity(loaded.identity)) }, null, 2);
}

export function KeysPage() {
  const { t } = useTranslation('researcher');
  const locale = useLocale();
  const { client } = useSession();
  const { loaded, setLoaded } = useResearcherKeys();
  const [step, setStep] = useState<Step>();
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);

  const generate = async () => {
    setError(undefined);
    setSaved(false);
    try {
      setStep('he');
      await nextPaint();
      const keys = await generateHeKeyPair();
      setStep('identity');
      const identity = await generateIdentityKey();
      setStep('register');
      const registered = await client.registerKey(keys);
      setLoaded({ keys, identity, registered, source: { kind: 'generated' } });
    } catch (cause) {
      setError(cause);
    } finally {
      setStep(undefined);
    }
  };

  const load = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (!file) return;
    setError(undefined);
    setSaved(false);
    try {
      setStep('reading');
      let parsed: unknown;
      try {
        parsed = JSON.parse(await file.text());
      } catch {
        throw new Error(t('keys.notJson'));
      }
      const { heKeyPair, identity: identityFile } = (parsed ?? {}) as { heKeyPair?: unknown; identity?: unknown };
      if (typeof heKeyPair !== 'object' || heKeyPair === null || typeof identityFile !== 'object' || identityFile === null) throw new Error(t('keys.notKeyFile'));
      const keys = importKeyPair(JSON.stringify(heKeyPair));
      const identity = await importIdentity(JSON.stringify(identityFile));
      setStep('register');
      const registered = await client.registerKey(keys);
      setLoaded({ keys, identity, registered, source: { kind: 'file', name: file.name } });
    } catch (cause) {
      setError(cause);
    } finally {
      setStep(undefined);
      if (fileInput.current) fileInput.current.value = '';
    }
  };

  const save = () => {
    if (!loaded) return;
    downloadText(`veilgate-keys-${loaded.keys.keyId.slice(0, 12)}.json`, keyFileText(loaded), 'application/json');
    setSaved(true);
  };

  const forget = () => {
    setLoaded(undefined);
    setSaved(false);
    setError(undefined);
  };

  const busy = step !== undefined;
  return (
    <section>
      <h1 tabIndex={-1}>{t('keys.title')}</h1>
      <p className="muted">{t('keys.intro')}</p>

      <div className="card">
        <h2 style={CARD_HEADING}>{t('keys.current')}</h2>
        {loaded ? (
          <>
            <p role="status" className="success">
              {loaded.source.kind === 'generated' ? t('keys.generated', { keyId: loaded.keys.keyId }) : t('keys.loadedFrom', { name: loaded.source.name, keyId: loaded.keys.keyId })}
            </p>
            <dl className="facts">
              <dt>{t('keys.keyId')}</dt>
              <dd><code>{loaded.keys.keyId}</code></dd>
              <dt>{t('keys.jkt')}</dt>
              <dd><code>{loaded.identity.jkt}</code></dd>
              <dt>{t('keys.scheme')}</dt>
              <dd>{t('keys.schemeValue', { n: loaded.registered.params.polyModulusDegree })}</dd>
              <dt>{t('keys.registeredAt')}</dt>
              <dd>{formatDateTime(loaded.registered.createdAt, locale)}</dd>
            </dl>
            <p className="hint">{t('keys.memoryOnly')}</p>
          </>
        ) : (
          <p className="muted">{t('keys.none')}</p>
        )}
        {step ? <Progress label={t(`keys.steps.${step}`)} /> : null}
        <ErrorBanner error={error} />
        <div className="row">
          <button type="button" onClick={() => void generate()} disabled={busy} aria-describedby={loaded ? 'generate-hint' : undefined}>
            {t('keys.generate')}
          </button>
          {loaded ? (
            <button type="button" className="secondary" onClick={forget} disabled={busy}>
              {t('keys.forget')}
            </button>
          ) : null}
        </div>
        {loaded ? <p id="generate-hint" className="hint">{t('keys.replaceHint')}</p> : null}
      </div>

      <div className="grid2">
        <div className="card">
          <h2 style={CARD_HEADING}>{t('keys.saveTitle')}</h2>
          <p className="warning">{t('keys.secretWarning')}</p>
          <button type="button" className="secondary" onClick={save} disabled={!loaded || busy}>
            {t('keys.save')}
          </button>
          {saved ? <p className="hint">{t('keys.savedHint')}</p> : null}
        </div>
        <div className="card">
          <h2 style={CARD_HEADING}>{t('keys.loadTitle')}</h2>
          <label htmlFor="load-keys">{t('keys.load')}</label>
          <input id="load-keys" ref={fileInput} type="file" accept="application/json,.json" disabled={busy} onChange={(e) => void load(e)} aria-describedby="load-keys-hint" />
          <p id="load-keys-hint" className="hint">{t('keys.loadHint')}</p>
        </div>
      </div>
    </section>
  );
}
