/**
 * Pages built like long newspaper articles have what they show checked: a consent dialog that locks scrolling, the
 * article body in a container the page's script inserts after load, a paywall that fades and cuts the rest of
 * it, and sections under `content-visibility: auto` that the browser skips rendering until they come near. At
 * least 90% of the words the page shows (`innerText` less form controls, after scrolling as far as the page
 * lets a reader) must reach the endpoint, in both browsers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import {
  BROWSER_NAMES,
  type GuardlensBrowser,
  launchBrowser,
  type StaticServer,
  startStaticServer,
} from '../harness';
import {
  API_KEY,
  baseSettings,
  buildDir,
  coverage,
  scriptErrors,
  scrollThrough,
  sentTexts,
  shownText,
  waitForSettled,
} from './helpers';

const PAGES = new URL('./pages/', import.meta.url).pathname;
const FLOOR = 0.9;

describe.each(BROWSER_NAMES)('what a long newspaper article shows is checked: %s', (name) => {
  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    guard = await startGuardServer({ preloadTokenizer: true });
    site = await startStaticServer({ root: PAGES });
    gl = await launchBrowser(name, { extensionPath: buildDir(name) });
  }, 60_000);

  afterAll(async () => {
    await gl?.close();
    await site?.close();
    await guard?.close();
  });

  it('newspaper.html: consent lock, late article body, paywall, content-visibility: auto', async () => {
    guard.reset();
    await gl.configure(baseSettings(guard, { model: `coverage-${name}` }), API_KEY);
    const page = await gl.openPage(site.url('/newspaper.html'));
    try {
      const tabId = await page.tabId();
      // The article body comes 1.5 s after load.
      await page.waitForFunction(() => !!document.querySelector('.article-body'), { timeoutMs: 10_000 });
      await waitForSettled(gl, tabId, { guard, timeoutMs: 30_000, quietMs: 500 });
      await scrollThrough(page);
      await waitForSettled(gl, tabId, { guard, timeoutMs: 30_000, quietMs: 500 });
      const shown = await shownText(page);
      const sent = sentTexts(guard).join('\n');
      const cover = coverage(shown, sent);
      expect(cover.words).toBeGreaterThan(2000);
      expect(
        cover.share,
        `newspaper.html: ${cover.found} of ${cover.words} words shown were sent`,
      ).toBeGreaterThanOrEqual(FLOOR);
      // Each part by name: the late body, the paywalled end, the skipped sections, the dialog.
      for (const part of [
        'Paragraph 39:',
        'Section 29',
        'Paragraph 129:',
        'We use cookies',
        'Subscribe to keep',
      ])
        expect(sent, `newspaper.html: "${part}" was sent`).toContain(part);
      expect(scriptErrors(gl)).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
