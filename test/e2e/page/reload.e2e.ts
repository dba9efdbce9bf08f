/**
 * A reload sends nothing: every block it finds was checked on the first load and comes from the verdict cache.
 * The corpus pages `herald-sun-1` and `webmd-1` run scripts that print escaped markup with a cache-busting
 * timestamp (`document.write('&lt;scr' + 'ipt src="…?cb=' + Date.now() …)`), text that is new on every load;
 * such markup-only text is not sent, while the article around it still is.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import {
  BROWSER_NAMES,
  type GuardlensBrowser,
  launchBrowser,
  REPO_ROOT,
  type StaticServer,
  startStaticServer,
} from '../harness';
import {
  API_KEY,
  baseSettings,
  buildDir,
  scriptErrors,
  sentTexts,
  settingsInForce,
  waitForSettled,
} from './helpers';

const CORPUS = path.resolve(REPO_ROOT, '../shared/corpus/pages');
const PAGES = ['herald-sun-1', 'webmd-1'].filter((p) => existsSync(path.join(CORPUS, p, 'source.html')));
/** A phrase of each page's article, which must still be sent. */
const ARTICLE: Record<string, string> = {
  'herald-sun-1': 'surveillance',
  'webmd-1': 'WebMD',
};

describe.skipIf(PAGES.length === 0).each(BROWSER_NAMES)('a reload sends nothing: %s', (name) => {
  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    guard = await startGuardServer({ preloadTokenizer: true });
    site = await startStaticServer({ root: null });
    site.mount('/corpus/', CORPUS);
    gl = await launchBrowser(name, { extensionPath: buildDir(name) });
  }, 60_000);

  afterAll(async () => {
    await gl?.close();
    await site?.close();
    await guard?.close();
  });

  it.each(PAGES)(
    '%s',
    async (pageName) => {
      guard.reset();
      // Its own model id: a fresh verdict cache for this page.
      const model = `reload-${pageName}-${name}`;
      await gl.configure(baseSettings(guard, { model }), API_KEY);
      // Scanned with the previous page's settings, the first load's verdicts would be keyed for those.
      await settingsInForce(gl, model);
      const page = await gl.openPage(site.url(`/corpus/${pageName}/source.html`));
      try {
        const tabId = await page.tabId();
        await waitForSettled(gl, tabId, { guard, timeoutMs: 60_000 });
        const first = sentTexts(guard);
        expect(first.length).toBeGreaterThan(0);
        expect(first.join('\n')).toContain(ARTICLE[pageName]);
        // What the scripts printed is on the page, but was not sent.
        const printed = await page.evaluate(() => {
          // biome-ignore lint/performance/useDomNodeTextContent: what the page shows is the point.
          const shown = document.body.innerText;
          return shown.includes('?cb=') || /1x1\.gif\?\d/.test(shown);
        });
        expect(printed).toBe(true);
        expect(first.filter((t) => /\?cb=\d|1x1\.gif\?\d/.test(t))).toEqual([]);

        for (let i = 0; i < 2; i++) {
          const before = guard.requests.length;
          await page.evaluate(() => {
            (window as unknown as { __old: boolean }).__old = true;
            location.reload();
          });
          await page.waitForFunction(
            () => !(window as unknown as { __old?: boolean }).__old && document.readyState === 'complete',
            { timeoutMs: 30_000 },
          );
          await waitForSettled(gl, tabId, { guard, timeoutMs: 60_000 });
          expect(guard.requests.slice(before).map((r) => (r.text ?? '').slice(0, 120))).toEqual([]);
        }
      } finally {
        await page.close();
      }
      expect(scriptErrors(gl)).toEqual([]);
    },
    120_000,
  );
});
