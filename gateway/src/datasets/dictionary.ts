/**
 * Loads the data-element dictionary from spec/data-elements.yaml and checks its shape,
 * so that a typo in the dictionary stops the server at start, not a query at run time.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { DataElement } from '@veilgate/sdk';
import { validateSchema } from '../http/openapi.ts';

const DICTIONARY_PATH = fileURLToPath(new URL('../../../spec/data-elements.yaml', import.meta.url));

let cached: DataElement[] | undefined;

/**
 * The dictionary's elements, validated against the spec's `DataElement` schema.
 *
 * @example
 * loadDictionary().find((e) => e.name === 'systolic_bp');
 */
export function loadDictionary(): DataElement[] {
  if (cached) return cached;
  const doc = parseYaml(readFileSync(DICTIONARY_PATH, 'utf8')) as { elements: unknown[] };
  const seen = new Set<string>();
  for (const element of doc.elements) {
    validateSchema('DataElement', element);
    const e = element as DataElement;
    if (seen.has(e.name)) throw new Error(`data-elements.yaml: duplicate element ${e.name}`);
    seen.add(e.name);
    if (e.type === 'numeric' && !(e.min < e.max)) throw new Error(`data-elements.yaml: ${e.name} needs min < max`);
  }
  cached = doc.elements as DataElement[];
  return cached;
}
