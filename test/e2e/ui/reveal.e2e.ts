/**
 * "Show on page" from the popup (`page:reveal`), in Chromium and Firefox: the popup, open as
 * `popup.html?tabId=N`, asks the page's content script (in the right frame) to scroll a flagged element into view
 * and highlight it. A blurred element stays blurred; an element the "hide" action hides is shown by its nearest
 * rendered ancestor; an element that left the page gets "It is no longer on the page."
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
import { buildDir, tabMessage } from '../page/helpers';
import { explain, UI_PAGES_DIR } from './support';

interface Flagged {
  ref: string;
  frameId: number;
  categories: string[];
}

interface Box {
  top: number;
  bottom: number;
  left: number;
  right: number;
  height: number;
}

/**
 * What the page saw of the highlight: hosts added and removed, the box of the one shown now, and the last box a
 * removed one had (its inline position when it went).
 */
interface Seen {
  added: number;
  removed: number;
  box: Box | null;
  lastBox: { top: number; height: number } | null;
}

const FOUND = 'Shown on the page.';
const MISSING = 'It is no longer on the page.';

/** Starts recording, in the page itself, every highlight Guardlens adds to and removes from the document. */
function watchHighlights(page: PageHandle): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as { __glSeen: Omit<Seen, 'box'> };
    w.__glSeen = { added: 0, removed: 0, lastBox: null };
    new MutationObserver((records) => {
      for (const record of records) {
        for (const node of record.addedNodes) if (node.nodeName === 'GUARDLENS-REVEAL') w.__glSeen.added++;
        for (const node of record.removedNodes) {
          if (node.nodeName !== 'GUARDLENS-REVEAL') continue;
          w.__glSeen.removed++;
          const style = (node as HTMLElement).style;
          w.__glSeen.lastBox = { top: Number.parseFloat(style.top), height: Number.parseFloat(style.height) };
        }
      }
    }).observe(document.documentElement, { childList: true });
  });
}

function seen(page: PageHandle): Promise<Seen> {
  return page.evaluate(() => {
    const w = window as unknown as { __glSeen: Omit<Seen, 'box'> };
    const host = document.querySelector('guardlens-reveal');
    const r = host?.getBoundingClientRect();
    return {
      ...w.__glSeen,
      box: r ? { top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height } : null,
    };
  });
}

/** The box of `#id` in the page (or in the page's iframe `#frame`), and the viewport's height. */
function boxOf(page: PageHandle, id: string, inFrame = false): Promise<Box & { viewport: number }> {
  return page.evaluate(
    (elementId: string, frame: boolean) => {
      const doc = frame ? (document.getElementById('frame') as HTMLIFrameElement).contentDocument! : document;
      const r = doc.getElementById(elementId)!.getBoundingClientRect();
      const view = doc.defaultView!;
      return {
        top: r.top,
        bottom: r.bottom,
        left: r.left,
        right: r.right,
        height: r.height,
        viewport: view.innerHeight,
      };
    },
    id,
    inFrame,
  );
}

/**
 * Waits until `#id` is in view and the highlight is (or, if it has gone already, was last) over `box`'s element:
 * a page in view scrolls smoothly, a page in the background at once.
 */
async function shownOver(page: PageHandle, id: string, boxId = id): Promise<Box> {
  let last = '';
  try {
    return await waitFor(
      async () => {
        const box = await boxOf(page, boxId);
        const { box: live, lastBox } = await seen(page);
        const over = live ?? lastBox;
        last = JSON.stringify({ box, over });
        const near = (a: number, b: number) => Math.abs(a - b) < 2;
        return inView(box) && over && near(over.top, box.top) && near(over.height, box.height)
          ? box
          : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: `#${id} in view under the highlight` },
    );
  } catch (error) {
    throw new Error(`${String(error)}; last seen ${last}`);
  }
}

const inView = (b: Box & { viewport: number }) => b.height > 0 && b.top >= 0 && b.bottom <= b.viewport;

describe.each(BROWSER_NAMES)('show on page: %s', (name) => {
  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;
  let page: PageHandle;
  let popup: PageHandle;
  let tabId: number;

  const front = (handle: PageHandle) => (handle.raw as { bringToFront(): Promise<void> }).bringToFront();

  /** Opens the category `code` in the popup, presses its first item's "Show on page" and returns the answer. */
  const showOnPage = async (code: string): Promise<string> => {
    const cat = `li.gl-cat[data-code="${code}"]`;
    // As with the popup open in a tab of its own: the page is in the background, the highlight waits for it.
    await front(popup);
    const open = await popup.evaluate((sel: string) => !!document.querySelector(`${sel} details[open]`), cat);
    // A click in the popup's document: the driver's own clicks take seconds in a long popup in Firefox.
    const click = (sel: string) =>
      popup.evaluate((s: string) => document.querySelector<HTMLElement>(s)!.click(), sel);
    if (!open) await click(`${cat} summary`);
    await click(`${cat} .gl-item button`);
    return popup.waitForFunction(
      (sel: string) => document.querySelector(`${sel} .gl-item [role=status]`)?.textContent ?? '',
      { timeoutMs: 15_000, message: `the popup's answer for ${code}` },
      cat,
    );
  };

  beforeAll(async () => {
    [guard, site] = await Promise.all([startGuardServer(), startStaticServer()]);
    site.mount('/ui/', UI_PAGES_DIR);
    gl = await launchBrowser(name, { extensionPath: buildDir(name) });
    await gl.configure(
      {
        provider: 'custom',
        baseUrl: guard.baseUrl,
        model: 'llama-guard-test',
        guardModel: 'llama-guard-3-8b',
        requestMode: 'chat',
        categoryActions: { S2: 'hide' },
      },
      'test-key',
    );
    page = await gl.openPage(site.url('/ui/reveal.html'));
    tabId = await page.tabId();
    await explain(gl, tabId, () =>
      gl.waitForTabState(
        tabId,
        (s) =>
          s.pending === 0 &&
          ['S1', 'S2', 'S9', 'S10'].every((c) =>
            (s.flagged as Flagged[]).some((f) => f.categories.includes(c)),
          ),
        { timeoutMs: 45_000 },
      ),
    );
    await page.waitForFunction(
      () => document.getElementById('hidden')?.getAttribute('data-guardlens-action') === 'hide',
      { timeoutMs: 10_000, message: 'the hide action on #hidden' },
    );
    await watchHighlights(page);
    popup = await gl.openExtensionPage(`/popup.html?tabId=${tabId}`);
    await popup
      .waitForFunction(() => !!document.querySelector('li.gl-cat[data-code="S1"]'), {
        timeoutMs: 15_000,
        message: 'the popup to list S1',
      })
      .catch(async (error: unknown) => {
        const text = await popup.evaluate(() => document.body.innerHTML.slice(0, 3000)).catch(String);
        throw new Error(`${String(error)}\nThe popup shows: ${text}`);
      });
  });

  afterAll(async () => {
    await popup?.close().catch(() => undefined);
    await page?.close().catch(() => undefined);
    await gl?.close();
    await Promise.all([site?.close(), guard?.close()]);
  });

  it('scrolls a blurred paragraph far below the fold into view and highlights it, still blurred', async () => {
    expect(inView(await boxOf(page, 'far'))).toBe(false);
    expect(await explain(gl, tabId, () => showOnPage('S1'))).toBe(FOUND);

    await shownOver(page, 'far');
    expect((await seen(page)).added).toBe(1);

    // Still blurred: the highlight does not reveal it.
    const marks = await page.evaluate(() => {
      const el = document.getElementById('far')!;
      return {
        action: el.getAttribute('data-guardlens-action'),
        revealed: el.hasAttribute('data-guardlens-revealed'),
        filter: getComputedStyle(el).filter,
      };
    });
    expect(marks).toEqual({ action: 'blur', revealed: false, filter: expect.stringContaining('blur') });

    // Brief: gone a moment after the person is back on the page, leaving nothing behind.
    await front(page);
    await page.waitForFunction(() => !document.querySelector('guardlens-reveal'), {
      timeoutMs: 10_000,
      message: 'the highlight to go away',
    });
    expect((await seen(page)).removed).toBe(1);
  });

  it('shows an element hidden by the "hide" action through its nearest rendered ancestor', async () => {
    expect(inView(await boxOf(page, 'hidden-box'))).toBe(false);
    expect(await showOnPage('S2')).toBe(FOUND);
    await shownOver(page, 'hidden', 'hidden-box');
    expect(
      await page.evaluate(() => getComputedStyle(document.getElementById('hidden')!).display),
      'still hidden',
    ).toBe('none');
  });

  it('works in a frame: the popup asks the frame the element is in', async () => {
    const items = ((await gl.tabState(tabId)).flagged as Flagged[]).filter((f) =>
      f.categories.includes('S9'),
    );
    expect(items.length).toBe(1);
    expect(items[0]!.frameId).not.toBe(0);
    expect(await showOnPage('S9')).toBe(FOUND);
    await waitFor(
      async () => {
        const inner = await boxOf(page, 'in-frame', true);
        const frame = await boxOf(page, 'frame');
        return inView(inner) && frame.top < frame.viewport && frame.bottom > 0;
      },
      { timeoutMs: 10_000, message: 'the frame and its paragraph to be in view' },
    );
  });

  it('on a page in view: scrolls, and the highlight follows the element until it goes', async () => {
    await front(page);
    await page.evaluate(() => window.scrollTo(0, 0));
    const before = await seen(page);
    const ref = ((await gl.tabState(tabId)).flagged as Flagged[]).find((f) =>
      f.categories.includes('S1'),
    )!.ref;
    expect(await tabMessage(gl, tabId, 'page:reveal', { ref })).toEqual({ found: true });
    const after = await page.waitForFunction(
      (added: number) => {
        const w = window as unknown as { __glSeen: { added: number; removed: number } };
        return w.__glSeen.removed > added ? w.__glSeen : null;
      },
      { timeoutMs: 15_000, message: 'the highlight to come and go' },
      before.added,
    );
    expect(after.added).toBe(before.added + 1);
    const far = await boxOf(page, 'far');
    expect(inView(far), '#far is in the viewport').toBe(true);
    const last = (await seen(page)).lastBox!;
    expect(Math.abs(last.top - far.top), 'where the highlight was when it went').toBeLessThan(2);
    expect(Math.abs(last.height - far.height)).toBeLessThan(2);
  });

  it('says so when the element is no longer on the page', async () => {
    await page.evaluate(() => document.getElementById('gone')!.remove());
    expect(await showOnPage('S10')).toBe(MISSING);
    expect(await tabMessage(gl, tabId, 'page:reveal', { ref: 'g999999' })).toEqual({ found: false });
  });

  it('reached for nothing but loopback', () => {
    expect(gl.unexpectedBlocked()).toEqual([]);
  });
});
