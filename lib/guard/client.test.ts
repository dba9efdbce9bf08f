import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../test/server/guard-server';
import { answeredUsage, createGuardClient, type EndpointConfig, MAX_RETRY_AFTER_WAIT_MS } from './client';
import { GuardError } from './errors';
import { buildChatMessages, buildRawPrompt } from './prompt';
import { getGuardModel } from './registry';
import type { ConversationTurn } from './types';

const KEY = 'gl-test-key-7f3a9c1e5b2d4f60';
const LG4 = getGuardModel('llama-guard-4-12b');
const LG3 = getGuardModel('llama-guard-3-8b');

let server: GuardServer;

beforeAll(async () => {
  server = await startGuardServer({ preloadTokenizer: true });
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => server.reset());

function config(over: Partial<EndpointConfig> = {}): EndpointConfig {
  return {
    baseUrl: server.baseUrl,
    model: 'meta-llama/llama-guard-4-12b',
    guardModel: 'llama-guard-4-12b',
    mode: 'chat',
    presetId: 'custom',
    maxRetries: 0,
    ...over,
  };
}

function imageUrl(marker = ''): string {
  const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, ...new TextEncoder().encode(`fake image ${marker}`)]);
  return `data:image/png;base64,${Buffer.from(bytes).toString('base64')}`;
}

async function failure(p: Promise<unknown>): Promise<GuardError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GuardError);
    return err as GuardError;
  }
  throw new Error('expected the call to fail');
}

const user = (text: string, images?: string[]): ConversationTurn =>
  images ? { role: 'user', text, images } : { role: 'user', text };

describe.each(['chat', 'raw'] as const)('%s mode', (mode) => {
  it('classifies safe text', async () => {
    const client = createGuardClient(config({ mode }));
    const r = await client.classify([user('How do I bake bread?')]);
    expect(r.verdict).toEqual({ safe: true, categories: [], unknownCategories: [] });
    expect(r.output).toBe('safe');
    expect(r.mode).toBe(mode);
    expect(r.model).toBe('meta-llama/llama-guard-4-12b');
    expect(r.usage.promptTokens).toBeGreaterThan(0);
    expect(r.usage.completionTokens).toBeGreaterThan(0);
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    expect(r.costUsd).toBeUndefined();
  });

  it('classifies unsafe text, with codes in order, in a two-turn conversation', async () => {
    const client = createGuardClient(config({ mode }));
    const turns: ConversationTurn[] = [
      user('hi'),
      { role: 'assistant', text: 'Sure: GLTEST-S1 and GLTEST-S10' },
    ];
    const r = await client.classify(turns);
    expect(r.verdict).toEqual({ safe: false, categories: ['S1', 'S10'], unknownCategories: [] });
    const [req] = server.requests;
    expect(req?.role).toBe('Agent');
  });

  it('sends exactly the expected request body', async () => {
    const client = createGuardClient(config({ mode, maxTokens: 12 }));
    const turns = [user('Tell me about GLTEST-S9')];
    await client.classify(turns);
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    if (mode === 'chat') {
      expect(req.path).toBe('/v1/chat/completions');
      expect(req.body).toEqual({
        model: 'meta-llama/llama-guard-4-12b',
        messages: JSON.parse(JSON.stringify(buildChatMessages(LG4, turns))),
        temperature: 0,
        max_tokens: 12,
        stream: false,
      });
    } else {
      expect(req.path).toBe('/v1/completions');
      expect(req.body).toEqual({
        model: 'meta-llama/llama-guard-4-12b',
        prompt: buildRawPrompt(LG4, turns),
        temperature: 0,
        max_tokens: 12,
        stream: false,
      });
      expect(req.warnings).toBeUndefined();
    }
    // No key configured: no Authorization header at all.
    expect(req.headers.authorization).toBeUndefined();
  });

  it('reads quirky outputs', async () => {
    const quirky = await startGuardServer({ outputStyle: 'quirky' });
    try {
      const client = createGuardClient(config({ mode, baseUrl: quirky.baseUrl }));
      const r = await client.classify([user('GLTEST-S2 and GLTEST-S3')]);
      expect(r.output).toBe('\n\nunsafe\nS2, S3<|eot_id|>');
      expect(r.verdict.categories).toEqual(['S2', 'S3']);
      expect((await client.classify([user('fine')])).verdict.safe).toBe(true);
    } finally {
      await quirky.close();
    }
  });
});

describe('raw mode details', () => {
  it('uses the default max_tokens of 20 and leaves out the begin-of-text token when asked', async () => {
    const turns = [user('hello')];
    await createGuardClient(config({ mode: 'raw', sendBos: false })).classify(turns);
    const body = server.requests[0]!.body as { prompt: string; max_tokens: number };
    expect(body.max_tokens).toBe(20);
    expect(body.prompt).toBe(buildRawPrompt(LG4, turns, { bos: false }));
    expect(body.prompt.startsWith('<|begin_of_text|>')).toBe(false);
  });

  it('renders the prompt for the configured generation', async () => {
    const turns = [user('GLTEST-S14 please')];
    const client = createGuardClient(
      config({ mode: 'raw', guardModel: 'llama-guard-3-8b', model: 'meta-llama/llama-guard-3-8b' }),
    );
    const r = await client.classify(turns);
    expect(r.verdict.categories).toEqual(['S14']);
    expect((server.requests[0]!.body as { prompt: string }).prompt).toBe(buildRawPrompt(LG3, turns));
  });

  it('sends excluded categories, and the model then cannot report them', async () => {
    const client = createGuardClient(config({ mode: 'raw', prompt: { excluded: ['S1'] } }));
    const turns = [user('GLTEST-S1 and GLTEST-S2')];
    const r = await client.classify(turns);
    expect(r.verdict.categories).toEqual(['S2']);
    const prompt = (server.requests[0]!.body as { prompt: string }).prompt;
    expect(prompt).toBe(buildRawPrompt(LG4, turns, { excluded: ['S1'] }));
    expect(prompt).not.toContain('S1: Violent Crimes.');
  });

  it('sends a custom category table and parses against it', async () => {
    const categories = { S1: 'Violent Crimes.', S15: 'Gambling.' };
    server.setRules([{ phrase: 'roulette', categories: ['S15'] }]);
    const client = createGuardClient(config({ mode: 'raw', prompt: { categories } }));
    const r = await client.classify([user('Best roulette system?')]);
    expect(r.verdict).toEqual({ safe: false, categories: ['S15'], unknownCategories: [] });
    expect((server.requests[0]!.body as { prompt: string }).prompt).toContain('S15: Gambling.\n');
  });
});

describe('images', () => {
  it('sends images to Llama Guard 4 in chat mode', async () => {
    const client = createGuardClient(config());
    const r = await client.classify([
      user('What is in these pictures?', [imageUrl(), imageUrl('GLIMG-S11')]),
    ]);
    expect(r.verdict.categories).toEqual(['S11']);
    const req = server.requests[0]!;
    expect(req.imageCount).toBe(2);
    const content = (req.body as { messages: { content: { type: string }[] }[] }).messages[0]!.content;
    expect(content.map((p) => p.type)).toEqual(['text', 'image_url', 'image_url']);
  });

  it('sends one image to Llama Guard 3 11B Vision and refuses a second', async () => {
    const vision = config({
      guardModel: 'llama-guard-3-11b-vision',
      model: 'meta-llama/llama-guard-3-11b-vision',
    });
    const r = await createGuardClient(vision).classify([user('Look', [imageUrl('GLIMG-S4')])]);
    expect(r.verdict.categories).toEqual(['S4']);
    const e = await failure(createGuardClient(vision).classify([user('Look', [imageUrl(), imageUrl()])]));
    expect(e.kind).toBe('config');
    expect(e.message).toMatch(/at most 1 image/);
    expect(server.requests).toHaveLength(1);
  });

  it('refuses images the model, mode or provider cannot take, before any request', async () => {
    const img = [user('x', [imageUrl()])];
    const cases: Partial<EndpointConfig>[] = [
      { guardModel: 'llama-guard-3-8b', model: 'm' },
      { mode: 'raw' },
      { presetId: 'fireworks', apiKey: KEY },
    ];
    for (const over of cases) {
      const e = await failure(createGuardClient(config(over)).classify(img));
      expect(e.kind).toBe('config');
    }
    const tooMany = await failure(
      createGuardClient(config()).classify([
        user(
          'x',
          [1, 2, 3, 4].map(() => imageUrl()),
        ),
      ]),
    );
    expect(tooMany.message).toMatch(/at most 3 images/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('configuration errors (no request sent)', () => {
  it('refuses category changes outside raw mode or on templates without them', async () => {
    const turns = [user('x')];
    const e1 = await failure(createGuardClient(config({ prompt: { excluded: ['S1'] } })).classify(turns));
    expect(e1.kind).toBe('config');
    expect(e1.message).toMatch(/raw mode/);
    const e2 = await failure(
      createGuardClient(
        config({ mode: 'raw', guardModel: 'llama-guard-3-8b', model: 'm', prompt: { excluded: ['S1'] } }),
      ).classify(turns),
    );
    expect(e2.kind).toBe('config');
    const e3 = await failure(
      createGuardClient(
        config({
          mode: 'raw',
          guardModel: 'llama-guard-2-8b',
          model: 'm',
          prompt: { categories: { S1: 'X.' } },
        }),
      ).classify(turns),
    );
    expect(e3.kind).toBe('config');
    const e4 = await failure(
      createGuardClient(config({ mode: 'raw', prompt: { excluded: ['S99'] } })).classify(turns),
    );
    expect(e4.kind).toBe('config');
    expect(e4.message).toMatch(/S99/);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses bad endpoints at creation', () => {
    const bad: Partial<EndpointConfig>[] = [
      { baseUrl: 'http://example.test/v1' },
      { baseUrl: 'https://user:pw@example.test/v1' },
      { baseUrl: '' },
      { model: ' ' },
      { guardModel: 'llama-guard-9' as never },
      { mode: 'stream' as never },
      { presetId: 'openrouter' },
      { presetId: 'groq', apiKey: KEY, mode: 'raw' },
      { presetId: 'ollama', mode: 'raw' },
      { timeoutMs: 0 },
      { maxRetries: -1 },
    ];
    for (const over of bad) {
      let thrown: unknown;
      try {
        createGuardClient(config(over));
      } catch (err) {
        thrown = err;
      }
      expect(thrown, JSON.stringify(over)).toBeInstanceOf(GuardError);
      expect((thrown as GuardError).kind).toBe('config');
    }
  });

  it('refuses conversations the template cannot render', async () => {
    const client = createGuardClient(config());
    expect((await failure(client.classify([]))).kind).toBe('config');
    expect((await failure(client.classify([{ role: 'assistant', text: 'x' }]))).kind).toBe('config');
    expect(server.requests).toHaveLength(0);
  });
});

describe('keys and headers', () => {
  it('sends the key as a bearer token, with the preset and configured headers', async () => {
    const keyed = await startGuardServer({ apiKey: KEY });
    try {
      const client = createGuardClient(
        config({ baseUrl: keyed.baseUrl, presetId: 'openrouter', apiKey: KEY, headers: { 'X-Extra': '1' } }),
      );
      const r = await client.classify([user('GLTEST-S5')]);
      expect(r.verdict.categories).toEqual(['S5']);
      expect(r.costUsd).toBeGreaterThan(0);
      const h = keyed.requests[0]!.headers;
      expect(h.authorization).toBe(`Bearer ${KEY}`);
      expect(h['x-title']).toBe('Guardlens');
      expect(h['http-referer']).toMatch(/^https:\/\//);
      expect(h['x-extra']).toBe('1');
      expect(h['openai-organization']).toBeUndefined();
    } finally {
      await keyed.close();
    }
  });

  it('401 → auth, and the key never appears in the error', async () => {
    const keyed = await startGuardServer({ apiKey: 'the-right-key' });
    try {
      const e = await failure(
        createGuardClient(config({ baseUrl: keyed.baseUrl, apiKey: KEY })).classify([user('x')]),
      );
      expect(e.kind).toBe('auth');
      expect(e.status).toBe(401);
      expect(e.retryable).toBe(false);
      expect(JSON.stringify(e.toJSON())).not.toContain(KEY);
      expect(String(e.stack)).not.toContain(KEY);
      expect(keyed.requests).toHaveLength(1);
    } finally {
      await keyed.close();
    }
  });
});

describe('failures', () => {
  it('404 → model-not-found naming the model', async () => {
    const strict = await startGuardServer({ models: ['meta-llama/llama-guard-4-12b'] });
    try {
      const e = await failure(
        createGuardClient(config({ baseUrl: strict.baseUrl, model: 'meta-llama/llama-guard-5' })).classify([
          user('x'),
        ]),
      );
      expect(e.kind).toBe('model-not-found');
      expect(e.status).toBe(404);
      expect(e.hint).toContain('meta-llama/llama-guard-5');
    } finally {
      await strict.close();
    }
  });

  it('honours Retry-After and retries 429', async () => {
    server.injectFault({ kind: 'rate-limit', retryAfterSeconds: 1, times: 1 });
    const client = createGuardClient(config({ maxRetries: 2 }));
    const r = await client.classify([user('GLTEST-S6')]);
    expect(r.verdict.categories).toEqual(['S6']);
    expect(server.requests).toHaveLength(2);
    const [first, second] = server.requests;
    expect(first!.status).toBe(429);
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(900);
    expect(second!.headers['x-stainless-retry-count']).toBe('1');
  });

  it('a long Retry-After is not slept on: rate-limited with retryAt', async () => {
    server.injectFault({
      kind: 'rate-limit',
      retryAfterSeconds: Math.ceil(MAX_RETRY_AFTER_WAIT_MS / 1000) + 60,
    });
    const before = Date.now();
    const e = await failure(createGuardClient(config({ maxRetries: 2 })).classify([user('x')]));
    expect(e.kind).toBe('rate-limited');
    expect(e.retryable).toBe(true);
    expect(e.retryAt).toBeGreaterThan(before + MAX_RETRY_AFTER_WAIT_MS);
    expect(e.hint).toMatch(/wait until \d\d:\d\d/);
    expect(Date.now() - before).toBeLessThan(5000);
    expect(server.requests).toHaveLength(1);
  });

  it('500 three times → server error after bounded retries', async () => {
    server.injectFault({ kind: 'status', status: 500, retryAfterSeconds: 0, times: 3 });
    const e = await failure(createGuardClient(config({ maxRetries: 2 })).classify([user('x')]));
    expect(e.kind).toBe('server');
    expect(e.status).toBe(500);
    expect(e.retryable).toBe(true);
    expect(server.requests).toHaveLength(3);
  });

  it('timeout', async () => {
    server.injectFault({ kind: 'timeout', times: 2 });
    const started = Date.now();
    const e = await failure(
      createGuardClient(config({ timeoutMs: 200, maxRetries: 1 })).classify([user('x')]),
    );
    expect(e.kind).toBe('timeout');
    expect(e.cancelled).toBeUndefined();
    expect(e.message).toContain('0.2 s');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(server.requests).toHaveLength(2);
  });

  it('cancelled by the caller', async () => {
    server.injectFault({ kind: 'timeout' });
    const ac = new AbortController();
    const p = createGuardClient(config()).classify([user('x')], { signal: ac.signal });
    await server.waitForRequests(1);
    ac.abort();
    const e = await failure(p);
    expect(e.kind).toBe('timeout');
    expect(e.cancelled).toBe(true);
    expect(e.retryable).toBe(false);
  });

  it('connection reset → unreachable', async () => {
    server.injectFault({ kind: 'reset' });
    const e = await failure(createGuardClient(config()).classify([user('x')]));
    expect(e.kind).toBe('unreachable');
    expect(e.retryable).toBe(true);
  });

  it('connection refused → unreachable', async () => {
    const gone = await startGuardServer();
    const baseUrl = gone.baseUrl;
    await gone.close();
    const e = await failure(createGuardClient(config({ baseUrl })).classify([user('x')]));
    expect(e.kind).toBe('unreachable');
    expect(e.message).toContain(baseUrl);
  });

  it('malformed JSON and missing choices → bad-response', async () => {
    for (const mode of ['chat', 'raw'] as const) {
      server.injectFault({ kind: 'malformed-json' });
      expect((await failure(createGuardClient(config({ mode })).classify([user('x')]))).kind).toBe(
        'bad-response',
      );
      server.injectFault({ kind: 'no-choices' });
      expect((await failure(createGuardClient(config({ mode })).classify([user('x')]))).kind).toBe(
        'bad-response',
      );
    }
  });

  it('an answer that is not a verdict → bad-output, never safe', async () => {
    server.injectFault({ kind: 'not-llama-guard' });
    const e = await failure(createGuardClient(config()).classify([user('x')]));
    expect(e.kind).toBe('bad-output');
    expect(e.toJSON().output).toContain("I'm sorry");
  });

  it('an answer that came back but cannot be used carries the usage the provider bills for it', async () => {
    const client = createGuardClient(
      config({ presetId: 'groq', apiKey: KEY, model: 'meta-llama/llama-guard-4-12b' }),
    );
    for (const kind of ['no-choices', 'not-llama-guard'] as const) {
      server.reset();
      server.injectFault({ kind });
      const e = await failure(client.classify([user('billed anyway')]));
      const served = server.requests[0]!.usage!;
      expect(served.promptTokens).toBeGreaterThan(0);
      expect(answeredUsage(e)).toEqual({
        usage: served,
        costUsd: expect.any(Number),
      });
    }
    for (const kind of ['malformed-json', 'html'] as const) {
      server.injectFault({ kind });
      const e = await failure(client.classify([user('unreadable')]));
      expect(e.kind).toBe('bad-response');
      expect(e.message).toMatch(/not JSON/);
      expect(answeredUsage(e)?.usage).toEqual({ promptTokens: 0, completionTokens: 0 });
    }
    // Failures without an answer carry none.
    server.injectFault({ kind: 'status', status: 500 });
    expect(answeredUsage(await failure(client.classify([user('refused')])))).toBeUndefined();
  });

  it('a web page instead of JSON names what came back', async () => {
    server.injectFault({ kind: 'html' });
    const e = await failure(createGuardClient(config()).classify([user('x')]));
    expect(e.kind).toBe('bad-response');
    expect(e.message).toContain('text/html');
    expect(e.message).toContain('Sign in to the network');
  });

  it('other error bodies keep their message', async () => {
    server.injectFault({
      kind: 'status',
      status: 400,
      body: JSON.stringify({
        object: 'error',
        message: "This model's maximum context length is 8192 tokens.",
      }),
    });
    const e = await failure(createGuardClient(config()).classify([user('x')]));
    expect(e.kind).toBe('too-large');
    expect(e.message).toContain('maximum context length');
    server.injectFault({
      kind: 'status',
      status: 422,
      body: JSON.stringify({ detail: 'prompt: field required' }),
    });
    const e2 = await failure(createGuardClient(config()).classify([user('x')]));
    expect(e2.kind).toBe('config');
    expect(e2.message).toContain('field required');
  });

  it('an Ollama-like endpoint refusing the extension origin → cors with the OLLAMA_ORIGINS hint', async () => {
    const ollama = await startGuardServer({ refuseExtensionOrigins: true });
    try {
      const client = createGuardClient({
        baseUrl: ollama.baseUrl,
        model: 'llama-guard3:1b',
        guardModel: 'llama-guard-3-1b',
        mode: 'chat',
        presetId: 'ollama',
        maxRetries: 0,
        headers: { Origin: 'chrome-extension://pmmobbhmpddpcfiehnfikpngpoikbilp' },
      });
      const e = await failure(client.classify([user('x')]));
      expect(e.kind).toBe('cors');
      expect(e.hint).toContain('OLLAMA_ORIGINS');
      expect(e.hint).toContain('chrome-extension://*,moz-extension://*');
      expect(ollama.requests[0]!.status).toBe(403);
      // Without the extension origin the same server answers.
      const plain = createGuardClient({
        ...config({ baseUrl: ollama.baseUrl }),
        presetId: 'ollama',
        model: 'llama-guard3:1b',
        guardModel: 'llama-guard-3-1b',
      });
      expect((await plain.classify([user('GLTEST-S1')])).verdict.categories).toEqual(['S1']);
    } finally {
      await ollama.close();
    }
  });
});
