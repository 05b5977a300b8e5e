/**
 * Credits (admin): every researcher's balance (`GET /v1/balance?account=`) and top-ups
 * (`POST /v1/credits/top-ups`). Bad amounts are the hub's to refuse: its error is shown
 * with its code and field.
 */
import { useRef, useState, type FormEvent, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import type { components } from '@veilgate/sdk';
import { useSession, type Account } from '../../session.tsx';
import { useLoad } from '../../components/use-load.ts';
import { ErrorBanner } from '../../components/error-banner.tsx';
import { Progress } from '../../components/progress.tsx';
import { formatNumber, useLocale } from '../../components/format.ts';

type Balance = components['schemas']['Balance'];

export function CreditsPage() {
  const { t } = useTranslation('admin');
  const { t: tc } = useTranslation();
  const locale = useLocale();
  const { client } = useSession();
  const [read, setRead] = useState<{ done: number; total: number }>();
  const researchers = useLoad(async () => {
    const accounts = await client.listAccounts('researcher');
    let done = 0;
    setRead({ done, total: accounts.length });
    const balances = await Promise.all(
      accounts.map(async (a) => {
        const balance = await client.balance(a.id);
        setRead({ done: ++done, total: accounts.length });
        return balance;
      }),
    );
    return accounts.map((account, i) => ({ account, balance: balances[i]! }));
  }, [client]);
  // Balances the hub returned after a top-up, newer than the list's.
  const [after, setAfter] = useState<Record<string, Balance>>({});
  const rows = (researchers.data ?? []).map((r) => ({ ...r, balance: after[r.account.id] ?? r.balance }));
  const [selected, setSelected] = useState('');
  const amountRef = useRef<HTMLInputElement>(null);

  const reload = () => {
    setAfter({});
    researchers.reload();
  };
  const choose = (id: string) => {
    setSelected(id);
    amountRef.current?.focus();
  };

  return (
    <section>
      <h1 tabIndex={-1}>{t('credits.title')}</h1>
      <p className="muted">{t('credits.intro')}</p>
      <TopUpForm
        researchers={rows.map((r) => r.account)}
        selected={selected}
        onSelect={setSelected}
        amountRef={amountRef}
        onTopUp={(balance) => setAfter((m) => ({ ...m, [balance.account]: balance }))}
      />
      <h2 id="balances-title">{t('credits.balancesTitle')}</h2>
      <button type="button" className="secondary" onClick={reload} disabled={researchers.loading}>
        {tc('refresh')}
      </button>
      <ErrorBanner error={researchers.error} onRetry={reload} />
      {researchers.loading && read ? <Progress label={t('credits.reading')} value={read.done} max={read.total} detail={tc('progress', { done: read.done, total: read.total })} /> : null}
      {researchers.data && rows.length === 0 ? <p className="card">{t('credits.none')}</p> : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table aria-labelledby="balances-title">
            <thead>
              <tr>
                <th scope="col">{t('credits.columns.researcher')}</th>
                <th scope="col">{t('credits.columns.id')}</th>
                <th scope="col" className="num">{t('credits.columns.credits')}</th>
                <th scope="col" className="num">{t('credits.columns.grants')}</th>
                <th scope="col">{t('credits.columns.action')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ account, balance }) => (
                <tr key={account.id}>
                  <th scope="row">{account.name}</th>
                  <td><code>{account.id}</code></td>
                  <td className="num">{formatNumber(balance.credits, locale, 3)}</td>
                  <td className="num">{balance.grants.length}</td>
                  <td>
                    <button type="button" className="secondary" aria-label={t('credits.topUpRowLabel', { id: account.id })} onClick={() => choose(account.id)}>
                      {t('credits.topUpRow')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function TopUpForm(props: {
  researchers: Account[];
  selected: string;
  onSelect: (id: string) => void;
  amountRef: RefObject<HTMLInputElement | null>;
  onTopUp: (balance: Balance) => void;
}) {
  const { t } = useTranslation('admin');
  const locale = useLocale();
  const { client } = useSession();
  const [amount, setAmount] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [status, setStatus] = useState<string>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setStatus(undefined);
    try {
      const value = Number(amount);
      const balance = await client.topUp(props.selected, value);
      const name = props.researchers.find((r) => r.id === props.selected)?.name ?? props.selected;
      props.onTopUp(balance);
      setStatus(t('credits.added', { amount: formatNumber(value, locale, 3), name }));
      setAmount('');
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="top-up-title">
      <h2 id="top-up-title">{t('credits.formTitle')}</h2>
      <form className="card narrow" onSubmit={(e) => void submit(e)}>
        <label htmlFor="top-up-account">{t('credits.account')}</label>
        <select id="top-up-account" style={{ width: '100%' }} required value={props.selected} onChange={(e) => props.onSelect(e.target.value)}>
          <option value="">{t('credits.chooseAccount')}</option>
          {props.researchers.map((r) => (
            <option key={r.id} value={r.id}>
              {t('credits.accountOption', { name: r.name, id: r.id })}
            </option>
          ))}
        </select>
        <label htmlFor="top-up-amount">{t('credits.amount')}</label>
        {/* No min/max here: the hub decides what a valid amount is and says why not. */}
        <input id="top-up-amount" ref={props.amountRef} type="number" step="any" inputMode="decimal" required value={amount} onChange={(e) => setAmount(e.target.value)} aria-describedby="top-up-amount-hint" />
        <p id="top-up-amount-hint" className="hint">{t('credits.amountHint')}</p>
        <ErrorBanner error={error} />
        <div>
          <button type="submit" disabled={busy || props.selected === '' || amount.trim() === ''}>
            {busy ? t('credits.submitting') : t('credits.submit')}
          </button>
        </div>
      </form>
      {status ? (
        <p role="status" className="success">
          {status}
        </p>
      ) : null}
    </section>
  );
}
