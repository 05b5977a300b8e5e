/**
 * Catalog text in the reader's language: datasets and data elements carry their English
 * title (and description) and, optionally, `translations['zh-CN']` (spec `Translations`).
 */
import { useTranslation } from 'react-i18next';
import type { Translations } from '@veilgate/sdk';

interface Titled {
  title: string;
  description?: string;
  translations?: Translations;
}

/** Returns a function giving an item's title and description in the console's language. */
export function useLocalized(): (item: Titled) => { title: string; description: string | undefined } {
  const { i18n } = useTranslation();
  const zh = i18n.language === 'zh';
  return (item) => {
    const text = zh ? item.translations?.['zh-CN'] : undefined;
    return { title: text?.title ?? item.title, description: text?.description ?? item.description };
  };
}
