/**
 * The prompt guard's strings, from `public/_locales/en/messages.json` (keys prefixed `prompt_`) through
 * `browser.i18n.getMessage`. Values fill the message's placeholders in order.
 */
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
  'prompt_release_failed',
  'prompt_dismiss',
  'prompt_panel_label',
] as const;

export type PromptMessageKey = (typeof PROMPT_MESSAGE_KEYS)[number];

export type Translate = (key: PromptMessageKey, ...values: string[]) => string;

/** The browser's message for `key` (the key itself when there is none, so a missing string is visible). */
export function createTranslate(getMessage: (key: string, substitutions?: string[]) => string): Translate {
  return (key, ...values) => {
    try {
      return getMessage(key, values.length > 0 ? values : undefined) || key;
    } catch {
      return key;
    }
  };
}
