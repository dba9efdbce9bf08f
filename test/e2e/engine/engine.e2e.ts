/**
 * The background engine end to end, in real Chromium and Firefox against the local Llama Guard test server:
 * a reload answered from the cache, bisection down to the offending blocks, a 429 with Retry-After, the
 * toolbar badge, the API key kept out of `storage.session`, and (Chromium) a service worker stopped mid-scan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, type RecordedRequest, startGuardServer } from '../../server/guard-server';
import {
  BROWSER_NAMES,
  type GuardlensBrowser,
  launchBrowser,
  type PageHandle,
  requireBuild,
  type StaticServer,
  startStaticServer,
  waitFor,
} from '../harness';
import { settledUsage } from '../trust/faults-support';
import { pageHtml, paragraphs, runTag } from './pages';

const API_KEY = 'gl-e2e-engine-key-5b1d07c3';
/** Small chunks and two requests at once, so a page takes several requests (the bisection page still fits one). */
const CHUNK_TOKENS = 600;
const CONCURRENCY = 2;
const settingsFor = (baseUrl: string) => ({
  provider: 'custom',
  baseUrl,
  model: 'llama-guard-test',
  guardModel: 'llama-guard-3-8b',
  requestMode: 'chat',
  chunkTokens: CHUNK_TOKENS,
  concurrency: CONCURRENCY,
});

interface TabStateLike {
  url: string;
  scanned: number;
  pending: number;
  flagged: Array<{ ref: string; kind: string; categories: string[]; snippet: string }>;
  categoryCounts: Record<string, number>;
  errors: number;
  lastError?: string;
  tokens: number;
  costUsd: number;
}

interface EngineSnapshotLike {
  tabs: Record<string, { epoch: number }>;
  today: { requests: number; promptTokens: number; completionTokens: number };
  rateLimitedUntil: number | null;
}

const posts = (guard: GuardServer) => guard.requests.filter((r) => r.method === 'POST');
const complete = (n: number) => (s: TabStateLike) => s.scanned === n && s.pending === 0;

/** Ids of the page's elements marked flagged, in document order. */
const flaggedIds = (page: PageHandle) =>
  page.evaluate(() => [...document.querySelectorAll('[data-guardlens="flagged"]')].map((e) => e.id));

async function engineSnapshot(gl: GuardlensBrowser): Promise<EngineSnapshotLike | undefined> {
  return gl.extensionEval(() =>
    browser.storage.session.get('engine').then((items: Record<string, unknown>) => items.engine ?? null),
  ) as Promise<EngineSnapshotLike | undefined>;
}

function badgeText(gl: GuardlensBrowser, tabId: number): Promise<string> {
  return gl.extensionEval(
    (id: number) => (browser.action ?? browser.browserAction).getBadgeText({ tabId: id }),
    tabId,
  );
}

/** What the extension had and said, for a failure message. */
async function diagnostics(gl: GuardlensBrowser, guard: GuardServer, tabId?: number): Promise<string> {
  const session = await gl
    .extensionEval(() => browser.storage.session.get(null))
    .catch((e: unknown) => `unreadable: ${String(e)}`);
  const log = gl.consoleLog
    .slice(-20)
    .map((e) => `  [${e.type}] ${e.text.slice(0, 300)}`)
    .join('\n');
  const reqs = posts(guard)
    .map((r) => `  #${r.id} ${r.receivedAt}→${r.answeredAt ?? '-'} ${r.status ?? '-'} ${r.output ?? ''}`)
    .join('\n');
  return [
    tabId === undefined ? '' : `Tab ${tabId}`,
    `storage.session: ${JSON.stringify(session).slice(0, 4000)}`,
    `Requests:\n${reqs}`,
    `Console:\n${log}`,
  ].join('\n');
}

/** Reloads a tab the way the person would, whichever library drives it. */
async function reload(page: PageHandle): Promise<void> {
  await (page.raw as { reload(options: { waitUntil: 'load' }): Promise<unknown> }).reload({
    waitUntil: 'load',
  });
}

describe.each(BROWSER_NAMES)('engine: %s', (name) => {
  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;

  /** Serves a page of paragraphs and opens it; returns the page, its tab id and the paragraphs. */
  async function open(path: string, paras: ReturnType<typeof paragraphs>) {
    site.route(path, { body: pageHtml(path, paras), contentType: 'text/html; charset=utf-8' });
    const page = await gl.openPage(site.url(path));
    return { page, tabId: await page.tabId() };
  }

  /** Waits for a tab state, saying what the extension had when it does not come. */
  async function waitForState(tabId: number, predicate: (s: TabStateLike) => boolean, timeoutMs = 30_000) {
    try {
      return (await gl.waitForTabState(tabId, predicate, { timeoutMs })) as TabStateLike;
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await diagnostics(gl, guard, tabId)}`);
    }
  }

  beforeAll(async () => {
    requireBuild(name);
    guard = await startGuardServer({ apiKey: API_KEY, preloadTokenizer: true });
    site = await startStaticServer({ root: null });
    gl = await launchBrowser(name);
    await gl.configure(settingsFor(guard.baseUrl), API_KEY);
  });

  afterAll(async () => {
    await gl?.close();
    await site?.close();
    await guard?.close();
  });

  it('a reload sends nothing new, yet flags the same paragraph again; the badge counts it; the key stays out of storage.session', async () => {
    guard.reset();
    const paras = paragraphs(runTag('reload'), 7, 30, { 3: 'GLTEST-S1' });
    const { page, tabId } = await open('/reload.html', paras);
    try {
      const first = await waitForState(tabId, (s) => complete(7)(s) && s.flagged.length === 1);
      expect(first.flagged[0]).toMatchObject({ kind: 'text', categories: ['S1'] });
      expect(first.flagged[0]!.snippet).toContain(paras[3]!.text.slice(0, 40));
      expect(first.categoryCounts).toEqual({ S1: 1 });
      expect(first.errors).toBe(0);
      expect(first.tokens).toBeGreaterThan(0);
      await page.waitForFunction(() => document.getElementById('p04')?.dataset.guardlens === 'flagged');
      expect(await flaggedIds(page)).toEqual(['p04']);
      await waitFor(async () => (await badgeText(gl, tabId)) === '1', { message: 'the badge to show 1' });
      const sent = posts(guard).length;
      expect(sent).toBeGreaterThan(0);
      for (const r of posts(guard)) expect(r.headers.authorization).toBe(`Bearer ${API_KEY}`);
      // The saved state is written from a timer (at most every 500 ms): it may not hold the tab yet.
      let epochBefore = 0;
      await waitFor(
        async () => {
          epochBefore = (await engineSnapshot(gl))?.tabs[tabId]?.epoch ?? 0;
          return epochBefore > 0;
        },
        { message: 'the saved state to hold the tab' },
      );

      await reload(page);
      await page.waitForFunction(() => document.getElementById('p04')?.dataset.guardlens === 'flagged', {
        timeoutMs: 20_000,
      });
      await waitFor(async () => ((await engineSnapshot(gl))?.tabs[tabId]?.epoch ?? 0) > epochBefore, {
        message: 'the reload to start a new page state',
      });
      const again = await waitForState(tabId, (s) => complete(7)(s) && s.flagged.length === 1);
      expect(again.flagged).toEqual(first.flagged);
      expect(again.tokens).toBe(0); // answered from the cache: nothing spent
      expect(await flaggedIds(page)).toEqual(['p04']);
      await waitFor(async () => (await badgeText(gl, tabId)) === '1', {
        message: 'the badge to show 1 again',
      });
      expect(posts(guard)).toHaveLength(sent);

      // The key is in storage.local only: nothing in storage.session holds it.
      const session = await gl.extensionEval(() => browser.storage.session.get(null));
      expect(Object.keys(session)).toContain(`tab:${tabId}`);
      expect(JSON.stringify(session)).not.toContain(API_KEY);
      expect(JSON.stringify(session)).not.toContain('gl-e2e-engine-key');
    } finally {
      await page.close();
    }
  });

  it('narrows a flagged chunk down to exactly its two offending paragraphs, within the search bound', async () => {
    guard.reset();
    const n = 16;
    const offending = { 4: 'GLTEST-S1', 11: 'GLTEST-S1' };
    const paras = paragraphs(runTag('bisect'), n, 12, offending);
    const { page, tabId } = await open('/bisect.html', paras);
    try {
      const state = await waitForState(tabId, complete(n));
      // The first round held all sixteen paragraphs: the viewport spread over the free slots.
      const requests = posts(guard);
      const first = requests
        .slice(0, CONCURRENCY)
        .map((r) => r.text ?? '')
        .join('\n');
      for (const p of paras) expect(first).toContain(p.text);
      // The parallel search cuts a flagged chunk `concurrency` ways at a time: for k offending blocks among n, at
      // most k·ways·⌈log_ways n⌉ requests beyond the first round.
      const k = Object.keys(offending).length;
      const ways = CONCURRENCY;
      const depth = Math.ceil(Math.log(n) / Math.log(ways));
      expect(requests.length).toBeLessThanOrEqual(CONCURRENCY + k * ways * depth);
      expect(requests.length).toBeGreaterThan(1);
      expect(state.flagged).toHaveLength(2);
      expect(state.flagged.every((f) => f.categories.join() === 'S1')).toBe(true);
      expect(state.flagged.map((f) => f.snippet.slice(0, 40)).sort()).toEqual(
        [paras[4]!.text.slice(0, 40), paras[11]!.text.slice(0, 40)].sort(),
      );
      expect(state.categoryCounts).toEqual({ S1: 2 });
      await page.waitForFunction(() => document.querySelectorAll('[data-guardlens="flagged"]').length === 2);
      expect(await flaggedIds(page)).toEqual(['p05', 'p12']);
      await waitFor(async () => (await badgeText(gl, tabId)) === '2', { message: 'the badge to show 2' });
    } finally {
      await page.close();
    }
  });

  it('waits out a 429 Retry-After — the client retrying and the engine sending nothing else — then classifies everything', async () => {
    guard.reset();
    // With some latency, an engine that ignored the pause would send its next chunks well inside the 2 s.
    guard.setLatency(300);
    guard.injectFault({ kind: 'rate-limit', retryAfterSeconds: 2 });
    const n = 24;
    const paras = paragraphs(runTag('rate'), n, 90);
    const { page, tabId } = await open('/rate-limit.html', paras);
    try {
      // The engine's own state says it is waiting, and until when (checked below).
      const paused = waitFor(
        async () => {
          const snap = await engineSnapshot(gl);
          return snap?.rateLimitedUntil ? snap : undefined;
        },
        { message: 'the engine to record the rate limit', timeoutMs: 15_000, intervalMs: 50 },
      );
      const state = await waitForState(tabId, complete(n));
      expect(state.errors).toBe(0); // the client waited and retried: no request failed for good

      const requests = posts(guard);
      const refused = requests.find((r) => r.status === 429)!;
      expect(refused).toBeDefined();
      expect(requests.filter((r) => r.status === 429)).toHaveLength(1);
      const retryAfterEnds = refused.answeredAt! + 2_000;
      // Requests already on their way when the 429 was answered may arrive just after it; nothing sent later
      // arrives before the Retry-After has passed.
      const early = requests.filter(
        (r) => r.receivedAt > refused.answeredAt! + 50 && r.receivedAt < retryAfterEnds - 10,
      );
      expect(early.map((r) => `#${r.id} at +${r.receivedAt - refused.answeredAt!} ms`)).toEqual([]);
      // The refused chunk went again (the client's retry) and there was more to send after it.
      const after = requests.filter((r) => r.receivedAt >= retryAfterEnds - 10);
      const sameBody = (r: RecordedRequest) => JSON.stringify(r.body) === JSON.stringify(refused.body);
      expect(after.filter(sameBody)).toHaveLength(1);
      expect(after.length).toBeGreaterThan(1);
      // Every paragraph was classified by a request that was answered.
      for (const p of paras) {
        expect(requests.some((r) => r.status === 200 && r.text?.includes(p.text))).toBe(true);
      }
      expect((await paused).rateLimitedUntil!).toBeGreaterThanOrEqual(retryAfterEnds - 10);
      await waitFor(async () => (await engineSnapshot(gl))?.rateLimitedUntil === null, {
        message: 'the rate limit to be over in the saved state',
      });
    } finally {
      guard.setLatency(0);
      await page.close();
    }
  });

  it.runIf(name === 'chromium')(
    'a service worker stopped mid-scan loses nothing: each paragraph gets its verdict once, usage is counted once, tab state and badge survive',
    async () => {
      const controls = gl.chromium!;
      guard.reset();
      // A finished page with a flagged paragraph, whose state and badge must survive the restart.
      const kept = await open('/kept.html', paragraphs(runTag('kept'), 3, 20, { 1: 'GLTEST-S9' }));
      const keptState = await waitForState(kept.tabId, (s) => complete(3)(s) && s.flagged.length === 1);
      await waitFor(async () => (await badgeText(gl, kept.tabId)) === '1', {
        message: 'the badge to show 1',
      });

      const before = await settledUsage(gl);
      guard.reset();
      guard.setLatency(3_000);
      const n = 30;
      const paras = paragraphs(runTag('restart'), n, 90);
      const { page, tabId } = await open('/restart.html', paras);
      try {
        // Stop once a second round is under way, at a moment clear of answers: the last one came at least
        // 1,000 ms ago (so the worker has recorded and saved it), the next is at least 1,500 ms away (so none is
        // half-received while the worker stops). Margins wide enough for a machine under load: with 1,500 ms of
        // latency and half these margins, a slow stop now and then let an answer arrive as the worker went away.
        await guard.waitForRequests(2 * CONCURRENCY, 30_000);
        await waitFor(
          () => {
            const now = Date.now();
            const all = posts(guard);
            const inFlight = all.filter((r) => r.answeredAt === undefined);
            const lastAnswer = Math.max(...all.map((r) => r.answeredAt ?? 0));
            return (
              inFlight.length > 0 &&
              inFlight.every((r) => now - r.receivedAt <= 1_500) &&
              now - lastAnswer >= 1_000
            );
          },
          {
            message: 'a moment clear of answers, with requests in flight',
            intervalMs: 20,
            timeoutMs: 20_000,
          },
        );
        const stopAt = Date.now();
        await controls.stopServiceWorker();
        const stoppedAt = Date.now();
        const midway = (await gl.tabState(tabId)) as TabStateLike;
        expect(midway.scanned).toBeGreaterThan(0);
        expect(midway.scanned).toBeLessThan(n);
        // Nothing runs now; the resume alarm wakes the worker (every 30 s while work is pending).
        const alarm = await gl.extensionEval(() => browser.alarms.get('guardlens-resume'));
        expect(alarm).toMatchObject({ periodInMinutes: 0.5 });

        const state = await waitForState(tabId, complete(n), 60_000);
        expect(controls.serviceWorkerStatus()).toBe('running');
        expect(state.errors, state.lastError).toBe(0);
        expect(state.flagged).toEqual([]);
        expect(await badgeText(gl, tabId)).toBe('');

        // The server's view: a paragraph is sent again only when no answer for it had reached the worker.
        const requests = posts(guard);
        const answered = (r: RecordedRequest) => r.status === 200 && r.answeredAt !== undefined;
        const lost = requests.filter((r) => !answered(r));
        expect(lost.length).toBeGreaterThan(0); // the stop did cut requests off
        expect(lost.every((r) => r.receivedAt < stoppedAt)).toBe(true);
        expect(
          requests.filter(
            (r) => answered(r) && r.answeredAt! >= stopAt - 1_000 && r.answeredAt! <= stoppedAt,
          ),
        ).toEqual([]);
        for (const p of paras) {
          const withP = requests.filter((r) => r.text?.includes(p.text));
          const answers = withP.filter(answered);
          expect(answers, `${p.id} answered`).toHaveLength(1);
          expect(
            withP.filter((r) => r.receivedAt > answers[0]!.answeredAt!),
            `${p.id} sent again`,
          ).toEqual([]);
        }
        // Usage: every answered request counted once, none twice, across the restart.
        const after = await settledUsage(gl);
        expect(after.requests - before.requests).toBe(requests.filter(answered).length);
        expect(state.tokens).toBe(
          after.promptTokens + after.completionTokens - before.promptTokens - before.completionTokens,
        );

        // The other tab's state and badge came through the restart unchanged.
        expect(await gl.tabState(kept.tabId)).toEqual(keptState);
        expect(await badgeText(gl, kept.tabId)).toBe('1');

        // The new worker has no verdict in memory: reloading the other tab is answered from IndexedDB.
        const sent = posts(guard).length;
        await reload(kept.page);
        await kept.page.waitForFunction(
          () => document.getElementById('p02')?.dataset.guardlens === 'flagged',
          { timeoutMs: 20_000 },
        );
        const reloaded = await waitForState(kept.tabId, (s) => complete(3)(s) && s.flagged.length === 1);
        expect(reloaded.flagged).toEqual(keptState.flagged);
        expect(reloaded.tokens).toBe(0);
        expect(posts(guard)).toHaveLength(sent);
      } finally {
        guard.setLatency(0);
        await page.close();
        await kept.page.close();
      }
    },
    120_000,
  );

  it('reached for nothing but loopback', () => {
    expect(gl.unexpectedBlocked()).toEqual([]);
  });
});
