/**
 * The browser-independent half of `GuardlensBrowser`: everything that is done through an extension page
 * (storage, tabs) and through the network blocker. The launchers supply how to open tabs.
 */
import type { BlockingProxy } from './blocking-proxy';
import { BROWSER_NOISE, withoutNoise } from './noise';
import type {
  BrowserName,
  ChromiumControls,
  ConsoleEntry,
  FirefoxControls,
  GuardlensBrowser,
  PageFunction,
  PageHandle,
  WaitOptions,
} from './types';
import { TIMED_OUT, waitFor, within } from './util';

export interface BrowserParts {
  name: BrowserName;
  extensionOrigin: string;
  extensionId: string;
  proxy: BlockingProxy;
  consoleLog: ConsoleEntry[];
  openPage(url: string): Promise<PageHandle>;
  openExtensionPage(path: string): Promise<PageHandle>;
  /** The harness's extension page on `/manifest.json`, reopened when a test closed it. */
  evalPage(): Promise<PageHandle>;
  /** Closes the browser and everything that belongs to it. */
  shutdown(): Promise<void>;
  /** How long an idempotent extension-page call may take before it is tried again (`IDEMPOTENT_EVAL_MS`). */
  evalTimeoutMs?: number;
  chromium?: ChromiumControls;
  firefox?: FirefoxControls;
}

/** How long one of the harness's idempotent extension-page calls may take before it is tried again. */
export const IDEMPOTENT_EVAL_MS = 20_000;

/** Normalises a URL the way `tabs.query` reports it (`new URL(url).href`). */
export function normaliseUrl(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

export function createGuardlensBrowser(parts: BrowserParts): GuardlensBrowser {
  let closing: Promise<void> | undefined;

  const extensionEval = async <T>(fn: PageFunction<T>, ...args: unknown[]): Promise<T> => {
    const page = await parts.evalPage();
    return page.evaluate(fn, ...args);
  };

  /**
   * For the harness's own idempotent calls (reading tabs and storage, writing settings): an evaluation in the
   * extension page that does not answer within `evalTimeoutMs` is given up, the page is closed (the next
   * call opens a fresh one) and the call is made once more. A stuck DevTools evaluation then costs seconds and
   * says so, instead of stalling a test until its own timeout with no clue where.
   */
  const evalTimeoutMs = parts.evalTimeoutMs ?? IDEMPOTENT_EVAL_MS;
  const idempotentEval = async <T>(fn: PageFunction<T>, ...args: unknown[]): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const page = await parts.evalPage();
      const value = await within(page.evaluate(fn, ...args), evalTimeoutMs);
      if (value !== TIMED_OUT) return value;
      if (attempt >= 2)
        throw new Error(`The harness's extension page did not answer within ${evalTimeoutMs} ms`);
      await page.close().catch(() => {});
    }
  };

  const tabIdOf = async (url: string, options: WaitOptions = {}): Promise<number> => {
    const wanted = normaliseUrl(url);
    return waitFor(
      async () => {
        const tabs = await idempotentEval(() =>
          browser.tabs
            .query({})
            .then((all: Array<{ id?: number; url?: string }>) => all.map((t) => ({ id: t.id, url: t.url }))),
        );
        const ids = tabs
          .filter((t) => t.url === wanted && typeof t.id === 'number')
          .map((t) => t.id as number);
        return ids.length > 0 ? Math.max(...ids) : undefined;
      },
      { message: `a tab showing ${wanted}`, ...options },
    );
  };

  const tabState = (tabId: number) =>
    idempotentEval(
      (key: string) =>
        browser.storage.session.get(key).then((items: Record<string, unknown>) => items[key] ?? null),
      `tab:${tabId}`,
    ).then((value) => value ?? undefined);

  const self: GuardlensBrowser = {
    name: parts.name,
    extensionOrigin: parts.extensionOrigin,
    extensionId: parts.extensionId,
    openPage: (url) => parts.openPage(url),
    openExtensionPage: (path) => parts.openExtensionPage(path),
    extensionEval,
    async configure(settings, apiKey) {
      const items: Record<string, unknown> = { settings };
      if (apiKey !== undefined) items.apiKey = apiKey;
      await idempotentEval((values: Record<string, unknown>) => browser.storage.local.set(values), items);
    },
    tabIdOf,
    tabState,
    waitForTabState(tabId, predicate, options = {}) {
      return waitFor(
        async () => {
          const state = await tabState(tabId);
          return state !== undefined && predicate(state) ? { state } : undefined;
        },
        { message: `the state of tab ${tabId} to match`, timeoutMs: 30_000, ...options },
      ).then((found) => found.state);
    },
    blocked: parts.proxy.blocked,
    waitForBlocked: (predicate, timeoutMs) => parts.proxy.waitForBlocked(predicate, timeoutMs),
    knownNoise: BROWSER_NOISE[parts.name],
    unexpectedBlocked: () => withoutNoise(parts.proxy.blocked, parts.name),
    consoleLog: parts.consoleLog,
    chromium: parts.chromium,
    firefox: parts.firefox,
    close() {
      closing ??= parts.shutdown();
      return closing;
    },
  };
  return self;
}

/** Splits `Control+Shift+A` into modifiers and the key. */
export function splitChord(chord: string): { modifiers: string[]; key: string } {
  const parts = chord.split('+');
  // A lone "+" or a chord ending in "+" ("Control++") means the plus key itself.
  if (chord.endsWith('+')) return { modifiers: parts.slice(0, -2).filter(Boolean), key: '+' };
  return { modifiers: parts.slice(0, -1), key: parts[parts.length - 1]! };
}

/**
 * Waits until the extension's `storage.managed` answers with the policy the harness installed (at least
 * one of its keys), so policy tests start with the policy in effect. Chromium answers the first read only
 * once its policy service is ready, about two seconds after start. Each read is bounded, and one left
 * unanswered is abandoned for a fresh one.
 */
export async function waitForManagedPolicy(
  evaluate: <T>(fn: PageFunction<T>, ...args: unknown[]) => Promise<T>,
  policy: Record<string, unknown>,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  const wanted = Object.keys(policy);
  let last: unknown;
  return waitFor(
    async () => {
      last = await evaluate(() =>
        Promise.race([
          browser.storage.managed.get().then(
            (value: Record<string, unknown>) => value,
            (error: unknown) => `error: ${String(error)}`,
          ),
          new Promise((resolve) => setTimeout(() => resolve('no answer within 3 s'), 3000)),
        ]),
      );
      if (typeof last !== 'object' || last === null) return undefined;
      const keys = Object.keys(last);
      return wanted.length === 0 || wanted.some((k) => keys.includes(k))
        ? (last as Record<string, unknown>)
        : undefined;
    },
    { timeoutMs, intervalMs: 250, message: `the managed policy to reach the extension` },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; storage.managed last said: ${JSON.stringify(last)}`);
  });
}
