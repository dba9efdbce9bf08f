/**
 * Helpers the prompt guard's end-to-end tests share: settings, the guard's UI state (its open shadow root on
 * `<guardlens-prompt>`), clicks a person makes on the panel's buttons, and what the fixture page sent.
 */
import type { GuardServer } from '../../server/guard-server';
import { type GuardlensBrowser, type PageHandle, waitFor } from '../harness';

export const API_KEY = 'test-key';

export function settingsFor(
  guard: GuardServer,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    provider: 'custom',
    baseUrl: guard.baseUrl,
    model: 'llama-guard-test',
    guardModel: 'llama-guard-3-8b',
    requestMode: 'chat',
    // Page scanning is another feature: off here, so every request the server sees is the guard's.
    scanText: false,
    scanImages: false,
    promptGuard: 'block',
    failMode: 'open',
    checkReplies: false,
    ...extra,
  };
}

export interface SentEntry {
  text: string;
  via: string;
  trusted: boolean;
}

declare global {
  interface Window {
    __sent: SentEntry[];
    __keys: Array<{ trusted: boolean; composing: boolean; keyCode: number; shift: boolean }>;
  }
}

export function sent(page: PageHandle): Promise<SentEntry[]> {
  return page.evaluate(() => window.__sent);
}

export function waitForSent(page: PageHandle, count: number, timeoutMs = 15_000): Promise<SentEntry[]> {
  return page.waitForFunction(
    (n: number) => window.__sent.length >= n && window.__sent,
    { timeoutMs },
    count,
  );
}

/** `data-state` of the guard's UI host: idle, checking, blocked, warn, failed (idle when there is none). */
export function guardState(page: PageHandle): Promise<string> {
  return page.evaluate(
    () => document.querySelector('guardlens-prompt')?.getAttribute('data-state') ?? 'idle',
  );
}

export async function waitForGuardState(page: PageHandle, state: string, timeoutMs = 15_000): Promise<void> {
  await page.waitForFunction(
    (s: string) => (document.querySelector('guardlens-prompt')?.getAttribute('data-state') ?? 'idle') === s,
    { timeoutMs, message: `the guard to show "${state}"` },
    state,
  );
}

/** The notice shown (`unchecked`, `attachments`, `release-failed`), or null. */
export function guardNotice(page: PageHandle): Promise<string | null> {
  return page.evaluate(() => document.querySelector('guardlens-prompt')?.getAttribute('data-notice') ?? null);
}

/** The visible text of the guard's panel (or '' when none). */
export function panelText(page: PageHandle): Promise<string> {
  return page.evaluate(
    () => document.querySelector('guardlens-prompt')?.shadowRoot?.querySelector('.panel')?.textContent ?? '',
  );
}

/** Clicks a panel button the way a person does (a real mouse click at its position). */
export async function clickPanelButton(
  page: PageHandle,
  action: 'edit' | 'send-anyway' | 'retry',
): Promise<void> {
  const point = await page.waitForFunction(
    (a: string) => {
      const b = document
        .querySelector('guardlens-prompt')
        ?.shadowRoot?.querySelector(`button[data-action="${a}"]`) as HTMLElement | null;
      if (!b) return null;
      const r = b.getBoundingClientRect();
      return r.width > 0 ? { x: r.left + r.width / 2, y: r.top + r.height / 2 } : null;
    },
    { message: `the panel's ${action} button` },
    action,
  );
  const raw = page.raw as { mouse: { click(x: number, y: number): Promise<void> } };
  await raw.mouse.click(point!.x, point!.y);
}

/** The composer's text as the page would send it. */
export function composerText(page: PageHandle, selector: string): Promise<string> {
  return page.evaluate((s: string) => {
    const el = document.querySelector(s) as HTMLElement | HTMLTextAreaElement;
    if (el instanceof HTMLTextAreaElement) return el.value;
    const blocks = el.querySelectorAll(':scope > p, :scope > div');
    return blocks.length ? [...blocks].map((p) => p.textContent).join('\n') : (el.textContent ?? '');
  }, selector);
}

/** Prompt checks the test server saw (User role) since its last reset, whitespace collapsed as it records it. */
export function userChecks(guard: GuardServer): string[] {
  return guard.requests.filter((r) => r.role === 'User').map((r) => oneLine(r.text ?? ''));
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * The prompt guard's config for `url` as the background answers it now: the real `prompt:hello` message (in the
 * messaging library's wire format), sent from the harness's extension tab.
 */
export function promptConfig(gl: GuardlensBrowser, url: string): Promise<Record<string, unknown>> {
  return gl.extensionEval(
    (u: string) =>
      browser.runtime
        .sendMessage({ id: 1, type: 'prompt:hello', data: { url: u }, timestamp: Date.now() })
        .then((reply: { res?: Record<string, unknown> }) => reply?.res ?? {}),
    url,
  );
}

/**
 * Writes the settings and waits until the background answers with them (it reads storage when it changes), so a
 * page opened next starts with them.
 */
export async function configureGuard(
  gl: GuardlensBrowser,
  settings: Record<string, unknown>,
  url: string,
): Promise<void> {
  await gl.configure(settings, API_KEY);
  const want = {
    mode: settings.promptGuard,
    failMode: settings.failMode,
    checkReplies: settings.checkReplies,
  };
  await waitFor(
    async () => {
      const config = await promptConfig(gl, url);
      return Object.entries(want).every(([k, v]) => v === undefined || config[k] === v);
    },
    { message: `the background to take the settings ${JSON.stringify(want)}`, timeoutMs: 10_000 },
  );
}

/** Puts text into the composer at once, as a paste would (one input event); `type` types it key by key. */
export async function insertText(page: PageHandle, selector: string, text: string): Promise<void> {
  await page.type(selector, '');
  const ok = await page.evaluate(
    (sel: string, t: string) => {
      const el = document.querySelector(sel) as HTMLElement;
      if (el instanceof HTMLTextAreaElement) {
        el.setSelectionRange(el.value.length, el.value.length);
      } else {
        // The caret at the end of the last paragraph (after a send the site rebuilt the editor's content).
        const last = el.querySelector(':scope > p:last-child') ?? el;
        const range = document.createRange();
        range.selectNodeContents(last);
        range.collapse(false);
        getSelection()?.removeAllRanges();
        getSelection()?.addRange(range);
      }
      return document.execCommand('insertText', false, t);
    },
    selector,
    text,
  );
  if (!ok) throw new Error(`could not insert text into ${selector}`);
}

/** What the extension and the page said, for a failure message. */
export function consoleTail(gl: GuardlensBrowser, n = 20): string {
  return gl.consoleLog
    .slice(-n)
    .map((e) => `  [${e.type}] ${e.text.slice(0, 300)}`)
    .join('\n');
}
