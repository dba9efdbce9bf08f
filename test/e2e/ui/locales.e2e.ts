/**
 * The popup and the options page in real Chromium whose UI language is German, Thai and Hindi (the harness's `lang`
 * launch option): the pages say they are in that language, show that locale's messages (compared with
 * `public/_locales/<lang>/messages.json`) with its numbers and plural forms, pass axe with no serious violation,
 * and lay out long German words and Thai script without anything cut off, pushed out or drawn over something
 * else; screenshots of both go to docs/screenshots/ (`popup-flagged-<lang>`, `options-<lang>`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import {
  type GuardlensBrowser,
  launchBrowser,
  type PageHandle,
  REPO_ROOT,
  requireBuild,
  type StaticServer,
  startStaticServer,
} from '../harness';
import {
  describeLayoutProblems,
  describeViolations,
  explain,
  fitsWidth,
  layoutProblems,
  openPopup,
  POPUP_WIDTH,
  rawPage,
  screenshot,
  seriousViolations,
  UI_PAGES_DIR,
} from './support';

interface Entry {
  message: string;
  placeholders?: Record<string, { content: string }>;
}

function readMessages(locale: string): Record<string, Entry> {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'public/_locales', locale, 'messages.json'), 'utf8'));
}

const EN = readMessages('en');

interface Flagged {
  ref: string;
  categories: string[];
}

describe.each(['de', 'th', 'hi'] as const)('popup and options in %s (chromium)', (lang) => {
  const messages = readMessages(lang);
  /** The locale's message `key` as the browser fills it (`$1`… in the placeholders' order). */
  const m = (key: string, ...subs: string[]): string => {
    const entry = messages[key] ?? EN[key];
    expect(entry, key).toBeDefined();
    return entry!.message.replace(/\$([A-Za-z0-9_]+)\$/g, (whole, name: string) => {
      const content = entry!.placeholders?.[name.toLowerCase()]?.content;
      return content ? content.replace(/\$(\d)/g, (_, n: string) => subs[Number(n) - 1] ?? '') : whole;
    });
  };
  /** The form `count` takes in the locale, as `plural()` picks it. */
  const plural = (count: number, one: string, many: string) =>
    m(
      new Intl.PluralRules(lang).select(count) === 'one' ? one : many,
      new Intl.NumberFormat(lang).format(count),
    );

  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;
  const open: PageHandle[] = [];
  const track = (page: PageHandle) => {
    open.push(page);
    return page;
  };

  beforeAll(async () => {
    requireBuild('chromium');
    [guard, site] = await Promise.all([startGuardServer(), startStaticServer()]);
    site.mount('/ui/', UI_PAGES_DIR);
    gl = await launchBrowser('chromium', { lang });
  });

  afterAll(async () => {
    for (const page of open.splice(0)) await page.close().catch(() => undefined);
    await gl?.close();
    await Promise.all([site?.close(), guard?.close()]);
  });

  it('the browser speaks the language, in extension pages and the background alike', async () => {
    const language = await gl.extensionEval(() => [
      browser.i18n.getUILanguage(),
      browser.i18n.getMessage('extDescription'),
    ]);
    expect(language).toEqual([lang, messages.extDescription!.message]);
    const worker = await gl.chromium!.serviceWorker();
    expect(
      await worker.evaluate(() =>
        (globalThis as unknown as { chrome: typeof browser }).chrome.i18n.getUILanguage(),
      ),
    ).toBe(lang);
  });

  it('the popup of a flagged page: its words, numbers and category names in the language; axe; nothing cut off', async () => {
    await gl.configure(
      {
        provider: 'custom',
        model: 'llama-guard-test',
        guardModel: 'llama-guard-3-8b',
        requestMode: 'chat',
        baseUrl: guard.baseUrl,
      },
      'test-key',
    );
    const page = track(await gl.openPage(site.url('/ui/flagged.html')));
    const tabId = await page.tabId();
    const state = await explain(gl, tabId, () =>
      gl.waitForTabState(
        tabId,
        (s) =>
          s.pending === 0 &&
          ['S1', 'S2', 'S10'].every((c) => (s.flagged as Flagged[]).some((f) => f.categories.includes(c))),
        { timeoutMs: 45_000 },
      ),
    );
    const flagged = (state.flagged as Flagged[]).length;

    const popup = track(await openPopup(gl, tabId, { height: 640 }));
    const raw = rawPage(popup);
    expect(await raw.evaluate(() => document.documentElement.lang)).toBe(lang);
    const status = raw.locator('.gl-status');
    await explain(gl, tabId, () =>
      status
        .getByRole('heading', {
          name: plural(flagged, 'popup_state_flagged_one', 'popup_state_flagged_many'),
        })
        .waitFor({ timeout: 15_000 }),
    );
    const summaries = await raw.locator('.gl-cat summary').allTextContents();
    expect(summaries).toHaveLength(3);
    expect(summaries[0]).toContain(m('cat_lg3_S1_name'));
    expect(summaries[1]).toContain(m('cat_lg3_S2_name'));
    expect(summaries[2]).toContain(m('cat_lg3_S10_name'));
    // The category's description is its tooltip.
    expect(await raw.locator('.gl-cat summary').first().getAttribute('title')).toContain(
      m('cat_lg3_S1_desc').slice(0, 20),
    );
    for (const key of [
      'popup_rescan',
      'popup_pause',
      'popup_settings',
      'popup_endpoint_title',
      'popup_usage_title',
    ])
      expect(await raw.getByText(m(key), { exact: true }).count(), key).toBeGreaterThan(0);
    const facts = (await raw.locator('.gl-facts').textContent()) ?? '';
    expect(facts).toContain(m('popup_endpoint_latency'));
    // Nothing of English's own left on the page, where the locale says it otherwise.
    const text = ((await raw.locator('main').textContent()) ?? '').replace(/\s+/g, ' ');
    for (const key of [
      'popup_rescan',
      'popup_pause',
      'popup_settings',
      'popup_endpoint_title',
      'cat_lg3_S1_name',
    ])
      if (EN[key]!.message !== messages[key]!.message) expect(text, key).not.toContain(EN[key]!.message);

    // The first category opened, with its items and their buttons.
    await raw.locator('.gl-cat summary').first().click();
    await raw.locator('.gl-cat').first().locator('.gl-item').first().waitFor();
    expect(
      await raw
        .locator('.gl-cat')
        .first()
        .getByRole('button', { name: m('popup_reveal') })
        .count(),
    ).toBeGreaterThan(0);

    const width = await fitsWidth(popup);
    expect(width.clientWidth).toBe(POPUP_WIDTH);
    expect(width.scrollWidth).toBeLessThanOrEqual(width.clientWidth);
    const layout = await layoutProblems(popup, 'main.gl-popup');
    expect(layout, describeLayoutProblems(layout)).toEqual([]);
    const violations = await seriousViolations(popup);
    expect(violations, describeViolations(violations)).toEqual([]);
    await screenshot(popup, `popup-flagged-${lang}`, { fullPage: true });

    // The check sees what it is for: a word longer than the popup in a title, a button and a fact stays inside
    // its box (the styles wrap it) …
    const LONG = {
      hi: 'अंतरराष्ट्रीयकरणसंबंधीविशेषज्ञसलाहकारसमितिकीरिपोर्ट',
      de: 'Rechtsschutzversicherungsgesellschaftenbeschwerdestelle',
      th: 'การตรวจสอบเนื้อหาที่ไม่ปลอดภัยโดยอัตโนมัติทั้งหมดในหน้านี้',
    }[lang];
    await raw.evaluate((word: string) => {
      document.querySelector('.gl-status-title')!.append(` ${word}`);
      document.querySelector('.gl-facts dd')!.append(` ${word}`);
      document.querySelector('.gl-popup button')!.append(` ${word}`);
    }, LONG);
    const stressed = await layoutProblems(popup, 'main.gl-popup');
    expect(stressed, describeLayoutProblems(stressed)).toEqual([]);
    expect((await fitsWidth(popup)).scrollWidth).toBeLessThanOrEqual(POPUP_WIDTH);
    // … and text that does not fit or lies over other text is reported.
    await raw.evaluate((word: string) => {
      const nowrap = document.createElement('p');
      nowrap.style.cssText = 'white-space: nowrap; overflow-wrap: normal; width: 100px';
      nowrap.textContent = word;
      const over = document.createElement('p');
      over.style.cssText = 'position: relative; top: -2.2em';
      over.textContent = word;
      document.querySelector('.gl-status')!.after(nowrap, over);
    }, LONG);
    const broken = await layoutProblems(popup, 'main.gl-popup');
    expect(broken.map((p) => p.problem)).toEqual(expect.arrayContaining(['overflows', 'overlaps']));
  });

  it('the options page: its headings and labels in the language; axe; nothing cut off', async () => {
    const page = track(await gl.openExtensionPage('/options.html'));
    const raw = rawPage(page);
    await raw.setViewportSize({ width: 1100, height: 900 });
    await raw.emulateMedia({ colorScheme: 'light' });
    await raw.locator('#endpoint').waitFor();
    expect(await raw.evaluate(() => document.documentElement.lang)).toBe(lang);
    expect(await raw.locator('h1').first().textContent()).toBe(m('options_title'));
    expect(await raw.locator('section.gl-card > h2').allTextContents()).toEqual(
      [
        'options_endpoint_title',
        'options_policy_title',
        'options_prompt_title',
        'options_scanning_title',
        'options_privacy_title',
        'options_budget_title',
        'options_history_title',
        'options_backup_title',
      ].map((key) => m(key)),
    );
    const width = await fitsWidth(page);
    expect(width.scrollWidth).toBeLessThanOrEqual(width.clientWidth);
    const layout = await layoutProblems(page, 'body');
    expect(layout, describeLayoutProblems(layout)).toEqual([]);
    const violations = await seriousViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);
    await raw.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, `options-${lang}`);

    // An invalid number says its limits as the language writes numbers.
    await raw.locator('#chunkTokens').fill('50');
    const format = new Intl.NumberFormat(lang);
    expect(await raw.locator('#chunkTokens-invalid').textContent()).toBe(
      m('options_number_invalid', format.format(200), format.format(100_000)),
    );
    await raw.locator('#chunkTokens').fill('1500');
    await raw.locator('#chunkTokens-invalid').waitFor({ state: 'detached' });
  });

  it('reached for nothing but loopback', () => {
    expect(gl.unexpectedBlocked()).toEqual([]);
  });
});
