/**
 * Both languages complete: every namespace has the same keys in English and Chinese, no
 * empty text, the same {{placeholders}}, and Chinese text that is Chinese (not a copied
 * English string) except for identifiers and brand names.
 */
import { describe, expect, it } from 'vitest';
import common from './common.ts';
import catalog from './catalog.ts';
import researcher from './researcher.ts';
import operator from './operator.ts';
import auditor from './auditor.ts';
import admin from './admin.ts';
import errors from './errors.ts';

const namespaces = { common, catalog, researcher, operator, auditor, admin, errors };

function flatten(value: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof v === 'string') out.set(path, v);
    else for (const [k, s] of flatten(v, path)) out.set(k, s);
  }
  return out;
}

const placeholders = (s: string) => [...s.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)].map((m) => m[1]).sort();
const HAN = /\p{Script=Han}/u;
// An English word (not an acronym such as CSV or a code such as DUO:0000006): a string the
// same in both languages with one of these was not translated.
const ENGLISH_WORD = /\b[A-Za-z][a-z]{2,}\b/;

describe('console translations', () => {
  for (const [name, ns] of Object.entries(namespaces)) {
    const en = flatten(ns.en);
    const zh = flatten(ns.zh);
    it(`${name}: the same keys in en and zh`, () => {
      expect([...zh.keys()].sort()).toEqual([...en.keys()].sort());
      expect(en.size).toBeGreaterThan(0);
    });
    it(`${name}: no empty text, the same placeholders`, () => {
      for (const [key, text] of en) {
        const other = zh.get(key) ?? '';
        expect(text.trim(), `en ${name}:${key}`).not.toBe('');
        expect(other.trim(), `zh ${name}:${key}`).not.toBe('');
        expect(placeholders(other), `placeholders of ${name}:${key}`).toEqual(placeholders(text));
      }
    });
    it(`${name}: Chinese text is translated`, () => {
      const untranslated = [...zh].filter(([key, text]) => !HAN.test(text) && text === en.get(key) && ENGLISH_WORD.test(text.replace(/\{\{[^}]*\}\}/g, '')));
      expect(untranslated.map(([key, text]) => `${name}:${key} = ${text}`)).toEqual([]);
    });
  }
});
