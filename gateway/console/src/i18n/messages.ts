/**
 * One namespace of console text in both languages. `zh` must have exactly the keys of `en`
 * (checked by the compiler here and by i18n.test.ts at run time), so neither language is
 * ever partial.
 */
export type Messages<T> = { [K in keyof T]: T[K] extends string ? string : Messages<T[K]> };

/** Declares a namespace: English first, Chinese with the same shape. */
export function namespace<const T extends Record<string, unknown>>(en: T, zh: Messages<T>): { en: T; zh: Messages<T> } {
  return { en, zh };
}
