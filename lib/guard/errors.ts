/**
 * Typed errors for everything that can go wrong between Guardlens and a Llama Guard endpoint.
 *
 * Every failure the client sees is turned into a `GuardError` with a `kind` the interface can branch on, a
 * short `hint` a person can act on, and `toJSON()` data that crosses extension messaging. Messages and hints
 * never carry the API key: `toGuardError` scrubs anything that looks like one.
 */
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  OpenAIError,
} from 'openai';
import { getPreset, isPresetId } from '../providers/presets';
import { ERROR_HINTS } from './error-text';

export { ERROR_HINTS, ERROR_TITLES, errorMessageKeys } from './error-text';

export const GUARD_ERROR_KINDS = [
  'auth',
  'forbidden',
  'model-not-found',
  'rate-limited',
  'unreachable',
  'cors',
  'timeout',
  'too-large',
  'server',
  'bad-response',
  'bad-output',
  'config',
] as const;
export type GuardErrorKind = (typeof GUARD_ERROR_KINDS)[number];

/** Kinds worth trying again later without changing anything. */
const RETRYABLE: ReadonlySet<GuardErrorKind> = new Set(['rate-limited', 'unreachable', 'timeout', 'server']);

/** Plain data for a GuardError: what `toJSON()` returns and `guardErrorFromJSON()` accepts. */
export interface GuardErrorData {
  name: string;
  kind: GuardErrorKind;
  message: string;
  hint: string;
  status?: number;
  retryable: boolean;
  /** Epoch milliseconds after which a rate-limited request may be sent again. */
  retryAt?: number;
  /** The check was cancelled by its caller (kind 'timeout'). */
  cancelled?: boolean;
  /** For 'bad-output': the model's answer, truncated. */
  output?: string;
}

export interface GuardErrorOptions {
  hint?: string;
  status?: number;
  retryable?: boolean;
  retryAt?: number;
  cancelled?: boolean;
  cause?: unknown;
}

export class GuardError extends Error {
  override name = 'GuardError';
  readonly kind: GuardErrorKind;
  readonly hint: string;
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAt?: number;
  readonly cancelled?: boolean;

  constructor(kind: GuardErrorKind, message: string, opts: GuardErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = kind;
    this.hint = opts.hint ?? defaultHint(kind);
    if (opts.status !== undefined) this.status = opts.status;
    this.retryable = opts.retryable ?? RETRYABLE.has(kind);
    if (opts.retryAt !== undefined) this.retryAt = opts.retryAt;
    if (opts.cancelled) this.cancelled = true;
  }

  toJSON(): GuardErrorData {
    const data: GuardErrorData = {
      name: this.name,
      kind: this.kind,
      message: this.message,
      hint: this.hint,
      retryable: this.retryable,
    };
    if (this.status !== undefined) data.status = this.status;
    if (this.retryAt !== undefined) data.retryAt = this.retryAt;
    if (this.cancelled) data.cancelled = true;
    return data;
  }
}

/** Longest piece of a model's answer an error keeps. */
export const MAX_OUTPUT_IN_ERROR = 200;

/** The model answered, but not with a Llama Guard verdict. Never treated as "safe". */
export class GuardOutputError extends GuardError {
  override name = 'GuardOutputError';
  /** The offending output, truncated to MAX_OUTPUT_IN_ERROR characters. */
  readonly output: string;

  constructor(output: string, reason: string, opts: GuardErrorOptions = {}) {
    const shown = truncate(output, MAX_OUTPUT_IN_ERROR);
    super(
      'bad-output',
      `The model's answer is not a Llama Guard verdict (${reason}): ${JSON.stringify(shown)}`,
      {
        hint:
          'Check that the endpoint serves a Llama Guard model and, in chat mode, that the provider applies its ' +
          'template; raw mode avoids provider templates.',
        retryable: false,
        ...opts,
      },
    );
    this.output = shown;
  }

  override toJSON(): GuardErrorData {
    return { ...super.toJSON(), output: this.output };
  }
}

export function isGuardError(x: unknown): x is GuardError {
  return x instanceof GuardError;
}

/** Rebuilds an error sent across extension messaging with `toJSON()`. */
export function guardErrorFromJSON(data: GuardErrorData): GuardError {
  const kind: GuardErrorKind = (GUARD_ERROR_KINDS as readonly string[]).includes(data.kind)
    ? data.kind
    : 'bad-response';
  const opts: GuardErrorOptions = { hint: data.hint, retryable: !!data.retryable };
  if (typeof data.status === 'number') opts.status = data.status;
  if (typeof data.retryAt === 'number') opts.retryAt = data.retryAt;
  if (data.cancelled) opts.cancelled = true;
  if (kind === 'bad-output' && typeof data.output === 'string') {
    const err = new GuardOutputError(data.output, 'see message', opts);
    err.message = data.message;
    return err;
  }
  return new GuardError(kind, data.message, opts);
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function defaultHint(kind: GuardErrorKind): string {
  return ERROR_HINTS[kind];
}

// ---------------------------------------------------------------------------------------------------------------
// Scrubbing

/** Removes the API key (and anything shaped like a credential) from a message. */
export function scrubSecrets(text: string, apiKey?: string): string {
  let out = text;
  if (apiKey && apiKey.length >= 4) out = out.split(apiKey).join('[redacted]');
  return out
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]')
    .replace(/\b(?:sk-|gsk_|fw_)[A-Za-z0-9_*-]{8,}/g, '[redacted]')
    .replace(/([?&](?:api[_-]?key|key|token|access_token)=)[^&\s"']+/gi, '$1[redacted]')
    .replace(/\/\/[^/\s:@]+:[^/\s@]+@/g, '//[redacted]@');
}

// ---------------------------------------------------------------------------------------------------------------
// Mapping

export interface GuardErrorContext {
  baseUrl: string;
  /** The provider's model id. */
  model: string;
  preset?: string;
  /** Only used to scrub it from messages; never stored. */
  apiKey?: string;
  /** The timeout that applied, for the hint. */
  timeoutMs?: number;
}

/** True when the endpoint looks like a local Ollama (its preset, or its default port). */
export function isOllamaLike(ctx: { baseUrl: string; preset?: string }): boolean {
  if (ctx.preset === 'ollama') return true;
  try {
    return new URL(ctx.baseUrl).port === '11434';
  } catch {
    return false;
  }
}

export const OLLAMA_ORIGINS_HINT =
  'Ollama refuses requests from browser extensions unless it allows them: set OLLAMA_ORIGINS to ' +
  '"chrome-extension://*,moz-extension://*" in the environment of the Ollama server and restart it ' +
  '(macOS app: `launchctl setenv OLLAMA_ORIGINS "chrome-extension://*,moz-extension://*"`; ' +
  'Linux service: add `Environment="OLLAMA_ORIGINS=chrome-extension://*,moz-extension://*"` with ' +
  '`systemctl edit ollama`).';

function providerName(ctx: GuardErrorContext): string {
  if (ctx.preset && isPresetId(ctx.preset) && ctx.preset !== 'custom') return getPreset(ctx.preset).label;
  try {
    return new URL(ctx.baseUrl).host || ctx.baseUrl;
  } catch {
    return ctx.baseUrl || 'the endpoint';
  }
}

/** Formats epoch ms as local HH:MM (HH:MM:SS when it is less than a minute away). */
export function formatClock(epochMs: number, now = Date.now()): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return epochMs - now < 60_000 ? `${hm}:${pad(d.getSeconds())}` : hm;
}

/** Reads `retry-after-ms`, `retry-after` (seconds or HTTP date) into an epoch-ms instant. */
export function retryAtFromHeaders(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers || typeof headers.get !== 'function') return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const n = Number.parseFloat(ms);
    if (Number.isFinite(n) && n >= 0) return now + n;
  }
  const ra = headers.get('retry-after');
  if (ra !== null && ra.trim() !== '') {
    const trimmed = ra.trim();
    if (/^\d+(\.\d+)?$/.test(trimmed)) return now + Number.parseFloat(trimmed) * 1000;
    const date = Date.parse(trimmed);
    if (Number.isFinite(date)) return Math.max(date, now);
  }
  return undefined;
}

const TOO_LARGE_RE =
  /context length|context window|maximum context|too long|too many tokens|token limit|max_new_tokens|reduce the length|exceeds? the (?:model'?s? )?(?:maximum|limit)|prompt is too large|payload too large/i;
const MODEL_RE =
  /model[^.]{0,80}(?:not (?:be )?found|does not exist|doesn'?t exist|not available|unknown|invalid|decommissioned|deprecated|not supported)|(?:unknown|invalid|no such) model|model_not_found|model_decommissioned/i;

function apiErrorMessage(err: APIError): string {
  const body = err.error as Record<string, unknown> | undefined;
  if (body && typeof body === 'object') {
    const m = body.message;
    if (typeof m === 'string' && m) return m;
    const detail = body.detail;
    if (typeof detail === 'string' && detail) return detail;
    const inner = body.error;
    if (typeof inner === 'string' && inner) return inner;
    if (inner && typeof inner === 'object' && typeof (inner as { message?: unknown }).message === 'string') {
      return (inner as { message: string }).message;
    }
  }
  // The SDK prefixes the status; strip it so we do not print it twice.
  return err.message.replace(/^\d{3}\s+/, '');
}

function hasEmptyBody(err: APIError): boolean {
  const body = err.error;
  if (body === undefined || body === null) return /status code \(no body\)$/.test(err.message);
  if (typeof body === 'string') return body.trim() === '';
  if (typeof body === 'object') return Object.keys(body).length === 0;
  return false;
}

function connectionCauseCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let i = 0; i < 5 && cur && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function unreachable(ctx: GuardErrorContext, detail: string, cause: unknown): GuardError {
  const where = providerName(ctx);
  const code = connectionCauseCode(cause);
  const local = isOllamaLike(ctx);
  if (local && code !== 'ECONNREFUSED' && code !== 'ENOTFOUND' && code !== 'EHOSTUNREACH') {
    // A browser reports a CORS refusal exactly like a network failure: no status, a bare TypeError.
    return new GuardError(
      'cors',
      `Could not reach ${where} at ${ctx.baseUrl}: ${detail}. Ollama may not be running, or it refuses the extension's origin.`,
      { hint: `Make sure Ollama is running (\`ollama serve\`). ${OLLAMA_ORIGINS_HINT}`, cause },
    );
  }
  const hint = local
    ? 'Start Ollama (`ollama serve`) and check the base URL.'
    : code === 'ENOTFOUND'
      ? `The host of ${ctx.baseUrl} does not resolve; check the base URL.`
      : code === 'ECONNREFUSED'
        ? `Nothing is listening at ${ctx.baseUrl}; check the base URL and that the server is running.`
        : `Check the base URL (${ctx.baseUrl}), your connection, and that the server is running.`;
  return new GuardError('unreachable', `Could not reach ${where} at ${ctx.baseUrl}: ${detail}`, {
    hint,
    cause,
  });
}

function fromStatus(err: APIError, ctx: GuardErrorContext): GuardError {
  const status = err.status as number;
  const where = providerName(ctx);
  const detail = scrubSecrets(apiErrorMessage(err), ctx.apiKey);
  const base = `${where} answered ${status}${detail ? `: ${detail}` : ''}`;
  const opts = { status, cause: err };
  if (status === 401) {
    return new GuardError('auth', base, {
      ...opts,
      hint: `${where} did not accept the API key; check it in Guardlens settings.`,
    });
  }
  if (status === 402 || status === 403) {
    if (status === 403 && hasEmptyBody(err) && isOllamaLike(ctx)) {
      return new GuardError('cors', `${where} refused the request (403 with an empty body)`, {
        ...opts,
        hint: OLLAMA_ORIGINS_HINT,
      });
    }
    return new GuardError('forbidden', base, {
      ...opts,
      hint:
        status === 402
          ? `${where} wants payment for ${ctx.model}; add credits to the account.`
          : `${where} does not allow this key to use ${ctx.model}; check the account's permissions and credits.`,
    });
  }
  if (status === 404) {
    return new GuardError('model-not-found', base, {
      ...opts,
      hint: `${where} does not serve the model "${ctx.model}" at ${ctx.baseUrl}; check the model id (and that the base URL ends with /v1).`,
    });
  }
  if (status === 408) return new GuardError('timeout', base, { ...opts, hint: defaultHint('timeout') });
  if (status === 413 || ((status === 400 || status === 422) && TOO_LARGE_RE.test(detail))) {
    return new GuardError('too-large', base, {
      ...opts,
      hint: `The text is too long for ${ctx.model} at ${where}; lower "Piece size" under Page scanning in the options.`,
    });
  }
  if ((status === 400 || status === 422) && (MODEL_RE.test(detail) || err.code === 'model_not_found')) {
    return new GuardError('model-not-found', base, {
      ...opts,
      hint: `${where} does not serve the model "${ctx.model}"; check the model id.`,
    });
  }
  if (status === 429) {
    const retryAt = retryAtFromHeaders(err.headers);
    return new GuardError('rate-limited', base, {
      ...opts,
      ...(retryAt !== undefined ? { retryAt } : {}),
      hint:
        retryAt !== undefined
          ? `${where} is rate limiting requests; wait until ${formatClock(retryAt)}.`
          : `${where} is rate limiting requests; wait a minute and try again.`,
    });
  }
  if (status === 400 || status === 422) {
    return new GuardError('config', base, {
      ...opts,
      hint: `${where} rejected the request for ${ctx.model}; check the model id and the mode (chat or raw).`,
    });
  }
  if (status >= 500 || status === 409) {
    return new GuardError('server', base, { ...opts, hint: `${where} had a server error; try again later.` });
  }
  return new GuardError('bad-response', base, { ...opts, retryable: false });
}

/**
 * Maps anything the endpoint call can throw (the SDK's errors, fetch's TypeErrors, aborts, JSON syntax errors)
 * to a GuardError. GuardErrors pass through unchanged.
 */
export function toGuardError(err: unknown, ctx: GuardErrorContext): GuardError {
  const mapped = mapError(err, ctx);
  // Belt and braces: whatever went into the message or hint, the key does not come out.
  mapped.message = scrubSecrets(mapped.message, ctx.apiKey);
  (mapped as { hint: string }).hint = scrubSecrets(mapped.hint, ctx.apiKey);
  return mapped;
}

function mapError(err: unknown, ctx: GuardErrorContext): GuardError {
  if (err instanceof GuardError) return err;
  const scrub = (s: string) => scrubSecrets(s, ctx.apiKey);

  if (err instanceof APIUserAbortError || isAbortError(err)) {
    if (err instanceof Error && err.name === 'TimeoutError') return timeoutError(ctx, err);
    return new GuardError('timeout', 'The check was cancelled before the endpoint answered.', {
      cancelled: true,
      retryable: false,
      hint: 'The check was cancelled.',
      cause: err,
    });
  }
  if (err instanceof APIConnectionTimeoutError) return timeoutError(ctx, err);
  if (err instanceof APIConnectionError) {
    const cause = (err as { cause?: unknown }).cause;
    const detail = cause instanceof Error && cause.message ? cause.message : err.message;
    if (cause instanceof Error && cause.name === 'TimeoutError') return timeoutError(ctx, err);
    return unreachable(ctx, scrub(describeCause(detail, cause)), err);
  }
  if (err instanceof APIError && typeof err.status === 'number') return fromStatus(err, ctx);
  if (err instanceof APIError || err instanceof OpenAIError) {
    return new GuardError('config', scrub(err.message), { cause: err });
  }
  if (err instanceof TypeError && /fetch|network|load failed/i.test(err.message)) {
    return unreachable(ctx, scrub(describeCause(err.message, err.cause)), err);
  }
  if (err instanceof SyntaxError) {
    return new GuardError(
      'bad-response',
      `The endpoint sent a response that is not valid JSON: ${scrub(err.message)}`,
      {
        cause: err,
        hint: 'Check that the base URL points to an OpenAI-compatible API (it usually ends with /v1).',
      },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new GuardError('bad-response', scrub(message || 'Unknown error'), { cause: err });
}

function timeoutError(ctx: GuardErrorContext, cause: unknown): GuardError {
  const secs = ctx.timeoutMs !== undefined ? `${Math.round(ctx.timeoutMs / 100) / 10} s` : 'the time limit';
  return new GuardError('timeout', `${providerName(ctx)} did not answer within ${secs}.`, {
    cause,
    hint: 'The endpoint is slow or overloaded; Guardlens tries again by itself. If it keeps happening, choose a faster provider or model.',
  });
}

function describeCause(message: string, cause: unknown): string {
  const code = connectionCauseCode(cause);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

function isAbortError(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    ((err as { name?: unknown }).name === 'AbortError' || (err as { name?: unknown }).name === 'TimeoutError')
  );
}
