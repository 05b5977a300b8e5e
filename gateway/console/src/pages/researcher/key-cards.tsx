/**
 * The Keys page's two file cards: save the keys (with an optional passphrase that encrypts
 * the file) and load them again (asking for the passphrase when the file is encrypted). The
 * page does the work; these only collect what it needs.
 */
import { useRef, useState, type ChangeEvent, type FormEvent, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { CARD_HEADING } from './shared.tsx';

/** Shorter passphrases are refused: the encrypted file can be attacked offline. */
const MIN_PASSPHRASE = 12;

export function SaveKeysCard(props: { canSave: boolean; busy: boolean; buttonRef: RefObject<HTMLButtonElement | null>; onSave: (passphrase: string) => void }) {
  const { t } = useTranslation('researcher');
  const [passphrase, setPassphrase] = useState('');
  const [repeat, setRepeat] = useState('');
  const [problem, setProblem] = useState<'passphraseShort' | 'passphraseMismatch'>();
  const passphraseRef = useRef<HTMLInputElement>(null);
  const repeatRef = useRef<HTMLInputElement>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = passphrase !== '' && passphrase.length < MIN_PASSPHRASE ? 'passphraseShort' : passphrase !== repeat ? 'passphraseMismatch' : undefined;
    setProblem(found);
    if (found) {
      (found === 'passphraseShort' ? passphraseRef : repeatRef).current?.focus();
      return;
    }
    props.onSave(passphrase);
    setPassphrase('');
    setRepeat('');
  };

  return (
    <form className="card" onSubmit={submit}>
      <h2 style={CARD_HEADING}>{t('keys.saveTitle')}</h2>
      <p className="warning">{t('keys.secretWarning')}</p>
      <label htmlFor="save-passphrase">{t('keys.passphrase')}</label>
      <input
        id="save-passphrase" ref={passphraseRef} type="password" autoComplete="new-password" value={passphrase} disabled={!props.canSave}
        onChange={(e) => setPassphrase(e.target.value)} aria-describedby="save-passphrase-hint" aria-invalid={problem === 'passphraseShort' || undefined}
      />
      <p id="save-passphrase-hint" className="hint">{t('keys.passphraseHint', { min: MIN_PASSPHRASE })}</p>
      <label htmlFor="save-passphrase-repeat">{t('keys.passphraseRepeat')}</label>
      <input
        id="save-passphrase-repeat" ref={repeatRef} type="password" autoComplete="new-password" value={repeat} disabled={!props.canSave}
        onChange={(e) => setRepeat(e.target.value)} aria-invalid={problem === 'passphraseMismatch' || undefined}
      />
      <ErrorBanner error={problem ? new Error(t(`keys.problems.${problem}`, { min: MIN_PASSPHRASE })) : undefined} />
      <div>
        <button ref={props.buttonRef} type="submit" className="secondary" disabled={!props.canSave || props.busy}>
          {t('keys.save')}
        </button>
      </div>
    </form>
  );
}

export function LoadKeysCard(props: {
  busy: boolean;
  fileRef: RefObject<HTMLInputElement | null>;
  passphraseRef: RefObject<HTMLInputElement | null>;
  /** The name of an encrypted file waiting for its passphrase. */
  locked: string | undefined;
  onFile: (file: File) => void;
  onUnlock: (passphrase: string) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation('researcher');
  const { t: tc } = useTranslation();
  const [passphrase, setPassphrase] = useState('');

  const choose = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    // Cleared at once, so that choosing the same file again is a change too.
    event.target.value = '';
    if (file) props.onFile(file);
  };

  const unlock = (event: FormEvent) => {
    event.preventDefault();
    props.onUnlock(passphrase);
    setPassphrase('');
  };

  return (
    <div className="card">
      <h2 style={CARD_HEADING}>{t('keys.loadTitle')}</h2>
      <label htmlFor="load-keys">{t('keys.load')}</label>
      <input id="load-keys" ref={props.fileRef} type="file" accept="application/json,.json" disabled={props.busy} onChange={choose} aria-describedby="load-keys-hint" />
      <p id="load-keys-hint" className="hint">{t('keys.loadHint')}</p>
      {props.locked !== undefined ? (
        <form onSubmit={unlock} aria-labelledby="unlock-title">
          <p id="unlock-title">{t('keys.lockedFile', { name: props.locked })}</p>
          <label htmlFor="unlock-passphrase">{t('keys.unlockPassphrase')}</label>
          <input id="unlock-passphrase" ref={props.passphraseRef} type="password" autoComplete="current-password" required value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
          <div className="row">
            <button type="submit" disabled={props.busy}>{t('keys.unlock')}</button>
            <button type="button" className="secondary" onClick={props.onCancel} disabled={props.busy}>{tc('cancel')}</button>
          </div>
        </form>
      ) : null}
    </div>
  );
}
