/**
 * Compiles a planned query into one aggregate statement over a standardised dataset table
 * (spec/protocol.md §4). The statement returns one row per non-empty group: the group index
 * `g` and one integer per plan column (`c0`, `c1`, …), already in the slot encoding — so the
 * node only copies integers into slots. Literal values from the query are bound parameters;
 * numbers from the plan (checked finite by the planner) are inlined.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import type { Filter, PlanColumn, Query, SlotPlan } from '@veilgate/sdk';
import { ident, numberLiteral } from './sql-text.ts';
import { SUBJECT_COLUMN, WITHDRAWN_TABLE, codeIndexColumn, offsetColumn } from './duckdb-dataset.ts';
import { RECORD_KEY_COLUMN } from '../node/cell-key.ts';

/** A statement and its positional parameters ($1, $2, …). */
export interface CompiledSql {
  sql: string;
  params: DuckDBValue[];
}

class Params {
  readonly values: DuckDBValue[] = [];
  add(value: string | number): string {
    this.values.push(value);
    return typeof value === 'number' ? `CAST($${this.values.length} AS DOUBLE)` : `$${this.values.length}`;
  }
}

function filterSql(filter: Filter, p: Params): string {
  switch (filter.op) {
    case 'eq':
      return `(${ident(filter.element)} = ${p.add(filter.value)})`;
    case 'in':
      return `(${ident(filter.element)} IN (${filter.values.map((v) => p.add(v)).join(', ')}))`;
    case 'range': {
      const parts: string[] = [];
      if (filter.min !== undefined) parts.push(`${ident(filter.element)} >= ${p.add(filter.min)}`);
      if (filter.max !== undefined) parts.push(`${ident(filter.element)} <= ${p.add(filter.max)}`);
      return `(${parts.join(' AND ')})`;
    }
    case 'isNull':
      return `(${ident(filter.element)} IS NULL)`;
    case 'and':
      return `(${filter.filters.map((f) => filterSql(f, p)).join(' AND ')})`;
    case 'or':
      return `(${filter.filters.map((f) => filterSql(f, p)).join(' OR ')})`;
    case 'not':
      return `(NOT ${filterSql(filter.filter, p)})`;
  }
}

/** [e_i, e_{i+1}) for all but the last interval, which is closed: [e_{n−2}, e_{n−1}]. */
function intervalSql(column: string, lower: number, upper: number, last: boolean): string {
  return `${column} >= ${numberLiteral(lower)} AND ${column} ${last ? '<=' : '<'} ${numberLiteral(upper)}`;
}

function groupIndexSql(plan: SlotPlan): string {
  if (plan.groupings.length === 0) return '0';
  let stride = 1;
  const terms: string[] = [];
  for (let i = plan.groupings.length - 1; i >= 0; i--) {
    const g = plan.groupings[i]!;
    if (g.codes) {
      // The plan's codes are the node's own dictionary's (it re-planned), in the order of the
      // precomputed code index; a missing or unmapped code is NULL and joins no group.
      terms.push(`${ident(codeIndexColumn(g.element))} * ${stride}`);
    } else {
      // Bucket index = number of inner edges at or below x, for x in [e0, e_last]; NULL
      // outside. Boolean sums vectorise better in DuckDB than a CASE chain.
      const edges = g.buckets!;
      const column = ident(g.element);
      const inner = edges.slice(1, -1).map((e) => `(${column} >= ${numberLiteral(e)})::INTEGER`);
      const index = inner.length ? inner.join(' + ') : '0';
      terms.push(`(CASE WHEN ${column} >= ${numberLiteral(edges[0]!)} AND ${column} <= ${numberLiteral(edges.at(-1)!)} THEN ${index} END) * ${stride}`);
    }
    stride *= g.labels.length;
  }
  return terms.join(' + ');
}

/**
 * u = clamp(round(x · scale), lo, hi) − lo ∈ [0, hi − lo] (protocol.md §3), precomputed at
 * load in the table's `__u_<element>` column. The node re-derives the plan from its own
 * dictionary, so the plan's lo/hi are the ones the column was built with. u² stays in BIGINT
 * when (hi − lo)² < 2^62, else it is widened to HUGEINT so that it cannot overflow.
 */
function offsetSql(plan: SlotPlan, element: string, power: number): string {
  const e = plan.elements.find((x) => x.name === element);
  if (!e) throw new Error(`plan has no encoding for ${element}`);
  const u = ident(offsetColumn(element));
  if (power === 1) return u;
  const range = BigInt(e.hi) - BigInt(e.lo);
  return range * range < 2n ** 62n ? `(${u} * ${u})` : `(CAST(${u} AS HUGEINT) * ${u})`;
}

function columnSql(plan: SlotPlan, column: PlanColumn): string {
  switch (column.kind) {
    case 'count':
      return 'count(*)';
    case 'present':
      return `count(${ident(column.element!)})`;
    case 'power': {
      const value = offsetSql(plan, column.element!, column.power ?? 1);
      if (!column.limbBits) return `sum(${value})`;
      const shift = column.limb! * column.limbBits;
      const mask = (1n << BigInt(column.limbBits)) - 1n;
      return `sum((${value} >> ${shift}) & ${mask})`;
    }
    case 'bin':
      return `sum((${intervalSql(ident(column.element!), column.lower!, column.upper!, column.closed === true)})::INTEGER)`;
  }
}

/**
 * The rows that contribute to a column, as a FILTER condition (none: every row of the group).
 * A cell key (spec/protocol.md §10, cell-key method) is Σ record keys over exactly these rows.
 */
function contributorsSql(column: PlanColumn): string | undefined {
  switch (column.kind) {
    case 'count':
      return undefined;
    case 'present':
    case 'power':
      return `${ident(offsetColumn(column.element!))} IS NOT NULL`;
    case 'bin':
      return intervalSql(ident(column.element!), column.lower!, column.upper!, column.closed === true);
  }
}

function cellKeySql(column: PlanColumn): string {
  const where = contributorsSql(column);
  return `sum(${ident(RECORD_KEY_COLUMN)})${where ? ` FILTER (WHERE ${where})` : ''}`;
}

/**
 * The aggregate statement of a planned query over one standardised table. `consent` excludes
 * the subjects who withdrew consent for the token's purpose. With `cellKeys`, each column c
 * also returns `k<c>`: Σ record keys over the rows contributing to it (NULL when none); the
 * table must have its record-key column (node/cell-key.ts `ensureRecordKeys`).
 *
 * @example
 * const { sql, params } = compileAggregate(query, plan, 'ds_0');
 * const rows = await engine.query(sql, params); // [{ g: 0, c0: 812n, … }, …]
 */
export function compileAggregate(query: Query, plan: SlotPlan, table: string, consent?: { dataset: string; purpose: string }, options: { cellKeys?: boolean } = {}): CompiledSql {
  const p = new Params();
  const g = groupIndexSql(plan);
  const conditions: string[] = [];
  if (query.filter) conditions.push(filterSql(query.filter, p));
  // DESIGN §6: rows whose subject withdrew consent for this purpose (or for every purpose)
  // are excluded before anything is counted.
  if (consent) {
    conditions.push(`${ident(SUBJECT_COLUMN)} NOT IN (SELECT subject FROM ${WITHDRAWN_TABLE} WHERE dataset = ${p.add(consent.dataset)} AND purpose IN (${p.add(consent.purpose)}, '*'))`);
  }
  const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
  // DuckDB lets WHERE refer to the select-list alias `g`; the filter's parameters come first.
  const columns = plan.columns.map((c, i) => `${columnSql(plan, c)} AS c${i}`);
  if (options.cellKeys) plan.columns.forEach((c, i) => columns.push(`${cellKeySql(c)} AS k${i}`));
  const sql = `SELECT ${g} AS g, ${columns.join(', ')} FROM ${ident(table)} ${where ? `${where} AND` : 'WHERE'} g IS NOT NULL GROUP BY g`;
  return { sql, params: p.values };
}
