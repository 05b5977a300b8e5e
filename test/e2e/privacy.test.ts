/**
 * What even hub + researcher together cannot learn (DESIGN §2, issue 4 §1): one
 * institution's contribution, decrypted with the researcher's secret key, is uniformly
 * random (pairwise masks), while the sum of all contributions is exact. The contribution is
 * captured on the wire between hub and node, as a curious hub would keep it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VeilgateClient, decodeContribution, decryptSlots, loadHe, type Query } from '@veilgate/sdk';
import { createAccount } from '../../gateway/src/hub/accounts.ts';
import { generateSigningKey } from '../../gateway/src/crypto/ed25519.ts';
import { loadDictionary } from '../../gateway/src/datasets/dictionary.ts';
import { grantAccess } from '../../gateway/src/demo/grant-access.ts';
import { startHub, type HubConfig } from '../../gateway/src/server/config.ts';
import { startNodeProxy } from '../support/node-proxy.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';
import { expectedResult } from '../support/expected-result.ts';
import { assertMatches } from '../support/compare.ts';

let t: TestSpace;
let captured: Uint8Array[];
let client: VeilgateClient;
let close: () => Promise<void>;

/** Pearson's χ² of values in [0, t) over 8 equal bins. */
function chiSquare(values: BigUint64Array, t: bigint): number {
  const bins = new Array<number>(8).fill(0);
  for (const v of values) bins[Number((v * 8n) / t)]! += 1;
  const expected = values.length / 8;
  return bins.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
}
// χ²(7) at p = 1e-6 by Wilson–Hilferty: 7·(1 − 2/63 + 4.753·√(2/63))³ ≈ 41.9.
const CRITICAL = 41.9;

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 300 });
  const config = JSON.parse(readFileSync(join(t.dir, 'hub.json'), 'utf8')) as HubConfig;
  captured = [];
  const target = config.nodes.find((n) => n.id === 'hosp-a')!;
  const tap = await startNodeProxy(target.url, { mutate: (envelope) => (captured.push(envelope), envelope) });
  const hub = await startHub(
    { ...config, port: 0, store: join(t.dir, 'curious-hub.sqlite'), logKey: generateSigningKey().secretKey, nodes: config.nodes.map((n) => (n.id === 'hosp-a' ? { ...n, url: tap.url } : n)) },
    loadDictionary(),
    { log: () => {} },
  );
  const researcher = await createAccount(hub.store, { name: 'r', role: 'researcher' });
  const admin = await createAccount(hub.store, { name: 'a', role: 'admin' });
  await hub.store.topUpCredits(researcher.account.id, 100_000_000, admin.account.id);
  const operators: Record<string, string[]> = {};
  for (const n of config.nodes) operators[n.id] = [(await createAccount(hub.store, { name: 'o1', role: 'operator', node: n.id })).apiKey, (await createAccount(hub.store, { name: 'o2', role: 'operator', node: n.id })).apiKey];
  client = new VeilgateClient({ baseUrl: hub.url, apiKey: researcher.apiKey });
  await client.registerKey(t.keys);
  await grantAccess({ hubUrl: hub.url, researcher: researcher.apiKey, operators }, t.identity);
  close = async () => {
    await hub.close();
    await tap.close();
  };
});
afterAll(async () => {
  await close?.();
  await t?.close();
});

describe('pairwise masks', () => {
  it("one institution's contribution decrypts to uniform slots; the sum is exact", async () => {
    // 6 diagnoses × 12 age bands × 4 columns = 288 used slots.
    const query: Query = {
      datasets: t.datasets,
      groupBy: [{ element: 'diagnosis' }, { element: 'age', buckets: [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120] }],
      aggregates: [{ op: 'count' }, { op: 'stddev', element: 'systolic_bp' }],
    };
    const outcome = await client.query(query, { keys: t.keys, identity: t.identity });
    assertMatches(query, outcome.groups, await expectedResult(t.oracle, query, t.datasetHospital, t.minCell));
    const used = outcome.plan.groupCount * outcome.plan.columns.length;
    const { ciphertexts } = decodeContribution(captured.at(-1)!);
    const slots = (await decryptSlots(t.keys.secretKey, ciphertexts[0]!)).subarray(0, used);
    const { plainModulus } = await loadHe();
    expect(chiSquare(slots, plainModulus)).toBeLessThan(CRITICAL);
    // Not a single count slot holds a small number in the clear.
    const counts = Array.from({ length: outcome.plan.groupCount }, (_, g) => slots[g * outcome.plan.columns.length]!);
    expect(counts.filter((c) => c < 100_000n).length).toBe(0);
  });

  it('negative control: with a single institution there is nothing to mask against, and the test sees it', async () => {
    const query: Query = {
      datasets: ['hosp-a.cardiometabolic'],
      groupBy: [{ element: 'diagnosis' }, { element: 'age', buckets: [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120] }],
      aggregates: [{ op: 'count' }, { op: 'stddev', element: 'systolic_bp' }],
    };
    const outcome = await client.query(query, { keys: t.keys, identity: t.identity });
    const { ciphertexts } = decodeContribution(captured.at(-1)!);
    const slots = (await decryptSlots(t.keys.secretKey, ciphertexts[0]!)).subarray(0, outcome.plan.groupCount * outcome.plan.columns.length);
    const { plainModulus } = await loadHe();
    expect(chiSquare(slots, plainModulus)).toBeGreaterThan(CRITICAL);
  });
});
