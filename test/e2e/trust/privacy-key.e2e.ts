/**
 * The API key, in real Chromium and Firefox: it leaves the browser only as the `Authorization` header to the
 * configured endpoint, and never reaches a page, a content script, `storage.session`, the history, a log or a
 * settings export the person did not ask to include it in.
 *
 * Content scripts, in Chromium: through the DevTools protocol the test enters Guardlens' own isolated world
 * in the page (where its content script runs) and
 * - records every message the background sends there and every answer it gives there, while a new flagged
 *   paragraph is scanned and enforced;
 * - plays a compromised content script: it sends every message type of the extension's protocol, including
 *   the extension-page ones (`endpoint:test` pointed at another server, `tab:state`), and reads
 *   `storage.session` and `storage.local`.
 * Firefox's content-script sandboxes are not reachable over WebDriver BiDi, so there the test checks what is
 * observable from outside (page, storage, logs, exports, the requests).
 *
 * `storage.local`, where the key is kept, is closed to content scripts in Chromium (`storage.local.setAccessLevel`,
 * which the background sets); Firefox has no such switch, and lets an extension's own content scripts read it
 * (README, "Security and privacy"). Guardlens' content scripts never read it.
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
import { buildDir, waitForSettled } from '../page/helpers';
import { privacyPageUrl, routePrivacyPage, settingsFor } from './privacy-support';

const KEY = `sk-gl-secret-${Math.random().toString(36).slice(2)}`;

/** Everything a page can see of itself: the DOM, open shadow roots, text, attributes, storage, the title. */
function pageView(page: PageHandle): Promise<string> {
  return page.evaluate(() => {
    const parts: string[] = [document.documentElement.outerHTML, document.title, location.href];
    const walk = (root: Document | ShadowRoot) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.shadowRoot) {
          parts.push(el.shadowRoot.innerHTML);
          walk(el.shadowRoot);
        }
      }
    };
    walk(document);
    for (const store of [localStorage, sessionStorage]) {
      for (let i = 0; i < store.length; i++) parts.push(String(store.getItem(store.key(i) ?? '')));
    }
    return parts.join('\n');
  });
}

/** The settings file the options page hands to the download, captured where it is turned into a blob URL. */
async function exportFromOptions(gl: GuardlensBrowser, withKey: boolean): Promise<string> {
  const options = await gl.openExtensionPage('/options.html');
  try {
    await options.waitForFunction(() => document.querySelector('#backup button') !== null, {
      timeoutMs: 20_000,
    });
    await options.evaluate(() => {
      const w = window as unknown as { __exports: string[] };
      w.__exports = [];
      const original = URL.createObjectURL.bind(URL);
      URL.createObjectURL = (blob: Blob | MediaSource) => {
        if (blob instanceof Blob) void blob.text().then((text) => w.__exports.push(text));
        return original(blob);
      };
    });
    if (withKey) await options.click('#exportWithKey');
    expect(
      await options.evaluate(() => (document.querySelector('#exportWithKey') as HTMLInputElement).checked),
    ).toBe(withKey);
    await options.click('#backup button');
    return await options.waitForFunction(
      () => (window as unknown as { __exports: string[] }).__exports[0] ?? null,
      { timeoutMs: 10_000, message: 'the settings export' },
    );
  } finally {
    await options.close();
  }
}

describe.each(BROWSER_NAMES)('the API key: %s', (name) => {
  let guard: GuardServer;
  let elsewhere: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;
  let page: PageHandle;
  let tabId: number;

  beforeAll(async () => {
    [guard, elsewhere, site] = await Promise.all([
      startGuardServer({ apiKey: KEY }),
      startGuardServer(),
      startStaticServer(),
    ]);
    routePrivacyPage(site);
    gl = await launchBrowser(name, { extensionPath: buildDir(name) });
    await gl.configure(settingsFor(guard, { historyEnabled: true }), KEY);
    page = await gl.openPage(privacyPageUrl(site));
    tabId = await page.tabId();
    await gl.waitForTabState(tabId, (s) => s.flagged?.length > 0);
    await waitForSettled(gl, tabId, { guard });
  });

  afterAll(async () => {
    await gl?.close();
    await Promise.all([site?.close(), guard?.close(), elsewhere?.close()]);
  });

  it('leaves the browser only as the Authorization header to the configured endpoint', () => {
    expect(guard.requests.length).toBeGreaterThan(0);
    for (const r of guard.requests) {
      expect(r.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(JSON.stringify(r.body)).not.toContain(KEY);
      expect(r.path).not.toContain(KEY);
    }
    expect(elsewhere.requests).toEqual([]);
    expect(gl.unexpectedBlocked()).toEqual([]);
  });

  it('is not in the page, storage.session, the history or any other stored item, nor in any log', async () => {
    const view = await pageView(page);
    expect(view).toContain('GLTEST-S1');
    expect(view).not.toContain(KEY);
    const stored = await gl.extensionEval(() =>
      Promise.all([browser.storage.session.get(null), browser.storage.local.get(null)]),
    );
    const [session, local] = stored as [Record<string, unknown>, Record<string, unknown>];
    expect(Object.keys(session).some((k) => k.startsWith('tab:'))).toBe(true);
    expect(JSON.stringify(session)).not.toContain(KEY);
    const { apiKey, ...rest } = local;
    expect(apiKey).toBe(KEY);
    expect(Object.keys(rest)).toContain('settings');
    expect(JSON.stringify(rest)).not.toContain(KEY);
    // The console of every page the harness saw (and, in Chromium, the service worker's).
    expect(gl.consoleLog.filter((e) => e.text.includes(KEY))).toEqual([]);
  });

  it('is in a settings export only when the person ticks “include my API key”', async () => {
    const plain = JSON.parse(await exportFromOptions(gl, false)) as Record<string, unknown>;
    expect(plain.format).toBe('guardlens-settings');
    expect(plain).not.toHaveProperty('apiKey');
    expect(JSON.stringify(plain)).not.toContain(KEY);
    const withKey = JSON.parse(await exportFromOptions(gl, true)) as Record<string, unknown>;
    expect(withKey.apiKey).toBe(KEY);
    expect(gl.consoleLog.filter((e) => e.text.includes(KEY))).toEqual([]);
  });

  it.runIf(name === 'chromium')(
    'never reaches Guardlens’ content script, even one that asks for it on purpose (Chromium)',
    async () => {
      const { context } = gl.chromium!;
      const cdp = await context.newCDPSession(page.raw as import('playwright-core').Page);
      const worlds = new Map<number, { origin: string; name: string; type?: string }>();
      cdp.on('Runtime.executionContextCreated', ({ context: c }) => {
        worlds.set(c.id, { origin: c.origin, name: c.name, type: c.auxData?.type });
      });
      await cdp.send('Runtime.enable');
      const contextId = await waitFor(
        () =>
          [...worlds].find(([, w]) => w.type === 'isolated' && w.origin.startsWith(gl.extensionOrigin))?.[0],
        { message: 'Guardlens’ isolated world in the page' },
      );
      const inWorld = async <T>(expression: string): Promise<T> => {
        const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', {
          expression,
          contextId,
          awaitPromise: true,
          returnByValue: true,
        });
        if (exceptionDetails) throw new Error(`In the isolated world: ${JSON.stringify(exceptionDetails)}`);
        return result.value as T;
      };

      // 1. Record what crosses into the content script from now on: pushes and answers.
      await inWorld(`(() => {
        const seen = (globalThis.__glSeen = []);
        chrome.runtime.onMessage.addListener((message) => { seen.push(JSON.stringify(message)); });
        const runtimes = [chrome.runtime];
        if (globalThis.browser?.runtime && globalThis.browser.runtime !== chrome.runtime) runtimes.push(browser.runtime);
        for (const rt of runtimes) {
          const original = rt.sendMessage;
          rt.sendMessage = function (...args) {
            const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
            if (callback) return original.call(this, ...args, (answer) => { seen.push(JSON.stringify(answer ?? null)); callback(answer); });
            return Promise.resolve(original.apply(this, args)).then((answer) => { seen.push(JSON.stringify(answer ?? null)); return answer; });
          };
        }
        return true;
      })()`);
      const flaggedBefore = (await gl.tabState(tabId)).flagged.length;
      await page.evaluate(() => {
        const p = document.createElement('p');
        p.textContent = 'GLTEST-S10 a paragraph added after the page loaded.';
        document.querySelector('main')?.append(p);
      });
      await gl.waitForTabState(tabId, (s) => s.flagged.length > flaggedBefore);
      const seen = await waitFor(
        async () => {
          const s = await inWorld<string[]>('globalThis.__glSeen');
          return s.some((m) => m.includes('page:verdicts')) && s.some((m) => m.includes('accepted'))
            ? s
            : undefined;
        },
        { message: 'the recorder to see the blocks answer and the verdicts' },
      );
      expect(seen.join('\n')).not.toContain(KEY);

      // 2. A compromised content script asks for everything it can think of.
      const elsewhereSettings = settingsFor(elsewhere);
      const url = await page.url();
      const asks: Array<[string, unknown]> = [
        ['page:hello', { url }],
        ['page:blocks', { url, blocks: [{ ref: 'x1', text: 'hello there', visible: true }] }],
        ['page:image', { url, image: { ref: 'i1', src: `${site.origin}/none.png`, visible: true } }],
        ['prompt:hello', { url }],
        ['prompt:check', { url, ref: 'p1', text: 'hello' }],
        ['prompt:config', null],
        ['tab:state', { tabId }],
        ['endpoint:test', { settings: elsewhereSettings }],
        ['page:reveal', { ref: 'x1' }],
        ['page:scan-now', { tabId }],
      ];
      const answers = await inWorld<string[]>(`Promise.all(${JSON.stringify(asks)}.map(([type, data], i) =>
        chrome.runtime.sendMessage({ id: 9000 + i, type, data, timestamp: Date.now() })
          .then((a) => type + ' ' + JSON.stringify(a ?? null), (e) => type + ' error ' + String(e))))`);
      expect(answers).toHaveLength(asks.length);
      expect(answers.join('\n')).not.toContain(KEY);
      for (const answer of answers.filter((a) => /^(tab:state|endpoint:test|page:scan-now) /.test(a))) {
        expect(answer).toMatch(/Not allowed/);
      }
      const session = await inWorld<string>(
        '(async () => { try { return JSON.stringify(await chrome.storage.session.get(null)); } catch (e) { return "refused: " + String(e); } })()',
      );
      expect(session).toMatch(/^refused: /);
      // Nor storage.local, where the key is kept: the background keeps it from content scripts.
      const local = await inWorld<string>(
        '(async () => { try { return JSON.stringify(await chrome.storage.local.get(null)); } catch (e) { return "refused: " + String(e); } })()',
      );
      expect(local).toMatch(/^refused: /);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(elsewhere.requests, 'requests sent to a server the content script named').toEqual([]);
      expect(gl.unexpectedBlocked()).toEqual([]);
      await cdp.detach();
    },
  );
});
