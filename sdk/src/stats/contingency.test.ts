/**
 * Contingency-table statistics against R itself (`stats::chisq.test`, `stats::fisher.test`)
 * on random tables: statistic, df and p-values to 1e-9 relative; the odds ratio and relative
 * risk and their Wald intervals against the same formulas evaluated by R.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { hasR, runR } from '../../../test/support/rscript.ts';
import { chiSquareTest, twoByTwo, type ContingencyTable } from './contingency.ts';

const close = (a: number, b: number, rel = 1e-9) => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(1e-300, Math.abs(b)) + 1e-15);

const tables = fc.sample(
  fc.tuple(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 2, max: 5 })).chain(([r, c]) =>
    fc.array(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: c, maxLength: c }), { minLength: r, maxLength: r })),
  { numRuns: 40, seed: 20261206 },
);
const twos = fc.sample(fc.array(fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 2, maxLength: 2 }), { minLength: 2, maxLength: 2 }), { numRuns: 40, seed: 7 });
const asTable = (counts: number[][]): ContingencyTable => ({ rows: counts.map((_, i) => `r${i}`), columns: counts[0]!.map((_, j) => `c${j}`), counts });
const rMatrix = (counts: number[][]) => `matrix(c(${counts.flat().join(',')}), nrow = ${counts.length}, byrow = TRUE)`;

describe.skipIf(!hasR)('contingency tables equal R', () => {
  it('chisq.test: statistic, df and p-value on 40 random r × c tables (Yates for 2 × 2, as R)', async () => {
    const program = tables.map((t) => `r <- suppressWarnings(chisq.test(${rMatrix(t)})); cat(format(c(r$statistic, r$parameter, r$p.value), digits = 17), "\\n")`).join('\n');
    const lines = (await runR(program)).trim().split('\n');
    tables.forEach((t, i) => {
      const [stat, df, p] = lines[i]!.trim().split(/\s+/).map(Number);
      const ours = chiSquareTest(asTable(t));
      close(ours.statistic, stat!);
      expect(ours.df).toBe(df);
      close(ours.pValue, p!, 1e-9);
    });
  });

  it('fisher.test p-value, and the odds ratio and relative risk with 95 % Wald intervals, on 40 random 2 × 2 tables', async () => {
    const program = twos.map((t) => {
      const [[a, b], [c, d]] = t as [[number, number], [number, number]];
      return `p <- fisher.test(${rMatrix(t)})$p.value; or <- (${a}*${d})/(${b}*${c}); se <- sqrt(1/${a}+1/${b}+1/${c}+1/${d}); rr <- (${a}/(${a}+${b}))/(${c}/(${c}+${d})); sr <- sqrt(1/${a}-1/(${a}+${b})+1/${c}-1/(${c}+${d})); z <- qnorm(0.975); cat(format(c(p, or, exp(log(or)-z*se), exp(log(or)+z*se), rr, exp(log(rr)-z*sr), exp(log(rr)+z*sr)), digits = 17), "\\n")`;
    }).join('\n');
    const lines = (await runR(program)).trim().split('\n');
    twos.forEach((t, i) => {
      const [p, or, orLo, orHi, rr, rrLo, rrHi] = lines[i]!.trim().split(/\s+/).map(Number);
      const ours = twoByTwo(asTable(t));
      close(ours.fisherPValue, p!, 1e-7);
      close(ours.oddsRatio.estimate, or!);
      close(ours.oddsRatio.lower, orLo!);
      close(ours.oddsRatio.upper, orHi!);
      close(ours.relativeRisk.estimate, rr!);
      close(ours.relativeRisk.lower, rrLo!);
      close(ours.relativeRisk.upper, rrHi!);
    });
  });
});

it('refuses what is not a table', () => {
  expect(() => chiSquareTest(asTable([[1, 2]]))).toThrow(RangeError);
  expect(() => twoByTwo(asTable([[1, 2, 3], [4, 5, 6]]))).toThrow(RangeError);
  expect(() => twoByTwo(asTable([[1.5, 2], [3, 4]]))).toThrow(RangeError);
});
