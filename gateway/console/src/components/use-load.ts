/** Loads data for a page: `{ data, error, loading, reload }`; a newer load wins over an older one. */
import { useCallback, useEffect, useRef, useState } from 'react';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const run = useCallback(load, deps);
  const reload = useCallback(() => {
    const mine = ++generation.current;
    setLoading(true);
    run()
      .then((value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(undefined);
      })
      .catch((cause: unknown) => {
        if (mine === generation.current) setError(cause);
      })
      .finally(() => {
        if (mine === generation.current) setLoading(false);
      });
  }, [run]);
  useEffect(reload, [reload]);
  return { data, error, loading, reload };
}
