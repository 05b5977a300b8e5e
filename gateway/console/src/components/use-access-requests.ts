/**
 * The caller's access requests (a researcher's own, an operator's institution's), with the
 * hub's answer to an action applied at once (`apply`), before the reload returns: a request
 * just submitted, withdrawn, approved, denied or revoked shows its new state immediately, so
 * a stale button cannot send the same action again. An applied answer gives way to the list
 * of a load started after it; one the list does not have yet (just submitted) is added.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { components } from '@veilgate/sdk';
import { useSession } from '../session.tsx';
import { useLoad } from './use-load.ts';

type AccessRequest = components['schemas']['AccessRequest'];

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

  const data = loaded.data && [
    ...loaded.data.map((r) => applied.get(r.id)?.request ?? r),
    ...[...applied.values()].filter((a) => !loaded.data!.some((r) => r.id === a.request.id)).map((a) => a.request),
  ];
  return { data, error: loaded.error, loading: loaded.loading, reload, apply };
}
