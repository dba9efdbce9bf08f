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
  let text = '';
  try {
    text = browser.i18n.getMessage(key, substitutions);
  } catch {
    // The extension was reloaded under the page: fall back to the key.
  }
  return text || [key, ...substitutions].join(' ');
}
