/**
 * Firefox ESR through puppeteer over WebDriver BiDi: a temporary profile, the MV2 build installed as a
 * temporary add-on, a fixed internal UUID so extension pages live at `moz-extension://<uuid>/`, proxy
 * preferences that send everything but loopback to the network blocker, and preferences that switch off
 * Firefox's own background traffic.
 *
 * Two things BiDi needs here:
 * - `--remote-allow-system-access`: without it BiDi refuses to navigate a tab to a `moz-extension:` URL.
 * - Navigation into an extension page goes through the BiDi `browsingContext.navigate` command directly:
 *   the document lives in the extension process and puppeteer never sees its load events (its `goto` would
 *   time out and `page.url()` stays `about:blank`), while evaluation, input and screenshots work.
 * - `MOZ_REMOTE_SETTINGS_DEVTOOLS=1`: release builds ignore `services.settings.server` otherwise, and Remote
 *   Settings would poll Mozilla's servers.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import puppeteer, { type Browser, type KeyInput, type Page } from 'puppeteer-core';
import { startBlockingProxy } from './blocking-proxy';
import { createGuardlensBrowser, splitChord, waitForManagedPolicy } from './common';
import { claimPolicy } from './policy';
import { tunnelRule } from './sites';
import type {
  ConsoleEntry,
  FirefoxControls,
  GuardlensBrowser,
  LaunchOptions,
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

export const FIREFOX_EXECUTABLE = process.env.GUARDLENS_FIREFOX ?? '/usr/bin/firefox-esr';
/** The internal UUID the harness assigns to the extension. */
export const FIREFOX_EXTENSION_UUID = '7c1f4a52-3d9e-4b0a-8e61-2f5d9c0b7a14';

/** Preferences that point Firefox at the network blocker and switch off its background traffic. */
export function firefoxPreferences(
  proxyPort: number,
  geckoId: string,
  uuid: string,
): Record<string, unknown> {
  return {
    // The network blocker. Loopback is never proxied (`allow_hijacking_localhost` false is the default).
    'network.proxy.type': 1,
    'network.proxy.http': '127.0.0.1',
    'network.proxy.http_port': proxyPort,
    'network.proxy.ssl': '127.0.0.1',
    'network.proxy.ssl_port': proxyPort,
    'network.proxy.share_proxy_settings': true,
    'network.proxy.allow_hijacking_localhost': false,
    'network.proxy.no_proxies_on': '',
    'network.trr.mode': 5,
    'media.peerconnection.ice.proxy_only': true,
    'network.dns.disablePrefetch': true,
    'network.prefetch-next': false,
    'network.predictor.enabled': false,
    'network.http.speculative-parallel-limit': 0,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    // Remote Settings, blocklists and certificate data (honoured thanks to MOZ_REMOTE_SETTINGS_DEVTOOLS).
    'services.settings.server': 'data:,#remote-settings-dummy/v1',
    'extensions.blocklist.enabled': false,
    'security.remote_settings.crlite_filters.enabled': false,
    'security.remote_settings.intermediates.enabled': false,
    'security.OCSP.enabled': 0,
    // Telemetry and studies.
    'toolkit.telemetry.enabled': false,
    'toolkit.telemetry.unified': false,
    'toolkit.telemetry.archive.enabled': false,
    'toolkit.telemetry.server': 'data:,',
    'datareporting.healthreport.uploadEnabled': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'datareporting.usage.uploadEnabled': false,
    'app.normandy.enabled': false,
    'app.normandy.api_url': '',
    'app.shield.optoutstudies.enabled': false,
    'messaging-system.rsexperimentloader.enabled': false,
    // Updates (application, add-ons, system add-ons, media plugins, search engines).
    'app.update.disabledForTesting': true,
    'app.update.auto': false,
    'extensions.update.enabled': false,
    'extensions.systemAddon.update.enabled': false,
    'extensions.getAddons.cache.enabled': false,
    'media.gmp-manager.updateEnabled': false,
    'media.gmp-gmpopenh264.enabled': false,
    'browser.search.update': false,
    // Safe Browsing.
    'browser.safebrowsing.malware.enabled': false,
    'browser.safebrowsing.phishing.enabled': false,
    'browser.safebrowsing.downloads.enabled': false,
    'browser.safebrowsing.downloads.remote.enabled': false,
    'browser.safebrowsing.blockedURIs.enabled': false,
    'browser.safebrowsing.provider.google4.updateURL': '',
    'browser.safebrowsing.provider.google4.gethashURL': '',
    'browser.safebrowsing.provider.mozilla.updateURL': '',
    'browser.safebrowsing.provider.mozilla.gethashURL': '',
    // Push, accounts, region and location lookups, new-tab content, suggestions, machine learning.
    'dom.push.connection.enabled': false,
    'dom.push.serverURL': '',
    'identity.fxaccounts.enabled': false,
    'browser.region.network.url': '',
    'browser.region.update.enabled': false,
    'geo.provider.network.url': '',
    'browser.newtabpage.enabled': false,
    'browser.newtabpage.activity-stream.feeds.system.topstories': false,
    'browser.newtabpage.activity-stream.feeds.section.topstories': false,
    'browser.newtabpage.activity-stream.feeds.snippets': false,
    'browser.newtabpage.activity-stream.showSponsored': false,
    'browser.newtabpage.activity-stream.showSponsoredTopSites': false,
    'browser.topsites.contile.enabled': false,
    'browser.urlbar.quicksuggest.enabled': false,
    'browser.urlbar.suggest.searches': false,
    'browser.ml.enable': false,
    'browser.translations.enable': false,
    'browser.startup.page': 0,
    'browser.startup.homepage': 'about:blank',
    // The extension's fixed internal UUID.
    'extensions.webextensions.uuids': JSON.stringify({ [geckoId]: uuid }),
    // Show manifest.json (the harness's extension page) as plain text.
    'devtools.jsonview.enabled': false,
  };
}

class FirefoxPage implements PageHandle {
  constructor(
    readonly raw: Page,
    private readonly tabIdOf: (url: string) => Promise<number>,
  ) {}

  async url() {
    try {
      return String(await this.raw.evaluate('location.href'));
    } catch {
      return this.raw.url();
    }
  }

  async goto(url: string) {
    if (url.startsWith('moz-extension:')) {
      // See the file comment: BiDi navigates, puppeteer would not notice the load.
      const context = (this.raw.mainFrame() as unknown as { browsingContext?: BidiContext }).browsingContext;
      if (!context?.navigate) throw new Error('This puppeteer version exposes no BiDi browsing context');
      await context.navigate(url, 'complete');
      return;
    }
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

  private async waitForSelector(selector: string) {
    await waitFor(() => this.evaluate((s: string) => document.querySelector(s) !== null, selector), {
      message: `an element matching ${selector}`,
    });
  }

  async click(selector: string) {
    await this.waitForSelector(selector);
    await this.raw.click(selector);
  }

  async type(selector: string, text: string) {
    await this.waitForSelector(selector);
    await this.raw.focus(selector);
    await this.raw.keyboard.type(text);
  }

  async press(key: string) {
    const { modifiers, key: main } = splitChord(key);
    for (const m of modifiers) await this.raw.keyboard.down(m as KeyInput);
    try {
      await this.raw.keyboard.press(main as KeyInput);
    } finally {
      for (const m of [...modifiers].reverse()) await this.raw.keyboard.up(m as KeyInput);
    }
  }

  async screenshot(options: { path?: string; fullPage?: boolean } = {}) {
    const data = await this.raw.screenshot({
      fullPage: options.fullPage,
      ...(options.path ? { path: options.path as `${string}.png` } : {}),
    });
    return new Uint8Array(data);
  }

  async tabId() {
    return this.tabIdOf(await this.url());
  }

  async close() {
    if (!this.raw.isClosed()) await this.raw.close();
  }
}

interface BidiContext {
  navigate(url: string, wait: 'none' | 'interactive' | 'complete'): Promise<unknown>;
}

/** Installs the add-on temporarily with the private-browsing permission (BiDi `moz:allowPrivateBrowsing`). */
async function installAllowingPrivate(pptr: Browser, extensionPath: string): Promise<string> {
  const connection = (pptr as unknown as { connection?: BidiConnection }).connection;
  if (!connection?.send) throw new Error('This puppeteer version exposes no BiDi connection');
  const answer = await connection.send('webExtension.install', {
    extensionData: { type: 'path', path: extensionPath },
    'moz:allowPrivateBrowsing': true,
  });
  return answer.result.extension;
}

interface BidiConnection {
  send(method: string, params: Record<string, unknown>): Promise<{ result: { extension: string } }>;
}

/** Launches Firefox ESR with the Guardlens build installed. Close it with `close()` (also on failure). */
export async function launchFirefox(opts: LaunchOptions = {}): Promise<GuardlensBrowser> {
  sweepStaleTempDirs();
  const buildPath = path.resolve(requireBuild('firefox', opts.extensionPath ?? EXTENSION_BUILD_DIRS.firefox));
  const uuid = FIREFOX_EXTENSION_UUID;
  const extensionOrigin = `moz-extension://${uuid}`;

  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const shutdown = () => runCleanups(cleanups.splice(0).reverse());
  try {
    const tempDir = await makeTempDir('firefox');
    cleanups.push(() => removeTempDir(tempDir));
    const profileDir = path.join(tempDir, 'profile');
    await mkdir(profileDir);
    // A copy of the build, read once complete, so a rebuild cannot pull files from under the browser.
    const extensionPath = await snapshotBuild('firefox', buildPath, path.join(tempDir, 'extension'));
    const manifest = JSON.parse(readFileSync(path.join(extensionPath, 'manifest.json'), 'utf8')) as {
      browser_specific_settings?: { gecko?: { id?: string } };
    };
    const geckoId = manifest.browser_specific_settings?.gecko?.id;
    if (!geckoId) throw new Error(`${buildPath}/manifest.json has no browser_specific_settings.gecko.id`);

    const proxy = await startBlockingProxy(opts.siteTunnel ? { tunnel: tunnelRule(opts.siteTunnel) } : {});
    cleanups.push(() => proxy.close());
    const releasePolicy = await claimPolicy('firefox', geckoId, opts.policy);
    cleanups.push(releasePolicy);

    const pptr: Browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX_EXECUTABLE,
      headless: true,
      // The site server's self-signed certificate (see sites.ts).
      acceptInsecureCerts: !!opts.siteTunnel,
      userDataDir: profileDir,
      args: ['--remote-allow-system-access'],
      env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' },
      extraPrefsFirefox: firefoxPreferences(proxy.port, geckoId, uuid),
      defaultViewport: { width: 1280, height: 800 },
    });
    cleanups.push(() => pptr.close());

    const installedId = opts.allowInPrivate
      ? await installAllowingPrivate(pptr, extensionPath)
      : await pptr.installExtension(extensionPath);
    if (installedId !== geckoId)
      throw new Error(`Firefox installed the extension as ${installedId}, not ${geckoId}`);

    let tabIdOfRef: (url: string) => Promise<number> = async () => {
      throw new Error('The browser is not ready yet');
    };
    const consoleLog: ConsoleEntry[] = [];
    const watched = new WeakSet<Page>();
    const wrap = (page: Page) => {
      if (!watched.has(page)) {
        watched.add(page);
        page.on('console', (message) => {
          consoleLog.push({
            type: message.type(),
            text: message.text(),
            url: message.location().url,
            at: Date.now(),
          });
        });
        page.on('pageerror', (error) => {
          consoleLog.push({ type: 'pageerror', text: String(error), at: Date.now() });
        });
      }
      return new FirefoxPage(page, (url) => tabIdOfRef(url));
    };
    const openPage = async (url: string) => {
      const page = await pptr.newPage();
      const handle = wrap(page);
      try {
        await handle.goto(url);
      } catch (error) {
        await page.close().catch(() => {});
        throw error;
      }
      return handle;
    };
    const openExtensionPage = (pagePath: string) =>
      openPage(`${extensionOrigin}/${pagePath.replace(/^\//, '')}`);

    // The harness's own extension page (the manifest as text, so no extension code runs in it). The first
    // tab Firefox opens (about:blank) is reused for it.
    let evalPage: FirefoxPage | undefined;
    let firstTab: Page | undefined = (await pptr.pages()).find((p) => p.url() === 'about:blank');
    const getEvalPage = async (): Promise<FirefoxPage> => {
      if (evalPage && !evalPage.raw.isClosed()) return evalPage;
      // Only the start-up tab is reused: puppeteer reports extension pages as about:blank too.
      const tab = firstTab && !firstTab.isClosed() ? firstTab : await pptr.newPage();
      firstTab = undefined;
      const handle = wrap(tab);
      // Right after installation the add-on may still be starting: retry until its page answers.
      await waitFor(
        async () => {
          await handle.goto(`${extensionOrigin}/manifest.json`);
          return (await handle.evaluate(() => browser?.runtime?.id)) === geckoId;
        },
        {
          timeoutMs: 20_000,
          intervalMs: 250,
          message: `the extension page at ${extensionOrigin}/ (is extensions.webextensions.uuids honoured?)`,
        },
      );
      evalPage = handle;
      return handle;
    };
    await getEvalPage();
    if (opts.policy) {
      const page = await getEvalPage();
      await waitForManagedPolicy((fn, ...args) => page.evaluate(fn, ...args), opts.policy);
    }

    const controls: FirefoxControls = { browser: pptr, uuid };
    const gb = createGuardlensBrowser({
      name: 'firefox',
      extensionOrigin,
      extensionId: geckoId,
      proxy,
      consoleLog,
      openPage,
      openExtensionPage,
      evalPage: getEvalPage,
      shutdown,
      firefox: controls,
    });
    tabIdOfRef = (url) => gb.tabIdOf(url);
    return gb;
  } catch (error) {
    await shutdown().catch(() => {});
    throw error;
  }
}
