/**
 * Data elements: the shared vocabulary that every dataset maps its local columns onto
 * (spec/data-elements.yaml). Numeric elements are fixed-point integers at `precision`
 * decimal places, clamped to [min, max] (spec/protocol.md §3).
 */

/** Title (and description) in other languages, by BCP 47 tag (spec `Translations`). */
export interface Translations {
  'zh-CN'?: { title: string; description?: string };
}

/** A categorical element: values come from a closed code list. */
export interface CategoricalElement {
  name: string;
  title: string;
  type: 'categorical';
  codes: string[];
  translations?: Translations;
}

/** A numeric element with a unit (UCUM), a precision and a declared valid range. */
export interface NumericElement {
  name: string;
  title: string;
  type: 'numeric';
  unit: string;
  precision: number;
  min: number;
  max: number;
  translations?: Translations;
}

/** One entry of the data-element dictionary. */
export type DataElement = CategoricalElement | NumericElement;

/** The fixed-point encoding of a numeric element: v = round(x · scale), lo ≤ v ≤ hi. */
export interface FixedPoint {
  scale: number;
  lo: bigint;
  hi: bigint;
}

/**
 * The fixed-point encoding of a numeric element.
 *
 * @example
 * fixedPointOf({ name: 'bmi', title: 'BMI', type: 'numeric', unit: 'kg/m2', precision: 1, min: 10, max: 70 })
 * // → { scale: 10, lo: 100n, hi: 700n }
 */
export function fixedPointOf(element: NumericElement): FixedPoint {
  const scale = 10 ** element.precision;
  return {
    scale,
    lo: BigInt(Math.round(element.min * scale)),
    hi: BigInt(Math.round(element.max * scale)),
  };
}
