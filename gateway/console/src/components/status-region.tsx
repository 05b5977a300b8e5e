import type { Ref } from 'react';

/**
 * A page's live region (every role's pages): always in the page, empty until there is
 * something to say, so that screen readers announce what is put into it. Focusable (not in
 * the tab order) so that focus can move to it when the control that was used goes away.
 */
export function StatusRegion(props: { ref?: Ref<HTMLDivElement>; message?: string; tone?: 'success' | 'muted' }) {
  return (
    <div role="status" ref={props.ref} tabIndex={-1}>
      {props.message ? <p className={props.tone ?? 'success'}>{props.message}</p> : null}
    </div>
  );
}
