/**
 * Shows an error: for the SDK's and servers' errors (written in English, naming the field),
 * first what the stable code means in the reader's language; then the message, the code and
 * the field. Errors the console wrote itself are already in the reader's language.
 * `role="alert"` so screen readers announce it.
 */
import { useTranslation } from 'react-i18next';
import { ConsentError, LogVerificationError, VeilgateError } from '@veilgate/sdk';
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
  const english = props.error instanceof VeilgateError || props.error instanceof ConsentError || props.error instanceof LogVerificationError;
  const explained = english && code !== undefined && Object.hasOwn(errors.en, code) ? te(code as keyof typeof errors.en) : undefined;
  return (
    <div className="error" role="alert">
      <strong>{t('error')}:</strong> {explained ? <>{explained} </> : null}
      {english ? <span lang="en">{message}</span> : <span>{message}</span>}
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
