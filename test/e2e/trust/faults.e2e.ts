/**
 * The endpoint fault matrix, in real Chromium and Firefox against the local Llama Guard test server: 401, 403,
 * 404 (model), 413, 429 with and without Retry-After, 500, 502, 503, a timeout, connection refused, a body that
 * is not JSON (truncated JSON, an HTML page), JSON without choices, and an answer that is not Llama Guard's.
 *
 * For each, on a page of four paragraphs (one with `GLTEST-S1`), while the fault lasts:
 * (a) the popup (`popup.html?tabId=N`, its visible text) names the problem and its fix;
 * (b) retries are bounded and spaced: from the server's request log, every paragraph's consecutive attempts are at
 *     least 300 ms apart (the client's own retries wait 0.5 s and 1 s, the circuit breaker 1 s, then twice as
 *     long each time), so a paragraph is tried at most once per 300 ms, and never more than 12 times in the window;
 *     the items stay pending (the popup counts them) — none is marked safe, none is given up;
 * then the fault clears (for a refused key, a forbidden key or an unknown model, which do not clear by
 * themselves, the person changes the endpoint settings) and:
 * (c) every paragraph gets its verdict — the flagged one flagged on the page, the others not;
 * (d) nothing is counted twice: the engine's usage today went up by exactly the answers the server gave with
 *     HTTP 200 (billable, even when the body was unusable) and the tokens they reported, the tab's tokens equal
 *     those answers' tokens, and each paragraph was classified successfully exactly once.
 * Separately: an answer that arrives after its tab closed (no crash, counted once, nothing delivered to the closed
 * tab, cached so reopening the page sends nothing), and (Chromium, whose MV3 service worker can be stopped;
 * Firefox's MV2 background page is persistent) the same assertions with the worker stopped in the middle: during
 * the circuit breaker's wait after 503s, and while a request is held past its timeout.
 *
 * Both browsers run every fault, each on one browser and one endpoint reset per case (new settings, a new model
 * id), so the whole list costs Firefox about as much as Chromium. Prompt checks under faults are in
 * `faults-prompts.e2e.ts`. Timings are shortened through `engineTuning` (`faults-support.ts`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import { pageHtml, paragraphs, runTag } from '../engine/pages';
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
import {
  API_KEY,
  attemptsOf,
  billable,
  classified,
  type DayUsageLike,
  FAULTS,
  type FaultCase,
  gaps,
  modelInUse,
  popupText,
  posts,
  savedUsage,
  settingsFor,
  settledUsage,
  TUNING,
  tokensOf,
  waitForPopup,
} from './faults-support';

const N = 4;
const FLAGGED_INDEX = 1;
/** How long each fault is watched before it clears. */
const WINDOW_MS = 2_500;
const MIN_GAP_MS = 300;
const MAX_ATTEMPTS_IN_WINDOW = 12;

interface TabStateLike {
  scanned: number;
  pending: number;
  errors: number;
  flagged: Array<{ ref: string; categories: string[] }>;
  tokens: number;
}

describe.each(BROWSER_NAMES)('endpoint faults: %s', (name) => {
  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;
  /** The model id in the settings now: each case starts with a new one, and a "settings" recovery switches it. */
  let model = 'llama-guard-test';
  let models = 0;

  /**
   * New endpoint settings (another model id), as the person would save them: the background starts the endpoint
   * afresh (circuit breaker, rate limit, last error), so each case starts from a clean endpoint.
   */
  async function freshEndpoint(): Promise<void> {
    model = `llama-guard-test-${++models}`;
    await gl.configure(settingsFor(guard.baseUrl, model), API_KEY);
    await waitFor(async () => (await modelInUse(gl)) === model, {
      message: `the background to use ${model}`,
    });
  }

  /** Opens a page of N paragraphs (one flagged) and its popup. */
  async function openCase(tag: string) {
    const paras = paragraphs(runTag(tag.replace(/\W+/g, '')), N, 110, { [FLAGGED_INDEX]: 'GLTEST-S1' });
    const path = `/${tag.replace(/\W+/g, '-')}.html`;
    site.route(path, { body: pageHtml(path, paras), contentType: 'text/html; charset=utf-8' });
    const page = await gl.openPage(site.url(path));
    const tabId = await page.tabId();
    const popup = await gl.openExtensionPage(`/popup.html?tabId=${tabId}`);
    return { paras, page, tabId, popup };
  }

  async function diagnostics(tabId: number): Promise<string> {
    const state = await gl.tabState(tabId).catch(() => undefined);
    const reqs = posts(guard)
      .map(
        (r) => `  #${r.id} +${r.receivedAt % 100_000} ${r.status ?? '-'} ${r.fault ?? ''} ${r.output ?? ''}`,
      )
      .join('\n');
    const log = gl.consoleLog
      .slice(-10)
      .map((e) => `  [${e.type}] ${e.text.slice(0, 200)}`)
      .join('\n');
    return `state: ${JSON.stringify(state)}\nrequests:\n${reqs}\nconsole:\n${log}`;
  }

  async function waitForState(tabId: number, predicate: (s: TabStateLike) => boolean, timeoutMs = 30_000) {
    try {
      return (await gl.waitForTabState(tabId, predicate, { timeoutMs })) as TabStateLike;
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await diagnostics(tabId)}`);
    }
  }

  /** (b): every paragraph's attempts so far are spaced and bounded. */
  function expectSpacedAndBounded(paras: ReturnType<typeof paragraphs>): number {
    let total = 0;
    for (const p of paras) {
      const attempts = attemptsOf(guard, p);
      total += attempts.length;
      expect(attempts.length, `${p.id} attempts`).toBeLessThanOrEqual(MAX_ATTEMPTS_IN_WINDOW);
      const tooClose = gaps(attempts).filter((g) => g < MIN_GAP_MS);
      expect(tooClose, `${p.id}: gaps between attempts ${gaps(attempts).join(', ')} ms`).toEqual([]);
    }
    return total;
  }

  /** (c) and (d) once the fault is over. */
  async function expectRecovered(
    c: { paras: ReturnType<typeof paragraphs>; page: PageHandle; tabId: number },
    before: DayUsageLike,
  ): Promise<void> {
    const state = await waitForState(c.tabId, (s) => s.scanned === N && s.pending === 0, 45_000);
    expect(state.flagged.map((f) => f.categories)).toEqual([['S1']]);
    await c.page.waitForFunction(
      (id: string) => document.getElementById(id)?.dataset.guardlens === 'flagged',
      { timeoutMs: 10_000 },
      c.paras[FLAGGED_INDEX]!.id,
    );
    const flaggedIds = await c.page.evaluate(() =>
      [...document.querySelectorAll('[data-guardlens="flagged"]')].map((e) => e.id),
    );
    expect(flaggedIds).toEqual([c.paras[FLAGGED_INDEX]!.id]);
    // Each paragraph classified successfully exactly once.
    for (const p of c.paras) {
      expect(attemptsOf(guard, p).filter(classified), `${p.id} classified`).toHaveLength(1);
    }
    // Usage: exactly the billable answers, once each (the saved state is written a moment after).
    const served = posts(guard).filter(billable);
    const tokens = served.reduce((n, r) => n + tokensOf(r), 0);
    const want = {
      requests: before.requests + served.length,
      tokens: before.promptTokens + before.completionTokens + tokens,
    };
    let got: DayUsageLike | undefined;
    await waitFor(
      async () => {
        got = await savedUsage(gl);
        // A run that crosses midnight starts a new day's usage, holding only what was served since: the exact
        // count is then unknown here, and the tab's own count below still holds.
        if (got.day !== before.day && got.requests <= served.length) return true;
        return got.requests === want.requests && got.promptTokens + got.completionTokens === want.tokens;
      },
      { timeoutMs: 5_000, message: 'the saved usage to match what the server served' },
    ).catch(() => {
      expect({
        requests: got?.requests,
        tokens: (got?.promptTokens ?? 0) + (got?.completionTokens ?? 0),
      }).toEqual(want);
    });
    expect((await gl.tabState(c.tabId)).tokens).toBe(tokens);
  }

  beforeAll(async () => {
    requireBuild(name);
    guard = await startGuardServer({ apiKey: API_KEY, preloadTokenizer: true });
    site = await startStaticServer({ root: null });
    gl = await launchBrowser(name);
    await gl.extensionEval((t: unknown) => browser.storage.local.set({ engineTuning: t }), TUNING);
    await freshEndpoint();
  });

  afterAll(async () => {
    await gl?.close();
    await site?.close();
    await guard?.close();
  });

  it.each(FAULTS.map((f) => [f.id, f] as [string, FaultCase]))(
    '%s: the popup names it and its fix; retries are bounded and spaced; nothing lost; nothing counted twice',
    async (id, fault) => {
      await freshEndpoint();
      guard.reset();
      const before = await settledUsage(gl);
      await fault.inject(guard);
      const c = await openCase(`${name}-${id}`);
      try {
        // (a) What went wrong and how to fix it, where the person looks.
        const shown = await waitForPopup(c.popup, [fault.problem, fault.fix]);
        expect(shown).toMatch(/How to fix it/);
        const error = (
          await gl.extensionEval(
            (tabId: number) =>
              browser.runtime
                .sendMessage({ id: 1, type: 'tab:state', data: { tabId }, timestamp: Date.now() })
                .then((reply: { res?: { endpoint?: { lastError?: { kind: string } } } }) => reply?.res),
            c.tabId,
          )
        )?.endpoint?.lastError;
        expect(error?.kind).toBe(fault.kind);

        // (b) Watched for a while: spaced, bounded, and every paragraph still pending (none marked, none given up).
        const watchStart = Date.now();
        await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
        if (!fault.unseen) {
          const total = expectSpacedAndBounded(c.paras);
          expect(total).toBeGreaterThan(0);
          expect(posts(guard).filter(classified)).toEqual([]);
        }
        const during = (await gl.tabState(c.tabId)) as TabStateLike;
        expect(during.scanned).toBe(0);
        expect(during.pending).toBe(N);
        expect(await popupText(c.popup)).toMatch(fault.problem);
        expect(Date.now() - watchStart).toBeGreaterThanOrEqual(WINDOW_MS);

        // The fault ends; a fault that does not end by itself ends with the person's new settings.
        // (A settings change aborts a request under way, which the server may have answered meanwhile: the
        // settings change first, while the endpoint still refuses, so no answer is lost that way.)
        if (fault.recovery === 'settings') {
          await freshEndpoint();
          await waitFor(
            () => posts(guard).some((r) => (r.body as { model?: string } | undefined)?.model === model),
            {
              message: 'a request with the new settings',
            },
          );
        }
        await fault.clear(guard);
        await expectRecovered(c, before);
        // The popup no longer shows the error.
        await waitForPopup(c.popup, [/S1/]);
        expect(await popupText(c.popup)).not.toMatch(fault.problem);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${await diagnostics(c.tabId)}`);
      } finally {
        await fault.clear(guard);
        await c.popup.close();
        await c.page.close();
      }
    },
    90_000,
  );

  it('an answer that arrives after its tab closed: no crash, counted once, cached for the next visit', async () => {
    await freshEndpoint();
    guard.reset();
    const before = await settledUsage(gl);
    guard.injectFault({ kind: 'delay', ms: 1_000, times: N });
    const c = await openCase(`${name}-closed`);
    await c.popup.close();
    await waitFor(() => posts(guard).length >= 2, { message: 'two requests under way', intervalMs: 20 });
    await c.page.close();
    // The answers come after the tab is gone; the rest of the page is dropped, not sent.
    await waitFor(() => posts(guard).every((r) => r.answeredAt !== undefined), {
      message: 'the held answers to be given',
      timeoutMs: 10_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sent = posts(guard).length;
    expect(sent).toBe(2);
    expect(await gl.tabState(c.tabId)).toBeUndefined();
    await waitFor(async () => (await savedUsage(gl)).requests === before.requests + 2, {
      message: 'the late answers to be counted',
    });
    // The same page again: the two paragraphs already answered come from the cache, the other two are sent.
    const again = await gl.openPage(site.url(`/${name}-closed.html`));
    try {
      const tabId = await again.tabId();
      const state = await waitForState(tabId, (s) => s.scanned === N && s.pending === 0);
      expect(state.flagged.map((f) => f.categories)).toEqual([['S1']]);
      expect(posts(guard)).toHaveLength(4);
      for (const p of c.paras) expect(attemptsOf(guard, p).filter(classified), p.id).toHaveLength(1);
      const usage = await settledUsage(gl);
      expect(usage.requests).toBe(before.requests + 4);
    } finally {
      await again.close();
    }
  });

  it.runIf(name === 'chromium')(
    'the service worker stopped in the middle of a fault: during the breaker wait after 503s, and during a held request',
    async () => {
      const controls = gl.chromium!;
      for (const kind of ['503', 'timeout'] as const) {
        await freshEndpoint();
        guard.reset();
        const before = await settledUsage(gl);
        if (kind === '503') guard.injectFault({ kind: 'status', status: 503, times: 100_000 });
        else guard.injectFault({ kind: 'timeout', times: 100_000 });
        const c = await openCase(`${name}-stopped-${kind}`);
        try {
          await waitForPopup(c.popup, [kind === '503' ? /answered 503/ : /did not answer within/]);
          await c.popup.close();
          if (kind === 'timeout') {
            // A request held by the server right now.
            await waitFor(() => posts(guard).some((r) => r.answeredAt === undefined), { intervalMs: 20 });
          }
          await controls.stopServiceWorker();
          const stoppedAt = Date.now();
          const midway = (await gl.tabState(c.tabId)) as TabStateLike;
          expect(midway).toMatchObject({ scanned: 0, pending: N });
          guard.clearFaults();
          // The person opens the popup: the worker starts, restores the pending items and goes on.
          const popup = await gl.openExtensionPage(`/popup.html?tabId=${c.tabId}`);
          try {
            await expectRecovered(c, before);
            expect(controls.serviceWorkerStatus()).toBe('running');
            // Nothing sent twice after an answer: every paragraph's classifying answer is its last request.
            for (const p of c.paras) {
              const attempts = attemptsOf(guard, p);
              expect(attempts.at(-1)!.status, p.id).toBe(200);
              expect(
                gaps(attempts).filter((g) => g < MIN_GAP_MS),
                p.id,
              ).toEqual([]);
            }
            expect(posts(guard).filter((r) => r.receivedAt >= stoppedAt).length).toBeGreaterThan(0);
            await waitForPopup(popup, [/S1/]);
          } finally {
            await popup.close();
          }
        } catch (error) {
          throw new Error(`${kind}: ${(error as Error).message}\n${await diagnostics(c.tabId)}`);
        } finally {
          guard.clearFaults();
          await c.page.close();
        }
      }
    },
    120_000,
  );

  it('reached for nothing but loopback', () => {
    expect(gl.unexpectedBlocked()).toEqual([]);
  });
});
