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

function groupIndexSql(plan: SlotPlan, p: Params): string {
  if (plan.groupings.length === 0) return '0';
  let stride = 1;
  const terms: string[] = [];
  for (let i = plan.groupings.length - 1; i >= 0; i--) {
    const g = plan.groupings[i]!;
    const column = ident(g.element);
    let arms: string[];
    if (g.codes) {
      arms = g.codes.map((code, level) => `WHEN ${column} = ${p.add(code)} THEN ${level}`);
    } else {
      const edges = g.buckets!;
      arms = edges.slice(1).map((upper, level) => `WHEN ${intervalSql(column, edges[level]!, upper, level === edges.length - 2)} THEN ${level}`);
    }
    terms.push(`(CASE ${arms.join(' ')} END) * ${stride}`);
    stride *= g.labels.length;
  }
  return terms.join(' + ');
}

function fixedPointSql(plan: SlotPlan, element: string): string {
  const e = plan.elements.find((x) => x.name === element);
  if (!e) throw new Error(`plan has no encoding for ${element}`);
  // u = clamp(round(x · scale), lo, hi) − lo ∈ [0, hi − lo] (protocol.md §3), as HUGEINT so
  // that u² cannot overflow whatever the declared range.
  // A missing value stays NULL (sum and count skip it): DuckDB's greatest() would turn it into lo.
  const v = `CAST(round(${ident(element)} * ${e.scale}) AS HUGEINT)`;
  return `(CASE WHEN ${v} < ${e.lo} THEN ${e.lo}::HUGEINT WHEN ${v} > ${e.hi} THEN ${e.hi}::HUGEINT ELSE ${v} END - ${e.lo}::HUGEINT)`;
}

function columnSql(plan: SlotPlan, column: PlanColumn): string {
  switch (column.kind) {
    case 'count':
      return 'count(*)';
    case 'present':
      return `count(${ident(column.element!)})`;
    case 'power': {
      const u = fixedPointSql(plan, column.element!);
      const value = column.power === 2 ? `(${u} * ${u})` : u;
      if (!column.limbBits) return `sum(${value})`;
      const shift = column.limb! * column.limbBits;
      const mask = (1n << BigInt(column.limbBits)) - 1n;
      return `sum((${value} >> ${shift}) & ${mask}::HUGEINT)`;
    }
    case 'bin':
      return `count(*) FILTER (WHERE ${intervalSql(ident(column.element!), column.lower!, column.upper!, column.closed === true)})`;
  }
}

/**
 * The aggregate statement of a planned query over one standardised table. `extraWhere`
 * lets the node add its own row filters (e.g. the consent registry) with their parameters.
 *
 * @example
 * const { sql, params } = compileAggregate(query, plan, 'ds_0');
 * const rows = await engine.query(sql, params); // [{ g: 0, c0: 812n, … }, …]
 */
export function compileAggregate(query: Query, plan: SlotPlan, table: string): CompiledSql {
  const p = new Params();
  const g = groupIndexSql(plan, p);
  const where = query.filter ? `WHERE ${filterSql(query.filter, p)}` : '';
  const columns = plan.columns.map((c, i) => `${columnSql(plan, c)} AS c${i}`);
  const sql = `SELECT g, ${columns.join(', ')} FROM (SELECT *, ${g} AS g FROM ${ident(table)} ${where}) WHERE g IS NOT NULL GROUP BY g ORDER BY g`;
  return { sql, params: p.values };
}
