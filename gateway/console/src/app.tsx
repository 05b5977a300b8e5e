/**
 * The console shell: sign-in, header with language switch, navigation by role, pages.
 * Each role's pages come from its folder's `routes`; the catalog is for everyone.
 */
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { SessionProvider, useSessionState, type Account } from './session.tsx';
import { Link, useRoute, type RouteDef } from './router.tsx';
import { setLanguage, type Language } from './i18n/index.ts';
import { ErrorBanner } from './components/error-banner.tsx';
import { CatalogPage } from './pages/catalog.tsx';
import { researcherRoutes, ResearcherProvider } from './pages/researcher/index.tsx';
import { operatorRoutes } from './pages/operator/index.tsx';
import { auditorRoutes } from './pages/auditor/index.tsx';
import { adminRoutes } from './pages/admin/index.tsx';

const catalogRoute: RouteDef = { path: 'catalog', nav: 'catalog', render: () => <CatalogPage /> };

/** The pages a role may open, in navigation order. */
export function routesFor(role: Account['role']): RouteDef[] {
  switch (role) {
    case 'researcher':
      return [catalogRoute, ...researcherRoutes];
    case 'operator':
      return [catalogRoute, ...operatorRoutes];
    case 'auditor':
      return [catalogRoute, ...auditorRoutes];
    case 'admin':
      return [catalogRoute, ...adminRoutes, ...auditorRoutes];
  }
}

/** Each role's main page (where sign-in lands). */
const HOME: Record<Account['role'], string> = {
  researcher: 'researcher/query',
  operator: 'operator/requests',
  auditor: 'auditor/log',
  admin: 'admin/accounts',
};

export function App() {
  return (
    <SessionProvider>
      <Shell />
    </SessionProvider>
  );
}

function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  const next: Language = i18n.language === 'zh' ? 'en' : 'zh';
  // The visible text is the accessible name (WCAG 2.5.3), marked in its own language.
  return (
    <button type="button" className="secondary" title={t('switchLanguageLabel')} onClick={() => void setLanguage(next)}>
      <span lang={next === 'zh' ? 'zh-CN' : 'en'}>{t('switchLanguage')}</span>
    </button>
  );
}

function Shell() {
  const { t } = useTranslation();
  const { session, restoring } = useSessionState();
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const path = route.join('/');

  // Move focus to the page heading on navigation (keyboard and screen-reader users).
  const { i18n } = useTranslation();
  const role = session?.account.role;
  const atRoot = route.length === 0;
  // A signed-in user at `#/` goes to their role's main page.
  useEffect(() => {
    if (role && atRoot) location.replace(`#/${HOME[role]}`);
  }, [role, atRoot]);
  // Focus the page heading on navigation (keyboard and screen-reader users) and name the
  // tab after it, in the current language.
  useEffect(() => {
    const h1 = main.current?.querySelector<HTMLElement>('h1');
    h1?.focus();
    document.title = h1?.textContent ? `${h1.textContent} · ${t('product')}` : t('product');
  }, [path, session?.account.id, i18n.language, t]);

  let content: ReactNode;
  let nav: ReactNode = null;
  if (restoring) content = <p role="status">{t('loading')}</p>;
  else if (!session) content = <SignIn />;
  else {
    const routes = routesFor(session.account.role);
    const match = routes.find((r) => path === r.path || path.startsWith(`${r.path}/`));
    const known = [catalogRoute, ...researcherRoutes, ...operatorRoutes, ...auditorRoutes, ...adminRoutes].some((r) => path === r.path || path.startsWith(`${r.path}/`));
    content = match ? match.render(route.slice(match.path.split('/').length)) : route.length === 0 ? null : <p role="alert">{known ? t('notAllowed') : t('notFound')}</p>;
    nav = (
      <nav aria-label={t('mainNav')}>
        <ul>
          {routes
            .filter((r) => r.nav)
            .map((r) => (
              <li key={r.path}>
                <Link to={r.path} current={match?.path === r.path}>
                  {t(`nav.${r.nav!}`)}
                </Link>
              </li>
            ))}
        </ul>
      </nav>
    );
    if (session.account.role === 'researcher') content = <ResearcherProvider>{content}</ResearcherProvider>;
  }

  return (
    <>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); main.current?.focus(); }}>
        {t('skipToContent')}
      </a>
      <header className="top">
        <div className="brand">
          <span className="logo" aria-hidden="true">◈</span>
          <span>
            <strong>{t('product')}</strong>
            <span className="muted tagline">{t('tagline')}</span>
          </span>
        </div>
        <div className="who">
          {session ? (
            <>
              <span>{t('signedInAs', { name: session.account.name, role: t(`roles.${session.account.role}`) })}</span>
              <button type="button" className="secondary" onClick={session.signOut}>
                {t('signOut')}
              </button>
            </>
          ) : null}
          <LanguageSwitch />
        </div>
      </header>
      <div className="layout">
        {nav}
        <main id="main" ref={main} tabIndex={-1}>
          {content}
        </main>
      </div>
    </>
  );
}

function SignIn() {
  const { t } = useTranslation();
  const { signIn } = useSessionState();
  const [apiKey, setApiKey] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(apiKey.trim());
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card narrow">
      <h1 tabIndex={-1}>{t('login.title')}</h1>
      <p>{t('login.intro')}</p>
      <form onSubmit={(e) => void submit(e)}>
        <label htmlFor="api-key">{t('login.apiKey')}</label>
        <input id="api-key" name="apiKey" type="password" autoComplete="off" required value={apiKey} onChange={(e) => setApiKey(e.target.value)} aria-describedby="api-key-hint" />
        <p id="api-key-hint" className="hint">{t('login.apiKeyHint')}</p>
        <ErrorBanner error={error} />
        <button type="submit" disabled={busy || apiKey.trim() === ''}>
          {busy ? t('login.signingIn') : t('login.submit')}
        </button>
      </form>
    </section>
  );
}
