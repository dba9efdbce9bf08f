/**
 * The prompt guard's strings, from `public/_locales/en/messages.json` (keys prefixed `prompt_`) through
 * `browser.i18n.getMessage`. Values fill the message's placeholders in order. Why a check failed comes from the
 * background by message key and values (an endpoint error, the background's own reasons) and is shown from the
 * same file with `t.text`.
 */
import { localizeErrorText } from '@/lib/guard/error-text';
import type { MessageText } from '@/lib/text';
import { withPresetLabels } from '@/utils/preset-labels';

export const PROMPT_MESSAGE_KEYS = [
  'prompt_checking',
  'prompt_checking_label',
  'prompt_blocked_title',
  'prompt_warn_title',
  'prompt_categories',
  'prompt_no_category',
  'prompt_attachments_unchecked',
  'prompt_edit',
  'prompt_send_anyway',
  'prompt_send_anyway_forbidden',
  'prompt_failed_title',
  'prompt_failed_held',
  'prompt_retry',
  'prompt_sent_unchecked',
  'prompt_sent_attachments',
  'prompt_unreadable',
  'prompt_timeout',
  'prompt_unavailable',
  'prompt_not_ready',
  'prompt_release_failed',
  'prompt_dismiss',
  'prompt_panel_label',
] as const;

export type PromptMessageKey = (typeof PROMPT_MESSAGE_KEYS)[number];

export interface Translate {
  (key: PromptMessageKey, ...values: string[]): string;
  /** A text the background sent by message key and values; `english` when there is no message for it. */
  text(text: MessageText, english: string): string;
  /** The language the messages are in (`de`, `th`…), for the `lang` of the panel and notices. */
  readonly lang: string;
}

/** The browser's message for `key` (the key itself when there is none, so a missing string is visible). */
export function createTranslate(
  browserGetMessage: (key: string, substitutions?: string[]) => string,
  lang = 'en',
): Translate {
  // A provider named in a sentence by its English preset name is named in the file's words, as on the pages.
  const getMessage = withPresetLabels(browserGetMessage);
  const translate = (key: PromptMessageKey, ...values: string[]) => {
    try {
      return getMessage(key, values.length > 0 ? values : undefined) || key;
    } catch {
      return key;
    }
  };
  return Object.assign(translate, {
    text: (text: MessageText, english: string) => localizeErrorText(getMessage, text, english),
    lang,
  });
}
