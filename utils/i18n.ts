/**
 * Messages by keys computed from `lib/` (a hazard category's, an error kind's) and lib's structured texts, from
 * `public/_locales/en/messages.json` through `browser.i18n.getMessage`, for every extension context that shows
 * them: the background (page labels, history, manual checks), the popup and the options page. When the file has
 * no message, or the browser cannot answer (the extension was reloaded), lib's English stands in.
 */
import { browser } from 'wxt/browser';
import {
  ERROR_HINTS,
  ERROR_TITLES,
  errorEnglish,
  errorMessageKeys,
  localizeErrorText,
  translateQuotedError,
} from '@/lib/guard/error-text';
import type { GuardErrorData, GuardErrorKind } from '@/lib/guard/errors';
import type { ProviderPreset } from '@/lib/providers/presets';
import { fill, type GetMessage, type MessageText, messageText, translateText } from '@/lib/text';
import { formatLocale, messagesLocale, pluralPick } from './locale';
import { PRESET_LABEL_KEYS, withPresetLabels } from './preset-labels';
import { PAGE_MESSAGES, type PageStrings } from './protocol/page';

/**
 * Sentences lib words in English for one and for more than one, by key: the pair and which value is the count.
 * lib picks by English rules (1 or not); the browser's message is picked again by the UI language's.
 */
const PLURAL_PAIRS: Readonly<Record<string, readonly [one: string, other: string, count: number]>> = (() => {
  const pairs: Record<string, readonly [string, string, number]> = {};
  const add = (one: string, other: string, count: number) => {
    pairs[one] = pairs[other] = [one, other, count];
  };
  for (const end of ['', '_last', '_retrying', '_last_retrying'])
    add(`engine_status_failures_one${end}`, `engine_status_failures_many${end}`, 0);
  add('error_config_image_limit_one', 'error_config_image_limit', 1);
  return pairs;
})();

function uiLanguage(): string | undefined {
  try {
    return (browser.i18n as unknown as { getUILanguage(): string }).getUILanguage() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The browser's `getMessage`, taking any key (the typed signature only takes the file's literal keys). A sentence
 * of a singular/plural pair is given in the form its count takes in the UI language, the count formatted for it.
 */
export const browserMessage: GetMessage = (key, substitutions) => {
  // A preset's English name in a sentence (an endpoint error naming "Ollama (local)") is given in the file's words.
  const getMessage = withPresetLabels((k: string, subs?: string[]) =>
    (browser.i18n as unknown as { getMessage: GetMessage }).getMessage(k, subs),
  );
  const pair = PLURAL_PAIRS[key];
  const value = pair && Array.isArray(substitutions) ? substitutions[pair[2]] : undefined;
  if (!pair || !Array.isArray(substitutions) || !value || !/^\d+$/.test(value))
    return getMessage(key, substitutions);
  const count = Number(value);
  const language = uiLanguage();
  const subs = [...substitutions];
  subs[pair[2]] = new Intl.NumberFormat(formatLocale(language)).format(count);
  return getMessage(pluralPick(count, messagesLocale(language), pair[0], pair[1]), subs);
};

/** A provider preset's name for people: from the messages file for the descriptive ones, else as it is. */
export function presetLabel(preset: Pick<ProviderPreset, 'id' | 'label'>): string {
  const key = PRESET_LABEL_KEYS[preset.id];
  return (key && lookupMessage(key)) || preset.label;
}

/** The message for a key computed at run time, or undefined when the file has none. */
export function lookupMessage(key: string): string | undefined {
  try {
    return browserMessage(key) || undefined;
  } catch {
    return undefined;
  }
}

/** What an endpoint error of this kind is called, from the messages file. */
export function errorTitle(kind: GuardErrorKind): string {
  return lookupMessage(errorMessageKeys(kind).title) ?? ERROR_TITLES[kind] ?? ERROR_TITLES['bad-response'];
}

/** A structured error text from the messages file; `english` when it has none. */
function errorText(text: MessageText | undefined, english: string): string {
  return text
    ? localizeErrorText(browserMessage, translateQuotedError(browserMessage, text), english)
    : english;
}

/**
 * A text to send to a page that shows it from the messages file itself (the chatbot panel): an endpoint error it
 * quotes is put in the messages file's words here, where the sentence readers are.
 */
export function textForPage(text: MessageText): MessageText {
  try {
    return translateQuotedError(browserMessage, text);
  } catch {
    return text;
  }
}

/** What went wrong at the endpoint, from the messages file when lib built it from a template, else as it is. */
export function errorMessage(error: Pick<GuardErrorData, 'message' | 'messageText'>): string {
  return errorText(error.messageText, error.message);
}

/**
 * How to fix an endpoint error, from the messages file: its specific hint (naming the endpoint, the model or a
 * time) or the general hint of its kind. A hint given only in English is shown as it is.
 */
export function errorHint(error: Pick<GuardErrorData, 'kind' | 'hint' | 'hintText'>): string {
  if (error.hintText) return errorText(error.hintText, error.hint ?? errorEnglish(error.hintText) ?? '');
  const general = ERROR_HINTS[error.kind];
  if (general === undefined || (error.hint && error.hint !== general)) return error.hint ?? '';
  return errorText({ key: errorMessageKeys(error.kind).hint }, general);
}

/**
 * The sentence `key` of a table of English templates (`$1` … for values), from the messages file, where the
 * template's English stands in when the file has no message. For code outside `lib/` that words its own reasons.
 */
export function templateMessage<K extends string>(
  templates: Readonly<Record<K, string>>,
  key: K,
  ...subs: (string | number)[]
): string {
  return translateText(browserMessage, messageText(key, subs), fill(templates[key], subs));
}

/**
 * The page script's strings as `getMessage` gives them, with `$1` left where a value goes (`PageConfig.strings`).
 * A key it has no message for is left out: the page script then reads that one itself.
 */
export function renderPageStrings(getMessage: GetMessage): PageStrings {
  const strings: PageStrings = {};
  for (const key of PAGE_MESSAGES) {
    let text = '';
    try {
      text = getMessage(key, ['$1']) ?? '';
    } catch {
      // The extension is going away: the page script asks for it itself.
    }
    if (text) strings[key] = text;
  }
  return strings;
}

let pageStringsRead: PageStrings | undefined;

/** `renderPageStrings` from the browser's messages, read once (the language does not change while it runs). */
export function pageStrings(): PageStrings {
  pageStringsRead ??= renderPageStrings((key, subs) =>
    (browser.i18n as unknown as { getMessage: GetMessage }).getMessage(key, subs),
  );
  return pageStringsRead;
}
