import { messagesLocale } from '@/utils/locale';
import { extensionMessage, extensionUiLanguage } from '@/utils/page-api';

/** Strings people see on the page, from the extension's messages (`page_*` keys). */
export type PageMessage =
  | 'page_labelFlagged'
  | 'page_labelUnchecked'
  | 'page_show'
  | 'page_hide'
  | 'page_showAria'
  | 'page_hideAria'
  | 'page_close'
  | 'page_checkSafe'
  | 'page_checkFlagged'
  | 'page_checkFailed'
  | 'page_imageReadStatus'
  | 'page_imageTooLarge'
  | 'page_imageUnreadable'
  | 'page_imageScheme';

export function t(key: PageMessage, ...substitutions: string[]): string {
  // '' once the extension was reloaded under the page: the key then stands in.
  return extensionMessage(key, substitutions) || [key, ...substitutions].join(' ');
}

/** The language the messages are in (`de`, `th`…), for the `lang` of what Guardlens puts on the page. */
export function messagesLanguage(): string {
  return messagesLocale(extensionUiLanguage());
}
