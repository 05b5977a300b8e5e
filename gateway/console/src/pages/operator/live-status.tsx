/**
 * The operator pages' messages for their live region (components/status-region.tsx): text
 * computed at render (it follows a language switch) and focus moved to it on request, which
 * the pages use when the element that had focus went away.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { useLocale } from '../../components/format.ts';
import { StatusRegion } from '../../components/status-region.tsx';

export interface StatusMessage {
  /** The text in the console's language (`locale` for Intl), computed at render so it follows a language switch. */
  text: (locale: string) => string;
  tone: 'success' | 'info';
}

export interface LiveStatusState {
  message: StatusMessage | undefined;
  /**
   * Shows a message (give a function calling `t()` so it follows a language switch); with
   * `focus`, also moves focus to it once it is rendered.
   */
  show: (text: (locale: string) => string, tone?: StatusMessage['tone'], focus?: boolean) => void;
  clear: () => void;
  focusTick: number;
}

export function useLiveStatus(): LiveStatusState {
  const [message, setMessage] = useState<StatusMessage>();
  const [focusTick, setFocusTick] = useState(0);
  const show = useCallback((text: (locale: string) => string, tone: StatusMessage['tone'] = 'success', focus = false) => {
    setMessage({ text, tone });
    if (focus) setFocusTick((n) => n + 1);
  }, []);
  const clear = useCallback(() => setMessage(undefined), []);
  return { message, show, clear, focusTick };
}

/** The status container; `fallback` (e.g. "Loading…") is shown while there is no message. */
export function LiveStatus(props: { status: LiveStatusState; fallback?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const locale = useLocale();
  const { message, focusTick } = props.status;
  const text = message?.text(locale) ?? props.fallback ?? '';
  useEffect(() => {
    if (focusTick > 0 && ref.current?.textContent) ref.current.focus();
  }, [focusTick]);
  return <StatusRegion ref={ref} message={text} tone={message?.tone === 'success' ? 'success' : 'muted'} />;
}

/**
 * Whether focus is on the element of request `id` (an element inside `[data-request=id]`) or
 * already lost (on the body): then the page moves it to the status message once that
 * element is gone or disabled. Focus elsewhere (another request's card) is left alone.
 */
export function focusBelongsTo(id: string): boolean {
  const active = document.activeElement;
  if (!active || active === document.body) return true;
  return active.closest('[data-request]')?.getAttribute('data-request') === id;
}
