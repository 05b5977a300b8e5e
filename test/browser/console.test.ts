/**
 * The web console in a real browser (Debian's Chromium driven by playwright-core) against a
 * real data space (hub + three nodes over HTTP, DuckDB, node-seal): an operator approves a
 * request, a researcher runs a query that is decrypted in the page and sees the numbers the
 * SDK returns for the same query, an auditor verifies the log and sees a tampered entry
 * flagged. Every page is checked with axe-core (WCAG 2.x A/AA: labels, contrast, roles) and
 * screenshotted to test-artifacts/console/.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VeilgateClient, generateHeKeyPair, generateIdentityKey, type GroupResult, type Query } from '@veilgate/sdk';
import { startDataSpace, type DataSpace } from '../../gateway/src/demo/data-space.ts';
import { grantAccess } from '../../gateway/src/demo/grant-access.ts';
import { launchChromium, screenshot, watchPage } from '../support/browser.ts';

const TIMEOUT = 240_000;
let dir: string;
let space: DataSpace;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'veilgate-console-'));
  // Noise off: the browser's numbers must equal the SDK's exactly.
  space = await startDataSpace({ dir, port: 0, patientsPerHospital: 1500, differentialPrivacy: false, log: () => {} });
  browser = await launchChromium();
}, TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await space?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A fresh browser profile signed in with `apiKey`, on the role's main page. */
async function signIn(apiKey: string, options: { keyboard?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  contexts.push(context);
  const page = await context.newPage();
  watchPage(page, pageErrors);
  await page.goto(`${space.hubUrl}/`);
  if (options.keyboard) {
    // Keyboard only: Tab from the top of the page to the API key field, type, Enter.
    await tabTo(page, { id: 'api-key' });
    await page.keyboard.type(apiKey);
    await page.keyboard.press('Enter');
  } else {
    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

/** Presses Tab until the focused element has this id or aria-label (at most `limit` presses): reachable by keyboard. */
async function tabTo(page: Page, target: { id?: string; ariaLabel?: string }, limit = 80): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => ({ id: document.activeElement?.id, ariaLabel: document.activeElement?.getAttribute('aria-label') ?? undefined }));
    if ((target.id === undefined || at.id === target.id) && (target.ariaLabel === undefined || at.ariaLabel === target.ariaLabel)) return;
  }
  throw new Error(`not reachable with ${limit} Tab presses: ${JSON.stringify(target)}`);
}

/**
 * The operator loads the key file the demo created for them, once per session (keyboard: Tab
 * to the file input, Space opens the chooser). Decisions are then signed in the page.
 */
async function loadOperatorKey(page: Page, file: string, options: { keyboard?: boolean } = {}): Promise<void> {
  if (options.keyboard) {
    await tabTo(page, { id: 'operator-key-file' });
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
    await chooser.setFiles(file);
  } else {
    await page.getByLabel('Operator key file').setInputFiles(file);
  }
  await page.getByRole('status').filter({ hasText: 'Signing key loaded' }).waitFor();
}

async function open(page: Page, link: string, heading: string): Promise<void> {
  await page.getByRole('navigation').getByRole('link', { name: link, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

/** axe-core over the page: no WCAG 2.x A/AA violation (labels, names, contrast, structure). */
async function expectAccessible(page: Page, name: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const violations = result.violations.map((v) => `${name}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  expect(violations).toEqual([]);
}

const cellValues = async (page: Page, selector: string) =>
  page.locator(selector).evaluateAll((cells) => cells.map((c) => (c as HTMLElement).dataset.value ?? ''));

describe('web console in Chromium', () => {
  let researcher: Page;
  let requestId: string;
  let queryId: string;

  it('a researcher generates keys in the page and asks for access', async () => {
    researcher = await signIn(space.accounts.researcher);
    await open(researcher, 'Keys', 'Keys');
    await researcher.getByRole('button', { name: 'Generate keys' }).click();
    await researcher.getByRole('status').filter({ hasText: 'Key registered' }).waitFor({ timeout: 60_000 });
    await screenshot(researcher, 'researcher-keys');
    await expectAccessible(researcher, 'keys');

    await open(researcher, 'Access requests', 'Access requests');
    for (const d of ['hosp-a.cardiometabolic', 'hosp-b.cardiometabolic']) await researcher.getByLabel(d, { exact: true }).check();
    for (const e of ['sex', 'age', 'systolic_bp']) await researcher.getByLabel(e, { exact: true }).check();
    for (const o of ['count', 'mean', 'histogram']) await researcher.getByLabel(o, { exact: true }).check();
    await researcher.getByLabel('Justification').fill('Blood pressure by sex across two hospitals (console test).');
    await researcher.getByRole('button', { name: 'Submit request' }).click();
    const status = researcher.getByRole('status').filter({ hasText: /Request \S+ submitted/ });
    await status.waitFor();
    requestId = /Request (\S+) submitted/.exec((await status.textContent()) ?? '')![1]!;
    await expect.poll(async () => (await new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.researcher }).accessRequest(requestId)).state).toBe('submitted');
    await screenshot(researcher, 'researcher-requests');
    await expectAccessible(researcher, 'requests');
  }, TIMEOUT);

  it('each institution\'s operator approves it in the console (keyboard only for one)', async () => {
    for (const [node, keyboard] of [['hosp-a', true], ['hosp-b', false]] as const) {
      const operator = await signIn(space.accounts.operators[node]![0]!, { keyboard });
      await operator.getByRole('heading', { level: 1, name: 'Pending requests' }).waitFor();
      const approve = operator.getByRole('button', { name: `Approve ${requestId}` });
      await approve.waitFor();
      const keyFile = space.accounts.operatorKeys[node]![0]!;
      await loadOperatorKey(operator, keyFile, { keyboard });
      // The private key is in neither the page's storage nor its DOM.
      const { d } = (JSON.parse(readFileSync(keyFile, 'utf8')) as { privateJwk: { d: string } }).privateJwk;
      expect(await operator.evaluate((secret) => ({
        inStorage: [...Object.values(localStorage), ...Object.values(sessionStorage)].join(' ').includes(secret),
        inDom: document.documentElement.outerHTML.includes(secret),
      }), d)).toEqual({ inStorage: false, inDom: false });
      if (node === 'hosp-a') {
        await screenshot(operator, 'operator-pending');
        await expectAccessible(operator, 'operator pending');
      }
      if (keyboard) {
        await tabTo(operator, { ariaLabel: `Approve ${requestId}` });
        await operator.keyboard.press('Enter');
      } else await approve.click();
      await operator.getByRole('status').filter({ hasText: requestId }).waitFor();
      if (node === 'hosp-a') {
        await open(operator, 'Active grants', 'Active grants');
        await screenshot(operator, 'operator-grants');
        await open(operator, 'Usage & earnings', 'Usage & earnings');
        await screenshot(operator, 'operator-usage');
        await expectAccessible(operator, 'operator usage');
        await open(operator, 'Patient consent', 'Patient consent');
        await screenshot(operator, 'operator-consent');
        await expectAccessible(operator, 'operator consent');
      }
    }
    const request = await new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.researcher }).accessRequest(requestId);
    expect(request.state).toBe('active');
    // The hub relayed the decisions; each node signed its token: two grants in force.
    const grants = (await new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.researcher }).grants()).filter((g) => g.requestId === requestId);
    expect(grants.map((g) => g.node).sort()).toEqual(['hosp-a', 'hosp-b']);
  }, TIMEOUT);

  it('an operator denies another request with a reason the researcher sees', async () => {
    const identity = await generateIdentityKey();
    const sdk = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.researcher });
    const other = await sdk.requestAccess(
      { datasets: ['hosp-a.cardiometabolic'], elements: ['bmi'], operations: ['mean'], purpose: 'DUO:0000006', justification: 'to be denied', durationDays: 7, privacyBudget: 0.5, queryQuota: 10 },
      identity,
    );
    const operator = await signIn(space.accounts.operators['hosp-a']![1]!);
    await loadOperatorKey(operator, space.accounts.operatorKeys['hosp-a']![1]!);
    await operator.getByRole('button', { name: `Deny ${other.id}` }).click();
    await operator.getByLabel('Reason for denial').fill('BMI is outside the approved protocol');
    await operator.getByRole('button', { name: `Confirm denial ${other.id}` }).click();
    await operator.getByRole('status').filter({ hasText: other.id }).waitFor();
    const denied = await sdk.accessRequest(other.id);
    expect(denied.state).toBe('denied');
    expect(denied.decisions.map((d) => d.reason)).toContain('BMI is outside the approved protocol');
    // The researcher reads the reason in the console.
    await open(researcher, 'Access requests', 'Access requests');
    await researcher.getByText('BMI is outside the approved protocol').waitFor();
  }, TIMEOUT);

  it('the researcher runs a query decrypted in the page: the numbers equal the SDK\'s', async () => {
    await open(researcher, 'Grants & budget', 'Grants & budget');
    await researcher.getByText('hosp-b.cardiometabolic').first().waitFor();
    await screenshot(researcher, 'researcher-grants');
    await expectAccessible(researcher, 'grants');

    await open(researcher, 'Query', 'Query');
    for (const d of ['hosp-a.cardiometabolic', 'hosp-b.cardiometabolic']) await researcher.getByLabel(d, { exact: true }).check();
    await researcher.getByLabel('Operation 1').selectOption('mean');
    await researcher.getByLabel('Element 1').selectOption('systolic_bp');
    await researcher.getByRole('button', { name: 'Add aggregate' }).click();
    await researcher.getByLabel('Operation 2').selectOption('histogram');
    await researcher.getByLabel('Element 2').selectOption('age');
    await researcher.getByLabel('Group by').selectOption('sex');
    await researcher.getByRole('button', { name: 'Run query' }).click();
    const table = researcher.getByRole('table', { name: 'Query result' });
    await table.waitFor({ timeout: 90_000 });
    await screenshot(researcher, 'researcher-query');
    await expectAccessible(researcher, 'query');
    // Each institution was reported live as its contribution verified at the hub (server-sent events).
    const answered = await researcher.getByRole('list', { name: 'Institutions that answered' }).getByRole('listitem').allTextContents();
    expect(answered.map((a) => a.split(':')[0]).sort()).toEqual(['hosp-a', 'hosp-b']);

    const query = JSON.parse((await researcher.getByTestId('query-json').textContent({ timeout: 5000 })) ?? '') as Query;
    expect(query.datasets.sort()).toEqual(['hosp-a.cardiometabolic', 'hosp-b.cardiometabolic']);
    const shown = await cellValues(researcher, '[data-value]');

    // The same query through the SDK in Node, with its own keys and grant.
    const keys = await generateHeKeyPair();
    const identity = await generateIdentityKey();
    const sdk = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.researcher });
    await sdk.registerKey(keys);
    await grantAccess({ hubUrl: space.hubUrl, researcher: space.accounts.researcher, operators: space.accounts.operators }, identity, { datasets: query.datasets });
    const outcome = await sdk.query(query, { keys, identity });
    queryId = outcome.queryId;
    const expected = expectedValues(outcome.groups);
    expect(shown.length).toBeGreaterThan(6);
    for (const value of expected) expect(shown).toContain(value);
    // Every number in the page is one the SDK decrypted (none invented, none lost).
    expect([...shown].filter((v) => v !== '').sort()).toEqual([...expected].sort());
    expect(await researcher.locator('.recharts-bar-rectangle, .recharts-rectangle').count()).toBeGreaterThan(0);
  }, TIMEOUT);

  it('keys saved under a passphrase load in a new browser profile and decrypt the same numbers', async () => {
    await open(researcher, 'Query', 'Query');
    const before = await cellValues(researcher, '[data-value]');
    await open(researcher, 'Keys', 'Keys');
    const keyId = (await researcher.locator('dd code').allTextContents()).find((t) => /^[0-9a-f]{64}$/.test(t));
    expect(keyId).toBeDefined();
    const passphrase = 'correct horse battery staple';
    await researcher.getByLabel('Passphrase (optional)').fill(passphrase);
    await researcher.getByLabel('Repeat the passphrase').fill(passphrase);
    const [download] = await Promise.all([researcher.waitForEvent('download'), researcher.getByRole('button', { name: 'Save keys to a file' }).click()]);
    const file = join(dir, 'browser-keys.json');
    await download.saveAs(file);
    const saved = readFileSync(file, 'utf8');
    // Encrypted: neither half of any key is in the file as text.
    expect(saved).not.toContain('heKeyPair');
    expect(saved).not.toMatch(/"d"\s*:/);
    expect(JSON.parse(saved)).toMatchObject({ v: 1, iterations: expect.any(Number) });

    const again = await signIn(space.accounts.researcher);
    await open(again, 'Keys', 'Keys');
    await again.getByLabel('Load keys from a file').setInputFiles(file);
    await again.getByLabel('Passphrase for the key file').fill(passphrase);
    await again.getByRole('button', { name: 'Open the key file' }).click();
    await again.getByRole('status').filter({ hasText: `Key registered with the hub: ${keyId}` }).waitFor({ timeout: 60_000 });
    // A wrong passphrase is refused (checked with a second load).
    await again.getByLabel('Load keys from a file').setInputFiles(file);
    await again.getByLabel('Passphrase for the key file').fill('not the passphrase at all');
    await again.getByRole('button', { name: 'Open the key file' }).click();
    await again.getByRole('alert').filter({ hasText: 'passphrase is wrong' }).waitFor();
    await again.getByRole('button', { name: 'Cancel' }).click().catch(() => {});

    await open(again, 'Query', 'Query');
    for (const d of ['hosp-a.cardiometabolic', 'hosp-b.cardiometabolic']) await again.getByLabel(d, { exact: true }).check();
    await again.getByLabel('Operation 1').selectOption('mean');
    await again.getByLabel('Element 1').selectOption('systolic_bp');
    await again.getByRole('button', { name: 'Add aggregate' }).click();
    await again.getByLabel('Operation 2').selectOption('histogram');
    await again.getByLabel('Element 2').selectOption('age');
    await again.getByLabel('Group by').selectOption('sex');
    await again.getByRole('button', { name: 'Run query' }).click();
    await again.getByRole('table', { name: 'Query result' }).waitFor({ timeout: 90_000 });
    expect(await cellValues(again, '[data-value]')).toEqual(before);
  }, TIMEOUT);

  it('the console is complete in Chinese', async () => {
    await open(researcher, 'Query', 'Query');
    await researcher.getByRole('button', { name: '中文' }).click();
    await researcher.getByRole('heading', { level: 1, name: '查询' }).waitFor();
    expect(await researcher.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    await expect.poll(() => researcher.getByRole('navigation').textContent()).toContain('访问申请');
    // Catalog text too: datasets carry their Chinese titles (spec Translations).
    await researcher.getByText('心血管代谢门诊队列 — A 医院（北京）').first().waitFor();
    // The same work in Chinese: build, run, read.
    for (const d of ['hosp-a.cardiometabolic', 'hosp-b.cardiometabolic']) await researcher.getByLabel(d, { exact: true }).check();
    await researcher.getByLabel('运算 1').selectOption('mean');
    await researcher.getByLabel('数据元 1').selectOption('systolic_bp');
    await researcher.getByLabel('分组依据').selectOption('sex');
    await researcher.getByRole('button', { name: '运行查询' }).click();
    await researcher.getByRole('table', { name: '查询结果' }).waitFor({ timeout: 90_000 });
    await expectAccessible(researcher, 'query in Chinese');
    await screenshot(researcher, 'researcher-query-zh');
    expect(await researcher.title()).toBe('查询 · Veilgate 可信数据空间');
    await researcher.getByRole('button', { name: 'English' }).click();
    await researcher.getByRole('heading', { level: 1, name: 'Query' }).waitFor();
  }, TIMEOUT);

  it('an auditor verifies the log in the page and sees a tampered entry flagged', async () => {
    await space.hub.app.witnessing.settle();
    const auditor = await signIn(space.accounts.auditor);
    await auditor.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await auditor.getByRole('button', { name: 'Verify the whole log' }).click();
    const ok = auditor.getByRole('status').filter({ hasText: /Verified: all \d+ entries match the signed root/ });
    await ok.waitFor({ timeout: 60_000 });
    const size = Number(/all (\d+) entries/.exec((await ok.textContent()) ?? '')![1]);
    expect(size).toBe((await new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.auditor }).checkpoint()).treeSize);
    await screenshot(auditor, 'auditor-log');
    await expectAccessible(auditor, 'auditor log');

    // Edit entry 5 in the hub's database behind its back.
    const db = new DatabaseSync(join(dir, 'hub.sqlite'));
    const row = db.prepare('SELECT entry FROM audit_entries WHERE idx = 5').get() as { entry: Uint8Array };
    const original = row.entry;
    try {
      const edited = new TextDecoder().decode(original).replace(/"time":"[^"]+"/, '"time":"2000-01-01T00:00:00.000Z"');
      expect(edited).not.toBe(new TextDecoder().decode(original));
      db.prepare('UPDATE audit_entries SET entry = ? WHERE idx = 5').run(new TextEncoder().encode(edited));
      await auditor.reload();
      await auditor.getByRole('button', { name: 'Verify the whole log' }).click();
      const problems = auditor.getByRole('list', { name: 'Problems' });
      await problems.waitFor({ timeout: 60_000 });
      expect(await problems.textContent()).toMatch(/Entry 5\b/);
      // The entries table pages newest first: go back until entry 5's row is shown.
      for (let i = 0; i < 20 && (await auditor.locator('tr[data-index="5"]').count()) === 0; i++) await auditor.getByRole('button', { name: 'Older' }).click();
      await expect.poll(() => auditor.locator('tr.flagged').count()).toBeGreaterThan(0);
      expect(await auditor.locator('tr.flagged').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.index))).toEqual(['5']);
      await screenshot(auditor, 'auditor-tampered');
    } finally {
      db.prepare('UPDATE audit_entries SET entry = ? WHERE idx = 5').run(original);
      db.close();
    }

    // Trace the SDK's query back to its approvals, each step's proof checked in the page.
    await open(auditor, 'Trace', 'Trace');
    await auditor.getByLabel('Entry index or query id').fill(queryId);
    await auditor.getByRole('button', { name: 'Trace', exact: true }).click();
    await auditor.getByText(/approv/i).first().waitFor({ timeout: 30_000 });
    await screenshot(auditor, 'auditor-trace');
    await expectAccessible(auditor, 'trace');

    await auditor.goto(`${space.hubUrl}/#/auditor/entry/5`);
    await auditor.getByRole('heading', { level: 1, name: 'Entry 5' }).waitFor();
    await auditor.getByRole('button', { name: 'Verify inclusion' }).click();
    await auditor.getByRole('status').filter({ hasText: 'Inclusion proof verified' }).waitFor({ timeout: 30_000 });
    await screenshot(auditor, 'auditor-entry');
  }, TIMEOUT);

  it('an admin creates an account whose key is shown once and works, and tops up credits', async () => {
    const admin = await signIn(space.accounts.admin);
    await admin.getByRole('heading', { level: 1, name: 'Accounts' }).waitFor();
    await admin.getByLabel('Name', { exact: true }).fill('Second auditor');
    await admin.getByLabel('Role').selectOption('auditor');
    await admin.getByRole('button', { name: 'Create account' }).click();
    const keyField = admin.getByLabel('New API key');
    await keyField.waitFor();
    const apiKey = await keyField.inputValue();
    expect(apiKey).toMatch(/^vg_/);
    await screenshot(admin, 'admin-accounts');
    await expectAccessible(admin, 'admin accounts');
    await admin.getByRole('button', { name: 'I have saved it' }).click();
    await expect.poll(() => admin.content()).not.toContain(apiKey);
    // The key works, for the role it was made for.
    const created = await signIn(apiKey);
    await created.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();

    await open(admin, 'Credits', 'Credits');
    const sdk = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.researcher });
    const me = await sdk.me();
    const before = (await sdk.balance()).credits;
    await admin.getByLabel('Researcher account').selectOption(me.id);
    await admin.getByLabel('Amount (credits)').fill('250');
    await admin.getByRole('button', { name: 'Add credits' }).click();
    await admin.getByRole('status').filter({ hasText: 'Added 250 credits' }).waitFor();
    expect((await sdk.balance()).credits).toBeCloseTo(before + 250, 6);
    await screenshot(admin, 'admin-credits');
  }, TIMEOUT);

  it('the catalog is public to every role and no page raised an error', async () => {
    await open(researcher, 'Catalog', 'Data catalog');
    await researcher.getByText('hosp-c.cardiometabolic').first().waitFor();
    await screenshot(researcher, 'catalog');
    await expectAccessible(researcher, 'catalog');
    // Nothing secret in any page: no API key, consent token or private key in the DOM, the
    // URL or storage (the tab's own API key in sessionStorage is by design).
    const sdk = new VeilgateClient({ baseUrl: space.hubUrl, apiKey: space.accounts.researcher });
    const tokens = (await sdk.grants()).map((g) => g.token);
    const apiKeys = [space.accounts.researcher, space.accounts.auditor, space.accounts.admin, ...Object.values(space.accounts.operators).flat()];
    for (const c of contexts) {
      for (const p of c.pages()) {
        const seen = await p.evaluate(() => {
          const storage = (s: Storage) => Object.keys(s).filter((k) => k !== 'veilgate.apiKey').map((k) => `${k}=${s.getItem(k)}`).join('\n');
          return [document.documentElement.outerHTML, location.href, storage(localStorage), storage(sessionStorage)].join('\n');
        });
        for (const secret of [...apiKeys, ...tokens]) expect(seen.includes(secret), `a secret in ${p.url()}`).toBe(false);
        expect(seen).not.toMatch(/"d"\s*:\s*"[A-Za-z0-9_-]{20,}"/);
      }
    }
    expect(tokens.length).toBeGreaterThan(0);
    for (const c of contexts) for (const p of c.pages()) await p.close();
    expect(pageErrors).toEqual([]);
  }, TIMEOUT);
});

/** The SDK's decoded numbers as the page writes them in data-value. */
function expectedValues(groups: GroupResult[]): string[] {
  const out: string[] = [];
  for (const g of groups) {
    out.push(String(g.count));
    for (const a of g.aggregates) {
      if (a.op === 'histogram') for (const b of a.bins) out.push(String(b.count));
      else if (a.op === 'sum') out.push(a.exact);
      else if (a.op === 'count') out.push(String(a.value));
      else out.push(a.value === null ? '' : String(a.value));
    }
  }
  return out.filter((v) => v !== '');
}
