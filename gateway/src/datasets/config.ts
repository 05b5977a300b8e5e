/**
 * A node's dataset configuration: where the rows live and how local columns map onto the
 * data-element dictionary (spec/data-elements.yaml). Operators write this; it is trusted
 * configuration, never request input.
 */
import type { Translations } from '@veilgate/sdk';

/** How one data element is read from a local column. */
export interface ElementMapping {
  /** Local column name. */
  column: string;
  /** Categorical only: local code → dictionary code. Local codes not listed read as missing. */
  codes?: Record<string, string>;
  /** Numeric only: element value = column × scale + offset (unit conversions). Default 1 and 0. */
  scale?: number;
  offset?: number;
}

/** Where a dataset's rows are stored. DuckDB reads all three formats. */
export interface DatasetSource {
  format: 'csv' | 'parquet' | 'duckdb';
  /** File path; relative paths resolve against the node's data directory. */
  path: string;
  /** For `duckdb` files: the table to read. */
  table?: string;
}

/** One dataset served by a node. */
export interface DatasetConfig {
  id: string;
  title: string;
  description: string;
  /** Title and description in other languages (BCP 47 tag → text), shown in the catalog. */
  translations?: Translations;
  source: DatasetSource;
  /** Column holding the (pseudonymous) subject id; used by the consent registry. */
  subjectColumn: string;
  /** Data elements this dataset provides, by dictionary name. */
  elements: Record<string, ElementMapping>;
  /** DataSHIELD nfilter.tab: groups with 0 < n < minCellSize are left out. Default 3 (5 for important). */
  minCellSize?: number;
  /**
   * Classification after the PRC Data Security Law: `core` (核心) datasets are listed but never
   * computed on; `important` (重要) ones need two distinct operators' approval and a larger
   * minimum cell; `general` (一般) is the default.
   */
  classification?: 'core' | 'important' | 'general';
  /** Credits charged per query on this dataset (default 0). */
  pricePerQuery?: number;
  /**
   * Differential privacy (DESIGN §6), on by default: the node adds its share of integer
   * noise so that the sum carries noise calibrated to `defaultRho`-zCDP (or the query's ρ).
   * `maxRhoPerQuery` (default 0.25) is the most one query may spend: the node refuses more.
   */
  differentialPrivacy?: {
    enabled?: boolean; defaultRho?: number; maxRhoPerQuery?: number; mechanism?: 'skellam' | 'discrete-gaussian';
    /** ρ a researcher may hold on this dataset across all their unexpired grants (default 2; protocol.md §9). */
    researcherBudgetCeiling?: number;
  };
  /**
   * Disclosure control when differential privacy is off (spec/protocol.md §10). `cellKey`
   * (default on): the node perturbs every released cell by the ABS cell-key method, so that
   * the difference of two queries never returns one patient's exact value. Off is the
   * operator's explicit "exact mode" (results equal a plaintext computation, e.g. for
   * validation against R); the minimum cell size still applies.
   */
  disclosure?: { cellKey?: boolean };
  /** DataSHIELD nfilter.subset (default 3): a filtered subset smaller than this yields nothing. */
  minSubsetSize?: number;
  /** DataSHIELD nfilter.levels (default 0.33): at most this ratio of groups to rows. */
  maxLevelsRatio?: number;
  /** Declared upper bound on the row count, used by the slot planner (default: derived). */
  maxRows?: number;
}
