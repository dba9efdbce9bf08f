/**
 * The popup and options page in Firefox ESR (MV2): they load, take their strings from the messages file, show a
 * tab's state and the settings, and log no errors. The full checks (axe, keyboard, screenshots) run in
 * Chromium (`popup.e2e.ts`, `options.e2e.ts`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import {
  type GuardlensBrowser,
  launchBrowser,
  requireBuild,
  type StaticServer,
  startStaticServer,
} from '../harness';
import { explain, UI_PAGES_DIR } from './support';

/** Text that looks like a message key the browser could not find. */
const RAW_KEY = /\b(?:popup|options|common|category|preset|error)_[a-z0-9_]+\b/;

describe('popup and options (firefox)', () => {
  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    requireBuild('firefox');
    [guard, site] = await Promise.all([startGuardServer(), startStaticServer()]);
    site.mount('/ui/', UI_PAGES_DIR);
    gl = await launchBrowser('firefox');
  });

  afterAll(async () => {
    await gl?.close();
    await Promise.all([site?.close(), guard?.close()]);
  });

  it('the popup shows a flagged page’s categories', async () => {
    await gl.configure(
      {
        provider: 'custom',
        baseUrl: guard.baseUrl,
        model: 'llama-guard-test',
        guardModel: 'llama-guard-3-8b',
      },
      'test-key',
    );
    const page = await gl.openPage(site.url('/ui/flagged.html'));
    const tabId = await page.tabId();
    await explain(gl, tabId, () =>
      gl.waitForTabState(tabId, (s) => (s.flagged ?? []).length > 0 && s.pending === 0, {
        timeoutMs: 30_000,
      }),
    );
    const popup = await gl.openExtensionPage(`/popup.html?tabId=${tabId}`);
    try {
      const text = await popup.waitForFunction(
        () => {
          const codes = [...document.querySelectorAll('.gl-cat summary .gl-code')].map((e) => e.textContent);
          return codes.includes('S1') ? (document.body.textContent ?? '') : '';
        },
        { timeoutMs: 15_000, message: 'the popup to list S1' },
      );
      expect(text).toMatch(/\d+ items? flagged/);
      expect(text).toContain('Violent Crimes');
      expect(text).not.toMatch(RAW_KEY);
      expect(await popup.evaluate(() => document.title)).toBe('Guardlens');
    } finally {
      await popup.close();
      await page.close();
    }
  });

  it('the options page shows every section with its strings', async () => {
    const options = await gl.openExtensionPage('/options.html');
    try {
      const text = await options.waitForFunction(
        () => (document.querySelector('#endpoint') ? (document.body.textContent ?? '') : ''),
        { timeoutMs: 15_000, message: 'the options page to render' },
      );
      expect(text).toContain('Test connection');
      expect(text).toContain('What to do with each category');
      expect(text).not.toMatch(RAW_KEY);
      expect(
        await options.evaluate(() => (document.querySelector('#baseUrl') as HTMLInputElement).value),
      ).toBe(guard.baseUrl);
    } finally {
      await options.close();
    }
    expect(
      gl.consoleLog.filter((e) => e.type === 'pageerror' || (/Guardlens/.test(e.text) && e.type === 'error')),
    ).toEqual([]);
  });
});
