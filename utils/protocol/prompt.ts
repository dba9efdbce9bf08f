/**
 * Messages between the chatbot content script and the background (prompt guard and reply checks).
 *
 * The content script says hello when it starts and gets its `PromptConfig`; every check answers with the config in
 * force too. When the settings change, the background tells open chatbot tabs (`prompt:config`) and they ask again:
 * answers to requests made later win, so a late message never brings back an older config. Nothing here carries the
 * key or the endpoint.
 */
import type { PromptConfig } from '@/lib/chatbots/config';
import type { MessageText } from '@/lib/text';
import type { PageVerdict } from './page';

export type { PromptConfig } from '@/lib/chatbots/config';

/**
 * The background's own reasons for a check without a verdict, in English by message key (values `$1` …); the
 * endpoint's errors come with the guard client's texts (`lib/guard/error-text.ts`).
 */
export const PROMPT_ERROR_TEMPLATES = Object.freeze({
  prompt_error_no_prompt: 'There was no prompt text to check.',
  prompt_error_no_reply: 'There was no reply text to check.',
  prompt_error_timeout: 'The endpoint did not answer within $1 seconds.',
  prompt_error_reply_timeout: 'The reply check took too long.',
} as const);

/** The answer to a prompt check. */
export type PromptCheckResult = { config: PromptConfig } & (
  | { status: 'safe' }
  /** `categories` are the codes not set to "ignore"; `names` the model card's names for them, same order. */
  | { status: 'unsafe'; categories: string[]; names: string[] }
  /** Nothing was checked: the guard is off for this page (the config says why). */
  | { status: 'skipped' }
  /**
   * No verdict. `kind`: the guard client's error kind ('unreachable', 'server', 'auth' …), the engine's
   * ('circuit-open', 'offline', 'rate-limited', 'dropped' …), 'timeout' when the check took longer than the
   * config's `timeoutMs`, or 'invalid' for a request the background could not take. `message` is English;
   * `text` says the same by message key and values when there is a message for it (the page shows that).
   */
  | { status: 'error'; kind: string; message: string; text?: MessageText; retryAt?: number }
);

/** The answer to a reply check. */
export type ReplyCheckResult =
  | { status: 'safe' }
  /** The action the person chose for the categories, to apply like page content. */
  | { status: 'unsafe'; verdict: PageVerdict }
  | { status: 'skipped' }
  | { status: 'error'; kind: string; message: string; text?: MessageText };

export interface PromptProtocol {
  // content script → background
  'prompt:hello'(data: { url: string }): PromptConfig;
  'prompt:check'(data: { url: string; ref: string; text: string }): PromptCheckResult;
  /** `prompt`: the user turn the reply answers ('' when unknown). `visible`: the reply is on screen. */
  'prompt:reply'(data: {
    url: string;
    ref: string;
    text: string;
    prompt: string;
    visible: boolean;
  }): ReplyCheckResult;
  // background → content script: the settings changed; ask `prompt:hello` again.
  'prompt:config'(): void;
}
