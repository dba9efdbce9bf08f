/**
 * Chromium through playwright: a persistent context on a temporary profile, the unpacked MV3 build loaded
 * with `--load-extension`, the new headless mode (which loads extensions), and every request that is not to
 * loopback sent to the network blocker with `--proxy-server` (Chromium never proxies loopback).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type BrowserContext, type CDPSession, chromium, type Page, type Worker } from 'playwright-core';
import { startBlockingProxy } from './blocking-proxy';
import { createGuardlensBrowser, splitChord, waitForManagedPolicy } from './common';
import { claimPolicy } from './policy';
import { tunnelRule } from './sites';
import type {
  ChromiumControls,
  ChromiumLaunchOptions,
  ConsoleEntry,
  GuardlensBrowser,
  PageFunction,
  PageHandle,
  WaitOptions,
} from './types';
import {
  EXTENSION_BUILD_DIRS,
  type Falsy,
  makeTempDir,
  pageExpression,
  removeTempDir,
  requireBuild,
  runCleanups,
  snapshotBuild,
  sweepStaleTempDirs,
  waitFor,
} from './util';

export const CHROMIUM_EXECUTABLE = process.env.GUARDLENS_CHROMIUM ?? '/usr/bin/chromium';
/** The id the manifest `key` pins. */
export const CHROMIUM_EXTENSION_ID = 'pmmobbhmpddpcfiehnfikpngpoikbilp';

/**
 * Flags on top of playwright's defaults (which already turn off background networking, component
 * updates, default apps, breakpad, the hang monitor and several network-using features).
 */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-default-apps',
  '--no-pings',
  '--metrics-recording-only',
  '--safebrowsing-disable-auto-update',
  '--password-store=basic',
  // WebRTC would send UDP around the proxy.
  '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
];

/** Chrome's extension id for a manifest `key`: SHA-256 of the DER key, first 16 bytes, hex digits → a–p. */
export function chromiumExtensionIdFromKey(base64Key: string): string {
  const digest = createHash('sha256').update(Buffer.from(base64Key, 'base64')).digest('hex');
  return [...digest.slice(0, 32)].map((c) => String.fromCharCode(97 + Number.parseInt(c, 16))).join('');
}

class ChromiumPage implements PageHandle {
  constructor(
    readonly raw: Page,
    private readonly tabIdOf: (url: string) => Promise<number>,
  ) {}

  async url() {
    return this.raw.url();
  }

  async goto(url: string) {
    await this.raw.goto(url, { waitUntil: 'load' });
  }

  evaluate<T>(fn: PageFunction<T>, ...args: unknown[]): Promise<T> {
    return this.raw.evaluate(pageExpression(fn, args)) as Promise<T>;
  }

  waitForFunction<T>(fn: PageFunction<T | Falsy>, options: WaitOptions = {}, ...args: unknown[]): Promise<T> {
    return waitFor(() => this.evaluate<T | Falsy>(fn, ...args), {
      message: 'a page function to return truthy',
      ...options,
    });
  }

  async click(selector: string) {
    await this.raw.locator(selector).first().click();
  }

  async type(selector: string, text: string) {
    const target = this.raw.locator(selector).first();
    await target.focus();
    await target.pressSequentially(text);
  }

  async press(key: string) {
    const { modifiers, key: main } = splitChord(key);
    await this.raw.keyboard.press([...modifiers, main].join('+'));
  }

  async screenshot(options: { path?: string; fullPage?: boolean } = {}) {
    return new Uint8Array(await this.raw.screenshot(options));
  }

  async tabId() {
    return this.tabIdOf(this.raw.url());
  }

  async close() {
    if (!this.raw.isClosed()) await this.raw.close();
  }
}

/**
 * Turns on "Allow in Incognito" for the extension, as its switch on `chrome://extensions` does (Chromium
 * restarts the extension), and waits until the extensions page reports it on.
 */
async function allowInIncognito(context: BrowserContext, extensionId: string): Promise<void> {
  const page = await context.newPage();
  try {
    await page.goto('chrome://extensions', { waitUntil: 'load' });
    const call = (method: string, arg: unknown) =>
      page.evaluate(
        ([m, a]) =>
          new Promise((resolve, reject) => {
            // biome-ignore lint/suspicious/noExplicitAny: chrome.developerPrivate is only on chrome://extensions.
            const api = (globalThis as any).chrome.developerPrivate;
            api[m as string](a, (value: unknown) => {
              // biome-ignore lint/suspicious/noExplicitAny: see above.
              const error = (globalThis as any).chrome.runtime.lastError;
              if (error) reject(new Error(error.message));
              else resolve(value);
            });
          }),
        [method, arg] as const,
      );
    const restarted = context.waitForEvent('serviceworker', {
      predicate: (w) => w.url().startsWith(`chrome-extension://${extensionId}/`),
      timeout: 20_000,
    });
    await call('updateExtensionConfiguration', { extensionId, incognitoAccess: true });
    await restarted;
    await waitFor(
      async () => {
        const info = (await call('getExtensionInfo', extensionId)) as {
          state?: string;
          incognitoAccess?: { isActive?: boolean };
        };
        return info?.state === 'ENABLED' && info.incognitoAccess?.isActive === true;
      },
      { timeoutMs: 10_000, message: 'Chromium to allow the extension in incognito' },
    );
  } finally {
    await page.close().catch(() => {});
  }
}

/** Launches Chromium with the Guardlens build loaded. Close it with `close()` (also on failure). */
export async function launchChromium(opts: ChromiumLaunchOptions = {}): Promise<GuardlensBrowser> {
  sweepStaleTempDirs();
  const buildPath = path.resolve(
    requireBuild('chromium', opts.extensionPath ?? EXTENSION_BUILD_DIRS.chromium),
  );
  const headless = opts.headless ?? process.env.GUARDLENS_HEADED !== '1';

  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const shutdown = () => runCleanups(cleanups.splice(0).reverse());
  try {
    const tempDir = await makeTempDir('chromium');
    cleanups.push(() => removeTempDir(tempDir));
    const userDataDir = path.join(tempDir, 'profile');
    // A copy of the build, read once complete. The extension id comes from the manifest key, so it holds.
    const extensionPath = await snapshotBuild('chromium', buildPath, path.join(tempDir, 'extension'));
    const manifest = JSON.parse(readFileSync(path.join(extensionPath, 'manifest.json'), 'utf8')) as {
      key?: string;
    };
    const expectedId = manifest.key ? chromiumExtensionIdFromKey(manifest.key) : undefined;
    if (opts.policy && !expectedId) {
      throw new Error(`A policy needs the extension id before launch; ${buildPath} has no manifest key.`);
    }

    const proxy = await startBlockingProxy(opts.siteTunnel ? { tunnel: tunnelRule(opts.siteTunnel) } : {});
    cleanups.push(() => proxy.close());
    const releasePolicy = await claimPolicy('chromium', expectedId ?? '', opts.policy);
    cleanups.push(releasePolicy);

    const context: BrowserContext = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_EXECUTABLE,
      headless,
      // playwright passes --disable-extensions by default.
      ignoreDefaultArgs: ['--disable-extensions'],
      args: [
        `--disable-extensions-except=${extensionPath}`,
        `--load-extension=${extensionPath}`,
        `--proxy-server=http://${proxy.hostPort}`,
        ...CHROMIUM_FLAGS,
        // The site server's self-signed certificate (see sites.ts).
        ...(opts.siteTunnel ? ['--ignore-certificate-errors'] : []),
        // The UI language: the extension's messages follow the flag, getUILanguage() the emulated locale.
        ...(opts.lang ? [`--lang=${opts.lang}`] : []),
      ],
      ...(opts.lang ? { locale: opts.lang } : {}),
      viewport: { width: 1280, height: 800 },
    });
    cleanups.push(() => context.close());
    const consoleLog: ConsoleEntry[] = [];
    context.on('console', (message) => {
      consoleLog.push({
        type: message.type(),
        text: message.text(),
        url: message.location().url || message.worker()?.url() || message.page()?.url(),
        at: Date.now(),
      });
    });
    context.on('weberror', (error) => {
      consoleLog.push({
        type: 'pageerror',
        text: String(error.error()),
        url: error.page()?.url(),
        at: Date.now(),
      });
    });

    const isExtensionWorker = (w: Worker) =>
      w.url().startsWith('chrome-extension://') && (!expectedId || new URL(w.url()).host === expectedId);
    const firstWorker =
      context.serviceWorkers().find(isExtensionWorker) ??
      (await context
        .waitForEvent('serviceworker', { predicate: isExtensionWorker, timeout: 20_000 })
        .catch((error: Error) => {
          throw new Error(
            `The extension built in ${buildPath} did not start a service worker within 20 s: Chromium did not ` +
              `load it (an incomplete or broken build? run \`npm run build\`). ${error.message}`,
          );
        }));
    const extensionId = new URL(firstWorker.url()).host;
    if (expectedId && extensionId !== expectedId) {
      throw new Error(`Chromium loaded the extension as ${extensionId}, expected ${expectedId}`);
    }
    const extensionOrigin = `chrome-extension://${extensionId}`;
    if (opts.allowInPrivate) await allowInIncognito(context, extensionId);

    let tabIdOfRef: (url: string) => Promise<number> = async () => {
      throw new Error('The browser is not ready yet');
    };
    const wrap = (page: Page) => new ChromiumPage(page, (url) => tabIdOfRef(url));

    const openPage = async (url: string) => {
      const page = await context.newPage();
      try {
        await page.goto(url, { waitUntil: 'load' });
      } catch (error) {
        await page.close().catch(() => {});
        throw error;
      }
      return wrap(page);
    };
    const openExtensionPage = (pagePath: string) =>
      openPage(`${extensionOrigin}/${pagePath.replace(/^\//, '')}`);

    // The harness's own extension page: the manifest, so no extension code runs in it. The first tab of a
    // persistent context (about:blank) is reused for it. Its DevTools session watches the worker.
    let evalPage: ChromiumPage | undefined;
    let cdpSession: CDPSession | undefined;
    let workerStatus: string | undefined;
    const statusWaiters = new Set<() => void>();
    const getEvalPage = async (): Promise<ChromiumPage> => {
      if (evalPage && !evalPage.raw.isClosed()) return evalPage;
      const blank = context.pages().find((p) => p.url() === 'about:blank' && p !== evalPage?.raw);
      const page = blank ?? (await context.newPage());
      await page.goto(`${extensionOrigin}/manifest.json`, { waitUntil: 'load' });
      evalPage = wrap(page);
      cdpSession = undefined;
      return evalPage;
    };
    const getCdp = async (): Promise<CDPSession> => {
      const page = await getEvalPage();
      if (cdpSession) return cdpSession;
      const session = await context.newCDPSession(page.raw);
      session.on('ServiceWorker.workerVersionUpdated', (event) => {
        for (const version of event.versions) {
          if (!version.scriptURL.startsWith(`${extensionOrigin}/`)) continue;
          workerStatus = version.runningStatus;
          for (const wake of statusWaiters) wake();
        }
      });
      await session.send('ServiceWorker.enable');
      cdpSession = session;
      return session;
    };
    await getCdp();
    const waitForWorkerStatus = (status: string, timeoutMs: number) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (workerStatus !== status) return;
          statusWaiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          statusWaiters.delete(check);
          reject(
            new Error(`The service worker did not become ${status} within ${timeoutMs} ms (${workerStatus})`),
          );
        }, timeoutMs);
        statusWaiters.add(check);
        check();
      });
    if (opts.policy) {
      const page = await getEvalPage();
      await waitForManagedPolicy((fn, ...args) => page.evaluate(fn, ...args), opts.policy);
    }

    const controls: ChromiumControls = {
      context,
      async serviceWorker() {
        const live = context.serviceWorkers().find(isExtensionWorker);
        if (live) return live;
        return context.waitForEvent('serviceworker', { predicate: isExtensionWorker, timeout: 30_000 });
      },
      async cdp<T>(method: string, params?: Record<string, unknown>) {
        const session = await getCdp();
        return (await session.send(method as 'Runtime.evaluate', params as never)) as T;
      },
      async browserCdp<T>(method: string, params?: Record<string, unknown>) {
        const browser = context.browser();
        if (!browser) throw new Error('playwright gave no browser for this context');
        const session = await browser.newBrowserCDPSession();
        try {
          return (await session.send(method as 'Target.getTargets', params as never)) as T;
        } finally {
          await session.detach().catch(() => {});
        }
      },
      serviceWorkerStatus: () => workerStatus,
      async stopServiceWorker(timeoutMs = 10_000) {
        const session = await getCdp();
        await session.send('ServiceWorker.stopAllWorkers');
        await waitForWorkerStatus('stopped', timeoutMs);
      },
    };

    const gb = createGuardlensBrowser({
      name: 'chromium',
      extensionOrigin,
      extensionId,
      proxy,
      consoleLog,
      openPage,
      openExtensionPage,
      evalPage: getEvalPage,
      shutdown,
      chromium: controls,
    });
    tabIdOfRef = (url) => gb.tabIdOf(url);
    return gb;
  } catch (error) {
    await shutdown().catch(() => {});
    throw error;
  }
}
