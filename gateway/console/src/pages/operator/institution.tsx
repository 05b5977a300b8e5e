/** The operator's institution (its node) and its datasets, from the catalog. */
import { useTranslation } from 'react-i18next';
import { useSession } from '../../session.tsx';
import { useLoad, type Loaded } from '../../components/use-load.ts';
import type { components } from '@veilgate/sdk';

type Catalog = components['schemas']['Catalog'];

/** The catalog (refreshed when `refresh` changes) and the datasets of this operator's node. */
export function useInstitution(refresh = 0): { catalog: Loaded<Catalog>; node: string | undefined; datasets: Catalog['datasets']; institution: string | undefined } {
  const { client, account } = useSession();
  const catalog = useLoad(() => client.catalog(refresh > 0 ? { refresh: true } : {}), [client, refresh]);
  const datasets = (catalog.data?.datasets ?? []).filter((d) => d.node === account.node);
  return { catalog, node: account.node, datasets, institution: datasets[0]?.institution };
}

/** "Institution: Hospital A (hosp-a)", or a warning when the account has no institution. */
export function InstitutionLine() {
  const { t } = useTranslation('operator');
  const { node, institution } = useInstitution();
  if (!node) return <p className="warning">{t('noNode')}</p>;
  return (
    <p>
      <strong>{t('institution')}:</strong> {institution ? `${institution} ` : ''}
      <code>{node}</code>
    </p>
  );
}
