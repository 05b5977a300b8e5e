/**
 * The researcher's keys, held in this page's memory only: the BFV key pair (its secret key
 * decrypts results here and is never sent or shown) and the Ed25519 identity key that
 * authorization tokens are bound to. Reloading or closing the tab, or signing out, forgets
 * them; while keys that were never saved are loaded, the browser asks before leaving.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { HeKeyPair, IdentityKey, components } from '@veilgate/sdk';

/** Keys loaded in this page, and the hub's record of the registered public key. */
export interface LoadedKeys {
  keys: HeKeyPair;
  identity: IdentityKey;
  registered: components['schemas']['HeKey'];
  /** Where they came from: generated here, or the name of the file they were loaded from. */
  source: { kind: 'generated' } | { kind: 'file'; name: string };
}

interface KeysState {
  loaded: LoadedKeys | undefined;
  /**
   * Whether the loaded keys exist outside this page: loaded from a file, or a download of
   * them was started (the page cannot know whether the browser finished writing the file).
   */
  saved: boolean;
  /** Replaces the keys (undefined forgets them); the old secret key's bytes are zeroed. */
  setLoaded: (keys: LoadedKeys | undefined) => void;
  markSaved: () => void;
}

const Context = createContext<KeysState | undefined>(undefined);

/** Overwrites the secret key's bytes, so that dropped keys do not linger in the heap. */
function wipe(keys: LoadedKeys | undefined): void {
  keys?.keys.secretKey.fill(0);
}

export function ResearcherProvider(props: { children: ReactNode }) {
  const [loaded, setLoadedState] = useState<LoadedKeys | undefined>();
  const [saved, setSaved] = useState(false);
  const current = useRef<LoadedKeys | undefined>(undefined);

  const setLoaded = useCallback((next: LoadedKeys | undefined) => {
    if (current.current !== next) wipe(current.current);
    current.current = next;
    setLoadedState(next);
    setSaved(next?.source.kind === 'file');
  }, []);
  const markSaved = useCallback(() => setSaved(true), []);

  // Signing out unmounts the provider: forget the keys then.
  useEffect(() => () => {
    wipe(current.current);
    current.current = undefined;
  }, []);

  // Keys that exist nowhere else would be lost by a reload: let the browser ask first.
  const unsaved = loaded !== undefined && !saved;
  useEffect(() => {
    if (!unsaved) return;
    const warn = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      // Older browsers need returnValue set; the text itself is never shown.
      event.returnValue = '';
    };
    addEventListener('beforeunload', warn);
    return () => removeEventListener('beforeunload', warn);
  }, [unsaved]);

  const value = useMemo(() => ({ loaded, saved, setLoaded, markSaved }), [loaded, saved, setLoaded, markSaved]);
  return <Context.Provider value={value}>{props.children}</Context.Provider>;
}

/** The keys loaded in this page (`loaded` is undefined until generated or loaded). */
export function useResearcherKeys(): KeysState {
  const state = useContext(Context);
  if (!state) throw new Error('useResearcherKeys outside ResearcherProvider');
  return state;
}
