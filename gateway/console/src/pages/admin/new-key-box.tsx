/**
 * A new account's API key, shown once: a read-only field (selectable, never a text node),
 * Copy, and "I have saved it", after which the parent drops the key from its state. The
 * key is never logged, stored or put in a URL.
 */
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';

export function NewKeyBox(props: { name: string; apiKey: string; onDismiss: () => void }) {
  const { t } = useTranslation('admin');
  const heading = useRef<HTMLHeadingElement>(null);
  const [copy, setCopy] = useState<'copied' | 'failed'>();
  // Announce the box: move focus to its heading when it appears.
  useEffect(() => heading.current?.focus(), []);

  const copyKey = async () => {
    try {
      await navigator.clipboard.writeText(props.apiKey);
      setCopy('copied');
    } catch {
      setCopy('failed');
    }
  };

  return (
    <section className="card" aria-labelledby="new-key-title" style={{ borderColor: 'var(--warn)', borderWidth: 2 }}>
      <h2 id="new-key-title" tabIndex={-1} ref={heading} style={{ marginTop: 0 }}>
        {t('newKey.title', { name: props.name })}
      </h2>
      <p className="warning" id="new-key-warning">
        <strong>{t('newKey.warning', { name: props.name })}</strong>
      </p>
      <label htmlFor="new-key">{t('newKey.label')}</label>
      <input
        id="new-key"
        type="text"
        readOnly
        value={props.apiKey}
        autoComplete="off"
        spellCheck={false}
        className="mono"
        style={{ width: '100%' }}
        aria-describedby="new-key-warning"
        onFocus={(e) => e.currentTarget.select()}
      />
      <div>
        <button type="button" onClick={() => void copyKey()}>
          {t('newKey.copy')}
        </button>
        <button type="button" className="secondary" onClick={props.onDismiss}>
          {t('newKey.dismiss')}
        </button>
      </div>
      {copy ? (
        <p role="status" className={copy === 'copied' ? 'success' : 'warning'}>
          {copy === 'copied' ? t('newKey.copied') : t('newKey.copyFailed')}
        </p>
      ) : null}
    </section>
  );
}
