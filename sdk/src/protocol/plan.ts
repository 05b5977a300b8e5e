/**
 * The slot planner (spec/protocol.md §3–4). It turns a query into a slot layout shared by
 * hub, nodes and researcher, and proves that no slot can wrap modulo the plain modulus t:
 * every slot holds a sum over at most `rowBound` rows of a per-row value that the layout
 * bounds, and rowBound × (per-row bound) ≤ ⌊(t−1)/2⌋, so that the sum decodes as a signed
 * residue without ambiguity. A per-row value too large for that is split into limbs of
 * `limbBits` bits (x = Σ_j 2^(j·k) · limb_j), each summed in its own slot; if even one bit
 * per limb cannot fit, the query is refused with `plan_overflow`.
 */
import { QueryValidationError } from '../errors.ts';
import { fixedPointOf, type DataElement, type NumericElement } from './elements.ts';
import type { Filter, PlanColumn, PlanElement, PlanGrouping, Query, SlotPlan } from './query.ts';
import { checkQueryLimits, LIMITS } from './limits.ts';

/** At most this many groups (cartesian product of all group-by levels): `LIMITS.groups`. */
export const MAX_GROUPS = LIMITS.groups;
/** At most this many ciphertexts per contribution (8 × 8192 slots). */
export const MAX_CIPHERTEXTS = 8;

/** What the planner needs besides the query. */
export interface PlanInput {
  /** The data-element dictionary. */
  elements: DataElement[];
  /** Upper bound on the total number of rows summed into one slot (Σ of datasets' maxRows). */
  rowBound: bigint;
  /** The BFV plain modulus t. */
  plainModulus: bigint;
  /** Slots per ciphertext (N). */
  slotCount: number;
  /**
   * Differential privacy on (spec/protocol.md §10): reserve `headroom` in every slot for the
   * noise, and keep every sum in one slot (a limb released without noise would leak).
   */
  privacy?: { headroom: bigint };
}

/** Slot room reserved for noise when differential privacy is on (2^34 ≈ 1.7·10^10). */
export const NOISE_HEADROOM = 1n << 34n;

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

function requireElement(byName: Map<string, DataElement>, name: string, field: string): DataElement {
  const element = byName.get(name);
  if (!element) throw new QueryValidationError('unknown_element', `${field}: unknown data element '${name}'`, field);
  return element;
}

function requireNumeric(byName: Map<string, DataElement>, name: string, field: string, what: string): NumericElement {
  const element = requireElement(byName, name, field);
  if (element.type !== 'numeric') {
    throw new QueryValidationError('wrong_element_type', `${field}: ${what} needs a numeric element, '${name}' is categorical`, field);
  }
  return element;
}

function requireEdges(edges: number[], field: string): void {
  for (let i = 0; i < edges.length; i++) {
    if (!Number.isFinite(edges[i])) throw new QueryValidationError('invalid_bins', `${field}[${i}]: edges must be finite numbers`, `${field}[${i}]`);
    if (i > 0 && !(edges[i]! > edges[i - 1]!)) {
      throw new QueryValidationError('invalid_bins', `${field}[${i}]: edges must be strictly increasing`, `${field}[${i}]`);
    }
  }
  if (edges.length < 2) throw new QueryValidationError('invalid_bins', `${field}: at least two edges (one bin) are needed`, field);
}

/**
 * The index of a histogram among a query's distinct histograms (same element and edges
 * share slots), or −1.
 */
export function histogramIndex(histograms: { element: string; bins: number[] }[], h: { element: string; bins: number[] }): number {
  return histograms.findIndex((x) => x.element === h.element && x.bins.length === h.bins.length && x.bins.every((b, i) => b === h.bins[i]));
}

/** Labels of the buckets [e0,e1), …, [e(n−2), e(n−1)] (the last one closed). */
export function bucketLabels(edges: number[]): string[] {
  return edges.slice(1).map((upper, i) => `[${edges[i]},${upper}${i === edges.length - 2 ? ']' : ')'}`);
}

/**
 * Checks every element reference and literal in a filter tree against the dictionary.
 *
 * @example
 * validateFilter({ op: 'eq', element: 'sex', value: 'female' }, byName, 'query.filter');
 */
export function validateFilter(filter: Filter, byName: Map<string, DataElement>, field: string): void {
  switch (filter.op) {
    case 'and':
    case 'or':
      filter.filters.forEach((f, i) => validateFilter(f, byName, `${field}.filters[${i}]`));
      return;
    case 'not':
      validateFilter(filter.filter, byName, `${field}.filter`);
      return;
    case 'isNull':
      requireElement(byName, filter.element, `${field}.element`);
      return;
    case 'range': {
      requireNumeric(byName, filter.element, `${field}.element`, 'a range filter');
      if (filter.min === undefined && filter.max === undefined) {
        throw new QueryValidationError('invalid_request', `${field}: a range filter needs min, max or both`, field);
      }
      for (const k of ['min', 'max'] as const) {
        const v = filter[k];
        if (v !== undefined && !Number.isFinite(v)) throw new QueryValidationError('invalid_request', `${field}.${k} must be finite`, `${field}.${k}`);
      }
      if (filter.min !== undefined && filter.max !== undefined && filter.min > filter.max) {
        throw new QueryValidationError('invalid_request', `${field}.min is greater than ${field}.max`, `${field}.min`);
      }
      return;
    }
    case 'eq':
    case 'in': {
      const element = requireElement(byName, filter.element, `${field}.element`);
      const values = filter.op === 'eq' ? [filter.value] : filter.values;
      values.forEach((value, i) => {
        const at = filter.op === 'eq' ? `${field}.value` : `${field}.values[${i}]`;
        if (element.type === 'categorical') {
          if (typeof value !== 'string') {
            throw new QueryValidationError('wrong_element_type', `${at}: '${element.name}' is categorical, expected a code string`, at);
          }
          if (!element.codes.includes(value)) {
            throw new QueryValidationError('unknown_code', `${at}: '${value}' is not a code of '${element.name}'`, at);
          }
        } else if (typeof value !== 'number' || !Number.isFinite(value)) {
          throw new QueryValidationError('wrong_element_type', `${at}: '${element.name}' is numeric, expected a finite number`, at);
        }
      });
      return;
    }
  }
}

/**
 * Plans the slot layout of a query, or refuses it with a `QueryValidationError` whose
 * `field` names the offending part. Deterministic: the researcher re-plans to check the
 * plan the hub sent.
 *
 * @example
 * const plan = planQuery(query, { elements, rowBound: 300_000n, plainModulus: t, slotCount: 8192 });
 * plan.groupCount * plan.columns.length; // slots used
 */
export function planQuery(query: Query, input: PlanInput): SlotPlan {
  const byName = new Map(input.elements.map((e) => [e.name, e]));
  const half = (input.plainModulus - 1n) / 2n - (input.privacy?.headroom ?? 0n);
  if (input.rowBound > half) {
    throw new QueryValidationError('plan_overflow', `the datasets' declared row bound (${input.rowBound}) exceeds what one slot can count`, 'query.datasets');
  }
  // Limits first, iteratively: validateFilter recurses (protocol.md "Limits").
  checkQueryLimits(query);
  if (query.filter) validateFilter(query.filter, byName, 'query.filter');

  const groupings: PlanGrouping[] = [];
  let groupCount = 1;
  (query.groupBy ?? []).forEach((g, i) => {
    const field = `query.groupBy[${i}]`;
    const element = requireElement(byName, g.element, `${field}.element`);
    if (groupings.some((x) => x.element === g.element)) {
      throw new QueryValidationError('invalid_request', `${field}.element: '${g.element}' is grouped twice`, `${field}.element`);
    }
    if (element.type === 'categorical') {
      if (g.buckets) throw new QueryValidationError('wrong_element_type', `${field}.buckets: '${g.element}' is categorical; buckets apply to numeric elements`, `${field}.buckets`);
      groupings.push({ element: g.element, codes: [...element.codes], labels: [...element.codes] });
    } else {
      if (!g.buckets) throw new QueryValidationError('wrong_element_type', `${field}.buckets: '${g.element}' is numeric; group it by buckets`, `${field}.buckets`);
      requireEdges(g.buckets, `${field}.buckets`);
      groupings.push({ element: g.element, buckets: [...g.buckets], labels: bucketLabels(g.buckets) });
    }
    groupCount *= groupings.at(-1)!.labels.length;
    if (groupCount > MAX_GROUPS) {
      throw new QueryValidationError('too_many_groups', `${field}: the grouping makes more than ${MAX_GROUPS} groups`, field);
    }
  });

  const columns: PlanColumn[] = [{ kind: 'count' }];
  const planElements: PlanElement[] = [];
  const powers = new Map<string, number>(); // element → highest power needed
  const histograms: { element: string; bins: number[] }[] = [];
  query.aggregates.forEach((a, i) => {
    const field = `query.aggregates[${i}]`;
    if (a.op === 'count') return;
    const element = requireNumeric(byName, a.element, `${field}.element`, `'${a.op}'`);
    if (a.op === 'histogram') {
      requireEdges(a.bins, `${field}.bins`);
      if (histogramIndex(histograms, a) < 0) histograms.push({ element: a.element, bins: a.bins });
      return;
    }
    const need = a.op === 'variance' || a.op === 'stddev' ? 2 : 1;
    powers.set(element.name, Math.max(powers.get(element.name) ?? 0, need));
  });

  for (const [name, maxPower] of powers) {
    const element = byName.get(name) as NumericElement;
    const fp = fixedPointOf(element);
    planElements.push({ name, scale: fp.scale, lo: fp.lo.toString(), hi: fp.hi.toString() });
    columns.push({ kind: 'present', element: name });
    const range = fp.hi - fp.lo;
    for (let power = 1; power <= maxPower; power++) {
      const perRow = range ** BigInt(power);
      if (input.rowBound * perRow <= half) {
        columns.push({ kind: 'power', element: name, power: power as 1 | 2, limb: 0, limbBits: 0 });
        continue;
      }
      if (input.privacy) {
        throw new QueryValidationError('plan_overflow', `'${name}': with differential privacy on, Σ${power === 2 ? 'x²' : 'x'} must fit one slot; the datasets' declared rows are too many for its range`, 'query.aggregates');
      }
      // Largest k with rowBound · (2^k − 1) ≤ ⌊(t−1)/2⌋: every limb sum then stays in range.
      // k ≥ 1 always holds here, since rowBound ≤ ⌊(t−1)/2⌋ was checked above.
      const k = bitLength(half / input.rowBound + 1n) - 1;
      const limbs = Math.ceil(bitLength(perRow) / k);
      for (let limb = 0; limb < limbs; limb++) columns.push({ kind: 'power', element: name, power: power as 1 | 2, limb, limbBits: k });
    }
  }
  histograms.forEach((h, histogram) => {
    h.bins.slice(1).forEach((upper, bin) =>
      columns.push({ kind: 'bin', element: h.element, histogram, bin, lower: h.bins[bin]!, upper, closed: bin === h.bins.length - 2 }),
    );
  });

  const slots = groupCount * columns.length;
  const ciphertextCount = Math.max(1, Math.ceil(slots / input.slotCount));
  if (ciphertextCount > MAX_CIPHERTEXTS) {
    throw new QueryValidationError('too_many_groups', `the query needs ${slots} slots (groups × statistics); at most ${MAX_CIPHERTEXTS * input.slotCount} fit`, 'query.groupBy');
  }
  return {
    version: 1,
    plainModulus: input.plainModulus.toString(),
    slotsPerCiphertext: input.slotCount,
    rowBound: input.rowBound.toString(),
    elements: planElements,
    groupings,
    groupCount,
    columns,
    ciphertextCount,
  };
}

/**
 * The slot of (group, column): group-major, `slotsPerCiphertext` slots per ciphertext.
 *
 * @example
 * const { ciphertext, slot } = slotOf(plan, 3, 0);
 */
export function slotOf(plan: SlotPlan, group: number, column: number): { ciphertext: number; slot: number } {
  const index = group * plan.columns.length + column;
  return { ciphertext: Math.floor(index / plan.slotsPerCiphertext), slot: index % plan.slotsPerCiphertext };
}

/**
 * Every data element a query reads (filters, groupings, aggregates), in the order met.
 *
 * @example
 * elementsOfQuery({ datasets: ['d'], aggregates: [{ op: 'mean', element: 'bmi' }] }); // ['bmi']
 */
export function elementsOfQuery(query: Query): string[] {
  const names = new Set<string>();
  const walk = (f: Filter): void => {
    if (f.op === 'and' || f.op === 'or') f.filters.forEach(walk);
    else if (f.op === 'not') walk(f.filter);
    else names.add(f.element);
  };
  if (query.filter) walk(query.filter);
  for (const g of query.groupBy ?? []) names.add(g.element);
  for (const a of query.aggregates) if (a.op !== 'count') names.add(a.element);
  return [...names];
}
