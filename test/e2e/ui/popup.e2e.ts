/**
 * The toolbar popup in real Chromium, opened as `popup.html?tabId=N` at the popup's width: first run, a clean
 * page, a page with several flagged categories (keyboard only, "show on page", page content as text, dark
 * theme), per-site pause and resume, rescan, and an endpoint error. Each state is checked with axe-core and
 * photographed into docs/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import {
  type GuardlensBrowser,
  launchBrowser,
  type PageHandle,
  requireBuild,
  type StaticServer,
  startStaticServer,
  waitFor,
} from '../harness';
import {
  describeViolations,
  explain,
  fitsWidth,
  openPopup,
  POPUP_WIDTH,
  rawPage,
  screenshot,
  seriousViolations,
  UI_PAGES_DIR,
} from './support';

const SETTINGS = {
  provider: 'custom',
  model: 'llama-guard-test',
  guardModel: 'llama-guard-3-8b',
  requestMode: 'chat',
};
const API_KEY = 'test-key';

interface Flagged {
  ref: string;
  categories: string[];
  snippet: string;
}

describe('popup (chromium)', () => {
  let guard: GuardServer;
  let strict: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;
  const open: PageHandle[] = [];

  const track = (page: PageHandle) => {
    open.push(page);
    return page;
  };
  const closeAll = async () => {
    for (const page of open.splice(0)) await page.close().catch(() => undefined);
  };

  /** Waits until the background uses the settings just written: the popup names their model id. */
  const settingsApplied = async (model: string) => {
    const tabId = await gl.tabIdOf(`${gl.extensionOrigin}/manifest.json`);
    const popup = await openPopup(gl, tabId);
    try {
      await rawPage(popup)
        .locator('.gl-facts', { hasText: `(${model})` })
        .waitFor({ timeout: 15_000 });
    } finally {
      await popup.close();
    }
  };

  beforeAll(async () => {
    requireBuild('chromium');
    [guard, strict, site] = await Promise.all([
      startGuardServer(),
      startGuardServer({ apiKey: 'the-right-key' }),
      startStaticServer(),
    ]);
    site.mount('/ui/', UI_PAGES_DIR);
    gl = await launchBrowser('chromium');
  });

  afterAll(async () => {
    await closeAll();
    await gl?.close();
    await Promise.all([site?.close(), guard?.close(), strict?.close()]);
  });

  it('first run: says Guardlens is not set up and takes the person to the settings', async () => {
    const page = track(await gl.openPage(site.url('/ui/clean.html')));
    const tabId = await page.tabId();
    const popup = track(await openPopup(gl, tabId));
    const raw = rawPage(popup);
    await raw.getByRole('heading', { name: 'Set up Guardlens' }).waitFor();
    expect(await raw.locator('.gl-setup li').allTextContents()).toHaveLength(3);
    expect(await raw.locator('.gl-setup').textContent()).toContain('needs an API key');
    expect(await seriousViolations(popup), 'axe').toEqual([]);
    await screenshot(popup, 'popup-setup', { fullPage: true });

    const optionsOpened = gl.chromium!.context.waitForEvent('page', {
      predicate: (p) => p.url().startsWith(`${gl.extensionOrigin}/options.html`),
      timeout: 10_000,
    });
    await raw.getByRole('button', { name: 'Open settings to set up' }).click();
    const options = await optionsOpened;
    await options.getByRole('heading', { name: 'Guardlens settings' }).waitFor();
    await options.close();
    await closeAll();
  });

  it('a clean page: nothing flagged, how much was checked, the endpoint and today’s usage', async () => {
    guard.reset();
    await gl.configure({ ...SETTINGS, baseUrl: guard.baseUrl }, API_KEY);
    await settingsApplied(SETTINGS.model);
    const page = track(await gl.openPage(site.url('/ui/clean.html')));
    const tabId = await page.tabId();
    await explain(gl, tabId, () =>
      gl.waitForTabState(tabId, (s) => s.scanned >= 3 && s.pending === 0, { timeoutMs: 30_000 }),
    );

    const popup = track(await openPopup(gl, tabId));
    const raw = rawPage(popup);
    const status = raw.locator('.gl-status');
    await explain(gl, tabId, () =>
      status.getByRole('heading', { name: 'Nothing flagged' }).waitFor({ timeout: 10_000 }),
    );
    expect(await status.textContent()).toMatch(/\d+ items checked on this page/);
    const facts = raw.locator('.gl-facts');
    expect(await facts.textContent()).toContain('Custom endpoint');
    expect(await facts.textContent()).toContain('Llama Guard 3 8B');
    await waitFor(async () => /\d+ ms/.test((await facts.textContent()) ?? ''), {
      message: 'the last latency',
    });
    expect(await facts.textContent()).toMatch(/[1-9]\d* requests? · [1-9][\d,]* tokens · price unknown/);
    expect(await raw.locator('.gl-categories').count()).toBe(0);
    expect(await raw.getByRole('button', { name: 'Rescan' }).isVisible()).toBe(true);
    expect(await raw.getByRole('button', { name: 'Pause on this site' }).isVisible()).toBe(true);

    const width = await fitsWidth(popup);
    expect(width.scrollWidth).toBeLessThanOrEqual(width.clientWidth);
    expect(width.clientWidth).toBe(POPUP_WIDTH);
    expect(await seriousViolations(popup), 'axe').toEqual([]);
    await screenshot(popup, 'popup-clean', { fullPage: true });
    await closeAll();
  });

  it('a flagged page: categories with codes, names, counts and items, by keyboard alone', async () => {
    guard.reset();
    const page = track(await gl.openPage(site.url('/ui/flagged.html')));
    const tabId = await page.tabId();
    const state = await explain(gl, tabId, () =>
      gl.waitForTabState(
        tabId,
        (s) =>
          s.pending === 0 &&
          ['S1', 'S2', 'S10'].every((c) => (s.flagged as Flagged[]).some((f) => f.categories.includes(c))),
        { timeoutMs: 30_000 },
      ),
    );
    const flagged = state.flagged as Flagged[];

    const popup = track(await openPopup(gl, tabId));
    const raw = rawPage(popup);
    const status = raw.locator('.gl-status');
    await status
      .getByRole('heading', { name: `${flagged.length} items flagged` })
      .waitFor({ timeout: 10_000 });
    const codes = await raw.locator('.gl-cat summary .gl-code').allTextContents();
    expect(codes).toEqual(['S1', 'S2', 'S10']);
    const summaries = await raw.locator('.gl-cat summary').allTextContents();
    expect(summaries[0]).toContain('Violent Crimes');
    expect(summaries[1]).toContain('Non-Violent Crimes');
    expect(summaries[2]).toContain('Hate');
    const s10 = flagged.filter((f) => f.categories.includes('S10')).length;
    expect(await raw.locator('.gl-cat').nth(2).locator('.gl-count [aria-hidden]').textContent()).toBe(
      String(s10),
    );
    expect(await raw.locator('.gl-cat summary').nth(2).getAttribute('title')).toMatch(/\w/);

    // Keyboard only: Tab to the S10 category, open it, Tab to "Show on page" and press it.
    await raw.locator('body').focus();
    let onSummary = false;
    for (let i = 0; i < 20 && !onSummary; i++) {
      await raw.keyboard.press('Tab');
      onSummary = await raw.evaluate(() => document.activeElement?.textContent?.startsWith('S10') ?? false);
    }
    expect(onSummary, 'Tab reaches the S10 category').toBe(true);
    const focusRing = await raw.evaluate(() => {
      const style = getComputedStyle(document.activeElement!);
      return { style: style.outlineStyle, width: Number.parseFloat(style.outlineWidth) };
    });
    expect(focusRing.style).not.toBe('none');
    expect(focusRing.width).toBeGreaterThanOrEqual(2);
    await raw.keyboard.press('Enter');
    const body = raw.locator('.gl-cat').nth(2).locator('.gl-cat-body');
    await body.waitFor();
    expect(await body.locator('.gl-item')).toHaveProperty('count');
    expect(await body.locator('.gl-item').count()).toBe(s10);

    // Page content is text: the snippet with markup is shown as written, and nothing from it ran.
    const markup = body.locator('.gl-snippet', { hasText: '<img src=x' });
    expect(await markup.count()).toBe(1);
    expect(await raw.locator('.gl-popup img').count()).toBe(0);
    expect(await raw.title()).toBe('Guardlens');

    await raw.keyboard.press('Tab');
    expect(await raw.evaluate(() => document.activeElement?.textContent)).toBe('Show on page');
    await raw.keyboard.press('Enter');
    const note = body.locator('.gl-item').first().locator('[role=status]');
    await note.waitFor({ timeout: 10_000 });
    // The page's script answered: the element is scrolled into view (more in reveal.e2e.ts).
    expect(await note.textContent()).toBe('Shown on the page.');
    await page.waitForFunction(
      () => {
        const rect = document.getElementById('s10')!.getBoundingClientRect();
        return rect.bottom > 0 && rect.top < innerHeight;
      },
      { timeoutMs: 10_000, message: '#s10 to be in view' },
    );

    const width = await fitsWidth(popup);
    expect(width.scrollWidth).toBeLessThanOrEqual(width.clientWidth);
    const violations = await seriousViolations(popup);
    expect(violations, describeViolations(violations)).toEqual([]);
    await screenshot(popup, 'popup-flagged', { fullPage: true });

    const dark = track(await openPopup(gl, tabId, { colorScheme: 'dark' }));
    const darkRaw = rawPage(dark);
    await darkRaw.locator('.gl-cat').first().waitFor();
    await darkRaw.locator('.gl-cat summary').first().click();
    const background = await darkRaw.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(22, 24, 29)');
    const darkViolations = await seriousViolations(dark);
    expect(darkViolations, describeViolations(darkViolations)).toEqual([]);
    await screenshot(dark, 'popup-flagged-dark', { fullPage: true });
    await closeAll();
  });

  it('pauses and resumes on a site, and rescans', async () => {
    const page = track(await gl.openPage(site.url('/ui/clean.html')));
    const tabId = await page.tabId();
    await gl.waitForTabState(tabId, (s) => s.scanned >= 3 && s.pending === 0, { timeoutMs: 30_000 });
    const popup = track(await openPopup(gl, tabId));
    const raw = rawPage(popup);

    await raw.getByRole('button', { name: 'Rescan' }).click();
    await raw.locator('.gl-notice').waitFor();
    expect(await raw.locator('.gl-notice').textContent()).toContain('Checking the page again.');

    await raw.getByRole('button', { name: 'Pause on this site' }).click();
    await raw.getByRole('heading', { name: 'Paused on this site' }).waitFor();
    const paused = await gl.extensionEval(() => browser.storage.local.get('settings'));
    expect((paused.settings as { pausedSites: string[] }).pausedSites).toEqual(['127.0.0.1']);
    expect(await raw.locator('.gl-notice').textContent()).toContain('Paused on 127.0.0.1.');

    await raw.getByRole('button', { name: 'Resume on this site' }).click();
    await raw.getByRole('button', { name: 'Pause on this site' }).waitFor();
    const resumed = await gl.extensionEval(() => browser.storage.local.get('settings'));
    expect((resumed.settings as { pausedSites: string[] }).pausedSites).toEqual([]);
    // The page started while paused: it needs a reload, and the popup offers one.
    await raw.locator('.gl-notice').waitFor();
    const notice = await raw.locator('.gl-notice').textContent();
    expect(notice === 'Resumed on 127.0.0.1; checking the page.' || notice?.includes('Reload the page')).toBe(
      true,
    );
    await closeAll();
  });

  it('shows the last check the person asked for from the context menu', async () => {
    const page = track(await gl.openPage(site.url('/ui/clean.html?check')));
    const tabId = await page.tabId();
    // What the context menu's check keeps for the popup (entrypoints/background/context-menu.ts).
    await gl.extensionEval((key, check) => browser.storage.session.set({ [key]: check }), `check:${tabId}`, {
      kind: 'text',
      snippet: 'GLTEST-S1 <i>a selected sentence</i>',
      status: 'flagged',
      categories: ['S1'],
      names: ['Violent Crimes'],
      action: 'blur',
      at: Date.now(),
    });
    const popup = track(await openPopup(gl, tabId));
    const raw = rawPage(popup);
    const card = raw.locator('.gl-check');
    await card.waitFor({ timeout: 10_000 });
    expect(await card.getByRole('heading').textContent()).toBe('Your check');
    expect(await card.locator('.gl-snippet').textContent()).toBe('GLTEST-S1 <i>a selected sentence</i>');
    expect(await card.locator('i').count()).toBe(0);
    expect(await card.locator('.gl-check-codes').textContent()).toBe('S1 Violent Crimes');
    const violations = await seriousViolations(popup);
    expect(violations, describeViolations(violations)).toEqual([]);
    await closeAll();
  });

  it('scan on demand: the popup says so, and "Scan now" checks the page', async () => {
    guard.reset();
    await gl.configure(
      { ...SETTINGS, baseUrl: guard.baseUrl, model: 'llama-guard-on-demand', scanOnDemand: true },
      API_KEY,
    );
    await settingsApplied('llama-guard-on-demand');
    const page = track(await gl.openPage(site.url('/ui/clean.html?on-demand')));
    const tabId = await page.tabId();
    const popup = track(await openPopup(gl, tabId));
    const raw = rawPage(popup);
    await raw.getByRole('heading', { name: 'Checks only when you ask' }).waitFor({ timeout: 10_000 });
    expect(guard.requests.filter((r) => r.method === 'POST')).toEqual([]);
    await raw.getByRole('button', { name: 'Scan now' }).click();
    await explain(gl, tabId, () =>
      raw.getByRole('heading', { name: 'Nothing flagged' }).waitFor({ timeout: 30_000 }),
    );
    expect(guard.requests.some((r) => r.method === 'POST')).toBe(true);
    await closeAll();
  });

  it('an endpoint error: what failed, how to fix it, and a way to the settings', async () => {
    await gl.configure({ ...SETTINGS, baseUrl: strict.baseUrl, model: 'llama-guard-strict' }, 'a-wrong-key');
    await settingsApplied('llama-guard-strict');
    const page = track(await gl.openPage(site.url('/ui/flagged.html?error')));
    const tabId = await page.tabId();
    await explain(gl, tabId, () => strict.waitForRequests(1, 30_000));
    const popup = track(await openPopup(gl, tabId));
    const raw = rawPage(popup);
    await explain(gl, tabId, () =>
      raw.getByRole('heading', { name: 'Checks are failing' }).waitFor({ timeout: 20_000 }),
    );
    const alert = raw.locator('.gl-status .gl-last-error');
    // What failed, in the messages file's words for the kind, then the endpoint's own message and the fix.
    expect(await alert.textContent()).toContain('Last error: The endpoint refused the API key');
    expect(await alert.textContent()).toContain('did not accept the API key');
    expect(await alert.getByRole('button', { name: 'Open the settings' }).isVisible()).toBe(true);
    const violations = await seriousViolations(popup);
    expect(violations, describeViolations(violations)).toEqual([]);
    await screenshot(popup, 'popup-error', { fullPage: true });
    await closeAll();
  });

  it('a page with more text than Guardlens checks on one page: says only part was checked, and how much not', async () => {
    guard.reset();
    await gl.configure({ ...SETTINGS, baseUrl: guard.baseUrl }, API_KEY);
    await settingsApplied(SETTINGS.model);
    const para = 'The harbour ferry leaves at seven and returns after the evening market closes. '
      .repeat(25)
      .trim();
    const texts: string[] = [];
    let total = 0;
    for (let i = 0; total < 1_150_000; i++) total += texts[texts.push(`${i}: ${para}`) - 1]!.length;
    site.route('/long.html', {
      body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Long</title></head><body>${texts
        .map((text) => `<p>${text}</p>`)
        .join('\n')}</body></html>`,
    });
    const page = track(await gl.openPage(site.url('/long.html')));
    const tabId = await page.tabId();
    const unchecked = (s: { unchecked?: Record<string, number> }) =>
      Object.values(s.unchecked ?? {}).reduce((a, b) => a + b, 0);
    const state = await explain(gl, tabId, () =>
      gl.waitForTabState(tabId, (s) => unchecked(s) > 0 && s.pending === 0, { timeoutMs: 90_000 }),
    );
    // Everything past the first 1,000,000 characters, give or take the paragraph that did not fit.
    expect(unchecked(state)).toBeGreaterThanOrEqual(total - 1_000_000);
    expect(unchecked(state)).toBeLessThanOrEqual(total - 1_000_000 + 2 * para.length);

    const popup = track(await openPopup(gl, tabId));
    const raw = rawPage(popup);
    const status = raw.locator('.gl-status');
    await status
      .getByRole('heading', { name: 'Nothing flagged in the part checked' })
      .waitFor({ timeout: 10_000 });
    // Not the green all-clear of a page checked in full.
    expect(await status.getAttribute('class')).not.toContain('gl-status-ok');
    expect(await status.locator('.gl-status-icon').textContent()).not.toBe('✓');
    const notice = await status.locator('.gl-partial').textContent();
    expect(notice).toContain('Only part of this page was checked');
    expect(notice).toContain('(1,000,000 characters)');
    expect(notice).toContain(`${unchecked(state).toLocaleString('en')} characters of it went unchecked`);
    const violations = await seriousViolations(popup);
    expect(violations, describeViolations(violations)).toEqual([]);
    await screenshot(popup, 'popup-partial', { fullPage: true });
    await closeAll();
  }, 150_000);

  it('reached for nothing but loopback', () => {
    expect(gl.unexpectedBlocked()).toEqual([]);
  });
});
