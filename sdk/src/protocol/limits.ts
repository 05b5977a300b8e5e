/**
 * The protocol's size limits: one definition for the SDK, the hub and every node
 * (spec/protocol.md §"Limits"). The limits JSON Schema can state are also in
 * spec/openapi.yaml (`maxItems`, `maxLength`); limits.test.ts fails if the two drift.
 * The ones it cannot state — how deep and how large a filter tree is, how deep any JSON body
 * nests — are checked here, without recursion, so that a hostile tree cannot overflow the
 * stack (issue 11: a filter 4,000 deep crashed validation; one 1,000 deep passed the hub,
 * spent quota and failed in every node's DuckDB).
 */
import { QueryValidationError } from '../errors.ts';
import type { Query } from './query.ts';

/** Every limit of a query, and the nesting limit of any JSON body. */
export const LIMITS = {
  /** Levels of a filter tree (`and`/`or`/`not` count one each; a leaf is level 1). */
  filterDepth: 16,
  /** Nodes of a filter tree (leaves and connectives). */
  filterNodes: 256,
  /** Sub-filters of one `and`/`or` (spec `AndFilter.filters.maxItems`). */
  filterFanOut: 32,
  /** Values of an `in` filter (spec `InFilter.values.maxItems`). */
  inValues: 256,
  /** Length of a code or other string literal (spec `Scalar` `maxLength`). */
  scalarLength: 200,
  /** Datasets of one query (spec `Query.datasets.maxItems`). */
  datasets: 512,
  /** Group-by levels (spec `Query.groupBy.maxItems`). */
  groupBy: 4,
  /** Bucket edges of one numeric group-by (spec `GroupBy.buckets.maxItems`): 64 buckets. */
  bucketEdges: 65,
  /** Aggregates of one query (spec `Query.aggregates.maxItems`). */
  aggregates: 32,
  /** Bin edges of one histogram (spec `HistogramAggregate.bins.maxItems`): 256 bins. */
  binEdges: 257,
  /** Groups: the product of all group-by levels (checked by the planner). */
  groups: 4096,
  /** Consent tokens of one query request (spec `QueryRequest.tokens.maxItems`). */
  tokens: 256,
  /** Length of one consent token (spec `QueryRequest.tokens.items.maxLength`). */
  tokenLength: 8192,
  /**
   * Nesting of any JSON request body (objects and arrays). A query at the filter-depth limit
   * nests 2 × 16 + 4 levels; every other body of the spec far fewer. Checked before schema
   * validation, whose validators recurse.
   */
  jsonDepth: 64,
} as const;

/**
 * The nesting depth of a JSON value, computed without recursion; stops counting at
 * `stopAt + 1` so that a hostile value costs no more than the limit.
 *
 * @example
 * jsonDepth({ a: [1] }); // 2
 */
export function jsonDepth(value: unknown, stopAt: number = LIMITS.jsonDepth): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    const here = depth + 1;
    if (here > max) max = here;
    if (max > stopAt) return max;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, here]);
    }
  }
  return max;
}

/**
 * Refuses a query whose filter tree is deeper or larger than `LIMITS` allows, walking it
 * iteratively; the planner calls it before anything recursive touches the tree, at the hub
 * (before any quota, credit or ρ is reserved) and again at each node.
 *
 * @example
 * checkQueryLimits({ datasets: ['d'], aggregates: [{ op: 'count' }] }); // passes
 */
export function checkQueryLimits(query: Query): void {
  if (!query.filter) return;
  let nodes = 0;
  const stack: [unknown, number][] = [[query.filter, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (++nodes > LIMITS.filterNodes) {
      throw new QueryValidationError('invalid_request', `query.filter: more than ${LIMITS.filterNodes} filter nodes`, 'query.filter');
    }
    if (depth > LIMITS.filterDepth) {
      throw new QueryValidationError('invalid_request', `query.filter: nested deeper than ${LIMITS.filterDepth} levels`, 'query.filter');
    }
    if (node === null || typeof node !== 'object') continue;
    const f = node as { filters?: unknown; filter?: unknown };
    if (Array.isArray(f.filters)) {
      if (f.filters.length > LIMITS.filterFanOut) {
        throw new QueryValidationError('invalid_request', `query.filter: an and/or holds more than ${LIMITS.filterFanOut} filters`, 'query.filter');
      }
      for (const child of f.filters) stack.push([child, depth + 1]);
    }
    if (f.filter !== undefined) stack.push([f.filter, depth + 1]);
  }
}
