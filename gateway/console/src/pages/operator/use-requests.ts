/**
 * This institution's access requests, with the hub's answer to a decision or revocation
 * applied at once (`apply`), before the reload returns: a request just approved, denied or
 * revoked leaves the list (or its buttons become disabled) immediately, so a stale button
 * cannot send the same decision again. An applied answer gives way to the list of a load
 * started after it.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { useSession } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import type { AccessRequest } from './shared.tsx';

interface Applied {
  request: AccessRequest;
  /** The number of reloads started before this answer arrived. */
  after: number;
}

export function useAccessRequests() {
  const { client } = useSession();
  const loaded = useLoad(() => client.accessRequests(), [client]);
  const reloads = useRef(0);
  const [applied, setApplied] = useState<ReadonlyMap<string, Applied>>(new Map());
  const load = loaded.reload;

  const reload = useCallback(() => {
    reloads.current += 1;
    load();
  }, [load]);

  const apply = useCallback((request: AccessRequest) => {
    setApplied((prev) => new Map(prev).set(request.id, { request, after: reloads.current }));
  }, []);

  // A load finished; useLoad keeps only the newest, so it started at `reloads.current`:
  // answers that arrived before that are in it.
  useEffect(() => {
    setApplied((prev) => {
      const kept = [...prev].filter(([, a]) => a.after >= reloads.current);
      return kept.length === prev.size ? prev : new Map(kept);
    });
  }, [loaded.data]);

  const data = loaded.data?.map((r) => applied.get(r.id)?.request ?? r);
  return { data, error: loaded.error, loading: loaded.loading, reload, apply };
}
