/**
 * The scan engine's own sentences: every EngineError a person can read and every waiting reason of the status
 * carries its key and values, and filling the messages file's template with them gives back the English.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { expectInMessages, fromMessages } from '../../test/unit/messages-file';
import { MemoryVerdictStore, VerdictCache } from './cache';
import { ENGINE_TEMPLATES, failingSentence, parseEngineReason } from './engine-text';
import { type EngineOptions, type EngineStatus, ScanEngine } from './scheduler';
import { type Classify, EngineError, MemoryStateStore } from './types';

const URL_A = 'https://news.example/a';
const failure = (kind: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name: 'GuardError', kind, retryable: kind === 'server', ...extra });

function engine(opts: Partial<EngineOptions> = {}, classify?: Classify) {
  return new ScanEngine({
    classify:
      classify ??
      (async () => ({
        verdict: { safe: true, categories: [], unknownCategories: [] },
        usage: { promptTokens: 100, completionTokens: 2 },
        costUsd: 0.001,
        latencyMs: 5,
      })),
    fingerprint: 'llama-guard-4-12b chat',
    cache: new VerdictCache(new MemoryVerdictStore()),
    stateStore: new MemoryStateStore(),
    ...opts,
  });
}

async function refusal(run: () => Promise<unknown>): Promise<EngineError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    return err as EngineError;
  }
  throw new Error('expected an EngineError');
}

const drain = async (rounds = 12) => {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
};

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: new Date(2026, 0, 15, 10, 0, 0) });
});
afterEach(() => vi.useRealTimers());

async function everyEngineError(): Promise<[string, EngineError][]> {
  const prompt = (e: ScanEngine, signal?: AbortSignal) =>
    e.checkPrompt({ tabId: 1, url: URL_A, text: 'a question' }, signal);
  const offline = engine();
  offline.setOnline(false);
  const failing = engine(
    { concurrency: 1, breaker: { failureThreshold: 1, baseBackoffMs: 10_000 } },
    async () => {
      throw failure('server', 'OpenRouter answered 503');
    },
  );
  // The check that meets the failure gets it as it is; the next one is refused at once.
  await prompt(failing).catch(() => undefined);
  const failed = await refusal(() => prompt(failing));
  const limited = engine({ promptMaxWaitMs: 1_000 });
  limited.pauseUntil(Date.now() + 60_000);
  const budget = engine({ dailyBudgetUsd: 0, budgetAppliesToPrompts: true });
  const cancelled = new AbortController();
  cancelled.abort();
  const stopped = engine();
  stopped.dispose();
  const images = engine({ maxImages: 0 });
  const held = engine({}, () => new Promise(() => {}));
  const closing = prompt(held);
  const navigating = held.checkPrompt({ tabId: 2, url: URL_A, text: 'another question' });
  // Until both checks are queued (hashing their text takes a varying number of turns): a tab closed before that
  // refuses its check with the general "dropped" sentence instead.
  const queued = (tabId: number) => (held.tabState(tabId)?.pending ?? 0) > 0;
  for (let i = 0; i < 2000 && !(queued(1) && queued(2)); i++) await drain(1);
  held.dropTab(1);
  held.navigated(2, 'https://news.example/b');
  return [
    ['offline', await refusal(() => prompt(offline))],
    ['failing', failed],
    ['rate limited', await refusal(() => prompt(limited))],
    ['budget', await refusal(() => prompt(budget))],
    ['cancelled', await refusal(() => prompt(engine(), cancelled.signal))],
    ['stopped', await refusal(() => prompt(stopped))],
    [
      'empty',
      await refusal(() =>
        engine().check({
          kind: 'text',
          tabId: 1,
          frameId: 0,
          url: URL_A,
          ref: 'r',
          text: ' ',
          priority: 'page',
        } as never),
      ),
    ],
    [
      'no images',
      await refusal(() =>
        images.check({
          kind: 'image',
          frameId: 0,
          tabId: 1,
          url: URL_A,
          ref: 'i',
          text: '',
          imageUrl: 'https://x.example/a.png',
          priority: 'image',
        } as never),
      ),
    ],
    ['tab closed', await refusal(() => closing)],
    ['tab navigated', await refusal(() => navigating)],
  ];
}

describe('the engine’s sentences by message key', () => {
  it('every EngineError a person can read carries its key and values, saying exactly the English', async () => {
    const seen = new Set<string>();
    for (const [name, error] of await everyEngineError()) {
      expect(error.messageText, `${name}: ${error.message}`).toBeDefined();
      const { key, subs } = error.messageText!;
      expect(fromMessages(key, subs), name).toBe(error.message);
      seen.add(key);
    }
    expect(seen).toEqual(
      new Set([
        'engine_error_offline',
        'engine_error_failing',
        'engine_error_rate_limited',
        'engine_error_budget',
        'engine_error_cancelled',
        'engine_error_stopped',
        'engine_error_empty',
        'engine_error_no_images',
        'engine_error_tab_closed',
        'engine_error_tab_navigated',
      ]),
    );
    const failed = Object.fromEntries(await everyEngineError()).failing!;
    expect(failed.messageText).toEqual({
      key: 'engine_error_failing',
      subs: ['server', 'OpenRouter answered 503'],
    });
    expect(failingSentence(undefined).english).toBe('The endpoint is failing.');
  });

  it('every waiting reason of the status carries its key and values, saying exactly the English', async () => {
    const statuses: [string, EngineStatus][] = [];
    const offline = engine();
    offline.setOnline(false);
    statuses.push(['offline', offline.status()]);
    for (const threshold of [1, 3]) {
      const failing = engine(
        { concurrency: 1, breaker: { failureThreshold: threshold, baseBackoffMs: 10_000 } },
        async () => {
          throw failure('server', 'OpenRouter answered 503');
        },
      );
      await failing.submitBlocks(1, 0, URL_A, [
        { ref: 'a', text: 'first paragraph', priority: 'page' },
        { ref: 'b', text: 'second paragraph', priority: 'page' },
        { ref: 'c', text: 'third paragraph', priority: 'page' },
      ]);
      await drain();
      await vi.advanceTimersByTimeAsync(threshold === 1 ? 0 : 30_000);
      await drain();
      statuses.push([`failing ${threshold}`, failing.status()]);
    }
    const waiting = engine();
    waiting.pauseUntil(Date.now() + 60_000);
    statuses.push(['asked to wait', waiting.status()]);
    const told = engine();
    told.pauseUntil(Date.now() + 60_000, 'The endpoint asked to wait 60 s (HTTP 503).');
    statuses.push(['asked to wait for', told.status()]);
    for (const prompts of [false, true]) {
      const spent = engine({ dailyBudgetUsd: 0.0005, budgetAppliesToPrompts: prompts });
      await spent.checkPrompt({ tabId: 1, url: URL_A, text: 'a question' }).catch(() => undefined);
      statuses.push([`budget ${prompts}`, spent.status()]);
    }
    for (const [name, status] of statuses) {
      expect(status.state, name).not.toBe('ok');
      expect(status.reasonText, name).toBeDefined();
      expect(fromMessages(status.reasonText!.key, status.reasonText!.subs), name).toBe(status.reason);
    }
    expect(statuses[1]![1].reasonText).toEqual({
      key: 'engine_status_failures_one_last',
      subs: ['1', 'server', 'OpenRouter answered 503'],
    });
    expect(statuses.map(([, s]) => s.reasonText!.key)).toContain('engine_status_budget_prompts');
  });

  it('a rate limit the guard client reported is read back as its own sentence', () => {
    expect(parseEngineReason('OpenRouter is rate limiting requests; wait a minute and try again.')).toEqual({
      key: 'error_fix_rate',
      subs: ['OpenRouter'],
    });
    expect(parseEngineReason('Something the engine never said.')).toBeUndefined();
  });

  it('every sentence is in messages.json with the same English as the engine', () => {
    expectInMessages(ENGINE_TEMPLATES);
  });
});
