/** Metering on the command line: balances, top-ups, prices, privacy policies, usage reports. */
import { CONNECTION_OPTIONS, hubClient, parseCommand, UsageError } from '../usage.ts';

const connection = CONNECTION_OPTIONS;
const client = hubClient;

/** `veilgate balance` (researchers) */
export async function runBalance(args: string[]): Promise<void> {
  const { values } = parseCommand(args, connection);
  const b = await client(values).balance();
  console.log(`credits ${b.credits}`);
  for (const g of b.grants) console.log(`  ${g.node.padEnd(8)} budget ρ ${g.budget}: spent ${g.spent.toFixed(4)}, reserved ${g.reserved.toFixed(4)}, left ${(g.budget - g.spent - g.reserved).toFixed(4)} · ${g.queriesUsed}/${g.queryQuota} queries`);
}

/** `veilgate credits top-up --account ID --amount N` (admins) */
export async function runCredits(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'top-up') throw new UsageError(`credits: expected 'top-up', got '${sub ?? ''}'`);
  const { values } = parseCommand(rest, { ...connection, account: { type: 'string' }, amount: { type: 'string' } });
  const amount = Number(values.amount);
  if (!values.account || !Number.isFinite(amount) || amount <= 0) throw new UsageError('credits top-up: --account ID and a positive --amount are required');
  const b = await client(values, 'admin').topUp(values.account, amount);
  console.log(`${b.account}: ${b.credits} credits`);
}

/** `veilgate price --dataset ID --price N` · `veilgate privacy --dataset ID --off|--on [--rho R]` (operators) */
export async function runDatasetSetting(kind: 'price' | 'privacy', args: string[]): Promise<void> {
  const { values } = parseCommand(args, { ...connection, dataset: { type: 'string' }, price: { type: 'string' }, on: { type: 'boolean' }, off: { type: 'boolean' }, rho: { type: 'string' } });
  if (!values.dataset) throw new UsageError(`${kind}: --dataset ID is required`);
  if (kind === 'price') {
    const price = Number(values.price);
    if (!Number.isFinite(price) || price < 0) throw new UsageError('price: --price must be a number ≥ 0');
    const r = await client(values).setPrice(values.dataset, price);
    console.log(`${r.dataset}: ${r.pricePerQuery} credits per query`);
    return;
  }
  if (values.on === values.off) throw new UsageError('privacy: pass exactly one of --on or --off');
  const r = await client(values).setPrivacy(values.dataset, { differentialPrivacy: values.on === true, ...(values.rho ? { defaultRho: Number(values.rho) } : {}) });
  console.log(`${values.dataset}: differential privacy ${r.differentialPrivacy ? `on${r.defaultRho ? ` (default ρ ${r.defaultRho})` : ''}` : 'off'}`);
}

/** `veilgate usage [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--format table|csv|json]` */
export async function runUsage(args: string[]): Promise<void> {
  const { values } = parseCommand(args, { ...connection, from: { type: 'string' }, to: { type: 'string' }, format: { type: 'string', default: 'table' }, role: { type: 'string', default: 'researcher' } });
  const period = { ...(values.from ? { from: values.from } : {}), ...(values.to ? { to: values.to } : {}) };
  const role = (['researcher', 'admin', 'auditor'] as const).find((r) => r === values.role) ?? 'researcher';
  const c = client(values, role);
  if (values.format === 'csv') {
    process.stdout.write(await c.usageCsv(period));
    return;
  }
  const report = await c.usage(period);
  if (values.format === 'json') {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(`usage ${report.from} … ${report.to}: ${report.totals.queries} queries, ${report.totals.credits} credits`);
  for (const r of report.rows) console.log(`  ${r.day}  ${r.researcher}  ${r.dataset.padEnd(26)} ${String(r.queries).padStart(5)} queries (${r.completed} completed, ${r.failed} failed)  ${r.credits} credits  ρ ${r.rho.toFixed(4)}`);
}
