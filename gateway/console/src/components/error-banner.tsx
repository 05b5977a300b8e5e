/**
 * Shows an error with its stable code and the field it names (ApiError, VeilgateError,
 * LogVerificationError); `role="alert"` so screen readers announce it.
 */
import { useTranslation } from 'react-i18next';

interface Coded {
  code?: unknown;
  field?: unknown;
  message?: unknown;
}

export function ErrorBanner(props: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  if (props.error === undefined || props.error === null) return null;
  const e = props.error as Coded;
  const message = typeof e.message === 'string' ? e.message : String(props.error);
  return (
    <div className="error" role="alert">
      <strong>{t('error')}:</strong> {message}
      {typeof e.code === 'string' ? <span className="code"> · {t('errorCode', { code: e.code })}</span> : null}
      {typeof e.field === 'string' ? <span className="code"> · {t('errorField', { field: e.field })}</span> : null}
      {props.onRetry ? (
        <button type="button" className="link" onClick={props.onRetry}>
          {t('retry')}
        </button>
      ) : null}
    </div>
  );
}
