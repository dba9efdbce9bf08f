/**
 * The one place Guardlens calls a Llama Guard endpoint: builds the prompt (chat messages, or the official raw
 * prompt), sends it through the `openai` SDK with `temperature: 0` and a small `max_tokens`, and parses the
 * answer into a Verdict. Every failure comes out as a GuardError.
 */
import OpenAI from 'openai';
import { estimateCostUsd, getPreset, isPresetId, type PresetId, validateBaseUrl } from '../providers/presets';
import { parseProblem } from '../settings/problem-text';
import { messageText } from '../text';
import {
  type ErrorSentence,
  errorSentence,
  GuardError,
  type GuardErrorContext,
  toGuardError,
} from './errors';
import { parseVerdict } from './parse';
import { buildChatMessages, buildRawPrompt } from './prompt';
import { getGuardModel, isGuardModelId } from './registry';
import type { ConversationTurn, GuardModel, GuardModelId, PromptOptions, Verdict } from './types';

export interface EndpointConfig {
  baseUrl: string;
  apiKey?: string;
  /** The provider's model id, e.g. `meta-llama/llama-guard-4-12b`. */
  model: string;
  /** Which Llama Guard generation that model is. */
  guardModel: GuardModelId;
  mode: 'chat' | 'raw';
  presetId?: PresetId;
  /** Raw mode: start the prompt with the begin-of-text token (default: the preset's setting, else true). */
  sendBos?: boolean;
  /** Per attempt (default 30 s). */
  timeoutMs?: number;
  /** Retries for 429/5xx/connection failures, done by the SDK (default 2). */
  maxRetries?: number;
  /** Default 20. */
  maxTokens?: number;
  headers?: Record<string, string>;
  /** Custom or excluded categories: raw mode only, for templates that accept them. */
  prompt?: PromptOptions;
  fetch?: typeof fetch;
}

export interface ClassifyUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface ClassifyResult {
  verdict: Verdict;
  /** The model's answer, as received. */
  output: string;
  latencyMs: number;
  usage: ClassifyUsage;
  costUsd?: number;
  /** The model that answered (as the endpoint names it). */
  model: string;
  mode: 'chat' | 'raw';
}

export interface GuardClient {
  classify(turns: ConversationTurn[], opts?: { signal?: AbortSignal }): Promise<ClassifyResult>;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RETRIES = 2;
export const DEFAULT_MAX_TOKENS = 20;
/**
 * The SDK waits as long as a Retry-After header asks before retrying. Longer waits than this are not retried
 * by the SDK: the caller gets a 'rate-limited' error with `retryAt` and schedules the retry itself.
 */
export const MAX_RETRY_AFTER_WAIT_MS = 30_000;

/** Sent as the SDK's key when the endpoint needs none; the Authorization header is then left out entirely. */
const NO_KEY_PLACEHOLDER = 'guardlens-no-key';

/** A setting or request the client cannot use: its sentence, and the fix when there is a specific one. */
function configError(message: ErrorSentence | string, hint?: ErrorSentence): GuardError {
  return new GuardError('config', message, hint ? { hint } : {});
}

/** A base URL's problem (a settings sentence from `validateBaseUrl`) as an error sentence, by its own key. */
function baseUrlProblem(problem: string): ErrorSentence | string {
  const parsed = parseProblem(problem);
  return parsed ? { english: problem, text: messageText(parsed.key, parsed.subs) } : problem;
}

function waitFromHeaders(headers: Headers): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && Number.isFinite(Number.parseFloat(ms))) return Number.parseFloat(ms);
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  const secs = Number.parseFloat(ra);
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra) && Number.isFinite(secs)) return secs * 1000;
  const date = Date.parse(ra);
  return Number.isFinite(date) ? date - Date.now() : undefined;
}

/**
 * Wraps fetch so that (1) a Retry-After longer than MAX_RETRY_AFTER_WAIT_MS is not slept on by the SDK, and
 * (2) error bodies some servers send without the `{"error": …}` envelope (`{"message": …}`, `{"detail": …}`)
 * keep their message.
 */
function wrapFetch(inner: typeof fetch): typeof fetch {
  const wrapped = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const res = await inner(input, init);
    if (res.ok) return res;
    let headers: Headers | undefined;
    let body: BodyInit | null = res.body;
    const wait = waitFromHeaders(res.headers);
    if (wait !== undefined && wait > MAX_RETRY_AFTER_WAIT_MS && !res.headers.has('x-should-retry')) {
      headers = new Headers(res.headers);
      headers.set('x-should-retry', 'false');
    }
    if ((res.headers.get('content-type') ?? '').includes('json')) {
      const text = await res.text();
      body = text;
      try {
        const json = JSON.parse(text) as Record<string, unknown>;
        if (json && typeof json === 'object' && !('error' in json)) {
          const message = typeof json.message === 'string' ? json.message : json.detail;
          if (typeof message === 'string') {
            body = JSON.stringify({ error: { message, type: json.type, code: json.code } });
          }
        }
      } catch {
        // Not JSON after all: the SDK reports the text as it is.
      }
    }
    if (!headers && body === res.body) return res;
    return new Response(body, {
      status: res.status,
      statusText: res.statusText,
      headers: headers ?? res.headers,
    });
  };
  return wrapped as typeof fetch;
}

function countImages(turns: readonly ConversationTurn[]): number {
  return turns.reduce((n, t) => n + (t.images?.length ?? 0), 0);
}

function hasPromptOptions(p: PromptOptions | undefined): boolean {
  return !!p && ((p.excluded?.length ?? 0) > 0 || Object.keys(p.categories ?? {}).length > 0);
}

function checkEndpoint(config: EndpointConfig): GuardModel {
  if (!config || typeof config !== 'object') throw configError(errorSentence('error_config_none'));
  const url = validateBaseUrl(config.baseUrl);
  if (!url.ok) throw configError(baseUrlProblem(url.error), errorSentence('error_fix_base_url'));
  if (typeof config.model !== 'string' || !config.model.trim()) {
    throw configError(errorSentence('error_config_no_model'), errorSentence('error_fix_choose_model'));
  }
  if (!isGuardModelId(config.guardModel)) {
    throw configError(errorSentence('error_config_guard_model', String(config.guardModel)));
  }
  if (config.mode !== 'chat' && config.mode !== 'raw') {
    throw configError(errorSentence('error_config_mode', String(config.mode)));
  }
  if (config.presetId !== undefined && !isPresetId(config.presetId)) {
    throw configError(errorSentence('error_config_preset', String(config.presetId)));
  }
  const preset = config.presetId ? getPreset(config.presetId) : undefined;
  if (preset?.keyRequired && !config.apiKey?.trim()) {
    throw configError(
      errorSentence('error_config_no_key', preset.label),
      errorSentence('error_fix_add_key', preset.label),
    );
  }
  if (config.mode === 'raw' && preset && !preset.raw) {
    throw configError(
      errorSentence('error_config_no_raw', preset.label),
      errorSentence('error_fix_use_chat'),
    );
  }
  for (const [name, value] of [
    ['timeoutMs', config.timeoutMs],
    ['maxTokens', config.maxTokens],
  ] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 1)) {
      throw configError(errorSentence('error_config_positive', name));
    }
  }
  if (config.maxRetries !== undefined && !(Number.isInteger(config.maxRetries) && config.maxRetries >= 0)) {
    throw configError(errorSentence('error_config_retries'));
  }
  return getGuardModel(config.guardModel);
}

function checkRequest(config: EndpointConfig, model: GuardModel, turns: ConversationTurn[]): void {
  if (!Array.isArray(turns) || turns.length === 0) throw configError(errorSentence('error_config_nothing'));
  const images = countImages(turns);
  if (images > 0) {
    if (model.maxImages === 0) {
      throw configError(
        errorSentence('error_config_no_images', model.label),
        errorSentence('error_fix_image_model'),
      );
    }
    if (images > model.maxImages) {
      throw configError(
        errorSentence(
          model.maxImages === 1 ? 'error_config_image_limit_one' : 'error_config_image_limit',
          model.label,
          model.maxImages,
          images,
        ),
      );
    }
    if (config.mode === 'raw') {
      throw configError(errorSentence('error_config_images_raw'), errorSentence('error_fix_images_chat'));
    }
    const preset = config.presetId ? getPreset(config.presetId) : undefined;
    if (preset && !preset.images) throw configError(errorSentence('error_config_no_images', preset.label));
  }
  const p = config.prompt;
  if (hasPromptOptions(p)) {
    if (config.mode !== 'raw') {
      throw configError(
        errorSentence('error_config_raw_categories'),
        errorSentence('error_fix_raw_categories'),
      );
    }
    if ((p?.excluded?.length ?? 0) > 0 && !model.excludedCategories) {
      throw configError(errorSentence('error_config_no_excluded', model.label));
    }
    if (Object.keys(p?.categories ?? {}).length > 0 && !model.customCategories) {
      throw configError(errorSentence('error_config_no_custom', model.label));
    }
  }
}

function buildError(err: unknown): GuardError {
  if (err instanceof GuardError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return configError(errorSentence('error_config_build', message));
}

function readUsage(usage: unknown): ClassifyUsage {
  const u = (usage ?? {}) as { prompt_tokens?: unknown; completion_tokens?: unknown };
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : 0);
  return { promptTokens: n(u.prompt_tokens), completionTokens: n(u.completion_tokens) };
}

function badResponse(message: ErrorSentence): GuardError {
  return new GuardError('bad-response', message, { hint: errorSentence('error_fix_bad_response') });
}

/** Picks the answer text out of a chat or text completion, or throws 'bad-response'. */
function readOutput(res: unknown, mode: 'chat' | 'raw'): string {
  if (!res || typeof res !== 'object') badResponseThrow(errorSentence('error_detail_answer_not_json'));
  const choices = (res as { choices?: unknown }).choices;
  if (!Array.isArray(choices) || choices.length === 0)
    badResponseThrow(errorSentence('error_detail_no_choices'));
  const first = (choices as unknown[])[0] as Record<string, unknown> | undefined;
  const text =
    mode === 'chat'
      ? (first?.message as { content?: unknown } | undefined)?.content
      : (first?.text ?? (first?.message as { content?: unknown } | undefined)?.content);
  if (typeof text !== 'string') badResponseThrow(errorSentence('error_detail_no_text'));
  return text as string;
}

function badResponseThrow(message: ErrorSentence): never {
  throw badResponse(message);
}

/**
 * What an endpoint answered with HTTP 200 but Guardlens could not use (no JSON, no choices, not a verdict): the
 * provider bills it all the same, so the error carries the usage it reported (zero when unreadable) and the cost.
 * Read it with `answeredUsage(err)`.
 */
export interface AnsweredError {
  answered: { usage: ClassifyUsage; costUsd?: number };
}

function markAnswered(err: unknown, usage: ClassifyUsage, costUsd: number | undefined): unknown {
  if (err && typeof err === 'object') {
    (err as AnsweredError).answered = { usage, ...(costUsd !== undefined ? { costUsd } : {}) };
  }
  return err;
}

/** The usage an error's answer reported, when the endpoint did answer (see `AnsweredError`). */
export function answeredUsage(err: unknown): AnsweredError['answered'] | undefined {
  const answered = (err as Partial<AnsweredError> | null | undefined)?.answered;
  return answered && typeof answered === 'object' ? answered : undefined;
}

/** Reads a 200 response's body as JSON; anything else is a 'bad-response' error. */
async function readJson(response: Response, ctx: GuardErrorContext): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    throw toGuardError(err, ctx);
  }
  try {
    return JSON.parse(text);
  } catch {
    const type = response.headers.get('content-type')?.split(';')[0]?.trim();
    const start = JSON.stringify(text.slice(0, 80));
    throw badResponse(
      type
        ? errorSentence('error_detail_answer_not_json_type', type, start)
        : errorSentence('error_detail_answer_not_json_text', start),
    );
  }
}

export function createGuardClient(config: EndpointConfig): GuardClient {
  const guard = checkEndpoint(config);
  const preset = config.presetId ? getPreset(config.presetId) : undefined;
  const apiKey = config.apiKey?.trim() || undefined;
  const timeoutMs = Math.round(config.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const maxTokens = Math.round(config.maxTokens ?? DEFAULT_MAX_TOKENS);
  const sendBos = config.sendBos ?? preset?.sendBos ?? true;
  const baseUrl = config.baseUrl.trim().replace(/\/+$/, '');
  const ctx: GuardErrorContext = {
    baseUrl,
    model: config.model,
    ...(config.presetId ? { preset: config.presetId } : {}),
    ...(apiKey ? { apiKey } : {}),
    timeoutMs,
  };
  const headers: Record<string, string | null> = { ...(preset?.headers ?? {}), ...(config.headers ?? {}) };
  // Without a key, send no Authorization header at all (the SDK insists on a key, so it gets a placeholder).
  if (!apiKey) headers.Authorization = null;

  const sdk = new OpenAI({
    baseURL: baseUrl,
    apiKey: apiKey ?? NO_KEY_PLACEHOLDER,
    // Never pick up the person's OpenAI settings from the environment and send them to another endpoint.
    organization: null,
    project: null,
    adminAPIKey: null,
    webhookSecret: null,
    dangerouslyAllowBrowser: true,
    timeout: timeoutMs,
    maxRetries: config.maxRetries ?? DEFAULT_MAX_RETRIES,
    defaultHeaders: headers,
    fetch: wrapFetch(config.fetch ?? ((input, init) => globalThis.fetch(input, init))),
    logLevel: 'off',
  });

  return {
    async classify(turns, opts = {}) {
      checkRequest(config, guard, turns);
      const started = performance.now();
      const requestOptions = opts.signal ? { signal: opts.signal } : {};
      let response: Response;
      if (config.mode === 'chat') {
        let messages: ReturnType<typeof buildChatMessages>;
        try {
          messages = buildChatMessages(guard, turns);
        } catch (err) {
          throw buildError(err);
        }
        try {
          response = await sdk.chat.completions
            .create(
              { model: config.model, messages, temperature: 0, max_tokens: maxTokens, stream: false },
              requestOptions,
            )
            .asResponse();
        } catch (err) {
          throw toGuardError(err, ctx);
        }
      } else {
        let prompt: string;
        try {
          prompt = buildRawPrompt(guard, turns, { ...(config.prompt ?? {}), bos: sendBos });
        } catch (err) {
          throw buildError(err);
        }
        try {
          response = await sdk.completions
            .create(
              { model: config.model, prompt, temperature: 0, max_tokens: maxTokens, stream: false },
              requestOptions,
            )
            .asResponse();
        } catch (err) {
          throw toGuardError(err, ctx);
        }
      }
      // From here on the endpoint has answered (HTTP 200): whatever goes wrong, the answer was billed.
      let usage: ClassifyUsage = { promptTokens: 0, completionTokens: 0 };
      let raw: unknown;
      let output: string;
      let verdict: Verdict;
      try {
        raw = await readJson(response, ctx);
        usage = readUsage((raw as { usage?: unknown } | null)?.usage);
        output = readOutput(raw, config.mode);
        const custom = config.mode === 'raw' ? config.prompt?.categories : undefined;
        verdict = parseVerdict(output, guard, custom ? { custom } : {});
      } catch (err) {
        throw markAnswered(err, usage, estimateCostUsd(preset, guard.id, usage));
      }
      const latencyMs = Math.round(performance.now() - started);
      const answered = (raw as { model?: unknown }).model;
      const result: ClassifyResult = {
        verdict,
        output,
        latencyMs,
        usage,
        model: typeof answered === 'string' && answered ? answered : config.model,
        mode: config.mode,
      };
      const cost = estimateCostUsd(preset, guard.id, usage);
      if (cost !== undefined) result.costUsd = cost;
      return result;
    },
  };
}
