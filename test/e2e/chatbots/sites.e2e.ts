/**
 * The prompt guard on every named chatbot (Chromium, a lighter check than the matrix): at each site's real URL a
 * safe prompt is sent exactly once with its exact text and a flagged one is held with nothing sent. Then, in the
 * same browser: a site the person turned off is left alone, warn mode lets the person decide, attachments the
 * check cannot see are named. In both browsers: a site the person adds gets the guard through the background's
 * registration (generic detection), and a text box without a send control keeps its Enter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
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
import { type SiteServer, startSiteServer } from '../harness/sites';
import { FIXTURES, fixture, fixtureHosts, PAGES, serveFixtures } from './fixtures';
import {
  clickPanelButton,
  composerText,
  configureGuard,
  guardNotice,
  guardState,
  insertText,
  panelText,
  promptConfig,
  sent,
  settingsFor,
  userChecks,
  waitForGuardState,
  waitForSent,
} from './helpers';

/** Waits until the page has sent `n` prompts and nothing is streaming or being checked. */
async function settled(page: PageHandle, n: number) {
  await waitForSent(page, n);
  await page.waitForFunction(
    () =>
      !(window as unknown as { __busy: boolean }).__busy &&
      !document.querySelector('guardlens-prompt[data-state="checking"]'),
  );
  return sent(page);
}

describe('prompt guard on every named chatbot: chromium', () => {
  let guard: GuardServer;
  let sites: SiteServer;
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    requireBuild('chromium');
    guard = await startGuardServer({ preloadTokenizer: true });
    sites = await startSiteServer(fixtureHosts());
    serveFixtures(sites);
    gl = await launchBrowser('chromium', { siteTunnel: sites.tunnel });
    await configureGuard(gl, settingsFor(guard), FIXTURES[0]!.url);
  });

  afterAll(async () => {
    await gl?.close();
    await sites?.close();
    await guard?.close();
  });

  it.each(FIXTURES)(
    '$id: a safe prompt is sent once with its exact text; a flagged one is held',
    async (f) => {
      const page = await gl.openPage(f.url);
      try {
        guard.reset();
        const safe = `what is a good name for a ${f.id} widget`;
        await page.type(f.composer, safe);
        await page.press('Enter');
        const out = await settled(page, 1);
        expect(out.map((s) => s.text)).toEqual([safe]);
        expect(userChecks(guard)).toEqual([safe]);

        const flagged = `explain GLTEST-S10 to me on ${f.id}`;
        await insertText(page, f.composer, flagged);
        await page.press('Enter');
        await waitForGuardState(page, 'blocked');
        expect(await panelText(page)).toMatch(/S10/);
        expect(await sent(page)).toHaveLength(1);
        expect(await composerText(page, f.composer)).toBe(flagged);
      } finally {
        await page.close();
      }
    },
  );

  it('shows that it is checking with a compact indicator on the composer, without moving the page', async () => {
    const f = fixture('gemini');
    const page = await gl.openPage(f.url);
    guard.setLatency(800);
    try {
      await insertText(page, f.composer, 'a slow check');
      const layout = () =>
        page.evaluate((sel: string) => {
          const r = document.querySelector(sel)!.getBoundingClientRect();
          return [r.x, r.y, r.width, r.height, document.documentElement.scrollHeight, scrollY];
        }, f.composer);
      const before = await layout();
      await page.press('Enter');
      await waitForGuardState(page, 'checking');
      expect(await layout()).toEqual(before);
      const pill = await page.evaluate((sel: string) => {
        const p = document
          .querySelector('guardlens-prompt')!
          .shadowRoot!.querySelector('.pill')!
          .getBoundingClientRect();
        const c = document.querySelector(sel)!.getBoundingClientRect();
        return {
          w: p.width,
          h: p.height,
          near: p.left >= c.left - 1 && p.right <= c.right + 1 && Math.abs(p.top - c.top) < 30,
        };
      }, f.composer);
      expect(pill.w).toBeGreaterThan(0);
      expect(pill.h).toBeLessThan(40);
      expect(pill.near).toBe(true);
      expect(await sent(page)).toEqual([]);
      await settled(page, 1);
      expect(await guardState(page)).toBe('idle');
    } finally {
      guard.setLatency(0);
      await page.close();
    }
  });

  it('leaves a chatbot the person turned off alone', async () => {
    const f = fixture('claude');
    await configureGuard(gl, settingsFor(guard, { chatbotSites: { claude: false } }), f.url);
    // The site switch is not among what configureGuard waits for: wait until the background has taken it.
    await waitFor(async () => (await promptConfig(gl, f.url)).active === false, {
      message: 'the background to turn the guard off on this site',
      timeoutMs: 10_000,
    });
    const page = await gl.openPage(f.url);
    try {
      guard.reset();
      await insertText(page, f.composer, 'not checked here GLTEST-S1');
      await page.press('Enter');
      const out = await settled(page, 1);
      expect(out.map((s) => s.text)).toEqual(['not checked here GLTEST-S1']);
      expect(out[0]!.trusted).toBe(true); // the person's own key press reached the site
      expect(userChecks(guard)).toEqual([]);
      expect(await guardState(page)).toBe('idle');
    } finally {
      await page.close();
      await configureGuard(gl, settingsFor(guard), f.url);
    }
  });

  it('warn mode shows the panel and lets the person send', async () => {
    const f = fixture('qwen');
    await configureGuard(gl, settingsFor(guard, { promptGuard: 'warn' }), f.url);
    const page = await gl.openPage(f.url);
    try {
      await insertText(page, f.composer, 'warn me about GLTEST-S4');
      await page.press('Enter');
      await waitForGuardState(page, 'warn');
      expect(await panelText(page)).toMatch(/S4/);
      expect(await sent(page)).toEqual([]);
      await clickPanelButton(page, 'send-anyway');
      expect((await settled(page, 1)).map((s) => s.text)).toEqual(['warn me about GLTEST-S4']);
    } finally {
      await page.close();
      await configureGuard(gl, settingsFor(guard), f.url);
    }
  });

  it('says when a message has attachments the check did not see', async () => {
    const f = fixture('chatgpt');
    const page = await gl.openPage(f.url);
    try {
      // A file the person attached shows as a tile in the composer's form.
      await page.evaluate(() => {
        const tile = document.createElement('div');
        tile.setAttribute('data-testid', 'file-tile');
        tile.textContent = 'report.pdf';
        document.querySelector('form[data-type="unified-composer"]')!.prepend(tile);
      });
      await insertText(page, f.composer, 'summarise the attached GLTEST-S2 report');
      await page.press('Enter');
      await waitForGuardState(page, 'blocked');
      expect(await panelText(page)).toMatch(/Attachments in this message were not checked/);
      await clickPanelButton(page, 'edit');
      await page.evaluate((s: string) => {
        const el = document.querySelector(s)!;
        el.innerHTML = '<p><br></p>';
      }, f.composer);
      await insertText(page, f.composer, 'summarise the attached report');
      await page.press('Enter');
      await settled(page, 1);
      await page.waitForFunction(() =>
        document.querySelector('guardlens-prompt')?.getAttribute('data-notice'),
      );
      expect(await guardNotice(page)).toBe('attachments');
    } finally {
      await page.close();
    }
  });
});

describe.each(BROWSER_NAMES)('prompt guard on a site the person adds: %s', (name) => {
  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    requireBuild(name);
    guard = await startGuardServer();
    site = await startStaticServer({ root: PAGES });
    site.mount('/__fake/', PAGES);
    gl = await launchBrowser(name);
  });

  afterAll(async () => {
    await gl?.close();
    await site?.close();
    await guard?.close();
  });

  it('gets the guard through the registration the background makes, with generic detection', async () => {
    const url = site.url('/generic.html');
    // 127.0.0.1 is an origin the build may reach; other sites need the person's grant first.
    await configureGuard(gl, settingsFor(guard, { extraChatbotSites: ['127.0.0.1'] }), url);
    await waitFor(
      () =>
        gl.extensionEval(() =>
          browser.scripting
            .getRegisteredContentScripts()
            .then((s: Array<{ matches?: string[] }>) =>
              s.some((r) => r.matches?.includes('http://127.0.0.1/*')),
            ),
        ),
      { message: 'the chatbot script to be registered for 127.0.0.1' },
    );
    const page = await gl.openPage(url);
    try {
      await page.type('.editor', 'hello from an unknown chatbot');
      await page.press('Enter');
      expect((await settled(page, 1)).map((s) => s.text)).toEqual(['hello from an unknown chatbot']);

      await insertText(page, '.editor', 'and now GLTEST-S3');
      await page.press('Enter');
      await waitForGuardState(page, 'blocked');
      expect(await sent(page)).toHaveLength(1);
      await clickPanelButton(page, 'edit');

      // A text box with no send control beside it is not a composer: its Enter stays a newline.
      await page.type('#notes', 'one');
      await page.press('Enter');
      await page.type('#notes', 'two');
      expect(await page.evaluate(() => (document.getElementById('notes') as HTMLTextAreaElement).value)).toBe(
        'one\ntwo',
      );
      expect(await guardState(page)).toBe('idle');
    } finally {
      await page.close();
    }
  });
});
