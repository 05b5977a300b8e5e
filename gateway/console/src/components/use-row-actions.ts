/**
 * Actions on table rows or cards (approve, deny, revoke, withdraw): at most one in flight
 * per row whatever the buttons show (a ref, not state, guards it), each row's busy flag and
 * last error kept apart from the others'.
 */
import { useCallback, useRef, useState } from 'react';

export interface RowActions {
  busy: ReadonlySet<string>;
  errors: Readonly<Record<string, unknown>>;
  /** Runs `action` for row `id` unless one is already running; a throw becomes the row's error. */
  run: (id: string, action: () => Promise<void>) => Promise<void>;
}

export function useRowActions(): RowActions {
  const sending = useRef(new Set<string>());
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const [errors, setErrors] = useState<Readonly<Record<string, unknown>>>({});
  const run = useCallback(async (id: string, action: () => Promise<void>) => {
    if (sending.current.has(id)) return;
    sending.current.add(id);
    setBusy(new Set(sending.current));
    setErrors((e) => ({ ...e, [id]: undefined }));
    try {
      await action();
    } catch (cause) {
      setErrors((e) => ({ ...e, [id]: cause }));
    } finally {
      sending.current.delete(id);
      setBusy(new Set(sending.current));
    }
  }, []);
  return { busy, errors, run };
}
