/**
 * The signed-in account: an API key kept in sessionStorage (this tab only, gone when it
 * closes) and a VeilgateClient talking to the hub that served this page.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { VeilgateClient, type components } from '@veilgate/sdk';

export type Account = components['schemas']['Account'];

export interface Session {
  account: Account;
  client: VeilgateClient;
  signOut: () => void;
}

interface SessionState {
  session: Session | undefined;
  restoring: boolean;
  signIn: (apiKey: string) => Promise<void>;
}

const STORAGE_KEY = 'veilgate.apiKey';
const Context = createContext<SessionState | undefined>(undefined);

/** The hub's origin: the console is always served by the hub it talks to. */
export function hubUrl(): string {
  return location.origin;
}

export function SessionProvider(props: { children: ReactNode }) {
  const [session, setSession] = useState<Session | undefined>();
  const [restoring, setRestoring] = useState(() => sessionStorage.getItem(STORAGE_KEY) !== null);

  const signOut = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
    setSession(undefined);
    location.hash = '#/';
  }, []);

  const signIn = useCallback(
    async (apiKey: string) => {
      const client = new VeilgateClient({ baseUrl: hubUrl(), apiKey });
      const account = await client.me();
      sessionStorage.setItem(STORAGE_KEY, apiKey);
      setSession({ account, client, signOut });
    },
    [signOut],
  );

  useEffect(() => {
    const saved = sessionStorage.getItem(STORAGE_KEY);
    if (!saved) return;
    // Only a refused key is forgotten; a network failure keeps it for the next reload.
    signIn(saved)
      .catch((cause: unknown) => {
        if ((cause as { status?: number }).status === 401) sessionStorage.removeItem(STORAGE_KEY);
      })
      .finally(() => setRestoring(false));
  }, [signIn]);

  const value = useMemo(() => ({ session, restoring, signIn }), [session, restoring, signIn]);
  return <Context.Provider value={value}>{props.children}</Context.Provider>;
}

export function useSessionState(): SessionState {
  const state = useContext(Context);
  if (!state) throw new Error('useSessionState outside SessionProvider');
  return state;
}

/** The signed-in session (only inside pages shown after sign-in). */
export function useSession(): Session {
  const { session } = useSessionState();
  if (!session) throw new Error('useSession before sign-in');
  return session;
}
