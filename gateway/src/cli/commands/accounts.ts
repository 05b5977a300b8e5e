/** `veilgate accounts create`: an admin creates an account and receives its API key once. */
import { VeilgateClient } from '@veilgate/sdk';
import { hubCredentials, parseCommand, UsageError } from '../usage.ts';

const ROLES = ['researcher', 'operator', 'auditor', 'admin'] as const;

/** `veilgate accounts create --name NAME --role ROLE [--node ID]` */
export async function runAccounts(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'create') throw new UsageError(`accounts: expected 'create', got '${sub ?? ''}'`);
  const { values } = parseCommand(rest, { name: { type: 'string' }, role: { type: 'string' }, node: { type: 'string' }, hub: { type: 'string' }, 'api-key': { type: 'string' } });
  if (!values.name) throw new UsageError('--name is required');
  const role = ROLES.find((r) => r === values.role);
  if (!role) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  const { hubUrl, apiKey } = hubCredentials(values, 'admin');
  const created = await new VeilgateClient({ baseUrl: hubUrl, apiKey }).createAccount({ name: values.name, role, ...(values.node ? { node: values.node } : {}) });
  console.log(JSON.stringify(created, null, 2));
}
