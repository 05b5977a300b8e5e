/**
 * The researcher's keys, held in this page's memory only: the BFV key pair (its secret key
 * decrypts results here and is never stored, sent or shown) and the Ed25519 identity key
 * that consent tokens are bound to. Reloading or closing the tab, or signing out, forgets them.
 */
import { createContext, useContext, useMemo, useState, type ReactNode } from 'react';
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
  setLoaded: (keys: LoadedKeys | undefined) => void;
}

const Context = createContext<KeysState | undefined>(undefined);

export function ResearcherProvider(props: { children: ReactNode }) {
  const [loaded, setLoaded] = useState<LoadedKeys | undefined>();
  const value = useMemo(() => ({ loaded, setLoaded }), [loaded]);
  return <Context.Provider value={value}>{props.children}</Context.Provider>;
}

/** The keys loaded in this page (`loaded` is undefined until generated or loaded). */
export function useResearcherKeys(): KeysState {
  const state = useContext(Context);
  if (!state) throw new Error('useResearcherKeys outside ResearcherProvider');
  return state;
}
