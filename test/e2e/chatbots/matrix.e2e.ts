/**
 * The prompt guard's full matrix, in Chromium and Firefox, on one site per editor kind: ChatGPT (ProseMirror, its
 * real captured composer and conversation), Gemini (Quill, its real conversation), Perplexity (Lexical) and
 * DeepSeek (textarea, an Enter handler that wants keyCode 13). Pages are served at the sites' real host names, so
 * the content script runs under its real match patterns.
 *
 * For each: a safe prompt is sent exactly once with the exact text (Enter, with a Shift+Enter newline in it, and
 * the send control); a flagged prompt is held with nothing sent and its text kept; "Send anyway" sends it once; an
 * IME composition neither sends nor checks; with the endpoint down, fail open sends with a notice and fail closed
 * holds with a Retry that sends once the endpoint is back; a finished reply with a trigger phrase is blurred.
 */
import type { Page as PwPage } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import {
  BROWSER_NAMES,
  type GuardlensBrowser,
  launchBrowser,
  type PageHandle,
  requireBuild,
} from '../harness';
import { type SiteServer, startSiteServer } from '../harness/sites';
import { fixture, fixtureHosts, serveFixtures } from './fixtures';
import {
  clickPanelButton,
  composerText,
  configureGuard,
  consoleTail,
  guardNotice,
  guardState,
  insertText,
  panelText,
  sent,
  settingsFor,
  userChecks,
  waitForGuardState,
  waitForSent,
} from './helpers';

const MATRIX = ['chatgpt', 'gemini', 'perplexity', 'deepseek'].map(fixture);
/** Chromium's own services (autofill lookups for the pages' form fields, component downloads), not Guardlens. */
const CHROMIUM_SERVICES = /(^|\.)(googleapis\.com|gvt1\.com)$/;

/** Types more text where the caret is (without refocusing the element). */
async function typeMore(page: PageHandle, text: string): Promise<void> {
  await (page.raw as { keyboard: { type(t: string): Promise<void> } }).keyboard.type(text);
}

/** Waits until the page has sent `n` prompts and its reply finished streaming, then returns what it sent. */
async function settledSends(page: PageHandle, n: number): Promise<Awaited<ReturnType<typeof sent>>> {
  await waitForSent(page, n);
  await page.waitForFunction(
    () =>
      !(window as unknown as { __busy: boolean }).__busy &&
      !document.querySelector('guardlens-prompt[data-state="checking"]'),
    { message: 'the reply to finish streaming' },
  );
  return sent(page);
}

describe.each(BROWSER_NAMES)('prompt guard matrix: %s', (name) => {
  let guard: GuardServer;
  let sites: SiteServer;
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    requireBuild(name);
    guard = await startGuardServer({ preloadTokenizer: true });
    sites = await startSiteServer(fixtureHosts(MATRIX));
    serveFixtures(sites, MATRIX);
    gl = await launchBrowser(name, { siteTunnel: sites.tunnel });
  });

  afterAll(async () => {
    await gl?.close();
    await sites?.close();
    await guard?.close();
  });

  describe.each(MATRIX)('$id', (f) => {
    let page: PageHandle;
    const tag = `${name}-${f.id}`;

    /** A fresh page with these settings (the background has taken them before the page asks). */
    async function open(extra: Record<string, unknown> = {}): Promise<void> {
      await configureGuard(gl, settingsFor(guard, extra), f.url);
      if (!page) page = await gl.openPage(f.url);
      else await page.goto(f.url);
      guard.reset();
    }

    beforeEach(async () => {
      await open();
    });

    afterAll(async () => {
      await page?.close();
    });

    it('sends safe prompts exactly once with the exact text: Enter (after a Shift+Enter newline), the send control', async () => {
      await page.type(f.composer, `first line ${tag}`);
      await page.press('Shift+Enter');
      await typeMore(page, 'second line');
      expect(await composerText(page, f.composer)).toBe(`first line ${tag}\nsecond line`);
      expect(await sent(page)).toEqual([]);
      await page.press('Enter');
      let out = await settledSends(page, 1).catch(async (e: Error) => {
        throw new Error(`${e.message}\nstate ${await guardState(page)}\n${consoleTail(gl)}`);
      });
      expect(out.map((s) => s.text)).toEqual([`first line ${tag}\nsecond line`]);
      expect(userChecks(guard)).toEqual([`first line ${tag} second line`]);
      expect(await guardState(page)).toBe('idle');

      await insertText(page, f.composer, `clicked ${tag}`);
      await page.click(f.send);
      out = await settledSends(page, 2);
      expect(out.map((s) => s.text)).toEqual([`first line ${tag}\nsecond line`, `clicked ${tag}`]);
      expect(['click', 'submit', 'enter']).toContain(out[1]!.via);
      expect(userChecks(guard)).toEqual([`first line ${tag} second line`, `clicked ${tag}`]);
    });

    it('holds a flagged prompt (nothing sent, the category named, the text kept); "Send anyway" sends it once', async () => {
      const text = `how to GLTEST-S1 ${tag}`;
      await insertText(page, f.composer, text);
      await page.press('Enter');
      await waitForGuardState(page, 'blocked');
      expect(await panelText(page)).toMatch(/S1/);
      expect(await sent(page)).toEqual([]);
      expect(await composerText(page, f.composer)).toBe(text);
      await clickPanelButton(page, 'edit');
      await waitForGuardState(page, 'idle');
      expect(await composerText(page, f.composer)).toBe(text);
      expect(
        await page.evaluate(
          (sel: string) => document.querySelector(sel)?.contains(document.activeElement),
          f.composer,
        ),
      ).toBe(true);
      // Enter again: held again (the verdict comes from the cache), then sent on the person's word.
      await page.press('Enter');
      await waitForGuardState(page, 'blocked');
      expect(await sent(page)).toEqual([]);
      await clickPanelButton(page, 'send-anyway');
      const out = await settledSends(page, 1);
      expect(out.map((s) => s.text)).toEqual([text]);
      expect(await guardState(page)).toBe('idle');
    });

    it('an IME composition neither sends nor triggers a check', async () => {
      await insertText(page, f.composer, `kana ${tag} `);
      if (name === 'chromium') {
        const raw = page.raw as PwPage;
        const cdp = await raw.context().newCDPSession(raw);
        await cdp.send('Input.imeSetComposition', { text: 'にほんご', selectionStart: 4, selectionEnd: 4 });
        await page.press('Enter');
        await page.waitForFunction(() => window.__keys.some((k) => k.composing));
        expect(await sent(page)).toEqual([]);
        expect(await guardState(page)).toBe('idle');
        await cdp.send('Input.insertText', { text: 'にほんご' });
        await cdp.detach();
      } else {
        // Firefox over WebDriver BiDi has no IME: the events an IME makes, from the page.
        await page.evaluate((sel: string) => {
          const el = document.querySelector(sel)!;
          el.dispatchEvent(new CompositionEvent('compositionstart', { bubbles: true, data: '' }));
          el.dispatchEvent(
            new KeyboardEvent('keydown', {
              key: 'Enter',
              code: 'Enter',
              keyCode: 229,
              isComposing: true,
              bubbles: true,
              cancelable: true,
            }),
          );
          el.dispatchEvent(new CompositionEvent('compositionend', { bubbles: true, data: 'にほんご' }));
        }, f.composer);
        await page.waitForFunction(() => window.__keys.some((k) => k.composing));
        expect(await sent(page)).toEqual([]);
        expect(await guardState(page)).toBe('idle');
      }
      expect(userChecks(guard)).toEqual([]);
      // A later Enter (not the one ending the composition) sends as usual.
      await page.waitForFunction(() => {
        const at = (window as unknown as { __compositionEndAt: number }).__compositionEndAt;
        return at > 0 && performance.now() - at > 80;
      });
      await page.press('Enter');
      const out = await settledSends(page, 1);
      expect(out).toHaveLength(1);
      expect(out[0]!.text.startsWith(`kana ${tag}`)).toBe(true);
      expect(userChecks(guard)).toHaveLength(1);
    });

    it('fails open when the endpoint is down: the prompt is sent once, with a notice', async () => {
      guard.injectFault({ kind: 'status', status: 503, times: 100 });
      try {
        const text = `endpoint down ${tag}`;
        await insertText(page, f.composer, text);
        await page.press('Enter');
        const out = await settledSends(page, 1);
        expect(out.map((s) => s.text)).toEqual([text]);
        await page
          .waitForFunction(() => document.querySelector('guardlens-prompt')?.getAttribute('data-notice'))
          .catch(async (e: Error) => {
            const seen = guard.requests.map((r) => `${r.role} ${r.status} ${r.fault ?? ''} ${r.text}`);
            const keys = await page.evaluate(() => JSON.stringify([window.__sent, window.__keys]));
            throw new Error(
              `${e.message}\npage: ${keys}\nrequests: ${JSON.stringify(seen)}\n${consoleTail(gl)}`,
            );
          });
        expect(await guardNotice(page)).toBe('unchecked');
      } finally {
        guard.clearFaults();
      }
    });

    it('fails closed when the endpoint is down: held with Retry, which sends once it is back', async () => {
      await open({ failMode: 'closed' });
      guard.injectFault({ kind: 'status', status: 503, times: 100 });
      const text = `closed and down ${tag}`;
      try {
        await insertText(page, f.composer, text);
        await page.press('Enter');
        await waitForGuardState(page, 'failed');
        expect(await sent(page)).toEqual([]);
        expect(await composerText(page, f.composer)).toBe(text);
      } finally {
        guard.clearFaults();
      }
      await clickPanelButton(page, 'retry');
      const out = await settledSends(page, 1);
      expect(out.map((s) => s.text)).toEqual([text]);
    });

    it('blurs a finished reply that carries a trigger phrase, checked only once it finished', async () => {
      await open({ checkReplies: true });
      const prompt = `tell me about widgets REPLY-TRIGGER ${tag}`;
      await insertText(page, f.composer, prompt);
      await page.press('Enter');
      await settledSends(page, 1);
      const categories = await page
        .waitForFunction(
          (sel: string) => {
            const replies = document.querySelectorAll(sel);
            const last = replies[replies.length - 1];
            return (
              last?.getAttribute('data-guardlens') === 'flagged' &&
              last.getAttribute('data-guardlens-categories')
            );
          },
          { timeoutMs: 15_000, message: 'the reply to be flagged' },
          f.reply,
        )
        .catch(async (e: Error) => {
          const replies = await page.evaluate(
            (sel: string) =>
              [...document.querySelectorAll(sel)].map(
                (r) => `${r.getAttribute('data-guardlens')}: ${r.textContent}`,
              ),
            f.reply,
          );
          const seen = guard.requests.map((r) => `${r.role} ${r.status} ${r.text}`);
          throw new Error(
            `${e.message}\nreplies: ${JSON.stringify(replies)}\nrequests: ${JSON.stringify(seen)}\n${consoleTail(gl)}`,
          );
        });
      expect(categories).toBe('S2');
      const agent = guard.requests.filter((r) => r.role === 'Agent' && r.text?.includes('GLTEST-S2'));
      expect(agent.length).toBeGreaterThan(0);
      // Checked once it had finished: never a partial text.
      for (const r of agent) expect(r.text).toMatch(/GLTEST-S2 appears here\.$/);
      const filter = await page.evaluate((sel: string) => {
        const replies = document.querySelectorAll(sel);
        return getComputedStyle(replies[replies.length - 1]!).filter;
      }, f.reply);
      expect(filter).toContain('blur');
    });
  });

  it('reached nothing beyond loopback and the tunnelled sites', () => {
    const other = gl.unexpectedBlocked().filter((r) => !CHROMIUM_SERVICES.test(r.host));
    expect(other.map((r) => `${r.method} ${r.host}:${r.port}`)).toEqual([]);
  });
});
