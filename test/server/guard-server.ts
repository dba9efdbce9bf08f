/**
 * The local Llama Guard test server: a test fixture for Guardlens, never shipped.
 *
 * It speaks the OpenAI-compatible API that Llama Guard providers serve (chat completions and raw
 * completions, plus the model list and CORS preflight), answers deterministically from trigger
 * phrases and image markers, records every request, and injects faults on demand. See
 * `classify.ts` for what is classified and `tokens.ts` for the token accounting in `usage`.
 *
 * Order of work for each request: read the body → record it → refuse extension origins (when
 * asked to) → answer CORS preflight → take the next matching fault → wait the latency → apply the
 * fault or check the API key, validate and answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Classification,
  DEFAULT_RULES,
  decideCodes,
  formatVerdict,
  ORDINARY_REPLY,
  parseGuardPrompt,
  RequestError,
  rawClassification,
  readChatRequest,
  type TriggerRule,
} from './classify';
import {
  CHAT_TEMPLATE_OVERHEAD_TOKENS,
  countTokens,
  loadTokenizer,
  tokenPieces,
  truncateToTokens,
} from './tokens';

export type { TriggerRule } from './classify';
export { CHAT_TEMPLATE_OVERHEAD_TOKENS } from './tokens';
export { DEFAULT_RULES, ORDINARY_REPLY };

export type Fault = (
  | { kind: 'status'; status: number; retryAfterSeconds?: number; body?: string; times?: number }
  | { kind: 'rate-limit'; retryAfterSeconds?: number /* omitted → no Retry-After header */; times?: number }
  | { kind: 'timeout' | 'reset' | 'malformed-json' | 'no-choices' | 'not-llama-guard'; times?: number }
  /** A 200 whose body is an HTML page, as a captive portal or a web server at the wrong path sends. */
  | { kind: 'html'; times?: number }
  /** The ordinary answer, `ms` later than the latency alone would give it. */
  | { kind: 'delay'; ms: number; times?: number }
) & {
  /**
   * Only requests to this path (e.g. `/v1/models`) take the fault. Without it, the fault goes to
   * the next `POST /v1/chat/completions` or `POST /v1/completions`.
   */
  path?: string;
};

export interface RecordedRequest {
  id: number;
  method: string;
  path: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The parsed JSON body; the raw text when it is not JSON; `undefined` when empty. */
  body: unknown;
  receivedAt: number;
  // What was classified.
  mode?: 'chat' | 'raw';
  role?: 'User' | 'Agent';
  text?: string;
  imageCount?: number;
  // What was answered.
  status?: number;
  output?: string;
  // Additions.
  model?: string;
  temperature?: number;
  maxTokens?: number;
  /** The fault this request took, if any. */
  fault?: Fault['kind'];
  /** Codes reported in the answer. */
  categories?: string[];
  /** Raw mode: what looks wrong in the rendered prompt (turns out of order, control tokens …). */
  warnings?: string[];
  /** When the answer was handed to the socket (or the socket was destroyed by a `reset` fault). */
  answeredAt?: number;
  /** The `usage` the answer reported (completions answered with a readable body only). */
  usage?: { promptTokens: number; completionTokens: number };
}

export interface GuardServerOptions {
  latencyMs?: number;
  rules?: TriggerRule[];
  /** When set, requests need `Authorization: Bearer <key>` (401 otherwise). */
  apiKey?: string;
  /** Known model ids; others → 404. Default: accept any. */
  models?: string[];
  /** Ollama-like: 403 (empty body, no CORS headers) for `chrome-extension://` or `moz-extension://` origins. */
  refuseExtensionOrigins?: boolean;
  /** quirky: leading "\n\n", trailing "<|eot_id|>", spaces after commas. */
  outputStyle?: 'plain' | 'quirky';
  // Additions.
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Keep at most this many recorded requests (oldest dropped); default: all. */
  maxRecorded?: number;
  /** Load the tokenizer right after listening, so the first answer is not slowed by it. */
  preloadTokenizer?: boolean;
  /** Called once a request is finished (answered, reset, or dropped by its client). */
  onFinished?: (request: RecordedRequest) => void;
}

export interface GuardServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `${url}/v1` */
  baseUrl: string;
  port: number;
  /** Live list of recorded requests, oldest first. */
  requests: RecordedRequest[];
  setLatency(ms: number): void;
  injectFault(f: Fault): void;
  clearFaults(): void;
  setRules(r: TriggerRule[]): void;
  /** Forgets requests and faults; restores the rules and latency given at start. */
  reset(): void;
  /** Resolves with the recorded requests once `n` were recorded since start (or the last reset). */
  waitForRequests(n: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /**
   * Stops accepting connections (clients get "connection refused") and ends the open ones, without closing
   * the server for good: `resumeListening()` listens again on the same port.
   */
  stopListening(): Promise<void>;
  /** Listens again on the same port after `stopListening()`. */
  resumeListening(): Promise<void>;
  /** Whether the server accepts connections now. */
  readonly listening: boolean;
  /** Stops listening and ends every connection, including held ones. */
  close(): Promise<void>;
}

/** A bad option, rule or fault given to the server by a test. */
export class GuardServerOptionError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'GuardServerOptionError';
  }
}

/** Model ids `GET /v1/models` lists when no `models` option is given. */
export const DEFAULT_LISTED_MODELS = [
  'meta-llama/llama-guard-4-12b',
  'meta-llama/llama-guard-3-8b',
  'meta-llama/llama-guard-3-1b',
  'meta-llama/llama-guard-3-11b-vision',
  'meta-llama/llama-guard-2-8b',
  'meta-llama/llamaguard-7b',
];

/** What the `html` fault answers: a page, as a proxy's or captive portal's sign-in page would be. */
export const HTML_PAGE =
  '<!doctype html>\n<html><head><title>Sign in to the network</title></head>' +
  '<body><h1>Sign in to the network</h1><p>Accept the terms to continue.</p></body></html>\n';

/** What a model answers under the `not-llama-guard` fault. */
export const REFUSAL_REPLY = "I'm sorry, I can't help with that.";

const MAX_BODY_BYTES = 32 * 1024 * 1024;
const CHAT_PATH = '/v1/chat/completions';
const COMPLETIONS_PATH = '/v1/completions';
const MODELS_PATH = '/v1/models';

/** Headers the hosted providers allow: the usual ones plus those the `openai` SDK sends. */
const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'OpenAI-Organization',
  'OpenAI-Project',
  'OpenAI-Beta',
  'Idempotency-Key',
  'HTTP-Referer',
  'X-Title',
  'X-Stainless-Arch',
  'X-Stainless-Lang',
  'X-Stainless-OS',
  'X-Stainless-Package-Version',
  'X-Stainless-Runtime',
  'X-Stainless-Runtime-Version',
  'X-Stainless-Retry-Count',
  'X-Stainless-Timeout',
  'X-Stainless-Helper-Method',
  'X-Stainless-Poll-Helper',
  'X-Stainless-Custom-Poll-Interval',
  'X-Stainless-Async',
].join(', ');

const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'x-request-id, retry-after, content-type',
};

const PREFLIGHT_HEADERS: Record<string, string> = {
  ...CORS_HEADERS,
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': ALLOWED_HEADERS,
  'Access-Control-Max-Age': '86400',
};

// ---------------------------------------------------------------------------------------------
// Validation of what tests hand the server

function checkLatency(ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new GuardServerOptionError(
      `Latency must be a finite number of milliseconds ≥ 0 (got ${String(ms)}).`,
    );
  }
  return ms;
}

function checkRules(rules: unknown): TriggerRule[] {
  if (!Array.isArray(rules)) throw new GuardServerOptionError('Rules must be an array.');
  return rules.map((rule, index) => {
    const ok =
      typeof rule === 'object' &&
      rule !== null &&
      typeof rule.phrase === 'string' &&
      rule.phrase !== '' &&
      Array.isArray(rule.categories) &&
      rule.categories.length > 0 &&
      rule.categories.every((code: unknown) => typeof code === 'string' && code !== '');
    if (!ok) {
      throw new GuardServerOptionError(
        `Rule ${index} needs a non-empty phrase and a non-empty list of category codes.`,
      );
    }
    return { phrase: rule.phrase, categories: [...rule.categories] };
  });
}

const FAULT_KINDS = new Set([
  'status',
  'rate-limit',
  'timeout',
  'reset',
  'malformed-json',
  'no-choices',
  'not-llama-guard',
  'html',
  'delay',
]);

function checkFault(fault: Fault): Fault {
  if (typeof fault !== 'object' || fault === null || !FAULT_KINDS.has(fault.kind)) {
    throw new GuardServerOptionError(`Unknown fault kind: ${JSON.stringify((fault as Fault | null)?.kind)}.`);
  }
  if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times >= 1)) {
    throw new GuardServerOptionError(`Fault times must be a whole number ≥ 1 (got ${fault.times}).`);
  }
  if (
    fault.kind === 'status' &&
    !(Number.isInteger(fault.status) && fault.status >= 400 && fault.status <= 599)
  ) {
    throw new GuardServerOptionError(`A status fault needs an error status 400–599 (got ${fault.status}).`);
  }
  if (
    (fault.kind === 'status' || fault.kind === 'rate-limit') &&
    fault.retryAfterSeconds !== undefined &&
    !(Number.isInteger(fault.retryAfterSeconds) && fault.retryAfterSeconds >= 0)
  ) {
    throw new GuardServerOptionError(
      `retryAfterSeconds must be a whole number ≥ 0 (got ${fault.retryAfterSeconds}).`,
    );
  }
  if (
    fault.kind === 'delay' &&
    !(typeof fault.ms === 'number' && Number.isFinite(fault.ms) && fault.ms >= 0)
  ) {
    throw new GuardServerOptionError(
      `A delay fault needs ms, a finite number ≥ 0 (got ${String(fault.ms)}).`,
    );
  }
  if (fault.path !== undefined && !fault.path.startsWith('/')) {
    throw new GuardServerOptionError(`A fault path must start with "/" (got ${JSON.stringify(fault.path)}).`);
  }
  return { ...fault };
}

// ---------------------------------------------------------------------------------------------
// OpenAI-shaped errors

const ERROR_TYPES: Record<number, [type: string, code: string]> = {
  400: ['invalid_request_error', 'bad_request'],
  401: ['invalid_request_error', 'invalid_api_key'],
  402: ['invalid_request_error', 'insufficient_quota'],
  403: ['permission_error', 'forbidden'],
  404: ['invalid_request_error', 'not_found'],
  405: ['invalid_request_error', 'method_not_allowed'],
  408: ['timeout_error', 'request_timeout'],
  409: ['conflict_error', 'conflict'],
  413: ['invalid_request_error', 'request_too_large'],
  422: ['invalid_request_error', 'unprocessable_entity'],
  429: ['requests', 'rate_limit_exceeded'],
  500: ['server_error', 'internal_error'],
  502: ['server_error', 'bad_gateway'],
  503: ['server_error', 'service_unavailable'],
  504: ['server_error', 'gateway_timeout'],
};

function errorBody(status: number, message: string, code?: string, param: string | null = null): string {
  const [type, defaultCode] = ERROR_TYPES[status] ?? [
    status >= 500 ? 'server_error' : 'invalid_request_error',
    `http_${status}`,
  ];
  return JSON.stringify({ error: { message, type, param, code: code ?? defaultCode } });
}

function faultMessage(status: number): string {
  if (status === 429) return 'Rate limit reached for requests. Please try again later.';
  if (status >= 500) return `The server had an error while processing your request (HTTP ${status}).`;
  return `The request was refused (HTTP ${status}).`;
}

// ---------------------------------------------------------------------------------------------
// Answers

type Endpoint = 'chat' | 'raw';

interface ModelAnswer {
  endpoint: Endpoint;
  model: string;
  output: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  maxTokens?: number;
  stream: boolean;
  includeUsage: boolean;
  classification?: Classification;
  codes: string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function responseId(endpoint: Endpoint, id: number): string {
  return `${endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-guardlens-${id}`;
}

function choice(endpoint: Endpoint, output: string, finishReason: string | null) {
  return endpoint === 'chat'
    ? {
        index: 0,
        message: { role: 'assistant', content: output },
        logprobs: null,
        finish_reason: finishReason,
      }
    : { index: 0, text: output, logprobs: null, finish_reason: finishReason };
}

async function usage(answer: ModelAnswer, output: string) {
  const completion = await countTokens(output);
  return {
    prompt_tokens: answer.promptTokens,
    completion_tokens: completion,
    total_tokens: answer.promptTokens + completion,
  };
}

// ---------------------------------------------------------------------------------------------
// The server

interface HeldFault {
  fault: Fault;
  remaining: number;
}

export async function startGuardServer(opts: GuardServerOptions = {}): Promise<GuardServer> {
  const initialLatency = checkLatency(opts.latencyMs ?? 0);
  const initialRules = checkRules(opts.rules ?? DEFAULT_RULES);
  const outputStyle = opts.outputStyle ?? 'plain';
  if (outputStyle !== 'plain' && outputStyle !== 'quirky') {
    throw new GuardServerOptionError(`outputStyle must be 'plain' or 'quirky' (got ${String(outputStyle)}).`);
  }
  if (
    opts.models !== undefined &&
    !(Array.isArray(opts.models) && opts.models.every((m) => typeof m === 'string'))
  ) {
    throw new GuardServerOptionError('models must be an array of model ids.');
  }
  if (opts.maxRecorded !== undefined && !(Number.isInteger(opts.maxRecorded) && opts.maxRecorded >= 1)) {
    throw new GuardServerOptionError(`maxRecorded must be a whole number ≥ 1 (got ${opts.maxRecorded}).`);
  }
  const knownModels = opts.models ? new Set(opts.models) : undefined;

  let latencyMs = initialLatency;
  let rules = initialRules;
  let faults: HeldFault[] = [];
  let nextId = 1;
  let recordedSinceReset = 0;
  let closed = false;
  const requests: RecordedRequest[] = [];
  const waiters = new Set<{ n: number; resolve: () => void; reject: (e: Error) => void }>();
  const sleepers = new Set<() => void>();

  const notifyWaiters = () => {
    for (const waiter of waiters) {
      if (recordedSinceReset >= waiter.n) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };

  const takeFault = (method: string, path: string): Fault | undefined => {
    const index = faults.findIndex(({ fault }) =>
      fault.path !== undefined
        ? fault.path === path
        : method === 'POST' && (path === CHAT_PATH || path === COMPLETIONS_PATH),
    );
    if (index === -1) return undefined;
    const held = faults[index]!;
    held.remaining -= 1;
    if (held.remaining === 0) faults.splice(index, 1);
    return held.fault;
  };

  /** Resolves after `ms`, or at once when the server closes; tells which. */
  const sleep = (ms: number): Promise<'slept' | 'closed'> =>
    new Promise((resolve) => {
      if (ms <= 0) return resolve(closed ? 'closed' : 'slept');
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve('closed');
      };
      const timer = setTimeout(() => {
        sleepers.delete(wake);
        resolve('slept');
      }, ms);
      sleepers.add(wake);
    });

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Anything unexpected is a bug in the fixture: answer 500 so the test sees it.
      if (!res.headersSent && !res.destroyed) {
        const message = `Guardlens test server failure: ${error instanceof Error ? error.message : String(error)}`;
        res.writeHead(500, { ...CORS_HEADERS, 'Content-Type': 'application/json' });
        res.end(errorBody(500, message));
      } else {
        res.destroy();
      }
    });
  });

  async function readBody(req: http.IncomingMessage): Promise<{ text: string; tooLarge: boolean }> {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    }
    return { text: Buffer.concat(chunks).toString('utf8'), tooLarge };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.replace(/\/+$/, '') || '/';
    const { text: rawBody, tooLarge } = await readBody(req);
    let body: unknown;
    let badJson = false;
    if (rawBody.trim() !== '') {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = rawBody;
        badJson = true;
      }
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const record: RecordedRequest = { id: nextId++, method, path, headers, body, receivedAt: Date.now() };
    requests.push(record);
    if (opts.maxRecorded !== undefined && requests.length > opts.maxRecorded) requests.shift();
    recordedSinceReset += 1;
    notifyWaiters();

    if (opts.onFinished) res.once('close', () => opts.onFinished?.(record));

    const send = (status: number, payload: string, extra: Record<string, string> = {}, cors = true) => {
      if (res.destroyed || res.writableEnded) return;
      record.status = status;
      const contentType = extra['Content-Type'] ?? (payload === '' ? undefined : 'application/json');
      res.writeHead(status, {
        ...(cors ? CORS_HEADERS : {}),
        ...(contentType ? { 'Content-Type': contentType } : {}),
        'x-request-id': `req_guardlens_${record.id}`,
        ...extra,
      });
      record.answeredAt = Date.now();
      res.end(payload);
    };
    const sendError = (error: RequestError) =>
      send(error.status, errorBody(error.status, error.message, error.code, error.param));

    const origin = headers.origin ?? '';
    if (opts.refuseExtensionOrigins && /^(chrome|moz)-extension:\/\//i.test(origin)) {
      return send(403, '', {}, false);
    }
    if (method === 'OPTIONS') {
      if (res.destroyed || res.writableEnded) return;
      record.status = 204;
      record.answeredAt = Date.now();
      res.writeHead(204, PREFLIGHT_HEADERS);
      res.end();
      return;
    }

    const fault = takeFault(method, path);
    if (fault) record.fault = fault.kind;
    if (fault?.kind === 'timeout') return; // Hold the socket until the client gives up or the server closes.
    const extraDelay = fault?.kind === 'delay' ? fault.ms : 0;
    if ((await sleep(latencyMs + extraDelay)) === 'closed' || res.destroyed) return;

    if (fault?.kind === 'reset') {
      record.answeredAt = Date.now();
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'html') {
      return send(200, HTML_PAGE, { 'Content-Type': 'text/html; charset=utf-8' });
    }
    if (fault?.kind === 'status' || fault?.kind === 'rate-limit') {
      const status = fault.kind === 'status' ? fault.status : 429;
      const extra: Record<string, string> =
        fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {};
      if (fault.kind === 'status' && fault.body !== undefined) {
        let isJson = true;
        try {
          JSON.parse(fault.body);
        } catch {
          isJson = false;
        }
        extra['Content-Type'] = isJson ? 'application/json' : 'text/plain; charset=utf-8';
        return send(status, fault.body, extra);
      }
      return send(status, errorBody(status, faultMessage(status)), extra);
    }

    if (opts.apiKey !== undefined && headers.authorization !== `Bearer ${opts.apiKey}`) {
      return sendError(
        new RequestError(
          401,
          headers.authorization ? 'Incorrect API key provided.' : 'You did not provide an API key.',
          'invalid_api_key',
        ),
      );
    }

    if (path === MODELS_PATH || path.startsWith(`${MODELS_PATH}/`)) {
      if (method !== 'GET') {
        return sendError(
          new RequestError(405, `Method ${method} is not allowed here.`, 'method_not_allowed'),
        );
      }
      return answerModels(path, send, sendError);
    }
    if (path !== CHAT_PATH && path !== COMPLETIONS_PATH) {
      return sendError(new RequestError(404, `Unknown request URL: ${method} ${path}.`, 'unknown_url'));
    }
    if (method !== 'POST') {
      return sendError(
        new RequestError(405, `Method ${method} is not allowed here; use POST.`, 'method_not_allowed'),
      );
    }
    if (tooLarge) {
      return sendError(
        new RequestError(413, `The request body exceeds ${MAX_BODY_BYTES} bytes.`, 'request_too_large'),
      );
    }

    let answer: ModelAnswer;
    try {
      answer = await prepareAnswer(path === CHAT_PATH ? 'chat' : 'raw', body, badJson, record);
    } catch (error) {
      if (error instanceof RequestError) return sendError(error);
      throw error;
    }

    if (fault?.kind === 'not-llama-guard') {
      answer.output = REFUSAL_REPLY;
      answer.finishReason = 'stop';
      answer.codes = [];
    }
    record.output = answer.output;
    record.categories = answer.codes;

    if (answer.stream) return streamAnswer(answer, fault, res, record);

    const payload = {
      id: responseId(answer.endpoint, record.id),
      object: answer.endpoint === 'chat' ? 'chat.completion' : 'text_completion',
      created: Math.floor(record.receivedAt / 1000),
      model: answer.model,
      choices:
        fault?.kind === 'no-choices' ? [] : [choice(answer.endpoint, answer.output, answer.finishReason)],
      usage: await usage(answer, answer.output),
      system_fingerprint: null,
    };
    const json = JSON.stringify(payload);
    if (fault?.kind === 'malformed-json') return send(200, json.slice(0, Math.floor(json.length / 2)));
    record.usage = {
      promptTokens: payload.usage.prompt_tokens,
      completionTokens: payload.usage.completion_tokens,
    };
    return send(200, json);
  }

  function answerModels(
    path: string,
    send: (status: number, payload: string) => void,
    sendError: (error: RequestError) => void,
  ): void {
    const ids = opts.models ?? DEFAULT_LISTED_MODELS;
    const entry = (id: string) => ({ id, object: 'model', created: 0, owned_by: 'guardlens-test' });
    const id = path === MODELS_PATH ? undefined : decodeURIComponent(path.slice(MODELS_PATH.length + 1));
    if (id === undefined) {
      send(200, JSON.stringify({ object: 'list', data: ids.map(entry) }));
    } else if (knownModels && !knownModels.has(id)) {
      sendError(new RequestError(404, `The model \`${id}\` does not exist.`, 'model_not_found', 'model'));
    } else {
      send(200, JSON.stringify(entry(id)));
    }
  }

  /** Validates a completion request like a provider and decides the answer. */
  async function prepareAnswer(
    endpoint: Endpoint,
    body: unknown,
    badJson: boolean,
    record: RecordedRequest,
  ): Promise<ModelAnswer> {
    if (badJson) {
      throw new RequestError(400, 'We could not parse the JSON body of your request.', 'invalid_json');
    }
    if (!isObject(body)) {
      throw new RequestError(400, 'The request body must be a JSON object.', 'invalid_request');
    }
    const { model, temperature, stream, stream_options: streamOptions } = body;
    if (model === undefined) {
      throw new RequestError(
        400,
        'You must provide a model parameter.',
        'missing_required_parameter',
        'model',
      );
    }
    if (typeof model !== 'string' || model === '') {
      throw new RequestError(400, 'model must be a non-empty string.', 'invalid_type', 'model');
    }
    record.model = model;
    if (knownModels && !knownModels.has(model)) {
      throw new RequestError(
        404,
        `The model \`${model}\` does not exist or you do not have access to it.`,
        'model_not_found',
        'model',
      );
    }
    if (temperature !== undefined && temperature !== null) {
      if (typeof temperature !== 'number' || !(temperature >= 0 && temperature <= 2)) {
        throw new RequestError(
          400,
          'temperature must be a number between 0 and 2.',
          'invalid_value',
          'temperature',
        );
      }
      record.temperature = temperature;
    }
    const maxTokensValue = body.max_tokens ?? body.max_completion_tokens;
    let maxTokens: number | undefined;
    if (maxTokensValue !== undefined && maxTokensValue !== null) {
      if (!(Number.isInteger(maxTokensValue) && (maxTokensValue as number) >= 1)) {
        throw new RequestError(400, 'max_tokens must be a whole number ≥ 1.', 'invalid_value', 'max_tokens');
      }
      maxTokens = maxTokensValue as number;
      record.maxTokens = maxTokens;
    }
    if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
      throw new RequestError(400, 'stream must be a boolean.', 'invalid_type', 'stream');
    }

    let classification: Classification | undefined;
    let promptTokens: number;
    if (endpoint === 'chat') {
      const reading = readChatRequest(body.messages, body.chat_template_kwargs);
      classification = reading.classification;
      promptTokens = CHAT_TEMPLATE_OVERHEAD_TOKENS + (await countTokens(reading.conversation));
      record.mode = 'chat';
    } else {
      const { prompt } = body;
      if (prompt === undefined) {
        throw new RequestError(
          400,
          'Missing required parameter: prompt.',
          'missing_required_parameter',
          'prompt',
        );
      }
      if (typeof prompt !== 'string') {
        throw new RequestError(400, 'prompt must be a string.', 'invalid_type', 'prompt');
      }
      const parsed = parseGuardPrompt(prompt);
      classification = parsed ? rawClassification(parsed) : undefined;
      promptTokens = await countTokens(prompt);
      record.mode = 'raw';
      if (!parsed) record.imageCount = prompt.split('<|image|>').length - 1;
    }

    let codes: string[] = [];
    let output = ORDINARY_REPLY;
    if (classification) {
      record.role = classification.role;
      record.text = classification.text;
      record.imageCount = classification.imageCount;
      if (classification.warnings.length > 0) record.warnings = classification.warnings;
      codes = decideCodes(classification, rules);
      output = formatVerdict(codes, outputStyle);
    }
    let finishReason: 'stop' | 'length' = 'stop';
    if (maxTokens !== undefined) {
      const cut = await truncateToTokens(output, maxTokens);
      output = cut.text;
      if (cut.truncated) finishReason = 'length';
    }
    return {
      endpoint,
      model,
      output,
      finishReason,
      promptTokens,
      maxTokens,
      stream: stream === true,
      includeUsage: isObject(streamOptions) && streamOptions.include_usage === true,
      classification,
      codes,
    };
  }

  /** Server-sent events as the providers stream them: one chunk per token, then `[DONE]`. */
  async function streamAnswer(
    answer: ModelAnswer,
    fault: Fault | undefined,
    res: http.ServerResponse,
    record: RecordedRequest,
  ): Promise<void> {
    if (res.destroyed) return;
    record.status = 200;
    res.writeHead(200, {
      ...CORS_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'x-request-id': `req_guardlens_${record.id}`,
    });
    const base = {
      id: responseId(answer.endpoint, record.id),
      object: answer.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion',
      created: Math.floor(record.receivedAt / 1000),
      model: answer.model,
    };
    const event = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    const piece = (text: string, finishReason: string | null, role = false) =>
      answer.endpoint === 'chat'
        ? {
            index: 0,
            delta: finishReason ? {} : { ...(role ? { role: 'assistant' } : {}), content: text },
            logprobs: null,
            finish_reason: finishReason,
          }
        : { index: 0, text, logprobs: null, finish_reason: finishReason };

    if (fault?.kind === 'malformed-json') {
      const json = JSON.stringify({ ...base, choices: [piece(answer.output, null)] });
      record.answeredAt = Date.now();
      res.end(`data: ${json.slice(0, Math.floor(json.length / 2))}\n\n`);
      return;
    }
    if (fault?.kind === 'no-choices') {
      event({ ...base, choices: [] });
    } else {
      if (answer.endpoint === 'chat') event({ ...base, choices: [piece('', null, true)] });
      for (const text of await tokenPieces(answer.output)) event({ ...base, choices: [piece(text, null)] });
      event({ ...base, choices: [piece('', answer.finishReason)] });
    }
    if (answer.includeUsage) {
      const u = await usage(answer, answer.output);
      record.usage = { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
      event({ ...base, choices: [], usage: u });
    }
    record.answeredAt = Date.now();
    res.end('data: [DONE]\n\n');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (opts.preloadTokenizer) void loadTokenizer();

  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;
  let listening = true;
  let stopping: Promise<void> | undefined;

  return {
    url,
    baseUrl: `${url}/v1`,
    port,
    requests,
    setLatency(ms) {
      latencyMs = checkLatency(ms);
    },
    injectFault(f) {
      const fault = checkFault(f);
      faults.push({ fault, remaining: fault.times ?? 1 });
    },
    clearFaults() {
      faults = [];
    },
    setRules(r) {
      rules = checkRules(r);
    },
    reset() {
      requests.length = 0;
      recordedSinceReset = 0;
      nextId = 1;
      faults = [];
      rules = initialRules;
      latencyMs = initialLatency;
    },
    waitForRequests(n, timeoutMs = 5000) {
      if (recordedSinceReset >= n) return Promise.resolve([...requests]);
      if (closed) return Promise.reject(new Error('The Guardlens test server is closed.'));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `Timed out after ${timeoutMs} ms waiting for ${n} requests (${recordedSinceReset} so far).`,
            ),
          );
        }, timeoutMs);
        const waiter = {
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve([...requests]);
          },
          reject: (error: Error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        waiters.add(waiter);
      });
    },
    get listening() {
      return listening;
    },
    stopListening() {
      if (closed) return Promise.reject(new Error('The Guardlens test server is closed.'));
      if (!listening) return stopping ?? Promise.resolve();
      listening = false;
      stopping = new Promise<void>((resolve) => {
        // Held answers end as a dropped connection would; nothing new is accepted.
        for (const wake of [...sleepers]) wake();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
    async resumeListening() {
      if (closed) throw new Error('The Guardlens test server is closed.');
      if (listening) return;
      await stopping;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      listening = true;
      stopping = undefined;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        for (const wake of [...sleepers]) wake();
        for (const waiter of waiters) waiter.reject(new Error('The Guardlens test server closed.'));
        waiters.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
