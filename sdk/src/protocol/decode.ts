/**
 * Decoding of decrypted slots into typed per-group statistics (spec/protocol.md §4).
 * Sums are reassembled exactly in BigInt from their limbs and shifted back by the
 * element's `lo`; means and variances are computed from those exact integers and only then
 * converted to floating point, so noise-free results match a plaintext computation to
 * within one rounding.
 */
import { ResultVerificationError } from '../errors.ts';
import type { Query, SlotPlan, Suppression } from './query.ts';
import { histogramIndex, slotOf } from './plan.ts';

/** One institution's dataset that left a group out (below its minimum cell size). */
export interface Exclusion {
  node: string;
  dataset: string;
}

/** A histogram bin and its count. */
export interface HistogramBin {
  lower: number;
  upper: number;
  count: number;
}

/** The value of one requested aggregate in one group, in query order. */
export type AggregateValue =
  | { op: 'count'; value: number }
  | { op: 'sum'; element: string; n: number; value: number; exact: string }
  | { op: 'mean' | 'variance' | 'stddev'; element: string; n: number; value: number | null }
  | { op: 'histogram'; element: string; bins: HistogramBin[] };

/** One group of a decoded result. */
export interface GroupResult {
  /** Group-by element → level label (a code, or a bucket such as `[40,65)`). */
  key: Record<string, string>;
  /** Rows in the group over every contribution that was not left out. */
  count: number;
  /** Institutions whose rows in this group were left out (below their minimum cell size). */
  excludedAt: Exclusion[];
  aggregates: AggregateValue[];
}

/** Maps a residue in [0, t) to the signed integer in (−t/2, t/2] it represents. */
export function centerResidue(v: bigint, t: bigint): bigint {
  return v > (t - 1n) / 2n ? v - t : v;
}

/** The element-wise sum of per-limb slots: Σ_j 2^(j·k) · S_j. */
function powerSum(read: (column: number) => bigint, plan: SlotPlan, element: string, power: number): bigint {
  let total = 0n;
  plan.columns.forEach((c, i) => {
    if (c.kind === 'power' && c.element === element && c.power === power) total += read(i) << BigInt((c.limb ?? 0) * (c.limbBits ?? 0));
  });
  return total;
}

function columnIndex(plan: SlotPlan, match: (c: SlotPlan['columns'][number]) => boolean, what: string): number {
  const i = plan.columns.findIndex(match);
  if (i < 0) throw new ResultVerificationError('plan_mismatch', `the plan has no slot for ${what}`);
  return i;
}

/**
 * Decodes decrypted slot vectors (one per ciphertext) into per-group results.
 *
 * @example
 * const groups = decodeResult(query, plan, [slots], suppressed);
 * groups[0].aggregates[0]; // { op: 'count', value: 1234 }
 */
export function decodeResult(query: Query, plan: SlotPlan, slots: BigUint64Array[], suppressed: Suppression[]): GroupResult[] {
  if (slots.length !== plan.ciphertextCount) {
    throw new ResultVerificationError('decode_failed', `expected ${plan.ciphertextCount} ciphertexts, got ${slots.length}`);
  }
  const t = BigInt(plan.plainModulus);
  const elements = new Map(plan.elements.map((e) => [e.name, { scale: e.scale, lo: BigInt(e.lo) }]));
  const histograms: { element: string; bins: number[] }[] = [];
  for (const a of query.aggregates) if (a.op === 'histogram' && histogramIndex(histograms, a) < 0) histograms.push(a);
  const groups: GroupResult[] = [];
  for (let g = 0; g < plan.groupCount; g++) {
    const read = (column: number): bigint => {
      const { ciphertext, slot } = slotOf(plan, g, column);
      return centerResidue(slots[ciphertext]![slot]!, t);
    };
    const levels: string[] = [];
    let rest = g;
    for (let i = plan.groupings.length - 1; i >= 0; i--) {
      const labels = plan.groupings[i]!.labels;
      levels[i] = labels[rest % labels.length]!;
      rest = Math.floor(rest / labels.length);
    }
    const key = Object.fromEntries(plan.groupings.map((grouping, i) => [grouping.element, levels[i]!]));
    const count = Number(read(columnIndex(plan, (c) => c.kind === 'count', 'count')));
    const aggregates = query.aggregates.map((a): AggregateValue => {
      if (a.op === 'count') return { op: 'count', value: count };
      if (a.op === 'histogram') {
        const histogram = histogramIndex(histograms, a);
        const bins = a.bins.slice(1).map((upper, bin) => {
          const lower = a.bins[bin]!;
          const i = columnIndex(plan, (c) => c.kind === 'bin' && c.histogram === histogram && c.bin === bin && c.lower === lower && c.upper === upper, `histogram bin ${bin} of ${a.element}`);
          return { lower, upper, count: Number(read(i)) };
        });
        return { op: 'histogram', element: a.element, bins };
      }
      const fp = elements.get(a.element);
      if (!fp) throw new ResultVerificationError('plan_mismatch', `the plan has no encoding for ${a.element}`);
      const n = read(columnIndex(plan, (c) => c.kind === 'present' && c.element === a.element, `present(${a.element})`));
      // Σv = Σu + n·lo and Σv² = Σu² + 2·lo·Σu + n·lo², with u = v − lo (protocol.md §3).
      const su = powerSum(read, plan, a.element, 1);
      const sv = su + n * fp.lo;
      const nn = Number(n);
      if (a.op === 'sum') return { op: 'sum', element: a.element, n: nn, value: Number(sv) / fp.scale, exact: exactDecimal(sv, fp.scale) };
      // With noise a count can come out zero or negative: no mean then.
      if (a.op === 'mean') return { op: 'mean', element: a.element, n: nn, value: nn <= 0 ? null : Number(sv) / nn / fp.scale };
      if (nn < 2) return { op: a.op, element: a.element, n: nn, value: null };
      const su2 = powerSum(read, plan, a.element, 2);
      const sv2 = su2 + 2n * fp.lo * su + n * fp.lo * fp.lo;
      // Sample variance (n−1 denominator, as DuckDB's var_samp and R's var) from exact integers.
      const numerator = n * sv2 - sv * sv;
      const variance = Number(numerator) / (nn * (nn - 1)) / (fp.scale * fp.scale);
      // Noisy sums can make the estimate negative; a variance is never below zero.
      const clipped = Math.max(0, variance);
      return { op: a.op, element: a.element, n: nn, value: a.op === 'variance' ? clipped : Math.sqrt(clipped) };
    });
    const excludedAt = suppressed.filter((s) => s.group === g).map((s) => ({ node: s.node, dataset: s.dataset }));
    groups.push({ key, count, excludedAt, aggregates });
  }
  return groups;
}

/** An exact decimal rendering of v / scale, where scale is a power of ten. */
function exactDecimal(v: bigint, scale: number): string {
  const digits = Math.round(Math.log10(scale));
  if (digits === 0) return v.toString();
  const negative = v < 0n;
  const s = (negative ? -v : v).toString().padStart(digits + 1, '0');
  return `${negative ? '-' : ''}${s.slice(0, -digits)}.${s.slice(-digits)}`;
}
