/**
 * The words for endpoint errors: what each kind is called and its general fix hint, in English, with the keys of
 * the same texts in the extension's messages file. Kept apart from `errors.ts` (which needs the `openai` SDK) so
 * the popup and options page can show them without loading the SDK.
 */
import { fill, type GetMessage, type MessageText, templateReader, translateText } from '../text';
import type { GuardErrorKind } from './errors';

/**
 * What each kind of failure is called, in English (the extension shows the messages file's `error_kind_*`,
 * see `errorMessageKeys`; the CLI and logs use these).
 */
export const ERROR_TITLES: Readonly<Record<GuardErrorKind, string>> = Object.freeze({
  auth: 'The endpoint refused the API key',
  forbidden: 'The API key may not use this model',
  'model-not-found': 'The endpoint does not know this model',
  'rate-limited': 'The provider is rate limiting requests',
  unreachable: 'The endpoint could not be reached',
  cors: 'The endpoint refuses requests from the extension (CORS)',
  'no-access': 'The browser does not let Guardlens reach the endpoint',
  timeout: 'The endpoint did not answer in time',
  'too-large': 'The request was too large for the model',
  server: 'The provider had a server error',
  'bad-response': 'The endpoint did not answer like an OpenAI-compatible API',
  'bad-output': 'The model did not answer like Llama Guard',
  config: 'The endpoint settings are incomplete',
});

/**
 * The fix hint of each kind when nothing more specific is known, in English (messages file: `error_hint_*`).
 * Hints built from the endpoint's details (its name, the model id, a time) come from `ERROR_TEMPLATES`.
 */
export const ERROR_HINTS: Readonly<Record<GuardErrorKind, string>> = Object.freeze({
  auth: 'Check the API key in Guardlens settings.',
  forbidden: 'The API key is not allowed to use this model; check the account and its credits.',
  'model-not-found': 'Check the model id and the base URL in Guardlens settings.',
  'rate-limited': 'The provider is rate limiting requests; wait a moment and try again.',
  unreachable: 'Check the base URL and your connection.',
  cors: 'The endpoint refuses requests from the extension (CORS).',
  'no-access': "Open Guardlens settings and save them: the browser then asks to allow the endpoint's site.",
  timeout:
    'The endpoint is slow or overloaded; Guardlens tries again by itself. If it keeps happening, choose a faster provider or model.',
  'too-large': 'The text is too long for the model; lower "Piece size" under Page scanning in the options.',
  server: 'The provider had a server error; try again later.',
  'bad-response': 'The endpoint did not answer like an OpenAI-compatible API; check the base URL.',
  'bad-output': 'Check that the endpoint serves a Llama Guard model.',
  config: 'Check the endpoint settings in Guardlens.',
});

/** The message keys of a kind's title and general hint: `error_kind_<kind>` and `error_hint_<kind>` (`-` → `_`). */
export function errorMessageKeys(kind: GuardErrorKind): { title: string; hint: string } {
  const id = kind.replace(/-/g, '_');
  return { title: `error_kind_${id}`, hint: `error_hint_${id}` };
}

/** What Ollama needs to take requests from a browser extension (part of two hints). */
const OLLAMA_ORIGINS =
  'Ollama refuses requests from browser extensions unless it allows them: set OLLAMA_ORIGINS to ' +
  '"chrome-extension://*,moz-extension://*" in the environment of the Ollama server and restart it ' +
  '(macOS app: `launchctl setenv OLLAMA_ORIGINS "chrome-extension://*,moz-extension://*"`; ' +
  'Linux service: add `Environment="OLLAMA_ORIGINS=chrome-extension://*,moz-extension://*"` with ' +
  '`systemctl edit ollama`).';

/**
 * The specific sentences of endpoint errors, in English, by their key in the messages file: what happened
 * (`error_detail_*`) and how to fix it (`error_fix_*`). Values are `$1`, `$2` … in order: the provider's name,
 * the model id, the base URL, a time, and the endpoint's own answer (data, shown as it came).
 */
export const ERROR_TEMPLATES = Object.freeze({
  // What happened.
  error_detail_status: '$1 answered $2: $3',
  error_detail_status_bare: '$1 answered $2',
  error_detail_cors_403: '$1 refused the request (403 with an empty body)',
  error_detail_unreachable: 'Could not reach $1 at $2: $3',
  error_detail_cors:
    "Could not reach $1 at $2: $3. Ollama may not be running, or it refuses the extension's origin.",
  error_detail_no_access:
    'The browser does not let Guardlens reach $1 at $2: Guardlens has no access to that site.',
  error_detail_timeout: '$1 did not answer within $2 s.',
  error_detail_timeout_limit: '$1 did not answer within the time limit.',
  error_detail_cancelled: 'The check was cancelled before the endpoint answered.',
  error_detail_not_json: 'The endpoint sent a response that is not valid JSON: $1',
  error_detail_bad_output: "The model's answer is not a Llama Guard verdict ($1): $2",
  error_detail_unknown: 'Unknown error',
  // How to fix it.
  error_fix_auth: '$1 did not accept the API key; check it in Guardlens settings.',
  error_fix_payment: '$1 wants payment for $2; add credits to the account.',
  error_fix_forbidden: "$1 does not allow this key to use $2; check the account's permissions and credits.",
  error_fix_model_url:
    '$1 does not serve the model "$2" at $3; check the model id (and that the base URL ends with /v1).',
  error_fix_model: '$1 does not serve the model "$2"; check the model id.',
  error_fix_too_large:
    'The text is too long for $1 at $2; lower "Piece size" under Page scanning in the options.',
  error_fix_rate_until: '$1 is rate limiting requests; wait until $2.',
  error_fix_rate: '$1 is rate limiting requests; wait a minute and try again.',
  error_fix_request: '$1 rejected the request for $2; check the model id and the mode (chat or raw).',
  error_fix_server: '$1 had a server error; try again later.',
  error_fix_ollama_origins: OLLAMA_ORIGINS,
  error_fix_ollama_cors: `Make sure Ollama is running (\`ollama serve\`). ${OLLAMA_ORIGINS}`,
  error_fix_ollama_start: 'Start Ollama (`ollama serve`) and check the base URL.',
  error_fix_not_resolving: 'The host of $1 does not resolve; check the base URL.',
  error_fix_refused: 'Nothing is listening at $1; check the base URL and that the server is running.',
  error_fix_unreachable: 'Check the base URL ($1), your connection, and that the server is running.',
  error_fix_no_access:
    'Open Guardlens settings and save them: the browser then asks to allow $1. In Chrome, also check that the ' +
    'extension\'s site access is not "On click".',
  error_fix_cancelled: 'The check was cancelled.',
  error_fix_not_json:
    'Check that the base URL points to an OpenAI-compatible API (it usually ends with /v1).',
  error_fix_bad_output:
    'Check that the endpoint serves a Llama Guard model and, in chat mode, that the provider applies its ' +
    'template; raw mode avoids provider templates.',
} as const);

/**
 * What the guard client refuses before it calls the endpoint (settings it cannot use, a request it cannot send:
 * `config` errors) and what it cannot read in an answer (`bad-response`), in English by message key. Values are
 * the provider's or the model's name, a setting's name, a count, or text as it came (the prompt builder's reason,
 * the start of the answer).
 */
export const CLIENT_ERROR_TEMPLATES = Object.freeze({
  // Settings the client cannot use.
  error_config_none: 'No endpoint is configured.',
  error_config_no_model: "The endpoint's model id is empty.",
  error_config_guard_model: '"$1" is not a Llama Guard generation Guardlens knows.',
  error_config_mode: 'Mode must be "chat" or "raw", not "$1".',
  error_config_preset: '"$1" is not a provider preset.',
  error_config_no_key: '$1 needs an API key.',
  error_config_no_raw: '$1 does not take raw prompts: it applies its own template to /completions.',
  error_config_positive: '$1 must be a positive number.',
  error_config_retries: 'maxRetries must be a whole number, 0 or more.',
  // Requests the client cannot send.
  error_config_nothing: 'There is nothing to classify.',
  error_config_no_images: '$1 does not take images.',
  error_config_image_limit_one: '$1 takes at most $2 image per check, got $3.',
  error_config_image_limit: '$1 takes at most $2 images per check, got $3.',
  error_config_images_raw: 'Images can only be sent in chat mode.',
  error_config_raw_categories:
    'Custom or excluded categories need raw mode: a provider\u2019s chat template always sends its own list.',
  error_config_no_excluded: "$1's template does not accept excluded categories.",
  error_config_no_custom: "$1's template does not accept custom categories.",
  error_config_build: 'Could not build the prompt: $1',
  // How to fix them.
  error_fix_base_url: 'Fix the base URL in Guardlens settings.',
  error_fix_choose_model: 'Choose the model in Guardlens settings.',
  error_fix_add_key: 'Add your $1 API key in Guardlens settings.',
  error_fix_use_chat: 'Use chat mode with this provider.',
  error_fix_image_model: 'Use Llama Guard 4 or Llama Guard 3 11B Vision.',
  error_fix_images_chat: 'Switch the endpoint to chat mode for images.',
  error_fix_raw_categories: 'Switch the endpoint to raw mode, or clear the category changes.',
  // Answers the client cannot read.
  error_detail_answer_not_json: 'The endpoint answered with something that is not JSON.',
  error_detail_answer_not_json_text: 'The endpoint answered with something that is not JSON: $1',
  error_detail_answer_not_json_type: 'The endpoint answered with something that is not JSON ($1): $2',
  error_detail_no_choices: 'The endpoint answered without any choices.',
  error_detail_no_text: 'The endpoint answered without any text in its first choice.',
  error_fix_bad_response:
    'The endpoint did not answer like an OpenAI-compatible API; check the base URL and the mode.',
} as const);

export type ErrorTextKey = keyof typeof ERROR_TEMPLATES | keyof typeof CLIENT_ERROR_TEMPLATES;

const sentenceTemplate = (key: ErrorTextKey): string =>
  key in ERROR_TEMPLATES
    ? ERROR_TEMPLATES[key as keyof typeof ERROR_TEMPLATES]
    : CLIENT_ERROR_TEMPLATES[key as keyof typeof CLIENT_ERROR_TEMPLATES];

/**
 * Why a model's answer is not a Llama Guard verdict (the first value of `error_detail_bad_output`), in English by
 * message key: the reasons `lib/guard/parse.ts` gives. A reason that is not one of these is shown as it is.
 */
export const OUTPUT_REASON_TEMPLATES = Object.freeze({
  error_reason_not_text: 'not text',
  error_reason_empty: 'empty answer',
  error_reason_safe_more: '"safe" followed by more text',
  error_reason_first_line: 'first line is neither "safe" nor "unsafe"',
  error_reason_lines: 'more than two lines',
  error_reason_not_code: '"$1" is not a category code',
} as const);

/** An English sentence and its structured text, the way `GuardError` takes them. */
export interface ErrorSentence {
  english: string;
  text: MessageText;
}

/** The sentence `key` with `subs` in its placeholders: its English and its structured text. */
export function errorSentence(key: ErrorTextKey, ...subs: (string | number)[]): ErrorSentence {
  const values = subs.map(String);
  return {
    english: fill(sentenceTemplate(key), values),
    text: values.length ? { key, subs: values } : { key },
  };
}

let english: Readonly<Record<string, string>> | undefined;

/** Every error text's English by message key (made on first use). */
export function errorTemplates(): Readonly<Record<string, string>> {
  english ??= {
    ...Object.fromEntries(
      (Object.keys(ERROR_HINTS) as GuardErrorKind[]).flatMap((kind) => [
        [errorMessageKeys(kind).title, ERROR_TITLES[kind]],
        [errorMessageKeys(kind).hint, ERROR_HINTS[kind]],
      ]),
    ),
    ...ERROR_TEMPLATES,
    ...CLIENT_ERROR_TEMPLATES,
  };
  return english;
}

/** The English of a structured error text (a sentence, a kind's title or general hint), or undefined. */
export function errorEnglish(text: MessageText): string | undefined {
  const template = errorTemplates()[text.key];
  return template === undefined ? undefined : fill(template, text.subs ?? []);
}

const readReason = /* @__PURE__ */ templateReader(OUTPUT_REASON_TEMPLATES);

/**
 * Sentences that quote an endpoint error's own sentence as a value (the scan engine's "The endpoint is failing:
 * …", see `lib/engine/engine-text.ts`), by the index of that value: it is translated too when lib made it.
 */
const QUOTED_ERROR_VALUE: Readonly<Record<string, number>> = Object.freeze({
  engine_error_failing: 1,
  engine_status_failures_one_last: 2,
  engine_status_failures_many_last: 2,
  engine_status_failures_one_last_retrying: 2,
  engine_status_failures_many_last_retrying: 2,
});

let readError: ((text: string) => MessageText | undefined) | undefined;

/** The key and values of an endpoint error's sentence (a title, a hint, a specific sentence), or undefined. */
function parseErrorSentence(text: string): MessageText | undefined {
  readError ??= templateReader(errorTemplates());
  return readError(text);
}

/**
 * A structured error text in the messages file's words through `getMessage` (the reason of a bad-output message
 * too, when it is one lib names); `english` when there is no message. Values that are data (a provider's answer,
 * the model's output, a URL) are shown as they came. An endpoint error the engine quotes is translated by
 * `translateQuotedError` first (kept apart, so the chatbot script carries no sentence reader).
 */
export function localizeErrorText(getMessage: GetMessage, text: MessageText, english: string): string {
  const first = text.key === 'error_detail_bad_output' ? text.subs?.[0] : undefined;
  const reason = first === undefined ? undefined : readReason(first);
  const translatedReason = reason && translateText(getMessage, reason, first!);
  return translateText(getMessage, text, english, (value, index) =>
    index === 0 && translatedReason !== undefined ? translatedReason : value,
  );
}

/**
 * `text` with the endpoint error it quotes (see `QUOTED_ERROR_VALUE`) in the messages file's words already, when
 * lib made that sentence; any other text as it is. The background does this before it sends a text to a page.
 */
export function translateQuotedError(getMessage: GetMessage, text: MessageText): MessageText {
  const at = QUOTED_ERROR_VALUE[text.key];
  const value = at === undefined ? undefined : text.subs?.[at];
  const quoted = value === undefined ? undefined : parseErrorSentence(value);
  if (!quoted || !text.subs) return text;
  const subs = [...text.subs];
  subs[at!] = localizeErrorText(getMessage, quoted, value!);
  return { key: text.key, subs };
}
