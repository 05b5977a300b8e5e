/**
 * The query builder's state and how it becomes the SDK's `Query` (spec/openapi.yaml
 * `Query`): datasets, aggregates (histograms with bin edges), an optional group-by (codes of
 * a categorical element, or buckets of a numeric one) and an optional one-element filter.
 */
import type { DataElement, NumericElement, Query, components } from '@veilgate/sdk';

type S = components['schemas'];
export type Operation = S['Operation'];

export interface AggregateRow {
  /** A stable React key. */
  id: number;
  op: Operation;
  /** A numeric element (ignored by count). */
  element: string;
  /** Histogram bin edges as typed, comma-separated. */
  edges: string;
}

export interface BuilderState {
  datasets: string[];
  aggregates: AggregateRow[];
  /** '' for no grouping. */
  groupBy: string;
  /** Bucket edges when grouping by a numeric element. */
  groupEdges: string;
  /** '' for no filter. */
  filterElement: string;
  filterCode: string;
  filterMin: string;
  filterMax: string;
  purpose: string;
}

/** Why the builder cannot make a query yet (a message key of the `researcher` namespace, and its values). */
export interface Problem {
  key: 'noDataset' | 'badEdges' | 'badBuckets' | 'filterBounds' | 'filterOrder';
  n?: number;
}

export function numericElements(elements: DataElement[]): NumericElement[] {
  return elements.filter((e): e is NumericElement => e.type === 'numeric');
}

/** About six bins of a "nice" width over an element's declared range, the last ending at its max. */
export function defaultEdges(element: NumericElement | undefined): string {
  if (!element) return '';
  const { min, max } = element;
  const raw = (max - min) / 6;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw - 1e-9) ?? raw;
  const edges: number[] = [];
  for (let i = 0; min + i * step < max - 1e-9; i++) edges.push(Number((min + i * step).toFixed(6)));
  edges.push(max);
  return edges.join(', ');
}

/** Bin edges from text: at least two finite, strictly increasing numbers, or undefined. */
export function parseEdges(text: string): number[] | undefined {
  const parts = text.split(/[\s,，;；]+/).filter(Boolean);
  const edges = parts.map(Number);
  if (edges.length < 2 || edges.length > 257 || edges.some((e) => !Number.isFinite(e))) return undefined;
  for (let i = 1; i < edges.length; i++) if (!(edges[i]! > edges[i - 1]!)) return undefined;
  return edges;
}

/** The Query the builder describes, or the first problem in it. */
export function buildQuery(state: BuilderState, catalog: S['Catalog']): { query: Query; problem?: undefined } | { query?: undefined; problem: Problem } {
  const byName = new Map(catalog.elements.map((e) => [e.name, e]));
  const datasets = catalog.datasets.filter((d) => d.queryable && state.datasets.includes(d.id)).map((d) => d.id);
  if (datasets.length === 0) return { problem: { key: 'noDataset' } };
  const aggregates: S['Aggregate'][] = [];
  for (const [i, row] of state.aggregates.entries()) {
    if (row.op === 'count') aggregates.push({ op: 'count' });
    else if (row.op === 'histogram') {
      const bins = parseEdges(row.edges);
      if (!bins) return { problem: { key: 'badEdges', n: i + 1 } };
      aggregates.push({ op: 'histogram', element: row.element, bins });
    } else aggregates.push({ op: row.op, element: row.element });
  }
  const query: Query = { datasets, aggregates };
  const group = byName.get(state.groupBy);
  if (group) {
    if (group.type === 'numeric') {
      const buckets = parseEdges(state.groupEdges);
      if (!buckets) return { problem: { key: 'badBuckets' } };
      query.groupBy = [{ element: group.name, buckets }];
    } else query.groupBy = [{ element: group.name }];
  }
  const on = byName.get(state.filterElement);
  if (on?.type === 'categorical') query.filter = { op: 'eq', element: on.name, value: state.filterCode || on.codes[0]! };
  else if (on?.type === 'numeric') {
    const min = state.filterMin.trim() === '' ? undefined : Number(state.filterMin);
    const max = state.filterMax.trim() === '' ? undefined : Number(state.filterMax);
    if ((min === undefined && max === undefined) || (min !== undefined && !Number.isFinite(min)) || (max !== undefined && !Number.isFinite(max))) return { problem: { key: 'filterBounds' } };
    if (min !== undefined && max !== undefined && min > max) return { problem: { key: 'filterOrder' } };
    query.filter = { op: 'range', element: on.name, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
  }
  // The order of the spec's schema, for a readable JSON view.
  return { query: { datasets: query.datasets, ...(query.filter ? { filter: query.filter } : {}), ...(query.groupBy ? { groupBy: query.groupBy } : {}), aggregates: query.aggregates } };
}

/** A heading for an aggregate: `count`, `mean(systolic_bp)`, `histogram(age)`. */
export function aggregateLabel(a: S['Aggregate']): string {
  return a.op === 'count' ? 'count' : `${a.op}(${a.element})`;
}
