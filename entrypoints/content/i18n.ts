import { messagesLocale } from '@/utils/locale';
import { extensionMessage, extensionUiLanguage } from '@/utils/page-api';
import type { PageMessage, PageStrings } from '@/utils/protocol/page';

export type { PageMessage };

/** The strings the background sent with the page's configuration (`PageConfig.strings`), once it answered. */
let given: PageStrings = {};

/**
 * Shows the strings the background sent from now on (anything but a string per `page_` key is left out). A key
 * without one is read through `i18n.getMessage`, which loads the extension's messages into the frame first.
 */
export function usePageStrings(strings: unknown): void {
  given = {};
  if (!strings || typeof strings !== 'object') return;
  // By the keys' prefix, not the list of them (`PAGE_MESSAGES`), which would be carried into every frame.
  for (const [key, value] of Object.entries(strings)) {
    if (key.startsWith('page_') && typeof value === 'string' && value) given[key as PageMessage] = value;
  }
}

/** Strings people see on the page, from the extension's messages (`page_*` keys). */
export function t(key: PageMessage, ...substitutions: string[]): string {
  const template = given[key];
  if (template !== undefined)
    return template.replace(/\$([1-9])/g, (_, n: string) => substitutions[Number(n) - 1] ?? '');
  // '' once the extension was reloaded under the page: the key then stands in.
  return extensionMessage(key, substitutions) || [key, ...substitutions].join(' ');
}

/** The language the messages are in (`de`, `th`…), for the `lang` of what Guardlens puts on the page. */
export function messagesLanguage(): string {
  return messagesLocale(extensionUiLanguage());
}
