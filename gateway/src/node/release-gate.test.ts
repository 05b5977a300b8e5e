/**
 * The release gate (node/release-gate.ts): what it lets out of a node, rule by rule. The
 * expected slots are written by hand from the rules of spec/protocol.md §5 and §10.
 */
import { describe, expect, it, vi } from 'vitest';
import { NOISE_HEADROOM, centerResidue, loadHe, planQuery, type Query } from '@veilgate/sdk';
import { loadDictionary } from '../datasets/dictionary.ts';
import { releaseContribution, statisticsOfPlan, type DatasetAggregates, type ReleaseRequest } from './release-gate.ts';

const he = await loadHe();
const T = he.plainModulus;
const dictionary = loadDictionary();
const QUERY: Query = { datasets: ['d'], groupBy: [{ element: 'sex' }], aggregates: [{ op: 'count' }, { op: 'mean', element: 'hba1c' }, { op: 'histogram', element: 'hba1c', bins: [3, 6.5, 20] }] };

function requestFor(query: Query, datasets: DatasetAggregates[], options: { rowBound?: bigint; dp?: number } = {}): ReleaseRequest {
  const plan = planQuery(query, { elements: dictionary, rowBound: options.rowBound ?? 1000n, plainModulus: T, slotCount: he.slotCount, ...(options.dp ? { privacy: { headroom: NOISE_HEADROOM } } : {}) });
  return {
    layout: { groupCount: plan.groupCount, width: plan.columns.length, slotsPerCiphertext: he.slotCount, ciphertextCount: plan.ciphertextCount },
    statistics: statisticsOfPlan(plan), rowsStatistic: 0, datasets, plainModulus: T,
    privacy: options.dp ? { rho: options.dp, headroom: NOISE_HEADROOM } : null,
    masking: { self: 'n', maskSecret: new Uint8Array(32), maskKey: 'k', queryId: 'q', participants: [{ node: 'n', maskKey: 'k' }] },
  };
}

const policy = (cellKey = false) => ({ minCellSize: 3, minSubsetSize: 3, cellKey, maxRows: 1000n });
const read = (slots: BigUint64Array[], width: number, g: number) => Array.from(slots[0]!.subarray(g * width, (g + 1) * width), (v) => centerResidue(v, T));

describe('statistics of a plan', () => {
  it('count, present and bins are counts; Σu^p is a magnitude over the present rows, its limbs together', () => {
    const plan = planQuery({ datasets: ['d'], aggregates: [{ op: 'variance', element: 'systolic_bp' }, { op: 'histogram', element: 'age', bins: [0, 50, 120] }] }, {
      elements: dictionary, rowBound: 1_000_000_000n, plainModulus: T, slotCount: he.slotCount,
    });
    const stats = statisticsOfPlan(plan);
    expect(stats.map((s) => [s.kind, s.label])).toEqual([['count', 'count'], ['count', 'count'], ['magnitude', 'sum:systolic_bp:1'], ['magnitude', 'sum:systolic_bp:2'], ['count', 'count'], ['count', 'count']]);
    expect(stats[3]!.columns.length).toBeGreaterThan(1); // Σu² needs limbs at rowBound 10^9
    expect(stats[3]!.bound).toBe(200n ** 2n);
    expect(stats[3]!.countOf).toBe(1);
  });
});

describe('DP off, exact mode: nfilter.subset and nfilter.tab on every released count', () => {
  // Columns: count, present(hba1c), Σu(hba1c), bin [3,6.5), bin [6.5,20].
  it('a group with one small bin is left out whole and listed; the others are exact', async () => {
    const datasets: DatasetAggregates[] = [{
      dataset: 'd', policy: policy(), groups: [{ group: 0, values: [5n, 5n, 150n, 3n, 2n] }, { group: 1, values: [7n, 6n, 200n, 3n, 3n] }],
    }];
    const { slots, suppressed } = await releaseContribution(requestFor(QUERY, datasets));
    expect(suppressed).toEqual([{ group: 0, dataset: 'd' }]);
    expect(read(slots, 5, 0)).toEqual([0n, 0n, 0n, 0n, 0n]);
    expect(read(slots, 5, 1)).toEqual([7n, 6n, 200n, 3n, 3n]);
  });

  it('a small non-missing count leaves the group out', async () => {
    const { suppressed } = await releaseContribution(requestFor(QUERY, [{ dataset: 'd', policy: policy(), groups: [{ group: 1, values: [9n, 2n, 50n, 0n, 2n] }] }]));
    expect(suppressed).toEqual([{ group: 1, dataset: 'd' }]);
  });

  it('a filtered subset of 0 < n < minSubsetSize contributes nothing', async () => {
    const datasets: DatasetAggregates[] = [{ dataset: 'd', policy: { ...policy(), minCellSize: 1 }, groups: [{ group: 0, values: [1n, 1n, 9n, 1n, 0n] }, { group: 1, values: [1n, 1n, 9n, 1n, 0n] }] }];
    const { slots, suppressed } = await releaseContribution(requestFor(QUERY, datasets));
    expect(suppressed).toHaveLength(2);
    expect(read(slots, 5, 1)).toEqual([0n, 0n, 0n, 0n, 0n]);
  });
});

describe('DP on: nothing decided on exact counts', () => {
  it('a one-patient group is neither left out nor listed; its slots carry noise', async () => {
    const outputs = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { slots, suppressed } = await releaseContribution(requestFor(QUERY, [{ dataset: 'd', policy: policy(), groups: [{ group: 0, values: [1n, 1n, 40n, 1n, 0n] }] }], { dp: 0.5 }));
      expect(suppressed).toEqual([]);
      outputs.add(read(slots, 5, 0).join(','));
    }
    expect(outputs.size).toBeGreaterThan(15);
  });
});

describe('ledger charge', () => {
  it('is called once, with what the release spends, before anything is released; a refusal releases nothing', async () => {
    const charge = vi.fn();
    const request = { ...requestFor(QUERY, [{ dataset: 'd', policy: policy(), groups: [] }], { dp: 0.25 }), charge };
    await releaseContribution(request);
    expect(charge).toHaveBeenCalledOnce();
    expect(charge).toHaveBeenCalledWith({ datasets: ['d'], rho: 0.25 });
    const refusal = Object.assign(new Error('budget'), { code: 'budget_exhausted' });
    await expect(releaseContribution({ ...request, charge: () => { throw refusal; } })).rejects.toBe(refusal);
  });
});

describe('cell-key perturbation', () => {
  it('the same records get the same release; limbs re-split to the perturbed total; within the no-wrap bound', async () => {
    const query: Query = { datasets: ['d'], aggregates: [{ op: 'variance', element: 'systolic_bp' }] };
    const rowBound = 1_000_000_000n;
    const values = [40n, 40n, 2_400n, 0n, 0n, 0n];
    const req = requestFor(query, [], { rowBound });
    const width = req.layout.width;
    const limbs = req.statistics[3]!;
    // Σu² = 130 000 split into the plan's limbs.
    const sum2 = 130_000n;
    const mask = (1n << BigInt(limbs.limbBits)) - 1n;
    const full = values.slice(0, width);
    limbs.columns.forEach((c, j) => (full[c] = j === limbs.columns.length - 1 ? sum2 >> BigInt(j * limbs.limbBits) : (sum2 >> BigInt(j * limbs.limbBits)) & mask));
    const datasets: DatasetAggregates[] = [{ dataset: 'd', policy: { ...policy(true), maxRows: rowBound }, groups: [{ group: 0, values: full, cellKeys: full.map((_, c) => BigInt(c * 7919 + 12345)) }] }];
    const a = await releaseContribution({ ...req, datasets });
    const b = await releaseContribution({ ...req, datasets });
    expect(read(a.slots, width, 0)).toEqual(read(b.slots, width, 0));
    const out = read(a.slots, width, 0);
    const n = out[1]!;
    expect(n >= 38n && n <= 42n).toBe(true);
    const total = limbs.columns.reduce((s, c, j) => s + (out[c]! << BigInt(j * limbs.limbBits)), 0n);
    // Σu² scaled to the released count, then shifted by at most Δ/2 = 200²/2.
    expect(total - (sum2 * n + 20n) / 40n).toBeGreaterThanOrEqual(-20_000n);
    expect(total - (sum2 * n + 20n) / 40n).toBeLessThanOrEqual(20_000n);
    for (const c of limbs.columns.slice(0, -1)) expect(out[c]! <= mask).toBe(true);
  });

  it('a perturbed value never exceeds maxRows × its per-row bound (the planner\'s proof still holds)', async () => {
    const req = requestFor({ datasets: ['d'], aggregates: [{ op: 'count' }] }, []);
    for (let key = 0n; key < 50n; key++) {
      const { slots } = await releaseContribution({ ...req, datasets: [{ dataset: 'd', policy: { ...policy(true), maxRows: 10n }, groups: [{ group: 0, values: [10n], cellKeys: [key] }] }] });
      expect(read(slots, 1, 0)[0]! <= 10n).toBe(true);
    }
  });
});
