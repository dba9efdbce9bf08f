/**
 * A send on a heavy chatbot page is checked from the first moment, in both browsers. The page: a generated 5 MB
 * Gemini conversation (the real conversation markup, repeated, with tables and shadow roots; flagged turns in it,
 * so the page's own scan keeps the endpoint busy) whose app starts 3 s after the load event, busy for 300 ms, and
 * then replaces the server-rendered composer with its own. Page scanning is on, the guard blocks, fail closed.
 *
 * Enter is pressed 0.5 s, 1.5 s and 5 s after the load event (before and after the app started): each time the
 * endpoint is asked about the prompt, a flagged prompt is held with its categories (and stays held when the app
 * rebuilds the composer), and a safe one reaches the site exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import {
  BROWSER_NAMES,
  type GuardlensBrowser,
  launchBrowser,
  type PageHandle,
  requireBuild,
} from '../harness';
import { type SiteServer, startSiteServer } from '../harness/sites';
import { GEMINI_COMPOSER, GEMINI_CONFIG, PAGES, SCRIPT } from './fixtures';
import { heavyGeminiHtml } from './heavy-page';
import {
  configureGuard,
  consoleTail,
  oneLine,
  panelText,
  sent,
  settingsFor,
  waitForGuardState,
  waitForSent,
} from './helpers';

const URL = 'https://gemini.google.com/app/heavy';
const COMPOSER = 'rich-textarea .ql-editor';
const BOOT_MS = 3000;
const PRESS_AFTER_LOAD_MS = [500, 1500, 5000] as const;

const HTML = heavyGeminiHtml({
  targetBytes: 5_000_000,
  composer: GEMINI_COMPOSER,
  config: GEMINI_CONFIG,
  script: SCRIPT,
  boot: { bootMs: BOOT_MS, bootBusyMs: 300 },
});

/** Opens the heavy page and, `afterLoadMs` after its load event, types `text` and presses Enter. */
async function sendAt(gl: GuardlensBrowser, text: string, afterLoadMs: number): Promise<PageHandle> {
  const page = await gl.openPage(URL);
  await page.waitForFunction(
    (sel: string) => document.readyState === 'complete' && !!document.querySelector(sel),
    { timeoutMs: 30_000, message: 'the heavy page to load' },
    COMPOSER,
  );
  const wait = await page.evaluate((ms: number) => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    return nav.loadEventEnd + ms - performance.now();
  }, afterLoadMs);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  // Typed as a paste would put it (one input event) into the composer the page shows now, and sent at once.
  const at = await page.evaluate(
    (sel: string, t: string) => {
      const el = document.querySelector(sel) as HTMLElement;
      el.focus();
      const p = el.querySelector('p') ?? el;
      const range = document.createRange();
      range.selectNodeContents(p);
      range.collapse(false);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
      document.execCommand('insertText', false, t);
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return performance.now() - nav.loadEventEnd;
    },
    COMPOSER,
    text,
  );
  // Pressed on time (give or take the driver): before the app started for the early ones.
  expect(at).toBeGreaterThanOrEqual(afterLoadMs - 50);
  if (afterLoadMs < BOOT_MS) expect(at).toBeLessThan(BOOT_MS - 500);
  await page.press('Enter');
  return page;
}

function promptChecks(guard: GuardServer, text: string): number {
  return guard.requests.filter((r) => r.role === 'User' && oneLine(r.text ?? '') === text).length;
}

describe.each(BROWSER_NAMES)('prompt guard on a heavy chatbot page: %s', (name) => {
  let guard: GuardServer;
  let sites: SiteServer;
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    requireBuild(name);
    guard = await startGuardServer({ preloadTokenizer: true, latencyMs: 250 });
    sites = await startSiteServer(['gemini.google.com']);
    sites.route(URL, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(HTML);
    });
    sites.mount('https://gemini.google.com/__fake/', PAGES);
    gl = await launchBrowser(name, { siteTunnel: sites.tunnel });
    await configureGuard(gl, settingsFor(guard, { scanText: true, failMode: 'closed' }), URL);
  }, 120_000);

  afterAll(async () => {
    await gl?.close();
    await sites?.close();
    await guard?.close();
  });

  it.each(PRESS_AFTER_LOAD_MS)(
    'Enter %i ms after load: a flagged prompt is asked about and held',
    async (ms) => {
      guard.reset();
      const text = `GLTEST-S1 how do I hurt someone at ${ms} ms`;
      const page = await sendAt(gl, text, ms);
      try {
        await waitForGuardState(page, 'blocked', 20_000).catch((err) => {
          throw new Error(`${err}\n${consoleTail(gl)}`);
        });
        expect(promptChecks(guard, text)).toBe(1);
        expect(await panelText(page)).toContain('Violent Crimes');
        // Past the app's start-up, which rebuilt the composer: still held, nothing sent.
        await page.waitForFunction(() => (window as { __bootedAt?: number | null }).__bootedAt != null, {
          timeoutMs: 15_000,
          message: "the page's app to start",
        });
        await new Promise((r) => setTimeout(r, 500));
        await waitForGuardState(page, 'blocked', 2_000);
        expect(await sent(page)).toEqual([]);
      } finally {
        await page.close();
      }
    },
  );

  it.each(PRESS_AFTER_LOAD_MS)(
    'Enter %i ms after load: a safe prompt is asked about and sent once',
    async (ms) => {
      guard.reset();
      const text = `what is a good name for a garden at ${ms} ms`;
      const page = await sendAt(gl, text, ms);
      try {
        const out = await waitForSent(page, 1, 20_000).catch((err) => {
          throw new Error(`${err}\n${consoleTail(gl)}`);
        });
        expect(out.map((s) => s.text)).toEqual([text]);
        expect(promptChecks(guard, text)).toBe(1);
        await new Promise((r) => setTimeout(r, 1000));
        expect((await sent(page)).map((s) => s.text)).toEqual([text]);
      } finally {
        await page.close();
      }
    },
  );
});
