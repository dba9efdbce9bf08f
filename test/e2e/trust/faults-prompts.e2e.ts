/**
 * Prompt checks under endpoint faults, in real Chromium and Firefox, on the DeepSeek fixture (served at its real
 * host name): for a refused key (401), a server error (503), a timeout, a refused connection and an HTML page
 * instead of JSON, the prompt follows the fail mode —
 * - open: sent once, exactly as typed, with the "unchecked" notice;
 * - closed: held (nothing sent, the text kept) with Retry; once the endpoint is back (for the refused key: once the
 *   person changed the settings) Retry sends it once.
 * The check's requests to the endpoint are bounded: at most the client's three attempts, one for a refused key.
 *
 * Both browsers run all five faults on one page that is reused across them. Timings are shortened through
 * `engineTuning` (`faults-support.ts`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import { fixture, fixtureHosts, serveFixtures } from '../chatbots/fixtures';
import {
  clickPanelButton,
  composerText,
  guardNotice,
  insertText,
  promptConfig,
  sent,
  waitForGuardState,
  waitForSent,
} from '../chatbots/helpers';
import {
  BROWSER_NAMES,
  type GuardlensBrowser,
  launchBrowser,
  type PageHandle,
  requireBuild,
  waitFor,
} from '../harness';
import { type SiteServer, startSiteServer } from '../harness/sites';
import { API_KEY, FAULTS, type FaultCase, modelInUse, posts, settingsFor, TUNING } from './faults-support';

const SITE = fixture('deepseek');
/** Chromium's own services (autofill lookups for the pages' form fields, component downloads), not Guardlens. */
const CHROMIUM_SERVICES = /(^|\.)(googleapis\.com|gvt1\.com)$/;
const PROMPT_FAULTS: readonly string[] = ['401', '503', 'timeout', 'connection refused', 'HTML page'];

describe.each(BROWSER_NAMES)('prompt checks under endpoint faults: %s', (name) => {
  let guard: GuardServer;
  let sites: SiteServer;
  let gl: GuardlensBrowser;
  let page: PageHandle;
  let models = 0;

  /** New settings (another model id, so the endpoint starts afresh) with this fail mode, in force before return. */
  async function freshEndpoint(failMode: 'open' | 'closed'): Promise<void> {
    const model = `llama-guard-prompt-${++models}`;
    await gl.configure(
      {
        ...settingsFor(guard.baseUrl, model),
        scanText: false,
        promptGuard: 'block',
        failMode,
        checkReplies: false,
      },
      API_KEY,
    );
    await waitFor(
      async () =>
        (await modelInUse(gl)) === model && (await promptConfig(gl, SITE.url)).failMode === failMode,
      { message: `the background to use ${model}, failing ${failMode}` },
    );
  }

  /** The prompt checks the server saw carrying `text`. */
  const checksOf = (text: string) => posts(guard).filter((r) => JSON.stringify(r.body ?? '').includes(text));

  beforeAll(async () => {
    requireBuild(name);
    guard = await startGuardServer({ apiKey: API_KEY, preloadTokenizer: true });
    sites = await startSiteServer(fixtureHosts([SITE]));
    serveFixtures(sites, [SITE]);
    gl = await launchBrowser(name, { siteTunnel: sites.tunnel });
    await gl.extensionEval((t: unknown) => browser.storage.local.set({ engineTuning: t }), TUNING);
  });

  afterAll(async () => {
    await page?.close();
    await gl?.close();
    await sites?.close();
    await guard?.close();
  });

  const cases = FAULTS.filter((f) => PROMPT_FAULTS.includes(f.id));
  describe.each(cases.map((f) => [f.id, f] as [string, FaultCase]))('%s', (id, fault) => {
    it('fail open: the prompt is sent once, as typed, with the "unchecked" notice', async () => {
      await freshEndpoint('open');
      if (!page) page = await gl.openPage(SITE.url);
      else await page.goto(SITE.url);
      guard.reset();
      await fault.inject(guard);
      const text = `open ${name} ${id} ${Math.random().toString(36).slice(2, 8)}`;
      try {
        await insertText(page, SITE.composer, text);
        await page.press('Enter');
        const out = await waitForSent(page, 1, 20_000);
        expect(out.map((s) => s.text)).toEqual([text]);
        await page.waitForFunction(
          () => document.querySelector('guardlens-prompt')?.getAttribute('data-notice'),
          { message: 'the notice' },
        );
        expect(await guardNotice(page)).toBe('unchecked');
        expect(checksOf(text).length).toBeLessThanOrEqual(fault.recovery === 'settings' ? 1 : 3);
        if (!fault.unseen) expect(checksOf(text).length).toBeGreaterThan(0);
        expect(checksOf(text).filter((r) => r.status === 200 && !r.fault)).toEqual([]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect((await sent(page)).length).toBe(1);
      } finally {
        await fault.clear(guard);
      }
    });

    it('fail closed: held with Retry, nothing sent; Retry sends it once the endpoint is back', async () => {
      await freshEndpoint('closed');
      await page.goto(SITE.url);
      guard.reset();
      await fault.inject(guard);
      const text = `closed ${name} ${id} ${Math.random().toString(36).slice(2, 8)}`;
      try {
        await insertText(page, SITE.composer, text);
        await page.press('Enter');
        await waitForGuardState(page, 'failed', 20_000);
        expect(await sent(page)).toEqual([]);
        expect(await composerText(page, SITE.composer)).toBe(text);
        expect(checksOf(text).length).toBeLessThanOrEqual(fault.recovery === 'settings' ? 1 : 3);
      } finally {
        await fault.clear(guard);
      }
      if (fault.recovery === 'settings') await freshEndpoint('closed');
      else await new Promise((resolve) => setTimeout(resolve, TUNING.breakerBaseBackoffMs + 200)); // the breaker's wait
      await clickPanelButton(page, 'retry');
      const out = await waitForSent(page, 1, 20_000);
      expect(out.map((s) => s.text)).toEqual([text]);
      expect(checksOf(text).filter((r) => r.status === 200 && !r.fault)).toHaveLength(1);
    });
  });

  it('reached nothing beyond loopback and the tunnelled site', () => {
    const other = gl.unexpectedBlocked().filter((r) => !CHROMIUM_SERVICES.test(r.host));
    expect(other.map((r) => `${r.method} ${r.host}:${r.port}`)).toEqual([]);
  });
});
