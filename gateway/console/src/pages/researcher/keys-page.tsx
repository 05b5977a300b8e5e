/**
 * Keys: generate the BFV key pair and the identity key in this page, register the public
 * BFV key with the hub, save both to a file (optionally encrypted with a passphrase) and load
 * them again, checked. The secret halves stay in memory (and in the file the researcher
 * chooses to save); they are never sent or shown.
 */
import { useRef, useState, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import { generateHeKeyPair, generateIdentityKey, type HeKeyPair, type IdentityKey } from '@veilgate/sdk';
import { downloadText } from '../../components/download.ts';
import { useSession } from '../../session.tsx';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { Progress } from '../../components/progress.tsx';
import { useResearcherKeys, type LoadedKeys } from './keys-context.tsx';
import { KeyFileError, keyFileText, keysOfFile, readKeyFile, sealKeyFile, unsealKeyFile, type SealedKeyFile } from './key-file.ts';
import { LoadKeysCard, SaveKeysCard } from './key-cards.tsx';
import { CARD_HEADING, StatusRegion, formatDateTime, nextPaint, useFocusAfterRender, useLocale } from './shared.tsx';

export type KeyStep = 'he' | 'identity' | 'register' | 'reading' | 'unsealing' | 'checking' | 'sealing';

/** Keys waiting for the researcher to confirm that they replace unsaved ones. */
type Replacement = { kind: 'generate' } | { kind: 'file'; name: string; keys: HeKeyPair; identity: IdentityKey };

export function KeysPage() {
  const { t } = useTranslation('researcher');
  const locale = useLocale();
  const { client } = useSession();
  const { loaded, saved, setLoaded, markSaved } = useResearcherKeys();
  const [step, setStep] = useState<KeyStep>();
  const [error, setError] = useState<unknown>();
  const [status, setStatus] = useState<string>();
  const [confirm, setConfirm] = useState<Replacement>();
  const [locked, setLocked] = useState<{ name: string; envelope: SealedKeyFile }>();
  const statusRef = useRef<HTMLDivElement>(null);
  const generateRef = useRef<HTMLButtonElement>(null);
  const keepRef = useRef<HTMLButtonElement>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const passphraseRef = useRef<HTMLInputElement>(null);
  const saveRef = useRef<HTMLButtonElement>(null);
  const focusLater = useFocusAfterRender();
  const unsaved = loaded !== undefined && !saved;

  /** A key file problem in words; anything else (an ApiError) as it is. */
  const explain = (cause: unknown) => (cause instanceof KeyFileError ? new Error(t(`keys.problems.${cause.problem}`)) : cause);

  /** Runs one action: progress while it runs, the outcome announced, focus where it makes sense. */
  const act = async (work: () => Promise<string | undefined>, onFailure: () => HTMLElement | null) => {
    setError(undefined);
    setStatus(undefined);
    try {
      const message = await work();
      if (message) {
        setStatus(message);
        focusLater(() => statusRef.current);
      }
    } catch (cause) {
      setError(explain(cause));
      focusLater(onFailure);
    } finally {
      setStep(undefined);
    }
  };

  /** Registers the public key and makes these the page's keys. */
  const install = async (keys: HeKeyPair, identity: IdentityKey, source: LoadedKeys['source']): Promise<string> => {
    setStep('register');
    const registered = await client.registerKey(keys);
    if (registered.keyId !== keys.keyId) throw new Error(t('keys.problems.keyIdDiffers', { sent: keys.keyId, registered: registered.keyId }));
    setLoaded({ keys, identity, registered, source });
    return source.kind === 'generated' ? t('keys.generated', { keyId: keys.keyId }) : t('keys.loadedFrom', { name: source.name, keyId: keys.keyId });
  };

  const generate = () =>
    act(async () => {
      setConfirm(undefined);
      setStep('he');
      await nextPaint();
      const keys = await generateHeKeyPair();
      setStep('identity');
      const identity = await generateIdentityKey();
      return install(keys, identity, { kind: 'generated' });
    }, () => generateRef.current);

  /** Checked keys from a file: installed, or first confirmed if they would replace unsaved keys. */
  const offer = async (json: unknown, name: string): Promise<string | undefined> => {
    setStep('checking');
    await nextPaint();
    const { keys, identity } = await keysOfFile(json);
    if (unsaved) {
      setConfirm({ kind: 'file', name, keys, identity });
      focusLater(() => keepRef.current);
      return undefined;
    }
    return install(keys, identity, { kind: 'file', name });
  };

  const openFile = (file: File) =>
    act(async () => {
      setConfirm(undefined);
      setLocked(undefined);
      setStep('reading');
      const read = readKeyFile(await file.text());
      if (read.kind === 'sealed') {
        setLocked({ name: file.name, envelope: read.envelope });
        focusLater(() => passphraseRef.current);
        return undefined;
      }
      return offer(read.json, file.name);
    }, () => fileRef.current);

  const unlock = (passphrase: string) =>
    act(async () => {
      if (!locked) return undefined;
      setStep('unsealing');
      await nextPaint();
      const json = await unsealKeyFile(locked.envelope, passphrase);
      setLocked(undefined);
      return offer(json, locked.name);
    }, () => passphraseRef.current ?? fileRef.current);

  const save = (passphrase: string) =>
    act(async () => {
      if (!loaded) return undefined;
      let text = keyFileText(loaded.keys, loaded.identity);
      if (passphrase) {
        setStep('sealing');
        await nextPaint();
        text = await sealKeyFile(text, passphrase);
      }
      downloadText(`veilgate-keys-${loaded.keys.keyId.slice(0, 12)}${passphrase ? '-encrypted' : ''}.json`, text, 'application/json');
      // The page cannot see whether the browser wrote the file: it says what it knows.
      markSaved();
      return t(passphrase ? 'keys.downloadStartedEncrypted' : 'keys.downloadStarted');
    }, () => saveRef.current);

  const askGenerate = () => {
    if (!unsaved) return void generate();
    setConfirm({ kind: 'generate' });
    focusLater(() => keepRef.current);
  };

  const replace = () => {
    const pending = confirm;
    setConfirm(undefined);
    if (pending?.kind === 'generate') void generate();
    else if (pending?.kind === 'file') void act(() => install(pending.keys, pending.identity, { kind: 'file', name: pending.name }), () => fileRef.current);
  };

  const keep = () => {
    const pending = confirm;
    setConfirm(undefined);
    // Keys read from a file and not used: do not leave their secret key in the heap.
    if (pending?.kind === 'file') pending.keys.secretKey.fill(0);
    focusLater(() => (pending?.kind === 'file' ? fileRef.current : generateRef.current));
  };

  const forget = () => {
    setLoaded(undefined);
    setConfirm(undefined);
    setError(undefined);
    setStatus(t('keys.forgotten'));
    // The Forget button goes away with the keys: focus the message that says so.
    focusLater(() => statusRef.current);
  };

  const busy = step !== undefined;
  return (
    <section>
      <h1 tabIndex={-1}>{t('keys.title')}</h1>
      <p className="muted">{t('keys.intro')}</p>
      <StatusRegion ref={statusRef} message={status} />

      <div className="card">
        <h2 style={CARD_HEADING}>{t('keys.current')}</h2>
        {loaded ? (
          <>
            <dl className="facts">
              <dt>{t('keys.keyId')}</dt>
              <dd><code>{loaded.keys.keyId}</code></dd>
              <dt>{t('keys.jkt')}</dt>
              <dd><code>{loaded.identity.jkt}</code></dd>
              <dt>{t('keys.scheme')}</dt>
              <dd>{t('keys.schemeValue', { n: loaded.registered.params.polyModulusDegree })}</dd>
              <dt>{t('keys.registeredAt')}</dt>
              <dd>{formatDateTime(loaded.registered.createdAt, locale)}</dd>
              <dt>{t('keys.source')}</dt>
              <dd>{loaded.source.kind === 'file' ? t('keys.sourceFile', { name: loaded.source.name }) : t('keys.sourceGenerated')}</dd>
            </dl>
            {unsaved ? <p className="warning">{t('keys.unsaved')}</p> : <p className="hint">{t('keys.memoryOnly')}</p>}
          </>
        ) : (
          <p className="muted">{t('keys.none')}</p>
        )}
        {step ? <Progress label={t(`keys.steps.${step}`)} /> : null}
        <ErrorBanner error={error} />
        <div className="row">
          <button ref={generateRef} type="button" onClick={askGenerate} disabled={busy} aria-describedby={loaded ? 'generate-hint' : undefined}>
            {t('keys.generate')}
          </button>
          {loaded ? (
            <button type="button" className="secondary" onClick={forget} disabled={busy}>
              {t('keys.forget')}
            </button>
          ) : null}
        </div>
        {loaded ? <p id="generate-hint" className="hint">{t('keys.replaceHint')}</p> : null}
        {confirm ? <ConfirmReplace replacement={confirm} keepRef={keepRef} onReplace={replace} onKeep={keep} /> : null}
      </div>

      <div className="grid2">
        <SaveKeysCard canSave={loaded !== undefined} busy={busy} buttonRef={saveRef} onSave={(p) => void save(p)} />
        <LoadKeysCard
          busy={busy}
          fileRef={fileRef}
          passphraseRef={passphraseRef}
          locked={locked?.name}
          onFile={(file) => void openFile(file)}
          onUnlock={(p) => void unlock(p)}
          onCancel={() => {
            setLocked(undefined);
            setError(undefined);
            focusLater(() => fileRef.current);
          }}
        />
      </div>
    </section>
  );
}

/** Asks before new keys replace keys that exist nowhere else. */
function ConfirmReplace(props: { replacement: Replacement; keepRef: RefObject<HTMLButtonElement | null>; onReplace: () => void; onKeep: () => void }) {
  const { t } = useTranslation('researcher');
  const r = props.replacement;
  return (
    <div className="warning" role="group" aria-labelledby="replace-question">
      <p id="replace-question">{r.kind === 'generate' ? t('keys.confirm.generate') : t('keys.confirm.file', { name: r.name })}</p>
      <div className="row">
        <button type="button" className="danger" onClick={props.onReplace}>
          {t('keys.confirm.replace')}
        </button>
        <button ref={props.keepRef} type="button" className="secondary" onClick={props.onKeep}>
          {t('keys.confirm.keep')}
        </button>
      </div>
    </div>
  );
}
