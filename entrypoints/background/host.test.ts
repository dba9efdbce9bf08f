/**
 * The engine host over WXT's fake browser and the local Llama Guard test server: per-tab state in
 * `storage.session` and the badge, the API key kept out of `storage.session`, the status the popup reads,
 * the resume alarm, a `Retry-After` the client waits out, the managed policy read at start-up, and tabs that
 * closed while no background ran.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { MemoryVerdictStore } from '@/lib/engine/cache';
import type { TabState } from '@/lib/engine/types';
import { type GuardServer, startGuardServer } from '../../test/server/guard-server';
import {
  ENGINE_TUNING_KEY,
  EngineHost,
  RESUME_ALARM,
  RESUME_PERIOD_MINUTES,
  readEngineTuning,
  TAB_PUBLISH_MS,
} from './host';

const KEY = 'gl-unit-host-key-41d9e2';
const URL_A = 'https://news.example/a';

let server: GuardServer;
const hosts: EngineHost[] = [];

beforeAll(async () => {
  server = await startGuardServer({ apiKey: KEY, preloadTokenizer: true });
});
afterAll(async () => {
  await server?.close();
});

beforeEach(async () => {
  fakeBrowser.reset();
  server.reset();
  await fakeBrowser.storage.local.set({
    settings: {
      provider: 'custom',
      baseUrl: server.baseUrl,
      model: 'llama-guard-test',
      guardModel: 'llama-guard-3-8b',
      requestMode: 'chat',
      concurrency: 1,
    },
    apiKey: KEY,
  });
});

afterEach(() => {
  for (const h of hosts.splice(0)) h.dispose();
  vi.restoreAllMocks();
});

async function createHost(): Promise<EngineHost> {
  const h = await EngineHost.create({ verdictStore: new MemoryVerdictStore() });
  hosts.push(h);
  return h;
}

/** Polls until `probe` gives something truthy (the host works through promises and storage events). */
async function until<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sessionTab = async (tabId: number) =>
  (await fakeBrowser.storage.session.get(`tab:${tabId}`))[`tab:${tabId}`] as TabState | undefined;

describe('EngineHost', () => {
  it('publishes each tab state to storage.session and the badge, and never puts the key there', async () => {
    const h = await createHost();
    expect(h.notConfigured()).toBeNull();
    await h.engine.submitBlocks(7, 0, URL_A, [
      { ref: 'b1', text: 'The ducks swim in the pond every morning.', priority: 'viewport' },
      { ref: 'b2', text: 'GLTEST-S1 a paragraph the test server flags.', priority: 'viewport' },
      { ref: 'b3', text: 'The bakery opens at seven.', priority: 'viewport' },
    ]);
    const state = await until(async () => {
      const s = await sessionTab(7);
      return s && s.scanned === 3 && s.pending === 0 ? s : undefined;
    }, 'the tab state');
    expect(state.flagged).toEqual([
      {
        frameId: 0,
        ref: 'b2',
        kind: 'text',
        categories: ['S1'],
        snippet: 'GLTEST-S1 a paragraph the test server flags.',
      },
    ]);
    expect(state.categoryCounts).toEqual({ S1: 1 });
    expect(state.tokens).toBeGreaterThan(0);
    await until(async () => (await fakeBrowser.action.getBadgeText({ tabId: 7 })) === '1', 'the badge');
    expect(await fakeBrowser.action.getBadgeText({ tabId: 8 })).toBe('');
    for (const r of server.requests) expect(r.headers.authorization).toBe(`Bearer ${KEY}`);

    const session = JSON.stringify(await fakeBrowser.storage.session.get(null));
    expect(session).toContain('"tab:7"');
    expect(session).not.toContain(KEY);

    h.engine.dropTab(7);
    await until(async () => (await sessionTab(7)) === undefined, 'the closed tab to be forgotten');
  });

  it('saves a busy tab state at most once per TAB_PUBLISH_MS, ending with the last one', async () => {
    const h = await createHost();
    const set = vi.spyOn(fakeBrowser.storage.session, 'set');
    const start = Date.now();
    for (let i = 0; i < 12; i++) {
      await h.engine.submitBlocks(12, 0, URL_A, [
        { ref: `b${i}`, text: `Paragraph ${i} about the weather in the hills.`, priority: 'viewport' },
      ]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await until(async () => (await sessionTab(12))?.scanned === 12, 'every block scanned');
    const took = Date.now() - start;
    const saves = set.mock.calls.filter(([items]) => 'tab:12' in (items as object)).length;
    set.mockRestore();
    // The engine reported the tab after each of the 12 submits and each answer.
    expect(saves).toBeGreaterThan(0);
    expect(saves).toBeLessThanOrEqual(Math.ceil(took / TAB_PUBLISH_MS) + 1);
    expect((await sessionTab(12))!.pending).toBe(0);
  });

  it('reports the engine status with why nothing can be scanned, and keeps h.engine.status() and h.endpoint', async () => {
    const h = await createHost();
    expect(h.status()).toMatchObject({ state: 'ok', pending: 0, inFlight: 0, notConfigured: null });
    expect(h.status().today).toMatchObject({ requests: 0 });
    await h.engine.submitBlocks(1, 0, URL_A, [{ ref: 'b1', text: 'A quiet street.', priority: 'page' }]);
    await until(() => h.engine.status().today.requests === 1, 'one request');
    expect(h.status().today.requests).toBe(1);
    expect(h.endpoint.lastLatencyMs).toBeGreaterThanOrEqual(0);

    await fakeBrowser.storage.local.set({ apiKey: '' });
    const settings = (await fakeBrowser.storage.local.get('settings')).settings as Record<string, unknown>;
    await fakeBrowser.storage.local.set({ settings: { ...settings, provider: 'openrouter', baseUrl: '' } });
    const missing = await until(() => h.status().notConfigured, 'the missing key to show');
    expect(missing).toMatch(/API key/);
  });

  it('waits out a Retry-After the client retries itself: the engine is paused, the status says until when', async () => {
    const h = await createHost();
    server.injectFault({ kind: 'rate-limit', retryAfterSeconds: 1 });
    const started = Date.now();
    await h.engine.submitBlocks(2, 0, URL_A, [
      { ref: 'b1', text: 'First paragraph about the harbour.', priority: 'page' },
    ]);
    const paused = await until(
      () => (h.status().state === 'rate-limited' ? h.status() : undefined),
      'a pause',
    );
    expect(paused.until).toBeGreaterThanOrEqual(started + 1_000);
    expect(paused.until).toBeLessThanOrEqual(Date.now() + 1_000);
    expect(paused.reason).toMatch(/wait 1 s \(HTTP 429\)/);
    // Something submitted meanwhile waits for the pause too.
    await h.engine.submitBlocks(2, 0, URL_A, [
      { ref: 'b2', text: 'Second paragraph, about the ferry.', priority: 'page' },
    ]);
    await until(async () => (await sessionTab(2))?.scanned === 2, 'both verdicts', 15_000);
    const posts = server.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.status)).toEqual([429, 200, 200]);
    expect(posts[1]!.receivedAt).toBeGreaterThanOrEqual(posts[0]!.answeredAt! + 1_000);
    expect(posts[2]!.receivedAt).toBeGreaterThanOrEqual(posts[0]!.answeredAt! + 1_000);
    expect((await sessionTab(2))!.errors).toBe(0);
    expect(h.status().state).toBe('ok');
  });

  it('starts the last latency and error afresh when the endpoint settings change, and only then', async () => {
    const h = await createHost();
    server.injectFault({ kind: 'status', status: 401 });
    await h.engine.submitBlocks(5, 0, URL_A, [{ ref: 'b1', text: 'Refused first.', priority: 'page' }]);
    await until(() => h.endpoint.lastError, 'the refusal to be recorded');
    expect(h.endpoint.lastError).toMatchObject({ kind: 'auth', status: 401 });
    // Not an endpoint setting: both stay.
    const { settings } = (await fakeBrowser.storage.local.get('settings')) as {
      settings: Record<string, unknown>;
    };
    await fakeBrowser.storage.local.set({ settings: { ...settings, pausedSites: ['other.example'] } });
    await until(() => h.state.settings.pausedSites.length === 1, 'the new settings');
    expect(h.endpoint.lastError?.kind).toBe('auth');
    // Another model: the refusal was the old endpoint's; the item goes again and succeeds.
    await fakeBrowser.storage.local.set({ settings: { ...settings, model: 'llama-guard-other' } });
    await until(() => h.state.settings.model === 'llama-guard-other', 'the new model');
    expect(h.endpoint.lastError).toBeUndefined();
    const latency = await until(
      () => h.endpoint.lastLatencyMs !== undefined,
      'a latency from the new endpoint',
    );
    expect(latency).toBe(true);
    expect(h.endpoint.lastError).toBeUndefined();
    // Another base URL: the latency was the old endpoint's.
    await fakeBrowser.storage.local.set({
      settings: { ...settings, model: 'llama-guard-other', baseUrl: `http://localhost:${server.port}/v1` },
    });
    await until(() => h.state.settings.baseUrl.includes('localhost'), 'the new base URL');
    expect(h.endpoint.lastLatencyMs).toBeUndefined();
    expect(h.status().state).toBe('ok');
  }, 20_000);

  it('says when the browser gives no access to the endpoint, and starts afresh once access is granted', async () => {
    // The fake browser has no permissions API: Guardlens' access to the endpoint's site, as the browser says.
    let granted = false;
    const contains = vi.fn(async ({ origins }: { origins: string[] }) => {
      expect(origins).toEqual(['http://127.0.0.1/*']);
      return granted;
    });
    const fake = fakeBrowser as unknown as Record<string, unknown>;
    fake.permissions = { contains, resetState() {} };
    try {
      const h = await createHost();
      // A connection cut off is what a request the browser does not allow looks like (no status, no body).
      server.injectFault({ kind: 'reset', times: 100 });
      await h.engine.submitBlocks(5, 0, URL_A, [{ ref: 'b1', text: 'No access yet.', priority: 'page' }]);
      await until(() => h.endpoint.lastError, 'the failure to be recorded');
      expect(h.endpoint.lastError).toMatchObject({
        kind: 'no-access',
        retryable: false,
        messageText: { key: 'error_detail_no_access', subs: [`127.0.0.1:${server.port}`, server.baseUrl] },
        hintText: { key: 'error_fix_no_access', subs: [`http://127.0.0.1:${server.port}`] },
      });
      expect(h.status().state).toBe('circuit-open');
      // The grant starts the endpoint afresh at once (not at the circuit breaker's next probe).
      server.clearFaults();
      granted = true;
      h.originsGranted();
      await until(async () => (await sessionTab(5))?.scanned === 1, 'the block checked after the grant');
      expect(h.endpoint.lastError).toBeUndefined();
      // With access, a cut connection is what it is: unreachable; and a grant leaves that failure alone.
      server.injectFault({ kind: 'reset', times: 100 });
      await h.engine.submitBlocks(5, 0, URL_A, [
        { ref: 'b2', text: 'Access granted now.', priority: 'page' },
      ]);
      await until(() => h.endpoint.lastError, 'the second failure');
      expect(h.endpoint.lastError?.kind).toBe('unreachable');
      h.originsGranted();
      expect(h.endpoint.lastError?.kind).toBe('unreachable');
    } finally {
      server.clearFaults();
      delete fake.permissions;
    }
  }, 20_000);

  it('takes timing from engineTuning, ignoring values out of range', async () => {
    expect(readEngineTuning({ timeoutMs: 2_000, breakerBaseBackoffMs: 50, rateLimitWaitMs: 'soon' })).toEqual(
      {
        timeoutMs: 2_000,
      },
    );
    expect(readEngineTuning(null)).toEqual({});
    expect(readEngineTuning({ strategy: 'halving' })).toEqual({ strategy: 'halving' });
    expect(readEngineTuning({ strategy: 'fastest' })).toEqual({});
    await fakeBrowser.storage.local.set({ [ENGINE_TUNING_KEY]: { timeoutMs: 600 } });
    const h = await createHost();
    server.injectFault({ kind: 'timeout', times: 10 });
    const started = Date.now();
    await h.engine.submitBlocks(6, 0, URL_A, [{ ref: 'b1', text: 'Held by the server.', priority: 'page' }]);
    const error = await until(() => h.endpoint.lastError, 'the timeout', 15_000);
    expect(error).toMatchObject({ kind: 'timeout' });
    expect(error.message).toMatch(/within 0\.6 s/);
    // Three attempts of 0.6 s (the client retries twice), well inside the default 30 s of one.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(3);
  });

  it('keeps a resume alarm while work is pending and clears it when there is none', async () => {
    server.setLatency(300);
    try {
      const h = await createHost();
      await h.engine.submitBlocks(3, 0, URL_A, [{ ref: 'b1', text: 'A long walk.', priority: 'page' }]);
      const alarm = await until(() => fakeBrowser.alarms.get(RESUME_ALARM), 'the resume alarm');
      expect(alarm.periodInMinutes).toBe(RESUME_PERIOD_MINUTES);
      expect(alarm.scheduledTime).toBeGreaterThanOrEqual(Date.now() + 25_000);
      await until(async () => (await fakeBrowser.alarms.get(RESUME_ALARM)) === undefined, 'the alarm to go');
      // The tab's state is saved from a timer, shortly after.
      await until(async () => (await sessionTab(3))?.scanned === 1, 'the tab state saved');
    } finally {
      server.setLatency(0);
    }
  });

  it('schedules the alarm at the end of a long pause', async () => {
    const h = await createHost();
    await h.engine.submitBlocks(4, 0, URL_A, [{ ref: 'b1', text: 'Held back.', priority: 'page' }]);
    const until5min = Date.now() + 5 * 60_000;
    h.engine.pauseUntil(until5min, 'test');
    await h.engine.submitBlocks(4, 0, URL_A, [{ ref: 'b2', text: 'Also held back.', priority: 'page' }]);
    const alarm = await until(async () => {
      const a = await fakeBrowser.alarms.get(RESUME_ALARM);
      return a && a.scheduledTime === until5min ? a : undefined;
    }, 'the alarm at the end of the pause');
    expect(alarm.periodInMinutes).toBe(RESUME_PERIOD_MINUTES);
  });

  it('waits for a managed policy Chrome answers late at start-up, instead of starting without it', async () => {
    await fakeBrowser.storage.local.clear();
    await fakeBrowser.storage.managed.set({
      provider: 'custom',
      baseUrl: server.baseUrl,
      model: 'policy-model',
      guardModel: 'llama-guard-3-8b',
      apiKey: KEY,
      lockSettings: true,
    });
    // As in Chrome at start-up: no read is answered before the policy has loaded, longer than the settings
    // store waits for one.
    const get = fakeBrowser.storage.managed.get.bind(fakeBrowser.storage.managed);
    const loaded = Date.now() + 1_600;
    vi.spyOn(fakeBrowser.storage.managed, 'get').mockImplementation(((keys?: unknown) => {
      const answer = get(keys as never);
      const wait = loaded - Date.now();
      return wait > 0 ? new Promise((resolve) => setTimeout(() => resolve(answer), wait)) : answer;
    }) as typeof fakeBrowser.storage.managed.get);
    const h = await createHost();
    expect(h.notConfigured()).toBeNull();
    expect(h.state.settings).toMatchObject({ baseUrl: server.baseUrl, model: 'policy-model' });
    expect(h.state.apiKey).toBe(KEY);
    expect(h.state.locked.has('baseUrl')).toBe(true);
  });

  /** As in Chrome at start-up: the managed area answers nothing for `ms`. */
  function managedAnswersLate(ms: number): void {
    const get = fakeBrowser.storage.managed.get.bind(fakeBrowser.storage.managed);
    const loaded = Date.now() + ms;
    vi.spyOn(fakeBrowser.storage.managed, 'get').mockImplementation(((keys?: unknown) => {
      const answer = get(keys as never);
      const wait = loaded - Date.now();
      return wait > 0 ? new Promise((resolve) => setTimeout(() => resolve(answer), wait)) : answer;
    }) as typeof fakeBrowser.storage.managed.get);
  }

  it('starts at once where no policy was ever seen and the endpoint is set, however late the managed area answers', async () => {
    managedAnswersLate(2_500);
    const started = Date.now();
    const h = await createHost();
    // The settings store gives the managed area half a second; the host adds no wait of its own.
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(h.notConfigured()).toBeNull();
    expect(h.state.settings.baseUrl).toBe(server.baseUrl);
  });

  it('waits for the late policy of a browser whose managed area held one when it last answered', async () => {
    await fakeBrowser.storage.local.set({ policySeen: true });
    await fakeBrowser.storage.managed.set({ model: 'policy-model', lockSettings: true });
    managedAnswersLate(1_600);
    const h = await createHost();
    expect(h.state.settings.model).toBe('policy-model');
    expect(h.state.locked.has('model')).toBe(true);
  });

  it('remembers whether the managed area held a policy, and forgets it once the policy is gone', async () => {
    await fakeBrowser.storage.managed.set({ model: 'policy-model' });
    await createHost();
    await until(async () => (await fakeBrowser.storage.local.get('policySeen')).policySeen === true, 'seen');
    await fakeBrowser.storage.managed.clear();
    await createHost();
    await until(async () => (await fakeBrowser.storage.local.get('policySeen')).policySeen === false, 'gone');
  });

  it('forgets the state of tabs that closed while no background was running', async () => {
    const a = await createHost();
    const open = await fakeBrowser.tabs.create({ url: URL_A });
    await a.engine.submitBlocks(open.id!, 0, URL_A, [{ ref: 'b1', text: 'Still open.', priority: 'page' }]);
    await a.engine.submitBlocks(99, 0, URL_A, [{ ref: 'b1', text: 'Closed meanwhile.', priority: 'page' }]);
    await until(async () => (await sessionTab(99))?.scanned === 1, 'tab 99 scanned');
    await until(async () => (await sessionTab(open.id!))?.scanned === 1, 'the open tab scanned');
    await a.engine.flush();
    a.dispose();

    const b = await createHost();
    expect(b.engine.tabIds()).toEqual([open.id]);
    await until(async () => (await sessionTab(99)) === undefined, 'tab 99 to be forgotten');
    expect(await sessionTab(open.id!)).toMatchObject({ scanned: 1 });
  });
});
