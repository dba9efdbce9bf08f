/**
 * Every string Guardlens shows people comes from `public/_locales/en/messages.json` through
 * `browser.i18n.getMessage`. `t(key, ...values)` is typed by that file: a key that is not in it does not compile
 * (and `components/i18n.test.ts` checks every key the code uses). Values fill the message's placeholders in
 * order (`$1`, `$2` … in the file's `placeholders`).
 */
import { browser } from 'wxt/browser';
import { ERROR_HINTS, ERROR_TITLES, errorMessageKeys } from '@/lib/guard/error-text';
import type { GuardErrorData, GuardErrorKind } from '@/lib/guard/errors';
import { parseProblem } from '@/lib/settings/problem-text';

export type Messages = typeof import('../public/_locales/en/messages.json');
export type MessageKey = keyof Messages;

type GetMessage = (name: string, substitutions?: string[]) => string | undefined;

/** The message for `key`, with `values` in its placeholders; the key itself when the browser has no message. */
export function t(key: MessageKey, ...values: (string | number)[]): string {
  const getMessage = (browser.i18n as unknown as { getMessage: GetMessage }).getMessage;
  const text = getMessage(key, values.length ? values.map(String) : undefined);
  return text || key;
}

/**
 * The message for a key computed from `lib/` (a hazard category's, an error kind's), or undefined when the file
 * has none (the caller then shows `lib/`'s English default).
 */
export function lookupMessage(key: string): string | undefined {
  try {
    const getMessage = (browser.i18n as unknown as { getMessage: GetMessage }).getMessage;
    return getMessage(key) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * A settings problem (from `lib/settings`: bad settings, an import file, the managed policy) in the messages
 * file's words: the sentence's key and values are recovered with `parseProblem`, values that are themselves
 * problem sentences (a reason, an ending) are translated too. Text that is not a known problem sentence, or has no
 * message, is shown as it is (its English).
 */
export function problemMessage(text: string, depth = 0): string {
  const parsed = depth < 4 ? parseProblem(text) : undefined;
  if (!parsed) return text;
  const subs = parsed.subs.map((sub) => problemMessage(sub, depth + 1));
  try {
    const getMessage = (browser.i18n as unknown as { getMessage: GetMessage }).getMessage;
    return getMessage(parsed.key, subs.length ? subs : undefined) || text;
  } catch {
    return text;
  }
}

/** What an endpoint error of this kind is called, from the messages file. */
export function errorTitle(kind: GuardErrorKind): string {
  return lookupMessage(errorMessageKeys(kind).title) ?? ERROR_TITLES[kind] ?? ERROR_TITLES['bad-response'];
}

/**
 * How to fix an endpoint error: the messages file's hint for its kind when the error carries the general one, else
 * the error's own, more specific hint (it names the endpoint, the model or a time).
 */
export function errorHint(error: Pick<GuardErrorData, 'kind' | 'hint'>): string {
  const general = ERROR_HINTS[error.kind];
  if (general === undefined || (error.hint && error.hint !== general)) return error.hint ?? '';
  return lookupMessage(errorMessageKeys(error.kind).hint) ?? general;
}

/** `one` when `count` is 1, else `many`; both get the count as their first value. */
export function plural(
  count: number,
  one: MessageKey,
  many: MessageKey,
  ...rest: (string | number)[]
): string {
  return t(count === 1 ? one : many, formatNumber(count), ...rest);
}

/** The browser's UI language, for number and date formatting. */
export function uiLocale(): string {
  try {
    return (browser.i18n as unknown as { getUILanguage(): string }).getUILanguage() || 'en';
  } catch {
    return 'en';
  }
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
