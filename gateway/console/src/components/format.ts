/** Numbers and dates in the console's language (Intl), shared by every page. */
import { useTranslation } from 'react-i18next';

/** The BCP 47 tag of the console's language, for Intl formatting. */
export function useLocale(): string {
  const { i18n } = useTranslation();
  return i18n.language === 'zh' ? 'zh-CN' : 'en';
}

export function formatNumber(value: number, locale: string, maxFractionDigits = 2): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: maxFractionDigits }).format(value);
}

export function formatDateTime(iso: string | undefined, locale: string): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}
