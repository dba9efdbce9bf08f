/**
 * Typed errors for everything that can go wrong between Guardlens and a Llama Guard endpoint.
 *
 * Every failure the client sees is turned into a `GuardError` with a `kind` the interface can branch on, a
 * short `hint` a person can act on, and `toJSON()` data that crosses extension messaging. The message and hint are
 * English (the CLI and logs print them); `messageText` / `hintText` say the same by message key and values, so the
 * extension shows them from its messages file. Messages and hints never carry the API key: `toGuardError` scrubs
 * anything that looks like one, in the English and in the values alike.
 */
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  OpenAIError,
} from 'openai';
import { getPreset, isPresetId } from '../providers/presets';
import { PROBLEM_TEMPLATES } from '../settings/problem-text';
import { fill, isMessageText, type MessageText } from '../text';
import { ERROR_HINTS, type ErrorSentence, errorEnglish, errorMessageKeys, errorSentence } from './error-text';

export type { MessageText } from '../text';
export {
  CLIENT_ERROR_TEMPLATES,
  ERROR_HINTS,
  ERROR_TEMPLATES,
  ERROR_TITLES,
  type ErrorSentence,
  errorEnglish,
  errorMessageKeys,
  errorSentence,
  localizeErrorText,
  OUTPUT_REASON_TEMPLATES,
} from './error-text';

export const GUARD_ERROR_KINDS = [
  'auth',
  'forbidden',
  'model-not-found',
  'rate-limited',
  'unreachable',
  'cors',
  'no-access',
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
  /** `message` by message key and values, when lib built it from a template. */
  messageText?: MessageText;
  /** `hint` by message key and values, when lib built it from a template. */
  hintText?: MessageText;
}

export interface GuardErrorOptions {
  /** A hint of its own (English only, or a sentence from `ERROR_TEMPLATES`); else the general hint of the kind. */
  hint?: string | ErrorSentence;
  /** The structured text of a string `hint` (when it is one lib can name). */
  hintText?: MessageText;
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
  /** `message` by message key and values (absent for text lib did not build from a template). */
  messageText?: MessageText;
  /** `hint` by message key and values (absent for a hint given as plain English). */
  hintText?: MessageText;

  /** `message`: English, or a sentence from `ERROR_TEMPLATES` (its English becomes the message). */
  constructor(kind: GuardErrorKind, message: string | ErrorSentence, opts: GuardErrorOptions = {}) {
    super(
      typeof message === 'string' ? message : message.english,
      opts.cause === undefined ? undefined : { cause: opts.cause },
    );
    this.kind = kind;
    if (typeof message !== 'string') this.messageText = message.text;
    if (opts.hint === undefined) {
      this.hint = defaultHint(kind);
      this.hintText = { key: errorMessageKeys(kind).hint };
    } else if (typeof opts.hint === 'string') {
      this.hint = opts.hint;
      if (opts.hintText) this.hintText = opts.hintText;
    } else {
      this.hint = opts.hint.english;
      this.hintText = opts.hint.text;
    }
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
    if (this.messageText) data.messageText = copyText(this.messageText);
    if (this.hintText) data.hintText = copyText(this.hintText);
    return data;
  }
}

function copyText(text: MessageText): MessageText {
  return text.subs ? { key: text.key, subs: [...text.subs] } : { key: text.key };
}

/** Longest piece of a model's answer an error keeps. */
export const MAX_OUTPUT_IN_ERROR = 200;

/** The model answered, but not with a Llama Guard verdict. Never treated as "safe". */
export class GuardOutputError extends GuardError {
  override name = 'GuardOutputError';
  /** The offending output, truncated to MAX_OUTPUT_IN_ERROR characters. */
  readonly output: string;

  /** `reason`: why it is not a verdict, in English (a reason from `OUTPUT_REASON_TEMPLATES` is translated). */
  constructor(output: string, reason: string, opts: GuardErrorOptions = {}) {
    const shown = truncate(output, MAX_OUTPUT_IN_ERROR);
    super('bad-output', errorSentence('error_detail_bad_output', reason, JSON.stringify(shown)), {
      hint: errorSentence('error_fix_bad_output'),
      retryable: false,
      ...opts,
    });
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
  if (isMessageText(data.hintText)) opts.hintText = copyText(data.hintText);
  if (typeof data.status === 'number') opts.status = data.status;
  if (typeof data.retryAt === 'number') opts.retryAt = data.retryAt;
  if (data.cancelled) opts.cancelled = true;
  const err =
    kind === 'bad-output' && typeof data.output === 'string'
      ? new GuardOutputError(data.output, 'see message', opts)
      : new GuardError(kind, data.message, opts);
  err.message = data.message;
  if (isMessageText(data.messageText)) err.messageText = copyText(data.messageText);
  else delete err.messageText;
  return err;
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

/**
 * The browser has not given Guardlens access to the endpoint's site (a host permission declined or taken back,
 * or Chrome's site access set to "on click"): what a failed request that looked like a network failure really
 * was. Not worth retrying until the access is granted.
 */
export function noAccessError(
  ctx: Pick<GuardErrorContext, 'baseUrl' | 'preset'>,
  origin: string,
  cause?: unknown,
): GuardError {
  return new GuardError(
    'no-access',
    errorSentence('error_detail_no_access', providerName(ctx), ctx.baseUrl),
    {
      hint: errorSentence('error_fix_no_access', origin),
      cause,
    },
  );
}

function providerName(ctx: Pick<GuardErrorContext, 'baseUrl' | 'preset'>): string {
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
    return new GuardError('cors', errorSentence('error_detail_cors', where, ctx.baseUrl, detail), {
      hint: errorSentence('error_fix_ollama_cors'),
      cause,
    });
  }
  const hint = local
    ? errorSentence('error_fix_ollama_start')
    : code === 'ENOTFOUND'
      ? errorSentence('error_fix_not_resolving', ctx.baseUrl)
      : code === 'ECONNREFUSED'
        ? errorSentence('error_fix_refused', ctx.baseUrl)
        : errorSentence('error_fix_unreachable', ctx.baseUrl);
  return new GuardError(
    'unreachable',
    errorSentence('error_detail_unreachable', where, ctx.baseUrl, detail),
    {
      hint,
      cause,
    },
  );
}

function fromStatus(err: APIError, ctx: GuardErrorContext): GuardError {
  const status = err.status as number;
  const where = providerName(ctx);
  // An answer without a body has no words of its own (the SDK's "status code (no body)" is not the endpoint's).
  const detail = hasEmptyBody(err) ? '' : scrubSecrets(apiErrorMessage(err), ctx.apiKey);
  const base = detail
    ? errorSentence('error_detail_status', where, status, detail)
    : errorSentence('error_detail_status_bare', where, status);
  const opts = { status, cause: err };
  if (status === 401) {
    return new GuardError('auth', base, {
      ...opts,
      hint: errorSentence('error_fix_auth', where),
    });
  }
  if (status === 402 || status === 403) {
    if (status === 403 && hasEmptyBody(err) && isOllamaLike(ctx)) {
      return new GuardError('cors', errorSentence('error_detail_cors_403', where), {
        ...opts,
        hint: errorSentence('error_fix_ollama_origins'),
      });
    }
    return new GuardError('forbidden', base, {
      ...opts,
      hint:
        status === 402
          ? errorSentence('error_fix_payment', where, ctx.model)
          : errorSentence('error_fix_forbidden', where, ctx.model),
    });
  }
  if (status === 404) {
    return new GuardError('model-not-found', base, {
      ...opts,
      hint: errorSentence('error_fix_model_url', where, ctx.model, ctx.baseUrl),
    });
  }
  if (status === 408) return new GuardError('timeout', base, opts);
  if (status === 413 || ((status === 400 || status === 422) && TOO_LARGE_RE.test(detail))) {
    return new GuardError('too-large', base, {
      ...opts,
      hint: errorSentence('error_fix_too_large', ctx.model, where),
    });
  }
  if ((status === 400 || status === 422) && (MODEL_RE.test(detail) || err.code === 'model_not_found')) {
    return new GuardError('model-not-found', base, {
      ...opts,
      hint: errorSentence('error_fix_model', where, ctx.model),
    });
  }
  if (status === 429) {
    const retryAt = retryAtFromHeaders(err.headers);
    return new GuardError('rate-limited', base, {
      ...opts,
      ...(retryAt !== undefined ? { retryAt } : {}),
      hint:
        retryAt !== undefined
          ? errorSentence('error_fix_rate_until', where, formatClock(retryAt))
          : errorSentence('error_fix_rate', where),
    });
  }
  if (status === 400 || status === 422) {
    return new GuardError('config', base, {
      ...opts,
      hint: errorSentence('error_fix_request', where, ctx.model),
    });
  }
  if (status >= 500 || status === 409) {
    return new GuardError('server', base, { ...opts, hint: errorSentence('error_fix_server', where) });
  }
  return new GuardError('bad-response', base, { ...opts, retryable: false });
}

/**
 * Maps anything the endpoint call can throw (the SDK's errors, fetch's TypeErrors, aborts, JSON syntax errors)
 * to a GuardError. GuardErrors pass through unchanged.
 */
export function toGuardError(err: unknown, ctx: GuardErrorContext): GuardError {
  const mapped = mapError(err, ctx);
  // Belt and braces: whatever went into the message or hint (or their values), the key does not come out.
  mapped.message = scrubSecrets(mapped.message, ctx.apiKey);
  (mapped as { hint: string }).hint = scrubSecrets(mapped.hint, ctx.apiKey);
  const messageText = scrubText(mapped.messageText, mapped.message, ctx.apiKey);
  if (messageText) mapped.messageText = messageText;
  else delete mapped.messageText;
  const hintText = scrubText(mapped.hintText, mapped.hint, ctx.apiKey);
  if (hintText) mapped.hintText = hintText;
  else delete mapped.hintText;
  return mapped;
}

/**
 * A structured text with its values scrubbed, kept only while it still says exactly `english` (the scrubbed
 * message or hint); else undefined, and the English is shown.
 */
function scrubText(text: MessageText | undefined, english: string, apiKey?: string): MessageText | undefined {
  if (!text) return undefined;
  const scrubbed = text.subs ? { key: text.key, subs: text.subs.map((s) => scrubSecrets(s, apiKey)) } : text;
  return (errorEnglish(scrubbed) ?? problemEnglish(scrubbed)) === english ? scrubbed : undefined;
}

/** The English of a settings problem an error quotes by its own key (a base URL the client cannot use). */
function problemEnglish(text: MessageText): string | undefined {
  const template = (PROBLEM_TEMPLATES as Readonly<Record<string, string>>)[text.key];
  return template === undefined ? undefined : fill(template, text.subs ?? []);
}

function mapError(err: unknown, ctx: GuardErrorContext): GuardError {
  if (err instanceof GuardError) return err;
  const scrub = (s: string) => scrubSecrets(s, ctx.apiKey);

  if (err instanceof APIUserAbortError || isAbortError(err)) {
    if (err instanceof Error && err.name === 'TimeoutError') return timeoutError(ctx, err);
    return new GuardError('timeout', errorSentence('error_detail_cancelled'), {
      cancelled: true,
      retryable: false,
      hint: errorSentence('error_fix_cancelled'),
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
    return new GuardError('bad-response', errorSentence('error_detail_not_json', scrub(err.message)), {
      cause: err,
      hint: errorSentence('error_fix_not_json'),
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new GuardError('bad-response', message ? scrub(message) : errorSentence('error_detail_unknown'), {
    cause: err,
  });
}

function timeoutError(ctx: GuardErrorContext, cause: unknown): GuardError {
  const message =
    ctx.timeoutMs !== undefined
      ? errorSentence('error_detail_timeout', providerName(ctx), Math.round(ctx.timeoutMs / 100) / 10)
      : errorSentence('error_detail_timeout_limit', providerName(ctx));
  return new GuardError('timeout', message, { cause });
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
