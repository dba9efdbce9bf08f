/**
 * The scan engine's own sentences (why a check was refused or dropped, why page scanning waits), in English by
 * message key in the extension's messages file. The engine keeps the English (logs print it) and hands the key
 * and values along (`EngineError.messageText`, `EngineStatus.reasonText`), so the popup, the chatbot panel and
 * manual checks show them from the messages file. Values are counts, amounts, an error's kind, and an endpoint
 * error's own sentence (which the pages translate as well, see `localizeErrorText`).
 */
import { type ErrorSentence, errorTemplates } from '../guard/error-text';
import { fill, type MessageText, messageText, templateReader } from '../text';

export const ENGINE_TEMPLATES = Object.freeze({
  // Why a check got no verdict.
  engine_error_offline: 'The browser is offline.',
  engine_error_failing: 'The endpoint is failing: $1: $2',
  engine_error_failing_bare: 'The endpoint is failing.',
  engine_error_rate_limited: 'The endpoint is rate limiting requests.',
  engine_error_budget: "Today's spending reached the daily budget.",
  engine_error_cancelled: 'The check was cancelled.',
  engine_error_dropped: 'The tab closed or navigated before the check was made.',
  engine_error_tab_closed: 'The tab was closed.',
  engine_error_tab_navigated: 'The tab navigated away.',
  engine_error_stopped: 'The scan engine has stopped.',
  engine_error_empty: 'There is nothing to check: the text is empty.',
  engine_error_no_images: 'The selected model does not take images.',
  // Why page scanning waits (the popup's waiting state).
  engine_status_failures_one: '$1 failed request in a row',
  engine_status_failures_many: '$1 failed requests in a row',
  engine_status_failures_one_last: '$1 failed request in a row, last: $2: $3',
  engine_status_failures_many_last: '$1 failed requests in a row, last: $2: $3',
  engine_status_failures_one_retrying: '$1 failed request in a row; trying again',
  engine_status_failures_many_retrying: '$1 failed requests in a row; trying again',
  engine_status_failures_one_last_retrying: '$1 failed request in a row, last: $2: $3; trying again',
  engine_status_failures_many_last_retrying: '$1 failed requests in a row, last: $2: $3; trying again',
  engine_status_asked_to_wait: 'The endpoint asked to wait before the next request.',
  engine_status_asked_to_wait_for: 'The endpoint asked to wait $1 s (HTTP $2).',
  engine_status_budget:
    "Today's spending ($1) reached the daily budget ($2); page scanning resumes tomorrow; prompt checks go on.",
  engine_status_budget_prompts:
    "Today's spending ($1) reached the daily budget ($2); page scanning resumes tomorrow, prompt checks too.",
} as const);

export type EngineTextKey = keyof typeof ENGINE_TEMPLATES;

/** The engine's sentence `key` with `subs` in its placeholders: its English and its structured text. */
export function engineSentence(key: EngineTextKey, ...subs: (string | number)[]): ErrorSentence {
  return { english: fill(ENGINE_TEMPLATES[key], subs), text: messageText(key, subs) };
}

/**
 * "The endpoint is failing" with the failure the circuit breaker keeps (`kind: message`, see the scheduler's
 * `fail`): the kind and the endpoint error's sentence as values, or the bare sentence when there is none.
 */
export function failingSentence(reason: string | undefined): ErrorSentence {
  const at = reason?.indexOf(': ') ?? -1;
  return reason && at > 0
    ? engineSentence('engine_error_failing', reason.slice(0, at), reason.slice(at + 2))
    : engineSentence('engine_error_failing_bare');
}

let reader: ((text: string) => MessageText | undefined) | undefined;

/**
 * The key and values of a sentence the engine or the guard client made (a rate limit's reason is either), or
 * undefined for any other text, which is then shown as it is.
 */
export function parseEngineReason(text: string): MessageText | undefined {
  reader ??= templateReader({ ...errorTemplates(), ...ENGINE_TEMPLATES });
  const parsed = reader(text);
  return parsed && messageText(parsed.key, parsed.subs);
}
