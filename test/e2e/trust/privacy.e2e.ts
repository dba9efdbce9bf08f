/**
 * Privacy, proven in real Chromium and Firefox with every non-loopback request blocked and counted:
 * the extension contacts only the configured endpoint (the local test server, which records every request),
 * and nothing at all on excluded sites, paused sites, browser pages, its own pages, or in private windows
 * unless the person allowed them there (both the browser's switch and Guardlens' own setting).
 *
 * Every visit uses a page whose text is new (`privacy-support.ts`), so a cached verdict can never hide a
 * request. Each "sent nothing" case first waits for the content script's answer from the background
 * (`page:rescan` says why it is inactive), then leaves the page `QUIET_MS` to misbehave.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import {
  BROWSER_NAMES,
  type GuardlensBrowser,
  launchBrowser,
  type PageHandle,
  type StaticServer,
  startStaticServer,
  waitFor,
} from '../harness';
import { buildDir, tabMessage, waitForSettled } from '../page/helpers';
import {
  expectNothingSent,
  inactiveReasonOf,
  privacyPageUrl,
  QUIET_MS,
  routePrivacyPage,
  settingsFor,
  sleep,
} from './privacy-support';

const API_KEY = 'sk-privacy-e2e-key';

/** Opens `url` in a new private window through the extension API; returns its tab id (or null). */
function openPrivateWindow(gl: GuardlensBrowser, url: string): Promise<number | null> {
  return gl.extensionEval(
    (u: string) =>
      browser.windows
        .create({ incognito: true, url: u })
        // Chromium answers with no window when the extension may not see private windows.
        .then((w: { tabs?: Array<{ id?: number }> } | undefined) => w?.tabs?.[0]?.id ?? null),
    url,
  );
}

async function waitForTabLoaded(gl: GuardlensBrowser, tabId: number, url: string): Promise<void> {
  await waitFor(
    () =>
      gl.extensionEval(
        (id: number, u: string) =>
          browser.tabs
            .get(id)
            .then((t: { status?: string; url?: string }) => t.status === 'complete' && t.url === u),
        tabId,
        url,
      ),
    { timeoutMs: 15_000, message: `private tab ${tabId} to load ${url}` },
  );
}

async function closeWindowOf(gl: GuardlensBrowser, tabId: number): Promise<void> {
  await gl
    .extensionEval(
      (id: number) =>
        browser.tabs.get(id).then((t: { windowId: number }) => browser.windows.remove(t.windowId)),
      tabId,
    )
    .catch(() => {});
}

/**
 * Firefox's privileged about: pages never report their load over WebDriver BiDi, so they are opened through
 * BiDi's own navigate without waiting; the test waits `QUIET_MS` afterwards anyway.
 */
async function openPrivileged(gl: GuardlensBrowser, url: string): Promise<PageHandle> {
  const page = await gl.openPage('about:blank');
  const raw = page.raw as {
    mainFrame(): { browsingContext?: { navigate(u: string, w: string): Promise<unknown> } };
  };
  const context = raw.mainFrame().browsingContext;
  if (!context) throw new Error('This puppeteer version exposes no BiDi browsing context');
  await context.navigate(url, 'none');
  await sleep(1000);
  return page;
}

describe.each(BROWSER_NAMES)('privacy: %s', (name) => {
  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    [guard, site] = await Promise.all([startGuardServer({ apiKey: API_KEY }), startStaticServer()]);
    routePrivacyPage(site);
    gl = await launchBrowser(name, { extensionPath: buildDir(name) });
    await gl.configure(settingsFor(guard), API_KEY);
  });

  afterAll(async () => {
    await gl?.close();
    await site?.close();
    await guard?.close();
  });

  it('an ordinary page: only the configured endpoint is asked, with the key, and the trigger is flagged', async () => {
    const page = await gl.openPage(privacyPageUrl(site));
    const tabId = await page.tabId();
    const state = await gl.waitForTabState(tabId, (s) => s.flagged?.length > 0);
    await waitForSettled(gl, tabId, { guard });
    expect(state.flagged.flatMap((f: { categories: string[] }) => f.categories)).toContain('S1');
    expect(guard.requests.length).toBeGreaterThan(0);
    for (const r of guard.requests) {
      expect(r.path).toMatch(/^\/v1\/(chat\/completions|completions|models)/);
      expect(r.headers.authorization).toBe(`Bearer ${API_KEY}`);
    }
    expect(guard.requests.some((r) => r.text?.includes('GLTEST-S1'))).toBe(true);
    expect(gl.unexpectedBlocked()).toEqual([]);
    await page.close();
  });

  it('an excluded site and a paused site: nothing is sent', async () => {
    for (const [key, reason] of [
      ['excludedSites', 'excluded'],
      ['pausedSites', 'paused'],
    ] as const) {
      await gl.configure(settingsFor(guard, { [key]: ['127.0.0.1'] }), API_KEY);
      const from = guard.requests.length;
      const page = await gl.openPage(privacyPageUrl(site));
      expect(await inactiveReasonOf(gl, await page.tabId())).toBe(reason);
      await sleep(QUIET_MS);
      expectNothingSent(gl, guard, from, `a site in ${key}`);
      await page.close();
    }
    await gl.configure(settingsFor(guard), API_KEY);
  });

  it('browser pages and the extension’s own pages: nothing is sent', async () => {
    const browserPages =
      name === 'chromium' ? ['chrome://version/', 'chrome://extensions/'] : ['about:support', 'about:robots'];
    for (const url of ['about:blank', ...browserPages, 'options.html', 'popup.html']) {
      const from = guard.requests.length;
      const page = url.endsWith('.html')
        ? await gl.openExtensionPage(url)
        : url.startsWith('about:') && url !== 'about:blank'
          ? await openPrivileged(gl, url)
          : await gl.openPage(url);
      if (url === 'about:blank') {
        // A blank page given trigger text by script: still nothing to scan.
        await page.evaluate(() => {
          document.body.textContent = 'GLTEST-S1 text written into a blank page';
        });
      }
      await sleep(QUIET_MS);
      expectNothingSent(gl, guard, from, url);
      await page.close();
    }
  });

  it('a private window while the browser does not let the extension run there: nothing is sent', async () => {
    // Firefox refuses `windows.create({ incognito: true })` to an extension without private access, and
    // WebDriver BiDi cannot open a private window, so only Chromium can show this case.
    if (name !== 'chromium') {
      await expect(openPrivateWindow(gl, 'about:blank')).rejects.toThrow(/incognito|private/i);
      return;
    }
    const from = guard.requests.length;
    const url = privacyPageUrl(site);
    const served = () => site.requests.filter((r) => r.path === '/privacy-page').length;
    const before = served();
    const tabId = await openPrivateWindow(gl, url);
    expect(tabId, 'the extension cannot see the private window it opened').toBeNull();
    // The window really loaded the page (the test server saw it), so there was something to send.
    await waitFor(() => served() > before || undefined, {
      timeoutMs: 15_000,
      message: 'the private window to load the page',
    });
    await sleep(QUIET_MS);
    expectNothingSent(gl, guard, from, 'a private window');
  });
});

describe.each(BROWSER_NAMES)('privacy in private windows the browser allows: %s', (name) => {
  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    [guard, site] = await Promise.all([startGuardServer({ apiKey: API_KEY }), startStaticServer()]);
    routePrivacyPage(site);
    gl = await launchBrowser(name, { extensionPath: buildDir(name), allowInPrivate: true });
    await gl.configure(settingsFor(guard), API_KEY);
  });

  afterAll(async () => {
    await gl?.close();
    await site?.close();
    await guard?.close();
  });

  it('sends nothing from a private window until the person allows private windows in Guardlens', async () => {
    expect(await gl.extensionEval(() => browser.extension.isAllowedIncognitoAccess())).toBe(true);

    // Guardlens' own switch is off (the default): the content script runs there and is told to stay inactive.
    const from = guard.requests.length;
    const url = privacyPageUrl(site);
    const tabId = await openPrivateWindow(gl, url);
    if (tabId === null) throw new Error('No tab in the private window');
    await waitForTabLoaded(gl, tabId, url);
    expect(await inactiveReasonOf(gl, tabId)).toBe('incognito');
    await sleep(QUIET_MS);
    expectNothingSent(gl, guard, from, 'a private window with allowIncognito off');
    await closeWindowOf(gl, tabId);

    // Allowed: the same kind of page in a private window is checked, by the configured endpoint only.
    await gl.configure(settingsFor(guard, { allowIncognito: true }), API_KEY);
    const allowedUrl = privacyPageUrl(site);
    const allowedTab = await openPrivateWindow(gl, allowedUrl);
    if (allowedTab === null) throw new Error('No tab in the private window');
    await waitForTabLoaded(gl, allowedTab, allowedUrl);
    const state = await gl.waitForTabState(allowedTab, (s) => s.flagged?.length > 0);
    expect(state.flagged.length).toBeGreaterThan(0);
    expect(guard.requests.slice(from).some((r) => r.text?.includes('GLTEST-S1'))).toBe(true);
    expect(gl.unexpectedBlocked()).toEqual([]);
    await tabMessage(gl, allowedTab, 'page:stats');
    await closeWindowOf(gl, allowedTab);
  });
});
