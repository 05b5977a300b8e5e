import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { checkQueryLimits, jsonDepth, LIMITS } from './limits.ts';
import type { Filter, Query } from './query.ts';

const spec = parseYaml(readFileSync(fileURLToPath(new URL('../../../spec/openapi.yaml', import.meta.url)), 'utf8')) as { components: { schemas: Record<string, any> } };
const s = spec.components.schemas;

describe('the spec states the same limits as LIMITS', () => {
  it.each([
    ['filterFanOut (and)', () => s.AndFilter.properties.filters.maxItems, LIMITS.filterFanOut],
    ['filterFanOut (or)', () => s.OrFilter.properties.filters.maxItems, LIMITS.filterFanOut],
    ['inValues', () => s.InFilter.properties.values.maxItems, LIMITS.inValues],
    ['scalarLength', () => s.Scalar.oneOf[0].maxLength, LIMITS.scalarLength],
    ['datasets', () => s.Query.properties.datasets.maxItems, LIMITS.datasets],
    ['groupBy', () => s.Query.properties.groupBy.maxItems, LIMITS.groupBy],
    ['bucketEdges', () => s.GroupBy.properties.buckets.maxItems, LIMITS.bucketEdges],
    ['aggregates', () => s.Query.properties.aggregates.maxItems, LIMITS.aggregates],
    ['binEdges', () => s.HistogramAggregate.properties.bins.maxItems, LIMITS.binEdges],
    ['tokens', () => s.QueryRequest.properties.tokens.maxItems, LIMITS.tokens],
    ['tokenLength', () => s.QueryRequest.properties.tokens.items.maxLength, LIMITS.tokenLength],
    ['filterDepth', () => s.Filter['x-veilgate-max-depth'], LIMITS.filterDepth],
    ['filterNodes', () => s.Filter['x-veilgate-max-nodes'], LIMITS.filterNodes],
    ['groups', () => s.Query['x-veilgate-max-groups'], LIMITS.groups],
  ])('%s', (_name, inSpec, inCode) => {
    expect(inSpec()).toBe(inCode);
  });
});

const leaf: Filter = { op: 'isNull', element: 'age' };
function nested(depth: number): Filter {
  let f: Filter = leaf;
  for (let i = 1; i < depth; i++) f = { op: 'not', filter: f };
  return f;
}
const query = (filter: Filter): Query => ({ datasets: ['d'], aggregates: [{ op: 'count' }], filter });

describe('checkQueryLimits', () => {
  it('passes a filter exactly at the depth limit and refuses one level more', () => {
    expect(() => checkQueryLimits(query(nested(LIMITS.filterDepth)))).not.toThrow();
    expect(() => checkQueryLimits(query(nested(LIMITS.filterDepth + 1)))).toThrow(expect.objectContaining({ code: 'invalid_request', field: 'query.filter' }));
  });

  it('refuses a filter 100,000 deep without overflowing the stack', () => {
    expect(() => checkQueryLimits(query(nested(100_000)))).toThrow(/deeper than 16/);
  });

  it('counts nodes: a wide tree within depth but over the node limit is refused', () => {
    const wide = (n: number): Filter => ({ op: 'and', filters: Array.from({ length: n }, () => leaf) });
    // 1 + 8 × (1 + 31) = 257 nodes, depth 3.
    expect(() => checkQueryLimits(query({ op: 'or', filters: Array.from({ length: 8 }, () => wide(31)) }))).toThrow(/more than 256 filter nodes/);
    // 1 + 5 × 32 … = 1 + 5 × (1 + 31) = 161 nodes.
    expect(() => checkQueryLimits(query({ op: 'or', filters: Array.from({ length: 5 }, () => wide(31)) }))).not.toThrow();
  });
});

describe('jsonDepth', () => {
  it.each([
    [1, 0],
    [{}, 1],
    [{ a: [1, { b: null }] }, 3],
    [[[], [[[]]]], 4],
  ])('%j is %i deep', (value, depth) => {
    expect(jsonDepth(value)).toBe(depth);
  });

  it('stops early on a hostile value without recursing', () => {
    let v: unknown = 0;
    for (let i = 0; i < 200_000; i++) v = [v];
    expect(jsonDepth(v)).toBe(LIMITS.jsonDepth + 1);
  });
});
