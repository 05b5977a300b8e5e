/**
 * Hypertension study — a researcher's script against the public SDK only.
 *
 * Systolic blood pressure stratified by sex and age band across every hospital in the data
 * space: count, mean, standard deviation and a histogram by blood-pressure category. The
 * hospitals never reveal a row or their own aggregates; the numbers below are decrypted
 * here, with a key that never leaves this process.
 *
 * It goes the whole way a researcher goes: a key pair, an access request bound to an identity
 * key, the institutions' approval (played here by the demo's operators), then the query.
 *
 * Run the demo first (`npm start`), then: `npm run example` (or `--json` for machine output).
 * Connection: $VEILGATE_HUB and $VEILGATE_API_KEY, else .veilgate/demo.json ($VEILGATE_DEMO).
 */
import { readFileSync } from 'node:fs';
import { VeilgateClient, generateHeKeyPair, generateIdentityKey, importOperatorKey, type Query } from '@veilgate/sdk';

const demoPath = process.env.VEILGATE_DEMO ?? '.veilgate/demo.json';
let demo: { hubUrl?: string; accounts?: { researcher?: string; operators?: Record<string, string[]>; operatorKeys?: Record<string, string[]> } } = {};
try {
  demo = JSON.parse(readFileSync(demoPath, 'utf8')) as typeof demo;
} catch {
  // No demo file: rely on the environment.
}
const baseUrl = process.env.VEILGATE_HUB ?? demo.hubUrl;
const apiKey = process.env.VEILGATE_API_KEY ?? demo.accounts?.researcher;
if (!baseUrl || !apiKey) {
  console.error('Start the demo first (npm start), or set VEILGATE_HUB and VEILGATE_API_KEY.');
  process.exit(2);
}

const client = new VeilgateClient({ baseUrl, apiKey });

// 1. A fresh BFV key pair; only the public half goes to the hub.
const keys = await generateHeKeyPair();
await client.registerKey(keys);

// 2. Every queryable dataset in the catalog that has the elements this study needs.
const catalog = await client.catalog();
const needed = ['sex', 'age', 'systolic_bp'];
const datasets = catalog.datasets.filter((d) => d.queryable && needed.every((e) => d.elements.includes(e))).map((d) => d.id);

// 3. Ask each institution for access, bound to a fresh identity key (DPoP proves it per query).
const identity = await generateIdentityKey();
const request = await client.requestAccess(
  {
    datasets, elements: needed, operations: ['count', 'mean', 'stddev', 'histogram'], purpose: 'DUO:0000006',
    justification: 'Prevalence and control of hypertension by sex and age band across hospitals.',
    durationDays: 7, privacyBudget: 0.5, queryQuota: 10,
  },
  identity,
);
const log = (line: string) => process.argv.includes('--json') || console.log(line);
log(`Access request ${request.id} submitted to ${request.decisions.map((d) => d.node).join(', ')}.`);

// 4. Each institution's operators decide, each signing with their own key. In the demo their
//    credentials and key files are in demo.json, so this script plays their part; in a real
//    data space they decide in the console or CLI.
const operators = demo.accounts?.operators;
const operatorKeys = demo.accounts?.operatorKeys;
if (!operators || !operatorKeys) {
  console.error(`Waiting for the institutions' operators to approve ${request.id}; run again once they have.`);
  process.exit(3);
}
for (const decision of request.decisions) {
  for (const [i, key] of (operators[decision.node] ?? []).slice(0, decision.requiredApprovals).entries()) {
    const signingKey = await importOperatorKey(readFileSync(operatorKeys[decision.node]![i]!, 'utf8'));
    await new VeilgateClient({ baseUrl, apiKey: key }).decide(request.id, 'approve', { key: signingKey });
  }
  log(`  ${decision.node}: approved by ${decision.requiredApprovals} operator(s); its node signed a consent token.`);
}

// 5. The query: ESC/ESH blood-pressure categories as histogram bins.
const bpCategories = [60, 120, 130, 140, 160, 180, 260];
const query: Query = {
  datasets,
  filter: { op: 'range', element: 'age', min: 18 },
  groupBy: [{ element: 'sex' }, { element: 'age', buckets: [18, 40, 65, 120] }],
  aggregates: [
    { op: 'count' },
    { op: 'mean', element: 'systolic_bp' },
    { op: 'stddev', element: 'systolic_bp' },
    { op: 'histogram', element: 'systolic_bp', bins: bpCategories },
  ],
};
const result = await client.query(query, { keys, identity, purpose: 'DUO:0000006' });

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ query, groups: result.groups }));
} else {
  const pct = (n: number, of: number) => (of ? `${((100 * n) / of).toFixed(1)}%` : '—');
  console.log(`\nSystolic blood pressure by sex and age band — ${datasets.length} institutions, query ${result.queryId}\n`);
  const header = ['sex', 'age', 'n', 'mean', 'sd', '<120', '120–129', '130–139', '140–159', '160–179', '≥180', 'left out at'];
  const rows = result.groups.map((g) => {
    const [, mean, sd, hist] = g.aggregates;
    const bins = hist?.op === 'histogram' ? hist.bins.map((b) => pct(b.count, g.count)) : [];
    const m = mean && mean.op === 'mean' && mean.value !== null ? mean.value.toFixed(1) : '—';
    const s = sd && sd.op === 'stddev' && sd.value !== null ? sd.value.toFixed(1) : '—';
    return [g.key.sex!, g.key.age!, String(g.count), m, s, ...bins, g.excludedAt.map((e) => e.node).join(', ')];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const r of rows) console.log(fmt(r).trimEnd());
  console.log(`\nhub time ${result.timings.totalMs.toFixed(0)} ms · ${result.contributions.length} signed contributions verified by the hub`);
  const cost = result.cost;
  const privacy = cost.rho > 0 ? `ρ = ${cost.rho} (ε = ${cost.epsilon.toFixed(2)} at δ = ${cost.delta})` : 'no differential privacy on these datasets';
  console.log(`cost: ${cost.credits} credits, ${privacy}; credits left ${cost.creditsLeft}`);
  for (const g of cost.grants) console.log(`  privacy budget left at ${g.node}: ${g.left.toFixed(3)} of ${g.budget}`);
}
