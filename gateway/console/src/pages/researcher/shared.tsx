/**
 * Shared bits of the researcher pages: the "no keys" notice, purposes (DUO terms), request
 * state badges, number and date formatting in the console's language, the page's live
 * status region and moving focus once a render is done.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { components } from '@veilgate/sdk';
import { Link } from '../../router.tsx';

type S = components['schemas'];

export { DEFAULT_PURPOSE, PURPOSES, PurposeText } from '../../components/purpose.tsx';
export { formatDateTime, formatNumber, useLocale } from '../../components/format.ts';
import { PURPOSES } from '../../components/purpose.tsx';

/** Every operation of the query language, in the spec's order. */
export const OPERATIONS: S['Operation'][] = ['count', 'sum', 'mean', 'variance', 'stddev', 'histogram'];

/** A heading at the top of a card (no extra space above it). */
export const CARD_HEADING = { marginTop: 0 } as const;
/** The description under a checkbox, aligned with the checkbox's text. */
export const CHECK_DETAIL = { marginLeft: 26 } as const;

export { StatusRegion } from '../../components/status-region.tsx';

/**
 * Moves focus once the next render is committed (a button that was disabled while busy is
 * enabled again by then; a region that replaces a removed control exists by then).
 */
export function useFocusAfterRender(): (target: () => HTMLElement | null | undefined) => void {
  const pending = useRef<(() => HTMLElement | null | undefined) | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const target = pending.current;
    pending.current = undefined;
    const element = target?.();
    element?.focus();
    // Still disabled in this commit (an update still on its way): try again next frame.
    if (element && target && document.activeElement !== element) requestAnimationFrame(() => target()?.focus());
  }, [tick]);
  return useCallback((target) => {
    pending.current = target;
    setTick((n) => n + 1);
  }, []);
}

/** Shown where keys are needed but none are loaded in this page. */
export function NeedKeys() {
  const { t } = useTranslation('researcher');
  return (
    <p className="warning">
      {t('needKeys.text')} <Link to="researcher/keys">{t('needKeys.link')}</Link>
    </p>
  );
}

/** A purpose <select> labelled "Purpose", the DUO code shown with its description. */
export function PurposeSelect(props: { id: string; value: string; onChange: (code: string) => void; hint?: string }) {
  const { t } = useTranslation('researcher');
  const { t: tc } = useTranslation();
  return (
    <>
      <label htmlFor={props.id}>{t('purpose.label')}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.target.value)} aria-describedby={props.hint ? `${props.id}-hint` : undefined}>
        {PURPOSES.map((p) => (
          <option key={p.code} value={p.code}>
            {p.code} — {tc(`purposes.${p.key}`)}
          </option>
        ))}
      </select>
      {props.hint ? <p id={`${props.id}-hint`} className="hint">{props.hint}</p> : null}
    </>
  );
}

const STATE_CLASS: Record<S['AccessRequestState'], string> = {
  submitted: 'pending',
  active: 'ok',
  denied: 'denied',
  withdrawn: 'withdrawn',
  expired: 'expired',
  revoked: 'revoked',
};

export function StateBadge(props: { state: S['AccessRequestState'] }) {
  const { t } = useTranslation('researcher');
  return <span className={`badge ${STATE_CLASS[props.state]}`}>{t(`states.${props.state}`)}</span>;
}

/** Whether an API error means that no grant (or none with quota or budget left) covers the query. */
export function isConsentProblem(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (/^(token_|dpop_)/.test(code) || ['quota_exhausted', 'budget_exhausted', 'forbidden', 'consent_required'].includes(code));
}

/**
 * Reloads a list every `ms` while the tab is visible and when it regains focus, so that
 * decisions made by the institutions meanwhile show up without a manual refresh.
 */
export function useAutoRefresh(reload: () => void, ms: number): void {
  useEffect(() => {
    const tick = () => {
      if (document.visibilityState === 'visible') reload();
    };
    const timer = setInterval(tick, ms);
    addEventListener('focus', tick);
    return () => {
      clearInterval(timer);
      removeEventListener('focus', tick);
    };
  }, [reload, ms]);
}

/** Lets the browser paint (a progress bar) before a long synchronous WebAssembly step. */
export function nextPaint(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}
