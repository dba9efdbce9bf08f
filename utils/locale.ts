/**
 * Which language Guardlens speaks: the browser reads the messages of its UI language from
 * `public/_locales/<locale>/messages.json` (the exact locale, else its language, else `en`, the manifest's
 * `default_locale`), and numbers, dates and plural forms follow the same language, so a sentence and the number
 * in it agree. Pure and small: the content scripts use it too.
 */

/** The locales of `public/_locales/` (`components/locales.test.ts` keeps the two equal). */
export const LOCALES = ['en', 'fr', 'de', 'hi', 'it', 'pt_BR', 'es', 'th'] as const;

/** `de-AT` or `pt_BR` as a BCP 47 tag (`de-AT`, `pt-BR`), or undefined when it is not a well-formed one. */
function bcp47(tag: string): string | undefined {
  const norm = tag.replace(/_/g, '-');
  try {
    return Intl.getCanonicalLocales(norm)[0];
  } catch {
    return undefined;
  }
}

/**
 * The locale whose messages the browser shows for `uiLanguage`, as a BCP 47 tag (`pt-BR`, `de`, `en`): the same
 * locale if Guardlens has it, else its language (`de-AT` → `de`), else English, as Chrome and Firefox choose.
 */
export function messagesLocale(uiLanguage: string | undefined): string {
  const tag = uiLanguage ? bcp47(uiLanguage) : undefined;
  if (!tag) return 'en';
  const have = LOCALES.map((l) => l.replace('_', '-').toLowerCase());
  const lower = tag.toLowerCase();
  const language = lower.split('-')[0]!;
  const found = have.indexOf(lower) >= 0 ? lower : have.indexOf(language) >= 0 ? language : undefined;
  return found ? LOCALES[have.indexOf(found)]!.replace('_', '-') : 'en';
}

/**
 * The locale to format numbers and dates in: the UI language itself when the messages are in its language (so
 * `de-CH` keeps its own grouping), else the messages' locale (a page in English for a language Guardlens does not
 * speak formats like English).
 */
export function formatLocale(uiLanguage: string | undefined): string {
  const shown = messagesLocale(uiLanguage);
  const tag = uiLanguage ? bcp47(uiLanguage) : undefined;
  if (tag && tag.split('-')[0]!.toLowerCase() === shown.split('-')[0]) return tag;
  return shown;
}

/**
 * Of a pair of messages for one and for more than one, the one `count` takes in `locale`'s plural rules: French,
 * Portuguese and Hindi say "0" in the singular, Thai has one form (the `other` message).
 */
export function pluralPick<K>(count: number, locale: string, one: K, other: K): K {
  let rule: string;
  try {
    rule = new Intl.PluralRules(locale).select(count);
  } catch {
    rule = count === 1 ? 'one' : 'other';
  }
  return rule === 'one' ? one : other;
}
