/**
 * Every string Guardlens shows people comes from `public/_locales/en/messages.json` through
 * `browser.i18n.getMessage`. `t(key, ...values)` is typed by that file: a key that is not in it does not compile
 * (and `components/i18n.test.ts` checks every key the code uses). Values fill the message's placeholders in
 * order (`$1`, `$2` … in the file's `placeholders`). Messages by keys computed from `lib/` (categories, endpoint
 * errors) come from `utils/i18n.ts`, shared with the background.
 */
import { browser } from 'wxt/browser';
import { parseProblem } from '@/lib/settings/problem-text';
import { browserMessage } from '@/utils/i18n';
import { formatLocale, messagesLocale, pluralPick } from '@/utils/locale';

export type Messages = typeof import('../public/_locales/en/messages.json');
export type MessageKey = keyof Messages;

/** The message for `key`, with `values` in its placeholders; the key itself when the browser has no message. */
export function t(key: MessageKey, ...values: (string | number)[]): string {
  return browserMessage(key, values.length ? values.map(String) : undefined) || key;
}

/**
 * A settings problem (from `lib/settings`: bad settings, an import file, the managed policy) in the messages
 * file's words: the sentence's key and values are recovered with `parseProblem`, values that are themselves
 * problem sentences (a reason, an ending) are translated too. Text that is not a known problem sentence, or has no
 * message, is shown as it is (its English).
 */
export function problemMessage(text: string, depth = 0): string {
  const parsed = depth < 4 ? parseProblem(text) : undefined;
  if (!parsed) return depth > 0 ? quotedProblem(text, depth) : text;
  const subs = parsed.subs.map((sub) => problemMessage(sub, depth + 1));
  try {
    return browserMessage(parsed.key, subs.length ? subs : undefined) || text;
  } catch {
    return text;
  }
}

/**
 * A value that is a problem sentence without its final full stop (a base URL's problem quoted as a reason: "is
 * not usable: …"): translated, and its final full stop dropped again. Any other value is shown as it is.
 */
function quotedProblem(text: string, depth: number): string {
  if (!text || text.endsWith('.') || !parseProblem(`${text}.`)) return text;
  return problemMessage(`${text}.`, depth).replace(/[.。]$/, '');
}

/**
 * `one` or `many` by the plural rules of the language the messages are in (`Intl.PluralRules`): in English only 1
 * takes `one`, in French, Portuguese and Hindi 0 does too, and Thai always takes `many`. Both get the count,
 * formatted for the locale, as their first value.
 */
export function plural(
  count: number,
  one: MessageKey,
  many: MessageKey,
  ...rest: (string | number)[]
): string {
  return t(pluralPick(count, uiMessagesLocale(), one, many), formatNumber(count), ...rest);
}

function browserUiLanguage(): string | undefined {
  try {
    return (browser.i18n as unknown as { getUILanguage(): string }).getUILanguage() || undefined;
  } catch {
    return undefined;
  }
}

/** The language of the messages the browser shows (`de`, `pt-BR`, `en`…), for `<html lang>` and plural forms. */
export function uiMessagesLocale(): string {
  return messagesLocale(browserUiLanguage());
}

/** The browser's UI language when the messages are in it (else the messages' language), for numbers and dates. */
export function uiLocale(): string {
  return formatLocale(browserUiLanguage());
}

export function formatNumber(n: number): string {
  return new Intl.NumberFormat(uiLocale()).format(n);
}

/** A cost in US dollars: four decimals under a cent, two above. */
export function formatUsd(usd: number): string {
  const digits = usd !== 0 && Math.abs(usd) < 0.01 ? 4 : 2;
  return new Intl.NumberFormat(uiLocale(), {
    style: 'currency',
    currency: 'USD',
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(usd);
}

/** A local date and time, short. */
export function formatDateTime(epochMs: number): string {
  return new Intl.DateTimeFormat(uiLocale(), { dateStyle: 'short', timeStyle: 'short' }).format(epochMs);
}

/** A local time of day. */
export function formatTime(epochMs: number): string {
  return new Intl.DateTimeFormat(uiLocale(), { timeStyle: 'short' }).format(epochMs);
}
