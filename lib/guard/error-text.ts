/**
 * The words for endpoint errors: what each kind is called and its general fix hint, in English, with the keys of
 * the same texts in the extension's messages file. Kept apart from `errors.ts` (which needs the `openai` SDK) so
 * the popup and options page can show them without loading the SDK.
 */
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
  timeout: 'The endpoint did not answer in time',
  'too-large': 'The request was too large for the model',
  server: 'The provider had a server error',
  'bad-response': 'The endpoint did not answer like an OpenAI-compatible API',
  'bad-output': 'The model did not answer like Llama Guard',
  config: 'The endpoint settings are incomplete',
});

/**
 * The fix hint of each kind when nothing more specific is known, in English (messages file: `error_hint_*`).
 * Hints built from the endpoint's details (its name, the model id, a time) are more specific and stay as they are.
 */
export const ERROR_HINTS: Readonly<Record<GuardErrorKind, string>> = Object.freeze({
  auth: 'Check the API key in Guardlens settings.',
  forbidden: 'The API key is not allowed to use this model; check the account and its credits.',
  'model-not-found': 'Check the model id and the base URL in Guardlens settings.',
  'rate-limited': 'The provider is rate limiting requests; wait a moment and try again.',
  unreachable: 'Check the base URL and your connection.',
  cors: 'The endpoint refuses requests from the extension (CORS).',
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
