/**
 * i18next with both languages bundled (no network loading): 简体中文 and English, switchable,
 * remembered in localStorage. Keys are typed from the English resources (CustomTypeOptions),
 * so `t('nav.query')` that does not exist fails to compile.
 */
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import common from './common.ts';
import catalog from './catalog.ts';
import researcher from './researcher.ts';
import operator from './operator.ts';
import auditor from './auditor.ts';
import errors from './errors.ts';
import admin from './admin.ts';

export const namespaces = { common, catalog, researcher, operator, auditor, admin, errors };
export type Language = 'en' | 'zh';
export const LANGUAGES: readonly Language[] = ['en', 'zh'];

export const resources = {
  en: { common: common.en, catalog: catalog.en, researcher: researcher.en, operator: operator.en, auditor: auditor.en, admin: admin.en, errors: errors.en },
  zh: { common: common.zh, catalog: catalog.zh, researcher: researcher.zh, operator: operator.zh, auditor: auditor.zh, admin: admin.zh, errors: errors.zh },
};

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'common';
    resources: (typeof resources)['en'];
  }
}

const STORAGE_KEY = 'veilgate.language';

function initialLanguage(): Language {
  const saved = globalThis.localStorage?.getItem(STORAGE_KEY);
  if (saved === 'en' || saved === 'zh') return saved;
  return globalThis.navigator?.language?.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

/** Sets the language, remembers it and marks the document (screen readers, fonts). */
export async function setLanguage(language: Language): Promise<void> {
  globalThis.localStorage?.setItem(STORAGE_KEY, language);
  await i18next.changeLanguage(language);
}

i18next.on('languageChanged', (language) => {
  document.documentElement.lang = language === 'zh' ? 'zh-CN' : 'en';
});

export const i18nReady = i18next.use(initReactI18next).init({
  resources,
  lng: initialLanguage(),
  fallbackLng: false,
  defaultNS: 'common',
  ns: Object.keys(namespaces),
  interpolation: { escapeValue: false },
  returnNull: false,
});

export { i18next };
