/**
 * Contingency tables of two categorical elements (issue 12): Pearson's chi-square test as R's
 * `stats::chisq.test` computes it (Yates' continuity correction for 2 × 2 tables by default),
 * Fisher's exact test for 2 × 2 tables as `stats::fisher.test` computes its two-sided p-value
 * (the sum of the hypergeometric probabilities no larger than the observed one, with R's
 * relative tolerance 1 + 10⁻⁷), and the odds ratio and relative risk of a 2 × 2 table with Wald
 * confidence intervals on the log scale (Woolf 1955; Katz et al. 1978). The counts come from one
 * round of encrypted counts, so everything here is post-processing of what the release gate
 * released: with differential privacy on, it costs no further privacy.
 *
 * Distributions from @stdlib (a well-kept numerical library with R-checked fixtures), not by hand.
 */
import gammainc from '@stdlib/math-base-special-gammainc';
import hypergeometricPmf from '@stdlib/stats-base-dists-hypergeometric-pmf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';

/** A two-way table: `counts[i][j]` is the count of row level i and column level j. */
export interface ContingencyTable {
  rows: string[];
  columns: string[];
  counts: number[][];
}

/** Pearson's chi-square test of independence. */
export interface ChiSquareTest {
  statistic: number;
  df: number;
  pValue: number;
  /** Whether Yates' continuity correction was applied (2 × 2 tables, as R's default). */
  corrected: boolean;
  /** Expected counts under independence, as `chisq.test(...)$expected`. */
  expected: number[][];
}

/** An estimate with its confidence interval. */
export interface Estimate {
  estimate: number;
  lower: number;
  upper: number;
  level: number;
}

/** Everything a 2 × 2 table gives. */
export interface TwoByTwo {
  fisherPValue: number;
  /** (a·d)/(b·c), first row and column as the exposed/event level. */
  oddsRatio: Estimate;
  /** (a/(a+b)) / (c/(c+d)). */
  relativeRisk: Estimate;
}

function checkTable(table: ContingencyTable): void {
  const r = table.counts.length;
  if (r < 2 || table.counts.some((row) => row.length !== table.counts[0]!.length) || table.counts[0]!.length < 2) {
    throw new RangeError('a contingency table needs at least 2 rows and 2 columns of equal length');
  }
  if (table.counts.flat().some((v) => !Number.isFinite(v) || v < 0)) throw new RangeError('counts must be finite and ≥ 0');
}

/**
 * Pearson's chi-square test of independence, as R's `chisq.test(x, correct = TRUE)`:
 * X² = Σ (|O − E| − c)² / E with c = min(0.5, |O − E|) for a 2 × 2 table when `correct`, else 0;
 * df = (r − 1)(c − 1); p = P(χ²_df ≥ X²).
 *
 * @example
 * chiSquareTest({ rows: ['f', 'm'], columns: ['no', 'yes'], counts: [[12, 5], [9, 14]] }).pValue;
 */
export function chiSquareTest(table: ContingencyTable, options: { correct?: boolean } = {}): ChiSquareTest {
  checkTable(table);
  const { counts } = table;
  const rowSums = counts.map((row) => row.reduce((a, b) => a + b, 0));
  const colSums = counts[0]!.map((_, j) => counts.reduce((a, row) => a + row[j]!, 0));
  const n = rowSums.reduce((a, b) => a + b, 0);
  const expected = rowSums.map((ri) => colSums.map((cj) => (ri * cj) / n));
  const corrected = (options.correct ?? true) && counts.length === 2 && counts[0]!.length === 2;
  let statistic = 0;
  counts.forEach((row, i) => row.forEach((o, j) => {
    const e = expected[i]![j]!;
    const diff = Math.abs(o - e);
    // R stats:::chisq.test: YATES <- min(0.5, abs(x - E)) for a 2 × 2 table.
    const yates = corrected ? Math.min(0.5, diff) : 0;
    statistic += (diff - yates) ** 2 / e;
  }));
  const df = (counts.length - 1) * (counts[0]!.length - 1);
  // P(χ²_df ≥ X²) = Q(df/2, X²/2), the upper regularized incomplete gamma — computed directly,
  // not as 1 − CDF, so a small p keeps its digits (R: pchisq(X², df, lower.tail = FALSE)).
  return { statistic, df, pValue: gammainc(statistic / 2, df / 2, true, true), corrected, expected };
}

/**
 * Fisher's exact test, odds ratio and relative risk of a 2 × 2 table [[a, b], [c, d]].
 * The p-value is R's `fisher.test(x)$p.value` (two-sided); the odds ratio is the sample
 * (unconditional) one, with the Wald interval exp(log OR ± z·√(1/a + 1/b + 1/c + 1/d)); the
 * relative risk exp(log RR ± z·√(1/a − 1/(a+b) + 1/c − 1/(c+d))).
 *
 * @example
 * const { fisherPValue, oddsRatio } = twoByTwo({ rows: ['f', 'm'], columns: ['yes', 'no'], counts: [[12, 5], [9, 14]] });
 */
export function twoByTwo(table: ContingencyTable, options: { level?: number } = {}): TwoByTwo {
  checkTable(table);
  if (table.counts.length !== 2 || table.counts[0]!.length !== 2) throw new RangeError('a 2 × 2 table is needed');
  const [[a, b], [c, d]] = table.counts as [[number, number], [number, number]];
  if (![a, b, c, d].every(Number.isInteger)) throw new RangeError("Fisher's exact test needs integer counts");
  const level = options.level ?? 0.95;
  const z = normalQuantile(1 - (1 - level) / 2, 0, 1);
  // Hypergeometric on the first cell with the margins fixed (R: dhyper(x, m, n, k)).
  const total = a + b + c + d;
  const m = a + c; // first column total
  const k = a + b; // first row total
  const lo = Math.max(0, k - (total - m));
  const hi = Math.min(k, m);
  const observed = hypergeometricPmf(a, total, m, k);
  let p = 0;
  // R fisher.test: relErr <- 1 + 10^(-7); sum(d[d <= d[x] * relErr]).
  for (let x = lo; x <= hi; x++) {
    const px = hypergeometricPmf(x, total, m, k);
    if (px <= observed * (1 + 1e-7)) p += px;
  }
  const wald = (estimate: number, se: number): Estimate => ({
    estimate, lower: Math.exp(Math.log(estimate) - z * se), upper: Math.exp(Math.log(estimate) + z * se), level,
  });
  return {
    fisherPValue: Math.min(1, p),
    oddsRatio: wald((a * d) / (b * c), Math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)),
    relativeRisk: wald(a / (a + b) / (c / (c + d)), Math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))),
  };
}

/**
 * Builds a table from a decoded two-way result (groups keyed by both elements, with counts).
 *
 * @example
 * const table = tableFromGroups(outcome.groups, 'sex', 'smoking');
 */
export function tableFromGroups(groups: { key: Record<string, string>; count: number }[], rowElement: string, columnElement: string): ContingencyTable {
  const rows = [...new Set(groups.map((g) => g.key[rowElement]!))];
  const columns = [...new Set(groups.map((g) => g.key[columnElement]!))];
  const counts = rows.map(() => columns.map(() => 0));
  for (const g of groups) counts[rows.indexOf(g.key[rowElement]!)]![columns.indexOf(g.key[columnElement]!)]! += g.count;
  return { rows, columns, counts };
}
