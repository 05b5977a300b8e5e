/**
 * The consent flow on the command line: researchers make an identity key, ask for access
 * and list their grants; operators list, approve, deny and revoke, and import patient consent.
 */
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { exportIdentity, generateIdentityKey, importIdentity, importOperatorKey, type components } from '@veilgate/sdk';
import { CONNECTION_OPTIONS, hubClient, hubCredentials, parseCommand, UsageError } from '../usage.ts';
import { demoOperatorKeyFile } from './operator.ts';

type S = components['schemas'];
const connection = CONNECTION_OPTIONS;
const list = (v: string | undefined, flag: string): string[] => {
  const items = (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  if (!items.length) throw new UsageError(`${flag} is required (comma-separated)`);
  return items;
};
const client = hubClient;

function printRequest(r: S['AccessRequest']): void {
  console.log(`${r.id}  ${r.state.padEnd(9)}  ${r.purpose}  ${r.datasets.join(',')}  (${r.elements.length} elements; ${r.operations.join(',')})`);
  for (const d of r.decisions) {
    const approvals = d.approvals.length ? ` approvals ${d.approvals.length}/${d.requiredApprovals}` : ` needs ${d.requiredApprovals} approval(s)`;
    console.log(`    ${d.node.padEnd(8)} ${d.state.padEnd(8)}${approvals}${d.reason ? ` — ${d.reason}` : ''}${d.expiresAt ? ` until ${d.expiresAt}` : ''}`);
  }
}

/** `veilgate identity generate [--out FILE]` */
export async function runIdentity(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'generate') throw new UsageError(`identity: expected 'generate', got '${sub ?? ''}'`);
  const { values } = parseCommand(rest, { out: { type: 'string', default: 'identity.json' }, force: { type: 'boolean', default: false } });
  if (existsSync(values.out) && !values.force) throw new UsageError(`${values.out} exists; pass --force to replace it`);
  const identity = await generateIdentityKey();
  writeFileSync(values.out, exportIdentity(identity), { mode: 0o600 });
  console.log(`wrote ${values.out} (keep it private: it holds the identity's private key)\nthumbprint (cnf.jkt) ${identity.jkt}`);
}

/** `veilgate request --datasets … --elements … --operations … --purpose DUO:… --justification … --identity FILE` */
export async function runRequest(args: string[]): Promise<void> {
  const { values } = parseCommand(args, {
    ...connection, datasets: { type: 'string' }, elements: { type: 'string' }, operations: { type: 'string', default: 'count,sum,mean,variance,stddev,histogram' },
    purpose: { type: 'string', default: 'DUO:0000006' }, justification: { type: 'string' }, days: { type: 'string', default: '30' },
    budget: { type: 'string', default: '0.5' }, quota: { type: 'string', default: '100' }, identity: { type: 'string' },
  });
  if (!values.identity) throw new UsageError('--identity FILE is required (veilgate identity generate)');
  if (!values.justification) throw new UsageError('--justification is required');
  const identity = await importIdentity(readFileSync(values.identity, 'utf8'));
  const request = await client(values).requestAccess(
    {
      datasets: list(values.datasets, '--datasets'), elements: list(values.elements, '--elements'),
      operations: list(values.operations, '--operations') as S['Operation'][], purpose: values.purpose, justification: values.justification,
      durationDays: Number(values.days), privacyBudget: Number(values.budget), queryQuota: Number(values.quota),
    },
    identity,
  );
  printRequest(request);
}

/** `veilgate requests [--state S]` */
export async function runRequests(args: string[]): Promise<void> {
  const { values } = parseCommand(args, { ...connection, state: { type: 'string' } });
  const requests = await client(values).accessRequests(values.state as S['AccessRequestState'] | undefined);
  if (!requests.length) console.log('(no access requests)');
  for (const r of requests) printRequest(r);
}

/**
 * `veilgate approve ID` · `veilgate deny ID --reason …` · `veilgate revoke ID --reason …` (operators).
 * Approvals and denials are signed with the operator's key file (`--operator-key`, by default the
 * demo's file for this operator in demo.json); the hub relays them, the node verifies them.
 */
export async function runDecision(kind: 'approve' | 'deny' | 'revoke', args: string[]): Promise<void> {
  const { values, positionals } = parseCommand(args, { ...connection, reason: { type: 'string' }, 'operator-key': { type: 'string' } }, true);
  const id = positionals[0];
  if (!id) throw new UsageError(`${kind}: give the access request id (ar_…)`);
  if (kind !== 'approve' && !values.reason) throw new UsageError(`${kind}: --reason is required`);
  const c = client(values);
  if (kind === 'revoke') {
    printRequest(await c.revoke(id, values.reason!));
    return;
  }
  const keyFile = values['operator-key'] ?? demoOperatorKeyFile(hubCredentials(values).apiKey);
  if (!keyFile) throw new UsageError(`${kind}: --operator-key FILE is required (veilgate operator keygen; your node must have enrolled it)`);
  const key = await importOperatorKey(readFileSync(keyFile, 'utf8'));
  printRequest(await c.decide(id, kind, { key, ...(values.reason ? { reason: values.reason } : {}) }));
}

/** `veilgate grants` */
export async function runGrants(args: string[]): Promise<void> {
  const { values } = parseCommand(args, connection);
  const grants = await client(values).grants();
  if (!grants.length) console.log('(no grants in force)');
  for (const g of grants) console.log(`${g.node.padEnd(8)} ${g.datasets.join(',')}  ${g.purpose}  ${g.queriesUsed}/${g.queryQuota} queries  until ${g.expiresAt}  (request ${g.requestId})`);
}

/** `veilgate consent import --dataset ID --file consent.csv` (operators) */
export async function runConsent(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'import') throw new UsageError(`consent: expected 'import', got '${sub ?? ''}'`);
  const { values } = parseCommand(rest, { ...connection, dataset: { type: 'string' }, file: { type: 'string' } });
  if (!values.dataset || !values.file) throw new UsageError('consent import: --dataset and --file are required');
  // Streamed from the file in batches (protocol.md §9): a file of a million records is never
  // held whole in memory, and nothing is applied unless every batch is accepted.
  const total = statSync(values.file).size;
  const tty = process.stderr.isTTY === true;
  const mb = (n: number) => (n / 1048576).toFixed(1);
  const result = await client(values).importConsent(values.dataset, createReadStream(values.file), {
    onProgress: ({ bytes, records }) => {
      if (tty) process.stderr.write(`\r${mb(bytes)} of ${mb(total)} MB sent, ${records.toLocaleString('en')} records staged`);
    },
  }).finally(() => {
    if (tty) process.stderr.write('\n');
  });
  console.log(`${result.dataset}: ${result.imported} records imported; ${result.withdrawnSubjects} subjects have a withdrawal in force (import ${result.importId ?? '-'}, file sha256 ${result.csvSha256 ?? '-'})`);
}
