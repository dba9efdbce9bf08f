/**
 * A page whose scan could not start in full is never shown as clean: a frame whose document never finishes
 * loading (its server holds the rest back) is scanned after a bounded wait on what it shows so far, the tab state
 * keeps it as not checked ("loading"), and the popup says the page was not checked in full, with the reason.
 * The walk that throws is covered by the page scan's unit tests (`entrypoints/content/scan.test.ts`).
 */
import { mkdirSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
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
  within,
} from '../harness';
import { API_KEY, baseSettings, buildDir, scriptErrors, sentTexts } from './helpers';

const SCREENSHOTS = path.join(REPO_ROOT, 'test/.artifacts/screenshots');

describe.each(BROWSER_NAMES)('a page not checked in full: %s', (name) => {
  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    guard = await startGuardServer({ preloadTokenizer: true });
    site = await startStaticServer({ root: null });
    site.route('/stalled.html', (_req, res) => {
      // The start of a document, and then nothing: the frame never finishes loading.
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.write(
        `<!doctype html><html lang="en"><head><title>Stalled</title></head><body>
         <p>The first part of the timetable arrived: the harbour ferry leaves at seven.</p>${' '.repeat(2048)}`,
      );
      held.push(res);
    });
    site.route('/blank.html', { body: '<!doctype html><title>blank</title>' });
    site.route('/outer.html', {
      body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Outer</title></head><body>
        <p>The outer page lists the opening hours of the town library.</p>
        <iframe src="/stalled.html" width="500" height="200" title="timetable"></iframe></body></html>`,
    });
    gl = await launchBrowser(name, { extensionPath: buildDir(name) });
  }, 60_000);

  afterAll(async () => {
    for (const res of held) res.destroy();
    await gl?.close();
    await site?.close();
    await guard?.close();
  });

  it('scans a frame that never finishes loading on what it shows, and the popup says the page was not checked in full', async () => {
    guard.reset();
    await gl.configure(baseSettings(guard, { model: `not-checked-${name}` }), API_KEY);
    // Its load event never comes: the page is opened from a blank one, without waiting for it.
    const page = await gl.openPage(site.url('/blank.html'));
    // The tab is found by the URL it shows: asked before it navigates (while it navigates, the page's URL and the
    // tab's can differ, and the tab was then never found).
    const tabId = await page.tabId();
    await within(
      page
        .evaluate((to: string) => {
          location.href = to;
        }, site.url('/outer.html'))
        .catch(() => undefined),
      5000,
    );
    const popup = await (async () => {
      const state = await gl.waitForTabState(
        tabId,
        (s) => Object.values(s.notChecked ?? {}).includes('loading') && s.pending === 0 && s.scanned >= 2,
        {
          timeoutMs: 30_000,
          message: 'the stalled frame to be reported as loading, and both frames checked',
        },
      );
      expect(Object.keys(state.notChecked)).toHaveLength(1);
      // What the frame shows so far was checked all the same.
      expect(sentTexts(guard).join('\n')).toContain('The first part of the timetable arrived');
      expect(sentTexts(guard).join('\n')).toContain('opening hours of the town library');
      return gl.openExtensionPage(`/popup.html?tabId=${tabId}`);
    })();
    try {
      const shown = await popup.waitForFunction(
        () => {
          const status = document.querySelector('.gl-status');
          const notice = status?.querySelector('.gl-not-checked');
          if (!status || !notice) return null;
          return {
            title: status.querySelector('.gl-status-title')?.textContent ?? '',
            classes: status.className,
            icon: status.querySelector('.gl-status-icon')?.textContent ?? '',
            reasons: notice.getAttribute('data-reasons'),
            text: notice.textContent ?? '',
          };
        },
        { timeoutMs: 15_000, message: 'the popup to say the page was not checked in full' },
      );
      expect(shown).toMatchObject({ title: 'Not checked in full', reasons: 'loading' });
      expect(shown!.text).toContain('has not finished loading');
      // Never the green all-clear.
      expect(shown!.classes).not.toContain('gl-status-ok');
      expect(shown!.icon).not.toBe('✓');
      expect(scriptErrors(gl)).toEqual([]);
      mkdirSync(SCREENSHOTS, { recursive: true });
      await popup.screenshot({ path: path.join(SCREENSHOTS, `popup-not-checked-${name}.png`) });
    } finally {
      await popup.close();
      await page.close();
    }
  });
});
