/**
 * Shared bits of the operator pages: this institution's part of a request, date and number
 * formatting in the console's language, the purpose label, the reason form (deny, revoke)
 * and a text download.
 */
import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { components } from '@veilgate/sdk';

type S = components['schemas'];
export type AccessRequest = S['AccessRequest'];
export type Decision = S['Decision'];
export type DatasetSummary = S['DatasetSummary'];

/** This institution's decision on a request (each institution decides on its own datasets). */
export function decisionOf(request: AccessRequest, node: string | undefined): Decision | undefined {
  return node ? request.decisions.find((d) => d.node === node) : undefined;
}

export { formatDateTime, formatNumber, useLocale } from '../../components/format.ts';

/** Keeps line breaks a person typed (a justification, a reason). */
export const PRE_WRAP = { whiteSpace: 'pre-wrap' } as const;
/** No margin: a card in a `grid2` (the grid's gap spaces it), a heading in a row. */
export const NO_MARGIN = { margin: 0 } as const;
/** The first heading of a card starts at the card's padding. */
export const NO_TOP_MARGIN = { marginTop: 0 } as const;
export { PurposeText } from '../../components/purpose.tsx';

/** Today (UTC, as the hub's usage days are) and `days` earlier, as YYYY-MM-DD. */
export function utcDay(offsetDays = 0): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

/** A classification badge for a dataset id, when the catalog knows it. */
export function DatasetName(props: { id: string; dataset: DatasetSummary | undefined }) {
  const { t } = useTranslation('operator');
  const d = props.dataset;
  return (
    <span>
      <code>{props.id}</code>
      {d ? (
        <>
          {' '}
          <span className={`badge ${d.classification}`}>{t(`classes.${d.classification}`)}</span>
        </>
      ) : null}
    </span>
  );
}

/**
 * An inline form asking for a reason (the hub requires one to deny or revoke): a labelled
 * textarea, a confirm button named for the row and a cancel button. While the request is
 * sent the buttons are disabled, so focus moves to the (read-only) textarea.
 */
export function ReasonForm(props: {
  id: string;
  label: string;
  hint: string;
  confirm: string;
  confirmLabel: string;
  busy: boolean;
  onConfirm: (reason: string) => void;
  onCancel: () => void;
}) {
  const { t: tc } = useTranslation();
  const [reason, setReason] = useState('');
  const textarea = useRef<HTMLTextAreaElement>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (props.busy || reason.trim().length < 3) return;
    textarea.current?.focus();
    props.onConfirm(reason.trim());
  };
  return (
    <form onSubmit={submit}>
      <label htmlFor={props.id}>{props.label}</label>
      <textarea
        id={props.id}
        ref={textarea}
        required
        readOnly={props.busy}
        minLength={3}
        maxLength={2000}
        autoFocus
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        aria-describedby={`${props.id}-hint`}
      />
      <p id={`${props.id}-hint`} className="hint">{props.hint}</p>
      <button type="submit" className="danger" disabled={props.busy} aria-label={props.confirmLabel}>
        {props.confirm}
      </button>
      <button type="button" className="secondary" onClick={props.onCancel} disabled={props.busy}>
        {tc('cancel')}
      </button>
    </form>
  );
}

export { downloadText } from '../../components/download.ts';
