/**
 * Dropout-tolerant secure aggregation (spec/protocol.md §10.1, Bonawitz et al. CCS 2017 §4),
 * played for real: ten institution nodes, some of them their own OS processes that are
 * SIGKILLed in the middle of a query; a hub that claims a live node dropped; too few survivors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiError, decodeContribution, decryptSlots, derivePairKey, fromBase64Url, loadHe, unmaskingCorrection, type Query,
} from '@veilgate/sdk';
import type { NodeConfig, HubConfig } from '../../gateway/src/server/config.ts';
import { maskKeyOf } from '../../gateway/src/node/mask-key.ts';
import { postSigned } from '../../gateway/src/hub/node-call.ts';
import { startTestSpace, type TestSpace } from '../support/space.ts';
import { assertMatches } from '../support/compare.ts';
import { expectedResult } from '../support/expected-result.ts';
import { startNodeProxy } from '../support/node-proxy.ts';

let t: TestSpace;
let hub: HubConfig;
const config = (id: string): NodeConfig => JSON.parse(readFileSync(join(t.dir, 'nodes', `${id}.json`), 'utf8')) as NodeConfig;

beforeAll(async () => {
  t = await startTestSpace({ patientsPerHospital: 60, hospitals: 10 });
  hub = JSON.parse(readFileSync(join(t.dir, 'hub.json'), 'utf8')) as HubConfig;
}, 120_000);
afterAll(async () => {
  if (process.env.VEILGATE_DEBUG) console.log(t?.lines.slice(-40).join('\n'));
  await t?.close();
});

const query = (): Query => ({ datasets: t.datasets, groupBy: [{ element: 'sex' }], aggregates: [{ op: 'count' }, { op: 'mean', element: 'bmi' }] });
const ids = () => t.space.nodes.map((n) => n.id).sort();

const exited = (c: ChildProcess): Promise<void> =>
  new Promise((done) => (c.exitCode !== null || c.signalCode !== null ? done() : c.once('exit', () => done())));

/**
 * Routes each node through a proxy that lets it compute, then SIGKILLs its process before the
 * answer leaves and breaks the connection: the node dies in the middle of the round.
 */
async function killOnCompute(victims: (readonly [string, ChildProcess])[]): Promise<() => void> {
  const undos: (() => void)[] = [];
  const proxies = await Promise.all(victims.map(async ([id, child]) => {
    const proxy = await startNodeProxy(t.space.nodes.find((n) => n.id === id)!.url, {
      mutate: () => {
        child.kill('SIGKILL');
        throw new Error('killed');
      },
    });
    undos.push(t.space.routeNode(id, proxy.url));
    return proxy;
  }));
  return () => {
    for (const u of undos) u();
    for (const p of proxies) void p.close();
  };
}

describe('dropout-tolerant secure aggregation over 10 institutions (threshold 7)', () => {
  it('survives one node process SIGKILLed mid-round: the result is the survivors\' exact sum and names the missing node', async () => {
    const victim = ids()[9]!;
    const child = await t.space.moveNodeToProcess(victim);
    const q = query();
    const undo = await killOnCompute([[victim, child]]);
    let outcome;
    try {
      outcome = await t.client.query(q, { keys: t.keys, identity: t.identity });
    } finally {
      undo();
    }
    await exited(child);
    expect(child.signalCode).toBe('SIGKILL');
    await t.space.moveNodeToProcess(victim); // back up for the next tests
    expect(outcome.missing).toEqual([victim]);
    expect(outcome.contributions.map((c) => c.node).sort()).toEqual(ids().filter((id) => id !== victim));
    // Oracle: the pooled plaintext over the nine survivors' datasets (DuckDB over the same rows).
    const survivorsQuery = { ...q, datasets: q.datasets.filter((d) => t.datasetHospital[d] !== victim) };
    assertMatches(q, outcome.groups, await expectedResult(t.oracle, survivorsQuery, t.datasetHospital, t.minCell));
    expect(t.lines.some((l) => l.includes(`missing=${victim}`))).toBe(true);
  }, 120_000);

  it('a hub that claims a live node dropped learns nothing from its contribution: peers refuse its seed shares, and it stays uniform', async () => {
    // The hub's network drops hosp-b's answer on the way back (the hub "claims it dropped") but keeps a copy.
    const live = ids()[1]!;
    let captured: Uint8Array | undefined;
    const proxy = await startNodeProxy(t.space.nodes.find((n) => n.id === live)!.url, { mutate: (body) => { captured = body; return new Uint8Array([1, 2, 3]); } });
    const undo = t.space.routeNode(live, proxy.url);
    let outcome;
    try {
      outcome = await t.client.query(query(), { keys: t.keys, identity: t.identity });
    } finally {
      undo();
      await proxy.close();
    }
    expect(outcome.missing).toEqual([live]);
    expect(captured).toBeDefined();
    const { header, ciphertexts } = decodeContribution(captured!);
    const queryId = header.queryId;
    // Every survivor revealed a seed share of the others and its pair key with `live`. The lying
    // hub now says `live` answered after all, to get its seed: every peer refuses (never both).
    const others = ids().filter((id) => id !== live);
    for (const peer of others.slice(0, 3)) {
      const node = { id: peer, url: t.space.nodes.find((n) => n.id === peer)!.url, signingKey: '' };
      const res = await postSigned(node, '/v1/unmask', hub.signingKey, { queryId, survivors: ids(), dropped: [], shares: [] }, { timeoutMs: 10_000 });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { code: string }).code).toBe('unmask_refused');
    }
    // What the hub (with the researcher) can strip: every pair mask of `live` (the revealed K_{u,live},
    // recomputed here from the nodes' own keys as the independent oracle) — the self mask remains.
    const participants = ids();
    const pairKeys = others.map((u) => ({
      survivor: u, dropped: live,
      key: derivePairKey({ secretKey: maskKeyOf(config(u).signingKey).secretKey, peerPublicKey: fromBase64Url(maskKeyOf(config(live).signingKey).publicKey), queryId, participants }),
    }));
    const he = await loadHe();
    const slots = await decryptSlots(t.keys.secretKey, ciphertexts[0]!);
    const used = outcome.plan.groupCount * outcome.plan.columns.length;
    const pads = unmaskingCorrection({ seeds: [], pairKeys }, 0, used, he.plainModulus);
    const stripped = [...slots.subarray(0, used)].map((y, i) => (y + he.plainModulus - ((he.plainModulus - pads[i]!) % he.plainModulus)) % he.plainModulus);
    // The true values of one hospital's 60 patients are below 2^20; a uniform residue mod t (≈ 2^40) is
    // below 2^20 with probability 2^-20 per slot.
    expect(stripped.every((v) => v > 1n << 20n)).toBe(true);
    // Control: with the contribution's own seed the test would see small numbers; without it, none.
  }, 120_000);

  it('below the threshold the query fails, is logged as failed, and charges nothing', async () => {
    const victims = ids().slice(5, 9); // 4 of 10 die mid-round: 6 survivors < 7
    const children = await Promise.all(victims.map(async (v) => [v, await t.space.moveNodeToProcess(v)] as const));
    const before = await t.client.balance();
    const undo = await killOnCompute(children);
    const err = await t.client.query(query(), { keys: t.keys, identity: t.identity }).catch((e: unknown) => e).finally(undo);
    await Promise.all(children.map(([, c]) => exited(c)));
    expect(children.every(([, c]) => c.signalCode === 'SIGKILL')).toBe(true);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('too_few_participants');
    expect((err as ApiError).message).not.toMatch(/\d{3,}\.\d/); // no aggregate in the message
    const after = await t.client.balance();
    expect(after.credits).toBe(before.credits);
    // No credits and no ρ: the reservation is released with query.failed (a query of the quota is used, as for every failed query).
    expect(after.grants.map((g) => [g.spent, g.reserved])).toEqual(before.grants.map((g) => [g.spent, g.reserved]));
    expect(t.lines.some((l) => l.includes('failed: too_few_participants'))).toBe(true);
  }, 120_000);
});
