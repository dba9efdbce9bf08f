/**
 * Hostile pages cannot turn Guardlens against the person, in real Chromium and Firefox:
 * - markup and script in page text and alt text are flagged and shown in the popup and the history as inert
 *   text (no element or attribute of theirs appears, no dialog opens);
 * - a page that posts window messages, dispatches Guardlens-looking events (WXT's own event names included),
 *   clicks labels from script, plants `data-guardlens-revealed` or marks of its own, or hides its text behind
 *   `data-guardlens-ui`, reveals nothing, causes no extra request to the endpoint, changes no setting, and finds
 *   no result or setting to read beyond the documented attributes;
 * - a page that removes the stylesheet, the attributes and the label, or overrides the blur with inline styles,
 *   classes and its own rules, has the element blurred again at once — even when it keeps doing so in a loop —
 *   until the person's own (trusted) click reveals it.
 * - WXT's own page-forgeable signals (a "newer script started" event, a location-change event) and sentences
 *   dressed up as markup change nothing: the scripts keep their own lifetime (`utils/lifetime.ts`), compare
 *   `location.href` themselves, and only tags a script printed are left out of what is sent; and a page that
 *   listens on its window hears nothing that names the extension.
 */
import path from 'node:path';
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
import {
  API_KEY,
  baseSettings,
  buildDir,
  makePng,
  pageStats,
  scriptErrors,
  sentTexts,
  waitForSettled,
} from '../page/helpers';
import {
  DOCUMENTED_ATTRIBUTES,
  elementView,
  labelButton,
  pageReadable,
  personClick,
  recordDialogs,
} from './hostile-helpers';

const PAGES = path.join(import.meta.dirname, 'pages');

/** The flagged paragraphs' words beside their markup (the markup itself may be left out of what is sent). */
const SENTENCES = ['GLTEST-S1 markup in a paragraph', 'GLTEST-S10 a script tag as text', 'GLTEST-S2'];
const ALT = '<img src=x onerror="alert(4)">GLTEST-S9 <svg onload=alert(5)>';

/** In an extension page: elements or attributes a payload would have brought, and whether any of it ran. */
function injected(page: PageHandle): Promise<{ elements: number; pwned: unknown }> {
  return page.evaluate(
    () =>
      new Promise<{ elements: number; pwned: unknown }>((resolve) =>
        // Give an onerror handler, had one been created, the time to fire.
        setTimeout(
          () =>
            resolve({
              elements: document.querySelectorAll(
                '[onerror], [onload], img[src="x"], svg[onload], a[href^="javascript:"], body script:not([src])',
              ).length,
              pwned: (window as unknown as { __glPwned?: unknown }).__glPwned ?? null,
            }),
          300,
        ),
      ),
  );
}

describe.each(BROWSER_NAMES)('hostile pages: %s', (name) => {
  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    guard = await startGuardServer();
    site = await startStaticServer({ root: PAGES });
    site.route('/img/plain.png', { body: makePng(240, 160, [40, 120, 200]), contentType: 'image/png' });
    gl = await launchBrowser(name, { extensionPath: buildDir(name) });
    await gl.configure(baseSettings(guard, { categoryActions: { S11: 'hide' } }), API_KEY);
  });

  afterAll(async () => {
    await gl?.close();
    await site?.close();
    await guard?.close();
  });

  it('flags markup and script in text and alt text, and shows them as inert text in the popup and history', async () => {
    const page = await gl.openPage(site.url('/hostile-payload.html'));
    const dialogs = recordDialogs(page);
    const pages: PageHandle[] = [page];
    try {
      const tabId = await page.tabId();
      const state = await gl.waitForTabState(
        tabId,
        (s) => s.flagged?.length === 4 && s.flagged.some((f: { kind: string }) => f.kind === 'image'),
        { timeoutMs: 30_000, message: 'the three paragraphs and the image to be flagged' },
      );
      expect(Object.keys(state.categoryCounts).sort()).toEqual(['S1', 'S10', 'S2', 'S9']);
      for (const id of ['p1', 'p2', 'p3']) expect((await elementView(page, id)).flag).toBe('flagged');
      expect((await elementView(page, 'plain')).flag).toBeNull();

      // The popup (in a tab, for this tab): every snippet as written, nothing of it became markup.
      const popup = await gl.openExtensionPage(`/popup.html?tabId=${tabId}`);
      pages.push(popup);
      const popupDialogs = recordDialogs(popup);
      const snippets = await popup.waitForFunction(
        () => {
          const all = [...document.querySelectorAll('.gl-snippet')].map((s) => s.textContent ?? '');
          return all.length >= 4 ? all : null;
        },
        { timeoutMs: 15_000, message: 'the popup to list the flagged items' },
      );
      // The scanner may leave out markup-looking tags from what it sends; what it sent is shown as written.
      const listed = JSON.stringify(snippets);
      for (const sentence of SENTENCES)
        expect(
          snippets.some((s) => s.includes(sentence)),
          `${sentence} in ${listed}`,
        ).toBe(true);
      expect(snippets.some((s) => s.includes(ALT))).toBe(true);
      expect(await injected(popup)).toEqual({ elements: 0, pwned: null });

      // The history on the options page: the same, as text.
      const options = await gl.openExtensionPage('/options.html#history');
      pages.push(options);
      const optionsDialogs = recordDialogs(options);
      const cells = await options.waitForFunction(
        () => {
          const all = [...document.querySelectorAll('.gl-history-table .gl-snippet-cell')].map(
            (c) => c.textContent ?? '',
          );
          return all.length >= 4 ? all : null;
        },
        { timeoutMs: 15_000, message: 'the history to list the flagged items' },
      );
      for (const sentence of [...SENTENCES, ALT])
        expect(
          cells.some((c) => c.includes(sentence)),
          `${sentence} in ${JSON.stringify(cells)}`,
        ).toBe(true);
      expect(await injected(options)).toEqual({ elements: 0, pwned: null });

      expect(
        await page.evaluate(() => (window as unknown as { __glPwned?: unknown }).__glPwned ?? null),
      ).toBeNull();
      expect([...dialogs, ...popupDialogs, ...optionsDialogs]).toEqual([]);
      expect(scriptErrors(gl)).toEqual([]);
    } finally {
      for (const p of pages.reverse()) await p.close().catch(() => {});
    }
  });

  it('a page pretending to be Guardlens reveals nothing, asks for nothing, changes nothing and reads nothing', async () => {
    const page = await gl.openPage(site.url('/hostile-forgery.html'));
    const dialogs = recordDialogs(page);
    try {
      const tabId = await page.tabId();
      // The page's own "own UI" attribute and element hide nothing from scanning.
      await gl.waitForTabState(tabId, (s) => s.flagged?.length === 3, {
        timeoutMs: 30_000,
        message: 'bad, planted and inhost to be flagged',
      });
      await waitForSettled(gl, tabId, { guard });
      for (const id of ['bad', 'planted', 'inhost'])
        expect((await elementView(page, id)).filter).toContain('blur');
      const before = {
        state: await gl.tabState(tabId),
        requests: guard.requests.length,
        stats: await pageStats(gl, tabId),
        stored: await gl.extensionEval(() => browser.storage.local.get(['settings', 'apiKey'])),
      };

      const stillEnforced = async (phase: string) => {
        for (const id of ['bad', 'planted', 'inhost']) {
          const view = await elementView(page, id);
          expect(view, `${phase}: ${id}`).toMatchObject({ flag: 'flagged', revealed: false });
          expect(view.filter, `${phase}: ${id}`).toContain('blur');
        }
      };

      await page.evaluate(() => {
        const bad = document.getElementById('bad')!;
        // Window messages shaped like the extension's protocol.
        for (const type of ['page:rescan', 'page:verdicts', 'page:scan-now', 'settings:set', 'page:reveal'])
          window.postMessage(
            { id: 1, type, data: { verdicts: [], settings: { enabled: false } }, timestamp: Date.now() },
            '*',
          );
        // Script "clicks" and keys on the labels and the flagged element.
        const root = [...document.querySelectorAll('guardlens-ui')].find((h) => h.shadowRoot)?.shadowRoot;
        for (const button of root?.querySelectorAll('button') ?? []) {
          button.click();
          button.dispatchEvent(new MouseEvent('click', { bubbles: true, composed: true }));
          button.focus();
          button.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, composed: true }));
          button.dispatchEvent(new KeyboardEvent('keyup', { key: 'Enter', bubbles: true, composed: true }));
        }
        bad.click();
        // Planted attributes: a "revealed" flagged element, an innocent paragraph marked as flagged.
        bad.setAttribute('data-guardlens-revealed', '');
        const innocent = document.getElementById('innocent')!;
        innocent.setAttribute('data-guardlens', 'flagged');
        innocent.setAttribute('data-guardlens-categories', 'S1 S3');
        innocent.setAttribute('data-guardlens-action', 'label');
      });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await stillEnforced('messages, script clicks, planted attributes');

      // The label is still there, with its button.
      await waitFor(() => labelButton(page, 'bad', 'Violent'), {
        timeoutMs: 15_000,
        message: 'the label of #bad',
      });
      // Planted marks are not results: the tab still has the same three, and no request went out for them.
      const after = await gl.tabState(tabId);
      expect(after.flagged.length).toBe(3);
      expect(after.categoryCounts).toEqual(before.state.categoryCounts);
      expect(guard.requests.length).toBe(before.requests);
      expect((await pageStats(gl, tabId)).blocksSent).toBe(before.stats.blocksSent);
      expect(await gl.extensionEval(() => browser.storage.local.get(['settings', 'apiKey']))).toEqual(
        before.stored,
      );

      // What the page can read: documented attributes only; no endpoint, key, model or verdict data.
      const readable = await pageReadable(page);
      expect(readable.globals).toEqual([]);
      for (const attribute of readable.attributes) expect(DOCUMENTED_ATTRIBUTES).toContain(attribute);
      for (const secret of [guard.baseUrl, API_KEY, 'llama-guard', '127.0.0.1:', 'unsafe\n'])
        expect(readable.text).not.toContain(secret);
      expect(dialogs).toEqual([]);
      expect(scriptErrors(gl)).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a page that undoes the blur has it put back at once, until the person reveals it with a real click', async () => {
    const page = await gl.openPage(site.url('/hostile-tamper.html'));
    try {
      const tabId = await page.tabId();
      await gl.waitForTabState(tabId, (s) => s.flagged?.length === 2, { timeoutMs: 30_000 });
      await page.waitForFunction(() => document.getElementById('hid')?.getAttribute('data-guardlens-action'));
      expect(await elementView(page, 'bad')).toMatchObject({ flag: 'flagged', action: 'blur' });
      expect((await elementView(page, 'bad')).filter).toContain('blur');
      expect((await elementView(page, 'hid')).display).toBe('none');
      await waitFor(() => labelButton(page, 'bad', 'Violent'), { timeoutMs: 10_000, message: 'the label' });

      // Everything at once: stylesheet, attributes, inline styles, a class and a rule of its own, the label.
      await page.evaluate(() => {
        for (const style of document.querySelectorAll('style[data-guardlens-style]')) style.remove();
        for (const id of ['bad', 'hid']) {
          const el = document.getElementById(id)!;
          for (const attr of [...el.attributes])
            if (attr.name.startsWith('data-guardlens')) el.removeAttribute(attr.name);
          el.setAttribute('style', 'filter: none !important; display: block !important');
          el.classList.add('unblur');
        }
        const rule = document.createElement('style');
        rule.textContent = '#bad, #hid { filter: none !important; display: block !important; }';
        document.head.append(rule);
        [...document.querySelectorAll('guardlens-ui')].find((h) => h.shadowRoot)?.remove();
      });
      const t0 = Date.now();
      await page.waitForFunction(
        () => {
          const bad = getComputedStyle(document.getElementById('bad')!);
          const hid = getComputedStyle(document.getElementById('hid')!);
          return (
            bad.filter.includes('blur') && hid.display === 'none' && !!document.querySelector('guardlens-ui')
          );
        },
        { timeoutMs: 1000, intervalMs: 25, message: 'the blur, the hiding and the label to be put back' },
      );
      const repairedMs = Date.now() - t0;
      expect(repairedMs).toBeLessThan(1000);
      expect(await elementView(page, 'bad')).toMatchObject({
        flag: 'flagged',
        action: 'blur',
        revealed: false,
      });

      // A page that keeps undoing it every frame for two seconds: Guardlens does not spin, and once the page
      // stops, the element is blurred again.
      const loop = await page.evaluate(
        () =>
          new Promise<{ frames: number; shown: number }>((resolve) => {
            const bad = document.getElementById('bad')!;
            const end = performance.now() + 2000;
            let frames = 0;
            let shown = 0;
            const step = () => {
              frames++;
              bad.removeAttribute('data-guardlens');
              bad.setAttribute('style', 'filter: none !important');
              if (!getComputedStyle(bad).filter.includes('blur')) shown++;
              if (performance.now() < end) requestAnimationFrame(step);
              else resolve({ frames, shown });
            };
            requestAnimationFrame(step);
          }),
      );
      expect(loop.frames).toBeGreaterThan(10);
      await page.waitForFunction(
        () => getComputedStyle(document.getElementById('bad')!).filter.includes('blur'),
        {
          timeoutMs: 2500,
          message: 'the blur to be back after the page stopped fighting',
        },
      );

      // The person's real click on the label reveals it; the page cannot take that back either.
      const button = await waitFor(() => labelButton(page, 'bad', 'Violent'), {
        timeoutMs: 5000,
        message: 'the label to be back',
      });
      await personClick(page, button.x, button.y);
      await page.waitForFunction(
        () => !getComputedStyle(document.getElementById('bad')!).filter.includes('blur'),
        {
          timeoutMs: 5000,
          message: 'the person’s click to reveal the element',
        },
      );
      expect(await elementView(page, 'bad')).toMatchObject({ flag: 'flagged', revealed: true });
      expect((await elementView(page, 'hid')).display).toBe('none');
      expect(scriptErrors(gl)).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('never sends form values, passwords or editors, also when the page copies them into text inside the fields', async () => {
    guard.reset();
    const page = await gl.openPage(site.url('/hostile-fields.html'));
    try {
      const tabId = await page.tabId();
      await waitForSettled(gl, tabId, { guard });
      // The person types, with the browser's real keyboard.
      await page.type('#name', ' SECRET-typed-name');
      await page.type('#pw', 'SECRET-typed-password');
      await page.type('#notes', ' SECRET-typed-notes');
      await page.click('#editor p');
      await page.type('#editor p', ' SECRET-typed-draft');
      // What an editor does as the person types into slotted content: the page changes the text.
      await page.evaluate(() => document.getElementById('slotted')!.append(' SECRET-typed-slotted'));
      await page.evaluate(() => (window as unknown as { copyValues(): void }).copyValues());
      // Page text changes too, so the blocks around the fields are walked again.
      await page.evaluate(() => {
        document.getElementById('intro')!.append(' Updated.');
        document.getElementById('after')!.append(' Updated.');
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      await waitForSettled(gl, tabId, { guard });
      const sent = sentTexts(guard).join('\n');
      expect(sent).toContain('Fill in the form about your holiday plans. Updated.');
      expect(sent).toContain('A paragraph after the form about mountain trails. Updated.');
      expect(sent).toContain('Shadow editor below the form');
      expect(sent).not.toContain('SECRET');
      expect(scriptErrors(gl)).toEqual([]);
    } finally {
      await page.close();
    }
  });

  /**
   * WXT's content-script context posts a window message naming the extension id whenever a script starts, so
   * that an older copy can stop: any page could tell Guardlens is installed. Guardlens' scripts get their own
   * context (utils/content-context.ts) and post nothing to the page.
   */
  it('a page hears nothing from Guardlens on its window: no message names the extension', async () => {
    const page = await gl.openPage(site.url('/hostile-listen.html'));
    try {
      const tabId = await page.tabId();
      await gl.waitForTabState(tabId, (s) => s.flagged?.length === 1, { timeoutMs: 30_000 });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const heard = await page.evaluate(() => (window as unknown as { __heard: string[] }).__heard);
      expect(heard.filter((data) => data.includes(gl.extensionId) || /wxt|guardlens/i.test(data))).toEqual(
        [],
      );
      expect((await elementView(page, 'bad')).flag).toBe('flagged');
    } finally {
      await page.close();
    }
  });

  /**
   * WXT's own `ContentScriptContext` ended a content script when a
   * `<extension id>:content:wxt:content-script-started` CustomEvent reached `document` from another "newer"
   * copy of the script — and any page can dispatch that event (the extension id is public). Guardlens' scripts
   * end only when the extension is really gone (`utils/lifetime.ts`): scanning goes on and nothing is revealed.
   */
  it('a forged WXT "newer script started" event changes nothing: scanning and blurring go on', async () => {
    const page = await gl.openPage(site.url('/hostile-forgery.html'));
    try {
      const tabId = await page.tabId();
      await gl.waitForTabState(tabId, (s) => s.flagged?.length === 3, { timeoutMs: 30_000 });
      await page.evaluate((extensionId: string) => {
        const detail = { contentScriptName: 'content', messageId: 'forged' };
        document.dispatchEvent(
          new CustomEvent(`${extensionId}:content:wxt:content-script-started`, { detail }),
        );
        document.getElementById('bad')!.setAttribute('data-guardlens-revealed', '');
        const added = document.createElement('p');
        added.id = 'added';
        added.textContent = 'GLTEST-S3 a paragraph added after the forged event.';
        document.body.append(added);
      }, gl.extensionId);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await elementView(page, 'bad')).filter).toContain('blur');
      await page.waitForFunction(() => document.getElementById('added')!.getAttribute('data-guardlens'), {
        timeoutMs: 10_000,
        message: 'the paragraph added after the forged event to be flagged',
      });
    } finally {
      await page.close();
    }
  });

  /**
   * WXT's location watcher tells a content script about a new URL with a plain
   * `<extension id>:content:wxt:locationchange` event on `window`, which any page can dispatch too. The page
   * script compares `location.href` itself, so the forged event makes it neither re-walk nor re-send.
   */
  it('a forged WXT location-change event sends nothing again', async () => {
    const page = await gl.openPage(site.url('/hostile-forgery.html'));
    try {
      const tabId = await page.tabId();
      await gl.waitForTabState(tabId, (s) => s.flagged?.length === 3, { timeoutMs: 30_000 });
      await waitForSettled(gl, tabId, { guard });
      const sent = (await pageStats(gl, tabId)).blocksSent;
      await page.evaluate((extensionId: string) => {
        window.dispatchEvent(new Event(`${extensionId}:content:wxt:locationchange`));
      }, gl.extensionId);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await pageStats(gl, tabId)).blocksSent).toBe(sent);
    } finally {
      await page.close();
    }
  });

  /**
   * The page scan leaves escaped markup a script printed out of what it sends (`withoutMarkup` in `extract.ts`);
   * a sentence a page simply puts between `&lt;` and `&gt;` is read by the person, so it is checked.
   */
  it('a sentence between angle brackets is checked like any text', async () => {
    const page = await gl.openPage(site.url('/hostile-evasion.html'));
    try {
      await page.waitForFunction(() => document.getElementById('angled')!.getAttribute('data-guardlens'), {
        timeoutMs: 10_000,
        message: 'the angle-bracketed sentence to be flagged',
      });
    } finally {
      await page.close();
    }
  });
});
