/**
 * The one interface the end-to-end tests use for both browsers. See `index.ts` for the overview.
 */
import type { BlockedRequest } from './blocking-proxy';
import type { NoiseRule } from './noise';
import type { SiteTunnel } from './sites';

export type BrowserName = 'chromium' | 'firefox';

/** Values `waitFor` and `waitForFunction` keep polling on. */
export type Falsy = undefined | null | false | 0 | '';

/**
 * A function run inside a browser page. It is sent as source text, so it may not close over anything in
 * the test file: pass values through `args` (JSON-serialisable; `undefined` inside arrays becomes `null`).
 * Inside extension pages the identifier `browser` is the extension API (`chrome` in Chromium, whose MV3
 * APIs return promises).
 */
// biome-ignore lint/suspicious/noExplicitAny: page functions take whatever the test passes.
export type PageFunction<T> = string | ((...args: any[]) => T | Promise<T>);

export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Poll interval (default 100 ms). */
  intervalMs?: number;
  /** Said in the timeout error. */
  message?: string;
}

/** A browser tab, whichever library drives it. */
export interface PageHandle {
  /** The playwright `Page` (Chromium) or puppeteer `Page` (Firefox), for what the handle does not cover. */
  readonly raw: unknown;
  /** The document's current URL, read from the page itself. */
  url(): Promise<string>;
  /** Navigates this tab and waits for the load event. */
  goto(url: string): Promise<void>;
  /** Runs `fn(...args)` in the page and returns its (awaited, serialisable) result. */
  evaluate<T>(fn: PageFunction<T>, ...args: unknown[]): Promise<T>;
  /** Polls `fn(...args)` in the page until it returns a truthy value, and returns that value. */
  waitForFunction<T>(fn: PageFunction<T | Falsy>, options?: WaitOptions, ...args: unknown[]): Promise<T>;
  /** Clicks the first element matching the CSS selector (waits for it to appear). */
  click(selector: string): Promise<void>;
  /** Focuses the element matching the selector and types `text` key by key. */
  type(selector: string, text: string): Promise<void>;
  /** Presses one key (or a chord such as `Control+A`) on the focused element. */
  press(key: string): Promise<void>;
  /** PNG of the viewport (or the full page); also written to `path` when given. */
  screenshot(options?: { path?: string; fullPage?: boolean }): Promise<Uint8Array>;
  /** The tab id the extension sees for this tab. */
  tabId(): Promise<number>;
  close(): Promise<void>;
}

/** Chromium-only controls: the playwright context, the service worker and the DevTools protocol. */
export interface ChromiumControls {
  /** The playwright persistent `BrowserContext`. */
  readonly context: import('playwright-core').BrowserContext;
  /**
   * The extension's service worker as playwright sees it (waits for it to be registered). playwright keeps
   * the same object across a stop and restart; `evaluate` on it waits while the worker is stopped, so read
   * extension state with `extensionEval` instead.
   */
  serviceWorker(): Promise<import('playwright-core').Worker>;
  /**
   * Sends a DevTools protocol command from the harness's extension page. That session has the
   * `ServiceWorker` domain enabled, so `cdp('ServiceWorker.stopAllWorkers')` stops the extension's worker.
   */
  cdp<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T>;
  /** Sends a DevTools protocol command to the browser target (`Target.*`, `Browser.*`, …). */
  browserCdp<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T>;
  /** Last running status the DevTools protocol reported for the extension's worker (`stopped`, `running` …). */
  serviceWorkerStatus(): string | undefined;
  /** Stops the extension's service worker and resolves once it reports `stopped`. */
  stopServiceWorker(timeoutMs?: number): Promise<void>;
}

/** Firefox-only controls. */
export interface FirefoxControls {
  /** The puppeteer `Browser` (WebDriver BiDi). */
  readonly browser: import('puppeteer-core').Browser;
  /** The internal UUID the harness gave the extension (`moz-extension://<uuid>/`). */
  readonly uuid: string;
}

/** One console message from a page or the extension's worker. */
export interface ConsoleEntry {
  /** `log`, `warning`, `error` … (`pageerror` for an uncaught exception). */
  type: string;
  text: string;
  /** URL of the page or worker that logged it, when known. */
  url?: string;
  at: number;
}

export interface GuardlensBrowser {
  name: BrowserName;
  /** `chrome-extension://<id>` or `moz-extension://<uuid>`, without a trailing slash. */
  extensionOrigin: string;
  /** The extension id: the Chrome id, or the Gecko id `guardlens@guardlens.dev`. */
  extensionId: string;
  /** Opens `url` in a new ordinary tab and waits for it to load. */
  openPage(url: string): Promise<PageHandle>;
  /** Opens an extension page such as `/options.html` or `/popup.html?tabId=3` in a new tab. */
  openExtensionPage(path: string): Promise<PageHandle>;
  /** Runs `fn(...args)` in an extension page (the harness's own tab on `/manifest.json`). */
  extensionEval<T>(fn: PageFunction<T>, ...args: unknown[]): Promise<T>;
  /** `storage.local.set({ settings, apiKey })` (without `apiKey` when it is not given). */
  configure(settings: Record<string, unknown>, apiKey?: string): Promise<void>;
  /** Id of the tab showing `url` (waits up to 10 s for it; the newest tab when several match). */
  tabIdOf(url: string, options?: WaitOptions): Promise<number>;
  /** `storage.session` value `tab:<tabId>`, or `undefined`. */
  // biome-ignore lint/suspicious/noExplicitAny: the tab state's shape belongs to the extension.
  tabState(tabId: number): Promise<any>;
  /** Polls `tabState(tabId)` until `predicate` holds, and returns that state. */
  // biome-ignore lint/suspicious/noExplicitAny: see tabState.
  waitForTabState(tabId: number, predicate: (state: any) => boolean, options?: WaitOptions): Promise<any>;
  /** Every non-loopback request the browser attempted, blocked and counted (a live array). */
  blocked: BlockedRequest[];
  /** Waits for a blocked request that matches. */
  waitForBlocked(predicate: (r: BlockedRequest) => boolean, timeoutMs?: number): Promise<BlockedRequest>;
  /** Background traffic of this browser the harness could not switch off, with the reason. */
  knownNoise: readonly NoiseRule[];
  /** `blocked` without the known browser noise: what the extension or a page tried to reach. */
  unexpectedBlocked(): BlockedRequest[];
  /**
   * Console output, oldest first (a live array): every page and the service worker in Chromium; the tabs
   * the harness opened in Firefox (Firefox's background page is not reachable over BiDi).
   */
  consoleLog: ConsoleEntry[];
  /** Set for Chromium. */
  chromium?: ChromiumControls;
  /** Set for Firefox. */
  firefox?: FirefoxControls;
  /** Closes the browser and removes its profile, its policy file and the network blocker. Idempotent. */
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Unpacked build to load (default: `.output/chrome-mv3` or `.output/firefox-mv2`). */
  extensionPath?: string;
  /** Managed storage policy for the extension (written as system policy before launch, removed on close). */
  policy?: Record<string, unknown>;
  /**
   * Serve these hosts' HTTPS from a local site server (`sites.ts`): the blocker tunnels to it and the browser
   * accepts its self-signed certificate.
   */
  siteTunnel?: SiteTunnel;
  /**
   * Let the extension run in private (incognito) windows, as the person's "Allow in Incognito" / "Run in
   * Private Windows" switch does. Default false, like a fresh install. Chromium: set through the
   * extensions page's `developerPrivate` API after launch (the extension restarts); Firefox: the add-on is
   * installed with BiDi's `moz:allowPrivateBrowsing`.
   */
  allowInPrivate?: boolean;
}

export interface ChromiumLaunchOptions extends LaunchOptions {
  /** Default true (the new headless mode, which loads extensions). `GUARDLENS_HEADED=1` also turns it off. */
  headless?: boolean;
  /**
   * The browser's UI language (`de`, `th`, `pt-BR`…); default Chromium's own (`en-US` here). Chromium on Linux
   * picks the extension's messages by `--lang` (not by `LANGUAGE`/`LANG`), while `i18n.getUILanguage()` and
   * `navigator.language` in extension pages and the service worker follow the locale playwright emulates; the
   * harness sets both, so the messages, the plural rules and the number formats all agree.
   */
  lang?: string;
}
