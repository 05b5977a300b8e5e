/**
 * The operator's signing key (protocol.md §9): every approval and denial is signed in this
 * page, with WebCrypto (jose), by the operator's own Ed25519 key — the node their institution
 * runs accepts only decisions signed by the keys it enrolled, so the hub cannot make one up.
 *
 * The operator loads their key file once per session. It is imported as a NON-extractable
 * CryptoKey and held in this module's memory only: never in storage, never in the DOM (the file
 * input is cleared once read). Signing out (another account) or reloading forgets it.
 */
import { useState, useSyncExternalStore, type ChangeEvent, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import { importOperatorKey, type OperatorKey } from '@veilgate/sdk';

interface Held {
  account: string;
  key: OperatorKey;
}

let held: Held | undefined;
const listeners = new Set<() => void>();
const subscribe = (listener: () => void) => {
  listeners.add(listener);
  return () => listeners.delete(listener);
};
function hold(next: Held | undefined): void {
  held = next;
  for (const l of listeners) l();
}

/** The key loaded for `account` in this page, if any (a key held for another account is not theirs). */
export function useSigningKey(account: string): OperatorKey | undefined {
  const current = useSyncExternalStore(subscribe, () => held);
  return current?.account === account ? current.key : undefined;
}

/** The id of the key file input: the pages move focus there when a decision needs the key. */
export const KEY_FILE_INPUT_ID = 'operator-key-file';

/**
 * The card where the operator loads (or forgets) their key file.
 *
 * @example
 * <SigningKeyCard account={account.id} inputRef={keyInput} onStatus={(text) => status.show(text)} />
 */
export function SigningKeyCard(props: { account: string; inputRef: RefObject<HTMLInputElement | null>; onStatus: (text: () => string) => void }) {
  const { t } = useTranslation('operator');
  const key = useSigningKey(props.account);
  const [problem, setProblem] = useState<'invalid' | 'otherAccount'>();

  const choose = async (event: ChangeEvent<HTMLInputElement>) => {
    const input = event.currentTarget;
    const file = input.files?.[0];
    if (!file) return;
    setProblem(undefined);
    try {
      const loaded = await importOperatorKey(await file.text());
      if (loaded.account !== undefined && loaded.account !== props.account) {
        setProblem('otherAccount');
        return;
      }
      hold({ account: props.account, key: loaded });
      props.onStatus(() => t('key.loadedStatus'));
    } catch {
      setProblem('invalid');
    } finally {
      // Drop the page's reference to the file: only the non-extractable key remains.
      input.value = '';
    }
  };

  return (
    <section className="card" aria-labelledby="signing-key-title">
      <h2 id="signing-key-title" style={{ marginTop: 0 }}>{t('key.title')}</h2>
      <p className="muted">{t('key.intro')}</p>
      {key ? (
        <div className="row" style={{ alignItems: 'center' }}>
          <span>{t('key.loaded', { kid: key.kid.slice(0, 12) })}</span>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              hold(undefined);
              props.onStatus(() => t('key.forgotten'));
              // Once the file input is shown again.
              setTimeout(() => props.inputRef.current?.focus());
            }}
          >
            {t('key.forget')}
          </button>
        </div>
      ) : null}
      <div hidden={key !== undefined}>
        <label htmlFor={KEY_FILE_INPUT_ID}>{t('key.file')}</label>
        <input
          id={KEY_FILE_INPUT_ID}
          ref={props.inputRef}
          type="file"
          accept="application/json,.json"
          onChange={(e) => void choose(e)}
          aria-describedby="operator-key-file-hint"
          aria-invalid={problem !== undefined}
        />
        <p id="operator-key-file-hint" className="hint">{t('key.fileHint')}</p>
      </div>
      {problem ? <div className="error" role="alert">{t(`key.problems.${problem}`)}</div> : null}
    </section>
  );
}
