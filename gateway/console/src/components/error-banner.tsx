/**
 * Shows an error: what its stable code means in the reader's language, then the message it
 * came with (servers and the SDK write English, naming the field), the code and the field.
 * `role="alert"` so screen readers announce it.
 */
import { useTranslation } from 'react-i18next';
import errors from '../i18n/errors.ts';

interface Coded {
  code?: unknown;
  field?: unknown;
  message?: unknown;
}

export function ErrorBanner(props: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  const { t: te } = useTranslation('errors');
  if (props.error === undefined || props.error === null) return null;
  const e = props.error as Coded;
  const message = typeof e.message === 'string' ? e.message : String(props.error);
  const code = typeof e.code === 'string' ? e.code : undefined;
  const explained = code !== undefined && Object.hasOwn(errors.en, code) ? te(code as keyof typeof errors.en) : undefined;
  return (
    <div className="error" role="alert">
      <strong>{t('error')}:</strong> {explained ? <>{explained} </> : null}
      <span lang="en">{message}</span>
      {code ? <span className="code"> · {t('errorCode', { code })}</span> : null}
      {typeof e.field === 'string' ? <span className="code"> · {t('errorField', { field: e.field })}</span> : null}
      {props.onRetry ? (
        <button type="button" className="link" onClick={props.onRetry}>
          {t('retry')}
        </button>
      ) : null}
    </div>
  );
}
