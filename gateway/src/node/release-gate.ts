/**
 * The release gate (DESIGN §6 "one release gate", spec/protocol.md §5 and §10): the ONE place
 * where a node decides what leaves it. Every kind of node computation hands the gate its
 * local integer aggregates — per dataset, per group, per column — and gets back the slot
 * vectors to encrypt and the left-out list to sign. Nothing else may put a value into a slot.
 *
 * In order:
 * 1. **Ledger charge** (`charge`, optional): called before anything is computed for release;
 *    if it throws, nothing is released. This is where the node's own per-token ledger
 *    (budget, quota, ρ ceiling — node/ledger.ts) debits the query.
 * 2. **Disclosure rules per dataset.**
 *    - Differential privacy on: no decision on exact counts. Nothing is left out and no
 *      per-institution exclusion detail is released (`suppressed` is empty): the left-out list
 *      would otherwise reveal an exact count without noise (issue 10, attack 1). Small noisy
 *      cells are flagged by the researcher's SDK as post-processing of the noisy sum.
 *    - Differential privacy off: DataSHIELD's `nfilter.subset` (a filtered subset with
 *      0 < rows < minSubsetSize contributes nothing) and `nfilter.tab` for EVERY released
 *      count: if the group count, any non-missing count or any histogram bin is in
 *      (0, minCellSize), the whole group is left out of that dataset's contribution and listed
 *      (group, dataset) — never its count. Then, unless the dataset's operator chose exact
 *      mode, the cell-key method (node/cell-key.ts) perturbs every released value.
 * 3. **Bounds**: each dataset's value in a slot is kept in [0, maxRows · per-row bound], so the
 *    planner's no-wrap proof (rowBound = Σ maxRows) still holds after perturbation.
 * 4. **Noise**: with differential privacy on, this node's Skellam share (node/dp-noise.ts).
 * 5. **Masks**: pairwise masks (Bonawitz et al. 2017 §4) over the used slots.
 *
 * Future computations (GLM rounds XᵀWX and Xᵀ(y−μ), survival risk sets and event counts,
 * quantile bin counts) describe their columns as `ReleaseStatistic`s — a count of records, or a
 * magnitude with its per-row bound and the count of the same records — and pass through
 * `releaseContribution` like the aggregates do; they must not write slots themselves.
 */
import { addMask, addSelfMask, deriveMask, fromBase64Url, sealSeedShares, type ExactRandom, type LeftOut, type SealedShare, type SlotPlan } from '@veilgate/sdk';
import { GatewayError } from '../errors.ts';
import { perturbCount, perturbSum } from './cell-key.ts';
import { addNoiseShare, type SlotLayout } from './dp-noise.ts';

/** One released statistic of a group, spread over one slot column or several limbs. */
export interface ReleaseStatistic {
  /** `count`: a number of records (group rows, non-missing values, a bin). `magnitude`: Σ of a per-row value ≥ 0. */
  kind: 'count' | 'magnitude';
  /** Slot columns holding it: one, or its limbs from least significant (Σ = Σ_j 2^(j·limbBits)·column_j). */
  columns: number[];
  limbBits: number;
  /** The most one record adds: 1 for a count, (hi − lo)^p for Σu^p (also the DP sensitivity Δ). */
  bound: bigint;
  /** Magnitudes: the index (in `statistics`) of the count of the same records. */
  countOf?: number;
  /** Names the statistic for the cell-key table: the same label over the same records → the same perturbation. */
  label: string;
}

/** One group's local aggregates in one dataset: an integer per slot column, and cell keys when asked for. */
export interface GroupAggregate {
  group: number;
  values: bigint[];
  /** Σ record keys mod 2^32 per slot column (cell-key method); absent in exact mode and under DP. */
  cellKeys?: bigint[];
}

/** One dataset's aggregates and its disclosure policy. */
export interface DatasetAggregates {
  dataset: string;
  policy: { minCellSize: number; minSubsetSize: number; cellKey: boolean; maxRows: bigint };
  groups: GroupAggregate[];
}

/** Everything the gate needs to release one contribution. */
export interface ReleaseRequest {
  layout: SlotLayout & { ciphertextCount: number };
  statistics: ReleaseStatistic[];
  /** The statistic that counts a group's rows (for `nfilter.subset`). */
  rowsStatistic: number;
  datasets: DatasetAggregates[];
  plainModulus: bigint;
  /** Differential privacy on: ρ (zCDP) of this query and the slot headroom the plan reserved. */
  privacy: { rho: number; headroom: bigint } | null;
  /** Pairwise masking: this node, its mask key pair, the query's participants (from the signed query). */
  masking: {
    self: string; maskSecret: Uint8Array; maskKey: string; queryId: string; participants: { node: string; maskKey: string }[];
    /** The signed dropout threshold, when below the participants (protocol.md §10.1): self mask + sealed seed shares. */
    threshold?: number;
  };
  /**
   * The ledger step: called once, before anything is released, with what the release spends.
   * It throws (e.g. `budget_exhausted`) to refuse; then the gate releases nothing.
   */
  charge?: (spend: { datasets: string[]; rho: number }) => void | Promise<void>;
  rng?: ExactRandom;
}

/** What leaves the node: slot vectors (to encrypt) and the signed left-out list. */
export interface Release {
  slots: BigUint64Array[];
  suppressed: LeftOut[];
  /** Shares of the self-mask seed, each sealed to one peer (only under a dropout threshold). */
  seedShares?: SealedShare[];
}

/**
 * The release statistics of an aggregate slot plan: count, per element `present` and Σu^p
 * (limbs together), histogram bins.
 *
 * @example
 * const statistics = statisticsOfPlan(plan); // [{ kind: 'count', columns: [0], … }, …]
 */
export function statisticsOfPlan(plan: SlotPlan): ReleaseStatistic[] {
  const out: ReleaseStatistic[] = [];
  const present = new Map<string, number>();
  const powers = new Map<string, number>();
  plan.columns.forEach((c, i) => {
    if (c.kind === 'count' || c.kind === 'bin') {
      out.push({ kind: 'count', columns: [i], limbBits: 0, bound: 1n, label: 'count' });
    } else if (c.kind === 'present') {
      present.set(c.element!, out.length);
      out.push({ kind: 'count', columns: [i], limbBits: 0, bound: 1n, label: 'count' });
    } else {
      const key = `${c.element}:${c.power ?? 1}`;
      const at = powers.get(key);
      if (at !== undefined) {
        out[at]!.columns.push(i);
        return;
      }
      const e = plan.elements.find((x) => x.name === c.element)!;
      powers.set(key, out.length);
      out.push({
        kind: 'magnitude', columns: [i], limbBits: c.limbBits ?? 0, bound: (BigInt(e.hi) - BigInt(e.lo)) ** BigInt(c.power ?? 1),
        countOf: present.get(c.element!)!, label: `sum:${key}`,
      });
    }
  });
  return out;
}

/** Per slot column: the most one record adds to it (the planner's per-row bound). */
function perRowBounds(request: ReleaseRequest): bigint[] {
  const bounds = new Array<bigint>(request.layout.width).fill(1n);
  for (const s of request.statistics) {
    for (const c of s.columns) bounds[c] = s.columns.length > 1 ? (1n << BigInt(s.limbBits)) - 1n : s.bound;
  }
  return bounds;
}

function magnitudeOf(values: bigint[], s: ReleaseStatistic): bigint {
  return s.columns.reduce((total, c, j) => total + (values[c]! << BigInt(j * s.limbBits)), 0n);
}

/** Cell-key perturbation of one group's values (node/cell-key.ts); limbs are re-split canonically. */
function perturbGroup(request: ReleaseRequest, maxRows: bigint, aggregate: GroupAggregate): bigint[] {
  const keys = aggregate.cellKeys;
  if (!keys) throw new Error('release gate: the cell-key method needs cell keys');
  const out = [...aggregate.values];
  const released = request.statistics.map((s) => (s.kind === 'count' ? perturbCount(aggregate.values[s.columns[0]!]!, keys[s.columns[0]!]!, s.label) : 0n));
  request.statistics.forEach((s, i) => {
    if (s.kind === 'count') {
      out[s.columns[0]!] = released[i]!;
      return;
    }
    const n = aggregate.values[request.statistics[s.countOf!]!.columns[0]!]!;
    let sum = perturbSum(magnitudeOf(aggregate.values, s), n, released[s.countOf!]!, keys[s.columns[0]!]!, s.label, s.bound);
    if (sum > maxRows * s.bound) sum = maxRows * s.bound;
    if (s.columns.length === 1) {
      out[s.columns[0]!] = sum;
      return;
    }
    const mask = (1n << BigInt(s.limbBits)) - 1n;
    s.columns.forEach((c, j) => {
      const shifted = sum >> BigInt(j * s.limbBits);
      out[c] = j === s.columns.length - 1 ? shifted : shifted & mask;
    });
  });
  return out;
}

/** The disclosure rules of one dataset without DP: what it puts in each group, and what it leaves out. */
function disclose(request: ReleaseRequest, d: DatasetAggregates, suppressed: LeftOut[]): GroupAggregate[] {
  const rows = request.statistics[request.rowsStatistic]!.columns[0]!;
  const total = d.groups.reduce((n, g) => n + g.values[rows]!, 0n);
  const min = BigInt(d.policy.minCellSize);
  // DataSHIELD nfilter.subset: a filtered subset below the minimum contributes nothing.
  const subsetTooSmall = total > 0n && total < BigInt(d.policy.minSubsetSize);
  const kept: GroupAggregate[] = [];
  for (const g of d.groups) {
    // DataSHIELD nfilter.tab (dsBase's disclosure settings) for every released count: group
    // rows, non-missing values, histogram bins. One small count leaves the whole group out.
    const small = request.statistics.some((s) => s.kind === 'count' && g.values[s.columns[0]!]! > 0n && g.values[s.columns[0]!]! < min);
    if (g.values[rows]! > 0n && (subsetTooSmall || small)) {
      suppressed.push({ group: g.group, dataset: d.dataset });
      continue;
    }
    kept.push(d.policy.cellKey ? { group: g.group, values: perturbGroup(request, d.policy.maxRows, g) } : g);
  }
  return kept;
}

async function applyMasks(request: ReleaseRequest, slots: BigUint64Array[]): Promise<{ slots: BigUint64Array[]; seedShares?: SealedShare[] }> {
  const { masking } = request;
  const t = request.plainModulus;
  const self = masking.participants.find((p) => p.node === masking.self);
  if (!self || self.maskKey !== masking.maskKey) {
    throw new GatewayError('invalid_request', 'participants: this node is not listed with its own mask key', { field: 'participants' });
  }
  const peers = masking.participants.filter((p) => p.node !== masking.self).map((p) => ({ id: p.node, publicKey: fromBase64Url(p.maskKey) }));
  const ids = masking.participants.map((p) => p.node);
  // Only the slots the layout uses carry data; the rest are zero in every contribution and
  // need no mask (protocol.md §10). A small query masks dozens of slots, not 8192.
  const used = request.layout.groupCount * request.layout.width;
  // Dropout tolerance (protocol.md §10.1; Bonawitz et al. 2017 §4 "double masking"): a fresh
  // self-mask seed b per query, added as PRG(b), Shamir-shared (t − 1)-of-(n − 1) among the peers.
  const tolerant = masking.threshold !== undefined && masking.threshold < ids.length;
  const seed = tolerant ? crypto.getRandomValues(new Uint8Array(32)) : undefined;
  try {
    const masked = slots.map((vector, ciphertextIndex) => {
      const n = Math.max(0, Math.min(vector.length, used - ciphertextIndex * vector.length));
      const mask = deriveMask({ self: masking.self, secretKey: masking.maskSecret, peers, queryId: masking.queryId, participants: ids, ciphertextIndex, slots: n, plainModulus: t });
      if (seed) addSelfMask(mask, seed, ciphertextIndex, t, false);
      const out = new BigUint64Array(vector);
      out.set(addMask(vector.subarray(0, n), mask, t), 0);
      return out;
    });
    if (!seed) return { slots: masked };
    // Bonawitz §4 round 1 (ShareKeys): each share sealed to its peer; the survivors among them later reveal ≥ t − 1.
    const seedShares = await sealSeedShares({ self: masking.self, secretKey: masking.maskSecret, peers, queryId: masking.queryId, participants: ids, seed, threshold: masking.threshold! - 1 });
    return { slots: masked, seedShares };
  } finally {
    seed?.fill(0);
  }
}

function checkShape(request: ReleaseRequest): void {
  const { layout } = request;
  for (const d of request.datasets) {
    for (const g of d.groups) {
      if (!Number.isSafeInteger(g.group) || g.group < 0 || g.group >= layout.groupCount || g.values.length !== layout.width) {
        throw new Error(`release gate: dataset ${d.dataset} gave a group outside the layout`);
      }
      if (g.values.some((v) => v < 0n)) throw new Error(`release gate: dataset ${d.dataset} gave a negative aggregate`);
    }
  }
  if (request.privacy && request.statistics.some((s) => s.columns.length > 1)) {
    // A limb released without its own noise would leak (protocol.md §10); the planner never makes one under DP.
    throw new Error('release gate: limbs under differential privacy');
  }
}

/**
 * Releases one contribution: ledger charge, disclosure rules, cell-key perturbation or DP noise
 * share, pairwise masks. Returns the slot vectors to encrypt and the left-out list to sign.
 *
 * @example
 * const { slots, suppressed } = await releaseContribution({
 *   layout: { groupCount: plan.groupCount, width: plan.columns.length, slotsPerCiphertext: 8192, ciphertextCount: plan.ciphertextCount },
 *   statistics: statisticsOfPlan(plan), rowsStatistic: 0, datasets, plainModulus: t,
 *   privacy: { rho: 0.1, headroom: NOISE_HEADROOM }, masking,
 * });
 */
export async function releaseContribution(request: ReleaseRequest): Promise<Release> {
  checkShape(request);
  const { layout, privacy } = request;
  await request.charge?.({ datasets: request.datasets.map((d) => d.dataset), rho: privacy?.rho ?? 0 });
  const t = request.plainModulus;
  const bounds = perRowBounds(request);
  const slots = Array.from({ length: layout.ciphertextCount }, () => new BigUint64Array(layout.slotsPerCiphertext));
  const suppressed: LeftOut[] = [];
  for (const d of request.datasets) {
    // Under DP nothing is decided on exact counts: every group goes in, noise covers it.
    const groups = privacy ? d.groups : disclose(request, d, suppressed);
    for (const g of groups) {
      for (let c = 0; c < layout.width; c++) {
        const ceiling = d.policy.maxRows * bounds[c]!;
        const value = g.values[c]! < 0n ? 0n : g.values[c]! > ceiling ? ceiling : g.values[c]!;
        const index = g.group * layout.width + c;
        const vector = slots[Math.floor(index / layout.slotsPerCiphertext)]!;
        const at = index % layout.slotsPerCiphertext;
        vector[at] = (vector[at]! + value) % t;
      }
    }
  }
  if (privacy) {
    const sensitivities = new Array<bigint>(layout.width).fill(1n);
    for (const s of request.statistics) for (const c of s.columns) sensitivities[c] = s.bound;
    // protocol.md §10.1: under a dropout threshold each share carries σ²/threshold, so the sum over
    // ≥ threshold survivors carries ≥ σ² (more, up to n/threshold · σ², when more answer).
    const shares = request.masking.threshold ?? request.masking.participants.length;
    addNoiseShare(layout, sensitivities, slots, { rho: privacy.rho, participants: shares, plainModulus: t, headroom: privacy.headroom, ...(request.rng ? { rng: request.rng } : {}) });
  }
  // Pairwise masks (protocol.md §10, Bonawitz et al. 2017 §4): the masks of all participants
  // cancel in the sum, so each contribution alone decrypts to uniformly random slots.
  if (request.masking.participants.length <= 1) return { slots, suppressed };
  return { ...(await applyMasks(request, slots)), suppressed };
}
