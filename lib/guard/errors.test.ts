import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  OpenAIError,
} from 'openai';
import { describe, expect, it } from 'vitest';
import messages from '../../public/_locales/en/messages.json';
import { expectInMessages } from '../../test/unit/messages-file';
import {
  ERROR_HINTS,
  ERROR_TEMPLATES,
  ERROR_TITLES,
  errorEnglish,
  errorMessageKeys,
  formatClock,
  GUARD_ERROR_KINDS,
  GuardError,
  GuardOutputError,
  guardErrorFromJSON,
  isOllamaLike,
  MAX_OUTPUT_IN_ERROR,
  noAccessError,
  OUTPUT_REASON_TEMPLATES,
  retryAtFromHeaders,
  scrubSecrets,
  toGuardError,
} from './errors';
import { parseVerdict } from './parse';
import { getGuardModel } from './registry';

const KEY = 'sk-or-v1-0123456789abcdef0123456789abcdef';
const ctx = {
  baseUrl: 'https://openrouter.ai/api/v1',
  model: 'meta-llama/llama-guard-4-12b',
  preset: 'openrouter',
};

function apiError(status: number, body: unknown, headers: Record<string, string> = {}): APIError {
  const text = body === undefined ? '' : JSON.stringify(body);
  const json = text ? JSON.parse(text) : undefined;
  return APIError.generate(status, json, json ? undefined : text, new Headers(headers));
}

describe('GuardError', () => {
  it('has a kind, a hint, retryable and plain JSON', () => {
    const e = new GuardError('server', 'boom', { status: 503 });
    expect(e).toBeInstanceOf(Error);
    expect(e.kind).toBe('server');
    expect(e.retryable).toBe(true);
    expect(e.hint).toMatch(/try again/);
    const json = e.toJSON();
    expect(json).toEqual({
      name: 'GuardError',
      kind: 'server',
      message: 'boom',
      hint: e.hint,
      status: 503,
      retryable: true,
      hintText: { key: 'error_hint_server' },
    });
    expect(JSON.parse(JSON.stringify(e))).toEqual(json);
  });

  it('defaults retryable by kind', () => {
    const retryable = GUARD_ERROR_KINDS.filter((k) => new GuardError(k, 'x').retryable);
    expect(retryable.sort()).toEqual(['rate-limited', 'server', 'timeout', 'unreachable']);
  });

  it('round-trips through JSON', () => {
    const e = new GuardError('rate-limited', 'slow down', { retryAt: 1_700_000_000_000, status: 429 });
    const back = guardErrorFromJSON(JSON.parse(JSON.stringify(e)));
    expect(back).toBeInstanceOf(GuardError);
    expect(back.toJSON()).toEqual(e.toJSON());
    const o = new GuardOutputError('hello there', 'prose');
    const back2 = guardErrorFromJSON(o.toJSON());
    expect(back2).toBeInstanceOf(GuardOutputError);
    expect(back2.toJSON()).toEqual(o.toJSON());
  });

  it('GuardOutputError truncates the output and is bad-output', () => {
    const long = 'x'.repeat(5000);
    const e = new GuardOutputError(long, 'prose');
    expect(e).toBeInstanceOf(GuardError);
    expect(e.kind).toBe('bad-output');
    expect(e.retryable).toBe(false);
    expect(e.output.length).toBeLessThanOrEqual(MAX_OUTPUT_IN_ERROR + 1);
    expect(e.message.length).toBeLessThan(400);
    expect(e.toJSON().output).toBe(e.output);
  });
});

describe('scrubSecrets', () => {
  it('removes the key and credential-shaped strings', () => {
    expect(scrubSecrets(`bad key ${KEY}!`, KEY)).toBe('bad key [redacted]!');
    expect(scrubSecrets('Authorization: Bearer abc.def-123')).toBe('Authorization: Bearer [redacted]');
    expect(scrubSecrets('Incorrect API key provided: sk-proj-abcdefghijkl')).not.toMatch(/abcdefghijkl/);
    expect(scrubSecrets('key gsk_ABCDEFGHIJKLMNOP')).toBe('key [redacted]');
    expect(scrubSecrets('https://x.test/v1?api_key=secret&a=1')).toBe(
      'https://x.test/v1?api_key=[redacted]&a=1',
    );
    expect(scrubSecrets('https://me:pw@x.test/v1')).toBe('https://[redacted]@x.test/v1');
    expect(scrubSecrets('nothing here')).toBe('nothing here');
  });
});

describe('retryAtFromHeaders / formatClock', () => {
  const now = 1_700_000_000_000;
  it('reads seconds, milliseconds and HTTP dates', () => {
    expect(retryAtFromHeaders(new Headers({ 'retry-after': '7' }), now)).toBe(now + 7000);
    expect(retryAtFromHeaders(new Headers({ 'retry-after-ms': '250' }), now)).toBe(now + 250);
    const date = new Date(now + 120_000).toUTCString();
    expect(retryAtFromHeaders(new Headers({ 'retry-after': date }), now)).toBe(now + 120_000);
    expect(retryAtFromHeaders(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAtFromHeaders(new Headers(), now)).toBeUndefined();
    expect(retryAtFromHeaders(undefined, now)).toBeUndefined();
  });
  it('formats HH:MM, with seconds when close', () => {
    const d = new Date(2030, 0, 2, 9, 5, 7).getTime();
    expect(formatClock(d, d - 3_600_000)).toBe('09:05');
    expect(formatClock(d, d - 10_000)).toBe('09:05:07');
  });
});

describe('toGuardError', () => {
  it('maps statuses to kinds', () => {
    const cases: [number, unknown, string][] = [
      [401, { error: { message: 'No auth credentials found', code: 401 } }, 'auth'],
      [402, { error: { message: 'Insufficient credits' } }, 'forbidden'],
      [403, { error: { message: 'Forbidden' } }, 'forbidden'],
      [404, { error: { message: 'No endpoints found', type: 'not_found' } }, 'model-not-found'],
      [413, undefined, 'too-large'],
      [400, { error: { message: "This model's maximum context length is 8192 tokens" } }, 'too-large'],
      [422, { error: { message: 'inputs tokens + max_new_tokens must be <= 8193' } }, 'too-large'],
      [
        400,
        { error: { message: 'The model `foo` does not exist', code: 'model_not_found' } },
        'model-not-found',
      ],
      [400, { error: { message: 'messages: invalid content type' } }, 'config'],
      [422, { error: { message: 'prompt must be a string' } }, 'config'],
      [408, undefined, 'timeout'],
      [429, { error: { message: 'Rate limit reached' } }, 'rate-limited'],
      [500, { error: { message: 'internal' } }, 'server'],
      [502, undefined, 'server'],
      [503, undefined, 'server'],
      [418, undefined, 'bad-response'],
    ];
    for (const [status, body, kind] of cases) {
      const e = toGuardError(apiError(status, body), ctx);
      expect(e.kind, `status ${status}`).toBe(kind);
      expect(e.status).toBe(status);
      expect(e.hint.length).toBeGreaterThan(10);
    }
  });

  it('names the model and provider when the model is not found', () => {
    const e = toGuardError(apiError(404, { error: { message: 'model not found' } }), ctx);
    expect(e.hint).toContain('meta-llama/llama-guard-4-12b');
    expect(e.hint).toContain('OpenRouter');
    expect(e.message).toContain('model not found');
  });

  it('rate-limited carries retryAt and a wait-until hint', () => {
    const before = Date.now();
    const e = toGuardError(apiError(429, { error: { message: 'slow' } }, { 'retry-after': '120' }), ctx);
    expect(e.kind).toBe('rate-limited');
    expect(e.retryable).toBe(true);
    expect(e.retryAt).toBeGreaterThanOrEqual(before + 120_000);
    expect(e.hint).toMatch(/wait until \d\d:\d\d/);
    expect(e.toJSON().retryAt).toBe(e.retryAt);
    const noHeader = toGuardError(apiError(429, undefined), ctx);
    expect(noHeader.retryAt).toBeUndefined();
  });

  it('maps connection errors, timeouts and aborts', () => {
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    });
    const conn = new APIConnectionError({ message: 'Connection error.', cause: refused });
    const e = toGuardError(conn, { baseUrl: 'http://127.0.0.1:1/v1', model: 'm' });
    expect(e.kind).toBe('unreachable');
    expect(e.retryable).toBe(true);
    expect(e.message).toContain('ECONNREFUSED');
    expect(toGuardError(new APIConnectionTimeoutError(), { ...ctx, timeoutMs: 1500 }).message).toContain(
      '1.5 s',
    );
    expect(toGuardError(new APIConnectionTimeoutError(), ctx).kind).toBe('timeout');
    const aborted = toGuardError(new APIUserAbortError(), ctx);
    expect(aborted.kind).toBe('timeout');
    expect(aborted.cancelled).toBe(true);
    expect(aborted.retryable).toBe(false);
    expect(toGuardError(new DOMException('x', 'TimeoutError'), ctx).cancelled).toBeUndefined();
    expect(toGuardError(new TypeError('Failed to fetch'), ctx).kind).toBe('unreachable');
    expect(toGuardError(new SyntaxError('Unexpected token < in JSON'), ctx).kind).toBe('bad-response');
    expect(toGuardError(new OpenAIError('Missing credentials'), ctx).kind).toBe('config');
    expect(toGuardError('weird', ctx).kind).toBe('bad-response');
  });

  it('passes GuardErrors through', () => {
    const g = new GuardError('config', 'no');
    expect(toGuardError(g, ctx)).toBe(g);
  });

  it('reports CORS with the OLLAMA_ORIGINS hint for Ollama-like endpoints', () => {
    const ollama = { baseUrl: 'http://localhost:11434/v1', model: 'llama-guard3:1b', preset: 'ollama' };
    const blocked = toGuardError(new TypeError('Failed to fetch'), ollama);
    expect(blocked.kind).toBe('cors');
    expect(blocked.hint).toContain('OLLAMA_ORIGINS');
    expect(blocked.hint).toContain('chrome-extension://*,moz-extension://*');
    const byPort = toGuardError(new APIConnectionError({ cause: new TypeError('Failed to fetch') }), {
      baseUrl: 'http://127.0.0.1:11434/v1',
      model: 'x',
    });
    expect(byPort.kind).toBe('cors');
    const forbidden = toGuardError(apiError(403, undefined), ollama);
    expect(forbidden.kind).toBe('cors');
    expect(forbidden.hint).toContain('OLLAMA_ORIGINS');
    // With a body, a 403 is a real permission problem, even on Ollama.
    expect(toGuardError(apiError(403, { error: { message: 'nope' } }), ollama).kind).toBe('forbidden');
    // An empty 403 elsewhere is not CORS.
    expect(toGuardError(apiError(403, undefined), ctx).kind).toBe('forbidden');
    // In Node a refused connection is told apart: Ollama is simply not running.
    const refused = new APIConnectionError({
      cause: Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }),
    });
    const notRunning = toGuardError(refused, ollama);
    expect(notRunning.kind).toBe('unreachable');
    expect(notRunning.hint).toMatch(/ollama serve/);
  });

  it('never leaks the API key', () => {
    const body = { error: { message: `Incorrect API key provided: ${KEY}. Bearer ${KEY}` } };
    const e = toGuardError(apiError(401, body), { ...ctx, apiKey: KEY });
    const all = JSON.stringify(e.toJSON()) + e.message + e.hint + String(e.stack);
    expect(all).not.toContain(KEY);
    expect(all).not.toContain('0123456789abcdef');
    const e2 = toGuardError(new Error(`failed with ${KEY}`), { ...ctx, apiKey: KEY });
    expect(e2.message).not.toContain(KEY);
  });

  it('isOllamaLike', () => {
    expect(isOllamaLike({ baseUrl: 'http://localhost:11434/v1' })).toBe(true);
    expect(isOllamaLike({ baseUrl: 'https://x.test/v1', preset: 'ollama' })).toBe(true);
    expect(isOllamaLike({ baseUrl: 'https://x.test/v1' })).toBe(false);
    expect(isOllamaLike({ baseUrl: 'not a url' })).toBe(false);
  });
});

describe('error texts in the messages file', () => {
  const MESSAGES = messages as Record<string, { message: string }>;

  it('gives every kind a title and a hint key, in the same English as here', () => {
    const problems: string[] = [];
    for (const kind of GUARD_ERROR_KINDS) {
      const keys = errorMessageKeys(kind);
      for (const [key, english] of [
        [keys.title, ERROR_TITLES[kind]],
        [keys.hint, ERROR_HINTS[kind]],
      ] as const) {
        if (!english) problems.push(`${kind} has no English text for ${key}`);
        else if (!MESSAGES[key]) problems.push(`${key} is missing`);
        else if (MESSAGES[key].message !== english)
          problems.push(`${key}: "${MESSAGES[key].message}" in messages.json, "${english}" here`);
      }
    }
    expect(problems).toEqual([]);
    expect(Object.keys(ERROR_TITLES).sort()).toEqual([...GUARD_ERROR_KINDS].sort());
    expect(errorMessageKeys('model-not-found')).toEqual({
      title: 'error_kind_model_not_found',
      hint: 'error_hint_model_not_found',
    });
  });

  it('an error without a hint of its own carries the general hint of its kind', () => {
    for (const kind of GUARD_ERROR_KINDS) expect(new GuardError(kind, 'x').hint).toBe(ERROR_HINTS[kind]);
  });
});

/** Every way `toGuardError` words an error, with the endpoint that gives it. */
function everyErrorPath(): [string, GuardError][] {
  const ollama = { baseUrl: 'http://localhost:11434/v1', model: 'llama-guard3:1b', preset: 'ollama' };
  const custom = { baseUrl: 'https://guard.example.test/v1', model: 'lg4' };
  const cause = (code: string) =>
    new APIConnectionError({ cause: Object.assign(new TypeError('fetch failed'), { cause: { code } }) });
  const model = getGuardModel('llama-guard-4-12b');
  const output = (text: string) => {
    try {
      parseVerdict(text, model);
    } catch (err) {
      return err as GuardError;
    }
    throw new Error(`"${text}" parsed`);
  };
  return [
    ['401', toGuardError(apiError(401, { error: { message: 'No auth credentials found' } }), ctx)],
    ['402', toGuardError(apiError(402, { error: { message: 'Insufficient credits' } }), ctx)],
    ['403', toGuardError(apiError(403, { error: { message: 'Forbidden' } }), ctx)],
    ['404', toGuardError(apiError(404, { error: { message: 'No endpoints found' } }), ctx)],
    ['408 without a body', toGuardError(apiError(408, undefined), ctx)],
    ['413', toGuardError(apiError(413, undefined), ctx)],
    [
      '400 too long',
      toGuardError(apiError(400, { error: { message: 'maximum context length is 8192' } }), ctx),
    ],
    [
      '429 with retry-after',
      toGuardError(apiError(429, { error: { message: 'slow' } }, { 'retry-after': '90' }), ctx),
    ],
    ['429 without retry-after', toGuardError(apiError(429, { error: { message: 'slow' } }), ctx)],
    ['400 model', toGuardError(apiError(400, { error: { message: 'The model `x` does not exist' } }), ctx)],
    ['400 other', toGuardError(apiError(400, { error: { message: 'messages: invalid content' } }), ctx)],
    ['500', toGuardError(apiError(500, { error: { message: 'internal' } }), ctx)],
    ['503 without a body', toGuardError(apiError(503, undefined), ctx)],
    [
      '503 without any words',
      toGuardError(Object.assign(apiError(503, undefined), { message: '503 ' }), ctx),
    ],
    ['418', toGuardError(apiError(418, { error: { message: 'teapot' } }), ctx)],
    ['refused', toGuardError(cause('ECONNREFUSED'), custom)],
    ['not resolving', toGuardError(cause('ENOTFOUND'), custom)],
    ['unreachable', toGuardError(new TypeError('Failed to fetch'), custom)],
    ['Ollama not running', toGuardError(cause('ECONNREFUSED'), ollama)],
    ['Ollama CORS', toGuardError(new TypeError('Failed to fetch'), ollama)],
    ['Ollama 403', toGuardError(apiError(403, undefined), ollama)],
    ['timeout', toGuardError(new APIConnectionTimeoutError(), { ...ctx, timeoutMs: 1500 })],
    ['timeout, no limit known', toGuardError(new APIConnectionTimeoutError(), ctx)],
    ['cancelled', toGuardError(new APIUserAbortError(), ctx)],
    ['bad JSON', toGuardError(new SyntaxError('Unexpected token < in JSON'), ctx)],
    ['unknown', toGuardError(new Error(''), ctx)],
    ['bad output: empty', toGuardError(output('   '), ctx)],
    ['bad output: prose', toGuardError(output('I cannot help with that.'), ctx)],
    ['bad output: safe and more', toGuardError(output('safe\nreally'), ctx)],
    ['bad output: lines', toGuardError(output('unsafe\nS1\nmore'), ctx)],
    ['bad output: code', toGuardError(output('unsafe\nS1,X?'), ctx)],
    ['no access', noAccessError(custom, 'https://guard.example.test', new TypeError('Failed to fetch'))],
  ];
}

describe('structured error texts', () => {
  it('every error path carries its message and hint by key, and they say exactly the English', () => {
    const paths = everyErrorPath();
    const keys = new Set<string>();
    for (const [name, e] of paths) {
      expect(e.messageText, name).toBeDefined();
      expect(e.hintText, name).toBeDefined();
      expect(errorEnglish(e.messageText!), name).toBe(e.message);
      expect(errorEnglish(e.hintText!), name).toBe(e.hint);
      keys.add(e.messageText!.key);
      keys.add(e.hintText!.key);
    }
    // Every specific sentence is reached by some path.
    const unused = Object.keys(ERROR_TEMPLATES).filter((key) => !keys.has(key));
    expect(unused).toEqual([]);
  });

  it("the endpoint's own words and the model's output are values, not part of the sentence", () => {
    const e = toGuardError(apiError(401, { error: { message: 'No auth credentials found' } }), ctx);
    expect(e.messageText).toEqual({
      key: 'error_detail_status',
      subs: ['OpenRouter', '401', 'No auth credentials found'],
    });
    expect(e.hintText).toEqual({ key: 'error_fix_auth', subs: ['OpenRouter'] });
    const out = new GuardOutputError('hello', 'empty answer');
    expect(out.messageText).toEqual({ key: 'error_detail_bad_output', subs: ['empty answer', '"hello"'] });
  });

  it("the model's answer is refused for a reason lib names", () => {
    for (const [name, e] of everyErrorPath().filter(([n]) => n.startsWith('bad output'))) {
      const reason = e.messageText!.subs![0]!;
      const known = Object.values(OUTPUT_REASON_TEMPLATES).some((template) =>
        new RegExp(`^${template.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\$\d/g, '.+')}$`).test(
          reason,
        ),
      );
      expect(known, `${name}: ${reason}`).toBe(true);
    }
  });

  it('the texts survive a trip through JSON (extension messaging, storage)', () => {
    for (const [name, e] of everyErrorPath()) {
      const data = JSON.parse(JSON.stringify(e.toJSON()));
      expect(data.messageText, name).toEqual(e.messageText);
      expect(data.hintText, name).toEqual(e.hintText);
      const back = guardErrorFromJSON(data);
      expect(back.toJSON(), name).toEqual(e.toJSON());
    }
    // Texts that are not well formed are dropped, the English stays.
    const odd = guardErrorFromJSON({
      ...new GuardError('server', 'boom').toJSON(),
      messageText: { key: 'not a key!', subs: [1] } as never,
    });
    expect(odd.messageText).toBeUndefined();
    expect(odd.message).toBe('boom');
  });

  it('scrubs the API key from the values too', () => {
    const body = { error: { message: `Incorrect API key provided: ${KEY}` } };
    const e = toGuardError(apiError(401, body), { ...ctx, apiKey: KEY });
    expect(JSON.stringify(e.messageText)).not.toContain(KEY);
    expect(e.messageText?.subs?.[2]).toBe('Incorrect API key provided: [redacted]');
    expect(errorEnglish(e.messageText!)).toBe(e.message);
    const inDetail = toGuardError(new TypeError(`Failed to fetch: header ${KEY} refused`), {
      ...ctx,
      apiKey: KEY,
    });
    expect(inDetail.messageText?.key).toBe('error_detail_unreachable');
    expect(JSON.stringify(inDetail.toJSON())).not.toContain(KEY);
    expect(errorEnglish(inDetail.messageText!)).toBe(inDetail.message);
    // A credential in the base URL: scrubbing reaches across the sentence, so its values no longer say the
    // scrubbed English; the texts are dropped (the English is shown) and the key is nowhere.
    const inUrl = toGuardError(new TypeError('Failed to fetch'), {
      baseUrl: `https://x.test/v1?api_key=${KEY}`,
      model: 'm',
      apiKey: KEY,
    });
    expect(JSON.stringify(inUrl.toJSON())).not.toContain(KEY);
    for (const text of [inUrl.messageText, inUrl.hintText])
      if (text) expect(errorEnglish(text)).toBe(text === inUrl.messageText ? inUrl.message : inUrl.hint);
  });

  it('every sentence is in messages.json with the same English as lib', () => {
    expectInMessages({ ...ERROR_TEMPLATES, ...OUTPUT_REASON_TEMPLATES });
  });
});
