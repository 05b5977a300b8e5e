/**
 * Web console benchmark: what a person waits for in the browser (Debian's Chromium, driven
 * by playwright-core) against a demo data space in this process.
 *
 *   - the console's size (JS, CSS, node-seal WebAssembly) as built;
 *   - sign-in to the first page;
 *   - BFV + identity key generation in the page (node-seal WebAssembly in Chromium);
 *   - a federated query run from the page: click "Run query" → decrypted table shown, and the
 *     same query through the SDK in Node on the same data space, alternating run by run;
 *   - whole-log verification in the page (every entry re-hashed, root rebuilt, checkpoint
 *     and witness signatures checked), against the same verification by the SDK in Node.
 *
 * Usage:
 *   npx node test/bench/console.bench.ts                     # 3 × 20k patients, 15 runs
 *   npx node test/bench/console.bench.ts --patients 100000 --runs 30 --dp
 *   npx node test/bench/console.bench.ts --log-entries 20000   # grow the log first (admin top-ups)
 * Needs a built console (`npm run build:console`) and /usr/bin/chromium.
 */
import { readdirSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { VeilgateClient, generateHeKeyPair, generateIdentityKey, type Query } from '@veilgate/sdk';
import { startDataSpace } from '../../gateway/src/demo/data-space.ts';
import { approveAs, grantAccess } from '../../gateway/src/demo/grant-access.ts';
import { DEFAULT_CONSOLE_DIR } from '../../gateway/src/hub/console.ts';
import { launchChromium } from '../support/browser.ts';

const { values } = parseArgs({
  options: {
    patients: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '15' },
    dp: { type: 'boolean', default: false },
    'log-entries': { type: 'string', default: '0' },
  },
});
const patients = Number(values.patients);
const runs = Number(values.runs);

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;
const summary = (xs: number[]) => `p50 ${ms(percentile(xs, 50))}, p95 ${ms(percentile(xs, 95))} (n = ${xs.length})`;
async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await f();
  return [performance.now() - t0, r];
}

// Bundle size as served.
const assets = join(DEFAULT_CONSOLE_DIR, 'assets');
const sizes = { js: 0, css: 0, wasm: 0 };
for (const f of readdirSync(assets)) {
  const size = statSync(join(assets, f)).size;
  if (f.endsWith('.js')) sizes.js += size;
  else if (f.endsWith('.css')) sizes.css += size;
  else if (f.endsWith('.wasm')) sizes.wasm += size;
}

const dir = mkdtempSync(join(tmpdir(), 'veilgate-console-bench-'));
console.log(`Console benchmark: 3 hospitals × ${patients.toLocaleString('en')} patients, DP ${values.dp ? 'on' : 'off'}, ${runs} runs, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
const space = await startDataSpace({ dir, port: 0, patientsPerHospital: patients, differentialPrivacy: values.dp, log: () => {} });
const browser = await launchChromium();
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  const [signIn] = await timed(async () => {
    await page.goto(`${space.hubUrl}/`);
    await page.getByLabel('API key').fill(space.accounts.researcher);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });

  // Key generation in the page (the first time includes loading node-seal's WebAssembly).
  await page.goto(`${space.hubUrl}/#/researcher/keys`);
  const keygen: number[] = [];
  for (let i = 0; i < 3; i++) {
    const [t] = await timed(async () => {
      await page.getByRole('button', { name: 'Generate keys' }).click();
      await page.getByRole('status').filter({ hasText: 'Key registered' }).waitFor({ timeout: 120_000 });
    });
    keygen.push(t);
    if (i < 2) await page.getByRole('button', { name: 'Forget keys' }).click();
  }

  // A grant for the page's identity: requested in the page, approved through the SDK.
  const datasets = ['hosp-a.cardiometabolic', 'hosp-b.cardiometabolic', 'hosp-c.cardiometabolic'];
  await page.goto(`${space.hubUrl}/#/researcher/requests`);
  for (const d of datasets) await page.getByLabel(d, { exact: true }).check();
  for (const e of ['sex', 'systolic_bp']) await page.getByLabel(e, { exact: true }).check();
  for (const o of ['count', 'mean']) await page.getByLabel(o, { exact: true }).check();
  await page.getByLabel('Query quota').fill('1000');
  await page.getByLabel('Privacy budget (ρ)').fill('1000');
  await page.getByLabel('Justification').fill('console benchmark');
  await page.getByRole('button', { name: 'Submit request' }).click();
  const submitted = page.getByRole('status').filter({ hasText: /Request \S+ submitted/ });
  await submitted.waitFor();
  const requestId = /Request (\S+) submitted/.exec((await submitted.textContent()) ?? '')![1]!;
  const request = await new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.researcher }).accessRequest(requestId);
  for (const decision of request.decisions) {
    await approveAs(space.hubUrl, request, space.accounts.operators[decision.node]!.slice(0, decision.requiredApprovals));
  }

  // The query: mean systolic BP by sex over three hospitals.
  await page.goto(`${space.hubUrl}/#/researcher/query`);
  for (const d of datasets) await page.getByLabel(d, { exact: true }).check();
  await page.getByLabel('Operation 1').selectOption('mean');
  await page.getByLabel('Element 1').selectOption('systolic_bp');
  await page.getByLabel('Group by').selectOption('sex');
  const query = JSON.parse((await page.getByTestId('query-json').textContent()) ?? '') as Query;
  const keys = await generateHeKeyPair();
  const identity = await generateIdentityKey();
  const sdk = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.researcher });
  await sdk.registerKey(keys);
  await grantAccess({ hubUrl: space.hubUrl, researcher: space.accounts.researcher, operators: space.accounts.operators }, identity, { datasets, privacyBudget: 1, queryQuota: 1000 });

  const inPage: number[] = [];
  const inNode: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const [tp] = await timed(async () => {
      await page.getByRole('button', { name: 'Run query' }).click();
      await page.getByRole('table', { name: 'Query result' }).waitFor({ timeout: 120_000 });
      await page.getByRole('button', { name: 'Run query' }).and(page.locator(':enabled')).waitFor();
    });
    const [tn] = await timed(() => sdk.query(query, { keys, identity }));
    if (i >= 2) {
      inPage.push(tp);
      inNode.push(tn);
    }
  }

  // Whole-log verification as the auditor (the log grown first by admin top-ups, if asked).
  const admin = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.admin });
  const researcherId = (await sdk.me()).id;
  const grow = Number(values['log-entries']);
  for (let i = 0; i < grow; i += 8) await Promise.all(Array.from({ length: Math.min(8, grow - i) }, () => admin.topUp(researcherId, 1)));
  await space.hub.app.witnessing.settle();
  const auditor = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await auditor.goto(`${space.hubUrl}/`);
  await auditor.getByLabel('API key').fill(space.accounts.auditor);
  await auditor.getByRole('button', { name: 'Sign in' }).click();
  await auditor.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
  const auditSdk = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.auditor });
  const size = (await auditSdk.checkpoint()).treeSize;
  const verifyPage: number[] = [];
  const verifyNode: number[] = [];
  for (let i = 0; i < 3; i++) {
    await auditor.evaluate(() => localStorage.removeItem('veilgate.auditor.trusted'));
    const [tp] = await timed(async () => {
      await auditor.getByRole('button', { name: 'Verify the whole log' }).click();
      await auditor.getByRole('status').filter({ hasText: /Verified: all \d+ entries/ }).waitFor({ timeout: 120_000 });
    });
    verifyPage.push(tp);
    const [tn] = await timed(() => auditSdk.verifyLog());
    verifyNode.push(tn);
    await auditor.reload();
    await auditor.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
  }

  console.log(`
| measure | figure |
|---|---|
| console build (JS / CSS / node-seal wasm) | ${(sizes.js / 1024).toFixed(0)} KiB / ${(sizes.css / 1024).toFixed(0)} KiB / ${(sizes.wasm / 1024).toFixed(0)} KiB |
| sign-in to the first page | ${ms(signIn)} |
| key generation in the page (first, incl. loading WebAssembly / then) | ${ms(keygen[0]!)} / ${ms(percentile(keygen.slice(1), 50))} |
| query from the page, click → decrypted table (3 × ${patients.toLocaleString('en')}) | ${summary(inPage)} |
| same query through the SDK in Node | ${summary(inNode)} |
| whole-log verification in the page (${size} entries) | ${summary(verifyPage)} |
| same verification through the SDK in Node | ${summary(verifyNode)} |`);
} finally {
  await browser.close();
  await space.close();
  rmSync(dir, { recursive: true, force: true });
}
