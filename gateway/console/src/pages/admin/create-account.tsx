/**
 * Creating an account (`POST /v1/accounts`): name, role, and for operators the institution
 * node (from the catalog). The answer's API key goes to `NewKeyBox` and nowhere else; the
 * form comes back once the admin has saved the key, which then leaves this component's state.
 */
import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession, type Account } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { NewKeyBox } from './new-key-box.tsx';
import { ROLES } from './shared.ts';

/** The institution nodes the catalog knows: from its datasets, and the unreachable ones. */
function useNodes() {
  const { client } = useSession();
  const catalog = useLoad(() => client.catalog({ refresh: true }), [client]);
  const nodes = new Map<string, string>();
  for (const d of catalog.data?.datasets ?? []) nodes.set(d.node, d.institution);
  for (const n of catalog.data?.unavailableNodes ?? []) if (!nodes.has(n)) nodes.set(n, n);
  return { catalog, nodes: [...nodes].map(([node, institution]) => ({ node, institution })).sort((a, b) => a.node.localeCompare(b.node)) };
}

export function CreateAccount(props: { onCreated: () => void }) {
  const { t } = useTranslation('admin');
  const { t: tc } = useTranslation();
  const { client } = useSession();
  const { catalog, nodes } = useNodes();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Account['role']>('researcher');
  const [node, setNode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [status, setStatus] = useState<string>();
  // The one-time key: only until "I have saved it".
  const [shown, setShown] = useState<{ name: string; apiKey: string }>();
  const heading = useRef<HTMLHeadingElement>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setStatus(undefined);
    try {
      const created = await client.createAccount({ name: name.trim(), role, ...(role === 'operator' ? { node } : {}) });
      setShown({ name: created.name, apiKey: created.apiKey });
      setStatus(t('accounts.created', { name: created.name, id: created.id }));
      setName('');
      setNode('');
      props.onCreated();
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(false);
    }
  };

  const dismiss = () => {
    setShown(undefined);
    requestAnimationFrame(() => heading.current?.focus());
  };

  return (
    <section aria-labelledby="create-account-title">
      <h2 id="create-account-title" tabIndex={-1} ref={heading}>
        {t('accounts.createTitle')}
      </h2>
      {status ? (
        <p role="status" className="success">
          {status}
        </p>
      ) : null}
      {shown ? (
        <NewKeyBox name={shown.name} apiKey={shown.apiKey} onDismiss={dismiss} />
      ) : (
        <form className="card narrow" onSubmit={(e) => void submit(e)}>
          <label htmlFor="account-name">{t('accounts.name')}</label>
          <input id="account-name" type="text" required maxLength={100} autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} aria-describedby="account-name-hint" />
          <p id="account-name-hint" className="hint">{t('accounts.nameHint')}</p>
          <label htmlFor="account-role">{t('accounts.role')}</label>
          <select id="account-role" value={role} onChange={(e) => setRole(e.target.value as Account['role'])}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {tc(`roles.${r}`)}
              </option>
            ))}
          </select>
          {role === 'operator' ? (
            <>
              <label htmlFor="account-node">{t('accounts.node')}</label>
              <select id="account-node" style={{ width: '100%' }} required value={node} onChange={(e) => setNode(e.target.value)} aria-describedby="account-node-hint">
                <option value="">{nodes.length ? t('accounts.chooseNode') : t('accounts.noNodes')}</option>
                {nodes.map((n) => (
                  <option key={n.node} value={n.node}>
                    {t('accounts.nodeOption', { institution: n.institution, node: n.node })}
                  </option>
                ))}
              </select>
              <p id="account-node-hint" className="hint">{t('accounts.nodeHint')}</p>
              <ErrorBanner error={catalog.error} onRetry={catalog.reload} />
            </>
          ) : null}
          <ErrorBanner error={error} />
          <div>
            <button type="submit" disabled={busy || name.trim() === ''}>
              {busy ? t('accounts.creating') : t('accounts.create')}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
